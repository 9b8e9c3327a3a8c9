/* store: the root-owned token store (pam_gotrue(8), FILES). One file per PAM session in
 * STATE_DIR/sessions/<id>, read with O_NOFOLLOW and owner, mode and link checks, and locked per
 * record with flock(2) on <id>.lock.
 * The record id is the opaque handle that authenticate hands to open_session through the PAM
 * environment (GOTRUE_SESSION_HANDLE): random, not a secret, and never enough to use a session.
 *
 * Record file (an update must not create a file: creating one is what costs on ext4).
 * Two slots of slot_size bytes (a multiple of 4096, fixed for the file's life), slot 0 at offset
 * 0 and slot 1 at slot_size; each is a GOTRUE_STORE_SLOT_HEADER-byte header (magic, format
 * version, slot size, sequence number, payload length, SHA-256 over the header fields and the
 * payload) and the JSON payload of gotrue_store_record_format, zero-padded.
 *   - Reading takes, of the slots whose header, bounds and checksum hold, the one with the newer
 *     sequence, and parses it: a payload that does not parse, for lack of memory too, fails the
 *     read rather than fall back to the older slot, which may hold a spent refresh token.
 *     None: -EBADMSG.
 *   - An update writes sequence+1 into the OTHER slot, in place (one pwrite), so a torn write
 *     only ever damages the older copy.
 *   - The write rule, which makes that true: the newest version must be durable before the other
 *     slot is written, or two writes in a row, both torn, could leave no intact version. The
 *     store enforces it: a write first syncs what this handle cannot prove durable (a record it
 *     has not read and synced since: another writer may have been killed between its write and
 *     its sync). Unsynced writes (gotrue_store_write_unsynced) must be made durable with
 *     gotrue_store_sync() BEFORE the record's lock is released: after that, a writer in another
 *     process has no way to know.
 *   - A new record, a payload that no longer fits its slot, and a file that failed its checks are
 *     written as a new file with gotrue_replace_file (temp file, fsync, rename, directory fsync):
 *     slot 0 holds sequence n, slot 1 zeros.
 *   - The older slot keeps the previous version, tokens included: after a rotation that is a
 *     spent refresh token, useless (GoTrue refuses reuse and revokes the session), and an access
 *     token no newer than the live one, in a 0600 file in a 0700 directory. Removal wipes both. */
#ifndef GOTRUE_STORE_H
#define GOTRUE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <security/pam_ext.h>

#define GOTRUE_STORE_ID_LEN	 32	     /* 128 random bits as lower-case hex */
#define GOTRUE_STORE_RECORD_MAX	 (64 * 1024) /* two tokens and a few short strings */
#define GOTRUE_STORE_GROUPS_MAX	 256
#define GOTRUE_STORE_SLOT_HEADER 64
#define GOTRUE_STORE_SLOT_MIN	 4096
#define GOTRUE_STORE_SLOT_MAX	 (33 * 4096) /* >= SLOT_HEADER + 2 * RECORD_MAX, rounded up */

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
	/* The kernel's audit session id of pid, recorded only when it is this login's own
	 * (lib/store/proc.h gotrue_proc_login_audit_session), and the boot it belongs to; 0 and
	 * NULL otherwise, and in records written before they existed. */
	unsigned int audit_session;
	char *boot_id;
	time_t created, updated;
	/* Set, and written, before a refresh token is sent to /token; cleared when the rotated pair
	 * is stored. A record found with it set may hold a spent refresh token
	 * (lib/sync/lifecycle.c): on a current server the pass may send it once more (`resent`), on
	 * v2.69 never; otherwise the record is resolved by revocation. */
	bool refreshing;
	/* Set with `refreshing`, and written, before the pass sends that token once more: a record
	 * found with both set is never sent again. */
	bool resent;
	/* Revoked because GoTrue (or an administrator) ended the GoTrue session, not because a pass
	 * resolved its own interrupted refresh: revoked_session=terminate ends such a Linux
	 * session, on every pass until it is gone. */
	bool server_ended;
	/* Authenticated offline, with a verifier while GoTrue could not be reached
	 * (lib/store/offline.h): no GoTrue session, no token, nothing to refresh or revoke. Its
	 * expires_at is GOTRUE_STORE_OFFLINE_EXPIRES. Absent (false) in older records. */
	bool offline;
};
/* An offline record's expires_at: past any refresh margin, so that no pass takes it for a token
 * due for refresh (it has none). INT32_MAX keeps it a time every tool can print. */
#define GOTRUE_STORE_OFFLINE_EXPIRES ((time_t)INT32_MAX)

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

/* Write @rec (rec->id must be set), mode 0600, durably: in place into the older slot and
 * fdatasync(2), or as a new file (see the top of this file); sets rec->updated (and rec->created
 * when 0). A new record gets its lock file first (the write fails without it). A crash at any
 * instant leaves the old version or the new one. 0 or -errno (-EFBIG: the record is over
 * GOTRUE_STORE_RECORD_MAX; -ENOMEM also when the handle cannot track the record's durability). */
int gotrue_store_write(struct gotrue_store *st, struct gotrue_store_record *rec);
/* Batched durability, for a pass that writes many records (lib/sync/lifecycle.c): the same write
 * without its fdatasync; the record's older slot holds the previous version until
 * gotrue_store_sync() (syncfs(2) + directory fsync) makes every write so far durable. Call it
 * before releasing the records' locks, and before acting on a write (such as sending the refresh
 * token a `refreshing` marker guards). A second write of the same record without a sync between
 * is synced first by the store itself (the write rule). gotrue_store_close() syncs what was left
 * unsynced. 0 or -errno, logged. */
int gotrue_store_write_unsynced(struct gotrue_store *st, struct gotrue_store_record *rec);
int gotrue_store_sync(struct gotrue_store *st);

/* Read record @id, whole: the newest version or an error, never silently an older one. 0,
 * -ENOENT when there is none, or another -errno (refused file, bad JSON: -EBADMSG; -ENOMEM),
 * logged. */
int gotrue_store_read(struct gotrue_store *st, const char *id, struct gotrue_store_record *out);
/* gotrue_store_read, keeping the record's file open (one descriptor) with what the read learnt of
 * its slots, so that the following writes of the record through @st neither open nor re-read
 * it: a refresh pass writes each due record twice under one lock. Only under the record's lock
 * (gotrue_store_lock, taken before this read): the writes trust that nobody else changed the file
 * meanwhile, which the lock guarantees, every writer of an existing record taking it. Release
 * it with gotrue_store_release() before the lock goes;
 * gotrue_store_remove(), a new read of the record and gotrue_store_close() release it too. */
int gotrue_store_read_held(struct gotrue_store *st, const char *id,
			   struct gotrue_store_record *out);
void gotrue_store_release(struct gotrue_store *st, const char *id);

/* Remove the record and its lock file. The record's name goes first, then its blocks are
 * overwritten with zeros and synced (both slots hold tokens). 0 or -errno (-ENOENT when already
 * gone). */
int gotrue_store_remove(struct gotrue_store *st, const char *id);

/* Call @each for every readable record, in no particular order. Unreadable records are logged and
 * skipped; a record that could not be read for lack of memory stops the walk (-ENOMEM). @each
 * returns 0 to go on, non-zero to stop (that value is returned). The record passed
 * is cleared after the call; copy what you keep. Returns 0, @each's value, or -errno. */
int gotrue_store_each(struct gotrue_store *st,
		      int (*each)(void *ctx, const struct gotrue_store_record *rec), void *ctx);

/* Count records of @user_id in @state (excluding @except_id, may be NULL). -errno on error. */
int gotrue_store_count_user(struct gotrue_store *st, const char *user_id,
			    enum gotrue_store_state state, const char *except_id);

/* The ids of every record, without reading them (a refresh pass locks each record and reads it
 * once, under the lock): *@ids (free()) holds *@n ids. 0 or -errno. */
int gotrue_store_list_ids(struct gotrue_store *st, char (**ids)[GOTRUE_STORE_ID_LEN + 1],
			  size_t *n);

/* Remove the temp files (".<id>.XXXXXX") of record writers killed before their rename, when
 * older than @min_age seconds, wiped like a record (gotruectl sessions gc). *@removed gets the
 * count. 0 or -errno. */
int gotrue_store_remove_stale_temp(struct gotrue_store *st, time_t min_age, unsigned int *removed);

/* The record format, for the store itself, for gotruectl and for the fuzzer. Parsing is bounded
 * (GOTRUE_STORE_RECORD_MAX, GOTRUE_TOKEN_MAX per token) and type-checked; @buf need not be
 * NUL-terminated. It takes either one JSON payload or a whole record file (starting with the
 * slot magic), read as gotrue_store_read does. 0, -EBADMSG, or -ENOMEM (@out cleared). */
int gotrue_store_record_parse(const char *buf, size_t len, struct gotrue_store_record *out);
/* Serialise; *@out is released with gotrue_wipe_free(*out, *out_len). 0 or -ENOMEM. */
int gotrue_store_record_format(const struct gotrue_store_record *rec, char **out, size_t *out_len);
/* A whole record file image of @len bytes: the newest intact slot (see the top of this file),
 * whole, or nothing: when that slot cannot be parsed, for lack of memory too, the older one is
 * not taken instead. *@seq (may be NULL) gets its sequence number. 0, -EBADMSG, or -ENOMEM
 * (@out cleared). */
int gotrue_store_file_parse(const unsigned char *buf, size_t len, struct gotrue_store_record *out,
			    uint64_t *seq);
/* The slot size a new file gets for a payload of @payload_len bytes: room for it to double,
 * rounded up to 4096, at most GOTRUE_STORE_SLOT_MAX. */
size_t gotrue_store_slot_size(size_t payload_len);
/* Encode one slot (header, @payload, zero padding) into @slot, @slot_size bytes, as version
 * @seq. For the store, and for tests and the fuzzer's seeds. 0 or -EINVAL (a size out of bounds
 * or a payload that does not fit). */
int gotrue_store_slot_encode(unsigned char *slot, size_t slot_size, uint64_t seq,
			     const char *payload, size_t len);
/* Wipes the tokens and frees every field. */
void gotrue_store_record_clear(struct gotrue_store_record *rec);

const char *gotrue_store_state_name(enum gotrue_store_state state);
/* Field 22 (starttime) of /proc/@pid/stat, to tell a live owner from a recycled pid. 0 when
 * unknown. */
unsigned long long gotrue_store_pid_start(pid_t pid);
/* Whether @rec's owner still runs: its pid exists, is not a zombie, and (where the record knows
 * it) has the recorded start time. False for pid 0. */
bool gotrue_store_owner_alive(const struct gotrue_store_record *rec);

#endif
