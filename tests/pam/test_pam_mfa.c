/* test_pam_mfa: the second factor and sign-in codes by email, through the real libpam and the
 * emulator, against both server generations (--mode v2.69 and --mode current): the factor is
 * enforced and only the aal2 session is stored; a wrong, foreign, expired or replayed code, and a
 * code prompt answered with the password, are refused; mfa = required; unverified factors; a
 * choice between several; the password change; the account index's mark (sync and login) and a
 * stripped answer; an answer whose token is not aal2; emailed codes; nothing secret in syslog.
 * TOTP codes are computed here from each enrolment's secret (RFC 6238), at the prompt. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <security/pam_appl.h>

#include "accounts.h"
#include "emu.h"
#include "gotrue_jwt.h"
#include "mfatest.h"
#include "mfa_replay.h"
#include "pamtest.h"
#include "store.h"
#include "sync.h"
#include "tap.h"

#define PW	"Correct-Horse-9"
#define PW_NEW	"Battery-Staple-7"
#define SECRETS 64

/* One server generation's world. */
static struct emu *e;
static const char *mode;
static char *conf, dir[256], state_dir[300], passwd_path[300], group_path[300];
static struct mt_factor carol_f, dave_f, frank_f1, frank_f2, gina_f, erin_f, ivan_f;
/* Everything secret this run typed or received, looked for in the log at the end. */
static char secrets[SECRETS][64];
static int n_secrets;

static void remember(const char *s)
{
	if (n_secrets < SECRETS && s != NULL && *s != '\0')
		snprintf(secrets[n_secrets++], sizeof(secrets[0]), "%s", s);
}

/* What the conversation answers at a code prompt. */
struct answer {
	const struct mt_factor *f; /* its current code at "Verification code" */
	long offset;		   /* steps from now */
	const char *fixed;	   /* or this, verbatim */
	const char *email;	   /* or the last code the outbox has for this address */
	const char *menu;	   /* the answer to "Choose one", or with @pick: */
	const char *pick;	   /* the factor of this name, wherever the menu lists it */
	/* The menu's factors by name: the chosen one's code is given (@f set to it). */
	const char *names[2];
	const struct mt_factor *fs[2];
	char used[16];	/* out: the last code given */
	char chose[12]; /* out: the menu answer given */
};

/* The number the menu @prompt gives the factor named @name ("  N) name (...)"), or the default
 * ("[N]") for NULL; its name into @chosen. */
static int menu_number(const char *prompt, const char *name, char *chosen, size_t len)
{
	const char *p = strstr(prompt, "Choose one ["), *l;
	int want = p ? atoi(p + 12) : 0, n = 0;

	for (l = strstr(prompt, ") "); l != NULL; l = strstr(l + 2, ") ")) {
		n++;
		if ((name != NULL && strncmp(l + 2, name, strlen(name)) == 0) ||
		    (name == NULL && n == want)) {
			snprintf(chosen, len, "%.*s", (int)strcspn(l + 2, " "), l + 2);
			return n;
		}
	}
	return 0;
}

static const char *choose_from_menu(struct answer *a, const char *prompt)
{
	char chosen[64] = "";
	int n = menu_number(prompt, a->pick, chosen, sizeof(chosen)), i;

	for (i = 0; i < 2; i++) {
		if (a->names[i] != NULL && strncmp(chosen, a->names[i], strlen(a->names[i])) == 0)
			a->f = a->fs[i];
	}
	if (a->menu != NULL)
		return a->menu;
	snprintf(a->chose, sizeof(a->chose), "%d", n);
	return a->pick != NULL ? a->chose : "";
}

static char *last_email_code(const char *email)
{
	static char code[16];
	char *path = emu_path(e, "outbox"), line[2048], needle[400];
	FILE *f = path ? fopen(path, "r") : NULL;
	const char *p;

	code[0] = '\0';
	snprintf(needle, sizeof(needle), "\"to\":\"%s\"", email);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, needle) != NULL && (p = strstr(line, "\"token\":\"")) != NULL)
			snprintf(code, 7, "%s", p + 9);
	}
	if (f != NULL)
		fclose(f);
	free(path);
	return code;
}

static const char *ask(struct pt_conv *c, int style, const char *prompt)
{
	struct answer *a = c->data;

	if (a == NULL)
		return NULL;
	if (strstr(prompt, "Choose one") != NULL)
		return choose_from_menu(a, prompt);
	if (strstr(prompt, "Code from the email") != NULL && a->email != NULL) {
		snprintf(a->used, sizeof(a->used), "%s", last_email_code(a->email));
		remember(a->used);
		return a->used;
	}
	if (strstr(prompt, "Verification code") == NULL)
		return NULL;
	if (a->fixed != NULL)
		return a->fixed;
	if (a->f == NULL)
		return NULL;
	mt_totp(a->f->secret, a->offset, a->used);
	remember(a->used);
	return a->used;
}

/* The replay file holds the codes this host sent: most cases start without it. */
static void forget_codes(void)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", state_dir, GOTRUE_MFA_REPLAY_FILE);
	unlink(path);
}

/* What an authenticate left: its result, and the stored record's aal and amr. */
struct result {
	int rc;
	char aal[8];
	bool amr_totp, amr_otp;
	int records; /* pending records it left (removed again) */
};

static void read_record(pam_handle_t *pamh, struct result *r)
{
	const char *id = pam_getenv(pamh, "GOTRUE_SESSION_HANDLE");
	struct gotrue_store *st = gotrue_store_open(NULL, state_dir);
	struct gotrue_store_record rec = {0};
	json_object *hdr = NULL, *cl = NULL, *v;
	const char *amr;

	if (st != NULL && id != NULL && gotrue_store_read(st, id, &rec) == 0 &&
	    gotrue_jwt_peek_unverified(rec.access_token, &hdr, &cl) == 0) {
		if (json_object_object_get_ex(cl, "aal", &v))
			snprintf(r->aal, sizeof(r->aal), "%s", json_object_get_string(v));
		amr = json_object_object_get_ex(cl, "amr", &v) ? json_object_get_string(v) : "";
		r->amr_totp = strstr(amr, "\"totp\"") != NULL;
		r->amr_otp = strstr(amr, "\"otp\"") != NULL;
		remember(rec.access_token);
		remember(rec.refresh_token);
	}
	r->records = pt_store_count(state_dir);
	if (st != NULL && id != NULL)
		gotrue_store_remove(st, id);
	json_object_put(hdr);
	json_object_put(cl);
	gotrue_store_record_clear(&rec);
	gotrue_store_close(st);
}

/* pam_authenticate for @user on @service: @password first, then what @a says. */
static struct result auth(const char *service, const char *user, const char *password,
			  struct answer *a, struct pt_conv *c)
{
	struct result r = {0};
	pam_handle_t *pamh;

	memset(c, 0, sizeof(*c));
	c->answers[0] = password;
	c->ask = ask;
	c->data = a;
	remember(password);
	pamh = pt_start(service, user, c);
	r.rc = pamh ? pam_authenticate(pamh, 0) : -1;
	if (r.rc == PAM_SUCCESS)
		read_record(pamh, &r);
	else
		r.records = pt_store_count(state_dir);
	pam_end(pamh, r.rc);
	return r;
}

/* The account index entry of @name, as PAM reads it. */
static bool marked(const char *name)
{
	struct gotrue_account a = {0};
	char path[400];
	bool m;

	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	m = gotrue_accounts_lookup(NULL, path, name, &a) == 0 && a.mfa;
	gotrue_account_clear(&a);
	return m;
}

static int count_mark(void *ctx, struct gotrue_account *a)
{
	(void)a;
	(*(long *)ctx)++;
	return 0;
}

/* How many accounts the index marks as having a second factor. */
static long n_marked(void)
{
	char path[400];
	long n = 0;

	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	return gotrue_accounts_each_mfa(NULL, path, count_mark, &n) == 0 ? n : -1;
}

/* The first line of @s, for a test's description. */
static const char *line1(const char *s)
{
	static char l[256];

	snprintf(l, sizeof(l), "%.*s", (int)strcspn(s, "\n"), s);
	return l;
}

static long count(const char *what)
{
	return emu_count(e, what);
}

static void path_of(char *out, size_t len, const struct mt_factor *f, const char *action)
{
	snprintf(out, len, "/factors/%s/%s", f->id, action);
}

static int setup(void)
{
	static const char *users[] = {"alice", "carol", "dave", "erin", "frank", "gina",
				      "hank",  "ivan",	"judy", "kim",	"luke",	 NULL};
	char email[64], extra[1024], *aal2 = NULL, *id;
	FILE *f;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/%s", pt_confdir(), mode);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
	snprintf(group_path, sizeof(group_path), "%s/group", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(state_dir, 0755) != 0)
		return -1;
	f = fopen(passwd_path, "w");
	if (f != NULL)
		fputs("root:x:0:0:root:/root:/bin/sh\n", f);
	if (f == NULL || fclose(f) != 0)
		return -1;
	f = fopen(group_path, "w");
	if (f != NULL)
		fputs("root:x:0:\n", f);
	if (f == NULL || fclose(f) != 0)
		return -1;
	snprintf(extra, sizeof(extra), "email_domains = example.com\nstate_dir = %s\ntimeout = 3\n",
		 state_dir);
	conf = emu_write_config(e, extra);
	if (conf == NULL)
		return -1;
	for (i = 0; users[i] != NULL; i++) {
		snprintf(email, sizeof(email), "%s@example.com", users[i]);
		id = emu_create_user(e, email, PW, "{\"email_confirm\":true}");
		if (id == NULL)
			return -1;
		free(id);
	}
	if (mt_enroll(conf, "carol@example.com", PW, "carol-phone", NULL, true, &carol_f, NULL) ||
	    mt_enroll(conf, "dave@example.com", PW, "dave-phone", NULL, true, &dave_f, NULL) ||
	    mt_enroll(conf, "erin@example.com", PW, "erin-phone", NULL, false, &erin_f, NULL) ||
	    mt_enroll(conf, "frank@example.com", PW, "phone-app", NULL, true, &frank_f1, &aal2) ||
	    mt_enroll(conf, "frank@example.com", PW, "backup\x1b[31m", aal2, true, &frank_f2,
		      NULL) ||
	    mt_enroll(conf, "gina@example.com", PW, "gina-phone", NULL, true, &gina_f, NULL) ||
	    mt_enroll(conf, "ivan@example.com", PW, "ivan-phone", NULL, true, &ivan_f, NULL)) {
		free(aal2);
		return -1;
	}
	free(aal2);
	pt_service_conf("mfa", conf, "");
	pt_service_conf("required", conf, "mfa=required");
	pt_service_conf("email", conf, "login=email_code");
	pt_service_conf("either", conf, "login=password_or_email_code");
	return mt_sync_files(conf, passwd_path, group_path);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	return size * n;
}

/* DELETE /admin/users/{id}/factors/{factor} with the service-role key: the factor is gone. */
static int admin_unenroll(const char *user_id, const struct mt_factor *f)
{
	char url[512], auth_h[2048], key[1500] = "", *path = emu_path(e, "service_role.key");
	struct curl_slist *h = NULL;
	FILE *kf = path ? fopen(path, "r") : NULL;
	long status = 0;
	CURL *c = curl_easy_init();

	if (kf != NULL) {
		if (fgets(key, sizeof(key), kf) == NULL)
			key[0] = '\0';
		fclose(kf);
	}
	key[strcspn(key, "\n")] = '\0';
	free(path);
	snprintf(url, sizeof(url), "%s/admin/users/%s/factors/%s", emu_url(e), user_id, f->id);
	snprintf(auth_h, sizeof(auth_h), "Authorization: Bearer %s", key);
	h = curl_slist_append(h, auth_h);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status == 200 ? 0 : -1;
}

/* An aal1 access token of @email (a sign-in of the test's own). */
static char *aal1_token(const char *email)
{
	struct gotrue_credentials cred = {.email = email, .password = PW};
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_client *c = NULL;
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	char *t = NULL;

	if (cfg != NULL && gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    (c = gotrue_client_new(NULL, cfg)) != NULL &&
	    gotrue_signin_password(c, &cred, &s, &err) == 0)
		t = strdup(s.access_token);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	gotrue_client_free(c);
	gotrue_config_free(cfg);
	return t;
}

/* --- the cases ---------------------------------------------------------------------------- */

static void t_enforced(void)
{
	struct answer a = {.f = &carol_f}, none = {0}, as_pw = {.fixed = PW};
	long verifies = count("POST /factors/{id}/verify"), challenges;
	struct pt_conv c;
	struct result r;

	forget_codes();
	r = auth("mfa", "carol", PW, &a, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: password and code: PAM_SUCCESS", mode);
	is_str(r.aal, "aal2", "%s: the stored session is aal2", mode);
	ok(r.amr_totp, "%s: and its amr names totp", mode);
	ok(strstr(c.prompts, "Verification code") != NULL, "%s: the code was asked for", mode);
	is_int(count("POST /factors/{id}/verify"), verifies + 1, "%s: one verify", mode);

	challenges = count("POST /factors/{id}/challenge");
	r = auth("mfa", "carol", PW, &none, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: the password alone: PAM_AUTH_ERR", mode);
	is_int(r.records, 0, "%s: the password alone: no session stored", mode);
	ok(strstr(pt_log(), "cannot ask for the second-factor code") != NULL,
	   "%s: the password alone: logged", mode);
	r = auth("mfa", "carol", PW, &as_pw, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: the code prompt answered with the password: refused", mode);
	ok(strstr(pt_log(), "answered with the password") != NULL,
	   "%s: ... and logged plainly (sshd PasswordAuthentication)", mode);
	is_int(count("POST /factors/{id}/challenge"), challenges,
	       "%s: neither sent a challenge or a code", mode);
}

static void t_refused_codes(void)
{
	struct answer foreign = {.f = &dave_f}, expired = {.f = &carol_f, .offset = -3};
	struct answer wrong = {.fixed = NULL}, good = {.f = &carol_f}, replay = {0};
	char code[7], bad[12];
	long verifies, logouts;
	struct pt_conv c;
	struct result r;

	mt_totp(carol_f.secret, 0, code);
	snprintf(bad, sizeof(bad), "%06d", (atoi(code) + 1) % 1000000);
	wrong.fixed = bad;
	forget_codes();
	logouts = count("POST /logout");
	r = auth("mfa", "carol", PW, &wrong, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: a wrong code: PAM_AUTH_ERR", mode);
	is_int(r.records, 0, "%s: a wrong code: no session stored", mode);
	/* v2.69 ends every session of the user on /logout: its aal1 session is left to expire. */
	is_int(count("POST /logout") - logouts, strcmp(mode, "current") == 0 ? 1 : 0,
	       "%s: a wrong code: the aal1 session %s", mode,
	       strcmp(mode, "current") == 0 ? "is signed out (scope=local)" : "is not signed out");
	r = auth("mfa", "carol", PW, &foreign, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: the code of another user's factor: PAM_AUTH_ERR", mode);
	r = auth("mfa", "carol", PW, &expired, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: an expired code (90 s old): PAM_AUTH_ERR", mode);

	forget_codes();
	r = auth("mfa", "carol", PW, &good, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: replay: the first use of a code succeeds", mode);
	/* The code just accepted: the server would take it again (v2.185 step 164c). */
	replay.fixed = good.used;
	verifies = count("POST /factors/{id}/verify");
	r = auth("mfa", "carol", PW, &replay, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: replay: the same code again: PAM_AUTH_ERR", mode);
	ok(strstr(c.told, "used already") != NULL, "%s: replay: the user is told (%s)", mode,
	   line1(c.told));
	is_int(count("POST /factors/{id}/verify"), verifies,
	       "%s: replay: the code was not sent again", mode);
}

static void t_policy(void)
{
	struct answer none = {0}, a = {.f = &carol_f};
	struct pt_conv c;
	struct result r;

	r = auth("mfa", "alice", PW, &none, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: no factor, mfa = enrolled: the password alone", mode);
	is_str(r.aal, "aal1", "%s: ... an aal1 session", mode);
	is_int(c.n_prompts, 1, "%s: ... and no code asked for", mode);
	r = auth("required", "alice", PW, &none, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: no factor, mfa = required: PAM_AUTH_ERR", mode);
	ok(strstr(c.told, "requires a second factor") != NULL &&
		   strchr(c.told, '\n') == c.told + strlen(c.told) - 1,
	   "%s: ... with a one-line message", mode);
	is_int(r.records, 0, "%s: ... and nothing stored", mode);
	forget_codes();
	r = auth("required", "carol", PW, &a, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: a factor, mfa = required: password and code", mode);
	is_str(r.aal, "aal2", "%s: ... aal2", mode);
	r = auth("mfa", "erin", PW, &none, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: an unverified factor is ignored: the password alone", mode);
	is_int(c.n_prompts, 1, "%s: ... no code asked for", mode);
	r = auth("required", "erin", PW, &none, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: an unverified factor, mfa = required: refused", mode);
}

static void t_several(void)
{
	struct answer second = {.pick = "phone-app",
				.names = {"phone-app", "backup"},
				.fs = {&frank_f1, &frank_f2}};
	struct answer enter = {.names = {"phone-app", "backup"}, .fs = {&frank_f1, &frank_f2}};
	struct answer nosuch = {.f = &frank_f1, .menu = "3"};
	struct pt_conv c;
	struct result r;

	forget_codes();
	r = auth("mfa", "frank", PW, &second, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: several factors: one chosen by number, its code", mode);
	is_str(r.aal, "aal2", "%s: ... aal2", mode);
	ok(strstr(c.prompts, ") phone-app (authenticator app)") != NULL &&
		   strstr(c.prompts, "Choose one [") != NULL,
	   "%s: ... the menu lists them", mode);
	ok(strchr(c.prompts, '\x1b') == NULL && strstr(c.prompts, "backup?[31m") != NULL,
	   "%s: ... a factor's name reaches the terminal without its escape sequence", mode);
	forget_codes();
	r = auth("mfa", "frank", PW, &enter, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: several factors: Enter takes the first TOTP listed", mode);
	r = auth("mfa", "frank", PW, &nosuch, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: several factors: no such choice: refused", mode);
	ok(strstr(c.told, "No such second factor") != NULL, "%s: ... and told", mode);
}

/* pam_chauthtok with @code_answer at the code prompt. */
static int chauthtok(const char *user, const char *old, const char *new, struct answer *a)
{
	struct pt_conv c = {0};
	pam_handle_t *pamh;
	int rc;

	c.answers[0] = old;
	c.answers[1] = new;
	c.answers[2] = new;
	c.ask = ask;
	c.data = a;
	remember(new);
	pamh = pt_start("mfa", user, &c);
	rc = pamh ? pam_chauthtok(pamh, 0) : -1;
	pam_end(pamh, rc);
	return rc;
}

static void t_password_change(void)
{
	struct answer nocode = {.fixed = "no-code"}, a = {.f = &gina_f};
	struct pt_conv c;
	struct result r;

	forget_codes();
	ok(chauthtok("gina", PW, PW_NEW, &nocode) != PAM_SUCCESS,
	   "%s: password change without the code: refused", mode);
	r = auth("mfa", "gina", PW, &a, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: ... the old password still logs in", mode);
	forget_codes();
	is_int(chauthtok("gina", PW, PW_NEW, &a), PAM_SUCCESS,
	       "%s: password change with the code: PAM_SUCCESS", mode);
	forget_codes();
	r = auth("mfa", "gina", PW_NEW, &a, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: ... the new password and a code log in", mode);
	is_str(r.aal, "aal2", "%s: ... aal2", mode);
	r = auth("mfa", "gina", PW, &a, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: ... the old one no longer does", mode);
}

static void t_index(void)
{
	struct answer a = {.f = &carol_f};
	struct gotrue_account acct = {0};
	struct mt_factor judy_f;
	char *judy_id = NULL, fault[512], path[128];
	struct pt_conv c;
	struct result r;
	long gets, marks;

	ok(marked("carol") && marked("frank") && !marked("alice") && !marked("erin"),
	   "%s: sync marked the users with a verified factor in the account index", mode);
	/* A middleman strips the factors from the /token answer: the index still asks. */
	forget_codes();
	gets = count("GET /user");
	emu_fault(e, "{\"path\":\"/token\",\"kind\":\"user\",\"user\":{\"factors\":null}}");
	r = auth("mfa", "carol", PW, &a, &c);
	emu_clear_faults(e);
	is_int(r.rc, PAM_SUCCESS, "%s: factors stripped from the answer: still asked, then in",
	       mode);
	ok(strstr(c.prompts, "Verification code") != NULL && strcmp(r.aal, "aal2") == 0,
	   "%s: ... the code was asked for and the session is aal2", mode);
	is_int(count("GET /user") - gets, 1, "%s: ... the factors were listed by GET /user", mode);

	/* A factor enrolled after the sync: the login that uses it marks the index. */
	if (!ok(mt_enroll(conf, "judy@example.com", PW, "judy-phone", NULL, true, &judy_f, NULL) ==
			0,
		"%s: judy enrols a factor after the sync", mode))
		return;
	ok(!marked("judy"), "%s: ... not marked yet", mode);
	forget_codes();
	a.f = &judy_f;
	r = auth("mfa", "judy", PW, &a, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: judy logs in with her code", mode);
	ok(marked("judy"), "%s: ... and the login marked the index", mode);
	/* The factor is removed: the listing shows none, the mark is asked about. */
	snprintf(fault, sizeof(fault), "%s/accounts", state_dir);
	if (gotrue_accounts_lookup(NULL, fault, "judy", &acct) == 0)
		judy_id = strdup(acct.user_id);
	gotrue_account_clear(&acct);
	if (!ok(judy_id != NULL && admin_unenroll(judy_id, &judy_f) == 0,
		"%s: an administrator removes judy's factor", mode)) {
		free(judy_id);
		return;
	}
	snprintf(path, sizeof(path), "/admin/users/%s/factors", judy_id);
	snprintf(fault, sizeof(fault),
		 "{\"path\":\"%s\",\"kind\":\"status\",\"status\":500,\"count\":-1}", path);
	emu_fault(e, fault);
	is_int(mt_sync_files(conf, passwd_path, group_path), 0,
	       "%s: a sync that cannot ask about the mark succeeds", mode);
	emu_clear_faults(e);
	ok(marked("judy"), "%s: ... and keeps the mark (never dropped on a guess)", mode);
	gets = count("GET /admin/users/{id}/factors");
	marks = n_marked();
	is_int(mt_sync_files(conf, passwd_path, group_path), 0, "%s: the next sync", mode);
	ok(!marked("judy") && marked("carol"), "%s: ... asks, and removes judy's mark only", mode);
	/* GoTrue's listing carries no factors: every mark is asked about, once. */
	ok(marks > 1 && count("GET /admin/users/{id}/factors") - gets == marks,
	   "%s: ... with one GET /admin/users/{id}/factors per marked user (%ld)", mode, marks);
	free(judy_id);
}

static void t_attack_aal1(void)
{
	struct answer a = {.f = &carol_f};
	char *tok = aal1_token("carol@example.com"), fault[4096], path[128];
	int alerts = pt_log_alerts();
	struct pt_conv c;
	struct result r;

	/* The verify answer carries a genuine aal1 token of the same user: its body may say what
	 * it likes, the token says aal1. */
	path_of(path, sizeof(path), &carol_f, "verify");
	snprintf(fault, sizeof(fault), "{\"path\":\"%s\",\"kind\":\"token\",\"token\":\"%s\"}",
		 path, tok ? tok : "");
	remember(tok);
	forget_codes();
	emu_fault(e, fault);
	r = auth("mfa", "carol", PW, &a, &c);
	emu_clear_faults(e);
	is_int(r.rc, PAM_AUTH_ERR, "%s: a verify answer whose token is aal1: PAM_AUTH_ERR", mode);
	is_int(r.records, 0, "%s: ... nothing stored", mode);
	ok(pt_log_alerts() > alerts && strstr(pt_log(), "not this sign-in stepped up (not aal2)"),
	   "%s: ... logged at LOG_ALERT", mode);
	free(tok);
}

static void t_email(void)
{
	struct answer hank = {.email = "hank@example.com"}, kim = {.fixed = NULL};
	struct answer ivan = {.email = "ivan@example.com", .f = &ivan_f},
		      luke = {.email = "luke@example.com"};
	long otps = count("POST /otp");
	struct pt_conv c;
	struct result r;

	r = auth("email", "hank", NULL, &hank, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: a code by email logs in", mode);
	ok(strstr(c.told, "sent to h***@example.com") != NULL, "%s: ... the address masked (%s)",
	   mode, line1(c.told));
	ok(r.amr_otp && strcmp(r.aal, "aal1") == 0, "%s: ... an aal1 session, amr otp", mode);
	is_int(count("POST /otp") - otps, 1, "%s: ... one POST /otp", mode);
	r = auth("email", "hank", NULL, &hank, &c);
	is_int(r.rc, PAM_AUTHINFO_UNAVAIL, "%s: a second code at once: the server's rate limit",
	       mode);
	ok(strstr(c.told, "try again later") != NULL, "%s: ... told to try again later", mode);
	kim.fixed = "000000";
	r = auth("email", "kim", NULL, &kim, &c);
	is_int(r.rc, PAM_AUTH_ERR, "%s: a wrong emailed code: PAM_AUTH_ERR", mode);
	forget_codes();
	r = auth("email", "ivan", NULL, &ivan, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: an emailed code, then the second factor", mode);
	ok(strcmp(r.aal, "aal2") == 0 && r.amr_totp, "%s: ... aal2, amr totp", mode);
	otps = count("POST /otp");
	r = auth("email", "nobody", NULL, &hank, &c);
	is_int(r.rc, PAM_USER_UNKNOWN, "%s: an unknown name: PAM_USER_UNKNOWN", mode);
	is_int(count("POST /otp"), otps, "%s: ... and no code is sent for it", mode);
	r = auth("either", "alice", PW, NULL, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: password_or_email_code: a password logs in", mode);
	ok(strstr(c.prompts, "Enter for a code by email") != NULL, "%s: ... the prompt says so",
	   mode);
	r = auth("either", "luke", "", &luke, &c);
	is_int(r.rc, PAM_SUCCESS, "%s: password_or_email_code: Enter, then the emailed code", mode);
	is_int(count("POST /otp") - otps, 1, "%s: ... one code sent", mode);
}

/* @s appears in the log as a word of its own (a 6-digit code inside a longer number is not it). */
static bool in_log(const char *s)
{
	const char *log = pt_log(), *p;
	size_t n = strlen(s);

	for (p = strstr(log, s); p != NULL; p = strstr(p + 1, s)) {
		bool digits = s[0] >= '0' && s[0] <= '9';

		if (!digits ||
		    ((p == log || p[-1] < '0' || p[-1] > '9') && (p[n] < '0' || p[n] > '9')))
			return true;
	}
	return false;
}

static void t_log(void)
{
	int i, leaked = 0;

	for (i = 0; i < n_secrets; i++) {
		if (in_log(secrets[i])) {
			diag("in the log: secret #%d", i);
			leaked++;
		}
	}
	ok(n_secrets > 10 && leaked == 0,
	   "%s: none of %d passwords, codes and tokens reached syslog", mode, n_secrets);
}

static void run(const char *m)
{
	const char *const args[] = {"--mode", m, NULL};

	mode = m;
	n_secrets = 0;
	e = emu_start(args);
	if (e == NULL || setup() != 0) {
		ok(0, "%s: emulator, users, factors and the first sync", m);
		emu_stop(e);
		return;
	}
	t_enforced();
	t_refused_codes();
	t_policy();
	t_several();
	t_password_change();
	t_index();
	t_attack_aal1();
	t_email();
	t_log();
	emu_stop(e);
	free(conf);
	conf = NULL;
}

int main(void)
{
#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	if (getenv("GOTRUE_EMULATOR") == NULL || access(getenv("GOTRUE_EMULATOR"), X_OK) != 0)
		skip_all("no emulator");
	pt_log_capture();
	run("v2.69");
	run("current");
	pt_cleanup();
	return done_testing();
}
