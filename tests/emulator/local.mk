# tests/emulator: the GoTrue test server (libmicrohttpd, json-c, libjwt, OpenSSL) and its
# conformance test against the recorded v2.69 and v2.185 transcripts (expected values in
# conformance.tsv and conformance-current.tsv).
if HAVE_MHD
check_PROGRAMS += tests/emulator/gotrue-emulator
tests_emulator_gotrue_emulator_SOURCES = \
	tests/emulator/emulator.h \
	tests/emulator/main.c \
	tests/emulator/router.c \
	tests/emulator/reply.c \
	tests/emulator/store.c \
	tests/emulator/tokens.c \
	tests/emulator/faults.c \
	tests/emulator/tls.c \
	tests/emulator/handlers_auth.c \
	tests/emulator/handlers_admin.c \
	tests/emulator/handlers_mfa.c \
	tests/emulator/handlers_pkce.c
tests_emulator_gotrue_emulator_CFLAGS = $(AM_CFLAGS) -pthread $(MHD_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS) $(CRYPTO_CFLAGS)
tests_emulator_gotrue_emulator_LDADD = $(MHD_LIBS) $(JSONC_LIBS) $(JWT_LIBS) $(CRYPTO_LIBS) -lcrypt -lpthread
TESTS += tests/emulator/test_conformance.sh
endif
EXTRA_DIST += tests/emulator/test_conformance.sh tests/emulator/conformance.tsv \
	tests/emulator/conformance-current.tsv \
	tests/emulator/conformance-extract.py \
	tests/emulator/README.md
