# tests/common: TAP helpers and the emulator driver shared by the C tests.
check_LTLIBRARIES += tests/common/libtestcommon.la
tests_common_libtestcommon_la_SOURCES = tests/common/tap.h tests/common/emu.c tests/common/emu.h
tests_common_libtestcommon_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
tests_common_libtestcommon_la_LIBADD = $(CURL_LIBS) $(JSONC_LIBS)
EXTRA_DIST += tests/common/emu.sh

# Flags for a test program that links the core.
TEST_CORE_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/tests/common $(CURL_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS) $(CRYPTO_CFLAGS)
TEST_CORE_LIBS = lib/libgotrue.la tests/common/libtestcommon.la
