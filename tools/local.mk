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
	tools/cmd_throttle.c \
	tools/cmd_offline.c \
	tools/cmd_mfa.c \
	tools/cmd_fleet.c \
	tools/qr.c \
	tools/prompt.c \
	tools/output.c
# gotruectl drives every layer of the core (lib/local.mk).
tools_gotruectl_CPPFLAGS = $(AM_CPPFLAGS) $(GOTRUE_CPPFLAGS)
# libqrencode (optional, configure --with-qrencode) only here: no other binary draws QR codes.
tools_gotruectl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(JWT_CFLAGS) $(QRENCODE_CFLAGS)
tools_gotruectl_LDADD = $(GOTRUE_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) $(QRENCODE_LIBS)

# The example configuration (tools/gotrue.conf.example), installed as
# $(docdir)/examples/gotrue.conf for the administrator to copy to /etc/gotrue/gotrue.conf. Not
# installed into sysconfdir: its url and key files are placeholders, and an installed
# /etc/gotrue/gotrue.conf would be read as the live configuration.
EXTRA_DIST += tools/gotrue.conf.example
gotrueexamplesdir = $(docdir)/examples
install-data-local: install-gotrue-conf-example
uninstall-local: uninstall-gotrue-conf-example
install-gotrue-conf-example:
	$(MKDIR_P) '$(DESTDIR)$(gotrueexamplesdir)'
	$(INSTALL_DATA) '$(top_srcdir)/tools/gotrue.conf.example' \
		'$(DESTDIR)$(gotrueexamplesdir)/gotrue.conf'
uninstall-gotrue-conf-example:
	rm -f '$(DESTDIR)$(gotrueexamplesdir)/gotrue.conf'
.PHONY: install-gotrue-conf-example uninstall-gotrue-conf-example
