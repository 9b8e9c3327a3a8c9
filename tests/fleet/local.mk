# tests/fleet: lib/fleet. The keys, signatures, sealing and the strict manifest parser
# (test_fleet_crypto); a file received as a stream, and http.c's sink (test_fleet_receive); the whole path, publisher to hosts through nginx, is tests/e2e/test_fleet.sh.
FLEET_TESTS = tests/fleet/test_fleet_crypto tests/fleet/test_fleet_receive
check_PROGRAMS += $(FLEET_TESTS)
TESTS += $(FLEET_TESTS)

tests_fleet_test_fleet_crypto_CFLAGS = $(TEST_CORE_CFLAGS)
tests_fleet_test_fleet_crypto_LDADD = lib/fleet/libgotrue-fleet.la lib/client/libgotrue-client.la \
	tests/common/libtestcommon.la $(CRYPTO_LIBS)
tests_fleet_test_fleet_receive_CFLAGS = $(TEST_CORE_CFLAGS)
tests_fleet_test_fleet_receive_LDADD = $(TEST_CORE_LIBS) $(CRYPTO_LIBS)
