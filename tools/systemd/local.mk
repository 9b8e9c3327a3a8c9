# tools/systemd: the timers that run `gotruectl refresh` (session lifetime) and `gotruectl sync`
# (NSS cache), installed into --with-systemdsystemunitdir. The services name the installed
# gotruectl and state directory, so they are generated from .in files.
SYSTEMD_SERVICES = tools/systemd/gotrue-refresh.service tools/systemd/gotrue-sync.service
systemdsystemunit_DATA = $(SYSTEMD_SERVICES)
dist_systemdsystemunit_DATA = tools/systemd/gotrue-refresh.timer tools/systemd/gotrue-sync.timer
CLEANFILES += $(SYSTEMD_SERVICES)
EXTRA_DIST += tools/systemd/gotrue-refresh.service.in tools/systemd/gotrue-sync.service.in

$(SYSTEMD_SERVICES): Makefile
	$(AM_V_GEN)$(MKDIR_P) tools/systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@gotruestatedir[@]|$(gotruestatedir)|g' \
		$(top_srcdir)/$@.in > $@.tmp && mv $@.tmp $@
tools/systemd/gotrue-refresh.service: $(top_srcdir)/tools/systemd/gotrue-refresh.service.in
tools/systemd/gotrue-sync.service: $(top_srcdir)/tools/systemd/gotrue-sync.service.in
