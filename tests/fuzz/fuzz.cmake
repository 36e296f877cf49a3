# The libFuzzer targets (clang, HOLDFAST_FUZZ=ON), else plain programs that replay the seed corpus once
# as ctest tests:
#   fuzz_request_parser  bytes from a real client socket into an HttpServer (the whole connection path)
#   fuzz_http_parser     HttpRequestParser alone, no socket: thousands of inputs a second
foreach(target fuzz_request_parser fuzz_http_parser)
    add_executable(${target} ${CMAKE_CURRENT_LIST_DIR}/${target}.cpp)
    target_link_libraries(${target} PRIVATE holdfast_http holdfast_warnings)
    if(HOLDFAST_FUZZ)
        target_compile_definitions(${target} PRIVATE HOLDFAST_LIBFUZZER)
        target_compile_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
        target_link_options(${target} PRIVATE -fsanitize=fuzzer,address,undefined)
    else()
        target_sources(${target} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/fuzzreplay.cpp)
        add_test(NAME ${target}_corpus COMMAND ${target} ${CMAKE_CURRENT_LIST_DIR}/corpus)
        set_tests_properties(${target}_corpus PROPERTIES TIMEOUT 60 LABELS "unit;service;fuzz")
    endif()
endforeach()
