/* store: the root-owned token store (DESIGN.md "Token store"). One JSON record per PAM session in
 * STATE_DIR/sessions/<id>, written atomically (gotrue_replace_file), read with O_NOFOLLOW and owner
 * and mode checks (gotrue_read_file), and locked per record with flock(2) on <id>.lock.
 * The record id is the opaque handle that authenticate hands to open_session through the PAM
 * environment (GOTRUE_SESSION_HANDLE): random, not a secret, and never enough to use a session. */
#ifndef GOTRUE_STORE_H
#define GOTRUE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include <security/pam_ext.h>

#define GOTRUE_STORE_ID_LEN	32	    /* 128 random bits as lower-case hex */
#define GOTRUE_STORE_RECORD_MAX (64 * 1024) /* two tokens and a few short strings */
#define GOTRUE_STORE_GROUPS_MAX 256

enum gotrue_store_state {
	GOTRUE_STORE_PENDING = 0, /* authenticated, tokens kept, no session opened yet */
	GOTRUE_STORE_ACTIVE,	  /* open_session ran */
	GOTRUE_STORE_CLOSING,	  /* close_session could not revoke: gotruectl refresh retries */
	GOTRUE_STORE_REVOKED,	  /* the server ended it; kept only until the owner notices */
};

struct gotrue_store_record {
	char id[GOTRUE_STORE_ID_LEN + 1];
	enum gotrue_store_state state;
	char *user_id;	     /* GoTrue user id (the JWT's sub) */
	char *login;	     /* Unix login name (PAM_USER) */
	char *session_id;    /* GoTrue session id (the JWT's session_id), may be NULL */
	char *access_token;  /* secret */
	char *refresh_token; /* secret */
	time_t expires_at;   /* of the access token */
	/* Account data captured at authentication, for acct_mgmt (app_metadata only). */
	time_t banned_until;
	char **groups; /* app_metadata.groups, NULL-terminated, may be NULL */
	/* The PAM session. */
	char *service, *tty, *rhost, *xdg_session_id; /* each may be NULL */
	pid_t pid;				      /* 0 until open_session */
	unsigned long long pid_start; /* /proc/PID/stat field 22 of pid, 0 when unknown */
	time_t created, updated;
	/* Set, and written, before a refresh token is sent to /token; cleared when the rotated pair
	 * is stored. A record found with it set may hold a spent refresh token: it is never sent
	 * again, the record is resolved by revocation (lib/lifecycle.c). (Added by H-life.) */
	bool refreshing;
};

struct gotrue_store; /* the sessions directory, checked once when opened */

/* Open (creating with mode 0700 where missing) @state_dir and @state_dir/sessions. Both must be
 * real directories (not links) owned by root (or by geteuid(), for tests run as a user), and not
 * writable by group or others. NULL on error, logged. */
struct gotrue_store *gotrue_store_open(pam_handle_t *pamh, const char *state_dir);
void gotrue_store_close(struct gotrue_store *st);

/* True for a syntactically valid record id (exactly 32 lower-case hex digits); anything else, such
 * as a handle with a '/', is refused before it becomes part of a path. */
bool gotrue_store_id_valid(const char *id);
/* A fresh random id (getrandom(2)). 0 or -errno. */
int gotrue_store_new_id(char id[GOTRUE_STORE_ID_LEN + 1]);

/* Per-record lock: flock(2) on sessions/<id>.lock (created 0600, O_NOFOLLOW). Waits at most
 * @timeout_ms (-1: forever, 0: try once). Returns a descriptor >= 0, or -errno (-EWOULDBLOCK on
 * timeout). Release with gotrue_store_unlock(). Whoever changes a record re-reads it
 * after taking the lock. */
int gotrue_store_lock(struct gotrue_store *st, const char *id, int timeout_ms);
void gotrue_store_unlock(int fd);
/* Per-user lock (sessions/user-<user_id>.lock), held by close_session while it decides whether
 * it is the user's last session on this host (old servers end every session on logout). */
int gotrue_store_lock_user(struct gotrue_store *st, const char *user_id, int timeout_ms);

/* Write @rec (rec->id must be set) atomically, mode 0600; sets rec->updated (and rec->created when
 * 0). 0 or -errno. */
int gotrue_store_write(struct gotrue_store *st, struct gotrue_store_record *rec);
/* Batched durability, for a pass that writes many records (lib/lifecycle.c): the steps of
 * gotrue_store_write with one sync for many files instead of two fsyncs per file.
 *   gotrue_store_stage: format @rec (sets rec->updated) into a temp file beside the record,
 *     not yet synced; *@tmp (free()) names it. The record itself is unchanged.
 *   gotrue_store_sync: make everything staged or committed so far durable (syncfs + directory
 *     fsync). Sync after staging and before committing, so that no rename can reach the disk
 *     before the data it points to; sync again after committing for the renames.
 *   gotrue_store_commit: rename the staged file over record @id (atomic); gotrue_store_discard
 *     removes a staged file that will not be committed.
 * 0 or -errno, logged. (Added by H-refperf.) */
int gotrue_store_stage(struct gotrue_store *st, struct gotrue_store_record *rec, char **tmp);
int gotrue_store_sync(struct gotrue_store *st);
int gotrue_store_commit(struct gotrue_store *st, const char *id, const char *tmp);
void gotrue_store_discard(const char *tmp);

/* Read record @id. 0, -ENOENT when there is none, or another -errno (refused file, bad JSON:
 * -EBADMSG), logged. */
int gotrue_store_read(struct gotrue_store *st, const char *id, struct gotrue_store_record *out);
/* Remove the record and its lock file. 0 or -errno (-ENOENT when already gone). */
int gotrue_store_remove(struct gotrue_store *st, const char *id);

/* Call @each for every readable record, in no particular order. Unreadable records are logged and
 * skipped. @each returns 0 to go on, non-zero to stop (that value is returned). The record passed
 * is cleared after the call; copy what you keep. Returns 0, @each's value, or -errno. */
int gotrue_store_each(struct gotrue_store *st,
		      int (*each)(void *ctx, const struct gotrue_store_record *rec), void *ctx);

/* Count records of @user_id in @state (excluding @except_id, may be NULL). -errno on error. */
int gotrue_store_count_user(struct gotrue_store *st, const char *user_id,
			    enum gotrue_store_state state, const char *except_id);

/* The ids of every record, without reading them: *@ids (free()) holds *@n ids. 0 or -errno.
 * (Added by H-life: a pass locks each record and reads it once, under the lock.) */
int gotrue_store_list_ids(struct gotrue_store *st, char (**ids)[GOTRUE_STORE_ID_LEN + 1],
			  size_t *n);

/* The record format, for the store itself, for gotruectl and for the fuzzer. Parsing is bounded
 * (GOTRUE_STORE_RECORD_MAX, GOTRUE_TOKEN_MAX per token) and type-checked; @buf need not be
 * NUL-terminated. 0 or -1 (@out cleared). */
int gotrue_store_record_parse(const char *buf, size_t len, struct gotrue_store_record *out);
/* Serialise; *@out is released with gotrue_wipe_free(*out, *out_len). 0 or -ENOMEM. */
int gotrue_store_record_format(const struct gotrue_store_record *rec, char **out, size_t *out_len);
/* Wipes the tokens and frees every field. */
void gotrue_store_record_clear(struct gotrue_store_record *rec);

const char *gotrue_store_state_name(enum gotrue_store_state state);
/* Field 22 (starttime) of /proc/@pid/stat, to tell a live owner from a recycled pid. 0 when
 * unknown. */
unsigned long long gotrue_store_pid_start(pid_t pid);
/* Whether @rec's owner still runs: its pid exists, is not a zombie, and (where the record knows
 * it) has the recorded start time. False for pid 0. (Added by H-life.) */
bool gotrue_store_owner_alive(const struct gotrue_store_record *rec);

#endif
