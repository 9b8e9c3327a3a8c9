/* mfa_replay: a second-factor code is accepted once per host. GoTrue does not refuse a TOTP code
 * it has already accepted: another session may verify with it again inside the same 30-second
 * window (supabase/auth v2.185, transcript step 164c). So pam_gotrue remembers each code it sends
 * for a factor, as pam_google_authenticator's DISALLOW_REUSE does, in a root-only file in the
 * state directory, for as long as the server could still accept it.
 *
 * A code is reserved before POST /factors/{id}/verify and kept; only a code the server clearly
 * refused (a 4xx answer: a wrong or expired code) is released. A code whose fate is unknown (a
 * timeout, a lost answer) stays reserved: the user waits for the next one. The file holds
 * SHA-256(factor id, code), never the code, with the time after which the entry is dropped. */
#ifndef GOTRUE_MFA_REPLAY_H
#define GOTRUE_MFA_REPLAY_H

#include <stddef.h>
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
/* The file's first line. */
#define GOTRUE_MFA_REPLAY_HEADER "gotrue-mfa-used 1\n"

struct gotrue_mfa_replay_entry {
	time_t expires;
	unsigned char digest[32];
};

struct gotrue_mfa_replay {
	struct gotrue_mfa_replay_entry e[GOTRUE_MFA_REPLAY_MAX];
	size_t n;
};

/* The file's text (need not be NUL-terminated) into @out, dropping the entries expired at @now.
 * A header line, then one "EXPIRES HEX64" line per entry, each ending in '\n'; anything else,
 * or more than GOTRUE_MFA_REPLAY_MAX lines, is malformed. 0 or -1. A fuzz target. */
int gotrue_mfa_replay_parse(const char *buf, size_t len, time_t now, struct gotrue_mfa_replay *out);

/* Reserve @code for factor @factor_id in @state_dir/mfa-used, waiting at most @timeout_ms for
 * the file's lock. 0 reserved (never seen), 1 already used or reserved (refuse it), -1 error
 * (logged: an unreadable, refused or full file fails closed). */
int gotrue_mfa_code_reserve(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
			    const char *code, int timeout_ms);
/* Release a reservation the server refused. 0 or -1 (logged). */
int gotrue_mfa_code_release(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
			    const char *code, int timeout_ms);

#endif
