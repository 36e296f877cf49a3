# Suites of service/balance: balancers and hash keys, passive and active health, the health registry.
holdfast_add_test(tst_balancer
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tst_balancer.cpp
    LIBS holdfast_balance
    LABELS unit service TIMEOUT 60)

holdfast_add_test(tst_healthcheck
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/tst_healthcheck.cpp
    LIBS holdfast_balance
    LABELS unit service TIMEOUT 120)
add_dependencies(tst_healthcheck holdfast_test_upstream)
