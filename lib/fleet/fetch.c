/* fetch: a host's half of the fleet (fleet.h). What is checked before anything is installed,
 * in order: the manifest's signature against the pinned keys (fleet_public_key), its serial
 * against the installed one (lower: a rollback; equal with other bytes: a second manifest under
 * one serial, which only a leaked key or a broken publisher makes), its expiry, then each
 * changed file's size and SHA-256, and the account index's GCM tag under the fleet key. Any
 * failure keeps the installed bundle, whole. The requests go through lib/client/http.c with the
 * config's transport rules (TLS always verified, ca_file, timeouts), to fleet_url and without
 * the apikey header, which is GoTrue's alone. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account_overlay.h"
#include "enforce.h"
#include "fleet.h"
#include "fleet_io.h"
#include "http.h"
#include "jwks_cache.h"
#include "log.h"
#include "offline_sweep.h"
#include "receive.h"
#include "secure.h"
#include "sync_write.h"

/* A sync lists the users before it writes the bundle: an overlay written up to this long before
 * the bundle was made may be newer than the listing (a million users list in about a minute). */
#define LISTING_MARGIN 600

struct fetch {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg;
	struct gotrue_config net; /* cfg, with fleet_url as url and no apikey */
	struct gotrue_http *h;
	struct gotrue_fleet_pubkeys pins;
	char *dir;			  /* state_dir/fleet */
	struct gotrue_fleet_manifest old; /* installed, when have_old */
	bool have_old;
	char *old_doc, *etag;
	size_t old_len;
	struct gotrue_fleet_manifest new;
	struct gotrue_http_response resp; /* the manifest's answer */
	size_t signed_len;
	/* The new content, by role: received into its temp file (pending), or not where the
	 * installed file stands. */
	struct gotrue_fleet_receive in[GOTRUE_FLEET_ROLES];
	struct gotrue_fleet_keys keys;
	struct gotrue_fleet_fetch_result *res;
	struct gotrue_error *err;
};

/* A check the bundle failed: logged as what it may be, an attack. Returns -1. */
static int refuse(struct fetch *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct fetch *f, const char *fmt, ...)
{
	char msg[GOTRUE_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gotrue_error_set(f->err, GOTRUE_ERR_PROTOCOL, "%s", msg);
	gotrue_log(f->pamh, LOG_ERR, "fleet bundle refused, the installed one stays: %s; url=%s",
		   f->err->message, f->cfg->fleet_url);
	f->res->outcome = GOTRUE_FLEET_REFUSED;
	return -1;
}

/* The installed manifest and its entity tag. */
static int load_installed(struct fetch *f)
{
	char *path = gotrue_fleet_path(f->dir, "manifest"), *tag = NULL;
	size_t n = 0;
	int r, rc = -1;

	r = path != NULL
		    ? gotrue_fleet_read_manifest(f->pamh, path, &f->old, &f->old_doc, &f->old_len)
		    : -1;
	if (r < 0)
		goto cleanup;
	f->have_old = r == 0;
	free(path);
	path = gotrue_fleet_path(f->dir, "etag");
	if (f->have_old && path != NULL &&
	    gotrue_read_file(f->pamh, path, GOTRUE_FILE_CONFIG, 1024, &tag, &n) == 0) {
		tag[strcspn(tag, "\n")] = '\0';
		f->etag = tag;
	}
	rc = 0;
cleanup:
	free(path);
	return rc;
}

static int setup(struct fetch *f)
{
	int fd, rc = -1;

	if (f->cfg->fleet_url == NULL || f->cfg->fleet_public_key == NULL ||
	    gotrue_fleet_pubkeys_parse(f->cfg->fleet_public_key, &f->pins) != 0) {
		gotrue_error_set(f->err, GOTRUE_ERR_CONFIG,
				 "fetch needs fleet_url and fleet_public_key (one or two base64 "
				 "Ed25519 keys)");
		goto cleanup;
	}
	f->net = *f->cfg;
	f->net.url = f->cfg->fleet_url;
	f->net.api_key = NULL;
	f->net.service_role_key = NULL;
	f->net.jwt_secret = NULL;
	f->dir = gotrue_fleet_path(f->cfg->state_dir, "fleet");
	f->h = gotrue_http_new(f->pamh, &f->net);
	fd = f->dir != NULL ? gotrue_open_dir(f->pamh, f->dir, 0700, true) : -1;
	if (fd < 0 || f->h == NULL || load_installed(f) != 0) {
		gotrue_error_set(f->err, GOTRUE_ERR_INTERNAL,
				 "cannot read the installed bundle (see the log)");
		goto cleanup;
	}
	close(fd);
	rc = 0;
cleanup:
	return rc;
}

/* The manifest, conditionally. 0 with a 200 in f->resp, 1 for a 304, -1 with @err. */
static int get_manifest(struct fetch *f)
{
	int rc = -1;

	f->net.max_response = GOTRUE_FLEET_MANIFEST_MAX;
	if (gotrue_http_set_if_none_match(f->h, f->etag) != 0 ||
	    gotrue_http_request(f->h, "GET", "/manifest", NULL, NULL, &f->resp, f->err) != 0)
		goto cleanup;
	if (f->resp.status == 304 && f->have_old)
		rc = 1;
	else if (f->resp.status == 200)
		rc = 0;
	else
		gotrue_error_set(f->err, GOTRUE_ERR_TRANSPORT, "GET %s/manifest answered %ld",
				 f->cfg->fleet_url, f->resp.status);
cleanup:
	gotrue_http_set_if_none_match(f->h, NULL);
	return rc;
}

/* Signature, serial, expiry. 0 to install, 1 when it is the installed manifest, -1 refused. */
static int check_manifest(struct fetch *f)
{
	const char *sig, *doc = f->resp.body;
	size_t sig_len, len = f->resp.body_len;
	time_t now = time(NULL);

	if (gotrue_fleet_manifest_split(doc, len, &f->signed_len, &sig, &sig_len) != 0)
		return refuse(f, "the manifest is not a signed manifest");
	if (!gotrue_fleet_verify(&f->pins, doc, f->signed_len, sig, sig_len))
		return refuse(f, "the manifest's signature is not by a key of fleet_public_key");
	if (gotrue_fleet_manifest_parse(doc, f->signed_len, &f->new) != 0)
		return refuse(f, "the manifest is signed but not one this version reads");
	if (f->have_old &&
	    f->new.serial == f->old.serial &&len == f->old_len &&memcmp(doc, f->old_doc, len) == 0)
		return 1;
	if (f->have_old && f->new.serial <= f->old.serial)
		return refuse(f,
			      "the manifest's serial %lld is not above the installed %lld (a "
			      "replay, or two manifests under one serial)",
			      f->new.serial, f->old.serial);
	if ((long long)now > f->new.expires)
		return refuse(f, "the manifest of serial %lld expired %lld s ago", f->new.serial,
			      (long long)now - f->new.expires);
	return 0;
}

/* Where @role's file is installed (free()). */
static char *role_path(struct fetch *f, enum gotrue_fleet_role role)
{
	char *p = NULL;

	if (role == GOTRUE_FLEET_NSS_CACHE)
		p = gotrue_sync_path(f->cfg, NULL, "nss.cache");
	else if (role == GOTRUE_FLEET_ACCOUNTS)
		p = gotrue_sync_path(f->cfg, NULL, "accounts");
	else
		p = gotrue_fleet_path(f->cfg->state_dir, GOTRUE_JWKS_CACHE_FILE);
	return p;
}

/* Whether @role's installed file is the new one already. The account index is compared by the
 * sealed file's hash, which the installed manifest records. */
static bool installed_already(struct fetch *f, enum gotrue_fleet_role role)
{
	char *path = role_path(f, role);
	bool same = f->have_old && f->old.files[role].present &&
		    strcmp(f->old.files[role].sha256, f->new.files[role].sha256) == 0 &&
		    path != NULL && access(path, F_OK) == 0;

	free(path);
	return same;
}

/* Download @role's file into its temp file, checked against the manifest. */
static int download(struct fetch *f, enum gotrue_fleet_role role)
{
	const struct gotrue_fleet_file *want = &f->new.files[role];
	struct gotrue_fleet_receive *in = &f->in[role];
	struct gotrue_http_response r = {0};
	char path[GOTRUE_FLEET_SHA256_HEX + 2], *dest = role_path(f, role);
	int got, rc = -1;

	snprintf(path, sizeof(path), "/%s", want->sha256);
	if (dest == NULL ||
	    gotrue_fleet_receive_begin(in, dest, role == GOTRUE_FLEET_NSS_CACHE ? 0644 : 0600, want,
				       role == GOTRUE_FLEET_ACCOUNTS ? &f->keys : NULL) != 0) {
		gotrue_error_set(f->err, GOTRUE_ERR_INTERNAL, "cannot write beside %s",
				 dest != NULL ? dest : "the state dir");
		goto cleanup;
	}
	/* Exactly the announced size, and no byte more is read. */
	f->net.max_response = want->size > 0 ? (size_t)want->size : 1;
	gotrue_http_set_sink(f->h, gotrue_fleet_receive_data, in);
	if (gotrue_http_request(f->h, "GET", path, NULL, NULL, &r, f->err) != 0) {
		if (f->err->kind == GOTRUE_ERR_TOO_LARGE)
			rc = refuse(f, "the %s file is larger than the manifest says",
				    gotrue_fleet_role_name(role));
		goto cleanup;
	}
	if (r.status != 200) {
		gotrue_error_set(f->err, GOTRUE_ERR_TRANSPORT, "GET %s%s answered %ld",
				 f->cfg->fleet_url, path, r.status);
		goto cleanup;
	}
	got = gotrue_fleet_receive_end(in, r.body_len);
	if (got == 1 && in->bad_seal)
		rc = refuse(f, "the account index does not open with the fleet key (another "
			       "fleet's, or altered)");
	else if (got == 1)
		rc = refuse(f, "the %s file's size or SHA-256 is not the manifest's",
			    gotrue_fleet_role_name(role));
	else if (got != 0)
		gotrue_error_set(f->err, GOTRUE_ERR_INTERNAL, "cannot write %s: %s", dest,
				 strerror(-got));
	else
		rc = 0;
	f->res->downloaded += rc == 0;
cleanup:
	gotrue_http_set_sink(f->h, NULL, NULL);
	gotrue_http_response_clear(&r);
	free(dest);
	return rc;
}

static int download_all(struct fetch *f)
{
	int i, rc = -1;

	if (f->new.files[GOTRUE_FLEET_ACCOUNTS].present &&
	    !installed_already(f, GOTRUE_FLEET_ACCOUNTS) &&
	    gotrue_fleet_read_keys(f->pamh, f->cfg->fleet_key_file, &f->keys) != 0) {
		gotrue_error_set(f->err, GOTRUE_ERR_CONFIG,
				 "no usable fleet_key_file (see the log)");
		goto cleanup;
	}
	for (i = 0; i < GOTRUE_FLEET_ROLES; i++)
		if (f->new.files[i].present && !installed_already(f, (enum gotrue_fleet_role)i) &&
		    download(f, (enum gotrue_fleet_role)i) != 0)
			goto cleanup;
	rc = 0;
cleanup:
	return rc;
}

/* @role's received file into its place (or, with the role gone from the bundle, none). */
static int install_one(struct fetch *f, enum gotrue_fleet_role role)
{
	char *path = role_path(f, role);
	int r = 0, rc = -1;

	if (path == NULL)
		goto cleanup;
	if (f->in[role].pending) {
		f->in[role].pending = false;
		r = gotrue_replace_commit(&f->in[role].rep);
	} else if (!f->new.files[role].present && unlink(path) != 0 && errno != ENOENT) {
		r = -errno;
	}
	if (r != 0) {
		gotrue_log(f->pamh, LOG_ERR, "cannot install the bundle's %s: %s; path=%s",
			   gotrue_fleet_role_name(role), strerror(-r), path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(path);
	return rc;
}

/* The bookkeeping of the bundle now in force: its manifest, and the tag to ask with. */
static int install_manifest(struct fetch *f)
{
	char *mpath = gotrue_fleet_path(f->dir, "manifest"),
	     *tpath = gotrue_fleet_path(f->dir, "etag");
	const char *tag = f->resp.etag;
	int rc = -1;

	if (mpath == NULL || tpath == NULL ||
	    gotrue_replace_file(mpath, f->resp.body, f->resp.body_len, 0600) != 0)
		goto cleanup;
	/* A tag lost is only a full GET next time. */
	if (tag != NULL && gotrue_replace_file(tpath, tag, strlen(tag), 0600) != 0)
		tag = NULL;
	if (tag == NULL)
		unlink(tpath);
	rc = 0;
cleanup:
	free(mpath);
	free(tpath);
	return rc;
}

/* What a sync does once its files are in place: this host's login overlays give way to the new
 * index (bans and deletions it carries must be what PAM and NSS see; an overlay written since
 * the publisher listed the users stays), and offline verifiers it no longer backs are erased.
 * Failures are logged: the bundle stays installed. */
static void after_install(struct fetch *f)
{
	char *acct = role_path(f, GOTRUE_FLEET_ACCOUNTS),
	     *cache = role_path(f, GOTRUE_FLEET_NSS_CACHE);

	if (acct != NULL && cache != NULL) {
		gotrue_account_overlay_settle(f->pamh, acct, cache,
					      (time_t)f->new.created - LISTING_MARGIN);
		gotrue_sync_offline_sweep(f->pamh, f->cfg, acct);
	}
	free(cache);
	free(acct);
}

/* Everything in place under the sync lock: the index first, as a sync does (PAM never sees an
 * index older than the cache), the manifest last, so that a crash between leaves a host that
 * fetches the same bundle again. */
static int install(struct fetch *f)
{
	int lock = -1, rc = -1;

	if (gotrue_sync_lock(f->pamh, f->cfg, -1, &lock) != 0 ||
	    install_one(f, GOTRUE_FLEET_ACCOUNTS) != 0 ||
	    install_one(f, GOTRUE_FLEET_NSS_CACHE) != 0 || install_one(f, GOTRUE_FLEET_JWKS) != 0 ||
	    install_manifest(f) != 0) {
		gotrue_error_set(f->err, GOTRUE_ERR_INTERNAL,
				 "cannot install the bundle (see the log)");
		goto cleanup;
	}
	f->res->outcome = GOTRUE_FLEET_INSTALLED;
	gotrue_log(f->pamh, LOG_INFO, "fleet bundle installed; serial=%lld files=%u", f->new.serial,
		   f->res->downloaded);
	after_install(f);
	rc = 0;
cleanup:
	gotrue_sync_unlock(lock);
	return rc;
}

/* The bundle kept, said with its age when it is past its expiry: logins go on with it, but an
 * administrator must learn that bans no longer arrive. */
static void warn_stale(struct fetch *f)
{
	long long now = (long long)time(NULL);

	if (f->have_old && now > f->old.expires)
		gotrue_log(f->pamh, LOG_WARNING,
			   "the fleet bundle in force (serial %lld) is %lld s old and expired %lld "
			   "s ago: bans and new users no longer arrive; url=%s",
			   f->old.serial, now - f->old.created, now - f->old.expires,
			   f->cfg->fleet_url);
}

static void fetch_clear(struct fetch *f)
{
	int i;

	for (i = 0; i < GOTRUE_FLEET_ROLES; i++)
		gotrue_fleet_receive_free(&f->in[i]);
	gotrue_fleet_keys_clear(&f->keys);
	gotrue_http_response_clear(&f->resp);
	gotrue_http_free(f->h);
	free(f->old_doc);
	free(f->etag);
	free(f->dir);
}

/* The run once the manifest answered 200. */
static int take_manifest(struct fetch *f)
{
	int r = check_manifest(f), rc = -1;

	if (r == 1) {
		/* The installed one under a new tag: keep the tag, so the next GET is a 304. */
		rc = install_manifest(f);
		goto cleanup;
	}
	if (r != 0 || download_all(f) != 0 || install(f) != 0)
		goto cleanup;
	f->old = f->new;
	f->have_old = true;
	if (gotrue_fleet_enforce(f->pamh, f->cfg, &f->res->ended, &f->res->flagged) != 0)
		gotrue_log(f->pamh, LOG_WARNING,
			   "cannot check the sessions of this host against the new bundle; the "
			   "refresh pass still does");
	rc = 0;
cleanup:
	return rc;
}

/* The bundle's key set is what the module reads as its JWKS cache (jwks_cache.h), fresh for 10
 * minutes from its modification time: a fetch that found the bundle current says so, so that
 * logins verify tokens without asking the server while the publisher is heard from. */
static void keep_jwks_fresh(struct fetch *f)
{
	char *path;

	if (!f->have_old || !f->old.files[GOTRUE_FLEET_JWKS].present)
		return;
	path = role_path(f, GOTRUE_FLEET_JWKS);
	if (path != NULL && utimensat(AT_FDCWD, path, NULL, 0) != 0 && errno != ENOENT)
		gotrue_log(f->pamh, LOG_WARNING,
			   "cannot mark the bundle's key set fresh: %s; path=%s", strerror(errno),
			   path);
	free(path);
}

int gotrue_fleet_fetch(pam_handle_t *pamh, const struct gotrue_config *cfg,
		       struct gotrue_fleet_fetch_result *res, struct gotrue_error *err)
{
	struct fetch f = {.pamh = pamh, .cfg = cfg, .res = res, .err = err};
	int r, rc = -1;

	memset(res, 0, sizeof(*res));
	res->outcome = GOTRUE_FLEET_FAILED;
	gotrue_error_clear(err);
	if (setup(&f) != 0)
		goto cleanup;
	r = get_manifest(&f);
	if (r == 1) {
		res->outcome = GOTRUE_FLEET_UNCHANGED;
		rc = 0;
	} else if (r == 0 && take_manifest(&f) == 0) {
		if (res->outcome != GOTRUE_FLEET_INSTALLED)
			res->outcome = GOTRUE_FLEET_UNCHANGED;
		rc = 0;
	}
	if (rc == 0)
		keep_jwks_fresh(&f);
cleanup:
	if (rc != 0 && res->outcome == GOTRUE_FLEET_FAILED && err->kind != GOTRUE_OK)
		gotrue_log(pamh, LOG_WARNING, "fleet fetch failed: %s; url=%s", err->message,
			   cfg->fleet_url != NULL ? cfg->fleet_url : "(none)");
	warn_stale(&f);
	res->have = f.have_old;
	if (f.have_old)
		res->installed = f.old;
	fetch_clear(&f);
	return rc;
}

int gotrue_fleet_installed(pam_handle_t *pamh, const struct gotrue_config *cfg,
			   struct gotrue_fleet_manifest *m)
{
	char *dir = gotrue_fleet_path(cfg->state_dir, "fleet");
	char *path = dir != NULL ? gotrue_fleet_path(dir, "manifest") : NULL;
	int rc = path != NULL ? gotrue_fleet_read_manifest(pamh, path, m, NULL, NULL) : -1;

	free(path);
	free(dir);
	return rc;
}
