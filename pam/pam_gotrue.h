/* pam_gotrue.h: what the module's entry points and its flows share. Nothing here is exported
 * (pam/pam_gotrue.map keeps only pam_sm_*). */
#ifndef GOTRUE_PAM_GOTRUE_H
#define GOTRUE_PAM_GOTRUE_H

#include <stdbool.h>
#include <time.h>
#include <security/pam_modules.h>

#include "api.h"
#include "gotrue_jwt.h"
#include "idmap.h"

/* The PAM environment variable that carries the store record id from authenticate to
 * open_session, across sshd's fork: sshd authenticates in a child whose pam_set_data the parent
 * never sees, but it carries the PAM environment back. */
#define PG_ENV_HANDLE "GOTRUE_SESSION_HANDLE"
/* pam_set_data key for the same handle, for the same-process case. */
#define PG_DATA_HANDLE "pam_gotrue_session_handle"
/* pam_fail_delay(3) after a failed attempt, in microseconds. The application may override the
 * delay with PAM_FAIL_DELAY, as the tests do. */
#define PG_FAIL_DELAY_USEC 2000000

/* What a flow ended with. pg_result() turns it into a PAM code, in one place. */
enum pg_outcome {
	PG_OK = 0,
	PG_API_ERROR,	 /* look at the gotrue_error */
	PG_AUTH_FAILED,	 /* wrong password, empty password */
	PG_USER_UNKNOWN, /* not a GoTrue user of this host */
	PG_BANNED,
	PG_NOT_ALLOWED,	 /* outside allow_groups */
	PG_UNCONFIRMED,	 /* email or phone not confirmed */
	PG_UNAVAILABLE,	 /* server unreachable, timeout, 5xx, unusable answer */
	PG_RATE_LIMITED, /* 429 */
	PG_BAD_TOKEN,	 /* the JWT failed verification: a possible attack */
	PG_WEAK_PASSWORD,
	PG_NOT_OURS,	 /* nothing for this module to do (no record, no handle) */
	PG_SESSION_KEPT, /* close could not revoke; record kept as closing */
	PG_NEEDS_FACTOR, /* mfa = required and the user has no verified factor */
	PG_CONFIG,	 /* configuration or local setup error */
	PG_INTERNAL,	 /* memory, store, conversation */
};

/* Which entry point is asking: the same outcome means different codes in each. */
enum pg_phase {
	PG_PHASE_AUTH,
	PG_PHASE_ACCOUNT,
	PG_PHASE_CRED,
	PG_PHASE_SESSION,
	PG_PHASE_PASSWORD,
};

struct pg_args {
	bool use_first_pass;
	bool try_first_pass;
	bool ignore_unknown_user;
	bool ignore_authinfo_unavail;
	bool debug; /* the module argument only: gates what is logged before the config is read */
};

/* One call's context: options and config. */
struct pg_ctx {
	pam_handle_t *pamh;
	struct gotrue_config *cfg;
	struct pg_args args;
	const char *user; /* PAM_USER, owned by libpam */
	int flags;	  /* the entry point's flags (PAM_SILENT, PAM_UPDATE_AUTHTOK...) */
	struct gotrue_error err;
	bool secret_refused; /* the server refused a password or code: a guess, for the throttle */
};

/* result.c */
int pg_result(struct pg_ctx *ctx, enum pg_phase phase, enum pg_outcome outcome);
int pg_apply_ignore(const struct pg_args *args, int pam_rc);
enum pg_outcome pg_classify_error(const struct gotrue_error *err);

/* util.c */
void pg_tell(struct pg_ctx *ctx, int style, const char *msg);
/* A login name's GoTrue account, as far as it is known before sign-in. */
struct pg_mapped {
	char *email;		     /* sign-in identity: email, or ... */
	char *phone;		     /* ... phone (from the account index) */
	char *user_id;		     /* from the account index; NULL for the name@domain fallback */
	bool indexed;		     /* found in the account index: @entry holds its line */
	struct gotrue_account entry; /* as the index has it, to see whether a login changes it */
};
void pg_mapped_clear(struct pg_mapped *m);
/* Local accounts first (pam_gotrue(8), LOCAL ACCOUNTS FIRST), in every phase and before gotrue.conf
 * is read: PG_OK when NSS knows no account of this name or answers with this module's own cache
 * entry (lib/directory/owner.h); otherwise the name is another source's (files, LDAP, SSSD...) and
 * never this module's, whatever the account index says: PG_USER_UNKNOWN, or PG_NOT_OURS for setcred
 * and the session, which then hold only what this very transaction's authenticate left (sudo: the
 * invoking GoTrue user's record while PAM_USER is root). Logged at debug level only. */
enum pg_outcome pg_local_first(struct pg_ctx *ctx, enum pg_phase phase);
/* Map PAM_USER through the private account index, else the name@domain fallback. */
enum pg_outcome pg_map_user(struct pg_ctx *ctx, struct pg_mapped *m);
/* Whether the user GoTrue returned is the account @m named and maps back to PAM_USER. When it
 * does and @mapped is not NULL, *@mapped gets @u's account (gotrue_account_clear() it). */
struct gotrue_user;
bool pg_user_matches(struct pg_ctx *ctx, const struct pg_mapped *m, const struct gotrue_user *u,
		     struct gotrue_account *mapped);
/* Whether two mapped accounts are the same entry (every field the index and the cache hold). */
bool pg_account_equal(const struct gotrue_account *a, const struct gotrue_account *b);
/* Path of a file in state_dir (malloc'd). */
char *pg_state_path(const struct gotrue_config *cfg, const char *name);
/* Admission (gotrue_idmap_admitted) for app_metadata.groups @groups (never user_metadata);
 * a refusal is logged. */
bool pg_groups_allowed(struct pg_ctx *ctx, char *const *groups);
char **pg_app_groups(const struct gotrue_user *u); /* NULL-terminated copy, or NULL */
void pg_strv_free(char **v);
/* Record id handed over by authenticate, or NULL. *@own (may be NULL) says whether it came from
 * pam_get_data, i.e. this very transaction's authenticate, rather than the PAM environment. */
const char *pg_session_handle(struct pg_ctx *ctx, bool *own);
/* A client whose total timeout is what remains until @deadline (at least 1 s). */
struct gotrue_client;
struct gotrue_client *pg_client_until(struct pg_ctx *ctx, struct gotrue_config *tmp,
				      time_t deadline);

/* throttle.c: the local failure throttle (lib/store/throttle.h) for PAM_USER and PAM_RHOST. */
/* PG_OK, PG_AUTH_FAILED after telling the user when to try again (no request may be sent), or
 * PG_INTERNAL when the throttle cannot be read (fail closed). */
enum pg_outcome pg_throttle_check(struct pg_ctx *ctx);
/* A secret was wrong (a password, a code, an offline attempt): count it. Errors are logged. */
void pg_throttle_fail(struct pg_ctx *ctx);
/* The login succeeded: clear the user's count (not the host's). Errors are logged. */
void pg_throttle_success(struct pg_ctx *ctx);
/* A sign-in's answer once checked: the tokens, their verified claims, and the user as those
 * claims state it (never the unsigned body's word). */
struct pg_signin {
	struct gotrue_client *client;
	struct gotrue_session session; /* the server's answer: tokens and its unsigned user */
	struct gotrue_claims claims;   /* the access token's, verified */
	struct gotrue_user user;       /* the user as the verified token states it */
};
void pg_signin_clear(struct pg_signin *s); /* not the client */
/* Verify @s's access token (signature, alg, exp, aud, sub = the answer's user id) into
 * s->claims, then the user from those claims into s->user; the answer's user must agree with
 * them. PG_OK, PG_BAD_TOKEN (logged as an attack) or PG_CONFIG. */
enum pg_outcome pg_verify_signin(struct pg_ctx *ctx, const struct pg_mapped *m,
				 struct pg_signin *s);
/* Ask for a one-time code through a PAM_PROMPT_ECHO_OFF @prompt, as pam_google_authenticator
 * asks. An answer that is @password (may be NULL) is refused, never sent: it gives away a
 * conversation that cannot ask (sshd's PasswordAuthentication). PG_OK with the code in @code,
 * else PG_AUTH_FAILED, logged naming @what ("second-factor code"). */
enum pg_outcome pg_ask_code(struct pg_ctx *ctx, const char *prompt, const char *what,
			    const char *password, char code[11]);
/* A failed request: logged as "@what failed (why)", at LOG_NOTICE when the server refused it
 * (PG_AUTH_FAILED), else LOG_ERR; the outcome pg_classify_error gives. */
enum pg_outcome pg_api_failed(struct pg_ctx *ctx, const char *what);

/* mfa.c: the second factor (pam_gotrue(8), SECOND FACTOR). When the user has a verified factor
 * (the account index says so, or the answer lists one), ask for its code, challenge and verify
 * it, and replace @s by the aal2 session it gives; a user without one passes, unless
 * mfa = required. @password: what the user typed at the password prompt (NULL for none), which
 * a code prompt answered with it gives away as a conversation that cannot ask (sshd with
 * PasswordAuthentication). *@used (may be NULL) gets a copy of the factor used, id and type
 * (gotrue_user_clear-style: free its strings), zeroed when none was. */
enum pg_outcome pg_second_factor(struct pg_ctx *ctx, const struct pg_mapped *m, struct pg_signin *s,
				 const char *password, struct gotrue_factor *used);
/* email_code.c: sign in with a code sent by email (POST /otp, then POST /verify). */
enum pg_outcome pg_email_code_signin(struct pg_ctx *ctx, const struct pg_mapped *m,
				     struct pg_signin *s);

/* offline.c: logging in while GoTrue cannot be reached (pam_gotrue(8), OFFLINE LOGIN). After an
 * authenticate that ended PG_UNAVAILABLE with a password (@s: what the online steps left,
 * wiped): PG_UNAVAILABLE when offline_login is off or no verifier will do, PG_OK when the
 * password matches the user's verifier (s->user.id and *@groups then describe the offline
 * session, which holds no token), PG_AUTH_FAILED when it does not (counted), PG_BANNED or
 * PG_NOT_ALLOWED when the account index refuses. Logged, and told to the user. */
enum pg_outcome pg_offline_login(struct pg_ctx *ctx, const struct pg_mapped *m,
				 const char *password, struct pg_signin *s, char ***groups);
/* After a successful online login with a password: keep its verifier, when offline_login is on.
 * @user_id is the verified token's, @aal its "aal" claim. Errors are logged; the login stands. */
void pg_offline_remember(struct pg_ctx *ctx, const char *user_id, const char *password,
			 const char *aal);
/* Erase @user_id's verifier, whatever offline_login says (a password change). Logged. */
void pg_offline_forget(struct pg_ctx *ctx, const char *user_id, const char *why);

/* flows */
enum pg_outcome pg_authenticate(struct pg_ctx *ctx);
enum pg_outcome pg_account(struct pg_ctx *ctx);
enum pg_outcome pg_setcred(struct pg_ctx *ctx);
enum pg_outcome pg_open_session(struct pg_ctx *ctx);
enum pg_outcome pg_close_session(struct pg_ctx *ctx);
enum pg_outcome pg_chauthtok(struct pg_ctx *ctx, int flags);

#endif
