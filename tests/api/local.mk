# tests/api: every endpoint against the emulator (both server generations), and the transport
# rules (timeouts, size cap, TLS, redirects).
API_TESTS = tests/api/test_api tests/api/test_transport
check_PROGRAMS += $(API_TESTS)
TESTS += $(API_TESTS)
tests_api_test_api_CFLAGS = $(TEST_CORE_CFLAGS)
tests_api_test_api_LDADD = $(TEST_CORE_LIBS)
tests_api_test_transport_CFLAGS = $(TEST_CORE_CFLAGS)
tests_api_test_transport_LDADD = $(TEST_CORE_LIBS)
