# lib/cache.mk: libgotrue-cache (the NSS cache reader; libc only, linked into libnss_gotrue.so.2)
# and the parts of libgotrue that build and fill it: the cache writer, the GoTrue -> Unix mapping,
# the private account index and sync. Owned by the NSS work.
noinst_LTLIBRARIES += lib/libgotrue-cache.la
lib_libgotrue_cache_la_SOURCES = lib/cache.h lib/cache_format.h lib/cache_reader.c
# No CURL/JSON/JWT flags here on purpose: this library must build from libc headers alone.
lib_libgotrue_cache_la_CFLAGS = $(AM_CFLAGS) -pthread
lib_libgotrue_cache_la_LIBADD =

lib_libgotrue_la_SOURCES += \
	lib/cache_writer.c \
	lib/idmap.c lib/idmap.h \
	lib/owner.c lib/owner.h \
	lib/accounts.c lib/accounts.h \
	lib/sync.c lib/sync.h
lib_libgotrue_la_LIBADD += lib/libgotrue-cache.la
