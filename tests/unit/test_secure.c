/* test_secure: gotrue_read_file's owner/mode/type/size rules, gotrue_replace_file's atomicity,
 * gotrue_create_file's refusal to replace, and that the wipe helpers really zero memory before
 * freeing it. */
#include <config.h>

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "tap.h"
#include "core_util.h"
#include "log.h"
#include "secure.h"

static int read_rc(const char *path, enum gotrue_file_kind kind, size_t max)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = gotrue_read_file(NULL, path, kind, max, &buf, &len);

	if (rc == 0)
		gotrue_wipe_free(buf, len + 1);
	else if (buf != NULL)
		rc = -9999; /* a failure must not hand out a buffer */
	return rc;
}

static void test_read_ok(void)
{
	const char *p = tu_write("secret", "s3cr3t\n", 0600);
	char *buf = NULL;
	size_t len = 0;

	is_int(gotrue_read_file(NULL, p, GOTRUE_FILE_SECRET, 1024, &buf, &len), 0,
	       "0600 secret is read");
	is_str(buf, "s3cr3t\n", "content is returned");
	is_int(len, 7, "length is returned");
	ok(buf != NULL && buf[len] == '\0', "buffer is NUL-terminated");
	gotrue_wipe_free(buf, len + 1);

	p = tu_write("secret0400", "x", 0400);
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 1024), 0, "0400 secret is read");
	p = tu_write("config0644", "url = x\n", 0644);
	is_int(read_rc(p, GOTRUE_FILE_CONFIG, 1024), 0, "0644 config is read");

	p = tu_write("empty", "", 0600);
	buf = NULL;
	is_int(gotrue_read_file(NULL, p, GOTRUE_FILE_SECRET, 1024, &buf, &len), 0,
	       "empty file is read");
	ok(buf != NULL && len == 0 && buf[0] == '\0', "empty file gives an empty string");
	gotrue_wipe_free(buf, len + 1);
}

static void test_read_refused(void)
{
	const char *p, *log;

	p = tu_write("secret0644", "leaked-secret-value", 0644);
	tu_capture_begin();
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 1024), -EPERM, "0644 secret refused");
	log = tu_capture_end();
	ok(strstr(log, p) != NULL, "refusal names the path");
	ok(strstr(log, "mode=0644") != NULL, "refusal names the mode");
	ok(strstr(log, "owner=") != NULL, "refusal names the owner");
	ok(strstr(log, "leaked-secret-value") == NULL, "refusal does not show the content");

	p = tu_write("secret0620", "x", 0620);
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 1024), -EPERM, "0620 secret refused");
	p = tu_write("secret0640", "x", 0640);
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 1024), -EPERM, "0640 secret refused");
	p = tu_write("secret0604", "x", 0604);
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 1024), -EPERM, "0604 secret refused");

	p = tu_write("config0664", "x", 0664);
	is_int(read_rc(p, GOTRUE_FILE_CONFIG, 1024), -EPERM, "group-writable config refused");
	p = tu_write("config0646", "x", 0646);
	is_int(read_rc(p, GOTRUE_FILE_CONFIG, 1024), -EPERM, "world-writable config refused");

	p = tu_write("target", "x", 0600);
	if (symlink(p, tu_path("link")) != 0)
		diag("symlink: %s", strerror(errno));
	is_int(read_rc(tu_path("link"), GOTRUE_FILE_SECRET, 1024), -ELOOP,
	       "symlink to a good file refused (ELOOP)");

	if (mkdir(tu_path("adir"), 0700) != 0)
		diag("mkdir: %s", strerror(errno));
	is_int(read_rc(tu_path("adir"), GOTRUE_FILE_CONFIG, 1024), -EISDIR, "directory refused");

	if (mkfifo(tu_path("fifo"), 0600) != 0)
		diag("mkfifo: %s", strerror(errno));
	/* Opening a FIFO without O_NONBLOCK would hang here with no writer. */
	is_int(read_rc(tu_path("fifo"), GOTRUE_FILE_CONFIG, 1024), -EINVAL,
	       "fifo refused without blocking");

	p = tu_write("big", "0123456789abcdefX", 0600);
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 16), -EFBIG, "17 bytes with a 16-byte cap refused");
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 17), 0, "17 bytes with a 17-byte cap read");

	is_int(read_rc(tu_path("missing"), GOTRUE_FILE_CONFIG, 1024), -ENOENT,
	       "missing file is ENOENT");
}

static void test_read_owner(void)
{
	const char *p = tu_write("foreign", "x", 0600);

	if (geteuid() != 0) {
		diag("not root: cannot make a file owned by another uid; owner check skipped");
		return;
	}
	if (chown(p, 65534, 65534) != 0) {
		diag("chown: %s", strerror(errno));
		return;
	}
	is_int(read_rc(p, GOTRUE_FILE_SECRET, 1024), -EPERM, "secret owned by uid 65534 refused");
	if (chmod(p, 0644) == 0)
		is_int(read_rc(p, GOTRUE_FILE_CONFIG, 1024), -EPERM,
		       "config owned by uid 65534 refused");
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* Run gotrue_replace_file in a child (to drop privileges or limit file size there); returns
 * its result. */
static int replace_in_child(const char *path, const char *data, int drop_root, long fsize_limit)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		if (fsize_limit >= 0) {
			struct rlimit rl = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};

			signal(SIGXFSZ, SIG_IGN); /* make write(2) fail with EFBIG instead */
			if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
				_exit(200);
		}
		if (drop_root && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(201);
		_exit(-gotrue_replace_file(path, data, strlen(data), 0644) & 0xff);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -9999;
	return -WEXITSTATUS(status);
}

static void test_replace(void)
{
	char dir[4200], target[4200];
	struct stat st;

	/* Copies: tu_path() hands out a small ring of buffers that later calls reuse. */
	snprintf(dir, sizeof(dir), "%s", tu_path("replace"));
	snprintf(target, sizeof(target), "%s", tu_path("replace/file"));

	if (mkdir(dir, 0755) != 0)
		diag("mkdir: %s", strerror(errno));
	tu_write("replace/file", "old content\n", 0600);

	is_int(gotrue_replace_file(target, "new content\n", 12, 0640), 0, "replace succeeds");
	is_str(slurp(target), "new content\n", "content replaced");
	ok(stat(target, &st) == 0 && (st.st_mode & 07777) == 0640, "mode 0640 applied");
	is_int(count_entries(dir), 1, "no temp file left");

	is_int(gotrue_replace_file(tu_path("replace/fresh"), "abc", 3, 0600), 0,
	       "replace creates a missing file");
	ok(stat(tu_path("replace/fresh"), &st) == 0 && (st.st_mode & 07777) == 0600 &&
		   st.st_size == 3,
	   "new file has mode 0600 and 3 bytes");
	unlink(tu_path("replace/fresh"));

	is_int(gotrue_replace_file(target, "", 0, 0600), 0, "replace with empty data");
	is_str(slurp(target), "", "file is now empty");
	gotrue_replace_file(target, "keep me\n", 8, 0644);

	/* Failing write: a 4-byte file size limit makes write(2) fail with EFBIG. */
	is_int(replace_in_child(target, "this is far longer than four bytes", 0, 4), -EFBIG,
	       "write failure is reported");
	is_str(slurp(target), "keep me\n", "old content kept after a failed write");
	is_int(count_entries(dir), 1, "temp file removed after a failed write");

	/* Renaming over a directory fails after the temp file is written. */
	if (mkdir(tu_path("replace/sub"), 0755) != 0)
		diag("mkdir: %s", strerror(errno));
	is_int(gotrue_replace_file(tu_path("replace/sub"), "x", 1, 0600), -EISDIR,
	       "replacing a directory fails");
	is_int(count_entries(dir), 2, "temp file removed after a failed rename");
	rmdir(tu_path("replace/sub"));

	is_int(gotrue_replace_file(tu_path("nodir/file"), "x", 1, 0600), -ENOENT,
	       "missing directory is ENOENT");

	/* A directory the caller cannot write to. */
	if (geteuid() == 0) {
		chmod(tu_dir, 0755); /* let uid 65534 reach the dir */
		is_int(replace_in_child(target, "intruder\n", 1, -1), -EACCES,
		       "unwritable directory: EACCES (as uid 65534)");
		chmod(tu_dir, 0700);
	} else {
		chmod(dir, 0555);
		is_int(gotrue_replace_file(target, "intruder\n", 9, 0644), -EACCES,
		       "unwritable directory: EACCES");
		chmod(dir, 0755);
	}
	is_str(slurp(target), "keep me\n", "old content kept when the directory is not writable");
	is_int(count_entries(dir), 1, "nothing created in the unwritable directory");
}

/* gotrue_create_file: whole and only where nothing is: a second creator is told -EEXIST and the
 * first file stays as it was; no temp file is left either way. */
static void test_create(void)
{
	char dir[4200], target[4200];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", tu_path("create"));
	snprintf(target, sizeof(target), "%s", tu_path("create/file"));
	if (mkdir(dir, 0700) != 0)
		diag("mkdir: %s", strerror(errno));
	is_int(gotrue_create_file(target, "first\n", 6, 0600), 0, "create: a missing file is made");
	ok(stat(target, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 6,
	   "... with its mode and its 6 bytes");
	is_int(gotrue_create_file(target, "second\n", 7, 0644), -EEXIST,
	       "create over an existing file: -EEXIST");
	is_str(slurp(target), "first\n", "... which is kept as it was");
	ok(stat(target, &st) == 0 && (st.st_mode & 07777) == 0600, "... its mode too");
	is_int(count_entries(dir), 1, "... and no temp file is left");
	is_int(gotrue_create_file(tu_path("nodir/file"), "x", 1, 0600), -ENOENT,
	       "create in a missing directory: -ENOENT");
}

#if TU_HAVE_FREE_SPY
/* Fill through a volatile pointer: a plain memset() right before free() is a dead store the
 * compiler may delete (the very reason explicit_bzero exists), which would fool the control. */
static void fill(void *p, size_t len)
{
	volatile unsigned char *v = p;
	size_t i;

	for (i = 0; i < len; i++)
		v[i] = 'S';
}
#endif

static void test_wipe(void)
{
	char *s = gotrue_secret_strdup("hunter2-secret");

	is_str(s, "hunter2-secret", "gotrue_secret_strdup copies");
	ok(gotrue_secret_strdup(NULL) == NULL, "gotrue_secret_strdup(NULL) is NULL");
	gotrue_wipe_free(NULL, 10);
	gotrue_wipe_free_str(NULL);
	ok(1, "wipe helpers accept NULL");
#if TU_HAVE_FREE_SPY
	{
		char *p = malloc(64);

		/* Control: the spy must see the bytes of a block freed without wiping. */
		fill(p, 64);
		tu_spy_watch(p, 64);
		free(p);
		ok(tu_spy_hits == 1 && !tu_spy_saw_zeroes() && tu_spy_seen[0] == 'S',
		   "control: plain free() leaves the secret visible to the spy");

		p = malloc(64);
		fill(p, 64);
		tu_spy_watch(p, 64);
		gotrue_wipe_free(p, 64);
		ok(tu_spy_saw_zeroes(), "gotrue_wipe_free zeroes all 64 bytes before free");

		tu_spy_watch(s, strlen(s));
		gotrue_wipe_free_str(s);
		s = NULL;
		ok(tu_spy_saw_zeroes(), "gotrue_wipe_free_str zeroes the string before free");

		/* A buffer from gotrue_read_file is released by gotrue_wipe_free(len + 1). */
		{
			const char *path = tu_write("wipe", "top-secret", 0600);
			char *buf = NULL;
			size_t len = 0;

			if (gotrue_read_file(NULL, path, GOTRUE_FILE_SECRET, 64, &buf, &len) == 0) {
				tu_spy_watch(buf, len + 1);
				gotrue_wipe_free(buf, len + 1);
				ok(tu_spy_saw_zeroes(), "read_file buffer wiped on release");
			} else {
				ok(0, "read_file buffer wiped on release");
			}
		}
	}
#else
	diag("built with a sanitizer that owns free(): wipe-before-free checks skipped");
#endif
	gotrue_wipe_free_str(s);
}

int main(void)
{
	gotrue_log_init("test_secure", GOTRUE_LOG_STDERR, false);
	tu_mkdtemp();
	test_read_ok();
	test_read_refused();
	test_read_owner();
	test_replace();
	test_create();
	test_wipe();
	tu_cleanup();
	return done_testing();
}
