# idle_clients: opens many keep-alive connections, one request each, then holds them idle (idle_bench.sh).
if(UNIX)
    add_executable(idle_clients ${CMAKE_CURRENT_LIST_DIR}/idle_clients.cpp)
    target_link_libraries(idle_clients PRIVATE holdfast_warnings)
endif()
