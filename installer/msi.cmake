# Windows (MinGW cross build): `deploy` stages holdfastd.exe, the console, holdfastctl, the Qt DLLs and
# plugins, the MinGW runtime and the default settings into <build>/stage; `msi` builds the x64 MSI from
# installer/holdfast.wxs with wixl. scripts/windows/build.sh drives both.
find_program(HOLDFAST_WIXL wixl)
find_program(HOLDFAST_MSIBUILD msibuild)

set(HOLDFAST_MSI_VERSION ${PROJECT_VERSION} CACHE STRING
    "Version written into the MSI (MSI upgrades compare its first three fields)")
set(stage ${CMAKE_BINARY_DIR}/stage)
set(qt_bin ${QT6_INSTALL_PREFIX}/${QT6_INSTALL_BINS})
set(qt_plugins ${QT6_INSTALL_PREFIX}/${QT6_INSTALL_PLUGINS})

# The MinGW runtime the compiler links against: libstdc++ and libgcc from GCC's own directory,
# winpthreads from the MinGW root.
set(mingw_runtime)
foreach(dll libstdc++-6.dll libgcc_s_seh-1.dll libwinpthread-1.dll)
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${dll}
        OUTPUT_VARIABLE path OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT IS_ABSOLUTE "${path}" OR NOT EXISTS "${path}")
        message(FATAL_ERROR "${dll}: not found next to ${CMAKE_CXX_COMPILER}")
    endif()
    list(APPEND mingw_runtime ${path})
endforeach()

set(programs holdfastd)
set(wixl_defines)
set(gui_files)
if(TARGET holdfast-console)
    list(APPEND programs holdfast-console)
    list(APPEND wixl_defines -D HaveConsole=1)
    set(gui_files ${qt_bin}/Qt6Gui.dll ${qt_bin}/Qt6Widgets.dll)
endif()
if(TARGET holdfastctl)
    list(APPEND programs holdfastctl)
    list(APPEND wixl_defines -D HaveCtl=1)
endif()
set(program_files)
foreach(program ${programs})
    list(APPEND program_files $<TARGET_FILE:${program}>)
endforeach()

# A headless build (HOLDFAST_BUILD_CONSOLE=OFF) stages no Qt Gui, Widgets or their plugins.
set(stage_commands
    COMMAND ${CMAKE_COMMAND} -E rm -rf ${stage}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}/tls
    COMMAND ${CMAKE_COMMAND} -E copy ${program_files} ${stage}/
    COMMAND ${CMAKE_COMMAND} -E copy ${qt_bin}/Qt6Core.dll ${qt_bin}/Qt6Network.dll ${gui_files} ${stage}/
    COMMAND ${CMAKE_COMMAND} -E copy ${mingw_runtime} ${stage}/
    COMMAND ${CMAKE_COMMAND} -E copy ${qt_plugins}/tls/qschannelbackend.dll ${stage}/tls/
    COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_SOURCE_DIR}/holdfastd-windows.json ${stage}/holdfastd.json
    COMMAND ${CMAKE_COMMAND} -E copy ${PROJECT_SOURCE_DIR}/README.md ${stage}/)
if(TARGET holdfast-console)
    list(APPEND stage_commands
        COMMAND ${CMAKE_COMMAND} -E make_directory ${stage}/platforms ${stage}/styles
        COMMAND ${CMAKE_COMMAND} -E copy ${qt_plugins}/platforms/qwindows.dll ${stage}/platforms/
        COMMAND ${CMAKE_COMMAND} -E copy ${qt_plugins}/styles/qwindowsvistastyle.dll ${stage}/styles/)
endif()
add_custom_target(deploy ${stage_commands}
    DEPENDS ${programs}
    COMMENT "Staging the Windows binaries and their runtime in ${stage}"
    VERBATIM)

if(HOLDFAST_WIXL AND HOLDFAST_MSIBUILD)
    set(msi ${CMAKE_BINARY_DIR}/holdfast-${HOLDFAST_MSI_VERSION}-x64.msi)
    # wixl takes paths relative to where it runs (absolute ones trip an assertion in 0.101), hence the
    # working directory. It has no NeverOverwrite or Permanent: the settings component gets both
    # attributes (Win64 0x100 | Permanent 0x10 | NeverOverwrite 0x80) afterwards.
    file(RELATIVE_PATH icon_from_build ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR}/icons/holdfast.ico)
    add_custom_target(msi
        COMMAND ${HOLDFAST_WIXL} -a x64 -D Version=${HOLDFAST_MSI_VERSION} -D StageDir=stage
                -D IconFile=${icon_from_build} ${wixl_defines} -o ${msi} ${CMAKE_CURRENT_SOURCE_DIR}/holdfast.wxs
        COMMAND ${HOLDFAST_MSIBUILD} ${msi} -q "UPDATE `Component` SET `Attributes` = 400 WHERE `Component` = 'Settings'"
        WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
        DEPENDS deploy ${CMAKE_CURRENT_SOURCE_DIR}/holdfast.wxs
        COMMENT "Building ${msi}"
        VERBATIM)
else()
    add_custom_target(msi
        COMMAND ${CMAKE_COMMAND} -E echo "msi: wixl and msibuild (Debian packages wixl, msitools) are needed"
        COMMAND ${CMAKE_COMMAND} -E false
        VERBATIM)
endif()
