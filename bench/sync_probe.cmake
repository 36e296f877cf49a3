# sync_probe: the timing helper of sync_bench.sh (etcd loads, propagation, start-up to served / in sync).
add_executable(sync_probe ${CMAKE_CURRENT_LIST_DIR}/sync_probe.cpp)
target_link_libraries(sync_probe PRIVATE Qt6::Core Qt6::Network holdfast_warnings)
