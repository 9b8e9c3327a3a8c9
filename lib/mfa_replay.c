/* mfa_replay: the second-factor codes this host has sent, so that none is sent twice (see
 * mfa_replay.h). One small file, rewritten whole under a lock with gotrue_replace_file (a crash
 * leaves the old file or the new one) and read with gotrue_read_file (O_NOFOLLOW, root-owned,
 * 0600, size-capped). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "mfa_replay.h"
#include "secure.h"

/* "EXPIRES HEX64\n": at most 19 digits. */
#define LINE_MAX_LEN (19 + 1 + 64 + 1)
#define FILE_MAX     (sizeof(GOTRUE_MFA_REPLAY_HEADER) + GOTRUE_MFA_REPLAY_MAX * LINE_MAX_LEN)

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One "EXPIRES HEX64" line of @len bytes (without its '\n'). 0 or -1. */
static int parse_line(const char *p, size_t len, struct gotrue_mfa_replay_entry *e)
{
	long long v = 0;
	size_t i = 0, k;
	int hi, lo;

	while (i < len && i < 19 && p[i] >= '0' && p[i] <= '9')
		v = v * 10 + (p[i++] - '0');
	if (i == 0 || i + 1 + 64 != len || p[i] != ' ')
		return -1;
	p += i + 1;
	for (k = 0; k < 32; k++) {
		hi = hexval(p[2 * k]);
		lo = hexval(p[2 * k + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		e->digest[k] = (unsigned char)(hi << 4 | lo);
	}
	e->expires = (time_t)v;
	return 0;
}

int gotrue_mfa_replay_parse(const char *buf, size_t len, time_t now, struct gotrue_mfa_replay *out)
{
	const size_t hlen = sizeof(GOTRUE_MFA_REPLAY_HEADER) - 1;
	struct gotrue_mfa_replay_entry e;
	const char *p, *end = buf + len, *nl;
	size_t lines = 0;
	int rc = -1;

	out->n = 0;
	if (buf == NULL || len < hlen || memcmp(buf, GOTRUE_MFA_REPLAY_HEADER, hlen) != 0)
		goto cleanup;
	for (p = buf + hlen; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || ++lines > GOTRUE_MFA_REPLAY_MAX ||
		    parse_line(p, (size_t)(nl - p), &e) != 0)
			goto cleanup;
		if (e.expires > now)
			out->e[out->n++] = e;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		out->n = 0;
	return rc;
}

/* SHA-256("gotrue-mfa-code", 0, factor id, 0, code). */
static int code_digest(const char *factor_id, const char *code, unsigned char out[32])
{
	static const char tag[] = "gotrue-mfa-code";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int rc = -1;

	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, tag, sizeof(tag)) == 1 &&
	    EVP_DigestUpdate(md, factor_id, strlen(factor_id) + 1) == 1 &&
	    EVP_DigestUpdate(md, code, strlen(code)) == 1 && EVP_DigestFinal_ex(md, out, &n) == 1 &&
	    n == 32)
		rc = 0;
	EVP_MD_CTX_free(md);
	return rc;
}

/* The set's text: the header and one line per entry. */
static char *render(const struct gotrue_mfa_replay *set, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	char *buf = malloc(FILE_MAX), *o;
	size_t i, k;

	if (buf == NULL)
		return NULL;
	o = buf + snprintf(buf, FILE_MAX, "%s", GOTRUE_MFA_REPLAY_HEADER);
	for (i = 0; i < set->n; i++) {
		o += snprintf(o, 21, "%lld ", (long long)set->e[i].expires);
		for (k = 0; k < 32; k++) {
			*o++ = hex[set->e[i].digest[k] >> 4];
			*o++ = hex[set->e[i].digest[k] & 15];
		}
		*o++ = '\n';
	}
	*len = (size_t)(o - buf);
	return buf;
}

/* What a reservation or a release does to the set: 0 changed, 1 nothing to change, -1 full. */
typedef int (*replay_edit)(struct gotrue_mfa_replay *set, const unsigned char digest[32],
			   time_t now);

static ssize_t find(const struct gotrue_mfa_replay *set, const unsigned char digest[32])
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (CRYPTO_memcmp(set->e[i].digest, digest, 32) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static int add_entry(struct gotrue_mfa_replay *set, const unsigned char digest[32], time_t now)
{
	if (find(set, digest) >= 0)
		return 1;
	if (set->n >= GOTRUE_MFA_REPLAY_MAX)
		return -1;
	set->e[set->n].expires =
		(now / GOTRUE_MFA_REPLAY_STEP + GOTRUE_MFA_REPLAY_STEPS) * GOTRUE_MFA_REPLAY_STEP;
	memcpy(set->e[set->n].digest, digest, 32);
	set->n++;
	return 0;
}

static int remove_entry(struct gotrue_mfa_replay *set, const unsigned char digest[32], time_t now)
{
	ssize_t i = find(set, digest);

	(void)now;
	if (i < 0)
		return 1;
	set->e[i] = set->e[set->n - 1];
	set->n--;
	return 0;
}

static int open_lock(pam_handle_t *pamh, const char *state_dir, int timeout_ms, int *fd_out)
{
	char *path = NULL;
	int fd = -1, rc = -1, r;

	*fd_out = -1;
	/* As the token store does: the state directory is root's and 0755 (it also holds the NSS
	 * cache), and mkdir(2) never follows a planted link. */
	if (mkdir(state_dir, 0755) != 0 && errno != EEXIST) {
		gotrue_log(pamh, LOG_ERR, "cannot create state directory; path=%s error=%s",
			   state_dir, strerror(errno));
		goto cleanup;
	}
	if (asprintf(&path, "%s/%s.lock", state_dir, GOTRUE_MFA_REPLAY_FILE) < 0) {
		path = NULL;
		goto cleanup;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	r = fd < 0 ? -errno : gotrue_flock_wait(fd, timeout_ms);
	if (r != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot lock the used-code file: %s; path=%s",
			   strerror(-r), path);
		goto cleanup;
	}
	*fd_out = fd;
	fd = -1;
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* Read the set (none yet: empty), apply @edit under the lock, write it back when it changed.
 * 0 changed, 1 unchanged, -1 error (logged). */
static int update(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
		  const char *code, int timeout_ms, replay_edit edit)
{
	struct gotrue_mfa_replay *set = calloc(1, sizeof(*set));
	unsigned char digest[32] = {0};
	char *path = NULL, *buf = NULL, *text = NULL;
	size_t len = 0, tlen = 0;
	time_t now = time(NULL);
	int fd = -1, rc = -1, r;

	if (asprintf(&path, "%s/%s", state_dir, GOTRUE_MFA_REPLAY_FILE) < 0) {
		path = NULL;
		goto cleanup;
	}
	if (set == NULL || code_digest(factor_id, code, digest) != 0)
		goto cleanup;
	if (open_lock(pamh, state_dir, timeout_ms, &fd) != 0)
		goto cleanup;
	r = gotrue_read_file(pamh, path, GOTRUE_FILE_SECRET, FILE_MAX, &buf, &len);
	if (r != 0 && r != -ENOENT)
		goto cleanup; /* logged */
	if (r == 0 && gotrue_mfa_replay_parse(buf, len, now, set) != 0) {
		gotrue_log(pamh, LOG_ERR,
			   "the used-code file is malformed; second-factor logins fail until it is "
			   "removed; path=%s",
			   path);
		goto cleanup;
	}
	rc = edit(set, digest, now);
	if (rc < 0) {
		gotrue_log(pamh, LOG_ERR,
			   "the used-code file is full (%d codes in the last minutes); refusing; "
			   "path=%s",
			   GOTRUE_MFA_REPLAY_MAX, path);
		goto cleanup;
	}
	if (rc == 1)
		goto cleanup;
	text = render(set, &tlen);
	r = text != NULL ? gotrue_replace_file(path, text, tlen, 0600) : -ENOMEM;
	if (r != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot write the used-code file: %s; path=%s",
			   strerror(-r), path);
		rc = -1;
	}
cleanup:
	if (fd >= 0)
		close(fd); /* releases the flock */
	if (buf != NULL)
		gotrue_wipe_free(buf, len + 1);
	free(text);
	free(set);
	free(path);
	explicit_bzero(digest, sizeof(digest));
	return rc;
}

int gotrue_mfa_code_reserve(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
			    const char *code, int timeout_ms)
{
	return update(pamh, state_dir, factor_id, code, timeout_ms, add_entry);
}

int gotrue_mfa_code_release(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
			    const char *code, int timeout_ms)
{
	return update(pamh, state_dir, factor_id, code, timeout_ms, remove_entry) < 0 ? -1 : 0;
}
