# tests/lifecycle: the refresh pass, revocation and session ending against the emulator,
# ending every process of a Linux session (test_terminate: needs root, else skipped), and the
# systemd units. LIFECYCLE_ROTATE_SECONDS (default 24) and LIFECYCLE_KILL_RUNS (default
# 200) scale the long parts: `LIFECYCLE_ROTATE_SECONDS=60 LIFECYCLE_KILL_RUNS=1000 make check
# TESTS='tests/lifecycle/test_lifecycle tests/lifecycle/test_crash'` runs the issue's full sizes.
if HAVE_MHD
LIFECYCLE_C_TESTS = tests/lifecycle/test_lifecycle tests/lifecycle/test_crash \
	tests/lifecycle/test_terminate tests/lifecycle/test_offline_pass
check_PROGRAMS += $(LIFECYCLE_C_TESTS)
TESTS += $(LIFECYCLE_C_TESTS)
endif
TESTS += tests/lifecycle/test_units.sh
EXTRA_DIST += tests/lifecycle/test_units.sh tests/lifecycle/lifetest.h

tests_lifecycle_test_lifecycle_CFLAGS = $(TEST_CORE_CFLAGS)
tests_lifecycle_test_lifecycle_LDADD = $(TEST_CORE_LIBS)
tests_lifecycle_test_lifecycle_SOURCES = tests/lifecycle/test_lifecycle.c tests/lifecycle/lifetest.h
tests_lifecycle_test_crash_CFLAGS = $(TEST_CORE_CFLAGS)
tests_lifecycle_test_crash_LDADD = $(TEST_CORE_LIBS)
tests_lifecycle_test_crash_SOURCES = tests/lifecycle/test_crash.c tests/lifecycle/lifetest.h
tests_lifecycle_test_terminate_CFLAGS = $(TEST_CORE_CFLAGS)
tests_lifecycle_test_terminate_LDADD = $(TEST_CORE_LIBS)
tests_lifecycle_test_terminate_SOURCES = tests/lifecycle/test_terminate.c tests/lifecycle/lifetest.h
tests_lifecycle_test_offline_pass_CFLAGS = $(TEST_CORE_CFLAGS)
tests_lifecycle_test_offline_pass_LDADD = $(TEST_CORE_LIBS)
tests_lifecycle_test_offline_pass_SOURCES = tests/lifecycle/test_offline_pass.c \
	tests/lifecycle/lifetest.h
