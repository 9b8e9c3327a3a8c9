# lib/cache: the NSS cache file (the format is reader/cache_format.h), as two libraries, so that
# the NSS module carries no writer (libtool links a convenience library into a shared object
# whole).
#   reader/ (libgotrue-cache-reader): maps the file, checks it, answers lookups. libc only.
#           Linked by libnss_gotrue.so.2, pam_gotrue.so, gotruectl and the tests. Its headers are
#           the only ones of lib/ that nss/ can include (tests/nss/test_nss_includes.sh).
#   writer/ (libgotrue-cache-writer): builds an image and replaces the file by rename, and
#           verifies a whole image (cache_verify.c, `gotruectl cache verify`; libc only). No
#           libcurl, json-c or libjwt; its growable arrays and atomic replacement are
#           lib/client's array.c and secure.c. Linked by pam_gotrue.so (a login's one-user
#           update), gotruectl (sync) and the tests.
GOTRUE_CACHE_READER_CPPFLAGS = -I$(top_srcdir)/lib/cache/reader
GOTRUE_CACHE_WRITER_CPPFLAGS = -I$(top_srcdir)/lib/cache/writer $(GOTRUE_CACHE_READER_CPPFLAGS)

lib_cache_reader_libgotrue_cache_reader_la_SOURCES = \
	lib/cache/reader/cache.h \
	lib/cache/reader/cache_format.h \
	lib/cache/reader/cache_reader.c \
	lib/cache/reader/overlay.c lib/cache/reader/overlay.h
lib_cache_reader_libgotrue_cache_reader_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_CACHE_READER_CPPFLAGS)
# No CURL/JSON/JWT flags here on purpose: this library must build from libc headers alone.
lib_cache_reader_libgotrue_cache_reader_la_CFLAGS = $(AM_CFLAGS) -pthread
lib_cache_reader_libgotrue_cache_reader_la_LIBADD =

lib_cache_writer_libgotrue_cache_writer_la_SOURCES = \
	lib/cache/writer/cache_writer.c lib/cache/writer/cache_writer.h \
	lib/cache/writer/cache_verify.c lib/cache/writer/cache_verify.h
lib_cache_writer_libgotrue_cache_writer_la_CPPFLAGS = $(AM_CPPFLAGS) \
	$(GOTRUE_CACHE_WRITER_CPPFLAGS) $(GOTRUE_CLIENT_CPPFLAGS)
lib_cache_writer_libgotrue_cache_writer_la_CFLAGS = $(AM_CFLAGS)
lib_cache_writer_libgotrue_cache_writer_la_LIBADD =
