/* offline: the offline verifiers of lib/store/offline.h (what they are, and why one file per
 * user): their JSON, yescrypt through libxcrypt, and the files in STATE_DIR/offline, each read
 * and changed under flock(2) on itself and replaced whole by gotrue_replace_file. */
#include <config.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "gotrue_json.h"
#include "log.h"
#include "offline.h"
#include "secure.h"

#define FORMAT_VERSION 1
#define N_MEMBERS      7
/* A temporary file older than this is a writer's that was killed before its rename. */
#define STALE_TEMP_S 60
/* An online login dated more than this ahead of the clock: the clock went back, or the file was
 * not written by this code; the verifier's age cannot be told. */
#define FUTURE_SLACK_S 300

bool gotrue_offline_id_valid(const char *id)
{
	size_t n = id != NULL ? strspn(id, "0123456789abcdef-") : 0;

	return n > 0 && n <= GOTRUE_OFFLINE_ID_MAX && id[n] == '\0';
}

/* The login names lib/directory/idmap.h allows; checked here again, since the name is written
 * into the file as it is. */
static bool login_valid(const char *s)
{
	size_t n = s != NULL && ((*s >= 'a' && *s <= 'z') || *s == '_')
			   ? 1 + strspn(s + 1, "abcdefghijklmnopqrstuvwxyz0123456789_.-")
			   : 0;

	return n > 0 && n <= GOTRUE_OFFLINE_LOGIN_MAX && s[n] == '\0';
}

/* A yescrypt string in crypt(5)'s alphabet: nothing a JSON string would need to escape. */
static bool hash_valid(const char *s)
{
	size_t n = strnlen(s, GOTRUE_OFFLINE_HASH_MAX + 1);

	return n > 3 && n <= GOTRUE_OFFLINE_HASH_MAX && strncmp(s, "$y$", 3) == 0 &&
	       strspn(s, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz$") == n;
}

static bool verifier_valid(const struct gotrue_offline_verifier *v)
{
	return gotrue_offline_id_valid(v->user_id) && login_valid(v->login) && v->at > 0 &&
	       v->failures < UINT_MAX && hash_valid(v->hash);
}

void gotrue_offline_clear(struct gotrue_offline_verifier *v)
{
	explicit_bzero(v, sizeof(*v));
}

/* A string member into @out (@cap bytes). */
static int copy_str(json_object *o, char *out, size_t cap)
{
	size_t len = json_object_is_type(o, json_type_string)
			     ? (size_t)json_object_get_string_len(o)
			     : cap;
	int rc = -1;

	if (len < cap && memchr(json_object_get_string(o), '\0', len) == NULL) {
		memcpy(out, json_object_get_string(o), len + 1);
		rc = 0;
	}
	return rc;
}

/* A number member: @key's value, or -1 for another type or a value it cannot take. */
static int64_t take_number(const char *key, json_object *o)
{
	int64_t n = json_object_is_type(o, json_type_int) ? json_object_get_int64(o) : -1;

	if (strcmp(key, "version") == 0 && n != FORMAT_VERSION)
		n = -1;
	else if (strcmp(key, "at") == 0 && (n <= 0 || n == INT64_MAX))
		n = -1;
	else if (strcmp(key, "failures") == 0 && n >= UINT_MAX)
		n = -1;
	return n;
}

/* Member @key of @obj into @out. */
static int take_member(const char *key, json_object *o, struct gotrue_offline_verifier *out)
{
	const char *aal = json_object_is_type(o, json_type_string) ? json_object_get_string(o) : "";
	int64_t n;
	int rc = -1;

	if (strcmp(key, "user_id") == 0) {
		rc = copy_str(o, out->user_id, sizeof(out->user_id));
	} else if (strcmp(key, "login") == 0) {
		rc = copy_str(o, out->login, sizeof(out->login));
	} else if (strcmp(key, "hash") == 0) {
		rc = copy_str(o, out->hash, sizeof(out->hash));
	} else if (strcmp(key, "aal") == 0) {
		out->aal2 = strcmp(aal, "aal2") == 0;
		rc = out->aal2 || strcmp(aal, "aal1") == 0 ? 0 : -1;
	} else if (strcmp(key, "version") == 0 || strcmp(key, "at") == 0 ||
		   strcmp(key, "failures") == 0) {
		n = take_number(key, o);
		if (n >= 0 && strcmp(key, "at") == 0)
			out->at = (time_t)n;
		else if (n >= 0 && strcmp(key, "failures") == 0)
			out->failures = (unsigned int)n;
		rc = n >= 0 ? 0 : -1;
	}
	return rc;
}

int gotrue_offline_parse(const char *buf, size_t len, struct gotrue_offline_verifier *out)
{
	json_object *obj = NULL;
	int bad = 0, seen = 0, rc = -EBADMSG;

	memset(out, 0, sizeof(*out));
	if (buf != NULL && len > 0)
		obj = gotrue_json_parse_object(buf, len, GOTRUE_OFFLINE_FILE_MAX);
	if (obj == NULL)
		goto cleanup;
	/* Each member once (json-c keeps the last of a repeated key: counted as one), none other.
	 */
	json_object_object_foreach(obj, key, val)
	{
		bad |= take_member(key, val, out);
		seen++;
	}
	if (bad == 0 && seen == N_MEMBERS && verifier_valid(out))
		rc = 0;
cleanup:
	if (rc != 0)
		gotrue_offline_clear(out);
	json_object_put(obj);
	return rc;
}

size_t gotrue_offline_format(const struct gotrue_offline_verifier *v, char *buf)
{
	int n = -1;

	/* Every string is checked to need no escaping (verifier_valid). */
	if (verifier_valid(v))
		n = snprintf(buf, GOTRUE_OFFLINE_FILE_MAX,
			     "{\"version\":%d,\"user_id\":\"%s\",\"login\":\"%s\",\"at\":%lld,"
			     "\"aal\":\"%s\",\"failures\":%u,\"hash\":\"%s\"}\n",
			     FORMAT_VERSION, v->user_id, v->login, (long long)v->at,
			     v->aal2 ? "aal2" : "aal1", v->failures, v->hash);
	return n > 0 && n < GOTRUE_OFFLINE_FILE_MAX ? (size_t)n : 0;
}

/* crypt(3) of @password with @setting into @out (GOTRUE_OFFLINE_HASH_MAX + 1 bytes). The
 * scratch space holds what the password was worked into, and is wiped. 0, -ENOMEM or -ENOSYS
 * (libcrypt refused the setting: no yescrypt). */
static int hash_with(const char *password, const char *setting, char *out)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;
	int rc = -ENOMEM;

	if (cd == NULL)
		goto cleanup;
	h = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	rc = -ENOSYS;
	if (h == NULL || h[0] == '*' || !hash_valid(h))
		goto cleanup;
	memcpy(out, h, strlen(h) + 1);
	rc = 0;
cleanup:
	if (cd != NULL) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	return rc;
}

int gotrue_offline_make(const char *user_id, const char *login, const char *password, bool aal2,
			time_t now, struct gotrue_offline_verifier *out)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!gotrue_offline_id_valid(user_id) || !login_valid(login) || password == NULL ||
	    *password == '\0' || now <= 0)
		goto cleanup;
	memcpy(out->user_id, user_id, strlen(user_id) + 1);
	memcpy(out->login, login, strlen(login) + 1);
	out->at = now;
	out->aal2 = aal2;
	/* NULL random bytes: libxcrypt draws the salt itself (getrandom(2)). */
	rc = -ENOSYS;
	if (crypt_gensalt_rn("$y$", GOTRUE_OFFLINE_COST, NULL, 0, setting, sizeof(setting)) == NULL)
		goto cleanup;
	rc = hash_with(password, setting, out->hash);
cleanup:
	if (rc != 0)
		gotrue_offline_clear(out);
	return rc;
}

/* Whether @password is the one @v was made of, in constant time over the hash. */
static int hash_matches(const struct gotrue_offline_verifier *v, const char *password, bool *match)
{
	char h[GOTRUE_OFFLINE_HASH_MAX + 1];
	size_t len = strlen(v->hash);
	int rc = hash_with(password, v->hash, h);

	*match = rc == 0 && strlen(h) == len && CRYPTO_memcmp(h, v->hash, len) == 0;
	explicit_bzero(h, sizeof(h));
	return rc;
}

/* --- the directory --------------------------------------------------------------------------- */

/* STATE_DIR/offline, open, and the one file of it that a call works on. */
struct vdir {
	int dirfd;  /* checked: root's, 0700 */
	char *path; /* for log lines and gotrue_replace_file */
	int fd;	    /* the file, locked (open_locked), or -1 */
};

static void vdir_close(struct vdir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->dirfd >= 0)
		close(d->dirfd);
	free(d->path);
	d->fd = d->dirfd = -1;
	d->path = NULL;
}

/* Open STATE_DIR/offline into @d. With @create, it and the state directory are made where
 * missing (the state directory 0755, as the token store makes it: it also holds the NSS cache).
 * 0, -ENOENT unlogged without @create, else -errno logged. */
static int vdir_open(pam_handle_t *pamh, const char *state_dir, bool create, struct vdir *d)
{
	int rc = -ENOMEM;

	d->fd = d->dirfd = -1;
	d->path = NULL;
	if (create && mkdir(state_dir, 0755) != 0 && errno != EEXIST) {
		rc = -errno;
		gotrue_log(pamh, LOG_ERR, "cannot create state directory; path=%s error=%s",
			   state_dir, strerror(-rc));
		goto cleanup;
	}
	if (asprintf(&d->path, "%s/%s", state_dir, GOTRUE_OFFLINE_DIR) < 0) {
		d->path = NULL;
		goto cleanup;
	}
	d->dirfd = gotrue_open_dir(pamh, d->path, 0700, create);
	rc = d->dirfd < 0 ? d->dirfd : 0;
cleanup:
	if (rc != 0)
		vdir_close(d);
	return rc;
}

/* A name that can only be a file of the directory itself. */
static bool plain_name(const char *name)
{
	return name[0] != '\0' && strchr(name, '/') == NULL && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

static int ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Open file @name of @d for update into d->fd, checked (a regular file, root's, 0600), locked,
 * and still the file the name refers to: a replacement is a new inode, so a lock taken on the
 * old one is no lock, and the name is opened again, for as long as GOTRUE_OFFLINE_LOCK_MS allows
 * in all. d->fd is -1 when there is no such file. 0 or -errno (logged). */
static int open_locked(pam_handle_t *pamh, struct vdir *d, const char *name)
{
	const int replaced = 1; /* the name now refers to another file: open it again */
	struct timespec t0;
	struct stat st, now;
	int left = GOTRUE_OFFLINE_LOCK_MS, rc = replaced;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rc == replaced && left >= 0) {
		d->fd = openat(d->dirfd, name,
			       O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (d->fd < 0) {
			rc = errno == ENOENT ? 0 : -errno;
			break;
		}
		if (fstat(d->fd, &st) != 0 ||
		    gotrue_check_file_stat(pamh, name, GOTRUE_FILE_SECRET, &st) != 0)
			rc = -EPERM;
		else if ((rc = gotrue_flock_wait(d->fd, left)) == 0 &&
			 (fstatat(d->dirfd, name, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
			  now.st_ino != st.st_ino || now.st_dev != st.st_dev))
			rc = replaced;
		if (rc != 0) {
			close(d->fd);
			d->fd = -1;
		}
		left = GOTRUE_OFFLINE_LOCK_MS - ms_since(&t0);
	}
	if (rc == replaced)
		rc = -EWOULDBLOCK;
	if (rc != 0)
		gotrue_log(pamh, LOG_ERR, "cannot open offline verifier: %s; path=%s/%s",
			   strerror(-rc), d->path, name);
	return rc;
}

/* The verifier in @fd, which must be the one of @name. -EBADMSG when it is none. */
static int read_fd(int fd, const char *name, struct gotrue_offline_verifier *out)
{
	char buf[GOTRUE_OFFLINE_FILE_MAX + 1];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	int rc = n < 0 ? -errno : gotrue_offline_parse(buf, (size_t)n, out);

	if (rc == 0 && strcmp(out->user_id, name) != 0) {
		gotrue_offline_clear(out);
		rc = -EBADMSG;
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* Erase the file @name, whose locked descriptor is d->fd: its bytes first, then its name. */
static int erase_locked(struct vdir *d, const char *name)
{
	static const char zeros[GOTRUE_OFFLINE_FILE_MAX];
	struct stat st;
	ssize_t w = 0;

	/* Best effort: the unlink is what erases it for any reader. */
	if (fstat(d->fd, &st) == 0 && st.st_size > 0)
		w = pwrite(d->fd, zeros,
			   (size_t)st.st_size < sizeof(zeros) ? (size_t)st.st_size : sizeof(zeros),
			   0);
	(void)w;
	return unlinkat(d->dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
}

/* Replace the file of @v by @v (the caller holds the old file's lock, if there is one). */
static int write_verifier(pam_handle_t *pamh, const struct vdir *d,
			  const struct gotrue_offline_verifier *v)
{
	char buf[GOTRUE_OFFLINE_FILE_MAX], *path = NULL;
	size_t len = gotrue_offline_format(v, buf);
	int rc = -EINVAL;

	if (len == 0)
		goto cleanup;
	rc = -ENOMEM;
	if (asprintf(&path, "%s/%s", d->path, v->user_id) < 0) {
		path = NULL;
		goto cleanup;
	}
	rc = gotrue_replace_file(path, buf, len, 0600);
	if (rc != 0)
		gotrue_log(pamh, LOG_ERR, "cannot write offline verifier: %s; path=%s",
			   strerror(-rc), path);
cleanup:
	explicit_bzero(buf, sizeof(buf));
	free(path);
	return rc;
}

int gotrue_offline_store(pam_handle_t *pamh, const char *state_dir,
			 const struct gotrue_offline_verifier *v)
{
	struct vdir d;
	int rc = vdir_open(pamh, state_dir, true, &d);

	if (rc == 0 && !verifier_valid(v))
		rc = -EINVAL;
	/* Under the old one's lock: an offline attempt counting a failure in it must not put the
	 * old hash back over this one. */
	if (rc == 0)
		rc = open_locked(pamh, &d, v->user_id);
	if (rc == 0)
		rc = write_verifier(pamh, &d, v);
	vdir_close(&d);
	return rc;
}

/* --- an offline attempt ---------------------------------------------------------------------- */

/* What refuses @v for @t before its hash is worked out; GOTRUE_OFFLINE_MATCH when nothing does. */
static enum gotrue_offline_verdict precheck(const struct gotrue_offline_try *t,
					    const struct gotrue_offline_verifier *v)
{
	bool factor = t->has_factor || v->aal2 || t->factor_required;
	enum gotrue_offline_verdict verdict = GOTRUE_OFFLINE_MATCH;

	if (strcmp(v->login, t->login) != 0)
		verdict = GOTRUE_OFFLINE_MISFIT;
	else if (v->at > t->now + FUTURE_SLACK_S || t->now - v->at >= t->max_age)
		verdict = GOTRUE_OFFLINE_EXPIRED;
	else if (v->failures >= t->max_failures) /* a limit lowered since they were counted */
		verdict = GOTRUE_OFFLINE_EXHAUSTED;
	else if ((factor && !t->factor_allowed) || (t->factor_required && !v->aal2))
		verdict = GOTRUE_OFFLINE_NEEDS_FACTOR;
	return verdict;
}

/* The attempt on the verifier @v of the locked d->fd. */
static int try_locked(pam_handle_t *pamh, struct vdir *d, const struct gotrue_offline_try *t,
		      struct gotrue_offline_verifier *v, enum gotrue_offline_verdict *verdict)
{
	bool match = false;
	int rc = 0;

	*verdict = precheck(t, v);
	if (*verdict == GOTRUE_OFFLINE_NEEDS_FACTOR)
		goto cleanup; /* kept: the user may log in online, or with offline_mfa = allow */
	if (*verdict != GOTRUE_OFFLINE_MATCH) {
		rc = erase_locked(d, t->user_id);
		goto cleanup;
	}
	rc = hash_matches(v, t->password, &match);
	if (rc != 0)
		gotrue_log(pamh, LOG_ERR,
			   "cannot check the offline verifier (no yescrypt in libcrypt?); user=%s",
			   t->login);
	if (rc != 0 || match)
		goto cleanup;
	/* Counted before the answer leaves: a guesser who is cut off now has learnt nothing. */
	v->failures++;
	*verdict =
		v->failures >= t->max_failures ? GOTRUE_OFFLINE_EXHAUSTED : GOTRUE_OFFLINE_MISMATCH;
	rc = *verdict == GOTRUE_OFFLINE_EXHAUSTED ? erase_locked(d, t->user_id)
						  : write_verifier(pamh, d, v);
cleanup:
	return rc;
}

int gotrue_offline_try(pam_handle_t *pamh, const char *state_dir,
		       const struct gotrue_offline_try *t, enum gotrue_offline_verdict *verdict,
		       struct gotrue_offline_verifier *seen)
{
	struct gotrue_offline_verifier v = {0};
	struct vdir d;
	int rc = vdir_open(pamh, state_dir, false, &d);

	*verdict = GOTRUE_OFFLINE_NONE;
	if (rc != 0 || !gotrue_offline_id_valid(t->user_id)) {
		rc = rc == -ENOENT ? 0 : rc; /* no directory: no verifier */
		goto cleanup;
	}
	rc = open_locked(pamh, &d, t->user_id);
	if (rc != 0 || d.fd < 0)
		goto cleanup;
	rc = read_fd(d.fd, t->user_id, &v);
	if (rc == -EBADMSG) {
		gotrue_log(pamh, LOG_ERR, "damaged offline verifier, erased; path=%s/%s", d.path,
			   t->user_id);
		*verdict = GOTRUE_OFFLINE_MISFIT;
		rc = erase_locked(&d, t->user_id);
		goto cleanup;
	}
	if (rc == 0)
		rc = try_locked(pamh, &d, t, &v, verdict);
	if (seen != NULL)
		*seen = v;
cleanup:
	gotrue_offline_clear(&v);
	vdir_close(&d);
	return rc;
}

/* --- forgetting and listing ------------------------------------------------------------------ */

int gotrue_offline_forget(pam_handle_t *pamh, const char *state_dir, const char *name)
{
	struct vdir d;
	int rc = vdir_open(pamh, state_dir, false, &d);

	if (rc == 0 && !plain_name(name))
		rc = -EINVAL;
	if (rc == 0)
		rc = open_locked(pamh, &d, name);
	if (rc == 0)
		rc = d.fd < 0 ? -ENOENT : erase_locked(&d, name);
	if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
		gotrue_log(pamh, LOG_ERR, "cannot erase offline verifier: %s; path=%s/%s/%s",
			   strerror(-rc), state_dir, GOTRUE_OFFLINE_DIR, name);
	vdir_close(&d);
	return rc;
}

/* A temporary file of gotrue_replace_file (".<name>.XXXXXX") left by a writer killed before its
 * rename: removed once it is old enough not to be a writer's at work. */
static void drop_stale_temp(int dirfd, const char *name, time_t now)
{
	struct stat st;

	if (name[0] == '.' && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && now - st.st_mtime >= STALE_TEMP_S)
		unlinkat(dirfd, name, 0);
}

/* File @name of @dirfd, read without its lock (it is only ever replaced whole). */
static int read_name(pam_handle_t *pamh, int dirfd, const char *name,
		     struct gotrue_offline_verifier *out)
{
	struct stat st;
	int fd, rc = -EBADMSG;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		rc = -errno;
	else if (fstat(fd, &st) == 0 &&
		 gotrue_check_file_stat(pamh, name, GOTRUE_FILE_SECRET, &st) == 0)
		rc = read_fd(fd, name, out);
	if (fd >= 0)
		close(fd);
	return rc;
}

int gotrue_offline_each(pam_handle_t *pamh, const char *state_dir,
			int (*each)(void *ctx, const char *name,
				    const struct gotrue_offline_verifier *v),
			void *ctx)
{
	struct gotrue_offline_verifier v;
	struct dirent *de;
	struct vdir d;
	DIR *list = NULL;
	int fd, r, rc = vdir_open(pamh, state_dir, false, &d);

	if (rc != 0) {
		rc = rc == -ENOENT ? 0 : rc; /* no directory: no verifier */
		goto cleanup;
	}
	fd = dup(d.dirfd);
	list = fd >= 0 ? fdopendir(fd) : NULL;
	if (list == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto cleanup;
	}
	while (rc == 0 && (de = readdir(list)) != NULL) {
		if (de->d_name[0] == '.') {
			drop_stale_temp(d.dirfd, de->d_name, time(NULL));
			continue;
		}
		r = read_name(pamh, d.dirfd, de->d_name, &v);
		if (r != -ENOENT) /* gone meanwhile */
			rc = each(ctx, de->d_name, r == 0 ? &v : NULL);
		gotrue_offline_clear(&v);
	}
cleanup:
	if (list != NULL)
		closedir(list);
	vdir_close(&d);
	return rc;
}
