# nss/: libnss_gotrue.so.2, the glibc NSS module. It links the cache reader only
# (lib/cache/reader, libc only), is compiled with its -I only (tests/nss/test_nss_includes.sh
# proves nss/ can include no other header of lib/), and exports only _nss_gotrue_*
# (nss_gotrue.map; tests/nss/test_nss_elf.sh checks the exports and the libraries).
lib_LTLIBRARIES += nss/libnss_gotrue.la
nss_libnss_gotrue_la_SOURCES = nss/nss_gotrue.c nss/pack.c nss/pack.h
nss_libnss_gotrue_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_CACHE_READER_CPPFLAGS)
nss_libnss_gotrue_la_CFLAGS = $(AM_CFLAGS) -pthread
nss_libnss_gotrue_la_LIBADD = lib/cache/reader/libgotrue-cache-reader.la
nss_libnss_gotrue_la_LDFLAGS = $(AM_LDFLAGS) -module -shared -avoid-version -shrext .so.2 \
	-Wl,--version-script=$(srcdir)/nss/nss_gotrue.map $(MODULE_NO_UNDEFINED) -Wl,-z,relro \
	-Wl,-z,now -Wl,--as-needed
EXTRA_DIST += nss/nss_gotrue.map
dist_man_MANS += man/nss_gotrue.8

# glibc loads libnss_gotrue.so.2 by name; the libtool archive is of no use once installed.
# The lead chains this into install-exec-hook / uninstall-hook.
nss-install-exec-hook:
	rm -f $(DESTDIR)$(libdir)/libnss_gotrue.la
nss-uninstall-hook:
	rm -f $(DESTDIR)$(libdir)/libnss_gotrue.so.2
.PHONY: nss-install-exec-hook nss-uninstall-hook
