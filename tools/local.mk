# tools/: gotruectl, the administrator's tool and the C face of the GoTrue client API.
# main is in gotruectl.c; each cmd_*.c holds one family of subcommands; output.c and prompt.c
# are the only places that print results and read secrets.
bin_PROGRAMS += tools/gotruectl
tools_gotruectl_SOURCES = \
	tools/gotruectl.c tools/gotruectl.h \
	tools/cmd_client.c \
	tools/cmd_token.c \
	tools/cmd_admin.c \
	tools/cmd_config.c \
	tools/cmd_sync.c \
	tools/cmd_refresh.c \
	tools/cmd_cache.c \
	tools/cmd_sessions.c \
	tools/prompt.c \
	tools/output.c
tools_gotruectl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS)
tools_gotruectl_LDADD = lib/libgotrue.la $(JSONC_LIBS)
