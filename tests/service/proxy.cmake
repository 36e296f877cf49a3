# Suites of service/proxy: the HTTP/1.1 machinery, request parsing and smuggling defences, and the proxy
# end to end against real holdfast_test_upstream processes.
add_library(holdfast_proxy_testkit STATIC
    ${CMAKE_CURRENT_LIST_DIR}/proxytestkit.cpp ${CMAKE_CURRENT_LIST_DIR}/proxytestkit.h)
target_include_directories(holdfast_proxy_testkit PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(holdfast_proxy_testkit PUBLIC holdfast_test_support holdfast_proxy Qt6::Test
    PRIVATE holdfast_warnings)

holdfast_add_test(tst_proxy
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_proxy.cpp
    LIBS holdfast_proxy_testkit holdfast_proxy
    LABELS integration service TIMEOUT 240)
add_dependencies(tst_proxy holdfast_test_upstream)

holdfast_add_test(tst_httpconnection
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_httpconnection.cpp ${CMAKE_CURRENT_LIST_DIR}/httptesthandler.h
    LIBS holdfast_proxy_testkit holdfast_proxy
    LABELS unit service TIMEOUT 60)

# The request parser on its own: bytes in, a head or a precise error out, no sockets.
holdfast_add_test(tst_httpparser SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_httpparser.cpp LIBS holdfast_http
    LABELS unit service TIMEOUT 60)

include(${CMAKE_CURRENT_LIST_DIR}/../fuzz/fuzz.cmake)

holdfast_add_test(tst_httpserver
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_httpserver.cpp ${CMAKE_CURRENT_LIST_DIR}/httptesthandler.h
    LIBS holdfast_proxy_testkit holdfast_proxy
    LABELS unit service TIMEOUT 60)
if(TARGET holdfastd)
    add_dependencies(tst_proxy holdfastd)
endif()
