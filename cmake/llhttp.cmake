# llhttp: the HTTP/1.1 parser, built as a small static library from the C sources Debian ships in
# node-llhttp (the same sources build for Windows with MinGW). Compiled in llhttp's strict mode: bare CR
# or LF as a line end, a chunk not followed by CRLF and other leniencies are errors.
# They are sources, not target binaries: a cross build (MinGW) finds them on the build host too, outside
# its find root.
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATHS /usr/share/include/llhttp NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
find_path(LLHTTP_INCLUDE_DIR llhttp.h PATH_SUFFIXES llhttp)
find_file(LLHTTP_SOURCE_LLHTTP llhttp.c PATHS /usr/share/llhttp NO_CMAKE_FIND_ROOT_PATH)
find_file(LLHTTP_SOURCE_API api.c PATHS /usr/share/llhttp NO_CMAKE_FIND_ROOT_PATH)
find_file(LLHTTP_SOURCE_HTTP http.c PATHS /usr/share/llhttp NO_CMAKE_FIND_ROOT_PATH)
foreach(var LLHTTP_INCLUDE_DIR LLHTTP_SOURCE_LLHTTP LLHTTP_SOURCE_API LLHTTP_SOURCE_HTTP)
    if(NOT ${var})
        message(FATAL_ERROR "llhttp not found (${var}): install Debian's node-llhttp "
                            "(scripts/install-deps.sh), or set ${var}")
    endif()
endforeach()
file(STRINGS ${LLHTTP_INCLUDE_DIR}/llhttp.h llhttp_major REGEX "#define LLHTTP_VERSION_MAJOR")
if(NOT llhttp_major MATCHES "LLHTTP_VERSION_MAJOR 8$")
    message(FATAL_ERROR "llhttp 8.x is needed, ${LLHTTP_INCLUDE_DIR}/llhttp.h says: ${llhttp_major}")
endif()

add_library(llhttp STATIC ${LLHTTP_SOURCE_LLHTTP} ${LLHTTP_SOURCE_API} ${LLHTTP_SOURCE_HTTP})
set_target_properties(llhttp PROPERTIES C_STANDARD 99 POSITION_INDEPENDENT_CODE ON)
target_include_directories(llhttp SYSTEM PUBLIC ${LLHTTP_INCLUDE_DIR})
target_compile_definitions(llhttp PUBLIC LLHTTP_STRICT_MODE=1)
# Generated code: its warnings are not ours to fix.
target_compile_options(llhttp PRIVATE $<$<C_COMPILER_ID:GNU,Clang>:-w>)
