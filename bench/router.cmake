# router_bench: nanoseconds per Router::match among 100k routes (not a test; run it by hand).
add_executable(router_bench ${CMAKE_CURRENT_LIST_DIR}/router_bench.cpp)
target_link_libraries(router_bench PRIVATE holdfast_routing holdfast_warnings)
