# Router suite: the matching order of APISIX's routers, upstream keys, allocation-free lookups.
holdfast_add_test(tst_router SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_router.cpp LIBS holdfast_routing LABELS unit)
# Path normalization before routing: decoding, dot segments, merged slashes, what is forwarded.
holdfast_add_test(tst_pathnormalizer SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_pathnormalizer.cpp LIBS holdfast_routing
    LABELS unit)
# Incremental router and snapshot: thousands of random changes, each compared with a build from scratch;
# and the proxy's update path and router self-check.
holdfast_add_test(tst_incrementalrouter SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_incrementalrouter.cpp
    LIBS holdfast_routing holdfast_proxy LABELS unit TIMEOUT 300)
