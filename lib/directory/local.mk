# lib/directory (libgotrue-directory): who is a Unix user here. The private account index,
# reader and writer (accounts); the rules that map a GoTrue user to a Unix account: names, uids,
# groups (idmap); "local accounts first", whether a name belongs to another account source
# (owner); and replacing the account index and the NSS cache from a mapped set, with the PAM
# module's update of one user's entry at login (sync_write). Linked by pam_gotrue.so, gotruectl
# and the tests.
GOTRUE_DIRECTORY_CPPFLAGS = -I$(top_srcdir)/lib/directory

lib_directory_libgotrue_directory_la_SOURCES = \
	lib/directory/accounts.c lib/directory/accounts.h \
	lib/directory/account_overlay.c lib/directory/account_overlay.h \
	lib/directory/idmap.c lib/directory/idmap.h \
	lib/directory/owner.c lib/directory/owner.h \
	lib/directory/sync_write.c lib/directory/sync_write.h
lib_directory_libgotrue_directory_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_DIRECTORY_CPPFLAGS) \
	$(GOTRUE_CACHE_WRITER_CPPFLAGS) $(GOTRUE_CLIENT_CPPFLAGS)
lib_directory_libgotrue_directory_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
lib_directory_libgotrue_directory_la_LIBADD = $(JSONC_LIBS)
