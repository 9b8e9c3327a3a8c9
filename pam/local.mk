# pam/: pam_gotrue.so, an empty shell over the core's layers (as pam-u2f builds pam_u2f.so). It
# links the layers a login, an account check, a session and a password change use, and is
# compiled with their -I only: never lib/sync or lib/client/ctl (tests/pam/test_exports.sh reads
# the module's symbols to prove it).
pammod_LTLIBRARIES = pam/pam_gotrue.la
pam_pam_gotrue_la_SOURCES = \
	pam/pam_gotrue.c pam/pam_gotrue.h \
	pam/result.c \
	pam/util.c \
	pam/throttle.c \
	pam/auth.c \
	pam/mfa.c \
	pam/email_code.c \
	pam/offline.c \
	pam/account.c \
	pam/session.c \
	pam/chauthtok.c
pam_pam_gotrue_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_DIRECTORY_CPPFLAGS) $(GOTRUE_STORE_CPPFLAGS) \
	$(GOTRUE_CACHE_WRITER_CPPFLAGS) $(GOTRUE_CLIENT_CPPFLAGS)
pam_pam_gotrue_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS)
# -z nodelete: libcurl and OpenSSL must not be unloaded and loaded again in one process (pam_end
# dlcloses the module), and reloading the TLS stack on every transaction made each login cost
# several milliseconds more (tests/bench/bench_pam).
pam_pam_gotrue_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-Wl,--version-script=$(srcdir)/pam/pam_gotrue.map $(MODULE_NO_UNDEFINED) -Wl,-z,relro -Wl,-z,now \
	-Wl,-z,nodelete
# The cache writer only for gotrue_sync_one_user (lib/directory/sync_write.c).
pam_pam_gotrue_la_LIBADD = \
	lib/directory/libgotrue-directory.la \
	lib/store/libgotrue-store.la \
	lib/cache/writer/libgotrue-cache-writer.la \
	lib/client/libgotrue-client.la \
	lib/cache/reader/libgotrue-cache-reader.la \
	$(PAM_LIBS)
EXTRA_pam_pam_gotrue_la_DEPENDENCIES = pam/pam_gotrue.map
EXTRA_DIST += pam/pam_gotrue.map
dist_man_MANS += man/pam_gotrue.8

# Like pam-u2f: a PAM module needs no .la file installed. install-exec-hook may be defined only
# once in the whole Makefile: the lead chains these into install-exec-hook / uninstall-hook.
# libtool's uninstall looks for the .la we removed, so the .so is removed by name.
pam-install-exec-hook:
	rm -f $(DESTDIR)$(pammoddir)/pam_gotrue.la
pam-uninstall-hook:
	rm -f $(DESTDIR)$(pammoddir)/pam_gotrue.so
.PHONY: pam-install-exec-hook pam-uninstall-hook
