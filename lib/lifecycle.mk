# lib/lifecycle.mk: session lifetime (issue 5): the refresh pass, revoke/gc helpers and ending a
# Linux session. Part of libgotrue (linked by gotruectl and the tests, not needed by the module).
lib_libgotrue_la_SOURCES += \
	lib/lifecycle.c lib/lifecycle.h \
	lib/terminate.c lib/terminate.h
