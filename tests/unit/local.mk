# tests/unit: unit tests of lib/client and lib/client/ctl (config, secure files and memory,
# GoTrue's errors, users, PKCE, token verification), linked with that layer alone; no network
# except loopback emulators.
UNIT_TESTS = \
	tests/unit/test_config \
	tests/unit/test_secure \
	tests/unit/test_error \
	tests/unit/test_user \
	tests/unit/test_jwt
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
UNIT_LIBS = lib/client/ctl/libgotrue-client-ctl.la lib/client/libgotrue-client.la \
	tests/common/libtestcommon.la

tests_unit_test_config_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LIBS)
tests_unit_test_secure_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_secure_LDADD = $(UNIT_LIBS)
tests_unit_test_error_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_error_LDADD = $(UNIT_LIBS)
tests_unit_test_user_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_user_LDADD = $(UNIT_LIBS)
tests_unit_test_jwt_CFLAGS = $(TEST_CORE_CFLAGS)
tests_unit_test_jwt_LDADD = $(UNIT_LIBS)
