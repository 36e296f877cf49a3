# Suites for service/gateway, service/host and the holdfastd command line.
holdfast_add_test(tst_bootstrapsettings SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_bootstrapsettings.cpp
    LIBS holdfast_gateway LABELS unit)
holdfast_add_test(tst_checkcommand SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_checkcommand.cpp
    LIBS holdfast_common LABELS unit)
add_dependencies(tst_checkcommand holdfastd)

# Windows-only files, compile-checked with the MinGW-w64 cross compiler (syntax and types; Qt's own
# headers come from this machine's Qt, which is enough to check our code against its API).
find_program(HOLDFAST_MINGW_CXX NAMES x86_64-w64-mingw32-g++-posix x86_64-w64-mingw32-g++)
if(HOLDFAST_MINGW_CXX)
    set(qt_includes "$<TARGET_PROPERTY:Qt6::Core,INTERFACE_INCLUDE_DIRECTORIES>")
    foreach(file service/host/winservice.cpp service/host/wineventlog.cpp service/host/windatadir.cpp
            service/host/winhost.cpp common/durablefile_win.cpp common/durablefile.cpp common/configstore.cpp)
        string(MAKE_C_IDENTIFIER ${file} id)
        add_test(NAME mingw_${id}
            COMMAND ${HOLDFAST_MINGW_CXX} -std=c++17 -Wall -Wextra -Werror -fsyntax-only -DQT_NO_CAST_FROM_ASCII
                    -I${PROJECT_SOURCE_DIR}/common -I${PROJECT_SOURCE_DIR}/service/host
                    "-isystem;$<JOIN:${qt_includes},;-isystem;>" ${PROJECT_SOURCE_DIR}/${file}
            COMMAND_EXPAND_LISTS)
        set_tests_properties(mingw_${id} PROPERTIES LABELS "unit;windows")
    endforeach()
else()
    message(WARNING "x86_64-w64-mingw32-g++ not found: the Windows files are not compile-checked")
endif()

holdfast_add_test(tst_gatewayreload SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_gatewayreload.cpp LABELS integration)
add_dependencies(tst_gatewayreload holdfastd)
