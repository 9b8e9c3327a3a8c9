/* store: the token store of DESIGN.md "Token store". Owns the sessions directory, the record
 * format (one JSON object per file, json-c), atomic replacement through gotrue_replace_file, safe
 * reads through gotrue_read_file (O_NOFOLLOW, owner and mode checks, size cap) and the per-record
 * flock(2). The PAM module writes records; gotruectl lists, refreshes and retries them. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "log.h"
#include "secure.h"
#include "session.h"
#include "store.h"

#define STORE_FORMAT_VERSION 1
#define STORE_STR_MAX	     1024 /* any field that is not a token */

struct gotrue_store {
	pam_handle_t *pamh;
	char *dir; /* STATE_DIR/sessions */
};

static const char *const state_names[] = {
	[GOTRUE_STORE_PENDING] = "pending",
	[GOTRUE_STORE_ACTIVE] = "active",
	[GOTRUE_STORE_CLOSING] = "closing",
	[GOTRUE_STORE_REVOKED] = "revoked",
};

const char *gotrue_store_state_name(enum gotrue_store_state state)
{
	if ((size_t)state < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[state];
	return "unknown";
}

bool gotrue_store_id_valid(const char *id)
{
	size_t i;

	if (id == NULL)
		return false;
	for (i = 0; i < GOTRUE_STORE_ID_LEN; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	}
	return id[GOTRUE_STORE_ID_LEN] == '\0';
}

int gotrue_store_new_id(char id[GOTRUE_STORE_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[GOTRUE_STORE_ID_LEN / 2];
	size_t got = 0, i;
	ssize_t n;
	int rc = 0;

	while (got < sizeof(raw)) {
		n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto cleanup;
		}
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 0xf];
	}
	id[GOTRUE_STORE_ID_LEN] = '\0';
cleanup:
	return rc;
}

/* A directory we may keep tokens under: a real directory (the open used O_NOFOLLOW), owned by
 * root or by us, and that nobody else can write (or, with @private, even list). */
static int check_dir(pam_handle_t *pamh, const char *path, bool private_dir)
{
	struct stat st;
	mode_t forbidden = private_dir ? 077 : 022;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		gotrue_log(pamh, LOG_ERR, "cannot open store directory; path=%s error=%s", path,
			   strerror(errno));
		goto cleanup;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto cleanup;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		gotrue_log(pamh, LOG_ERR, "refusing a store directory not owned by root; path=%s",
			   path);
		rc = -EPERM;
	} else if ((st.st_mode & forbidden) != 0) {
		gotrue_log(pamh, LOG_ERR, "refusing a store directory with mode %04o; path=%s",
			   (unsigned int)(st.st_mode & 07777), path);
		rc = -EPERM;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}

struct gotrue_store *gotrue_store_open(pam_handle_t *pamh, const char *state_dir)
{
	struct gotrue_store *st = NULL, *ret = NULL;

	st = calloc(1, sizeof(*st));
	if (st == NULL || state_dir == NULL)
		goto cleanup;
	st->pamh = pamh;
	if (asprintf(&st->dir, "%s/sessions", state_dir) < 0) {
		st->dir = NULL;
		goto cleanup;
	}
	/* The state directory also holds the world-readable NSS cache, so it is 0755; the sessions
	 * directory below it holds tokens and is 0700. mkdir(2) never follows a planted link. */
	if (mkdir(state_dir, 0755) != 0 && errno != EEXIST) {
		gotrue_log(pamh, LOG_ERR, "cannot create state directory; path=%s error=%s",
			   state_dir, strerror(errno));
		goto cleanup;
	}
	if (check_dir(pamh, state_dir, false) != 0)
		goto cleanup;
	if (mkdir(st->dir, 0700) != 0 && errno != EEXIST) {
		gotrue_log(pamh, LOG_ERR, "cannot create sessions directory; path=%s error=%s",
			   st->dir, strerror(errno));
		goto cleanup;
	}
	if (check_dir(pamh, st->dir, true) != 0)
		goto cleanup;
	ret = st;
	st = NULL;
cleanup:
	gotrue_store_close(st);
	return ret;
}

void gotrue_store_close(struct gotrue_store *st)
{
	if (st != NULL) {
		free(st->dir);
		free(st);
	}
}

static char *record_path(const struct gotrue_store *st, const char *id, const char *suffix)
{
	char *path = NULL;

	if (!gotrue_store_id_valid(id))
		return NULL;
	if (asprintf(&path, "%s/%s%s", st->dir, id, suffix) < 0)
		path = NULL;
	return path;
}

static int lock_path(struct gotrue_store *st, char *path, int timeout_ms)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	struct stat sb;
	long waited_ms = 0;
	int fd = -1, rc;

	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0) {
			rc = -errno;
			gotrue_log(st->pamh, LOG_ERR, "cannot open lock file; path=%s error=%s",
				   path, strerror(errno));
			goto cleanup;
		}
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    (sb.st_uid != 0 && sb.st_uid != geteuid())) {
			gotrue_log(st->pamh, LOG_ERR, "refusing lock file; path=%s", path);
			rc = -EPERM;
			goto cleanup;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			/* gotrue_store_remove() unlinks the lock file while holding it: a lock won
			 * on an unlinked file guards nothing, so start again on the new one. */
			if (fstat(fd, &sb) == 0 && sb.st_nlink > 0) {
				rc = fd;
				fd = -1;
				goto cleanup;
			}
		} else if (errno != EWOULDBLOCK && errno != EINTR) {
			rc = -errno;
			goto cleanup;
		}
		close(fd);
		fd = -1;
		if (timeout_ms >= 0 && waited_ms >= timeout_ms) {
			rc = -EWOULDBLOCK;
			goto cleanup;
		}
		nanosleep(&pause, NULL);
		waited_ms += 10;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}

int gotrue_store_lock(struct gotrue_store *st, const char *id, int timeout_ms)
{
	char *path = record_path(st, id, ".lock");
	int rc = path == NULL ? -EINVAL : lock_path(st, path, timeout_ms);

	free(path);
	return rc;
}

int gotrue_store_lock_user(struct gotrue_store *st, const char *user_id, int timeout_ms)
{
	char *path = NULL;
	size_t i, len = user_id ? strlen(user_id) : 0;
	int rc = -EINVAL;

	/* User ids are UUIDs; anything else must not become part of a path. */
	if (len == 0 || len > 64)
		goto cleanup;
	for (i = 0; i < len; i++) {
		if (!((user_id[i] >= '0' && user_id[i] <= '9') ||
		      (user_id[i] >= 'a' && user_id[i] <= 'f') ||
		      (user_id[i] >= 'A' && user_id[i] <= 'F') || user_id[i] == '-'))
			goto cleanup;
	}
	if (asprintf(&path, "%s/user-%s.lock", st->dir, user_id) < 0) {
		path = NULL;
		rc = -ENOMEM;
		goto cleanup;
	}
	rc = lock_path(st, path, timeout_ms);
cleanup:
	free(path);
	return rc;
}

void gotrue_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* --- record format ------------------------------------------------------------------------- */

void gotrue_store_record_clear(struct gotrue_store_record *rec)
{
	size_t i;

	if (rec == NULL)
		return;
	gotrue_wipe_free_str(rec->access_token);
	gotrue_wipe_free_str(rec->refresh_token);
	free(rec->user_id);
	free(rec->login);
	free(rec->session_id);
	free(rec->service);
	free(rec->tty);
	free(rec->rhost);
	free(rec->xdg_session_id);
	for (i = 0; rec->groups != NULL && rec->groups[i] != NULL; i++)
		free(rec->groups[i]);
	free(rec->groups);
	memset(rec, 0, sizeof(*rec));
}

/* json-c frees string buffers without wiping them: wipe a token's copy inside an object first. */
static void wipe_json_string(json_object *obj, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v),
			       (size_t)json_object_get_string_len(v));
}

static int add_str(json_object *obj, const char *key, const char *value)
{
	json_object *v;

	if (value == NULL)
		return 0;
	v = json_object_new_string(value);
	if (v == NULL)
		return -1;
	return json_object_object_add(obj, key, v);
}

static int add_int(json_object *obj, const char *key, long long value)
{
	json_object *v = json_object_new_int64(value);

	if (v == NULL)
		return -1;
	return json_object_object_add(obj, key, v);
}

int gotrue_store_record_format(const struct gotrue_store_record *rec, char **out, size_t *out_len)
{
	json_object *obj = NULL, *groups = NULL, *g;
	const char *text;
	size_t len = 0, i;
	int rc = -ENOMEM;
	int bad = 0;

	*out = NULL;
	*out_len = 0;
	obj = json_object_new_object();
	if (obj == NULL)
		goto cleanup;
	bad |= add_int(obj, "version", STORE_FORMAT_VERSION);
	bad |= add_str(obj, "id", rec->id);
	bad |= add_str(obj, "state", gotrue_store_state_name(rec->state));
	bad |= add_str(obj, "user_id", rec->user_id);
	bad |= add_str(obj, "login", rec->login);
	bad |= add_str(obj, "session_id", rec->session_id);
	bad |= add_str(obj, "access_token", rec->access_token);
	bad |= add_str(obj, "refresh_token", rec->refresh_token);
	bad |= add_int(obj, "expires_at", (long long)rec->expires_at);
	bad |= add_int(obj, "banned_until", (long long)rec->banned_until);
	if (rec->groups != NULL) {
		groups = json_object_new_array();
		if (groups == NULL)
			goto cleanup;
		for (i = 0; rec->groups[i] != NULL; i++) {
			g = json_object_new_string(rec->groups[i]);
			if (g == NULL || json_object_array_add(groups, g) != 0) {
				json_object_put(g);
				goto cleanup;
			}
		}
		bad |= json_object_object_add(obj, "groups", groups);
		groups = NULL;
	}
	bad |= add_str(obj, "service", rec->service);
	bad |= add_str(obj, "tty", rec->tty);
	bad |= add_str(obj, "rhost", rec->rhost);
	bad |= add_str(obj, "xdg_session_id", rec->xdg_session_id);
	bad |= add_int(obj, "pid", (long long)rec->pid);
	bad |= add_int(obj, "pid_start", (long long)rec->pid_start);
	bad |= add_int(obj, "created", (long long)rec->created);
	bad |= add_int(obj, "updated", (long long)rec->updated);
	if (rec->refreshing)
		bad |= json_object_object_add(obj, "refreshing", json_object_new_boolean(1));
	if (bad)
		goto cleanup;
	text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
	if (text == NULL)
		goto cleanup;
	*out = malloc(len + 1);
	if (*out != NULL) {
		memcpy(*out, text, len + 1);
		*out_len = len;
		rc = 0;
	}
	explicit_bzero((char *)text, len); /* the object's own print buffer */
cleanup:
	if (obj != NULL) {
		wipe_json_string(obj, "access_token");
		wipe_json_string(obj, "refresh_token");
		json_object_put(obj);
	}
	json_object_put(groups);
	return rc;
}

/* A string member: absent or null gives NULL; a wrong type or an over-long value is an error. */
static int get_str(json_object *obj, const char *key, size_t max, bool secret, char **out)
{
	json_object *v;
	size_t len;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	len = (size_t)json_object_get_string_len(v);
	if (len > max || memchr(json_object_get_string(v), '\0', len) != NULL)
		return -1;
	*out = secret ? gotrue_secret_strdup(json_object_get_string(v))
		      : strdup(json_object_get_string(v));
	return *out == NULL ? -1 : 0;
}

static int get_int(json_object *obj, const char *key, long long min, long long max, long long *out)
{
	json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return (*out < min || *out > max) ? -1 : 0;
}

static int get_bool(json_object *obj, const char *key, bool *out)
{
	json_object *v;

	*out = false;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_groups(json_object *obj, char ***out)
{
	json_object *arr, *g;
	size_t n, i;
	char **groups;

	*out = NULL;
	if (!json_object_object_get_ex(obj, "groups", &arr) ||
	    json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	if (n > GOTRUE_STORE_GROUPS_MAX)
		return -1;
	groups = calloc(n + 1, sizeof(*groups));
	if (groups == NULL)
		return -1;
	*out = groups; /* partially filled on error: the caller's clear frees it */
	for (i = 0; i < n; i++) {
		g = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(g, json_type_string) ||
		    json_object_get_string_len(g) > STORE_STR_MAX)
			return -1;
		groups[i] = strdup(json_object_get_string(g));
		if (groups[i] == NULL)
			return -1;
	}
	return 0;
}

int gotrue_store_record_parse(const char *buf, size_t len, struct gotrue_store_record *out)
{
	json_tokener *tok = NULL;
	json_object *obj = NULL;
	char *id = NULL, *state = NULL;
	long long version, v;
	size_t s;
	int bad = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len == 0 || len > GOTRUE_STORE_RECORD_MAX)
		goto cleanup;
	tok = json_tokener_new_ex(8);
	if (tok == NULL)
		goto cleanup;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(obj, json_type_object))
		goto cleanup;
	if (get_int(obj, "version", 1, 1, &version) != 0 || version != STORE_FORMAT_VERSION)
		goto cleanup;
	if (get_str(obj, "id", GOTRUE_STORE_ID_LEN, false, &id) != 0 || !gotrue_store_id_valid(id))
		goto cleanup;
	memcpy(out->id, id, GOTRUE_STORE_ID_LEN + 1);
	if (get_str(obj, "state", 16, false, &state) != 0 || state == NULL)
		goto cleanup;
	out->state = (enum gotrue_store_state) - 1;
	for (s = 0; s < sizeof(state_names) / sizeof(state_names[0]); s++) {
		if (strcmp(state, state_names[s]) == 0)
			out->state = (enum gotrue_store_state)s;
	}
	if ((int)out->state < 0)
		goto cleanup;
	bad |= get_str(obj, "user_id", STORE_STR_MAX, false, &out->user_id);
	bad |= get_str(obj, "login", STORE_STR_MAX, false, &out->login);
	bad |= get_str(obj, "session_id", STORE_STR_MAX, false, &out->session_id);
	bad |= get_str(obj, "access_token", GOTRUE_TOKEN_MAX, true, &out->access_token);
	bad |= get_str(obj, "refresh_token", GOTRUE_TOKEN_MAX, true, &out->refresh_token);
	bad |= get_str(obj, "service", STORE_STR_MAX, false, &out->service);
	bad |= get_str(obj, "tty", STORE_STR_MAX, false, &out->tty);
	bad |= get_str(obj, "rhost", STORE_STR_MAX, false, &out->rhost);
	bad |= get_str(obj, "xdg_session_id", STORE_STR_MAX, false, &out->xdg_session_id);
	bad |= get_groups(obj, &out->groups);
	bad |= get_int(obj, "expires_at", 0, LLONG_MAX, &v);
	out->expires_at = (time_t)v;
	bad |= get_int(obj, "banned_until", 0, LLONG_MAX, &v);
	out->banned_until = (time_t)v;
	bad |= get_int(obj, "pid", 0, INT_MAX, &v);
	out->pid = (pid_t)v;
	bad |= get_int(obj, "pid_start", 0, LLONG_MAX, &v);
	out->pid_start = (unsigned long long)v;
	bad |= get_int(obj, "created", 0, LLONG_MAX, &v);
	out->created = (time_t)v;
	bad |= get_int(obj, "updated", 0, LLONG_MAX, &v);
	out->updated = (time_t)v;
	bad |= get_bool(obj, "refreshing", &out->refreshing);
	/* A record without an owner cannot be used for anything. */
	if (bad || out->user_id == NULL || out->login == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc != 0)
		gotrue_store_record_clear(out);
	if (obj != NULL) {
		wipe_json_string(obj, "access_token");
		wipe_json_string(obj, "refresh_token");
		json_object_put(obj);
	}
	if (tok != NULL)
		json_tokener_free(tok);
	free(id);
	free(state);
	return rc;
}

/* --- files ----------------------------------------------------------------------------------- */

/* Format @rec into *@text for record file *@path (both released by the caller). */
static int prepare_write(struct gotrue_store *st, struct gotrue_store_record *rec, char **path,
			 char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	*path = record_path(st, rec->id, "");
	if (*path == NULL)
		return -EINVAL;
	rec->updated = time(NULL);
	if (rec->created == 0)
		rec->created = rec->updated;
	return gotrue_store_record_format(rec, text, len);
}

int gotrue_store_write(struct gotrue_store *st, struct gotrue_store_record *rec)
{
	char *path = NULL, *text = NULL;
	size_t len = 0;
	int rc;

	rc = prepare_write(st, rec, &path, &text, &len);
	if (rc != 0)
		goto cleanup;
	rc = gotrue_replace_file(path, text, len, 0600);
	if (rc != 0)
		gotrue_log(st->pamh, LOG_ERR, "cannot write session record; path=%s error=%s", path,
			   strerror(-rc));
cleanup:
	gotrue_wipe_free(text, len);
	free(path);
	return rc;
}

int gotrue_store_stage(struct gotrue_store *st, struct gotrue_store_record *rec, char **tmp)
{
	char *path = NULL, *text = NULL;
	size_t len = 0;
	int rc;

	*tmp = NULL;
	rc = prepare_write(st, rec, &path, &text, &len);
	if (rc != 0)
		goto cleanup;
	rc = gotrue_write_temp(path, text, len, 0600, tmp);
	if (rc != 0)
		gotrue_log(st->pamh, LOG_ERR, "cannot write session record; path=%s error=%s", path,
			   strerror(-rc));
cleanup:
	gotrue_wipe_free(text, len);
	free(path);
	return rc;
}

int gotrue_store_sync(struct gotrue_store *st)
{
	int rc = gotrue_sync_dir(st->dir);

	if (rc != 0)
		gotrue_log(st->pamh, LOG_ERR, "cannot sync session records; path=%s error=%s",
			   st->dir, strerror(-rc));
	return rc;
}

int gotrue_store_commit(struct gotrue_store *st, const char *id, const char *tmp)
{
	char *path = record_path(st, id, "");
	int rc = -EINVAL;

	if (path == NULL || tmp == NULL)
		goto cleanup;
	rc = rename(tmp, path) == 0 ? 0 : -errno;
	if (rc != 0) {
		gotrue_log(st->pamh, LOG_ERR, "cannot write session record; path=%s error=%s", path,
			   strerror(-rc));
		unlink(tmp);
	}
cleanup:
	free(path);
	return rc;
}

void gotrue_store_discard(const char *tmp)
{
	if (tmp != NULL)
		unlink(tmp);
}

int gotrue_store_read(struct gotrue_store *st, const char *id, struct gotrue_store_record *out)
{
	char *path = NULL, *text = NULL;
	struct stat sb;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	path = record_path(st, id, "");
	if (path == NULL) {
		rc = -EINVAL;
		goto cleanup;
	}
	rc = gotrue_read_file(st->pamh, path, GOTRUE_FILE_SECRET, GOTRUE_STORE_RECORD_MAX, &text,
			      &len);
	if (rc != 0)
		goto cleanup;
	/* Records are only ever made by rename(2) of a fresh file: one name. A second name (a hard
	 * link planted in or out of the store, issue 7) means the file is not the store's alone. */
	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		gotrue_log(st->pamh, LOG_ERR, "refusing a session record with other names; path=%s",
			   path);
		rc = -EPERM;
		goto cleanup;
	}
	if (gotrue_store_record_parse(text, len, out) != 0 || strcmp(out->id, id) != 0) {
		gotrue_store_record_clear(out);
		gotrue_log(st->pamh, LOG_ERR, "refusing a malformed session record; path=%s", path);
		rc = -EBADMSG;
	}
cleanup:
	if (text != NULL)
		gotrue_wipe_free(text, len + 1);
	free(path);
	return rc;
}

int gotrue_store_remove(struct gotrue_store *st, const char *id)
{
	char *path = NULL, *lock = NULL;
	int rc = -EINVAL;

	path = record_path(st, id, "");
	lock = record_path(st, id, ".lock");
	if (path == NULL || lock == NULL)
		goto cleanup;
	rc = unlink(path) == 0 ? 0 : -errno;
	/* The lock file goes last, so that a waiter who wins it finds the record gone. */
	if (unlink(lock) != 0 && errno != ENOENT && rc == 0)
		rc = -errno;
cleanup:
	free(path);
	free(lock);
	return rc;
}

int gotrue_store_each(struct gotrue_store *st,
		      int (*each)(void *ctx, const struct gotrue_store_record *rec), void *ctx)
{
	struct gotrue_store_record rec;
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0, fd;

	fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		gotrue_log(st->pamh, LOG_ERR, "cannot list store; path=%s error=%s", st->dir,
			   strerror(-rc));
		goto cleanup;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		/* Skips ".", "..", the writer's ".<id>.XXXXXX" temp files and "<id>.lock". */
		if (!gotrue_store_id_valid(de->d_name))
			continue;
		if (gotrue_store_read(st, de->d_name, &rec) != 0)
			continue; /* removed meanwhile (ENOENT), or refused and logged */
		rc = each(ctx, &rec);
		gotrue_store_record_clear(&rec);
	}
cleanup:
	if (d != NULL)
		closedir(d);
	return rc;
}

int gotrue_store_list_ids(struct gotrue_store *st, char (**ids)[GOTRUE_STORE_ID_LEN + 1], size_t *n)
{
	char(*v)[GOTRUE_STORE_ID_LEN + 1] = NULL, (*nv)[GOTRUE_STORE_ID_LEN + 1];
	size_t cap = 0, len = 0;
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0, fd;

	*ids = NULL;
	*n = 0;
	fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		gotrue_log(st->pamh, LOG_ERR, "cannot list store; path=%s error=%s", st->dir,
			   strerror(-rc));
		goto cleanup;
	}
	while ((de = readdir(d)) != NULL) {
		if (!gotrue_store_id_valid(de->d_name))
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				rc = -ENOMEM;
				goto cleanup;
			}
			v = nv;
		}
		memcpy(v[len++], de->d_name, GOTRUE_STORE_ID_LEN + 1);
	}
	*ids = v;
	*n = len;
	v = NULL;
cleanup:
	free(v);
	if (d != NULL)
		closedir(d);
	return rc;
}

struct count_ctx {
	const char *user_id;
	const char *except_id;
	enum gotrue_store_state state;
	int n;
};

static int count_one(void *ctx, const struct gotrue_store_record *rec)
{
	struct count_ctx *c = ctx;

	if (rec->state == c->state && strcmp(rec->user_id, c->user_id) == 0 &&
	    (c->except_id == NULL || strcmp(rec->id, c->except_id) != 0))
		c->n++;
	return 0;
}

int gotrue_store_count_user(struct gotrue_store *st, const char *user_id,
			    enum gotrue_store_state state, const char *except_id)
{
	struct count_ctx c = {user_id, except_id, state, 0};
	int rc;

	rc = gotrue_store_each(st, count_one, &c);
	return rc < 0 ? rc : c.n;
}

/* Fields 3 (state) and 22 (starttime) of /proc/@pid/stat. 0 when unknown. */
static unsigned long long pid_stat(pid_t pid, char *state)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	const char *p;
	ssize_t n;
	int fd, field;

	*state = '\0';
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Field 2 (comm) may hold spaces and parentheses: count from the last ')' (proc(5)). */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return 0;
	*state = p[2];
	for (field = 2; *p != '\0' && field < 22; p++) {
		if (*p == ' ')
			field++;
	}
	if (field == 22)
		start = strtoull(p, NULL, 10);
	return start;
}

unsigned long long gotrue_store_pid_start(pid_t pid)
{
	char state;

	return pid_stat(pid, &state);
}

bool gotrue_store_owner_alive(const struct gotrue_store_record *rec)
{
	unsigned long long start;
	char state;

	start = pid_stat(rec->pid, &state);
	/* A zombie has ended its session; it only waits for its parent. */
	if (start == 0 || state == 'Z' || state == 'X' || state == 'x')
		return false;
	return rec->pid_start == 0 || rec->pid_start == start;
}
