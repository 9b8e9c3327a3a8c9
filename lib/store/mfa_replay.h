/* mfa_replay: a second-factor code is accepted once per host. GoTrue does not refuse a TOTP code
 * it has already accepted: another session may verify with it again inside the same 30-second
 * window (supabase/auth v2.185, transcript step 164c). So pam_gotrue remembers each code it sends
 * for a factor, as pam_google_authenticator's DISALLOW_REUSE does, in a root-only file in the
 * state directory, for as long as the server could still accept it.
 *
 * A code is reserved before POST /factors/{id}/verify and kept; only a code the server clearly
 * refused (a 4xx answer: a wrong or expired code) is released. A code whose fate is unknown (a
 * timeout, a lost answer) stays reserved: the user waits for the next one. The file holds
 * SHA-256(factor id, code), never the code, with the time after which the entry is dropped.
 *
 * The file is two slots, written in place (as the token store's record files are): an update
 * goes into the older slot, under a lock, with its sequence number one higher and a checksum, and
 * is made durable (fdatasync) before the code is sent. A crash at any instant leaves the old slot
 * or the new one; a torn slot fails its checksum and the other is read. Rewriting the file by
 * rename instead cost each login a new inode, the old one's discard and two fsyncs (~8 ms on the
 * test machine's disk, against ~2 ms). */
#ifndef GOTRUE_MFA_REPLAY_H
#define GOTRUE_MFA_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <security/pam_ext.h>

#define GOTRUE_MFA_REPLAY_FILE "mfa-used"
/* Entries alive at once. Each lives at most 4 steps (2 minutes), so this is more than 8
 * second-factor logins per second on one host, sustained; past it logins fail closed. */
#define GOTRUE_MFA_REPLAY_MAX 1024
/* GoTrue accepts a TOTP code from one 30-second step either side of its own (pquerna/otp,
 * Skew 1): a code sent in step c may still be taken in step c + 2, so it is kept until c + 2
 * ends, and one step more for the host's clock against the server's: until c + 4 begins. */
#define GOTRUE_MFA_REPLAY_STEP	30
#define GOTRUE_MFA_REPLAY_STEPS 4

/* The layout, little-endian: each slot is a 32-byte header, "GTMFAUS1", a 64-bit sequence
 * number, a 32-bit entry count, 4 zero bytes and a 64-bit FNV-1a checksum of the sequence, the
 * count and the entries; then @count entries of a 64-bit expiry time and a 32-byte digest. */
#define GOTRUE_MFA_REPLAY_MAGIC	    "GTMFAUS1"
#define GOTRUE_MFA_REPLAY_HDR	    32
#define GOTRUE_MFA_REPLAY_ENTRY	    40
#define GOTRUE_MFA_REPLAY_SLOT	    (45056) /* 11 pages: a header and GOTRUE_MFA_REPLAY_MAX entries */
#define GOTRUE_MFA_REPLAY_FILE_SIZE (2 * GOTRUE_MFA_REPLAY_SLOT)

struct gotrue_mfa_replay_entry {
	int64_t expires;
	unsigned char digest[32];
};

struct gotrue_mfa_replay {
	struct gotrue_mfa_replay_entry e[GOTRUE_MFA_REPLAY_MAX];
	size_t n;
	uint64_t seq; /* of the slot read */
	int slot;     /* the slot read (0 or 1): an update goes into the other */
};

/* The file's bytes into @out, from the intact slot with the higher sequence, dropping entries
 * expired at @now. 0, or -1 when the size is not the file's or neither slot is intact (@out
 * then empty). A fuzz target. */
int gotrue_mfa_replay_parse(const unsigned char *buf, size_t len, time_t now,
			    struct gotrue_mfa_replay *out);
/* One slot image of @set with sequence @seq into @buf (GOTRUE_MFA_REPLAY_SLOT bytes); the bytes
 * that matter, header and entries. */
size_t gotrue_mfa_replay_render(const struct gotrue_mfa_replay *set, uint64_t seq,
				unsigned char *buf);

/* Reserve @code for factor @factor_id in @state_dir/mfa-used, waiting at most @timeout_ms for
 * the file's lock. 0 reserved (never seen), 1 already used or reserved (refuse it), -1 error
 * (logged: an unreadable, refused, corrupt or full file fails closed). */
int gotrue_mfa_code_reserve(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
			    const char *code, int timeout_ms);
/* Release a reservation the server refused. 0 or -1 (logged). */
int gotrue_mfa_code_release(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
			    const char *code, int timeout_ms);

#endif
