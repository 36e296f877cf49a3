add_executable(genconfig ${CMAKE_CURRENT_LIST_DIR}/genconfig.cpp)
target_link_libraries(genconfig PRIVATE holdfast_warnings)
