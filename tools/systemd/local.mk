# tools/systemd: the timers that run `gotruectl refresh` (session lifetime) and `gotruectl sync`
# (NSS cache), and the fleet's `gotruectl publish` (the publisher) and `gotruectl fetch` (every
# other host; neither timer is enabled by a package), installed into --with-systemdsystemunitdir, and the tmpfiles.d(5) entry that
# creates the state directory. The services name the installed gotruectl, the config file
# (ConditionPathExists: nothing runs before it exists) and the state directory, so they are
# generated from .in files.
SYSTEMD_SERVICES = tools/systemd/gotrue-refresh.service tools/systemd/gotrue-sync.service \
	tools/systemd/gotrue-publish.service tools/systemd/gotrue-fetch.service
systemdsystemunit_DATA = $(SYSTEMD_SERVICES)
dist_systemdsystemunit_DATA = tools/systemd/gotrue-refresh.timer tools/systemd/gotrue-sync.timer \
	tools/systemd/gotrue-publish.timer tools/systemd/gotrue-fetch.timer
CLEANFILES += $(SYSTEMD_SERVICES) tools/systemd/gotrue.conf
EXTRA_DIST += tools/systemd/gotrue-refresh.service.in tools/systemd/gotrue-sync.service.in \
	tools/systemd/gotrue-publish.service.in tools/systemd/gotrue-fetch.service.in \
	tools/systemd/gotrue.tmpfiles.in

# Installed as $(tmpfilesdir)/gotrue.conf, the name tmpfiles.d gives a package's entry.
tmpfiles_DATA = tools/systemd/gotrue.conf

SYSTEMD_SUBST = sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@gotruestatedir[@]|$(gotruestatedir)|g'
$(SYSTEMD_SERVICES): Makefile
	$(AM_V_GEN)$(MKDIR_P) tools/systemd && \
	$(SYSTEMD_SUBST) $(top_srcdir)/$@.in > $@.tmp && mv $@.tmp $@
tools/systemd/gotrue-refresh.service: $(top_srcdir)/tools/systemd/gotrue-refresh.service.in
tools/systemd/gotrue-sync.service: $(top_srcdir)/tools/systemd/gotrue-sync.service.in
tools/systemd/gotrue-publish.service: $(top_srcdir)/tools/systemd/gotrue-publish.service.in
tools/systemd/gotrue-fetch.service: $(top_srcdir)/tools/systemd/gotrue-fetch.service.in
tools/systemd/gotrue.conf: $(top_srcdir)/tools/systemd/gotrue.tmpfiles.in Makefile
	$(AM_V_GEN)$(MKDIR_P) tools/systemd && \
	$(SYSTEMD_SUBST) $(top_srcdir)/tools/systemd/gotrue.tmpfiles.in > $@.tmp && mv $@.tmp $@
