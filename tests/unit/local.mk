# tests/unit: unit tests that link the core; no network except loopback emulators.
UNIT_TESTS = \
	tests/unit/test_config \
	tests/unit/test_secure \
	tests/unit/test_error \
	tests/unit/test_link \
	tests/unit/test_user \
	tests/unit/test_jwt \
	tests/unit/test_listing \
	tests/unit/test_proc \
	tests/unit/test_throttle \
	tests/unit/test_mfa_replay
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_test_config_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_config_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_secure_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_secure_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_error_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_error_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_link_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_link_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_user_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_user_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_jwt_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_jwt_LDADD = $(TEST_CORE_LIBS)
EXTRA_DIST += tests/unit/core_util.h
tests_unit_test_listing_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_listing_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_proc_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_proc_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_throttle_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_throttle_LDADD = $(TEST_CORE_LIBS)
tests_unit_test_mfa_replay_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_mfa_replay_LDADD = $(TEST_CORE_LIBS)
