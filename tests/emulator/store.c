/* store.c: the emulator's database: users, sessions and refresh tokens, in memory, behind one
 * mutex that a handler holds for its whole request (a password sign-in lets go of it while it
 * runs bcrypt). Passwords are kept as bcrypt hashes, as GoTrue keeps them, never in plain text. */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <crypt.h>
#include <json-c/linkhash.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "emulator.h"

static pthread_mutex_t store_mutex = PTHREAD_MUTEX_INITIALIZER;
/* Sessions by id and refresh tokens by token, in json-c's linkhash like the users below, so that
 * a refresh costs the same with 10k sessions as with one (the refresh benchmark compares against
 * it); each session keeps its own token family for revocation. */
static struct lh_table *sessions_by_id, *rtokens_by_token;

void emu_store_lock(void)
{
	pthread_mutex_lock(&store_mutex);
}

void emu_store_unlock(void)
{
	pthread_mutex_unlock(&store_mutex);
}

double emu_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void emu_time_str(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	char date[32];

	gmtime_r(&s, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ldZ", date, (long)((t - (double)s) * 1e6));
}

void emu_uuid(char out[EMU_ID_LEN])
{
	unsigned char b[16];

	RAND_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40; /* RFC 9562 version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, EMU_ID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

bool emu_is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

void emu_random_token(char *out, size_t chars)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[64];

	if (chars > sizeof(b))
		chars = sizeof(b);
	RAND_bytes(b, (int)chars);
	for (size_t i = 0; i < chars; i++)
		out[i] = alphabet[b[i] % 62];
	out[chars] = '\0';
}

/* Current servers' 12-character refresh tokens: lower-case letters and digits (the v2.185
 * transcript: "^[a-z0-9]{12}$"); v2.69's 16 random bytes in base64url, 22 characters. */
static void refresh_token_text(char out[EMU_RT_LEN])
{
	static const char lower[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b[16];
	char b64[32];

	RAND_bytes(b, sizeof(b));
	if (emu_current()) {
		/* 252 is the largest multiple of 36 below 256: no bias towards the first letters */
		for (size_t i = 0; i < 12;) {
			if (b[i] < 252) {
				out[i] = lower[b[i] % 36];
				i++;
			} else {
				RAND_bytes(&b[i], 1);
			}
		}
		out[12] = '\0';
	} else {
		emu_b64url(b, sizeof(b), b64, sizeof(b64)); /* 22 characters */
		memcpy(out, b64, EMU_RT_LEN - 1);
		out[EMU_RT_LEN - 1] = '\0';
	}
	OPENSSL_cleanse(b, sizeof(b));
}

/* bcrypt, as GoTrue stores passwords (golang.org/x/crypto/bcrypt, cost 10 by default): the hash
 * is most of what a password sign-in costs on a real server, so the emulator pays it too. From
 * libcrypt (libxcrypt), which draws the salt from the kernel when given no random bytes. */
int emu_password_hash(const char *pw, char out[EMU_HASH_LEN])
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	int rc = -1;

	if (!cd || !crypt_gensalt_rn("$2b$", (unsigned long)emu_cfg.bcrypt_cost, NULL, 0, setting,
				     sizeof(setting)))
		goto cleanup;
	if (!crypt_r(pw, setting, cd) || cd->output[0] != '$' || strlen(cd->output) >= EMU_HASH_LEN)
		goto cleanup;
	memcpy(out, cd->output, strlen(cd->output) + 1);
	rc = 0;
cleanup:
	if (cd) {
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
	}
	return rc;
}

bool emu_password_matches(const char *hash, const char *pw)
{
	struct crypt_data *cd;
	bool ok = false;

	if (!hash || !*hash || !pw)
		return false;
	cd = calloc(1, sizeof(*cd));
	/* crypt_r answers a failure with a string starting '*', which never equals a hash */
	if (cd && crypt_r(pw, hash, cd) && strlen(cd->output) == strlen(hash))
		ok = CRYPTO_memcmp(cd->output, hash, strlen(hash)) == 0;
	if (cd) {
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
	}
	return ok;
}

int emu_user_set_password(struct emu_user *u, const char *pw)
{
	if (emu_password_hash(pw, u->pw_hash) != 0) {
		u->pw_hash[0] = '\0';
		return -1;
	}
	return 0;
}

bool emu_user_banned(const struct emu_user *u)
{
	return u->banned_until != 0 && u->banned_until > time(NULL);
}

/* Users live in an array in creation order (GET /admin/users lists it backwards, newest first,
 * so a page is a slice) and in two hash tables (json-c's linkhash), by id and by lowercased
 * email, so that 100k users cost no more per request than ten. */
static struct emu_user **users;
static size_t n_users, cap_users;
static struct lh_table *users_by_id, *users_by_email;

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int users_reserve(size_t more)
{
	if (!users_by_id) {
		users_by_id = lh_kchar_table_new(1024, NULL);
		users_by_email = lh_kchar_table_new(1024, NULL);
		if (!users_by_id || !users_by_email)
			return -1;
	}
	if (n_users + more > cap_users) {
		size_t cap = cap_users ? cap_users : 1024;
		struct emu_user **nu;

		while (cap < n_users + more)
			cap *= 2;
		nu = realloc(users, cap * sizeof(*users));
		if (!nu)
			return -1;
		users = nu;
		cap_users = cap;
	}
	return 0;
}

struct emu_user *emu_user_new(const char *email)
{
	struct emu_user *u;
	json_object *prov;

	u = calloc(1, sizeof(*u));
	/* A test server out of memory has no truthful answer to give; the test fails loudly. */
	if (!u || users_reserve(1) != 0)
		abort();
	emu_uuid(u->id);
	emu_uuid(u->identity_id);
	u->email = strdup(email ? email : "");
	lower(u->email);
	u->phone = strdup("");
	u->created_at = u->updated_at = emu_now();
	u->app_metadata = json_object_new_object();
	json_object_object_add(u->app_metadata, "provider", json_object_new_string("email"));
	prov = json_object_new_array();
	json_object_array_add(prov, json_object_new_string("email"));
	json_object_object_add(u->app_metadata, "providers", prov);
	u->user_metadata = json_object_new_object();
	users[n_users++] = u;
	/* the tables borrow the user's own strings as keys */
	lh_table_insert(users_by_id, u->id, u);
	if (*u->email)
		lh_table_insert(users_by_email, u->email, u);
	return u;
}

static struct emu_user *lookup(struct lh_table *t, const char *key)
{
	char *k;
	void *v = NULL;

	if (!t || !key || !*key || !(k = strdup(key)))
		return NULL;
	lower(k);
	if (!lh_table_lookup_ex(t, k, &v))
		v = NULL;
	free(k);
	return v;
}

struct emu_user *emu_user_by_email(const char *email)
{
	return lookup(users_by_email, email);
}

struct emu_user *emu_user_by_id(const char *id)
{
	return lookup(users_by_id, id);
}

size_t emu_user_count(void)
{
	return n_users;
}

struct emu_user *emu_user_nth(size_t i)
{
	return i < n_users ? users[n_users - 1 - i] : NULL;
}

void emu_user_delete(struct emu_user *u)
{
	emu_sessions_delete_user(u->id, NULL);
	lh_table_delete(users_by_id, u->id);
	if (*u->email)
		lh_table_delete(users_by_email, u->email);
	/* O(n), but tests delete a handful of users, not thousands */
	for (size_t i = 0; i < n_users; i++) {
		if (users[i] == u) {
			memmove(&users[i], &users[i + 1], (n_users - i - 1) * sizeof(*users));
			n_users--;
			break;
		}
	}
	while (u->factors) {
		struct emu_factor *f = u->factors;

		u->factors = f->next;
		OPENSSL_cleanse(f->secret, sizeof(f->secret));
		free(f);
	}
	json_object_put(u->app_metadata);
	json_object_put(u->user_metadata);
	free(u->email);
	free(u->phone);
	OPENSSL_cleanse(u, sizeof(*u));
	free(u);
}

void emu_json_merge_one(json_object *dst, const char *key, json_object *val)
{
	if (!val)
		json_object_object_del(dst, key);
	else
		json_object_object_add(dst, key, json_object_get(val));
}

void emu_json_merge(json_object *dst, json_object *src)
{
	json_object_object_foreach(src, key, val)
	{
		emu_json_merge_one(dst, key, val);
	}
}

static void add_time(json_object *o, const char *key, double t)
{
	char buf[48];

	if (t <= 0)
		return;
	emu_time_str(t, buf, sizeof(buf));
	json_object_object_add(o, key, json_object_new_string(buf));
}

static json_object *factor_json(const struct emu_factor *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(f->id));
	add_time(o, "created_at", f->created_at);
	add_time(o, "updated_at", f->updated_at);
	json_object_object_add(o, "status",
			       json_object_new_string(f->verified ? "verified" : "unverified"));
	json_object_object_add(o, "friendly_name", json_object_new_string(f->friendly_name));
	json_object_object_add(o, "factor_type", json_object_new_string("totp"));
	if (emu_current()) { /* transcript-v2.185 step 168 */
		json_object_object_add(o, "phone", json_object_new_string(""));
		add_time(o, "last_challenged_at", f->last_challenged_at);
	}
	return o;
}

json_object *emu_factors_json(const struct emu_user *u)
{
	json_object *a = json_object_new_array();

	for (const struct emu_factor *f = u->factors; f; f = f->next)
		json_object_array_add(a, factor_json(f));
	return a;
}

/* The email identity; current servers add its own id, the email and the verified flags. */
static json_object *identities_json(const struct emu_user *u)
{
	json_object *ids = json_object_new_array(), *ident = json_object_new_object();
	json_object *idata = json_object_new_object();
	bool current = emu_current();

	if (current)
		json_object_object_add(ident, "identity_id",
				       json_object_new_string(u->identity_id));
	json_object_object_add(ident, "id", json_object_new_string(u->id));
	json_object_object_add(ident, "user_id", json_object_new_string(u->id));
	json_object_object_add(idata, "email", json_object_new_string(u->email));
	if (current) {
		json_object_object_add(idata, "email_verified",
				       json_object_new_boolean(u->identity_verified));
		json_object_object_add(idata, "phone_verified", json_object_new_boolean(0));
	}
	json_object_object_add(idata, "sub", json_object_new_string(u->id));
	json_object_object_add(ident, "identity_data", idata);
	json_object_object_add(ident, "provider", json_object_new_string("email"));
	add_time(ident, "last_sign_in_at", u->created_at);
	add_time(ident, "created_at", u->created_at);
	add_time(ident, "updated_at", u->created_at);
	if (current)
		json_object_object_add(ident, "email", json_object_new_string(u->email));
	json_object_array_add(ids, ident);
	return ids;
}

/* The user object as GoTrue serialises models.User: optional timestamps are omitted when unset.
 * confirmed_at is a generated DB column, so it only shows once the user has been read back after
 * confirmation (transcript steps 4/11, 104/106, 131/132). Current servers add is_anonymous. */
json_object *emu_user_json(const struct emu_user *u, const struct emu_req *q)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "aud", json_object_new_string("authenticated"));
	json_object_object_add(o, "role", json_object_new_string("authenticated"));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	add_time(o, "email_confirmed_at", u->email_confirmed_at);
	add_time(o, "invited_at", u->invited_at);
	json_object_object_add(o, "phone", json_object_new_string(u->phone));
	add_time(o, "confirmation_sent_at", u->confirmation_sent_at);
	if (u->email_confirmed_at > 0 && (!q || u->confirm_serial < q->serial))
		add_time(o, "confirmed_at", u->email_confirmed_at);
	add_time(o, "recovery_sent_at", u->recovery_sent_at);
	add_time(o, "last_sign_in_at", u->last_sign_in_at);
	if (u->banned_until) {
		add_time(o, "banned_until", (double)u->banned_until);
	}
	json_object_object_add(o, "app_metadata", json_object_get(u->app_metadata));
	json_object_object_add(o, "user_metadata", json_object_get(u->user_metadata));
	if (u->factors)
		json_object_object_add(o, "factors", emu_factors_json(u));
	json_object_object_add(o, "identities", identities_json(u));
	add_time(o, "created_at", u->created_at);
	add_time(o, "updated_at", u->updated_at);
	if (emu_current())
		json_object_object_add(o, "is_anonymous", json_object_new_boolean(0));
	return o;
}

json_object *emu_user_list_json(const struct emu_user *u, const struct emu_req *q)
{
	json_object *o = emu_user_json(u, q);

	/* GoTrue's list query (FindUsersInAudience) loads no relation: identities are null
	 * (transcript-v2.69 step 112, transcript-v2.185 "Admin") and factors, omitempty, are
	 * absent. GET /admin/users/{id} and /admin/users/{id}/factors have them. */
	json_object_object_add(o, "identities", NULL);
	json_object_object_del(o, "factors");
	return o;
}

void emu_user_confirm(struct emu_user *u, long serial)
{
	u->email_confirmed_at = emu_now();
	u->confirm_serial = serial;
	if (emu_current())
		json_object_object_add(u->user_metadata, "email_verified",
				       json_object_new_boolean(1));
}

static void sessions_init(void)
{
	if (!sessions_by_id) {
		sessions_by_id = lh_kchar_table_new(1024, NULL);
		rtokens_by_token = lh_kchar_table_new(1024, NULL);
		if (!sessions_by_id || !rtokens_by_token)
			abort(); /* see emu_user_new */
	}
}

struct emu_session *emu_session_new(const struct emu_user *u, const char *method)
{
	struct emu_session *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	sessions_init();
	emu_uuid(s->id);
	memcpy(s->user_id, u->id, EMU_ID_LEN);
	strcpy(s->aal, "aal1");
	snprintf(s->amr_method, sizeof(s->amr_method), "%s", method);
	s->amr_time = time(NULL);
	lh_table_insert(sessions_by_id, s->id, s); /* keyed by the session's own id */
	return s;
}

struct emu_session *emu_session_by_id(const char *id)
{
	void *v = NULL;

	if (!id || !sessions_by_id || !lh_table_lookup_ex(sessions_by_id, id, &v))
		return NULL;
	return v;
}

static void session_free(struct emu_session *s)
{
	while (s->rtokens) {
		struct emu_rtoken *t = s->rtokens;

		s->rtokens = t->next;
		lh_table_delete(rtokens_by_token, t->token);
		OPENSSL_cleanse(t, sizeof(*t));
		free(t);
	}
	lh_table_delete(sessions_by_id, s->id);
	free(s);
}

void emu_session_delete(const char *id)
{
	struct emu_session *s = emu_session_by_id(id);

	if (s)
		session_free(s);
}

void emu_sessions_delete_user(const char *user_id, const char *except)
{
	struct lh_entry *e, *tmp;

	if (!sessions_by_id)
		return;
	/* every session: a user's sessions are not indexed, and this runs on logout and user
	 * deletion only, not on the refresh path */
	lh_foreach_safe(sessions_by_id, e, tmp)
	{
		struct emu_session *s = (struct emu_session *)lh_entry_v(e);

		if (strcmp(s->user_id, user_id) == 0 && (!except || strcmp(s->id, except) != 0))
			session_free(s);
	}
}

void emu_sessions_delete_aal1(const char *user_id)
{
	struct lh_entry *e, *tmp;

	if (!sessions_by_id)
		return;
	lh_foreach_safe(sessions_by_id, e, tmp)
	{
		struct emu_session *s = (struct emu_session *)lh_entry_v(e);

		if (strcmp(s->user_id, user_id) == 0 && strcmp(s->aal, "aal1") == 0)
			session_free(s);
	}
}

void emu_sessions_downgrade(const char *user_id, const char *factor_id)
{
	struct lh_entry *e;

	if (!sessions_by_id)
		return;
	lh_foreach(sessions_by_id, e)
	{
		struct emu_session *s = (struct emu_session *)lh_entry_v(e);

		if (strcmp(s->user_id, user_id) == 0 && strcmp(s->factor_id, factor_id) == 0) {
			strcpy(s->aal, "aal1");
			s->factor_id[0] = '\0';
		}
	}
}

struct emu_rtoken *emu_rtoken_new(const struct emu_session *s, struct emu_rtoken *parent)
{
	struct emu_session *owner = emu_session_by_id(s->id);
	struct emu_rtoken *t = calloc(1, sizeof(*t));

	if (!t || !owner)
		abort(); /* a token for a session the store does not hold: a bug */
	do
		refresh_token_text(t->token);
	while (emu_rtoken_find(t->token)); /* 36^12: a clash is a test run's bad luck, not a bug */
	t->parent = parent;
	memcpy(t->session_id, s->id, EMU_ID_LEN);
	t->next = owner->rtokens;
	owner->rtokens = t;
	lh_table_insert(rtokens_by_token, t->token, t);
	return t;
}

struct emu_rtoken *emu_rtoken_find(const char *token)
{
	void *v = NULL;

	if (!token || !rtokens_by_token || !lh_table_lookup_ex(rtokens_by_token, token, &v))
		return NULL;
	return v;
}

struct emu_rtoken *emu_rtoken_active(const struct emu_session *s)
{
	/* GoTrue's FindCurrentlyActiveRefreshToken: the newest token not revoked; a family is
	 * kept newest first */
	struct emu_rtoken *t = s->rtokens;

	while (t && t->used)
		t = t->next;
	return t;
}

void emu_rtoken_revoke_family(const char *session_id)
{
	struct emu_session *s = emu_session_by_id(session_id);

	for (struct emu_rtoken *t = s ? s->rtokens : NULL; t; t = t->next)
		t->used = true;
}
