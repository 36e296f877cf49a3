# fuzz_request_parser: the request-parsing path under libFuzzer (clang, HOLDFAST_FUZZ=ON), else a plain
# program that replays the seed corpus once as a ctest test.
add_executable(fuzz_request_parser ${CMAKE_CURRENT_LIST_DIR}/fuzz_request_parser.cpp)
target_link_libraries(fuzz_request_parser PRIVATE holdfast_proxy holdfast_warnings)
if(HOLDFAST_FUZZ)
    target_compile_definitions(fuzz_request_parser PRIVATE HOLDFAST_LIBFUZZER)
    target_compile_options(fuzz_request_parser PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_request_parser PRIVATE -fsanitize=fuzzer,address,undefined)
else()
    add_test(NAME fuzz_request_parser_corpus
        COMMAND fuzz_request_parser ${CMAKE_CURRENT_LIST_DIR}/corpus)
    set_tests_properties(fuzz_request_parser_corpus PROPERTIES TIMEOUT 60 LABELS "unit;service;fuzz")
endif()
