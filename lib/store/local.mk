# lib/store (libgotrue-store): the token store, i.e. the store directory, its locks, the two-slot
# record file and its JSON record (store, store_file, store_record); what /proc says of a
# session's processes (proc); the local failure throttle, whose table lives beside the store
# (throttle); the second-factor codes already sent from this host, beside the store too, read and
# written by PAM (mfa_replay); the offline verifiers, yescrypt through libxcrypt (offline); and
# what ending a session takes, shared by close_session and the refresh pass (session_end).
# Linked by pam_gotrue.so, gotruectl and the tests.
GOTRUE_STORE_CPPFLAGS = -I$(top_srcdir)/lib/store

lib_store_libgotrue_store_la_SOURCES = \
	lib/store/store.c lib/store/store.h \
	lib/store/store_file.c lib/store/store_file.h \
	lib/store/store_record.c \
	lib/store/proc.c lib/store/proc.h \
	lib/store/throttle.c lib/store/throttle.h \
	lib/store/mfa_replay.c lib/store/mfa_replay.h \
	lib/store/offline.c lib/store/offline.h \
	lib/store/session_end.c lib/store/session_end.h
lib_store_libgotrue_store_la_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_STORE_CPPFLAGS) \
	$(GOTRUE_CLIENT_CPPFLAGS)
lib_store_libgotrue_store_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CRYPTO_CFLAGS) $(XCRYPT_CFLAGS)
lib_store_libgotrue_store_la_LIBADD = $(JSONC_LIBS) $(CRYPTO_LIBS) $(XCRYPT_LIBS)
