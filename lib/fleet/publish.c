/* publish: the publisher's half of the fleet (fleet.h). The bundle is made from the files the
 * last sync wrote in state_dir, so what hosts install is byte for byte what the publisher's own
 * PAM and NSS read. Content files are written under their hash with link(2) (never changed once
 * there, so a web server or a CDN may cache them for ever); the manifest is replaced by rename(2)
 * last, so a host never sees a manifest whose files are not there yet. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet.h"
#include "fleet_io.h"
#include "gotrue_json.h"
#include "http.h"
#include "log.h"
#include "secure.h"
#include "sync_write.h"

#define SIGNING_KEY_MAX (16 * 1024)

struct publish {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg;
	const char *dir;
	struct gotrue_fleet_manifest prev; /* the manifest published before, if any */
	bool have_prev;
	struct gotrue_fleet_keys keys;
	struct gotrue_error *err;
};

/* @data as the content file of @f in the directory. */
static int put_content(struct publish *p, const void *data, size_t len, struct gotrue_fleet_file *f)
{
	char *path = NULL;
	int r, rc = -1;

	gotrue_fleet_sha256_hex(data, len, f->sha256);
	f->size = (long long)len;
	f->present = true;
	path = gotrue_fleet_path(p->dir, f->sha256);
	if (path == NULL) {
		gotrue_error_set(p->err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	/* Named by its hash: a file already there holds these very bytes. */
	r = gotrue_create_file(path, data, len, 0644);
	if (r != 0 && r != -EEXIST) {
		gotrue_error_set(p->err, GOTRUE_ERR_INTERNAL, "cannot write %s: %s", path,
				 strerror(-r));
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(path);
	return rc;
}

/* Whether the sealed index the previous manifest names opens to @plain: sealing again would
 * make new bytes (a fresh nonce) out of the same index, and every host would download it. */
static bool same_index(struct publish *p, const unsigned char *plain, size_t len)
{
	const struct gotrue_fleet_file *f = &p->prev.files[GOTRUE_FLEET_ACCOUNTS];
	char *path = NULL, *sealed = NULL;
	unsigned char *old = NULL;
	size_t n = 0, old_len = 0;
	bool same = false;

	if (!p->have_prev || (path = gotrue_fleet_path(p->dir, f->sha256)) == NULL ||
	    gotrue_read_file(p->pamh, path, GOTRUE_FILE_CONFIG, (size_t)f->size, &sealed, &n) != 0)
		goto cleanup;
	if (gotrue_fleet_open(&p->keys, (unsigned char *)sealed, n, &old, &old_len) == 0)
		same = old_len == len && memcmp(old, plain, len) == 0;
cleanup:
	if (old != NULL)
		gotrue_wipe_free(old, old_len + 1);
	free(sealed);
	free(path);
	return same;
}

static int put_accounts(struct publish *p, const unsigned char *plain, size_t len,
			struct gotrue_fleet_file *f)
{
	unsigned char *sealed = NULL;
	size_t n = 0;
	int rc = -1;

	if (same_index(p, plain, len)) {
		*f = p->prev.files[GOTRUE_FLEET_ACCOUNTS];
		rc = 0;
	} else if (gotrue_fleet_seal(p->keys.key[0], plain, len, &sealed, &n) != 0) {
		gotrue_error_set(p->err, GOTRUE_ERR_INTERNAL, "cannot seal the account index");
	} else {
		rc = put_content(p, sealed, n, f);
	}
	free(sealed);
	return rc;
}

/* The server's key set when it holds a public key: hosts then verify tokens without asking.
 * An HS256-only server's set is empty (or holds no key a host could use), and is left out. */
static bool asymmetric_jwks(json_object *doc)
{
	json_object *keys = NULL;
	const char *kty;
	size_t i, n;
	bool found = false;

	if (!json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array))
		return false;
	n = json_object_array_length(keys);
	for (i = 0; i < n && !found; i++) {
		kty = gotrue_json_get_str(json_object_array_get_idx(keys, i), "kty");
		found = kty != NULL && strcmp(kty, "oct") != 0;
	}
	return found;
}

static int put_jwks(struct publish *p, struct gotrue_fleet_file *f)
{
	struct gotrue_http *h = gotrue_http_new(p->pamh, p->cfg);
	struct gotrue_http_response r = {0};
	struct gotrue_error e = {0};
	json_object *doc = NULL;
	int rc = 0;

	if (h == NULL ||
	    gotrue_http_request(h, "GET", "/.well-known/jwks.json", NULL, NULL, &r, &e) != 0 ||
	    r.status != 200) {
		gotrue_log(p->pamh, LOG_WARNING,
			   "the bundle goes without the server's JWKS, which cannot be read (%s)",
			   e.message[0] != '\0' ? e.message : "no 200 answer");
		goto cleanup;
	}
	doc = gotrue_json_parse_object(r.body, r.body_len, r.body_len);
	if (doc != NULL && asymmetric_jwks(doc))
		rc = put_content(p, r.body, r.body_len, f);
cleanup:
	json_object_put(doc);
	gotrue_http_response_clear(&r);
	gotrue_error_clear(&e);
	gotrue_http_free(h);
	return rc;
}

/* A state file of the last sync into the bundle as @role. */
static int put_state_file(struct publish *p, enum gotrue_fleet_role role,
			  struct gotrue_fleet_file *f)
{
	bool secret = role == GOTRUE_FLEET_ACCOUNTS;
	char *path = gotrue_sync_path(p->cfg, NULL, secret ? "accounts" : "nss.cache");
	char *data = NULL;
	size_t len = 0;
	int rc = -1;

	if (path == NULL ||
	    gotrue_read_file(p->pamh, path, secret ? GOTRUE_FILE_SECRET : GOTRUE_FILE_CONFIG,
			     (size_t)GOTRUE_FLEET_FILE_MAX, &data, &len) != 0) {
		gotrue_error_set(p->err, GOTRUE_ERR_INTERNAL,
				 "cannot read %s, which the sync wrote (see the log)",
				 path != NULL ? path : "the state file");
		goto cleanup;
	}
	if (secret)
		rc = put_accounts(p, (unsigned char *)data, len, f);
	else
		rc = put_content(p, data, len, f);
cleanup:
	if (data != NULL)
		gotrue_wipe_free(data, len + 1);
	free(path);
	return rc;
}

/* The signed manifest document of @m in *@doc (free()). */
static int signed_doc(struct publish *p, const struct gotrue_fleet_manifest *m, char **doc,
		      size_t *len)
{
	char *pem = NULL, *line = NULL, sig[96];
	size_t pem_len = 0, line_len = 0;
	int rc = -1;

	*doc = NULL;
	if (p->cfg->fleet_signing_key_file == NULL ||
	    gotrue_read_file(p->pamh, p->cfg->fleet_signing_key_file, GOTRUE_FILE_SECRET,
			     SIGNING_KEY_MAX, &pem, &pem_len) != 0) {
		gotrue_error_set(p->err, GOTRUE_ERR_CONFIG,
				 "no usable fleet_signing_key_file (see the log)");
		goto cleanup;
	}
	if (gotrue_fleet_manifest_format(m, &line, &line_len) != 0 ||
	    gotrue_fleet_sign(pem, line, line_len, sig) != 0 ||
	    asprintf(doc, "%s%s\n", line, sig) < 0) {
		*doc = NULL;
		gotrue_error_set(p->err, GOTRUE_ERR_CONFIG,
				 "cannot sign the manifest: fleet_signing_key_file %s holds no "
				 "Ed25519 private key",
				 p->cfg->fleet_signing_key_file);
		goto cleanup;
	}
	*len = strlen(*doc);
	rc = 0;
cleanup:
	if (pem != NULL)
		gotrue_wipe_free(pem, pem_len + 1);
	free(line);
	return rc;
}

static bool named_by(const struct gotrue_fleet_manifest *m, const char *name)
{
	int i;

	for (i = 0; i < GOTRUE_FLEET_ROLES; i++)
		if (m->files[i].present && strcmp(m->files[i].sha256, name) == 0)
			return true;
	return false;
}

static bool is_content_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == GOTRUE_FLEET_SHA256_HEX;
}

/* Remove the content files neither @m nor the previous manifest names, once they are older
 * than the grace period. Only names of 64 hex digits are ever touched. */
static unsigned int prune(struct publish *p, const struct gotrue_fleet_manifest *m)
{
	DIR *d = opendir(p->dir);
	struct dirent *e;
	struct stat st;
	unsigned int removed = 0;
	time_t now = time(NULL);

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (!is_content_name(e->d_name) || named_by(m, e->d_name) ||
		    (p->have_prev && named_by(&p->prev, e->d_name)) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    now - st.st_mtime < GOTRUE_FLEET_GRACE)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	if (d != NULL)
		closedir(d);
	return removed;
}

/* Whether @m holds the previous manifest's very files while that one is young enough to stand:
 * then nothing is written and every host's conditional GET stays a 304. */
static bool keep_prev(const struct publish *p, const struct gotrue_fleet_manifest *m, time_t now)
{
	int i;

	if (!p->have_prev || now - p->prev.created >= p->cfg->fleet_max_age / 2 ||
	    now < p->prev.created)
		return false;
	for (i = 0; i < GOTRUE_FLEET_ROLES; i++)
		if (m->files[i].present != p->prev.files[i].present ||
		    (m->files[i].present &&
		     strcmp(m->files[i].sha256, p->prev.files[i].sha256) != 0))
			return false;
	return true;
}

/* Web servers derive the manifest's entity tag from its modification time in seconds and its
 * size (nginx: "%lx-%lx"): a manifest written in the second of the last one and of its size
 * would keep its tag, and every host's conditional GET would answer 304 to a ban. So the new
 * manifest's time is always past the last one's. */
static void advance_mtime(struct publish *p, const char *path, time_t old)
{
	struct timespec t[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = old + 1}};
	struct stat st;

	if (old == 0 || stat(path, &st) != 0 || st.st_mtime > old)
		return;
	if (utimensat(AT_FDCWD, path, t, 0) != 0)
		gotrue_log(p->pamh, LOG_WARNING,
			   "cannot move the manifest's time past the last one's: hosts behind a "
			   "server that tags by time may not see it until the next; path=%s",
			   path);
}

static int publish_manifest(struct publish *p, struct gotrue_fleet_manifest *m)
{
	char *doc = NULL, *path = gotrue_fleet_path(p->dir, "manifest");
	size_t len = 0;
	time_t now = time(NULL);
	struct stat old;
	int r, rc = -1;

	/* Above the last serial, and at least the time: a publisher whose directory was lost
	 * still publishes serials its hosts take. */
	m->serial = p->have_prev && p->prev.serial >= (long long)now ? p->prev.serial + 1
								     : (long long)now;
	m->created = now;
	m->expires = now + p->cfg->fleet_max_age;
	if (path == NULL || signed_doc(p, m, &doc, &len) != 0)
		goto cleanup;
	if (stat(path, &old) != 0)
		old.st_mtime = 0;
	r = gotrue_replace_file(path, doc, len, 0644);
	if (r != 0) {
		gotrue_error_set(p->err, GOTRUE_ERR_INTERNAL, "cannot write %s: %s", path,
				 strerror(-r));
		goto cleanup;
	}
	advance_mtime(p, path, old.st_mtime);
	rc = 0;
cleanup:
	free(doc);
	free(path);
	return rc;
}

int gotrue_fleet_publish(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *dir,
			 struct gotrue_fleet_publish_result *res, struct gotrue_error *err)
{
	struct publish p = {
		.pamh = pamh, .cfg = cfg, .dir = dir ? dir : cfg->publish_dir, .err = err};
	struct gotrue_fleet_manifest *m = &res->manifest;
	char *prev_path = NULL;
	int fd = -1, rc = -1, r;

	memset(res, 0, sizeof(*res));
	gotrue_error_clear(err);
	if (p.dir == NULL || p.dir[0] != '/') {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "no publish_dir (an absolute path)");
		goto cleanup;
	}
	/* Served to anyone: root's, not writable by others, and readable by the web server. */
	fd = gotrue_open_dir(pamh, p.dir, 0755, true);
	if (fd < 0 || gotrue_fleet_read_keys(pamh, cfg->fleet_key_file, &p.keys) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "cannot publish into %s (see the log)",
				 p.dir);
		goto cleanup;
	}
	prev_path = gotrue_fleet_path(p.dir, "manifest");
	r = prev_path != NULL ? gotrue_fleet_read_manifest(pamh, prev_path, &p.prev, NULL, NULL)
			      : -1;
	p.have_prev = r == 0;
	if (r < 0)
		gotrue_log(pamh, LOG_WARNING,
			   "the last manifest cannot be read; a new one follows "
			   "it by time; dir=%s",
			   p.dir);
	if (put_state_file(&p, GOTRUE_FLEET_NSS_CACHE, &m->files[GOTRUE_FLEET_NSS_CACHE]) != 0 ||
	    put_state_file(&p, GOTRUE_FLEET_ACCOUNTS, &m->files[GOTRUE_FLEET_ACCOUNTS]) != 0 ||
	    put_jwks(&p, &m->files[GOTRUE_FLEET_JWKS]) != 0)
		goto cleanup;
	res->jwks = m->files[GOTRUE_FLEET_JWKS].present;
	if (keep_prev(&p, m, time(NULL)))
		*m = p.prev;
	else if (publish_manifest(&p, m) != 0)
		goto cleanup;
	else
		res->changed = true;
	res->removed = prune(&p, m);
	rc = 0;
cleanup:
	gotrue_fleet_keys_clear(&p.keys);
	if (fd >= 0)
		close(fd);
	free(prev_path);
	return rc;
}
