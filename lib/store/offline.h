/* offline: what lets a user who logged in recently log in again while GoTrue cannot be reached
 * (pam_gotrue(8), OFFLINE LOGIN; off unless offline_login = yes). SSSD's cache_credentials is the
 * point of comparison; this is narrower:
 *   - What is kept: after a successful online login (its second factor included), a yescrypt
 *     verifier of the password (crypt(5), "$y$", cost GOTRUE_OFFLINE_COST, a fresh salt from
 *     libxcrypt), the GoTrue user id and login name, the time of that login and whether it
 *     reached aal2. Never the password, never a token.
 *   - When it is used: only when the server could not give an answer (the PAM module decides
 *     that); never when it refused.
 *   - Bounded guessing: each failed offline attempt is counted in the verifier itself, under its
 *     lock, before the attempt's result can reach anyone; the attempt that reaches the limit
 *     erases it. Only an online login makes a new one, so the limit bounds the guesses against
 *     one verifier over its whole life, not per time window (SSSD's
 *     offline_failed_login_attempts only delays the next try).
 *   - Bounded life: a verifier older than offline_days is refused and erased when it is tried,
 *     and sync erases the verifiers of users it no longer lists, or lists as banned.
 *
 * One file per user, STATE_DIR/offline/<user id>, root's and 0600 in a root 0700 directory,
 * rather than one table: a file is replaced whole by gotrue_replace_file (temp file, fsync,
 * rename, directory fsync), so a crash at any instant leaves the old verifier or the new one;
 * erasing one user's is an unlink; concurrent logins of different users take different locks
 * (flock(2) on the file itself, the name checked again once locked, since a replacement is a new
 * inode). The size is bounded: at most one file of at most GOTRUE_OFFLINE_FILE_MAX bytes per
 * GoTrue user that logged in on this host with offline_login on and whom the last sync still
 * listed, unbanned. A table of fixed size would instead have to choose whose verifier to drop.
 *
 * The file is one JSON object: {"version":1,"user_id":"...","login":"...","at":T,"aal":"aal1",
 * "failures":N,"hash":"$y$..."}. */
#ifndef GOTRUE_OFFLINE_H
#define GOTRUE_OFFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <security/pam_ext.h>

#define GOTRUE_OFFLINE_DIR	 "offline"
#define GOTRUE_OFFLINE_FILE_MAX	 1024
#define GOTRUE_OFFLINE_ID_MAX	 64  /* GoTrue user ids are UUIDs: 36 */
#define GOTRUE_OFFLINE_LOGIN_MAX 32  /* ^[a-z_][a-z0-9_.-]{0,31}$ (lib/directory/idmap.h) */
#define GOTRUE_OFFLINE_HASH_MAX	 128 /* "$y$j9T$" + salt + '$' + 43: about 73 */
/* pam_unix's yescrypt cost (Linux-PAM 1.5 support.c: 5 unless rounds= is given; it does not read
 * login.defs' YESCRYPT_COST_FACTOR, whose default is 5 too): an offline login costs what a local
 * password login costs, about 20 ms and 16 MiB here. */
#define GOTRUE_OFFLINE_COST 5
/* How long a login waits for other logins of the same user to let go of the verifier: each
 * holds it for one yescrypt and one file replacement. */
#define GOTRUE_OFFLINE_LOCK_MS 5000

struct gotrue_offline_verifier {
	char user_id[GOTRUE_OFFLINE_ID_MAX + 1];
	char login[GOTRUE_OFFLINE_LOGIN_MAX + 1];
	time_t at;	       /* the online login that made it */
	bool aal2;	       /* that login used a second factor */
	unsigned int failures; /* failed offline attempts since */
	char hash[GOTRUE_OFFLINE_HASH_MAX + 1];
};

/* A user id that may name a file: 1 to GOTRUE_OFFLINE_ID_MAX of [0-9a-f-]. */
bool gotrue_offline_id_valid(const char *id);

/* The file's bytes into @out, strictly: every member present and of its type, nothing else, a
 * valid id and login, a "$y$" hash. 0, or -EBADMSG (@out zeroed). A fuzz target. */
int gotrue_offline_parse(const char *buf, size_t len, struct gotrue_offline_verifier *out);
/* @v as the file holds it, into @buf (GOTRUE_OFFLINE_FILE_MAX bytes). The length, or 0 when @v
 * is not valid (it would not parse back). */
size_t gotrue_offline_format(const struct gotrue_offline_verifier *v, char *buf);
/* Wipes @v (the hash is not a password, but it is what a guesser would start from). */
void gotrue_offline_clear(struct gotrue_offline_verifier *v);

/* A new verifier of @password for @user_id / @login, made at @now: yescrypt at
 * GOTRUE_OFFLINE_COST with a fresh salt, no failures. 0, -EINVAL (an id or login that cannot be
 * kept, an empty password) or -ENOSYS (libcrypt has no yescrypt). */
int gotrue_offline_make(const char *user_id, const char *login, const char *password, bool aal2,
			time_t now, struct gotrue_offline_verifier *out);
/* Put @v in place of its user's verifier, atomically, waiting for the user's lock. Creates
 * STATE_DIR/offline where missing. 0 or -errno, logged. */
int gotrue_offline_store(pam_handle_t *pamh, const char *state_dir,
			 const struct gotrue_offline_verifier *v);

/* An offline attempt. */
struct gotrue_offline_try {
	const char *user_id; /* from the account index */
	const char *login;   /* PAM_USER */
	const char *password;
	time_t now;
	long max_age;		   /* seconds after the online login (offline_days) */
	unsigned int max_failures; /* offline_attempts */
	bool has_factor;	   /* the account index marks a second factor */
	bool factor_allowed;	   /* offline_mfa = allow: the factor is not asked offline */
	bool factor_required;	   /* mfa = required: only an aal2 verifier will do */
};
enum gotrue_offline_verdict {
	GOTRUE_OFFLINE_MATCH,	  /* the password is the one the verifier was made of */
	GOTRUE_OFFLINE_MISMATCH,  /* it is not: counted (the verifier's failures say how many) */
	GOTRUE_OFFLINE_EXHAUSTED, /* it is not, and that was the last attempt: erased */
	GOTRUE_OFFLINE_NONE,	  /* no verifier */
	GOTRUE_OFFLINE_EXPIRED,	  /* older than max_age (or dated ahead of the clock): erased */
	GOTRUE_OFFLINE_MISFIT,	  /* made for another login name or user, or unreadable: erased */
	GOTRUE_OFFLINE_NEEDS_FACTOR, /* the user has a second factor and the policy wants it */
};
/* Try @t against the user's verifier, under its lock. The password is hashed only when nothing
 * else refuses first, and a mismatch is written before this returns. *@seen (may be NULL) gets
 * the verifier as it was read (zeroed when there was none). 0 with *@verdict, or -errno
 * (logged): the attempt must then fail. */
int gotrue_offline_try(pam_handle_t *pamh, const char *state_dir,
		       const struct gotrue_offline_try *t, enum gotrue_offline_verdict *verdict,
		       struct gotrue_offline_verifier *seen);

/* Erase the file @name of STATE_DIR/offline, a verifier by its user id or a file that is none:
 * its bytes overwritten, then unlinked, under its lock. 0, -ENOENT when there was none, or
 * another -errno (logged). */
int gotrue_offline_forget(pam_handle_t *pamh, const char *state_dir, const char *name);

/* Every file in STATE_DIR/offline, in no particular order: @each gets the verifier, or NULL for
 * a file that is none (damaged, a stray name), with the file's name; a non-zero return stops and
 * is returned. Temporary files of writers killed before their rename are removed when older
 * than a minute. A missing directory is no verifier at all: 0. Returns 0, @each's value, or
 * -errno (logged). */
int gotrue_offline_each(pam_handle_t *pamh, const char *state_dir,
			int (*each)(void *ctx, const char *name,
				    const struct gotrue_offline_verifier *v),
			void *ctx);

#endif
