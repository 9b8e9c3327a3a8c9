/* config: /etc/gotrue/gotrue.conf and module arguments, one grammar for both.
 * Order: conf= (if given), then the file, then the module arguments, which override.
 * Secrets live in separate 0600 files named by *_file keys and are loaded on demand. */
#ifndef GOTRUE_CONFIG_H
#define GOTRUE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <security/pam_ext.h>

#define GOTRUE_DEFAULT_CONF    SYSCONFDIR "/gotrue/gotrue.conf"
#define GOTRUE_CONF_MAX_SIZE   (64 * 1024)
#define GOTRUE_SECRET_MAX_SIZE (16 * 1024)
/* A CA bundle is public but can be large (the Mozilla bundle is ~200 KiB). */
#define GOTRUE_CA_FILE_MAX_SIZE (4 * 1024 * 1024)
/* The highest throttle_*_failures: a slot of the throttle table (lib/store/throttle.h) keeps this
 * many failure times. */
#define GOTRUE_THROTTLE_FAILURES_MAX 100

/* Which GoTrue generation the server is: v2.69 ignores /logout?scope= and ends every session of
 * the user; current servers honour scope=local. "auto" asks /health. */
enum gotrue_server_generation {
	GOTRUE_SERVER_AUTO = 0,
	GOTRUE_SERVER_OLD,
	GOTRUE_SERVER_CURRENT,
};

/* On a server whose /logout ends every session of the user (old generation): forget a session
 * instead of revoking it (its tokens wiped, no /logout), or send the /logout anyway when the
 * user's last local session ends ("global"). */
enum gotrue_old_server_logout {
	GOTRUE_OLD_LOGOUT_FORGET = 0,
	GOTRUE_OLD_LOGOUT_GLOBAL,
};

/* Who needs a second factor (key "mfa"). No value lets a user skip a verified factor. */
enum gotrue_mfa_policy {
	GOTRUE_MFA_ENROLLED = 0, /* a user with a verified factor must use it */
	GOTRUE_MFA_REQUIRED,	 /* and a user without one is refused */
};

/* How a user signs in (key "login"). */
enum gotrue_login_method {
	GOTRUE_LOGIN_PASSWORD = 0,
	GOTRUE_LOGIN_EMAIL_CODE,	     /* a one-time code by email (POST /otp, /verify) */
	GOTRUE_LOGIN_PASSWORD_OR_EMAIL_CODE, /* an empty password asks for the code */
};

/* A user with a second factor, offline (key "offline_mfa"): the factor cannot be checked
 * without the server. */
enum gotrue_offline_mfa {
	GOTRUE_OFFLINE_MFA_REFUSE = 0, /* such a user waits for the server */
	GOTRUE_OFFLINE_MFA_ALLOW,      /* the password alone, offline */
};

/* How an access token is confirmed (key "jwt_verify"). */
enum gotrue_jwt_verify {
	GOTRUE_JWT_VERIFY_LOCAL = 0, /* its signature, with the keys this host holds */
	GOTRUE_JWT_VERIFY_SERVER,    /* the server accepts it (GET /user): no key on this host */
};

/* What this host does for the others (key "role"); only `gotruectl config check` reads it, to say
 * which keys the host holds without needing them. */
enum gotrue_host_role {
	GOTRUE_ROLE_STANDALONE = 0, /* it runs `gotruectl sync` itself */
	GOTRUE_ROLE_PUBLISHER,	    /* it runs the sync and publishes the directory for a fleet */
	GOTRUE_ROLE_HOST,	    /* it fetches the directory a publisher made: no sync here */
};

enum gotrue_revoked_action {
	GOTRUE_REVOKED_LOG = 0,
	GOTRUE_REVOKED_TERMINATE,
};

struct gotrue_config {
	/* server */
	char *url;		     /* base URL, stored without a trailing slash */
	char *api_key_file;	     /* secret file: the `apikey` header */
	char *service_role_key_file; /* secret file: admin bearer (gotruectl only) */
	char *ca_file;		     /* extra CA bundle for TLS verification */
	long timeout;		     /* seconds, total per request; default 10, 1..120 */
	long connect_timeout;	     /* seconds; default min(timeout, 5) */
	size_t max_response;	     /* bytes; default 1 MiB */
	/* token verification */
	char *jwt_secret_file; /* secret file: HS256 key */
	char *jwt_public_key;  /* PEM file: RS256/ES256 key */
	char *jwks_url;	       /* JWKS URL (absolute, or a path under url) */
	char *jwt_aud;	       /* default "authenticated" */
	char *jwt_iss;	       /* checked where set */
	char **jwt_algs;       /* allow-list, NULL-terminated; default from the key type */
	long jwt_leeway;       /* seconds of leeway for exp/nbf; default 30 */
	enum gotrue_jwt_verify jwt_verify; /* key "jwt_verify": local | server; default local */
	enum gotrue_host_role role;	   /* key "role"; default standalone */
	/* accounts (NSS mapping and access) */
	char **email_domains; /* NULL-terminated */
	unsigned long uid_min, uid_max;
	char *home;	      /* template, default "/home/%u" */
	char *shell;	      /* default "/bin/bash" */
	char **allow_groups;  /* NULL-terminated; empty admits nobody unless allow_all_users */
	char **local_groups;  /* NULL-terminated */
	bool allow_all_users; /* every GoTrue user is admitted: an explicit decision */
	bool email_fallback;  /* try LOGIN@domain for a name not in the account index */
	bool assign_uids;     /* sync writes each new account's uid to app_metadata.uid */
	enum gotrue_mfa_policy mfa;	/* key "mfa": enrolled | required; default enrolled */
	enum gotrue_login_method login; /* key "login"; default password */
	/* offline login (lib/store/offline.h, pam_gotrue(8) OFFLINE LOGIN) */
	bool offline_login;    /* default no */
	long offline_days;     /* usable this long after the online login; 3, 1..365 */
	long offline_attempts; /* failed offline attempts that erase it; 5, 1..100 */
	enum gotrue_offline_mfa offline_mfa; /* refuse | allow; default refuse */
	/* sessions */
	enum gotrue_revoked_action revoked_session;
	enum gotrue_server_generation server;		 /* key "server": auto | v2.69 | current */
	enum gotrue_old_server_logout old_server_logout; /* forget | global; default forget */
	char *state_dir;				 /* default GOTRUE_STATEDIR */
	bool debug;
	/* the local failure throttle (lib/store/throttle.h); a limit of 0 turns that limit off */
	long throttle_user_failures; /* per login name, default 5, 0..100 */
	long throttle_host_failures; /* per remote host, default 20, 0..100 */
	long throttle_interval;	     /* seconds failures are remembered, default 900 */
	long throttle_unlock_time;   /* seconds a bucket stays locked, default 600 */
	/* Plain http:// to any loopback port, not only to ports below 1024 that only root can
	 * listen on: for test servers on ephemeral ports, never for production. */
	bool insecure_http_for_testing;
	/* The fleet (lib/fleet): a publisher writes a signed bundle, every other host fetches it.
	 */
	char *fleet_url;	      /* where the bundle is served (https://, a directory) */
	char *fleet_public_key;	      /* one or two base64 Ed25519 public keys, pinned */
	char *fleet_key_file;	      /* secret file: the fleet key(s) that decrypt the index */
	char *fleet_signing_key_file; /* secret file (publisher): the Ed25519 private key */
	char *publish_dir;	      /* publisher: the directory the bundle is written to */
	long fleet_max_age; /* seconds a manifest is valid after it was made; default 86400 */

	/* Loaded secrets (NULL until gotrue_config_load_secret()). Wiped by gotrue_config_free. */
	char *api_key;
	char *service_role_key;
	char *jwt_secret;

	/* Bookkeeping for the loader and `gotruectl config check`. */
	bool connect_timeout_set;   /* connect_timeout given explicitly, not derived from timeout */
	unsigned int load_problems; /* bad lines and arguments seen (logged, then skipped) */
	/* An allocation failed while loading: a line or argument was lost, not
	 * bad, so the config is incomplete and gotrue_config_load/_load_file fail (fail closed). */
	bool load_oom;
};

/* A config with every default set. NULL on ENOMEM. */
struct gotrue_config *gotrue_config_new(void);
void gotrue_config_free(struct gotrue_config *cfg);

/* The one option grammar. @value is NULL for a bare flag ("debug"). Returns 0, or -1 after logging
 * why (unknown key: LOG_ERR and -1; the caller decides to skip). */
int gotrue_config_set(pam_handle_t *pamh, struct gotrue_config *cfg, const char *key,
		      const char *value);

/* Parse "key = value" lines: '#' comments, blank lines, surrounding blanks trimmed. Every bad line
 * is logged with its line number; returns the number of problems (0 = clean). @source names the
 * file in messages. */
int gotrue_config_parse(pam_handle_t *pamh, struct gotrue_config *cfg, const char *text,
			const char *source);

/* Read @path through gotrue_read_file(GOTRUE_FILE_CONFIG) and parse it. @may_be_absent: only the
 * default path may be missing. Returns 0 or -1. */
int gotrue_config_load_file(pam_handle_t *pamh, struct gotrue_config *cfg, const char *path,
			    bool may_be_absent);

/* Module-style arguments: "conf=PATH" first, then the file, then every other argument through
 * gotrue_config_set(). Unknown arguments are logged and skipped. Flags the PAM module itself
 * handles (use_first_pass, ...) are skipped if listed in @own_flags (NULL-terminated). */
int gotrue_config_load(pam_handle_t *pamh, struct gotrue_config *cfg, int argc, const char **argv,
		       const char *const *own_flags);

enum gotrue_secret {
	GOTRUE_SECRET_API_KEY,
	GOTRUE_SECRET_SERVICE_ROLE_KEY,
	GOTRUE_SECRET_JWT_SECRET,
};
/* Load one secret from its *_file (GOTRUE_FILE_SECRET rules, trailing newline stripped).
 * 0 when loaded or when no file is configured; -1 on error (logged). */
int gotrue_config_load_secret(pam_handle_t *pamh, struct gotrue_config *cfg,
			      enum gotrue_secret which);

/* Read the secret file @path of @option: GOTRUE_FILE_SECRET rules, trailing blanks and newlines
 * stripped, one printable line. *@out is released with gotrue_wipe_free_str(). 0, or -1 after
 * logging. */
int gotrue_config_read_secret(pam_handle_t *pamh, const char *option, const char *path, char **out);

/* Helpers shared with the rest of the core. */
bool gotrue_strv_contains(char *const *strv, const char *s);

#endif
