# persist_bench: the cost of persisting one change with a large configuration, phase by phase (no etcd).
add_executable(persist_bench persist_bench.cpp)
target_link_libraries(persist_bench PRIVATE holdfast_common holdfast_warnings)
