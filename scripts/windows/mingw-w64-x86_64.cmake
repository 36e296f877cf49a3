# CMake toolchain for cross-building Windows x64 binaries with Debian's MinGW-w64 (posix threads).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_holdfast_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_holdfast_mingw}-gcc-posix)
set(CMAKE_CXX_COMPILER ${_holdfast_mingw}-g++-posix)
set(CMAKE_RC_COMPILER ${_holdfast_mingw}-windres)

# Headers, libraries and CMake packages come only from the MinGW root (and prefixes the caller adds,
# such as the Qt install); programs (moc, rcc, uic) come from the host.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${_holdfast_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host's pkg-config files describe Linux libraries; never let them into a Windows build.
set(ENV{PKG_CONFIG_LIBDIR} /usr/${_holdfast_mingw}/lib/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
