/* test_identity: who a login is and what it may do come only from what GoTrue signed, and names
 * and uids stay with the account that holds them. End to end through the real libpam, the built
 * pam_gotrue.so and the emulator, whose "user" fault plays a man in the middle that passes the
 * user's genuine token through and rewrites the unsigned user object of the /token answer:
 * - groups rewritten into allow_groups: PAM_AUTH_ERR, LOG_ALERT, no session record, and the user
 *   not added to the account index;
 * - app_metadata.uid rewritten to another account's, with an older created_at: refused, the index
 *   and the cache byte for byte as they were (the other account stays);
 *   created_at alone, which the token does not carry: the login stands, and the entry keeps its
 *   created_at;
 * - a body naming another user's id: refused;
 * - a whole answer made up around a genuine token (the "status" fault), for a login name that
 *   has no GoTrue account: refused.
 * Names, through sync and then a login: an unconfirmed jdoe@ never takes jdoe from the account an
 * administrator named jdoe (app_metadata.username), and an older account whose address becomes
 * bob@ never takes bob from the account that holds it. tests/directory/test_idmap.c and
 * tests/sync/test_sync.c hold the same rules in every order; tests/unit/test_user.c the
 * field-by-field comparison. */
#define _GNU_SOURCE
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include <security/pam_appl.h>

#include "accounts.h"
#include "api.h"
#include "emu.h"
#include "http.h"
#include "pamtest.h"
#include "sync.h"
#include "tap.h"

#define ALICE_PW  "Identity-Alice-3kP9"
#define BOB_PW	  "Identity-Bob-7wQ2"
#define CAROL_PW  "Identity-Carol-5tR8"
#define JOHN_PW	  "Identity-John-2mV6"
#define JDOE_PW	  "Identity-Jdoe-8nB4"
#define CAROL_UID 1879050000

static char state_dir[512], acct_path[600], cache_path[600];

struct env {
	struct emu *e;
	char *conf;
	struct gotrue_config *cfg; /* with the service-role key, for sync and the admin API */
	struct gotrue_client *admin;
};

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	unsigned char *buf = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = calloc(1, (size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static void remove_state(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
	if (system(cmd) != 0)
		diag("cannot remove %s", state_dir);
}

static int setup(struct env *v, const char *extra_conf)
{
	/* A server configured with an issuer, so that jwt_iss is checked too. */
	static const char *const args[] = {"--mode", "current", "--jwt-issuer",
					   "https://auth.test.example/auth/v1", NULL};
	char extra[2048];

	memset(v, 0, sizeof(*v));
	remove_state();
	if (mkdir(state_dir, 0700) != 0)
		return -1;
	v->e = emu_start(args);
	if (v->e == NULL)
		return -1;
	snprintf(extra, sizeof(extra),
		 "allow_all_users = no\nallow_groups = admins\nstate_dir = %s\ntimeout = 3\n"
		 "jwt_iss = %s\n%s",
		 state_dir, args[3], extra_conf);
	v->conf = emu_write_config(v->e, extra);
	v->cfg = gotrue_config_new();
	if (v->conf == NULL || v->cfg == NULL ||
	    gotrue_config_load_file(NULL, v->cfg, v->conf, false) != 0 ||
	    gotrue_config_load_secret(NULL, v->cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0)
		return -1;
	v->admin = gotrue_client_new(NULL, v->cfg);
	if (v->admin == NULL)
		return -1;
	snprintf(acct_path, sizeof(acct_path), "%s/accounts", state_dir);
	snprintf(cache_path, sizeof(cache_path), "%s/nss.cache", state_dir);
	return 0;
}

static void teardown(struct env *v)
{
	gotrue_client_free(v->admin);
	gotrue_config_free(v->cfg);
	emu_stop(v->e);
	free(v->conf);
	memset(v, 0, sizeof(*v));
	remove_state();
}

static void service(const struct env *v, const char *name)
{
	char args[1024];

	snprintf(args, sizeof(args), "conf=%s", v->conf);
	if (pt_service(name, args) != 0)
		diag("cannot write service %s", name);
}

static int sync_now(const struct env *v)
{
	struct gotrue_sync_summary sum;
	struct gotrue_error err = {0};
	int rc = gotrue_sync_run(NULL, v->cfg, NULL, &sum, &err);

	if (rc != 0)
		diag("sync: %s", err.message);
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	return rc;
}

static void confirm(const struct env *v, const char *id)
{
	json_object *attrs = json_tokener_parse("{\"email_confirm\":true}");
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};

	if (gotrue_admin_update_user(v->admin, id, attrs, &u, &err) != 0)
		diag("confirm %s: %s", id, err.message);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	json_object_put(attrs);
}

static void fault(const struct env *v, const char *spec)
{
	if (emu_fault(v->e, spec) != 0)
		diag("cannot add the fault %s", spec);
}

/* The /token answer's user object gets @user_json merged in; the genuine token stays. */
static void rewrite_user(const struct env *v, const char *user_json)
{
	char spec[2048];

	snprintf(spec, sizeof(spec),
		 "{\"path\":\"/token\",\"method\":\"POST\",\"kind\":\"user\",\"user\":%s}",
		 user_json);
	fault(v, spec);
}

/* What an attack must leave behind: no session record, and the index and the cache as they were.
 */
struct mark {
	int alerts, records;
	size_t log;
	unsigned char *acct, *cache;
	size_t acct_len, cache_len;
};

static void mark_take(struct mark *m)
{
	m->alerts = pt_log_alerts();
	m->records = pt_store_count(state_dir);
	m->log = pt_log_len();
	m->acct = slurp(acct_path, &m->acct_len);
	m->cache = slurp(cache_path, &m->cache_len);
}

static bool files_unchanged(const struct mark *m)
{
	size_t al, cl;
	unsigned char *a = slurp(acct_path, &al), *c = slurp(cache_path, &cl);
	bool same = a && c && m->acct && m->cache && al == m->acct_len && cl == m->cache_len &&
		    !memcmp(a, m->acct, al) && !memcmp(c, m->cache, cl);

	free(a);
	free(c);
	return same;
}

static void mark_free(struct mark *m)
{
	free(m->acct);
	free(m->cache);
	memset(m, 0, sizeof(*m));
}

/* One login through a rewriting middleman: refused as an attack, nothing kept or written. */
static void refused(const struct env *v, const char *what, const char *login, const char *password)
{
	struct mark m;
	int rc;

	mark_take(&m);
	rc = pt_auth("id", login, password, NULL);
	is_int(rc, PAM_AUTH_ERR, "%s: PAM_AUTH_ERR", what);
	ok(pt_log_alerts() > m.alerts && strstr(pt_log() + m.log, "possible attack") != NULL,
	   "%s: logged at LOG_ALERT as a possible attack", what);
	is_int(pt_store_count(state_dir), m.records, "%s: no session record", what);
	ok(files_unchanged(&m), "%s: the account index and the cache unchanged", what);
	emu_clear_faults(v->e);
	mark_free(&m);
}

static char *user_id(const char *name)
{
	struct gotrue_account a;
	char *id = NULL;

	if (gotrue_accounts_lookup(NULL, acct_path, name, &a) == 0 && a.user_id != NULL)
		id = strdup(a.user_id);
	gotrue_account_clear(&a);
	return id;
}

static char *real_token(const struct env *v, const char *email, const char *password)
{
	struct gotrue_credentials cred = {.email = email, .password = password};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	char *tok = NULL;

	if (gotrue_signin_password(v->admin, &cred, &s, &err) == 0 && s.access_token != NULL)
		tok = strdup(s.access_token);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return tok;
}

/* A 200 /token answer made up around @token: a user object naming @id, with @app. */
static void forged_answer(const struct env *v, const char *token, const char *id, const char *app)
{
	json_object *spec = json_object_new_object(), *body = json_object_new_object(), *u;

	u = json_tokener_parse("{\"aud\":\"authenticated\",\"role\":\"authenticated\","
			       "\"email\":\"alice@example.com\",\"email_confirmed_at\":"
			       "\"2026-01-01T00:00:00Z\",\"phone\":\"\",\"user_metadata\":{},"
			       "\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":"
			       "\"2026-01-01T00:00:00Z\"}");
	json_object_object_add(u, "id", json_object_new_string(id));
	json_object_object_add(u, "app_metadata", json_tokener_parse(app));
	json_object_object_add(body, "access_token", json_object_new_string(token));
	json_object_object_add(body, "token_type", json_object_new_string("bearer"));
	json_object_object_add(body, "expires_in", json_object_new_int(3600));
	json_object_object_add(body, "refresh_token",
			       json_object_new_string("forgedrefreshtoken0000"));
	json_object_object_add(body, "user", u);
	json_object_object_add(spec, "path", json_object_new_string("/token"));
	json_object_object_add(spec, "kind", json_object_new_string("status"));
	json_object_object_add(spec, "status", json_object_new_int(200));
	json_object_object_add(spec, "body",
			       json_object_new_string(json_object_to_json_string_ext(
				       body, JSON_C_TO_STRING_PLAIN)));
	fault(v, json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN));
	json_object_put(spec);
	json_object_put(body);
}

/* created_at is not in the token: a login may go on, but never changes it. */
static void created_at_alone(const struct env *v)
{
	struct gotrue_account before = {0}, after = {0};
	struct mark m;
	int rc;

	gotrue_accounts_lookup(NULL, acct_path, "bob", &before);
	rewrite_user(v, "{\"created_at\":\"2000-01-01T00:00:00Z\"}");
	mark_take(&m);
	rc = pt_auth("id", "bob", BOB_PW, NULL);
	is_int(rc, PAM_SUCCESS, "created_at alone rewritten: the login stands");
	ok(gotrue_accounts_lookup(NULL, acct_path, "bob", &after) == 0 &&
		   after.created_at == before.created_at && after.created_at > 946684800 &&
		   files_unchanged(&m),
	   "created_at alone rewritten: the index and the cache unchanged");
	mark_free(&m);
	gotrue_account_clear(&before);
	gotrue_account_clear(&after);
	emu_clear_faults(v->e);
}

/* ---- what GoTrue signed decides ------------------------------------------------------------ */
static void test_rewritten(void)
{
	struct env v;
	struct gotrue_account before = {0}, after = {0};
	char *alice = NULL, *bob = NULL, *carol = NULL, *tok = NULL, app[512];

	if (setup(&v, "email_domains = example.com\nemail_fallback = yes\n") != 0) {
		ok(0, "rewritten: emulator, config, service-role key");
		teardown(&v);
		return;
	}
	service(&v, "id");
	alice = emu_create_user(
		v.e, "alice@example.com", ALICE_PW,
		"{\"email_confirm\":true,\"app_metadata\":{\"groups\":[\"staff\"]}}");
	bob = emu_create_user(v.e, "bob@example.com", BOB_PW,
			      "{\"email_confirm\":true,\"app_metadata\":{\"username\":\"bob\","
			      "\"groups\":[\"admins\"]}}");
	snprintf(app, sizeof(app),
		 "{\"email_confirm\":true,\"app_metadata\":{\"username\":\"carol\",\"uid\":%d,"
		 "\"groups\":[\"admins\"]}}",
		 CAROL_UID);
	carol = emu_create_user(v.e, "carol@example.com", CAROL_PW, app);
	ok(alice && bob && carol && sync_now(&v) == 0,
	   "alice (staff, not admitted), bob and carol (admins) synced");
	is_int(pt_auth("id", "bob", BOB_PW, NULL), PAM_SUCCESS, "control: bob logs in");
	is_int(pt_auth("id", "alice", ALICE_PW, NULL), PAM_PERM_DENIED,
	       "control: alice is outside allow_groups");

	/* The finding: alice's groups rewritten into allow_groups got her in. */
	rewrite_user(&v, "{\"app_metadata\":{\"provider\":\"email\",\"providers\":[\"email\"],"
			 "\"groups\":[\"admins\"]}}");
	refused(&v, "groups rewritten to admins", "alice", ALICE_PW);
	ok(gotrue_accounts_lookup(NULL, acct_path, "alice", &before) == 1,
	   "groups rewritten: alice is still not in the account index");

	/* bob given carol's uid and an older created_at: carol was pushed out of the index. */
	snprintf(app, sizeof(app),
		 "{\"app_metadata\":{\"provider\":\"email\",\"providers\":[\"email\"],"
		 "\"username\":\"bob\",\"groups\":[\"admins\"],\"uid\":%d},"
		 "\"created_at\":\"2000-01-01T00:00:00Z\"}",
		 CAROL_UID);
	rewrite_user(&v, app);
	refused(&v, "uid (carol's) and created_at rewritten", "bob", BOB_PW);
	ok(gotrue_accounts_lookup(NULL, acct_path, "carol", &after) == 0 && after.uid == CAROL_UID,
	   "uid rewritten: carol keeps her entry and uid");
	gotrue_account_clear(&after);

	created_at_alone(&v);

	/* The answer's user is another account, while the token is bob's. */
	snprintf(app, sizeof(app), "{\"id\":\"%s\"}", carol ? carol : "");
	rewrite_user(&v, app);
	refused(&v, "a body naming carol's id", "bob", BOB_PW);

	/* An answer made up around alice's genuine token, for a name GoTrue does not know. */
	tok = real_token(&v, "alice@example.com", ALICE_PW);
	ok(tok != NULL, "a genuine token of alice's");
	forged_answer(&v, tok ? tok : "", alice ? alice : "",
		      "{\"provider\":\"email\",\"providers\":[\"email\"],\"username\":\"ghost\","
		      "\"groups\":[\"admins\"]}");
	refused(&v, "a made-up answer for ghost around alice's token", "ghost", "whatever-1");
	ok(user_id("ghost") == NULL, "ghost: not in the account index");

	free(alice);
	free(bob);
	free(carol);
	free(tok);
	teardown(&v);
}

/* ---- names stay with their rightful holder -------------------------------------------------- */
static void test_names(void)
{
	struct env v;
	char *jdoe_mail = NULL, *carol = NULL, *john = NULL, *bob = NULL, *held;

	if (setup(&v, "email_domains = example.com, example.org\n") != 0) {
		ok(0, "names: emulator, config, service-role key");
		teardown(&v);
		return;
	}
	service(&v, "id");
	/* Oldest first, a second apart (created_at counts whole seconds): each newcomer below is
	 * older than the account it must not displace. */
	jdoe_mail = emu_create_user(
		v.e, "jdoe@example.com", JDOE_PW,
		"{\"email_confirm\":false,\"app_metadata\":{\"groups\":[\"admins\"]}}");
	carol = emu_create_user(
		v.e, "bob@example.com", CAROL_PW,
		"{\"email_confirm\":false,\"app_metadata\":{\"groups\":[\"admins\"]}}");
	sleep(1);
	john = emu_create_user(v.e, "john@other.org", JOHN_PW,
			       "{\"email_confirm\":true,\"app_metadata\":{\"username\":\"jdoe\","
			       "\"groups\":[\"admins\"]}}");
	bob = emu_create_user(
		v.e, "bob@example.org", BOB_PW,
		"{\"email_confirm\":true,\"app_metadata\":{\"groups\":[\"admins\"]}}");
	ok(jdoe_mail && carol && john && bob && sync_now(&v) == 0,
	   "names: an unconfirmed jdoe@ and bob@example.com, then john (username jdoe) and "
	   "bob@example.org, synced");
	held = user_id("jdoe");
	ok(held && john && !strcmp(held, john), "jdoe is john's, not the unconfirmed jdoe@'s");
	free(held);
	held = user_id("bob");
	ok(held && bob && !strcmp(held, bob), "bob is bob@example.org's");
	free(held);
	is_int(pt_auth("id", "jdoe", JOHN_PW, NULL), PAM_SUCCESS, "john logs in as jdoe");

	/* Both addresses confirmed: the older accounts now want jdoe and bob. */
	confirm(&v, jdoe_mail);
	confirm(&v, carol);
	ok(sync_now(&v) == 0, "names: synced again, both addresses confirmed");
	is_int(pt_auth("id", "jdoe", JOHN_PW, NULL), PAM_SUCCESS,
	       "jdoe is still john's: app_metadata.username beats a name from an email");
	is_int(pt_auth("id", "jdoe", JDOE_PW, NULL), PAM_AUTH_ERR,
	       "jdoe@example.com's password does not log in as jdoe");
	is_int(pt_auth("id", "bob", BOB_PW, NULL), PAM_SUCCESS,
	       "bob is still bob@example.org's: the holder keeps it");
	is_int(pt_auth("id", "bob", CAROL_PW, NULL), PAM_AUTH_ERR,
	       "the older account whose address became bob@example.com does not log in as bob");

	free(jdoe_mail);
	free(carol);
	free(john);
	free(bob);
	teardown(&v);
}

int main(void)
{
#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	/* As test_attacks does: the module's libcurl allocator first. */
	if (gotrue_http_global_init() != 0)
		skip_all("libcurl cannot be initialised");
	snprintf(state_dir, sizeof(state_dir), "%s/state", pt_confdir());
	test_rewritten();
	test_names();
	if (getenv("TEST_VERBOSE"))
		fputs(pt_log(), stdout);
	pt_cleanup();
	return done_testing();
}
