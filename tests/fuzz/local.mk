# tests/fuzz: libFuzzer targets for every parser (./configure CC=clang --enable-fuzzing).
#   make fuzz FUZZ_SECONDS=N   runs each target for N seconds on its committed seed corpus;
#   make fuzz FUZZ_RUNS=N      runs each for N executions instead (on demand: FUZZ_RUNS=10000000).
FUZZ_TARGETS = \
	tests/fuzz/fuzz_error \
	tests/fuzz/fuzz_user \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_jwt \
	tests/fuzz/fuzz_jwks \
	tests/fuzz/fuzz_jwks_cache \
	tests/fuzz/fuzz_link \
	tests/fuzz/fuzz_pkce_code \
	tests/fuzz/fuzz_cache \
	tests/fuzz/fuzz_accounts \
	tests/fuzz/fuzz_overlay \
	tests/fuzz/fuzz_store \
	tests/fuzz/fuzz_listing \
	tests/fuzz/fuzz_proc \
	tests/fuzz/fuzz_throttle \
	tests/fuzz/fuzz_mfa_replay \
	tests/fuzz/fuzz_offline \
	tests/fuzz/fuzz_manifest

FUZZ_CC_FLAGS = $(AM_CFLAGS) $(GOTRUE_CPPFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS) $(CRYPTO_CFLAGS)
FUZZ_LD_FLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
FUZZ_LD_LIBS = $(GOTRUE_LIBS)

if ENABLE_FUZZING
noinst_PROGRAMS += $(FUZZ_TARGETS)
endif
EXTRA_PROGRAMS = $(FUZZ_TARGETS)
tests_fuzz_fuzz_error_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_error_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_error_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_user_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_user_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_user_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_config_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_jwt_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_jwt_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_jwt_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_jwks_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_jwks_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_jwks_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_jwks_cache_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_jwks_cache_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_jwks_cache_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_link_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_link_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_link_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_pkce_code_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_pkce_code_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_pkce_code_LDADD = $(FUZZ_LD_LIBS)

tests_fuzz_fuzz_store_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_store_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_store_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_listing_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_listing_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_listing_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_proc_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_proc_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_proc_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_throttle_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_throttle_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_throttle_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_mfa_replay_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_mfa_replay_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_mfa_replay_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_offline_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_offline_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_offline_LDADD = $(FUZZ_LD_LIBS)
tests_fuzz_fuzz_accounts_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_accounts_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_accounts_LDADD = $(FUZZ_LD_LIBS)
# The overlay parser alone, as the NSS module has it.
tests_fuzz_fuzz_overlay_CFLAGS = $(AM_CFLAGS) $(GOTRUE_CACHE_READER_CPPFLAGS)
tests_fuzz_fuzz_overlay_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_overlay_LDADD = lib/cache/reader/libgotrue-cache-reader.la
tests_fuzz_fuzz_manifest_CFLAGS = $(FUZZ_CC_FLAGS)
tests_fuzz_fuzz_manifest_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_manifest_LDADD = $(FUZZ_LD_LIBS) $(CRYPTO_LIBS)
# The cache reader, as the NSS module has it, and the whole-file check (cache_verify.o, libc only:
# the linker takes nothing else from the writer's archive).
tests_fuzz_fuzz_cache_CFLAGS = $(AM_CFLAGS) $(GOTRUE_CACHE_WRITER_CPPFLAGS)
tests_fuzz_fuzz_cache_LDFLAGS = $(FUZZ_LD_FLAGS)
tests_fuzz_fuzz_cache_LDADD = lib/cache/writer/libgotrue-cache-writer.la \
	lib/cache/reader/libgotrue-cache-reader.la

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run-fuzzers tests/fuzz/listing_diff.h

FUZZ_SECONDS = 10
.PHONY: fuzz
fuzz:
if ENABLE_FUZZING
	@$(MAKE) $(AM_MAKEFLAGS) $(FUZZ_TARGETS)
	@FUZZ_RUNS='$(FUZZ_RUNS)' $(SHELL) $(top_srcdir)/tests/fuzz/run-fuzzers $(FUZZ_SECONDS) $(top_srcdir)/tests/fuzz/corpus $(FUZZ_TARGETS)
else
	@echo "make fuzz: reconfigure with CC=clang --enable-fuzzing" >&2; exit 1
endif
