# lib/store.mk: the token store (owned by the PAM work), part of libgotrue.
lib_libgotrue_la_SOURCES += lib/store.c lib/store.h
