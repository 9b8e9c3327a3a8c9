# lib/store.mk: the token store (owned by the PAM work), part of libgotrue: the store itself
# (directory, locks, reads and in-place writes), its two-slot file and its JSON record, and what
# /proc says of a session's processes.
lib_libgotrue_la_SOURCES += lib/store.c lib/store.h lib/store_file.c lib/store_file.h \
	lib/store_record.c lib/proc.c lib/proc.h
# The local failure throttle (its table lives in the state directory beside the store).
lib_libgotrue_la_SOURCES += lib/throttle.c lib/throttle.h
# Second-factor codes already sent (pam/mfa.c): state beside the store, read and written by PAM.
lib_libgotrue_la_SOURCES += lib/mfa_replay.c lib/mfa_replay.h
