/* test_pam_offline: offline login (pam_gotrue(8), OFFLINE LOGIN) through the real libpam and the
 * emulator. Off by default. With offline_login = yes an online login keeps a yescrypt verifier
 * (root 0600 in a root 0700 directory, no password in it); with the server unreachable the same
 * password logs in offline (told, logged, a session record marked offline with no token, closed
 * without a /logout); a wrong one is refused and counted, in the verifier and in the throttle,
 * exactly, even when attempts run at once, and offline_attempts of them erase it; a server that
 * answers (a wrong password, a ban, a rate limit) keeps its answer and the verifier is not
 * consulted, a ban erasing it at once; an expired verifier, a user the last sync banned, deleted or
 * no longer admits, and a user with a second factor (unless offline_mfa = allow) are refused; a
 * password change, a sync and `gotruectl offline forget` erase verifiers; an online login with
 * another password replaces it; `gotruectl sessions list` and `offline list` show it all. The
 * verifier file itself is tests/store/test_offline's. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "accounts.h"
#include "emu.h"
#include "log.h"
#include "mfatest.h"
#include "offline.h"
#include "pamtest.h"
#include "store.h"
#include "tap.h"
#include "throttle.h"

#define PW     "Correct-Horse-9"
#define PW_NEW "Battery-Staple-7"
#define WRONG  "wrong-password-1"
#define TOLD   "Logged in offline: the authentication service cannot be reached."

enum { ALICE, BOB, CAROL, DAVE, ERIN, FRANK, GINA, HENRY, IVAN, JUDY, KATE, N_USERS };
static const char *const names[N_USERS] = {"alice", "bob",   "carol", "dave", "erin", "frank",
					   "gina",  "henry", "ivan",  "judy", "kate"};
static char *ids[N_USERS];

static struct emu *e;
static struct mt_factor gina_f;
static char *conf, dir[256], state_dir[300], passwd_path[300], group_path[300], down_url[64];
static int refused_fd = -1;

static void vpath(int u, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/%s", state_dir, GOTRUE_OFFLINE_DIR, ids[u]);
}

/* User @u's verifier: 0 read, -1 none or unreadable. */
static int verifier(int u, struct gotrue_offline_verifier *v)
{
	char path[512], buf[GOTRUE_OFFLINE_FILE_MAX + 1];
	FILE *f;
	size_t n;

	vpath(u, path, sizeof(path));
	memset(v, 0, sizeof(*v));
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return gotrue_offline_parse(buf, n, v) == 0 ? 0 : -1;
}

static bool has_verifier(int u)
{
	struct gotrue_offline_verifier v;

	return verifier(u, &v) == 0;
}

static int failures(int u)
{
	struct gotrue_offline_verifier v;

	return verifier(u, &v) == 0 ? (int)v.failures : -1;
}

/* One authenticate of @user on @service with @password; the record it left is removed. */
static int auth(const char *service, const char *user, const char *password, struct pt_conv *c)
{
	struct pt_conv local;
	const char *id;
	pam_handle_t *pamh;
	int rc;

	if (c == NULL)
		c = &local;
	memset(c, 0, sizeof(*c));
	c->answers[0] = password;
	pamh = pt_start(service, user, c);
	rc = pamh != NULL ? pam_authenticate(pamh, 0) : -1;
	id = rc == PAM_SUCCESS ? pam_getenv(pamh, "GOTRUE_SESSION_HANDLE") : NULL;
	if (id != NULL) {
		struct gotrue_store *st = gotrue_store_open(NULL, state_dir);

		gotrue_store_remove(st, id);
		gotrue_store_close(st);
	}
	pam_end(pamh, rc);
	return rc;
}

static bool logged(size_t mark, const char *what)
{
	return strstr(pt_log() + mark, what) != NULL;
}

/* An admin change of user @u through the API (service-role key). */
static int admin(int u, const char *json, bool del)
{
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_client *c = NULL;
	struct gotrue_error err = {0};
	struct gotrue_user out = {0};
	json_object *attrs = json ? json_tokener_parse(json) : NULL;
	int rc = -1;

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) == 0 &&
	    (c = gotrue_client_new(NULL, cfg)) != NULL)
		rc = del ? gotrue_admin_delete_user(c, ids[u], &err)
			 : gotrue_admin_update_user(c, ids[u], attrs, &out, &err);
	if (rc != 0)
		diag("admin call for %s: %s", names[u], err.message);
	json_object_put(attrs);
	gotrue_user_clear(&out);
	gotrue_error_clear(&err);
	gotrue_client_free(c);
	gotrue_config_free(cfg);
	return rc;
}

static int ctl(const char *args, const char *out)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "'%s' --conf '%s' %s >'%s' 2>&1",
		 getenv("GOTRUECTL") ? getenv("GOTRUECTL") : "gotruectl", conf, args, out);
	return system(cmd);
}

static bool file_has(const char *path, const char *what)
{
	char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f != NULL)
		fclose(f);
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

/* --- the cases ------------------------------------------------------------------------------- */

static void t_off_by_default(void)
{
	struct pt_conv c;
	char path[512];

	is_int(auth("plain", "bob", PW, NULL), PAM_SUCCESS, "offline_login unset: bob logs in");
	snprintf(path, sizeof(path), "%s/%s", state_dir, GOTRUE_OFFLINE_DIR);
	ok(access(path, F_OK) != 0, "... and no verifier is kept (no %s directory)", path);
	is_int(auth("down-off", "bob", PW, &c), PAM_AUTHINFO_UNAVAIL,
	       "offline_login unset, server down: PAM_AUTHINFO_UNAVAIL");
	ok(strstr(c.told, "unavailable") != NULL && strstr(c.told, "offline") == NULL,
	   "... told the service is unavailable (%s)", c.told);
	is_int(auth("down", "bob", PW, &c), PAM_AUTHINFO_UNAVAIL,
	       "offline_login = yes but bob never logged in with it: PAM_AUTHINFO_UNAVAIL");
}

static void t_verifier_kept(void)
{
	struct gotrue_offline_verifier v;
	struct stat st, ds;
	char path[512], buf[2048];
	FILE *f;
	size_t n = 0;

	is_int(auth("online", "alice", PW, NULL), PAM_SUCCESS, "offline_login = yes: alice online");
	vpath(ALICE, path, sizeof(path));
	ok(verifier(ALICE, &v) == 0, "... a verifier is kept at %s", path);
	ok(strcmp(v.user_id, ids[ALICE]) == 0 && strcmp(v.login, "alice") == 0 && !v.aal2 &&
		   v.failures == 0 && time(NULL) - v.at < 60,
	   "... for alice's user id, aal1, no failures, made now");
	ok(strncmp(v.hash, "$y$j9T$", 7) == 0,
	   "... yescrypt at pam_unix's cost 5 (\"$y$j9T$\"): %.7s", v.hash);
	ok(stat(path, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777) == 0600,
	   "... the file is 0600, owned by us (root)");
	*strrchr(path, '/') = '\0';
	ok(stat(path, &ds) == 0 && ds.st_uid == geteuid() && (ds.st_mode & 07777) == 0700,
	   "... in a 0700 directory: nobody else can read a verifier");
	vpath(ALICE, path, sizeof(path));
	f = fopen(path, "r");
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	ok(n > 0 && strstr(buf, PW) == NULL && strstr(buf, "token") == NULL,
	   "... and it holds neither the password nor a token");
}

static void t_offline_login(void)
{
	struct pt_conv c = {.answers = {PW}};
	struct gotrue_store_record rec = {0};
	struct gotrue_store *st = NULL;
	pam_handle_t *pamh;
	char id[GOTRUE_STORE_ID_LEN + 1];
	long logouts = emu_count(e, "POST /logout");
	size_t mark = pt_log_len();
	int rc;

	pamh = pt_start("down", "alice", &c);
	rc = pamh != NULL ? pam_authenticate(pamh, 0) : -1;
	is_int(rc, PAM_SUCCESS, "server down: alice logs in offline with her password");
	ok(strstr(c.told, TOLD) != NULL, "... and is told so (%s)", c.told);
	ok(logged(mark, "authenticated offline: GoTrue cannot be reached"),
	   "... and the log line says so");
	snprintf(id, sizeof(id), "%s",
		 pam_getenv(pamh, "GOTRUE_SESSION_HANDLE")
			 ? pam_getenv(pamh, "GOTRUE_SESSION_HANDLE")
			 : "");
	st = gotrue_store_open(NULL, state_dir);
	ok(st != NULL && gotrue_store_read(st, id, &rec) == 0 && rec.offline &&
		   rec.state == GOTRUE_STORE_PENDING && rec.access_token == NULL &&
		   rec.refresh_token == NULL && rec.session_id == NULL &&
		   strcmp(rec.user_id, ids[ALICE]) == 0,
	   "... its record is pending, marked offline, and holds no token");
	gotrue_store_record_clear(&rec);
	rc = pam_acct_mgmt(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (rc == PAM_SUCCESS)
		rc = pam_open_session(pamh, 0);
	is_int(rc, PAM_SUCCESS, "... account, setcred and open_session succeed");
	ok(ctl("--json sessions list", "/tmp/test-offline.out") == 0 &&
		   file_has("/tmp/test-offline.out", "\"offline\":true"),
	   "... gotruectl sessions list shows the session as offline");
	is_int(pam_close_session(pamh, 0), PAM_SUCCESS, "... close_session succeeds");
	ok(gotrue_store_read(st, id, &rec) == -ENOENT, "... and removes the record");
	is_int(emu_count(e, "POST /logout") - logouts, 0,
	       "... without a /logout: nothing to revoke");
	gotrue_store_record_clear(&rec);
	gotrue_store_close(st);
	pam_end(pamh, rc);
	unlink("/tmp/test-offline.out");
}

static int find_user(void *ctx, const struct gotrue_throttle_entry *en)
{
	int *n = ctx;

	if (en->kind == GOTRUE_THROTTLE_USER && strcmp(en->label, "alice") == 0)
		*n = (int)en->failures;
	return 0;
}

/* alice's failures in the throttle table (-1: none). */
static int throttled(void)
{
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_throttle *t = NULL;
	int n = -1;

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    gotrue_throttle_open(NULL, state_dir, GOTRUE_THROTTLE_READ, 2000, &t) == 0)
		gotrue_throttle_each(t, cfg, time(NULL), find_user, &n);
	gotrue_throttle_close(t);
	gotrue_config_free(cfg);
	return n;
}

static void t_wrong_password(void)
{
	size_t mark = pt_log_len();

	is_int(auth("down", "alice", WRONG, NULL), PAM_AUTH_ERR,
	       "server down: a wrong password is refused offline");
	is_int(failures(ALICE), 1, "... counted in the verifier");
	ok(logged(mark, "offline login: wrong password (1 of 5 attempts"), "... and logged");
	is_int(throttled(), 1, "... and in the failure throttle");
	is_int(auth("down", "alice", PW, NULL), PAM_SUCCESS, "the right one then logs in");
	is_int(failures(ALICE), 1, "... and an offline success does not reset the count");
	is_int(throttled(), -1, "... (the throttle's, as for any success, it does)");
	is_int(auth("online", "alice", PW, NULL), PAM_SUCCESS, "an online login ...");
	is_int(failures(ALICE), 0, "... makes a new verifier, without failures");
}

static void t_server_answers(void)
{
	struct gotrue_offline_verifier before, after;
	struct pt_conv c;
	size_t mark;

	is_int(auth("online", "carol", PW, NULL), PAM_SUCCESS, "carol logs in online");
	verifier(CAROL, &before);
	/* Her password changes elsewhere (the web application): the verifier still has the old. */
	admin(CAROL, "{\"password\":\"" PW_NEW "\"}", false);
	mark = pt_log_len();
	is_int(auth("online", "carol", PW, NULL), PAM_AUTH_ERR,
	       "the server says invalid credentials for the old password: PAM_AUTH_ERR");
	ok(!logged(mark, "offline"), "... the verifier, which still matches it, is not consulted");
	is_int(failures(CAROL), 0, "... nor counted in");
	emu_fault(e, "{\"path\":\"/token\",\"kind\":\"status\",\"status\":429,\"count\":-1}");
	is_int(auth("online", "carol", PW, &c), PAM_AUTHINFO_UNAVAIL,
	       "the server rate-limits (429): PAM_AUTHINFO_UNAVAIL");
	ok(strstr(c.told, "Too many login attempts") != NULL && strstr(c.told, "offline") == NULL,
	   "... told so, not logged in offline (%s)", c.told);
	emu_clear_faults(e);
	admin(CAROL, "{\"ban_duration\":\"24h\"}", false);
	is_int(auth("online", "carol", PW_NEW, NULL), PAM_PERM_DENIED,
	       "the server says banned: PAM_PERM_DENIED, not offline");
	ok(!has_verifier(CAROL), "... and her verifier is erased at once, not at the next sync");
	admin(CAROL, "{\"ban_duration\":\"none\"}", false);
	is_int(auth("online", "carol", PW_NEW, NULL), PAM_SUCCESS, "the new password online ...");
	verifier(CAROL, &after);
	ok(strcmp(before.hash, after.hash) != 0 && after.failures == 0,
	   "... replaces the verifier");
	is_int(auth("down", "carol", PW, NULL), PAM_AUTH_ERR, "... offline the old one is refused");
	is_int(auth("down", "carol", PW_NEW, NULL), PAM_SUCCESS, "... and the new one works");
}

static void t_expired(void)
{
	struct gotrue_offline_verifier v;
	size_t mark;

	ok(gotrue_offline_make(ids[IVAN], "ivan", PW, false, time(NULL) - 2 * 86400 - 60, &v) ==
			   0 &&
		   gotrue_offline_store(NULL, state_dir, &v) == 0,
	   "ivan: a verifier from an online login two days ago");
	is_int(auth("down", "ivan", PW, NULL), PAM_SUCCESS, "offline_days = 3: ivan logs in");
	mark = pt_log_len();
	is_int(auth("down-1day", "ivan", PW, NULL), PAM_AUTHINFO_UNAVAIL,
	       "offline_days = 1: expired, PAM_AUTHINFO_UNAVAIL");
	ok(logged(mark, "older than offline_days"), "... logged");
	ok(!has_verifier(IVAN), "... and the verifier is erased");
}

static void t_banned_by_sync(void)
{
	struct gotrue_offline_verifier v;
	struct pt_conv c;
	size_t mark;

	is_int(auth("online", "dave", PW, NULL), PAM_SUCCESS, "dave logs in online");
	is_int(auth("online", "erin", PW, NULL), PAM_SUCCESS, "erin logs in online");
	admin(DAVE, "{\"ban_duration\":\"24h\"}", false);
	admin(ERIN, NULL, true);
	mark = pt_log_len();
	is_int(mt_sync_files(conf, passwd_path, group_path), 0,
	       "dave is banned and erin deleted; a sync");
	ok(!has_verifier(DAVE), "... erases dave's verifier (banned)");
	ok(!has_verifier(ERIN), "... and erin's (no longer listed)");
	ok(has_verifier(ALICE), "... and keeps alice's");
	ok(logged(mark, "offline verifier erased (banned); user=dave") &&
		   logged(mark,
			  "offline verifier erased (no longer in the account index); user=erin"),
	   "... each logged");
	/* Had the verifier survived, the index the sync wrote refuses him all the same. */
	gotrue_offline_make(ids[DAVE], "dave", PW, false, time(NULL), &v);
	gotrue_offline_store(NULL, state_dir, &v);
	is_int(auth("down", "dave", PW, &c), PAM_PERM_DENIED,
	       "a verifier of a user the index lists as banned: PAM_PERM_DENIED offline");
	ok(strstr(c.told, "Your account is locked.") != NULL, "... told so");
	is_int(auth("down", "erin", PW, NULL), PAM_USER_UNKNOWN, "erin offline: unknown");
	is_int(auth("down-staff", "alice", PW, NULL), PAM_PERM_DENIED,
	       "alice offline where allow_groups = staff (she is not): PAM_PERM_DENIED");
}

static void t_exhausted(void)
{
	size_t mark;
	int i;

	is_int(auth("online", "frank", PW, NULL), PAM_SUCCESS, "frank logs in online");
	for (i = 0; i < 2; i++)
		is_int(auth("down-3", "frank", WRONG, NULL), PAM_AUTH_ERR,
		       "offline_attempts = 3: wrong password %d", i + 1);
	is_int(failures(FRANK), 2, "... 2 counted");
	mark = pt_log_len();
	is_int(auth("down-3", "frank", WRONG, NULL), PAM_AUTH_ERR, "wrong password 3");
	ok(!has_verifier(FRANK), "... the third erases the verifier");
	ok(logged(mark, "verifier erased, the next login must reach the server"), "... logged");
	is_int(auth("down-3", "frank", PW, NULL), PAM_AUTHINFO_UNAVAIL,
	       "... and then even the right password waits for the server");
	is_int(auth("online", "frank", PW, NULL), PAM_SUCCESS, "online again: a new verifier");
	is_int(failures(FRANK), 0, "... with no failures");
}

/* @kids processes at once, each one wrong offline attempt of kate. */
static int concurrent(int kids)
{
	pid_t pids[16];
	int i, status, refused = 0;

	for (i = 0; i < kids && i < 16; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(auth("down-many", "kate", WRONG, NULL) == PAM_AUTH_ERR ? 0 : 1);
	}
	for (i = 0; i < kids && i < 16; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i])
			refused += WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return refused;
}

static void t_concurrent(void)
{
	is_int(auth("online", "kate", PW, NULL), PAM_SUCCESS, "kate logs in online");
	is_int(concurrent(8), 8, "8 wrong offline attempts at once: all refused");
	is_int(failures(KATE), 8, "... and exactly 8 counted (the verifier's lock)");
}

static const char *gina_code(struct pt_conv *c, int style, const char *prompt)
{
	static char code[7];

	if (strstr(prompt, "Verification code") == NULL)
		return NULL;
	mt_totp(gina_f.secret, 0, code);
	return code;
}

static void t_second_factor(void)
{
	struct gotrue_offline_verifier v;
	struct pt_conv c = {.answers = {PW}, .ask = gina_code};
	pam_handle_t *pamh = pt_start("online", "gina", &c);
	int rc = pamh != NULL ? pam_authenticate(pamh, 0) : -1;

	pam_end(pamh, rc);
	is_int(rc, PAM_SUCCESS, "gina logs in online with password and code");
	ok(verifier(GINA, &v) == 0 && v.aal2, "... her verifier says aal2");
	is_int(auth("down", "gina", PW, &c), PAM_AUTHINFO_UNAVAIL,
	       "offline, a second factor (offline_mfa unset): PAM_AUTHINFO_UNAVAIL");
	ok(strstr(c.told, "Offline login is not possible for an account with a second factor") !=
		   NULL,
	   "... told why (%s)", c.told);
	is_int(auth("down", "gina", WRONG, NULL), PAM_AUTHINFO_UNAVAIL,
	       "... the same answer for a wrong password: the password is never tried");
	is_int(failures(GINA), 0, "... nor counted");
	memset(&c, 0, sizeof(c));
	c.answers[0] = PW;
	pamh = pt_start("down-mfa", "gina", &c);
	rc = pamh != NULL ? pam_authenticate(pamh, 0) : -1;
	pam_end(pamh, rc);
	is_int(rc, PAM_SUCCESS, "offline_mfa = allow: gina logs in offline with her password");
	is_int(c.n_prompts, 1, "... asked for the password only");
}

static int chauthtok(const char *user, const char *old, const char *new)
{
	struct pt_conv c = {.answers = {old, new, new}};
	pam_handle_t *pamh = pt_start("online", user, &c);
	int rc = pamh != NULL ? pam_chauthtok(pamh, 0) : -1;

	pam_end(pamh, rc);
	return rc;
}

static void t_forgetting(void)
{
	is_int(auth("online", "henry", PW, NULL), PAM_SUCCESS, "henry logs in online");
	ok(has_verifier(HENRY), "... a verifier");
	is_int(chauthtok("henry", PW, PW_NEW), PAM_SUCCESS, "henry changes his password");
	ok(!has_verifier(HENRY), "... which erases it");
	is_int(auth("down", "henry", PW, NULL), PAM_AUTHINFO_UNAVAIL,
	       "... the old password no longer logs in offline");
	is_int(auth("online", "henry", PW_NEW, NULL), PAM_SUCCESS, "henry online again");
	ok(ctl("--json offline list", "/tmp/test-offline.out") == 0 &&
		   file_has("/tmp/test-offline.out", "\"user\":\"henry\"") &&
		   !file_has("/tmp/test-offline.out", "$y$"),
	   "gotruectl offline list shows henry's verifier, not its hash");
	ok(ctl("offline forget henry", "/tmp/test-offline.out") == 0 && !has_verifier(HENRY) &&
		   has_verifier(ALICE),
	   "gotruectl offline forget henry erases his, and only his");
	ok(ctl("config check", "/tmp/test-offline.out") >= 0 &&
		   file_has("/tmp/test-offline.out", "offline: login off") &&
		   file_has("/tmp/test-offline.out", "verifiers,"),
	   "gotruectl config check shows the offline state");
	ok(ctl("offline forget --all", "/tmp/test-offline.out") == 0 && !has_verifier(ALICE) &&
		   !has_verifier(KATE),
	   "gotruectl offline forget --all erases every one");
	is_int(auth("down", "alice", PW, NULL), PAM_AUTHINFO_UNAVAIL,
	       "... then alice cannot log in offline");
	unlink("/tmp/test-offline.out");
}

/* --- setup ----------------------------------------------------------------------------------- */

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* A bound loopback port that does not listen: every connection is refused at once. */
static int refused_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	refused_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (refused_fd < 0 || bind(refused_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(refused_fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	snprintf(down_url, sizeof(down_url), "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	return 0;
}

/* The services: "down-*" point at a refused port (module arguments override the file). */
static void services(void)
{
	static const struct {
		const char *name, *args;
		bool down;
	} list[] = {
		{"plain", "", false},
		{"online", "offline_login=yes", false},
		{"down", "offline_login=yes", true},
		{"down-off", "", true},
		{"down-1day", "offline_login=yes offline_days=1", true},
		{"down-3", "offline_login=yes offline_attempts=3", true},
		{"down-many", "offline_login=yes offline_attempts=100", true},
		{"down-mfa", "offline_login=yes offline_mfa=allow", true},
		{"down-staff", "offline_login=yes allow_groups=staff", true},
	};
	char args[256];
	size_t i;

	for (i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
		snprintf(args, sizeof(args), "%s%s%s", list[i].args, list[i].down ? " url=" : "",
			 list[i].down ? down_url : "");
		pt_service_conf(list[i].name, conf, args);
	}
}

static int setup(void)
{
	char email[64], extra[1024];
	int i;

	snprintf(dir, sizeof(dir), "%s/offline", pt_confdir());
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
	snprintf(group_path, sizeof(group_path), "%s/group", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(state_dir, 0755) != 0 ||
	    write_text(passwd_path, "root:x:0:0:root:/root:/bin/sh\n") != 0 ||
	    write_text(group_path, "root:x:0:\n") != 0 || refused_port() != 0)
		return -1;
	/* Throttle limits out of the way of the attempts counted here (the throttle's own test is
	 * test_pam_throttle). */
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nstate_dir = %s\ntimeout = 3\n"
		 "throttle_user_failures = 50\nthrottle_host_failures = 100\n",
		 state_dir);
	conf = emu_write_config(e, extra);
	for (i = 0; conf != NULL && i < N_USERS; i++) {
		snprintf(email, sizeof(email), "%s@example.com", names[i]);
		ids[i] = emu_create_user(e, email, PW, "{\"email_confirm\":true}");
		if (ids[i] == NULL)
			return -1;
	}
	if (conf == NULL ||
	    mt_enroll(conf, "gina@example.com", PW, "gina-phone", NULL, true, &gina_f, NULL) != 0)
		return -1;
	services();
	return mt_sync_files(conf, passwd_path, group_path);
}

int main(void)
{
	static const char *const args[] = {"--mode", "current", NULL};
	int i;

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	/* What the core logs without a PAM handle (the sync) goes to syslog, and so to the capture.
	 */
	gotrue_log_init("test_pam_offline", GOTRUE_LOG_SYSLOG, false);
	e = emu_start(args);
	if (e == NULL || setup() != 0) {
		printf("Bail out! emulator or setup\n");
		return 99;
	}
	t_off_by_default();
	t_verifier_kept();
	t_offline_login();
	t_wrong_password();
	t_server_answers();
	t_expired();
	t_banned_by_sync();
	t_exhausted();
	t_concurrent();
	t_second_factor();
	t_forgetting();
	ok(strstr(pt_log(), PW) == NULL && strstr(pt_log(), PW_NEW) == NULL &&
		   strstr(pt_log(), WRONG) == NULL && strstr(pt_log(), "$y$") == NULL,
	   "no password and no verifier in %zu bytes of log", pt_log_len());
	if (getenv("TEST_VERBOSE"))
		fputs(pt_log(), stdout);
	for (i = 0; i < N_USERS; i++)
		free(ids[i]);
	free(conf);
	if (refused_fd >= 0)
		close(refused_fd);
	emu_stop(e);
	pt_cleanup();
	return done_testing();
}
