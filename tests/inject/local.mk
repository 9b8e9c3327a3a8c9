# tests/inject: fault injection with -Wl,--wrap (pam-u2f's fuzz/wrap.c pattern). The PAM flow
# (pam/*.c, compiled into the test rather than loaded as pam_gotrue.so, so that --wrap reaches
# its calls) runs auth -> account -> open -> close against the emulator with each allocation,
# open, write, fsync, rename, unlink and curl_easy_perform failing in turn: every one of the ~380
# calls of a cycle, about 40 s (GOTRUE_INJECT_SAMPLE=N caps it at N indices per function).
INJECT_WRAPS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free \
	-Wl,--wrap=strdup,--wrap=strndup,--wrap=asprintf \
	-Wl,--wrap=open,--wrap=fopen,--wrap=mkostemp,--wrap=write,--wrap=writev,--wrap=fsync \
	-Wl,--wrap=rename,--wrap=unlink,--wrap=curl_easy_perform \
	-Wl,--wrap=gotrue_sync_one_user,--wrap=gotrue_store_pid_start \
	-Wl,--wrap=pg_throttle_success

if HAVE_MHD
check_LTLIBRARIES += tests/inject/pam_inject_shim.la
check_PROGRAMS += tests/inject/test_inject
TESTS += tests/inject/test_inject
endif
tests_inject_test_inject_SOURCES = \
	tests/inject/test_inject.c tests/inject/wrap.c tests/inject/wrap.h \
	$(pam_pam_gotrue_la_SOURCES)
tests_inject_test_inject_CFLAGS = $(TEST_CORE_CFLAGS) -I$(top_srcdir)/pam
# -export-dynamic: the test's own syslog(3) must be the one libpam's pam_syslog() calls.
tests_inject_test_inject_LDFLAGS = $(AM_LDFLAGS) $(INJECT_WRAPS) -export-dynamic
tests_inject_test_inject_LDADD = $(TEST_CORE_LIBS) $(CURL_LIBS) $(PAM_LIBS)
tests_inject_test_inject_DEPENDENCIES = $(TEST_CORE_LIBS) tests/inject/pam_inject_shim.la

# The module libpam loads; it forwards to the program (tests/inject/shim.c says why).
tests_inject_pam_inject_shim_la_SOURCES = tests/inject/shim.c
tests_inject_pam_inject_shim_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -rpath /nowhere
tests_inject_pam_inject_shim_la_LIBADD = $(PAM_LIBS) -ldl
