# Suites for the metrics (service/proxy ProxyMetrics, service/admin Prometheus exposition) and the access log.
holdfast_add_test(tst_metrics SOURCES tst_metrics.cpp LIBS holdfast_admin LABELS unit TIMEOUT 60)
holdfast_add_test(tst_accesslog SOURCES tst_accesslog.cpp LIBS holdfast_proxy LABELS unit TIMEOUT 60)
