/* throttle: the local failure throttle, in the manner of pam_faillock(8). Every password the module
 * tries is one POST /token from this host's address, and GoTrue limits /token per client address:
 * without a local limit one remote guesser could spend the host's allowance and lock every GoTrue
 * user out of it. So failed attempts are counted here, per login name and per remote host, and a
 * name or host over its limit is refused without a request.
 *
 * Semantics (pam_faillock's, per bucket):
 *   - A bucket is locked once it holds `limit` failures that lie within throttle_interval of its
 *     latest one, and stays locked until throttle_unlock_time after that latest failure. An
 *     attempt refused while locked is not a failure (it reached nobody), so it does not extend
 *     the lock. The first failure after a lock ran out starts the count over.
 *   - Failures older than throttle_interval are forgotten.
 *   - A success clears the user's bucket, not the host's: a guesser who knows one password (their
 *     own) must not be able to wipe the host's count with it between guesses.
 *   - Attempts already under way when a bucket reaches its limit still finish and still count, so
 *     N concurrent attempts can overshoot the limit by N - 1 requests (sshd's MaxStartups bounds
 *     N). Counting an attempt before its request would refuse parallel good logins from one
 *     address (a configuration tool fanning out) instead.
 *   - Host buckets are keyed by PAM_RHOST, normalised: an IPv4 address as such, an IPv6 address by
 *     its /64 (one subscriber's allocation: a guesser who owns a /64 is one host, not 2^64), an
 *     IPv4-mapped IPv6 address as the IPv4 address, a host name lower-cased. No PAM_RHOST (sudo,
 *     su, the console) is the one local bucket.
 *
 * The table (STATE_DIR/throttle/tally, root 0600 in a root 0700 directory) is a fixed-size file:
 * a header (magic, geometry, a random secret) then one 512-byte slot per bucket, the user half
 * first, the host half after it. It never grows. Slots are read and written in place (pread and
 * pwrite of one slot) under flock(2) on the file itself, and each carries an HMAC under the
 * header's secret: a torn write (a crash, a power cut) leaves one slot that fails its check and is
 * taken as empty, i.e. one bucket's count lost, never a wrong count. Counts are not fsynced: a
 * power cut may lose the latest ones, which an attacker gains nothing from.
 *
 * Where a bucket lives, and what a full table gives up (the eviction rule): a bucket may sit only
 * in a window of GOTRUE_THROTTLE_WINDOW consecutive slots of its half, starting at a position
 * derived from an HMAC of its key under the table's secret, so nobody outside can aim names or
 * addresses at one window, and users and hosts never compete. A new bucket takes a free slot of
 * its window (empty, or not locked with every failure older than throttle_interval). When none is
 * free it takes the slot with the least to lose: an unlocked one before a locked one, then the one
 * with fewer recent failures, then the one whose latest failure is older. A spray of fresh names
 * or addresses therefore displaces itself long before it displaces a bucket near or at its limit;
 * to free one locked bucket an attacker must first lock every other bucket of its unknown window,
 * in practice most of the table, each lock costing `limit` refused sign-ins at the server.
 *
 * A missing table is created whole, and only while it is still missing (link(2) of a written
 * temp file), so that the first failures on a host, all at once, agree on one table and lose no
 * count. A table that is not what this code writes (wrong magic, geometry or size, a link, not a
 * regular file, a wrong owner or mode) is logged at LOG_ERR and replaced by an empty one,
 * atomically, by the first failure that finds it so under its lock: the
 * counts are a rate limiter's memory, they grant nothing, and losing them costs at most one
 * limit's worth of attempts per bucket, whereas refusing every login until an administrator
 * repairs the file would lock everyone out. Only root can write there, so an attacker cannot
 * cause it. A table that cannot be used at all (a refused directory, an I/O error, the lock not
 * obtained in time) is an error: the module then refuses the login (fail closed). */
#ifndef GOTRUE_THROTTLE_H
#define GOTRUE_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"

#define GOTRUE_THROTTLE_LABEL_MAX 63   /* a key's shown form; longer keys still match whole */
#define GOTRUE_THROTTLE_HOST_MAX  1024 /* a normalised PAM_RHOST */
#define GOTRUE_THROTTLE_WINDOW	  16   /* slots a bucket may occupy */
#define GOTRUE_THROTTLE_SLOTS	  2048 /* per half (users, hosts) of a new table */

enum gotrue_throttle_kind {
	GOTRUE_THROTTLE_USER = 1,
	GOTRUE_THROTTLE_HOST = 2,
};

/* What a check (or a failure just recorded) found: the bucket that locks, if any. */
struct gotrue_throttle_verdict {
	bool locked;
	enum gotrue_throttle_kind by; /* with @locked: which bucket (the longer wait of the two) */
	unsigned int failures;	      /* its failures within throttle_interval */
	long wait;		      /* seconds until it unlocks */
};

/* One bucket, as gotruectl shows it. */
struct gotrue_throttle_entry {
	enum gotrue_throttle_kind kind;
	char label[GOTRUE_THROTTLE_LABEL_MAX + 1]; /* the user name or host key ("" = local) */
	bool truncated;				   /* @label is the start of a longer key */
	unsigned int failures;			   /* within throttle_interval of @last */
	time_t last;				   /* latest failure */
	bool locked;
	long wait; /* with @locked: seconds until it unlocks */
};

/* The three calls of the login path. Each opens STATE_DIR/throttle/tally, takes its lock, does its
 * work and closes it. Only a failure creates the table or replaces a damaged one (as described
 * above); a check or a success takes a missing or damaged table as empty and writes nothing new,
 * so an attempt that fails for any other reason (the server down) leaves the state directory as
 * it was. A limit of 0 leaves that kind of bucket alone, and with both limits 0 nothing is opened
 * at all.
 * @user is the login name, @rhost PAM_RHOST (NULL or "" for a local attempt). Each returns 0 or
 * -errno, logged. */
/* Whether the attempt may go to the server; *@v says. Changes nothing. */
int gotrue_throttle_check(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *user,
			  const char *rhost, time_t now, struct gotrue_throttle_verdict *v);
/* Count a failed attempt (a password or a code the server refused, a failed offline attempt) in
 * the user's and the host's bucket. *@v (may be NULL) says whether either is now locked. */
int gotrue_throttle_fail(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *user,
			 const char *rhost, time_t now, struct gotrue_throttle_verdict *v);
/* Clear the user's bucket after a successful login. */
int gotrue_throttle_success(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *user);

/* The host key of @rhost (see above) into @out; "" for NULL or "". */
void gotrue_throttle_host_key(const char *rhost, char *out, size_t len);

/* An open, locked table, for gotruectl, the tests and the fuzzer. */
struct gotrue_throttle;
enum gotrue_throttle_mode {
	GOTRUE_THROTTLE_READ,	/* to look at it: nothing on disk changes */
	GOTRUE_THROTTLE_UPDATE, /* to change buckets, but neither create nor replace the table */
	GOTRUE_THROTTLE_CREATE, /* the login path's: create a missing table, replace a damaged one
				 */
};
/* Open STATE_DIR's table. Except with GOTRUE_THROTTLE_CREATE, a missing state directory, directory
 * or table is -ENOENT (unlogged) and a damaged table -EBADMSG (logged). The lock waits at most
 * @timeout_ms. */
int gotrue_throttle_open(pam_handle_t *pamh, const char *state_dir, enum gotrue_throttle_mode mode,
			 int timeout_ms, struct gotrue_throttle **out);
/* A table held in memory: @img (@len bytes, a table file's image) is used and changed in place
 * and must outlive the handle. 0, or -EBADMSG when its header or size is not a table's. */
int gotrue_throttle_open_image(unsigned char *img, size_t len, struct gotrue_throttle **out);
void gotrue_throttle_close(struct gotrue_throttle *t);
/* A new empty table image of @users and @hosts slots a half, @window slots a window, with a fresh
 * random secret: *@len bytes, free(). NULL on a bad geometry or ENOMEM. */
unsigned char *gotrue_throttle_image_new(uint32_t users, uint32_t hosts, uint32_t window,
					 size_t *len);

/* The operations, on an open table. @key is a login name or a host key (gotrue_throttle_host_key).
 * Limits, interval and unlock time come from @cfg. 0 or -errno. */
int gotrue_throttle_table_check(struct gotrue_throttle *t, const struct gotrue_config *cfg,
				const char *user, const char *host, time_t now,
				struct gotrue_throttle_verdict *v);
int gotrue_throttle_table_fail(struct gotrue_throttle *t, const struct gotrue_config *cfg,
			       const char *user, const char *host, time_t now,
			       struct gotrue_throttle_verdict *v);
/* Forget one bucket: 0, or -ENOENT when it holds nothing. */
int gotrue_throttle_forget(struct gotrue_throttle *t, enum gotrue_throttle_kind kind,
			   const char *key);
/* Call @each for every bucket with a failure within throttle_interval or a lock, in slot order;
 * a non-zero return stops and is returned. */
int gotrue_throttle_each(struct gotrue_throttle *t, const struct gotrue_config *cfg, time_t now,
			 int (*each)(void *ctx, const struct gotrue_throttle_entry *e), void *ctx);
/* Replace STATE_DIR's table with an empty one (gotruectl throttle reset --all). 0 or -errno. */
int gotrue_throttle_clear(pam_handle_t *pamh, const char *state_dir);

#endif
