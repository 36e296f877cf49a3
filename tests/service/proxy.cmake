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

# The HTTP machinery as the Windows build compiles it (QtStreamSocket for clients, no epoll), compile-checked
# with the MinGW-w64 cross compiler like service/host's Windows files (tests/service/host.cmake).
find_program(HOLDFAST_MINGW_CXX NAMES x86_64-w64-mingw32-g++-posix x86_64-w64-mingw32-g++)
if(HOLDFAST_MINGW_CXX)
    set(qt_network_includes "$<TARGET_PROPERTY:Qt6::Network,INTERFACE_INCLUDE_DIRECTORIES>")
    foreach(file service/http/streamsockets_generic.cpp service/http/qtstreamsocket.cpp
            service/http/httpserver.cpp service/http/httpconnection.cpp service/http/sockettunnel.cpp
            service/http/bytebuffer.cpp service/proxy/upstreamconnection.cpp)
        string(MAKE_C_IDENTIFIER ${file} id)
        add_test(NAME mingw_${id}
            COMMAND ${HOLDFAST_MINGW_CXX} -std=c++17 -Wall -Wextra -Werror -fsyntax-only -DQT_NO_CAST_FROM_ASCII
                    -I${PROJECT_SOURCE_DIR}/service/http -I${PROJECT_SOURCE_DIR}/service/proxy
                    -isystem ${LLHTTP_INCLUDE_DIR}
                    "-isystem;$<JOIN:${qt_network_includes},;-isystem;>" ${PROJECT_SOURCE_DIR}/${file}
            COMMAND_EXPAND_LISTS)
        set_tests_properties(mingw_${id} PROPERTIES LABELS "unit;windows")
    endforeach()
endif()
