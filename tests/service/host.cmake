# Suites for service/host and the holdfastd command line.
holdfast_add_test(tst_bootstrapsettings SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_bootstrapsettings.cpp
    LIBS holdfast_host LABELS unit)
holdfast_add_test(tst_checkcommand SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_checkcommand.cpp
    LIBS holdfast_common LABELS unit)
add_dependencies(tst_checkcommand holdfastd)
