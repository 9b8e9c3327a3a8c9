/* emulator.h: the pieces of the GoTrue test server shared between its files (request/reply
 * types, the in-memory store, token signing, faults). Not part of the core (lib/). */
#ifndef GOTRUE_EMULATOR_H
#define GOTRUE_EMULATOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>
#include <microhttpd.h>

#define EMU_ID_LEN 37 /* UUID text + NUL */
/* Refresh tokens: v2.69's are 16 random bytes in base64url (22 characters), current servers'
 * 12 characters of [a-z0-9] (the v2.185 transcript, section 15). */
#define EMU_RT_LEN   23 /* the longer of the two + NUL */
#define EMU_HASH_LEN 64 /* a bcrypt hash ("$2b$10$" + 53 characters) + NUL */

enum emu_mode { EMU_MODE_V269, EMU_MODE_CURRENT };

struct emu_config {
	enum emu_mode mode;
	const char *state_dir;
	const char *alg;	/* "HS256", "RS256", "ES256" */
	const char *jwt_issuer; /* GOTRUE_JWT_ISSUER (current mode only); NULL = no iss */
	long jwt_exp;
	bool tls;
	const char *tls_name;
	int bcrypt_cost; /* 4..12 */
	char url[128];
};

extern struct emu_config emu_cfg;

static inline bool emu_current(void) /* --mode current */
{
	return emu_cfg.mode == EMU_MODE_CURRENT;
}
extern atomic_int
	emu_stopping; /* set on SIGTERM so stalled replies give up (read by handler threads) */

/* ---- request / reply (router.c, reply.c) ---- */
struct emu_header {
	char *name;
	char *value;
};

struct emu_reply {
	unsigned status;
	char *body; /* malloc'd; NULL = empty */
	size_t body_len;
	const char *content_type;
	struct emu_header headers[8];
	int n_headers;
};

struct emu_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	char *body;
	size_t body_len;
	bool api_2024; /* X-Supabase-Api-Version: 2024-01-01 */
	long serial;   /* request number; user JSON shows confirmed_at only from the next one */
};

const char *emu_req_header(const struct emu_req *q, const char *name);
const char *emu_req_arg(const struct emu_req *q, const char *name);

void emu_reply_json(struct emu_reply *r, unsigned status, json_object *obj); /* takes obj */
void emu_reply_text(struct emu_reply *r, unsigned status, const char *ctype, const char *text);
void emu_reply_header(struct emu_reply *r, const char *name, const char *value);
/* {"code":N,"msg":...} (v2.69), + error_code and x-sb-error-code (current), or {"code","message"}
 * with X-Supabase-Api-Version: 2024-01-01. */
void emu_reply_error(struct emu_reply *r, const struct emu_req *q, unsigned status,
		     const char *error_code, const char *msg);
/* 422 weak_password: v2.69's plain error, or current servers' body with
 * "weak_password":{"reasons":["length"]} (and, in the 2024-01-01 shape, no x-sb-error-code). */
void emu_reply_weak_password(struct emu_reply *r, const struct emu_req *q);
/* /token grant failures: OAuth {"error","error_description"} 400 on v2.69; the error_code form on
 * current servers. @desc may be NULL (unsupported_grant_type has no description). */
void emu_reply_oauth(struct emu_reply *r, const struct emu_req *q, const char *error,
		     const char *desc, const char *error_code);
void emu_reply_free(struct emu_reply *r);

/* Parse a JSON request body. NULL with @why set to a Go-like reason on failure. */
json_object *emu_parse_body(const struct emu_req *q, char *why, size_t why_len);
/* The body as a JSON object, or NULL after answering 400 bad_json "@what: <reason>" (GoTrue's
 * "Could not read ... params: ..." from every handler that decodes a body). */
json_object *emu_body_or_400(const struct emu_req *q, struct emu_reply *r, const char *what);
/* @key's value if it is a JSON string, else NULL. */
const char *emu_str_field(json_object *o, const char *key);

/* ---- store.c: users, sessions, refresh tokens; one mutex, held by the handler ---- */
#define EMU_CHALLENGES 8 /* a factor's newest challenges; older ones are forgotten */

struct emu_challenge {
	char id[EMU_ID_LEN]; /* "" = free slot */
	time_t expires;
	bool verified;
};

struct emu_factor {
	char id[EMU_ID_LEN];
	char friendly_name[128];
	char secret[40]; /* base32 */
	bool verified;
	double created_at, updated_at, last_challenged_at;
	struct emu_challenge challenges[EMU_CHALLENGES];
	unsigned next_challenge; /* the slot the next challenge takes */
	struct emu_factor *next;
};

struct emu_user {
	char id[EMU_ID_LEN];
	char identity_id[EMU_ID_LEN]; /* the email identity's own id (current servers show it) */
	char *email;		      /* lowercased */
	char *phone;
	char pw_hash[EMU_HASH_LEN]; /* bcrypt; "" = no password can sign in */
	double created_at, updated_at, email_confirmed_at, last_sign_in_at;
	double recovery_sent_at, invited_at, confirmation_sent_at;
	long confirm_serial;
	time_t banned_until;	/* 0 = not banned */
	bool identity_verified; /* the email identity's email_verified (current servers) */
	json_object *app_metadata;
	json_object *user_metadata;
	char otp[7];	     /* outstanding one-time code, "" = none */
	char link_token[57]; /* the magic-link token for the same mail */
	bool link_pkce;	     /* the link's token carries the "pkce_" prefix (handlers_pkce.c) */
	time_t otp_sent;
	struct emu_factor *factors;
	struct emu_user *next;
};

struct emu_session {
	char id[EMU_ID_LEN];
	char user_id[EMU_ID_LEN];
	char aal[5];
	char amr_method[16];
	time_t amr_time;
	char factor_id[EMU_ID_LEN]; /* the factor that made it aal2, "" otherwise */
	struct emu_rtoken *rtokens; /* the session's refresh-token family, newest first */
};

struct emu_rtoken {
	char token[EMU_RT_LEN];
	char session_id[EMU_ID_LEN];
	bool used;		   /* rotated or revoked */
	struct emu_rtoken *parent; /* the token whose refresh issued this one (same session) */
	struct emu_rtoken *next;   /* in its session's family */
};

void emu_store_lock(void);
void emu_store_unlock(void);
struct emu_user *emu_user_new(const char *email); /* caller holds the lock */
struct emu_user *emu_user_by_email(const char *email);
struct emu_user *emu_user_by_id(const char *id);
size_t emu_user_count(void);
struct emu_user *emu_user_nth(size_t i); /* newest first, O(1) */
void emu_user_delete(struct emu_user *u);
/* bcrypt at emu_cfg.bcrypt_cost. -1 if libcrypt fails (the user is left without a password). */
int emu_password_hash(const char *pw, char out[EMU_HASH_LEN]);
int emu_user_set_password(struct emu_user *u, const char *pw);
/* Needs no lock: callers may drop the store lock around it, since bcrypt is slow on purpose. */
bool emu_password_matches(const char *hash, const char *pw);
bool emu_user_banned(const struct emu_user *u);
json_object *emu_factors_json(const struct emu_user *u);
json_object *emu_user_json(const struct emu_user *u, const struct emu_req *q);
/* The user as an entry of GET /admin/users (current servers list no identities). */
json_object *emu_user_list_json(const struct emu_user *u, const struct emu_req *q);
/* GoTrue's models.User.Confirm: email_confirmed_at, and current servers' email_verified. */
void emu_user_confirm(struct emu_user *u, long serial);
void emu_json_merge(json_object *dst, json_object *src); /* shallow; null deletes */
void emu_json_merge_one(json_object *dst, const char *key, json_object *val); /* one key of it */

struct emu_session *emu_session_new(const struct emu_user *u, const char *method);
struct emu_session *emu_session_by_id(const char *id);
void emu_session_delete(const char *id);
void emu_sessions_delete_user(const char *user_id, const char *except);
/* models.InvalidateSessionsWithAALLessThan(user, "aal2"): the user's aal1 sessions end. */
void emu_sessions_delete_aal1(const char *user_id);
/* models.Factor.DowngradeSessionsToAAL1: the sessions @factor_id made aal2 are aal1 again. */
void emu_sessions_downgrade(const char *user_id, const char *factor_id);
/* A new refresh token of @s; @parent is the token whose refresh issues it, or NULL. */
struct emu_rtoken *emu_rtoken_new(const struct emu_session *s, struct emu_rtoken *parent);
/* The newest token of @s not used yet, or NULL. */
struct emu_rtoken *emu_rtoken_active(const struct emu_session *s);
struct emu_rtoken *emu_rtoken_find(const char *token);
void emu_rtoken_revoke_family(const char *session_id);

double emu_now(void);
void emu_time_str(double t, char *buf, size_t len); /* RFC 3339 with microseconds, UTC */
void emu_uuid(char out[EMU_ID_LEN]);
bool emu_is_uuid(const char *s);
void emu_random_token(char *out, size_t chars); /* base62 */

/* ---- tokens.c ---- */
int emu_keys_init(void);   /* secret, asymmetric key, state files */
char *emu_jwks_json(void); /* {"keys":[...]} */
/* Sign an access token for @u in session @s (claims per mode). malloc'd. */
char *emu_sign_access(const struct emu_user *u, const struct emu_session *s, time_t *exp);
char *emu_sign_claims(json_object *claims); /* generic (service_role key) */
/* Verify a bearer token. On failure returns NULL and sets @err to the GoTrue message
 * ("invalid JWT: unable to parse or verify signature, ..."). */
json_object *emu_verify(const char *token, char *err, size_t err_len);
/* Session response {"access_token",...,"user"} with a new refresh token */
json_object *emu_session_reply(struct emu_user *u, struct emu_session *s, const struct emu_req *q);
/* The same with refresh token @rt (a rotation's child, or the active token a reuse answers). */
json_object *emu_session_reply_rt(struct emu_user *u, struct emu_session *s,
				  const struct emu_rtoken *rt, const struct emu_req *q);
void emu_b64url(const unsigned char *in, size_t len, char *out, size_t out_len);

/* ---- faults.c ---- */
enum emu_fault_kind {
	EMU_FAULT_NONE,
	EMU_FAULT_DELAY,
	EMU_FAULT_STATUS,
	EMU_FAULT_GARBAGE,
	EMU_FAULT_OVERSIZE,
	EMU_FAULT_DROP,
	EMU_FAULT_STALL,
	EMU_FAULT_TRUNCATE,
	EMU_FAULT_REDIRECT,
	EMU_FAULT_WRONG_TYPES,
	EMU_FAULT_TOKEN,
};

struct emu_fault {
	enum emu_fault_kind kind;
	long ms;
	unsigned status;
	char *body;
	size_t bytes;
	char *location;
	char *token; /* EMU_FAULT_TOKEN: the access_token put into a 200 answer */
};

int emu_fault_add(json_object *spec, char *err, size_t err_len);
void emu_faults_clear(void);
/* Take one matching fault (decrements its count). Returns false if none. */
bool emu_fault_take(const char *method, const char *path, struct emu_fault *out);
void emu_fault_release(struct emu_fault *f);
/* EMU_FAULT_TOKEN: replace access_token in @r when it is a 200 JSON object that has one. */
void emu_fault_apply_token(const struct emu_fault *f, struct emu_reply *r);
void emu_count(const char *method, const char *path, const char *grant_type);
void emu_count_key(const char *key);
json_object *emu_counts_json(void);
void emu_counts_reset(void);

/* ---- handlers ---- */
typedef void (*emu_handler)(struct emu_req *q, struct emu_reply *r, const char *id,
			    const char *sub);
void emu_h_health(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_settings(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_signup(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_token(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_logout(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_user_get(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_user_put(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_otp(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_magiclink(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_recover(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_verify_post(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_verify_get(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_jwks(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_openid(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_invite(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_admin_list(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_admin_create(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_admin_get(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_admin_put(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_admin_delete(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_admin_factors(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_admin_factor_delete(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_factor_enroll(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_factor_challenge(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_factor_verify(struct emu_req *, struct emu_reply *, const char *, const char *);
void emu_h_factor_delete(struct emu_req *, struct emu_reply *, const char *, const char *);

/* Authentication helpers shared by the handlers (handlers_auth.c). Each returns the verified
 * claims, or NULL after writing the GoTrue error into @r. */
json_object *emu_auth_bearer(struct emu_req *q, struct emu_reply *r);
/* Bearer + sub + user lookup (+ session check in current mode). Caller holds the store lock. */
struct emu_user *emu_auth_user(struct emu_req *q, struct emu_reply *r, json_object **claims);
bool emu_auth_admin(struct emu_req *q, struct emu_reply *r);
/* POST /__emulator/users/bulk (handlers_admin.c); caller holds the store lock. */
void emu_c_users_bulk(struct emu_req *q, struct emu_reply *r);
void emu_send_mail(const struct emu_user *u, const char *type);
/* The same mail for a PKCE request: its link's token carries the prefix "pkce_". */
void emu_send_mail_pkce(const struct emu_user *u, const char *type);
/* The Sb-Auth-* headers of a current server's /token answer; each argument may be NULL. */
void emu_session_headers(struct emu_reply *r, const struct emu_user *u, const struct emu_session *s,
			 const char *refresh_token);

/* ---- handlers_pkce.c: PKCE for mailed links (/otp, /magiclink, /recover) ---- */
/* validatePKCEParams on @in's code_challenge and code_challenge_method; false after answering
 * 400. */
bool emu_pkce_params_ok(struct emu_req *q, struct emu_reply *r, json_object *in);
/* When @in carries a code_challenge (*@pkce then true): a flow state binding it to the next link
 * mailed to @u, for @auth_method ("magiclink", "recovery"). False after answering 500 for a
 * code_challenge_method GoTrue does not know. */
bool emu_pkce_flow_new(struct emu_req *q, struct emu_reply *r, const struct emu_user *u,
		       const char *auth_method, json_object *in, bool *pkce);
/* issueAuthCode: the auth code of @u's newest flow state for @auth_method, as a PKCE link is
 * opened; NULL with the redirect's error_description in @msg when there is none. */
const char *emu_pkce_auth_code(const struct emu_user *u, const char *auth_method, char *msg,
			       size_t msg_len);
/* POST /token?grant_type=pkce {auth_code, code_verifier}, @in parsed. */
void emu_grant_pkce(struct emu_req *q, struct emu_reply *r, json_object *in);
/* After a password change: current servers end the user's other sessions (all of them when
 * @keep_session is NULL) and drop the outstanding codes (handlers_auth.c). */
void emu_user_password_changed(struct emu_user *u, const char *keep_session);

/* ---- tls.c ---- */
int emu_tls_make(char **key_pem, char **cert_pem);

/* ---- router.c ---- */
enum MHD_Result emu_access(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload_data,
			   size_t *upload_data_size, void **con_cls);
void emu_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe);

#endif
