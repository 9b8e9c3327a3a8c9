/* api: one C function per GoTrue endpoint a login needs (api.c, api_mfa.c); those only gotruectl
 * calls are lib/client/ctl's. Each returns 0 on success, or -1 with @err filled (transport
 * failure, or the decoded GoTrue error). Endpoint references are to supabase/auth's router
 * (internal/api/api.go). */
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
/* POST /token?grant_type=password */
int gotrue_signin_password(struct gotrue_client *c, const struct gotrue_credentials *cred,
			   struct gotrue_session *out, struct gotrue_error *err);
/* POST /token?grant_type=refresh_token. The old token is spent once this is sent: callers never
 * retry it (refresh tokens rotate, and a reused one revokes the whole family). */
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
/* POST /verify {type, email|phone, token}: type is "email", "magiclink", "signup", "invite",
 * "recovery" or "sms". */
int gotrue_verify(struct gotrue_client *c, const char *type, const char *email, const char *phone,
		  const char *token, struct gotrue_session *out, struct gotrue_error *err);

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

/* --- MFA (GoTrue does not enforce the second factor at sign-in: the client does) ---------------
 */
/* POST /factors/{id}/challenge -> challenge id (free with free()). */
int gotrue_factor_challenge(struct gotrue_client *c, const char *access_token,
			    const char *factor_id, char **challenge_id, struct gotrue_error *err);
/* POST /factors/{id}/verify {challenge_id, code} -> an aal2 session. */
int gotrue_factor_verify(struct gotrue_client *c, const char *access_token, const char *factor_id,
			 const char *challenge_id, const char *code, struct gotrue_session *out,
			 struct gotrue_error *err);

/* The http handle, for callers that need a raw request (JWKS fetch). */
struct gotrue_http *gotrue_client_http(struct gotrue_client *c);

#endif
