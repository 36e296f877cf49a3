# holdfast_add_library(<name> SOURCES <files...> [LINKS <libraries...>]): the static library of one
# component folder, as every folder of common/, service/ and console/ makes it: the folder's headers are
# public (its users include "<unit>.h"), LINKS are public dependencies, the project's warnings private.
# tests/structure/layout_check.cmake reads LINKS as it reads target_link_libraries().
function(holdfast_add_library name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;LINKS")
    if(arg_UNPARSED_ARGUMENTS OR NOT arg_SOURCES)
        message(FATAL_ERROR "holdfast_add_library(${name}): expected SOURCES <files...> [LINKS <libraries...>]")
    endif()
    add_library(${name} STATIC ${arg_SOURCES})
    target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${name} PUBLIC ${arg_LINKS} PRIVATE holdfast_warnings)
endfunction()
