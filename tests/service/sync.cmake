# Suites of service/sync's state machine and persister, driven by a real EtcdSource against a real etcd.
holdfast_add_test(tst_synccontroller SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_synccontroller.cpp
    LIBS holdfast_sync LABELS integration service TIMEOUT 180)
# The range page codec (protobuf and JSON), against bytes captured from etcd and malformed answers.
holdfast_add_test(tst_etcdrangecodec SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_etcdrangecodec.cpp
    LIBS holdfast_sync LABELS unit service)
