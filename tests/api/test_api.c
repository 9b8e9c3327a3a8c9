/* test_api: every GoTrue endpoint of lib/client (api*.c, ctl/) against the emulator, once per
 * server generation ("--mode v2.69", "--mode current"; tests/emulator/README.md): success paths,
 * the main errors with their normalised codes, refresh rotation, logout scopes, admin paging,
 * one-time codes read from the emulator's outbox, TOTP factors with the code computed here (RFC
 * 6238) from enrolment to unenrolment, and PKCE on mailed links (the code from the link's redirect,
 * traded with the verifier). */
#include <config.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api.h"
#include "api_ctl.h"
#include "emu.h"
#include "enrol.h"
#include "gotrue_config.h"
#include "gotrue_json.h"
#include "oauth.h"
#include "tap.h"

#define N_PAGE_USERS 7

static const char *M; /* the mode under test, prefixed to every test name */
static bool CUR;      /* current server generation */

/* An expected GoTrue error: rc -1, kind HTTP, the normalised @code. Clears @err. */
static void expect_code(int rc, struct gotrue_error *err, const char *code, const char *what)
{
	if (!ok(rc == -1 && err->kind == GOTRUE_ERR_HTTP && strcmp(err->code, code) == 0,
		"%s: %s -> %s", M, what, code))
		diag("got rc=%d kind=%d status=%ld code='%s' message='%s'", rc, (int)err->kind,
		     err->http_status, err->code, err->message);
	gotrue_error_clear(err);
}

static void expect_kind(int rc, struct gotrue_error *err, enum gotrue_error_kind kind,
			const char *what)
{
	if (!ok(rc == -1 && err->kind == kind, "%s: %s -> %s", M, what,
		gotrue_error_kind_name(kind)))
		diag("got rc=%d kind=%d code='%s' message='%s'", rc, (int)err->kind, err->code,
		     err->message);
	gotrue_error_clear(err);
}

static void expect_ok(int rc, struct gotrue_error *err, const char *what)
{
	if (!ok(rc == 0, "%s: %s", M, what))
		diag("got kind=%d status=%ld code='%s' message='%s'", (int)err->kind,
		     err->http_status, err->code, err->message);
	gotrue_error_clear(err);
}

static const char *meta_str(json_object *meta, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(meta, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static size_t discard(char *p, size_t size, size_t n, void *cls)
{
	(void)p, (void)cls;
	return size * n;
}

/* A member of the newest mail to @to in the emulator's outbox ({"to","type","token","link"} per
 * line). */
static char *outbox_field(struct emu *e, const char *to, const char *field)
{
	char *path = emu_path(e, "outbox"), *token = NULL, line[8192];
	FILE *f = path ? fopen(path, "r") : NULL;

	while (f && fgets(line, sizeof(line), f)) {
		json_object *obj = json_tokener_parse(line), *v;

		if (obj && json_object_object_get_ex(obj, "to", &v) &&
		    strcasecmp(json_object_get_string(v), to) == 0 &&
		    json_object_object_get_ex(obj, field, &v) &&
		    json_object_is_type(v, json_type_string)) {
			free(token);
			token = strdup(json_object_get_string(v));
		}
		json_object_put(obj);
	}
	if (f)
		fclose(f);
	free(path);
	return token;
}

static char *outbox_token(struct emu *e, const char *to)
{
	return outbox_field(e, to, "token");
}

/* Where a mailed link redirects (a browser opening it), without following: malloc'd or NULL. */
static char *link_location(const char *link)
{
	CURL *c = curl_easy_init();
	char *where = NULL, *loc = NULL;

	if (!c || !link)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, link);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK &&
	    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &where) == CURLE_OK && where)
		loc = strdup(where);
out:
	curl_easy_cleanup(c);
	return loc;
}

/* RFC 4648 base32 (TOTP secrets), no padding expected. Returns the byte count or -1. */
static int base32_decode(const char *s, unsigned char *out, size_t out_len)
{
	unsigned int buf = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s && *s != '='; s++) {
		const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
		const char *p = strchr(alpha, toupper((unsigned char)*s));

		if (!p)
			return -1;
		buf = (buf << 5) | (unsigned int)(p - alpha);
		bits += 5;
		if (bits >= 8) {
			if (n >= out_len)
				return -1;
			out[n++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	return (int)n;
}

/* RFC 6238 TOTP (RFC 4226 HOTP with T = now / 30), HMAC-SHA1, 6 digits. */
static void totp(const char *secret_b32, time_t now, char code[7])
{
	unsigned char key[64], msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0, off, bin;
	unsigned long long t = (unsigned long long)now / 30;
	int klen = base32_decode(secret_b32, key, sizeof(key)), i;

	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(t & 0xff);
		t >>= 8;
	}
	if (klen < 0 || !HMAC(EVP_sha1(), key, klen, msg, sizeof(msg), mac, &mac_len)) {
		strcpy(code, "xxxxxx");
		return;
	}
	off = mac[mac_len - 1] & 0x0f;
	bin = ((unsigned int)(mac[off] & 0x7f) << 24) | ((unsigned int)mac[off + 1] << 16) |
	      ((unsigned int)mac[off + 2] << 8) | mac[off + 3];
	snprintf(code, 7, "%06u", bin % 1000000);
}

/* The "aal" claim of an access token (payload only; the signature is lib/client/gotrue_jwt.c's
 * business). */
static char *jwt_claim(const char *jwt, const char *claim)
{
	const char *p = strchr(jwt, '.'), *q = p ? strchr(p + 1, '.') : NULL;
	char *b64 = NULL, *val = NULL;
	unsigned char *raw = NULL;
	size_t len, i, padded;
	json_object *obj = NULL, *v;
	int n;

	if (!p || !q)
		return NULL;
	len = (size_t)(q - p - 1);
	padded = (len + 3) / 4 * 4;
	b64 = calloc(1, padded + 1);
	raw = calloc(1, padded + 1);
	if (!b64 || !raw)
		goto out;
	for (i = 0; i < len; i++)
		b64[i] = p[1 + i] == '-' ? '+' : p[1 + i] == '_' ? '/' : p[1 + i];
	for (; i < padded; i++)
		b64[i] = '=';
	n = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)padded);
	if (n < 0)
		goto out;
	obj = json_tokener_parse((char *)raw);
	if (obj && json_object_object_get_ex(obj, claim, &v))
		val = strdup(json_object_get_string(v));
out:
	json_object_put(obj);
	free(b64);
	free(raw);
	return val;
}

/* A client whose "service-role key" is the given token (a user's): admin calls must fail with
 * not_admin. */
static struct gotrue_client *client_with_admin_token(struct emu *e, struct gotrue_config **cfgp,
						     const char *token)
{
	char *path = emu_path(e, "fake_service_role.key");
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_client *c = NULL;
	FILE *f;

	*cfgp = cfg;
	if (!path || !cfg)
		goto out;
	f = fopen(path, "w");
	if (!f)
		goto out;
	fprintf(f, "%s\n", token);
	fclose(f);
	chmod(path, 0600);
	if (gotrue_config_set(NULL, cfg, "url", emu_url(e)) != 0 ||
	    gotrue_config_set(NULL, cfg, "insecure_http_for_testing", "yes") != 0 ||
	    gotrue_config_set(NULL, cfg, "service_role_key_file", path) != 0)
		goto out;
	c = gotrue_client_new(NULL, cfg);
out:
	free(path);
	return c;
}

struct walk {
	size_t seen, progress_calls, last_seen;
	long long last_total;
	char ids[N_PAGE_USERS][37];
	size_t found;
	size_t with_account; /* email, created_at and app_metadata.groups all there */
	size_t with_listed;  /* aud and email_confirmed_at there too */
	int stop_after;
};

static int walk_each(void *ctx, const struct gotrue_user *u)
{
	struct walk *w = ctx;
	size_t i;

	w->seen++;
	for (i = 0; i < N_PAGE_USERS; i++)
		if (strcmp(w->ids[i], u->id) == 0)
			w->found++;
	if (u->email != NULL && u->created_at > 0 && u->app_metadata != NULL &&
	    json_object_object_get_ex(u->app_metadata, "groups", NULL))
		w->with_account++;
	if (u->aud != NULL && u->email_confirmed_at > 0)
		w->with_listed++;
	return w->stop_after && (int)w->seen >= w->stop_after;
}

static void walk_progress(void *ctx, size_t seen, long long total)
{
	struct walk *w = ctx;

	w->progress_calls++;
	w->last_seen = seen;
	w->last_total = total;
}

static int each_user(struct gotrue_client *c, int per_page, enum gotrue_user_members members,
		     bool progress, struct walk *w, struct gotrue_error *err)
{
	struct gotrue_user_walk walk = {.per_page = per_page,
					.members = members,
					.each = walk_each,
					.progress = progress ? walk_progress : NULL,
					.ctx = w};

	return gotrue_admin_each_user(c, &walk, err);
}

/* Runs first, on an empty server, so that the listing holds exactly our users. */
static void test_admin_paging(struct emu *e, struct gotrue_client *c)
{
	char ids[N_PAGE_USERS][37];
	struct gotrue_error err = {0};
	struct gotrue_user_page page;
	struct gotrue_user u;
	struct walk w;
	int i, rc;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < N_PAGE_USERS; i++) {
		char email[64];
		json_object *attrs = json_object_new_object();

		snprintf(email, sizeof(email), "page%d@example.com", i);
		json_object_object_add(attrs, "email", json_object_new_string(email));
		json_object_object_add(attrs, "password", json_object_new_string("page-password"));
		json_object_object_add(attrs, "email_confirm", json_object_new_boolean(1));
		json_object_object_add(attrs, "app_metadata",
				       json_tokener_parse("{\"groups\":[\"ops\"]}"));
		rc = gotrue_admin_create_user(c, attrs, &u, &err);
		if (i == 0) {
			expect_ok(rc, &err, "admin create user");
			is_str(u.email, email, "%s: created user's email", M);
			ok(u.app_metadata &&
				   json_object_object_get_ex(u.app_metadata, "groups", NULL),
			   "%s: created user's app_metadata", M);
		}
		if (rc == 0)
			snprintf(w.ids[i], sizeof(w.ids[i]), "%s", u.id);
		gotrue_user_clear(&u);
		gotrue_error_clear(&err);
		json_object_put(attrs);
	}

	rc = gotrue_admin_list_users(c, 1, 2, &page, &err);
	expect_ok(rc, &err, "list page 1 of 2");
	is_int(page.n_users, 2, "%s: page 1 has 2 users", M);
	is_int(page.total, N_PAGE_USERS, "%s: X-Total-Count", M);
	ok(page.next != NULL, "%s: page 1 has a next link", M);
	gotrue_user_page_clear(&page);
	rc = gotrue_admin_list_users(c, 4, 2, &page, &err);
	expect_ok(rc, &err, "list page 4 of 2");
	is_int(page.n_users, 1, "%s: last page has 1 user", M);
	ok(page.next == NULL, "%s: last page has no next link", M);
	gotrue_user_page_clear(&page);
	rc = gotrue_admin_list_users(c, 99, 2, &page, &err);
	expect_ok(rc, &err, "list past the end");
	is_int(page.n_users, 0, "%s: past the end: empty", M);
	gotrue_user_page_clear(&page);
	expect_kind(gotrue_admin_list_users(c, 0, 2, &page, &err), &err, GOTRUE_ERR_INTERNAL,
		    "page 0 refused locally");

	emu_reset_counts(e);
	rc = each_user(c, 2, GOTRUE_USER_MEMBERS_LISTED, true, &w, &err);
	expect_ok(rc, &err, "each_user over 7 users, per_page 2");
	is_int(w.seen, N_PAGE_USERS, "%s: each_user saw every user", M);
	is_int(w.found, N_PAGE_USERS, "%s: each created user seen exactly once", M);
	is_int(w.with_account, N_PAGE_USERS, "%s: listed members: account fields", M);
	is_int(w.with_listed, N_PAGE_USERS, "%s: listed members: aud, email_confirmed_at", M);
	is_int(w.progress_calls, 4, "%s: progress once per page", M);
	is_int(w.last_seen, N_PAGE_USERS, "%s: progress: seen", M);
	is_int(w.last_total, N_PAGE_USERS, "%s: progress: total", M);
	is_int(emu_count(e, "GET /admin/users"), 4, "%s: 4 page requests", M);

	/* The sync's members: what it maps, and nothing it does not read. */
	memcpy(ids, w.ids, sizeof(ids));
	memset(&w, 0, sizeof(w));
	memcpy(w.ids, ids, sizeof(ids));
	rc = each_user(c, 2, GOTRUE_USER_MEMBERS_ACCOUNT, false, &w, &err);
	expect_ok(rc, &err, "each_user, account members");
	is_int(w.found, N_PAGE_USERS, "%s: account members: each user once", M);
	is_int(w.with_account, N_PAGE_USERS, "%s: account members: account fields", M);
	is_int(w.with_listed, 0, "%s: account members: no aud, no email_confirmed_at", M);

	memset(&w, 0, sizeof(w));
	w.stop_after = 3;
	rc = each_user(c, 2, GOTRUE_USER_MEMBERS_ACCOUNT, false, &w, &err);
	ok(rc == -1 && w.seen == 3, "%s: each_user stops when the callback says so", M);
	gotrue_error_clear(&err);
}

static void test_admin(struct emu *e, struct gotrue_client *c, struct gotrue_client *noadmin)
{
	struct gotrue_error err = {0};
	struct gotrue_session s, old;
	struct gotrue_user u;
	struct gotrue_user_page page;
	struct gotrue_credentials cred = {.email = "bob@example.com", .password = "bob-password-1"};
	struct gotrue_config *fcfg = NULL;
	struct gotrue_client *fake = NULL;
	json_object *attrs, *v;
	char *id = emu_create_user(e, "bob@example.com", "bob-password-1", "{}");
	int rc;

	if (!ok(id != NULL, "%s: emulator created bob", M))
		return;
	rc = gotrue_admin_get_user(c, id, &u, &err);
	expect_ok(rc, &err, "admin get user");
	is_str(u.email, "bob@example.com", "%s: admin get: email", M);
	gotrue_user_clear(&u);
	expect_kind(gotrue_admin_get_user(c, "../../logout", &u, &err), &err, GOTRUE_ERR_INTERNAL,
		    "non-UUID id refused before any request");
	expect_code(gotrue_admin_get_user(c, "00000000-0000-4000-8000-000000000000", &u, &err),
		    &err, "user_not_found", "admin get unknown user");

	attrs = json_tokener_parse("{\"app_metadata\":{\"uid\":70001,\"groups\":[\"ops\"]}}");
	rc = gotrue_admin_update_user(c, id, attrs, &u, &err);
	json_object_put(attrs);
	expect_ok(rc, &err, "admin update app_metadata");
	ok(json_object_object_get_ex(u.app_metadata, "uid", &v) && json_object_get_int(v) == 70001,
	   "%s: app_metadata.uid set", M);
	gotrue_user_clear(&u);

	/* Ban: the existing refresh token and the password grant both stop working. */
	rc = gotrue_signin_password(c, &cred, &old, &err);
	expect_ok(rc, &err, "bob signs in before the ban");
	rc = gotrue_admin_ban_user(c, id, "24h", &u, &err);
	expect_ok(rc, &err, "ban 24h");
	ok(u.banned_until > time(NULL) + 23 * 3600, "%s: banned_until a day ahead", M);
	ok(gotrue_user_is_banned(&u, time(NULL)), "%s: is_banned", M);
	gotrue_user_clear(&u);
	rc = gotrue_signin_password(c, &cred, &s, &err);
	/* v2.69 hides the ban behind invalid_credentials (step 135); current servers say it. */
	expect_code(rc, &err, CUR ? "user_banned" : "invalid_credentials", "banned password grant");
	expect_code(gotrue_refresh(c, old.refresh_token, &s, &err), &err, "user_banned",
		    "banned refresh");
	/* v2.69 sends only a message here (step 139), so the status is what is compared. */
	rc = gotrue_admin_ban_user(c, id, "1d", &u, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_HTTP && err.http_status == 400,
	   "%s: ban_duration 1d is not a Go duration -> 400", M);
	gotrue_error_clear(&err);
	rc = gotrue_admin_ban_user(c, id, "none", &u, &err);
	expect_ok(rc, &err, "unban");
	is_int(u.banned_until, 0, "%s: unbanned: banned_until cleared", M);
	gotrue_user_clear(&u);
	rc = gotrue_signin_password(c, &cred, &s, &err);
	expect_ok(rc, &err, "unbanned bob signs in");

	/* A user's token in place of the service-role key. */
	fake = client_with_admin_token(e, &fcfg, s.access_token ? s.access_token : "x");
	if (ok(fake != NULL, "%s: client with a user token as admin key", M)) {
		expect_code(gotrue_admin_list_users(fake, 1, 2, &page, &err), &err, "not_admin",
			    "admin list with a user token");
		expect_code(gotrue_admin_delete_user(fake, id, &err), &err, "not_admin",
			    "admin delete with a user token");
	}
	gotrue_client_free(fake);
	gotrue_config_free(fcfg);
	expect_kind(gotrue_admin_list_users(noadmin, 1, 2, &page, &err), &err, GOTRUE_ERR_CONFIG,
		    "admin call without service_role_key_file");

	rc = gotrue_admin_delete_user(c, id, &err);
	expect_ok(rc, &err, "admin delete");
	expect_code(gotrue_admin_get_user(c, id, &u, &err), &err, "user_not_found",
		    "get after delete");
	expect_code(gotrue_admin_delete_user(c, id, &err), &err, "user_not_found", "delete again");
	gotrue_session_clear(&old);
	expect_code(gotrue_refresh(c, s.refresh_token, &old, &err), &err, "refresh_token_not_found",
		    "deleted user's refresh");
	gotrue_session_clear(&s);
	gotrue_session_clear(&old);
	free(id);
}

static void test_server(struct gotrue_client *c)
{
	struct gotrue_error err = {0};
	json_object *obj = NULL, *v;
	int rc, ma = 0, mi = 0, pa = 0;

	rc = gotrue_health(c, &obj, &err);
	expect_ok(rc, &err, "GET /health");
	if (ok(obj && json_object_object_get_ex(obj, "version", &v), "%s: health has a version",
	       M)) {
		const char *ver = json_object_get_string(v);

		diag("%s: server version %s", M, ver);
		is_int(gotrue_version_parse(ver, &ma, &mi, &pa), 0, "%s: version parses", M);
		is_int(gotrue_version_honours_logout_scope(ver), CUR,
		       "%s: honours_logout_scope matches the generation", M);
	}
	json_object_put(obj);
	obj = NULL;
	rc = gotrue_settings(c, &obj, &err);
	expect_ok(rc, &err, "GET /settings");
	ok(obj && json_object_object_get_ex(obj, "external", &v) &&
		   json_object_is_type(v, json_type_object),
	   "%s: settings lists the external providers", M);
	json_object_put(obj);
}

static void test_signup(struct gotrue_client *c)
{
	struct gotrue_error err = {0};
	struct gotrue_session s;
	struct gotrue_credentials cred = {.email = "signup@example.com", .password = "signup-pw-1"};
	struct gotrue_credentials weak = {.email = "weak@example.com", .password = "x"};
	struct gotrue_credentials both = {
		.email = "a@example.com", .phone = "+15550100", .password = "pw-123456"};
	int rc;

	rc = gotrue_signup(c, &cred, "{\"full_name\":\"Sig Nup\",\"shell\":\"/bin/zsh\"}", &s,
			   &err);
	expect_ok(rc, &err, "signup with data");
	ok(s.has_user && s.user.id, "%s: signup returns the user", M);
	ok(s.access_token && s.refresh_token, "%s: autoconfirm: signup returns a session", M);
	is_str(meta_str(s.user.user_metadata, "full_name"), "Sig Nup",
	       "%s: signup data -> user_metadata", M);
	ok(meta_str(s.user.app_metadata, "shell") == NULL,
	   "%s: signup data never reaches app_metadata", M);
	gotrue_session_clear(&s);
	expect_code(gotrue_signup(c, &cred, NULL, &s, &err), &err, "user_already_exists",
		    "signup twice");
	expect_code(gotrue_signup(c, &weak, NULL, &s, &err), &err, "weak_password",
		    "signup with a 1-char password");
	expect_kind(gotrue_signup(c, &both, NULL, &s, &err), &err, GOTRUE_ERR_INTERNAL,
		    "signup with email and phone refused locally");
	expect_kind(gotrue_signup(c, &cred, "[1]", &s, &err), &err, GOTRUE_ERR_INTERNAL,
		    "signup data that is not an object refused locally");
}

/* Rotation (a refresh token is spent once used; v2.69 steps 29-31, v2.185 steps 29-31 and
 * 194-201) from @s; @r1
 * gets the first rotation's session. */
static void test_rotation(struct emu *e, struct gotrue_client *c, const struct gotrue_session *s,
			  struct gotrue_session *r1)
{
	struct gotrue_error err = {0};
	struct gotrue_session r2 = {0}, r3 = {0};
	const char *newest;
	int rc;

	emu_reset_counts(e);
	rc = gotrue_refresh(c, s->refresh_token, r1, &err);
	expect_ok(rc, &err, "refresh");
	ok(r1->refresh_token && strcmp(r1->refresh_token, s->refresh_token) != 0,
	   "%s: refresh rotates the token", M);
	is_int(emu_count(e, "POST /token?grant_type=refresh_token"), 1, "%s: one refresh sent", M);
	newest = r1->refresh_token;
	if (CUR) {
		/* the parent of the active token answers the active token, no new one */
		rc = gotrue_refresh(c, s->refresh_token, &r2, &err);
		expect_ok(rc, &err, "the active token's parent resent");
		is_str(r2.refresh_token, r1->refresh_token, "%s: the parent gets the active token",
		       M);
		gotrue_session_clear(&r2);
		rc = gotrue_refresh(c, r1->refresh_token, &r3, &err);
		expect_ok(rc, &err, "refresh again: the first token is a grandparent now");
		newest = r3.refresh_token;
	}
	expect_code(gotrue_refresh(c, s->refresh_token, &r2, &err), &err,
		    "refresh_token_already_used", "old refresh token reused");
	is_int(emu_count(e, "refresh_reuse_revoked"), 1, "%s: emulator saw the revoking reuse", M);
	rc = gotrue_refresh(c, newest ? newest : "", &r2, &err);
	ok(rc == -1 && strcmp(err.code, "refresh_token_already_used") == 0,
	   "%s: reuse revoked the family, newest token included (%s)", M, err.code);
	gotrue_error_clear(&err);
	/* current servers check the form first: 12 characters of [a-z0-9] (v2.185 33, 203) */
	expect_code(gotrue_refresh(c, "garbage-refresh-token1", &r2, &err), &err,
		    CUR ? "validation_failed" : "refresh_token_not_found", "garbage refresh token");
	if (CUR)
		expect_code(gotrue_refresh(c, "abcdefghijkl", &r2, &err), &err,
			    "refresh_token_not_found", "well-formed unknown refresh token");
	gotrue_session_clear(&r3);
	gotrue_error_clear(&err);
}

static void test_signin_refresh_user(struct emu *e, struct gotrue_client *c)
{
	struct gotrue_error err = {0};
	struct gotrue_session s, r1, r2;
	struct gotrue_user u;
	struct gotrue_credentials cred = {.email = "alice@example.com",
					  .password = "alice-password-1"};
	struct gotrue_credentials wrong = {.email = "alice@example.com", .password = "WRONG-pw"};
	struct gotrue_credentials nobody = {.email = "nobody@example.com",
					    .password = "alice-password-1"};
	struct gotrue_credentials unconf = {.email = "unconfirmed@example.com",
					    .password = "unconf-password-1"};
	json_object *update;
	char *id = emu_create_user(e, "alice@example.com", "alice-password-1", "{}");
	char *id2 = emu_create_user(e, "unconfirmed@example.com", "unconf-password-1",
				    "{\"email_confirm\":false}");
	time_t now = time(NULL);
	int rc;

	ok(id && id2, "%s: emulator created alice and an unconfirmed user", M);
	rc = gotrue_signin_password(c, &cred, &s, &err);
	expect_ok(rc, &err, "password grant");
	is_str(s.user.id, id, "%s: session user is alice", M);
	ok(s.expires_at >= now + 60, "%s: expires_at in the future", M);
	expect_code(gotrue_signin_password(c, &wrong, &r1, &err), &err, "invalid_credentials",
		    "wrong password");
	expect_code(gotrue_signin_password(c, &nobody, &r1, &err), &err, "invalid_credentials",
		    "unknown user");
	expect_code(gotrue_signin_password(c, &unconf, &r1, &err), &err, "email_not_confirmed",
		    "unconfirmed user, right password");

	test_rotation(e, c, &s, &r1);
	expect_kind(gotrue_refresh(c, "", &r2, &err), &err, GOTRUE_ERR_INTERNAL,
		    "empty refresh token refused locally");

	/* GET/PUT /user. */
	rc = gotrue_user_get(c, r1.access_token, &u, &err);
	expect_ok(rc, &err, "GET /user");
	is_str(u.email, "alice@example.com", "%s: /user email", M);
	gotrue_user_clear(&u);
	expect_code(gotrue_user_get(c, "not.a.jwt", &u, &err), &err, "bad_jwt",
		    "GET /user garbage");
	update = json_tokener_parse("{\"data\":{\"nick\":\"al\"}}");
	rc = gotrue_user_update(c, r1.access_token, update, &u, &err);
	expect_ok(rc, &err, "PUT /user data");
	is_str(meta_str(u.user_metadata, "nick"), "al", "%s: PUT /user -> user_metadata", M);
	gotrue_user_clear(&u);
	json_object_put(update);
	update = json_tokener_parse("{\"app_metadata\":{\"groups\":[\"sudo\"]}}");
	rc = gotrue_user_update(c, r1.access_token, update, &u, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_HTTP, "%s: a user cannot set app_metadata", M);
	gotrue_error_clear(&err);
	gotrue_user_clear(&u);
	json_object_put(update);

	/* Malformed 2xx answers are protocol errors, never half-parsed sessions. */
	if (emu_fault(e, "{\"path\":\"/user\",\"method\":\"GET\",\"kind\":\"wrong_types\"}") == 0)
		expect_kind(gotrue_user_get(c, r1.access_token, &u, &err), &err,
			    GOTRUE_ERR_PROTOCOL, "/user with wrong field types");
	if (emu_fault(e, "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"wrong_types\"}") == 0)
		expect_kind(gotrue_signin_password(c, &cred, &r2, &err), &err, GOTRUE_ERR_PROTOCOL,
			    "token answer with wrong field types");
	emu_clear_faults(e);

	gotrue_session_clear(&s);
	gotrue_session_clear(&r1);
	free(id);
	free(id2);
}

/* Two sessions of one user; logout one with @scope; is the other still refreshable? */
static void logout_case(struct emu *e, struct gotrue_client *c, enum gotrue_logout_scope scope,
			const char *name, bool other_survives, bool self_survives)
{
	struct gotrue_error err = {0};
	struct gotrue_session a, b, r;
	struct gotrue_credentials cred = {.email = "carl@example.com", .password = "carl-pw-1234"};
	int rc;

	gotrue_signin_password(c, &cred, &a, &err);
	gotrue_error_clear(&err);
	gotrue_signin_password(c, &cred, &b, &err);
	gotrue_error_clear(&err);
	if (!ok(a.access_token && b.access_token, "%s: two sessions for %s", M, name))
		goto out;
	emu_reset_counts(e);
	rc = gotrue_signout(c, a.access_token, scope, &err);
	expect_ok(rc, &err, name);
	is_int(emu_count(e, "POST /logout"), 1, "%s: %s: exactly one logout request", M, name);
	rc = gotrue_refresh(c, b.refresh_token, &r, &err);
	if (other_survives)
		expect_ok(rc, &err, "the other session survives");
	else
		expect_code(rc, &err, "refresh_token_not_found", "the other session is gone");
	gotrue_session_clear(&r);
	rc = gotrue_refresh(c, a.refresh_token, &r, &err);
	if (self_survives)
		expect_ok(rc, &err, "the calling session survives");
	else
		expect_code(rc, &err, "refresh_token_not_found", "the calling session is gone");
	gotrue_session_clear(&r);
out:
	gotrue_session_clear(&a);
	gotrue_session_clear(&b);
}

static void test_logout(struct emu *e, struct gotrue_client *c)
{
	struct gotrue_error err = {0};
	struct gotrue_session a;
	struct gotrue_user u;
	struct gotrue_credentials cred = {.email = "carl@example.com", .password = "carl-pw-1234"};
	char *id = emu_create_user(e, "carl@example.com", "carl-pw-1234", "{}");
	int rc;

	ok(id != NULL, "%s: emulator created carl", M);
	/* v2.69 ignores the scope and ends every session (steps 72-73). */
	logout_case(e, c, GOTRUE_LOGOUT_LOCAL, "logout local", CUR, false);
	logout_case(e, c, GOTRUE_LOGOUT_GLOBAL, "logout global", false, false);
	logout_case(e, c, GOTRUE_LOGOUT_OTHERS, "logout others", false, CUR);

	/* After logout the JWT is still unexpired: current servers check the session, v2.69 does
	 * not. */
	rc = gotrue_signin_password(c, &cred, &a, &err);
	gotrue_error_clear(&err);
	if (rc == 0) {
		rc = gotrue_signout(c, a.access_token, GOTRUE_LOGOUT_LOCAL, &err);
		expect_ok(rc, &err, "logout before /user");
		rc = gotrue_user_get(c, a.access_token, &u, &err);
		if (CUR)
			expect_code(rc, &err, "session_not_found", "/user after logout");
		else
			expect_ok(rc, &err, "/user after logout still answers (v2.69)");
		gotrue_user_clear(&u);
	}
	gotrue_session_clear(&a);
	expect_code(gotrue_signout(c, "garbage", GOTRUE_LOGOUT_GLOBAL, &err), &err, "bad_jwt",
		    "logout with a garbage token");
	expect_kind(gotrue_signout(c, "x", (enum gotrue_logout_scope)7, &err), &err,
		    GOTRUE_ERR_INTERNAL, "unknown scope refused locally");
	free(id);
}

static void test_email_flows(struct emu *e, struct gotrue_client *c, struct gotrue_client *noadmin)
{
	struct gotrue_error err = {0};
	struct gotrue_session s;
	struct gotrue_user u;
	char *token, *id;
	int rc;

	/* /otp + /verify type=email; a wrong code does not burn the real one (step 79-80). */
	id = emu_create_user(e, "otp@example.com", "otp-password-1", "{}");
	rc = gotrue_otp(c, "otp@example.com", NULL, false, &err);
	expect_ok(rc, &err, "POST /otp");
	token = outbox_token(e, "otp@example.com");
	ok(token && strlen(token) == 6, "%s: 6-digit code in the outbox", M);
	expect_code(gotrue_verify(c, "email", "otp@example.com", NULL, "000000", &s, &err), &err,
		    "otp_expired", "verify a wrong code");
	rc = gotrue_verify(c, "email", "otp@example.com", NULL, token ? token : "x", &s, &err);
	expect_ok(rc, &err, "verify the emailed code");
	ok(s.access_token && s.has_user && id && strcmp(s.user.id, id) == 0,
	   "%s: verify returns otp's session", M);
	gotrue_session_clear(&s);
	expect_code(
		gotrue_verify(c, "email", "otp@example.com", NULL, token ? token : "x", &s, &err),
		&err, "otp_expired", "the code is single use");
	free(token);
	free(id);
	expect_code(gotrue_otp(c, "stranger@example.com", NULL, false, &err), &err, "otp_disabled",
		    "otp create_user=false for an unknown email");
	expect_kind(gotrue_otp(c, NULL, NULL, true, &err), &err, GOTRUE_ERR_INTERNAL,
		    "otp without email or phone refused locally");

	/* /magiclink + /verify type=magiclink. */
	id = emu_create_user(e, "frank@example.com", "frank-password-1", "{}");
	rc = gotrue_magiclink(c, "frank@example.com", &err);
	expect_ok(rc, &err, "POST /magiclink");
	token = outbox_token(e, "frank@example.com");
	ok(token != NULL, "%s: magic-link mail in the outbox", M);
	rc = gotrue_verify(c, "magiclink", "frank@example.com", NULL, token ? token : "x", &s,
			   &err);
	expect_ok(rc, &err, "verify the magic-link code");
	gotrue_session_clear(&s);
	free(token);
	free(id);

	/* /recover + /verify type=recovery. */
	id = emu_create_user(e, "rita@example.com", "rita-password-1", "{}");
	rc = gotrue_recover(c, "rita@example.com", &err);
	expect_ok(rc, &err, "POST /recover");
	token = outbox_token(e, "rita@example.com");
	ok(token != NULL, "%s: recovery mail in the outbox", M);
	rc = gotrue_verify(c, "recovery", "rita@example.com", NULL, token ? token : "x", &s, &err);
	expect_ok(rc, &err, "verify the recovery code");
	gotrue_session_clear(&s);
	free(token);
	free(id);

	/* /invite (service role) + /verify type=invite. */
	rc = gotrue_invite(c, "ivan@example.com", "{\"full_name\":\"Ivan\"}", &u, &err);
	expect_ok(rc, &err, "POST /invite");
	is_str(u.email, "ivan@example.com", "%s: invited user", M);
	ok(u.email_confirmed_at == 0, "%s: invited user is not confirmed yet", M);
	gotrue_user_clear(&u);
	token = outbox_token(e, "ivan@example.com");
	ok(token != NULL, "%s: invite mail in the outbox", M);
	rc = gotrue_verify(c, "invite", "ivan@example.com", NULL, token ? token : "x", &s, &err);
	expect_ok(rc, &err, "verify the invite code");
	ok(s.access_token != NULL, "%s: invite verify gives a session", M);
	gotrue_session_clear(&s);
	free(token);
	expect_kind(gotrue_invite(noadmin, "ivy@example.com", NULL, &u, &err), &err,
		    GOTRUE_ERR_CONFIG, "invite without service_role_key_file");
}

/* A TOTP code of @secret that stays valid for the next few seconds (clear of a 30-second step
 * boundary), and a wrong one. */
static void totp_pair(const char *secret, char code[7], char wrong[7])
{
	time_t now = time(NULL);

	if (now % 30 >= 27) {
		sleep((unsigned)(31 - now % 30));
		now = time(NULL);
	}
	totp(secret, now, code);
	snprintf(wrong, 7, "%06lu", (strtoul(code, NULL, 10) + 1) % 1000000);
}

static const char *enroll_member(json_object *enroll, const char *key)
{
	json_object *totp_obj, *v;

	if (strcmp(key, "id") == 0)
		return json_object_object_get_ex(enroll, "id", &v) ? json_object_get_string(v)
								   : NULL;
	return json_object_object_get_ex(enroll, "totp", &totp_obj) &&
			       json_object_object_get_ex(totp_obj, key, &v)
		       ? json_object_get_string(v)
		       : NULL;
}

/* Unenrolment: a verified factor needs an aal2 session in both generations (v2.185 step 167,
 * v2.69's UnenrollFactor), and the user lists none afterwards. */
static void test_unenroll(struct gotrue_client *c, const struct gotrue_session *aal2,
			  const char *fid)
{
	struct gotrue_credentials cred = {.email = "mfa@example.com", .password = "mfa-password-1"};
	struct gotrue_error err = {0};
	struct gotrue_session s;
	struct gotrue_user u;
	int rc;

	rc = gotrue_signin_password(c, &cred, &s, &err);
	expect_ok(rc, &err, "a new aal1 session");
	expect_code(gotrue_factor_unenroll(c, s.access_token, fid, &err), &err, "insufficient_aal",
		    "unenroll a verified factor from an aal1 session");
	gotrue_session_clear(&s);
	expect_kind(gotrue_factor_unenroll(c, aal2->access_token, "../../admin/users", &err), &err,
		    GOTRUE_ERR_INTERNAL, "unenroll with a non-UUID factor id refused locally");
	rc = gotrue_factor_unenroll(c, aal2->access_token, fid, &err);
	expect_ok(rc, &err, "unenroll from the aal2 session");
	rc = gotrue_user_get(c, aal2->access_token, &u, &err);
	expect_ok(rc, &err, "GET /user after unenrolling");
	ok(rc == 0 && u.n_factors == 0, "%s: the user lists no factor any more", M);
	gotrue_user_clear(&u);
}

static void test_factors(struct emu *e, struct gotrue_client *c)
{
	struct gotrue_error err = {0};
	struct gotrue_session s, s2;
	struct gotrue_user u;
	struct gotrue_credentials cred = {.email = "mfa@example.com", .password = "mfa-password-1"};
	json_object *enroll = NULL, *again = NULL;
	const char *fid, *secret, *uri;
	char *chal = NULL, *aal = NULL, *sid1 = NULL, *sid2 = NULL, code[7], wrong[7];
	char *id = emu_create_user(e, "mfa@example.com", "mfa-password-1", "{}");
	int rc;

	memset(&s2, 0, sizeof(s2));
	rc = gotrue_signin_password(c, &cred, &s, &err);
	expect_ok(rc, &err, "mfa user signs in");
	if (rc != 0)
		goto out;
	rc = gotrue_factor_enroll(c, s.access_token, "mfa-phone", "ACME SSH", &enroll, &err);
	expect_ok(rc, &err, "enroll TOTP");
	if (rc != 0)
		goto out;
	fid = enroll_member(enroll, "id");
	secret = enroll_member(enroll, "secret");
	uri = enroll_member(enroll, "uri");
	ok(fid && secret && uri, "%s: factor id, secret and uri", M);
	ok(uri && strncmp(uri, "otpauth://totp/ACME%20SSH:mfa@example.com?", 42) == 0,
	   "%s: the URI names the issuer asked for", M);
	/* current servers refuse a taken name; v2.69's database does, with a 500 */
	rc = gotrue_factor_enroll(c, s.access_token, "mfa-phone", NULL, &again, &err);
	if (CUR)
		expect_code(rc, &err, "mfa_factor_name_conflict", "enroll a taken friendly name");
	else if (!ok(rc == -1 && err.kind == GOTRUE_ERR_HTTP && err.http_status == 500,
		     "%s: enroll a taken friendly name -> HTTP 500", M))
		diag("got rc=%d status=%ld code='%s'", rc, err.http_status, err.code);
	gotrue_error_clear(&err);

	rc = gotrue_factor_challenge(c, s.access_token, fid, &chal, &err);
	expect_ok(rc, &err, "challenge");
	totp_pair(secret, code, wrong);
	expect_code(gotrue_factor_verify(c, s.access_token, fid, chal, wrong, &s2, &err), &err,
		    "mfa_verification_failed", "verify a wrong TOTP code");
	rc = gotrue_factor_challenge_verify(c, s.access_token, fid, code, &s2, &err);
	expect_ok(rc, &err, "challenge and verify the TOTP code");
	aal = s2.access_token ? jwt_claim(s2.access_token, "aal") : NULL;
	sid1 = jwt_claim(s.access_token, "session_id");
	sid2 = s2.access_token ? jwt_claim(s2.access_token, "session_id") : NULL;
	is_str(aal, "aal2", "%s: factor verify gives an aal2 session", M);
	ok(sid1 && sid2 && strcmp(sid1, sid2) == 0, "%s: ... for the same session id", M);

	rc = gotrue_user_get(c, s2.access_token ? s2.access_token : "x", &u, &err);
	expect_ok(rc, &err, "GET /user after enrolling");
	ok(rc == 0 && u.n_factors == 1 && strcmp(u.factors[0].status, "verified") == 0 &&
		   strcmp(u.factors[0].id, fid) == 0,
	   "%s: the user lists one verified factor", M);
	gotrue_user_clear(&u);

	free(chal);
	chal = NULL;
	expect_code(gotrue_factor_challenge(c, s.access_token,
					    "00000000-0000-4000-8000-000000000000", &chal, &err),
		    &err, "mfa_factor_not_found", "challenge an unknown factor");
	expect_kind(gotrue_factor_challenge(c, s.access_token, "x/../../admin", &chal, &err), &err,
		    GOTRUE_ERR_INTERNAL, "non-UUID factor id refused locally");
	test_unenroll(c, &s2, fid);
out:
	gotrue_error_clear(&err);
	gotrue_session_clear(&s);
	gotrue_session_clear(&s2);
	gotrue_json_put_wiped(enroll);
	gotrue_json_put_wiped(again);
	free(chal);
	free(aal);
	free(sid1);
	free(sid2);
	free(id);
}

/* The code of a PKCE link mailed to @to, as a browser opening it would see it. */
static bool pkce_code(struct emu *e, const char *to, char code[GOTRUE_AUTH_CODE_MAX + 1])
{
	char *link = outbox_field(e, to, "link"), *loc = NULL;
	bool got = false;

	if (!ok(link && strstr(link, "token=pkce_"), "%s: the link mailed to %s is a PKCE one", M,
		to))
		goto out;
	loc = link_location(link);
	got = loc && gotrue_pkce_code_parse(loc, code, GOTRUE_AUTH_CODE_MAX + 1) == 0;
	if (!ok(got, "%s: the link redirects with ?code=", M))
		diag("Location: %s", loc ? loc : "(none)");
out:
	free(link);
	free(loc);
	return got;
}

/* PKCE without a provider (both generations: v2.69.3 has it): a magic link or /otp with a
 * challenge, the code from the link's redirect, and the exchange with the verifier. */
static void test_pkce(struct emu *e, struct gotrue_client *c)
{
	struct gotrue_error err = {0};
	struct gotrue_session s;
	char verifier[129], challenge[44], other[129], other_ch[44];
	char code[GOTRUE_AUTH_CODE_MAX + 1];
	char *id = emu_create_user(e, "pk@example.com", "pk-password-1", "{}");
	int rc;

	memset(&s, 0, sizeof(s));
	ok(gotrue_pkce_pair(verifier, sizeof(verifier), challenge, sizeof(challenge)) == 0 &&
		   gotrue_pkce_pair(other, sizeof(other), other_ch, sizeof(other_ch)) == 0,
	   "%s: two PKCE pairs", M);
	rc = gotrue_magiclink_pkce(c, "pk@example.com", challenge, &err);
	expect_ok(rc, &err, "POST /magiclink with a code challenge");
	if (rc != 0 || !pkce_code(e, "pk@example.com", code))
		goto out;
	expect_code(gotrue_exchange_code(c, code, other, &s, &err), &err, "bad_code_verifier",
		    "exchange the code with another verifier");
	rc = gotrue_exchange_code(c, code, verifier, &s, &err);
	expect_ok(rc, &err, "exchange the code with its verifier");
	ok(rc == 0 && s.access_token && s.refresh_token && s.has_user && id &&
		   strcmp(s.user.id, id) == 0,
	   "%s: the exchange gives the link's user a session", M);
	gotrue_session_clear(&s);
	expect_code(gotrue_exchange_code(c, code, verifier, &s, &err), &err, "flow_state_not_found",
		    "replay the code");
	expect_kind(gotrue_exchange_code(c, code, "short", &s, &err), &err, GOTRUE_ERR_INTERNAL,
		    "a malformed verifier is refused locally");
	expect_kind(gotrue_magiclink_pkce(c, "pk@example.com", NULL, &err), &err,
		    GOTRUE_ERR_INTERNAL, "PKCE without a challenge is refused locally");

	rc = gotrue_otp_pkce(c, "pk-otp@example.com", true, other_ch, &err);
	expect_ok(rc, &err, "POST /otp with a code challenge (a new address)");
	if (rc != 0 || !pkce_code(e, "pk-otp@example.com", code))
		goto out;
	rc = gotrue_exchange_code(c, code, other, &s, &err);
	expect_ok(rc, &err, "exchange the /otp link's code");
	is_str(s.has_user ? s.user.email : NULL, "pk-otp@example.com", "%s: ... for that address",
	       M);
out:
	explicit_bzero(verifier, sizeof(verifier));
	explicit_bzero(other, sizeof(other));
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	free(id);
}

/* gotrue_pkce_code_parse: what a person pastes after opening the link. */
static void test_code_parse(void)
{
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} cases[] = {
		{"6b985088-1eb2-4aa9-9126-7c07b33fcb69", "6b985088-1eb2-4aa9-9126-7c07b33fcb69"},
		{"http://localhost:3000?code=6b985088-1eb2", "6b985088-1eb2"},
		{"http://localhost:3000/?code=abc", "abc"},
		{"https://app.example/cb?state=x&code=abc&y=1#frag", "abc"},
		{"https://app.example/cb?error_code=otp_expired&code=abc", "abc"},
		{"https://app.example/cb?xcode=abc", NULL},
		{"http://localhost:3000?error=access_denied&error_code=otp_expired", NULL},
		{"http://localhost:3000#code=abc", NULL},
		{"http://localhost:3000?code=", NULL},
		{"http://localhost:3000?code=a%20b", NULL},
		{"http://localhost:3000?code=a b", NULL},
		{"", NULL},
		{"two words", NULL},
	};
	char out[GOTRUE_AUTH_CODE_MAX + 1], small[4], long_code[GOTRUE_AUTH_CODE_MAX + 2];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = gotrue_pkce_code_parse(cases[i].in, out, sizeof(out));
		if (cases[i].want)
			ok(rc == 0 && strcmp(out, cases[i].want) == 0, "code parse: '%s' -> '%s'",
			   cases[i].in, cases[i].want);
		else
			ok(rc == -1, "code parse: '%s' refused", cases[i].in);
	}
	ok(gotrue_pkce_code_parse("abcd", small, sizeof(small)) == -1,
	   "code parse: a code that does not fit the buffer is refused");
	memset(long_code, 'a', sizeof(long_code) - 1);
	long_code[sizeof(long_code) - 1] = '\0';
	ok(gotrue_pkce_code_parse(long_code, out, sizeof(out)) == -1,
	   "code parse: a code over GOTRUE_AUTH_CODE_MAX is refused");
}

static void run_mode(const char *mode)
{
	const char *args[] = {"--mode", mode, NULL};
	struct gotrue_config *cfg = NULL, *cfg_noadmin = NULL;
	struct gotrue_client *c = NULL, *noadmin = NULL;
	struct emu *e;
	char *key = NULL;

	M = mode;
	CUR = strcmp(mode, "current") == 0;
	e = emu_start(args);
	if (!ok(e != NULL, "%s: emulator starts", M))
		return;
	cfg = gotrue_config_new();
	cfg_noadmin = gotrue_config_new();
	key = emu_path(e, "service_role.key");
	if (!ok(cfg && cfg_noadmin && key && gotrue_config_set(NULL, cfg, "url", emu_url(e)) == 0 &&
			gotrue_config_set(NULL, cfg, "insecure_http_for_testing", "yes") == 0 &&
			gotrue_config_set(NULL, cfg, "service_role_key_file", key) == 0 &&
			gotrue_config_set(NULL, cfg_noadmin, "url", emu_url(e)) == 0 &&
			gotrue_config_set(NULL, cfg_noadmin, "insecure_http_for_testing", "yes") ==
				0,
		"%s: config", M))
		goto out;
	c = gotrue_client_new(NULL, cfg);
	noadmin = gotrue_client_new(NULL, cfg_noadmin);
	if (!ok(c && noadmin, "%s: clients", M))
		goto out;

	{
		/* Fail closed: an api_key_file that cannot be read gives no client at all. */
		struct gotrue_config *bad = gotrue_config_new();
		char *missing = emu_path(e, "no-such-api.key");
		struct gotrue_client *bc = NULL;

		int set = -1;

		if (bad && missing && gotrue_config_set(NULL, bad, "url", emu_url(e)) == 0 &&
		    gotrue_config_set(NULL, bad, "insecure_http_for_testing", "yes") == 0)
			set = gotrue_config_set(NULL, bad, "api_key_file", missing);
		if (set == 0)
			bc = gotrue_client_new(NULL, bad);
		ok(set == 0 && bc == NULL, "%s: unreadable api_key_file: no client", M);
		gotrue_client_free(bc);
		gotrue_config_free(bad);
		free(missing);
	}
	test_admin_paging(e, c);
	test_server(c);
	test_signup(c);
	test_signin_refresh_user(e, c);
	test_logout(e, c);
	test_email_flows(e, c, noadmin);
	test_admin(e, c, noadmin);
	test_factors(e, c);
	test_pkce(e, c);
out:
	gotrue_client_free(c);
	gotrue_client_free(noadmin);
	gotrue_config_free(cfg);
	gotrue_config_free(cfg_noadmin);
	free(key);
	emu_stop(e);
}

int main(void)
{
	const char *bin = getenv("GOTRUE_EMULATOR");

	if (!bin || access(bin, X_OK) != 0)
		skip_all("GOTRUE_EMULATOR not set or not executable");
	test_code_parse();
	run_mode("v2.69");
	run_mode("current");
	return done_testing();
}
