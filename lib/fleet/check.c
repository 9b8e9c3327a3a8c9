/* check: what `gotruectl config check` says of the fleet's part of the config (fleet.h): the
 * keys a publisher or a host needs, and, on a host, the age of the bundle in force. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fleet.h"
#include "fleet_io.h"
#include "http.h"
#include "secure.h"

struct say {
	gotrue_fleet_report report;
	void *ctx;
};

static void say(const struct say *s, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(const struct say *s, bool warning, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->report(s->ctx, warning, msg);
}

static void check_fleet_key(pam_handle_t *pamh, const struct gotrue_config *cfg,
			    const struct say *s)
{
	struct gotrue_fleet_keys k = {0};

	if (cfg->fleet_key_file == NULL)
		say(s, false, "fleet_key_file is not set: the account index cannot be %s",
		    cfg->publish_dir != NULL ? "sealed" : "opened");
	else if (gotrue_fleet_read_keys(pamh, cfg->fleet_key_file, &k) != 0)
		say(s, false,
		    "fleet_key_file %s is unusable (root's, mode 0600, one or two lines of 64 hex "
		    "digits; see the log)",
		    cfg->fleet_key_file);
	gotrue_fleet_keys_clear(&k);
}

static void check_publisher(pam_handle_t *pamh, const struct gotrue_config *cfg,
			    const struct say *s)
{
	char *pem = NULL, pub[64];
	size_t len = 0;

	if (cfg->fleet_signing_key_file == NULL)
		say(s, false, "publish_dir is set but fleet_signing_key_file is not");
	else if (gotrue_read_file(pamh, cfg->fleet_signing_key_file, GOTRUE_FILE_SECRET, 16384,
				  &pem, &len) != 0 ||
		 gotrue_fleet_public_of(pem, pub) != 0)
		say(s, false, "fleet_signing_key_file %s holds no usable Ed25519 private key",
		    cfg->fleet_signing_key_file);
	if (pem != NULL)
		gotrue_wipe_free(pem, len + 1);
	check_fleet_key(pamh, cfg, s);
}

static void check_bundle_age(pam_handle_t *pamh, const struct gotrue_config *cfg,
			     const struct say *s)
{
	struct gotrue_fleet_manifest m;
	long long now = (long long)time(NULL);
	int r = gotrue_fleet_installed(pamh, cfg, &m);

	if (r == 1)
		say(s, true, "no fleet bundle installed yet: run gotruectl fetch");
	else if (r != 0)
		say(s, false, "the installed fleet bundle cannot be read (see the log)");
	else if (now > m.expires)
		say(s, true,
		    "the fleet bundle in force (serial %lld) is %lld s old and expired %lld s ago: "
		    "bans and new users no longer arrive; is the publisher publishing, and %s "
		    "reachable?",
		    m.serial, now - m.created, now - m.expires, cfg->fleet_url);
}

static void check_host(pam_handle_t *pamh, const struct gotrue_config *cfg, const struct say *s)
{
	struct gotrue_fleet_pubkeys pins;
	char why[256];

	if (gotrue_http_url_check(cfg, cfg->fleet_url, why, sizeof(why)) != 0)
		say(s, false, "fleet_url %s: %s", cfg->fleet_url, why);
	if (cfg->fleet_public_key == NULL)
		say(s, false,
		    "fleet_url is set but fleet_public_key is not: no bundle can be "
		    "verified");
	else if (gotrue_fleet_pubkeys_parse(cfg->fleet_public_key, &pins) != 0)
		say(s, false, "fleet_public_key is not one or two base64 Ed25519 public keys");
	check_fleet_key(pamh, cfg, s);
	check_bundle_age(pamh, cfg, s);
}

void gotrue_fleet_check(pam_handle_t *pamh, const struct gotrue_config *cfg,
			gotrue_fleet_report report, void *ctx)
{
	const struct say s = {report, ctx};

	if (cfg->publish_dir != NULL)
		check_publisher(pamh, cfg, &s);
	if (cfg->fleet_url != NULL)
		check_host(pamh, cfg, &s);
}
