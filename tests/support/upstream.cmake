# holdfast_test_upstream: the real upstream process the proxy suites send to (see test_upstream.cpp).
# http_parser_lib is imported in service/, out of this directory's scope: use the cached find results.
add_executable(holdfast_test_upstream ${CMAKE_CURRENT_LIST_DIR}/test_upstream.cpp)
target_include_directories(holdfast_test_upstream PRIVATE ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(holdfast_test_upstream PRIVATE Qt6::Network ${HTTP_PARSER_LIBRARY} holdfast_warnings)
