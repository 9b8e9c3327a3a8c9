/* api: one C function per GoTrue endpoint a client needs. Each returns 0 on success, or -1 with
 * @err filled (transport failure, or the decoded GoTrue error). Endpoint references are to
 * supabase/auth's router (internal/api/api.go) and ../shared/gotrue-api/. */
#ifndef GOTRUE_API_H
#define GOTRUE_API_H

#include <stdbool.h>
#include <json-c/json.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"
#include "gotrue_error.h"
#include "session.h"
#include "user.h"

struct gotrue_client; /* config + an http handle; one per thread */

struct gotrue_client *gotrue_client_new(pam_handle_t *pamh, const struct gotrue_config *cfg);
void gotrue_client_free(struct gotrue_client *c);

/* Sign-in identity: exactly one of email or phone. */
struct gotrue_credentials {
	const char *email;
	const char *phone;
	const char *password; /* secret; never copied except into the wiped request body */
};

enum gotrue_logout_scope {
	GOTRUE_LOGOUT_GLOBAL = 0, /* the server default */
	GOTRUE_LOGOUT_LOCAL,
	GOTRUE_LOGOUT_OTHERS,
};

/* --- Server --------------------------------------------------------------------------------- */
int gotrue_health(struct gotrue_client *c, json_object **out, struct gotrue_error *err);
int gotrue_settings(struct gotrue_client *c, json_object **out, struct gotrue_error *err);
/* "v2.69.3-2-g26f19659" -> 2, 69, 3. Returns 0 or -1 for an unparsable version. */
int gotrue_version_parse(const char *version, int *major, int *minor, int *patch);
/* True when the server honours /logout?scope= (current servers; v2.69 ends every session). */
bool gotrue_version_honours_logout_scope(const char *version);
/* The same, from a GET /health answer; one that does not say its version counts as old. */
bool gotrue_health_honours_logout_scope(json_object *health);
/* Whether /logout?scope=local ends only the one session on this server: from the config's
 * `server` key, or for `auto` from the version GET /health reports. 0, or -1 with @err when
 * /health could not tell (*@honours is then false: old, the cautious answer). */
int gotrue_server_honours_logout_scope(struct gotrue_client *c,
				       enum gotrue_server_generation server, bool *honours,
				       struct gotrue_error *err);

/* --- Users ---------------------------------------------------------------------------------- */
/* POST /signup. @data_json (may be NULL) becomes user_metadata. With autoconfirm the result is a
 * session; otherwise only out->user is set (out->access_token == NULL). */
int gotrue_signup(struct gotrue_client *c, const struct gotrue_credentials *cred,
		  const char *data_json, struct gotrue_session *out, struct gotrue_error *err);
/* POST /token?grant_type=password */
int gotrue_signin_password(struct gotrue_client *c, const struct gotrue_credentials *cred,
			   struct gotrue_session *out, struct gotrue_error *err);
/* POST /token?grant_type=refresh_token. The old token is spent once this is sent: callers never
 * retry it (rotation; ../shared/gotrue-api/README.md point 1). */
int gotrue_refresh(struct gotrue_client *c, const char *refresh_token, struct gotrue_session *out,
		   struct gotrue_error *err);
/* POST /logout?scope=... */
int gotrue_signout(struct gotrue_client *c, const char *access_token,
		   enum gotrue_logout_scope scope, struct gotrue_error *err);
/* GET /user */
int gotrue_user_get(struct gotrue_client *c, const char *access_token, struct gotrue_user *out,
		    struct gotrue_error *err);
/* PUT /user with @update (e.g. {"password": ...} or {"data": {...}}); the object is not consumed.
 */
int gotrue_user_update(struct gotrue_client *c, const char *access_token, json_object *update,
		       struct gotrue_user *out, struct gotrue_error *err);
/* POST /otp: a one-time code (and magic link) by email, or an SMS code by phone. */
int gotrue_otp(struct gotrue_client *c, const char *email, const char *phone, bool create_user,
	       struct gotrue_error *err);
/* POST /magiclink */
int gotrue_magiclink(struct gotrue_client *c, const char *email, struct gotrue_error *err);
/* The same two by email, for the PKCE flow (RFC 7636): @code_challenge (gotrue_pkce_pair) is sent
 * with code_challenge_method=s256. The mailed code still works with gotrue_verify; the mailed
 * link, once opened, redirects to redirect_to?code=AUTH_CODE instead of carrying a session, and
 * only the holder of the verifier can trade that code (gotrue_exchange_code). Both server
 * generations (v2.69.3 and current) have it. */
int gotrue_otp_pkce(struct gotrue_client *c, const char *email, bool create_user,
		    const char *code_challenge, struct gotrue_error *err);
int gotrue_magiclink_pkce(struct gotrue_client *c, const char *email, const char *code_challenge,
			  struct gotrue_error *err);
/* POST /verify {type, email|phone, token}: type is "email", "magiclink", "signup", "invite",
 * "recovery" or "sms". */
int gotrue_verify(struct gotrue_client *c, const char *type, const char *email, const char *phone,
		  const char *token, struct gotrue_session *out, struct gotrue_error *err);
/* POST /recover */
int gotrue_recover(struct gotrue_client *c, const char *email, struct gotrue_error *err);
/* POST /invite (service role). */
int gotrue_invite(struct gotrue_client *c, const char *email, const char *data_json,
		  struct gotrue_user *out, struct gotrue_error *err);

/* GET /authorize?provider=...&redirect_to=...[&scopes=...][&code_challenge=...
 * &code_challenge_method=s256]: the URL a browser is sent to. No network. NULL on ENOMEM. */
char *gotrue_provider_url(const struct gotrue_config *cfg, const char *provider,
			  const char *redirect_to, const char *scopes, const char *code_challenge);
/* PKCE (RFC 7636): a random verifier (43..128 chars) and its S256 challenge. Buffers of at
 * least 129 and 44 bytes. 0 or -1. */
int gotrue_pkce_pair(char *verifier, size_t verifier_len, char *challenge, size_t challenge_len);
/* The S256 challenge of @verifier (RFC 7636 4.2): base64url(SHA-256(verifier)), no padding,
 * 43 chars. @verifier must be 43..128 unreserved characters (4.1). 0 or -1. */
int gotrue_pkce_challenge(const char *verifier, char *challenge, size_t challenge_len);
/* POST /token?grant_type=pkce {auth_code, code_verifier} -> the session. The code is single use
 * (a replay: flow_state_not_found); a wrong verifier is refused (bad_code_verifier) and leaves
 * the code usable. The verifier is a secret. */
int gotrue_exchange_code(struct gotrue_client *c, const char *auth_code, const char *code_verifier,
			 struct gotrue_session *out, struct gotrue_error *err);
/* The auth code in @text: either the code itself, or the URL the PKCE redirect landed on
 * ("https://app.example/cb?code=..."; its first `code` query parameter). At most
 * GOTRUE_AUTH_CODE_MAX unreserved characters (RFC 3986 2.3; GoTrue's codes are UUIDs), copied
 * into @out (@out_len bytes). 0, or -1 when there is none or it is malformed. */
#define GOTRUE_AUTH_CODE_MAX 128
int gotrue_pkce_code_parse(const char *text, char *out, size_t out_len);

/* --- Admin (service-role key) ----------------------------------------------------------------- */
struct gotrue_user_page {
	struct gotrue_user *users;
	size_t n_users;
	long long total; /* X-Total-Count, -1 when absent */
	char *next;	 /* rel="next" target from Link, NULL on the last page */
};
void gotrue_user_page_clear(struct gotrue_user_page *p);

/* GET /admin/users?page=N&per_page=M */
int gotrue_admin_list_users(struct gotrue_client *c, int page, int per_page,
			    struct gotrue_user_page *out, struct gotrue_error *err);
/* Which members of each listed user gotrue_admin_each_user reads; lib/sync/listing.c skips the
 * others without building them, and gotrue_user_from_json leaves their fields empty. */
enum gotrue_user_members {
	GOTRUE_USER_MEMBERS_LISTED,  /* all it fills but user_metadata (gotruectl admin list) */
	GOTRUE_USER_MEMBERS_ACCOUNT, /* what the sync maps: id, email, phone, the confirmation
					times, created_at, banned_until and app_metadata */
};
/* A listed user whose entry alone is over max_response: it cannot be read, only located. */
struct gotrue_user_too_large {
	long long position; /* its place in the listing (0: the newest) when it was asked for */
	long long total;    /* the listing's X-Total-Count then */
	const char *id;	    /* read from the entry's first bytes, or NULL when they do not say */
	size_t limit;	    /* max_response */
};

/* A walk over every user (gotrue_admin_each_user). */
struct gotrue_user_walk {
	int per_page;
	enum gotrue_user_members members;
	/* Called once per user, in listing order (return non-zero to stop; the walk's error is
	 * then what the callback left in the walk's @err, else "stopped by the caller"). */
	int (*each)(void *ctx, const struct gotrue_user *u);
	/* After each page (may be NULL): users handed over so far, X-Total-Count. */
	void (*progress)(void *ctx, size_t seen, long long total);
	/* A user over max_response on its own (NULL: the walk fails there, naming it). It is left
	 * out of the walk; non-zero stops the walk as @each does. */
	int (*too_large)(void *ctx, const struct gotrue_user_too_large *t);
	void *ctx;
	/* Out: the X-Total-Count of the answer whose users are being handed over, -1 before. */
	long long total;
	/* Out: the walk failed because X-Total-Count fell (users deleted meanwhile may have made it
	 * skip one); a new walk may succeed. */
	bool shrank;
};
/* Every user, page by page (lib/sync/api_admin.c, "Every user": a page over max_response is fetched
 * again in smaller pages; a user listed twice because of users created meanwhile is handed over
 * once). 0, or -1 with @err; every answer must carry X-Total-Count, and a count that falls fails
 * the walk with w->shrank set. */
int gotrue_admin_each_user(struct gotrue_client *c, struct gotrue_user_walk *w,
			   struct gotrue_error *err);
int gotrue_admin_get_user(struct gotrue_client *c, const char *id, struct gotrue_user *out,
			  struct gotrue_error *err);
/* GET /admin/users/{id}/factors: @out gets the id and the factors (gotrue_user_clear() it). */
int gotrue_admin_user_factors(struct gotrue_client *c, const char *id, struct gotrue_user *out,
			      struct gotrue_error *err);
/* POST /admin/users with @attrs ({"email", "password", "email_confirm", "app_metadata", ...}). */
int gotrue_admin_create_user(struct gotrue_client *c, json_object *attrs, struct gotrue_user *out,
			     struct gotrue_error *err);
/* PUT /admin/users/{id} with @attrs (app_metadata top-level keys are replaced; null deletes). */
int gotrue_admin_update_user(struct gotrue_client *c, const char *id, json_object *attrs,
			     struct gotrue_user *out, struct gotrue_error *err);
/* PUT /admin/users/{id} {"ban_duration": @duration}: a Go duration ("24h"), or "none" to lift. */
int gotrue_admin_ban_user(struct gotrue_client *c, const char *id, const char *duration,
			  struct gotrue_user *out, struct gotrue_error *err);
int gotrue_admin_delete_user(struct gotrue_client *c, const char *id, struct gotrue_error *err);

/* --- MFA (the client enforces the second factor; README point 9) -------------------------------
 */
/* POST /factors {factor_type:"totp", friendly_name, issuer}: a new, unverified factor. Either
 * string may be NULL (the server's default: no name, and its SITE_URL's host as the issuer that
 * authenticator apps show). @out gets the whole answer (id, totp.secret, totp.uri): it holds the
 * TOTP secret, so release it with gotrue_json_put_wiped. */
int gotrue_factor_enroll(struct gotrue_client *c, const char *access_token,
			 const char *friendly_name, const char *issuer, json_object **out,
			 struct gotrue_error *err);
/* POST /factors/{id}/challenge -> challenge id (free with free()). */
int gotrue_factor_challenge(struct gotrue_client *c, const char *access_token,
			    const char *factor_id, char **challenge_id, struct gotrue_error *err);
/* POST /factors/{id}/verify {challenge_id, code} -> an aal2 session. */
int gotrue_factor_verify(struct gotrue_client *c, const char *access_token, const char *factor_id,
			 const char *challenge_id, const char *code, struct gotrue_session *out,
			 struct gotrue_error *err);
/* Challenge, then verify @code at once -> the aal2 session: the same session id (current servers
 * and v2.69 alike), with new tokens. A factor's first verification makes it "verified". */
int gotrue_factor_challenge_verify(struct gotrue_client *c, const char *access_token,
				   const char *factor_id, const char *code,
				   struct gotrue_session *out, struct gotrue_error *err);
/* DELETE /factors/{id}. A verified factor needs an aal2 session (insufficient_aal otherwise). */
int gotrue_factor_unenroll(struct gotrue_client *c, const char *access_token, const char *factor_id,
			   struct gotrue_error *err);

/* --- Several at once (the refresh pass) ------------------------------------------------------
 * The same requests in two halves, for a client whose http handle is attached to a multi
 * (gotrue_http_attach): _start sends and returns at once (0, or -1 with @err: nothing was
 * sent), the multi hands @ctx back (gotrue_http_multi_next) when the answer is in, and _end reads
 * it as the one-call form does. One request per client at a time. */
int gotrue_refresh_start(struct gotrue_client *c, const char *refresh_token, void *ctx,
			 struct gotrue_error *err);
int gotrue_refresh_end(struct gotrue_client *c, struct gotrue_session *out,
		       struct gotrue_error *err);
int gotrue_user_get_start(struct gotrue_client *c, const char *access_token, void *ctx,
			  struct gotrue_error *err);
int gotrue_user_get_end(struct gotrue_client *c, struct gotrue_user *out, struct gotrue_error *err);

/* The http handle, for callers that need a raw request (JWKS fetch). */
struct gotrue_http *gotrue_client_http(struct gotrue_client *c);

#endif
