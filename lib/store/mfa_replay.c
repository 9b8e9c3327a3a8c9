/* mfa_replay: the second-factor codes this host has sent, so that none is sent twice (see
 * mfa_replay.h for why and for the file's layout). Opened with O_NOFOLLOW and checked as a secret
 * file (root's, 0600, exactly the file's size), locked with flock(2), updated in place, one slot
 * at a time, durably before the code goes out. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "mfa_replay.h"
#include "secure.h"

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* FNV-1a 64 over [@p, @p + @len): a torn write, not an adversary (the file is root's alone). */
static uint64_t fnv(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Slot @s of @buf: -1 when not intact, else 0 with its sequence and count. */
static int slot_intact(const unsigned char *s, uint64_t *seq, size_t *n)
{
	uint64_t count = get64(s + 16) & 0xffffffffu;
	unsigned char tmp[12];

	if (memcmp(s, GOTRUE_MFA_REPLAY_MAGIC, 8) != 0 || count > GOTRUE_MFA_REPLAY_MAX ||
	    get64(s + 16) >> 32 != 0)
		return -1;
	/* The checksum covers the sequence, the count and the entries, in that order. */
	memcpy(tmp, s + 8, 8);
	memcpy(tmp + 8, s + 16, 4);
	if ((fnv(tmp, 12) ^ fnv(s + GOTRUE_MFA_REPLAY_HDR, count * GOTRUE_MFA_REPLAY_ENTRY)) !=
	    get64(s + 24))
		return -1;
	*seq = get64(s + 8);
	*n = (size_t)count;
	return 0;
}

int gotrue_mfa_replay_parse(const unsigned char *buf, size_t len, time_t now,
			    struct gotrue_mfa_replay *out)
{
	const unsigned char *s, *e;
	uint64_t seq[2] = {0, 0};
	size_t n[2] = {0, 0}, i;
	int ok[2], pick;

	out->n = 0;
	out->seq = 0;
	out->slot = 0;
	if (buf == NULL || len != GOTRUE_MFA_REPLAY_FILE_SIZE)
		return -1;
	ok[0] = slot_intact(buf, &seq[0], &n[0]) == 0;
	ok[1] = slot_intact(buf + GOTRUE_MFA_REPLAY_SLOT, &seq[1], &n[1]) == 0;
	if (!ok[0] && !ok[1])
		return -1;
	pick = !ok[0] || (ok[1] && seq[1] > seq[0]) ? 1 : 0;
	s = buf + (size_t)pick * GOTRUE_MFA_REPLAY_SLOT;
	for (i = 0; i < n[pick]; i++) {
		e = s + GOTRUE_MFA_REPLAY_HDR + i * GOTRUE_MFA_REPLAY_ENTRY;
		if ((int64_t)get64(e) <= (int64_t)now)
			continue;
		out->e[out->n].expires = (int64_t)get64(e);
		memcpy(out->e[out->n].digest, e + 8, 32);
		out->n++;
	}
	out->seq = seq[pick];
	out->slot = pick;
	return 0;
}

size_t gotrue_mfa_replay_render(const struct gotrue_mfa_replay *set, uint64_t seq,
				unsigned char *buf)
{
	size_t i, len = GOTRUE_MFA_REPLAY_HDR + set->n * GOTRUE_MFA_REPLAY_ENTRY;
	unsigned char tmp[12];

	memset(buf, 0, GOTRUE_MFA_REPLAY_HDR);
	memcpy(buf, GOTRUE_MFA_REPLAY_MAGIC, 8);
	put64(buf + 8, seq);
	put64(buf + 16, (uint64_t)set->n);
	for (i = 0; i < set->n; i++) {
		unsigned char *e = buf + GOTRUE_MFA_REPLAY_HDR + i * GOTRUE_MFA_REPLAY_ENTRY;

		put64(e, (uint64_t)set->e[i].expires);
		memcpy(e + 8, set->e[i].digest, 32);
	}
	memcpy(tmp, buf + 8, 8);
	memcpy(tmp + 8, buf + 16, 4);
	put64(buf + 24,
	      fnv(tmp, 12) ^ fnv(buf + GOTRUE_MFA_REPLAY_HDR, len - GOTRUE_MFA_REPLAY_HDR));
	return len;
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
	set->e[set->n].expires = ((int64_t)now / GOTRUE_MFA_REPLAY_STEP + GOTRUE_MFA_REPLAY_STEPS) *
				 GOTRUE_MFA_REPLAY_STEP;
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

/* A new, empty file at @path, made whole in a temporary file first and put in place with
 * link(2), which never replaces one that another login made meanwhile. 0 or -errno. */
static int create_file(const char *state_dir, const char *path)
{
	struct gotrue_mfa_replay *set = calloc(1, sizeof(*set));
	unsigned char *img = calloc(1, GOTRUE_MFA_REPLAY_FILE_SIZE);
	char *tmp = NULL;
	int fd = -1, dfd = -1, rc = -ENOMEM;

	if (set == NULL || img == NULL ||
	    asprintf(&tmp, "%s/.%s.XXXXXX", state_dir, GOTRUE_MFA_REPLAY_FILE) < 0) {
		tmp = NULL;
		goto cleanup;
	}
	gotrue_mfa_replay_render(set, 1, img);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, img, GOTRUE_MFA_REPLAY_FILE_SIZE) != GOTRUE_MFA_REPLAY_FILE_SIZE ||
	    fsync(fd) != 0 || (link(tmp, path) != 0 && errno != EEXIST)) {
		rc = -errno;
		goto cleanup;
	}
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = dfd >= 0 && fsync(dfd) == 0 ? 0 : -errno;
cleanup:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (dfd >= 0)
		close(dfd);
	free(tmp);
	free(img);
	free(set);
	return rc;
}

/* The file open for update and locked, and checked: a regular file (O_NOFOLLOW), root's and
 * 0600, of the file's exact size. Created when absent. */
static int open_locked(pam_handle_t *pamh, const char *state_dir, const char *path, int timeout_ms,
		       int *fd_out)
{
	struct stat st;
	int fd = -1, rc = -1, r, tries;

	*fd_out = -1;
	/* As the token store does: the state directory is root's and 0755 (it also holds the NSS
	 * cache), and mkdir(2) never follows a planted link. */
	if (mkdir(state_dir, 0755) != 0 && errno != EEXIST) {
		gotrue_log(pamh, LOG_ERR, "cannot create state directory; path=%s error=%s",
			   state_dir, strerror(errno));
		goto cleanup;
	}
	for (tries = 0; fd < 0 && tries < 2; tries++) {
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0 && errno == ENOENT && (r = create_file(state_dir, path)) != 0) {
			gotrue_log(pamh, LOG_ERR, "cannot create the used-code file: %s; path=%s",
				   strerror(-r), path);
			goto cleanup;
		}
	}
	if (fd < 0) {
		gotrue_log(pamh, LOG_ERR, "cannot open the used-code file: %s; path=%s",
			   strerror(errno), path);
		goto cleanup;
	}
	if (fstat(fd, &st) != 0 || gotrue_check_file_stat(pamh, path, GOTRUE_FILE_SECRET, &st) != 0)
		goto cleanup;
	r = gotrue_flock_wait(fd, timeout_ms);
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
	return rc;
}

/* Read the set, apply @edit, write the other slot and make it durable when the set changed.
 * 0 changed, 1 unchanged, -1 error (logged). */
static int update_locked(pam_handle_t *pamh, int fd, const char *path,
			 const unsigned char digest[32], replay_edit edit)
{
	struct gotrue_mfa_replay *set = calloc(1, sizeof(*set));
	unsigned char *img = malloc(GOTRUE_MFA_REPLAY_FILE_SIZE);
	time_t now = time(NULL);
	size_t len;
	int rc = -1;

	if (set == NULL || img == NULL)
		goto cleanup;
	/* A sequence at its end could not be followed by a newer one. */
	if (pread(fd, img, GOTRUE_MFA_REPLAY_FILE_SIZE, 0) != GOTRUE_MFA_REPLAY_FILE_SIZE ||
	    gotrue_mfa_replay_parse(img, GOTRUE_MFA_REPLAY_FILE_SIZE, now, set) != 0 ||
	    set->seq == UINT64_MAX) {
		gotrue_log(pamh, LOG_ERR,
			   "the used-code file is damaged; second-factor logins fail until it is "
			   "removed; path=%s",
			   path);
		goto cleanup;
	}
	rc = edit(set, digest, now);
	if (rc < 0)
		gotrue_log(pamh, LOG_ERR,
			   "the used-code file is full (%d codes in the last minutes); refusing; "
			   "path=%s",
			   GOTRUE_MFA_REPLAY_MAX, path);
	if (rc != 0)
		goto cleanup;
	len = gotrue_mfa_replay_render(set, set->seq + 1, img);
	if (pwrite(fd, img, len, (off_t)(1 - set->slot) * GOTRUE_MFA_REPLAY_SLOT) != (ssize_t)len ||
	    fdatasync(fd) != 0) {
		gotrue_log(pamh, LOG_ERR, "cannot write the used-code file: %s; path=%s",
			   strerror(errno), path);
		rc = -1;
	}
cleanup:
	free(img);
	free(set);
	return rc;
}

static int update(pam_handle_t *pamh, const char *state_dir, const char *factor_id,
		  const char *code, int timeout_ms, replay_edit edit)
{
	unsigned char digest[32] = {0};
	char *path = NULL;
	int fd = -1, rc = -1;

	if (asprintf(&path, "%s/%s", state_dir, GOTRUE_MFA_REPLAY_FILE) < 0) {
		path = NULL;
		goto cleanup;
	}
	if (code_digest(factor_id, code, digest) != 0 ||
	    open_locked(pamh, state_dir, path, timeout_ms, &fd) != 0)
		goto cleanup;
	rc = update_locked(pamh, fd, path, digest, edit);
cleanup:
	if (fd >= 0)
		close(fd); /* releases the flock */
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
