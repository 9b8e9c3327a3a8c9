/* proc: readers and parsers of the few /proc files the store and lib/sync/terminate.c trust, each
 * bounded and strict: a file that does not parse is "unknown", never a default that could match
 * another process. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

#define STAT_MAX	2048 /* a stat line is about 300 bytes; comm is at most 64 */
#define CGROUP_FILE_MAX 8192 /* one line per v1 hierarchy, a dozen at most */

/* Read at most @len - 1 bytes of /proc/@pid/@name (pid 0: @name is the whole path) into @buf,
 * NUL-terminated. The length read, or -errno. */
static ssize_t read_small(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[128];
	ssize_t n = -ENAMETOOLONG;
	int fd = -1, w;

	if (pid > 0)
		w = snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	else
		w = snprintf(path, sizeof(path), "%s", name);
	if (w < 0 || (size_t)w >= sizeof(path))
		goto cleanup;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		n = -errno;
		goto cleanup;
	}
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		goto cleanup;
	}
	buf[n] = '\0';
cleanup:
	if (fd >= 0)
		close(fd);
	return n;
}

/* One decimal number, nothing but digits (and a final newline). 0 or -1. */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	*out = 0;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *out > max || (*end != '\0' && strcmp(end, "\n") != 0))
		return -1;
	return 0;
}

/* A decimal /proc/@pid/@name (sessionid, loginuid). 0 or -errno (-EBADMSG: not a number). */
static int read_uint(pid_t pid, const char *name, unsigned int *out)
{
	char buf[32];
	unsigned long long v;
	ssize_t n;

	*out = GOTRUE_AUDIT_SESSION_UNSET;
	n = read_small(pid, name, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (parse_uint(buf, UINT_MAX, &v) != 0)
		return -EBADMSG;
	*out = (unsigned int)v;
	return 0;
}

int gotrue_proc_stat_parse(const char *buf, size_t len, struct gotrue_proc_stat *out)
{
	char line[STAT_MAX + 1], *p, *end;
	long long v;
	int field, rc = -1;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || len == 0 || len > STAT_MAX || memchr(buf, '\0', len) != NULL)
		goto cleanup;
	memcpy(line, buf, len);
	line[len] = '\0';
	p = strrchr(line, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0' || p[3] != ' ')
		goto cleanup;
	out->state = p[2];
	p += 4;
	for (field = 4; field <= 22; field++) {
		if (!((*p >= '0' && *p <= '9') || (*p == '-' && p[1] >= '0' && p[1] <= '9')))
			goto cleanup;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno != 0 || (*end != ' ' && (field < 22 || (*end != '\0' && *end != '\n'))))
			goto cleanup;
		if (field == 4 && (v < 0 || v > INT_MAX))
			goto cleanup;
		if (field == 7 && (v < 0 || v > UINT_MAX))
			goto cleanup;
		if (field == 22 && v < 0)
			goto cleanup;
		if (field == 4)
			out->ppid = (pid_t)v;
		else if (field == 7)
			out->tty_nr = (unsigned int)v;
		else if (field == 22)
			out->start = (unsigned long long)v;
		p = end + 1;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

int gotrue_proc_stat(pid_t pid, struct gotrue_proc_stat *out)
{
	char buf[STAT_MAX + 1];
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (pid <= 0)
		return -ESRCH;
	n = read_small(pid, "stat", buf, sizeof(buf));
	if (n == -ENOENT)
		return -ESRCH;
	if (n < 0)
		return (int)n;
	return gotrue_proc_stat_parse(buf, (size_t)n, out) == 0 ? 0 : -EBADMSG;
}

unsigned int gotrue_proc_audit_session(pid_t pid)
{
	unsigned int id;

	if (pid <= 0 || read_uint(pid, "sessionid", &id) != 0)
		return GOTRUE_AUDIT_SESSION_UNSET;
	return id;
}

bool gotrue_audit_session_valid(unsigned int id)
{
	return id != 0 && id != GOTRUE_AUDIT_SESSION_UNSET;
}

unsigned int gotrue_proc_login_audit_session(uid_t uid, char boot_id[GOTRUE_BOOT_ID_LEN + 1])
{
	unsigned int own, parent, loginuid, id = GOTRUE_AUDIT_SESSION_UNSET;
	pid_t ppid = getppid();

	boot_id[0] = '\0';
	own = gotrue_proc_audit_session(getpid());
	if (!gotrue_audit_session_valid(own))
		goto cleanup;
	/* The parent's id must be known to differ: unreadable is not "different". */
	if (read_uint(getpid(), "loginuid", &loginuid) != 0 || loginuid != (unsigned int)uid ||
	    ppid <= 0 || read_uint(ppid, "sessionid", &parent) != 0 || parent == own)
		goto cleanup;
	if (gotrue_proc_boot_id(boot_id) != 0)
		goto cleanup;
	id = own;
cleanup:
	if (id == GOTRUE_AUDIT_SESSION_UNSET)
		boot_id[0] = '\0';
	return id;
}

int gotrue_proc_boot_id(char out[GOTRUE_BOOT_ID_LEN + 1])
{
	char buf[64];
	ssize_t n;
	int i;

	out[0] = '\0';
	n = read_small(0, "/proc/sys/kernel/random/boot_id", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (n < GOTRUE_BOOT_ID_LEN || (n > GOTRUE_BOOT_ID_LEN && buf[GOTRUE_BOOT_ID_LEN] != '\n'))
		return -EBADMSG;
	for (i = 0; i < GOTRUE_BOOT_ID_LEN; i++) {
		if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f') ||
		      buf[i] == '-'))
			return -EBADMSG;
	}
	memcpy(out, buf, GOTRUE_BOOT_ID_LEN);
	out[GOTRUE_BOOT_ID_LEN] = '\0';
	return 0;
}

/* The path of one "ID:CONTROLLERS:PATH" line [@s, @e) when it is the unified hierarchy's
 * (*@v1 false) or systemd's v1 one (*@v1 true); NULL otherwise. */
static const char *cgroup_line_path(const char *s, const char *e, bool *v1)
{
	const char *c1 = memchr(s, ':', (size_t)(e - s)), *c2;

	if (c1 == NULL)
		return NULL;
	c2 = memchr(c1 + 1, ':', (size_t)(e - c1 - 1));
	if (c2 == NULL || c2 + 1 >= e || c2[1] != '/')
		return NULL;
	*v1 = !(c1 - s == 1 && s[0] == '0' && c2 == c1 + 1);
	if (*v1 && !(c2 - c1 - 1 == 12 && memcmp(c1 + 1, "name=systemd", 12) == 0))
		return NULL;
	return c2 + 1;
}

int gotrue_proc_cgroup_parse(const char *buf, size_t len, char *path, size_t path_len)
{
	const char *s = buf, *end = buf + len, *e, *p, *found = NULL, *found_end = NULL;
	bool v1, unified = false;

	if (path_len > 0)
		path[0] = '\0';
	if (buf == NULL || memchr(buf, '\0', len) != NULL)
		return -1;
	for (; s < end; s = e + 1) {
		e = memchr(s, '\n', (size_t)(end - s));
		if (e == NULL)
			e = end;
		p = cgroup_line_path(s, e, &v1);
		/* The unified hierarchy wins; systemd's v1 line serves only without it. */
		if (p != NULL && (!v1 || (!unified && found == NULL))) {
			found = p;
			found_end = e;
			unified = !v1;
		}
	}
	if (found == NULL || (size_t)(found_end - found) >= path_len)
		return -1;
	memcpy(path, found, (size_t)(found_end - found));
	path[found_end - found] = '\0';
	return 0;
}

int gotrue_proc_cgroup(pid_t pid, char *path, size_t path_len)
{
	char buf[CGROUP_FILE_MAX];
	ssize_t n;

	if (path_len > 0)
		path[0] = '\0';
	n = read_small(pid, "cgroup", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return gotrue_proc_cgroup_parse(buf, (size_t)n, path, path_len) == 0 ? 0 : -EBADMSG;
}

bool gotrue_logind_session_id_valid(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0' || strlen(id) > 64)
		return false;
	for (i = 0; id[i] != '\0'; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '_' || id[i] == '-'))
			return false;
	}
	return true;
}

int gotrue_cgroup_logind_session(const char *path, char *id, size_t id_len)
{
	const char *last, *parent, *p;
	size_t n;

	if (id_len > 0)
		id[0] = '\0';
	last = strrchr(path, '/');
	if (last == NULL || last == path)
		return -1;
	/* logind's scopes sit right under the user's slice: .../user-UID.slice/session-ID.scope */
	for (parent = last - 1; parent > path && *parent != '/'; parent--)
		;
	if (*parent != '/' || strncmp(parent + 1, "user-", 5) != 0 || last - parent < 13 ||
	    strncmp(last - 6, ".slice", 6) != 0)
		return -1;
	for (p = parent + 6; p < last - 6; p++) {
		if (*p < '0' || *p > '9')
			return -1;
	}
	n = strlen(last + 1);
	if (n < 15 || strncmp(last + 1, "session-", 8) != 0 ||
	    strcmp(last + 1 + n - 6, ".scope") != 0 || n - 14 >= id_len)
		return -1;
	memcpy(id, last + 9, n - 14);
	id[n - 14] = '\0';
	if (!gotrue_logind_session_id_valid(id)) {
		id[0] = '\0';
		return -1;
	}
	return 0;
}
