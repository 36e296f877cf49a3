# store_writer: a child process for tst_configstore that saves one generation, then can be killed at any
# step of the save or run under a file-size limit.
add_executable(store_writer store_writer.cpp)
if(WIN32)
    target_sources(store_writer PRIVATE store_writer_win.cpp)
endif()
target_link_libraries(store_writer PRIVATE holdfast_common holdfast_warnings)

add_dependencies(tst_configstore store_writer)
target_compile_definitions(tst_configstore PRIVATE STORE_WRITER_PATH="$<TARGET_FILE:store_writer>")
set_tests_properties(tst_configstore PROPERTIES TIMEOUT 120)
