# holdfast_test_upstream: the real upstream process the proxy suites send to (see test_upstream.cpp).
add_executable(holdfast_test_upstream ${CMAKE_CURRENT_LIST_DIR}/test_upstream.cpp)
target_link_libraries(holdfast_test_upstream PRIVATE Qt6::Network llhttp holdfast_warnings)
