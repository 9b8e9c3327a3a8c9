# tests/common: TAP helpers and the emulator driver shared by the C tests.
check_LTLIBRARIES += tests/common/libtestcommon.la
tests_common_libtestcommon_la_SOURCES = tests/common/tap.h tests/common/emu.c tests/common/emu.h
tests_common_libtestcommon_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
tests_common_libtestcommon_la_LIBADD = $(CURL_LIBS) $(JSONC_LIBS)
# Temp dirs, files of a given mode, a log capture and a free() spy, for the unit and store tests.
EXTRA_DIST += tests/common/core_util.h
EXTRA_DIST += tests/common/emu.sh

# Flags for a test program that links the core: every layer's headers (lib/local.mk). A test of
# one layer links that layer and the ones it uses (tests/unit, tests/store, tests/directory); a
# test that drives the whole core links TEST_CORE_LIBS.
TEST_CORE_CFLAGS = $(AM_CFLAGS) $(GOTRUE_CPPFLAGS) -I$(top_srcdir)/tests/common $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) $(JWT_CFLAGS) $(CRYPTO_CFLAGS)
TEST_CORE_LIBS = $(GOTRUE_LIBS) tests/common/libtestcommon.la
