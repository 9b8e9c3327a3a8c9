/* store: the token store of store.h. Owns the sessions directory, reading and
 * writing record files (the two-slot layout is lib/store/store_file.c's, the JSON record
 * lib/store/store_record.c's): in-place updates of the older slot and when they are durable, atomic
 * creation through gotrue_replace_file, safe reads (O_NOFOLLOW, owner, mode and link checks,
 * bounded sizes), wiping removal and the per-record flock(2). The PAM module writes records;
 * gotruectl lists, refreshes and retries them. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "log.h"
#include "proc.h"
#include "secure.h"
#include "session.h"
#include "store.h"
#include "store_file.h"

struct touched;
struct held;

struct gotrue_store {
	pam_handle_t *pamh;
	char *dir; /* STATE_DIR/sessions */
	int dirfd; /* the same, opened once: every record is named relative to it */
	/* Durability bookkeeping of the write rule (store.h): see known_durable(). */
	uint64_t gen;		 /* the generation of touches now; bumped when a sync starts */
	uint64_t durable;	 /* touches of a generation below this are durable */
	uint64_t written;	 /* the generation of the last unsynced write */
	struct touched *touched; /* records read or written through this handle */
	size_t tcap, ntouched;
	bool dirty; /* unsynced writes since the last sync */
	/* Records kept open by gotrue_store_read_held() (see struct held). */
	struct held *held;
	size_t hcap;
	int hfree; /* first unused entry of @held, -1: none */
};

/* A record held open from a read through its writes (gotrue_store_read_held): its descriptor and
 * what the read learnt of its slots, so that a write needs neither open(2) nor a re-read. Valid
 * while the caller holds the record's lock, which every writer of an existing record takes: no
 * one else can have changed the file. Not re-checked per write: fstat(2) and two header reads
 * would cost about what the write itself costs. */
struct held {
	int fd;	      /* O_RDWR; -1: unused entry */
	int next;     /* unused entry: the next unused one */
	size_t size;  /* of the file */
	size_t slot;  /* slot size */
	int newest;   /* the slot holding the newest intact version */
	uint64_t seq; /* its sequence */
};

/* "<id>" or "<id>.lock", relative to the store's dirfd. */
#define NAME_LEN (GOTRUE_STORE_ID_LEN + sizeof(".lock"))

static int record_name(const char *id, const char *suffix, char name[NAME_LEN])
{
	size_t n = strlen(suffix);

	if (!gotrue_store_id_valid(id) || n >= NAME_LEN - GOTRUE_STORE_ID_LEN)
		return -EINVAL;
	memcpy(name, id, GOTRUE_STORE_ID_LEN);
	memcpy(name + GOTRUE_STORE_ID_LEN, suffix, n + 1);
	return 0;
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

struct gotrue_store *gotrue_store_open(pam_handle_t *pamh, const char *state_dir)
{
	struct gotrue_store *st = NULL, *ret = NULL;
	int fd;

	st = calloc(1, sizeof(*st));
	if (st == NULL || state_dir == NULL)
		goto cleanup;
	st->pamh = pamh;
	st->gen = 1;
	st->durable = 1;
	st->dirfd = -1;
	st->hfree = -1;
	if (asprintf(&st->dir, "%s/sessions", state_dir) < 0) {
		st->dir = NULL;
		goto cleanup;
	}
	/* The state directory also holds the world-readable NSS cache, so it is 0755; the sessions
	 * directory below it holds tokens and is 0700. */
	fd = gotrue_open_dir(pamh, state_dir, 0755, true);
	if (fd < 0)
		goto cleanup;
	close(fd);
	st->dirfd = gotrue_open_dir(pamh, st->dir, 0700, true);
	if (st->dirfd < 0)
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
		/* A caller that forgot its sync: the writes become durable here at the latest. */
		if (st->dirty && st->dirfd >= 0)
			gotrue_store_sync(st);
		for (size_t i = 0; i < st->hcap; i++) {
			if (st->held[i].fd >= 0)
				close(st->held[i].fd);
		}
		free(st->held);
		free(st->touched);
		if (st->dirfd >= 0)
			close(st->dirfd);
		free(st->dir);
		free(st);
	}
}

static int lock_path(struct gotrue_store *st, const char *path, int timeout_ms)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	struct stat sb;
	long waited_ms = 0;
	int fd = -1, rc;

	for (;;) {
		fd = openat(st->dirfd, path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			    0600);
		if (fd < 0) {
			rc = -errno;
			gotrue_log(st->pamh, LOG_ERR, "cannot open lock file; path=%s/%s error=%s",
				   st->dir, path, strerror(errno));
			goto cleanup;
		}
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    (sb.st_uid != 0 && sb.st_uid != geteuid())) {
			gotrue_log(st->pamh, LOG_ERR, "refusing lock file; path=%s/%s", st->dir,
				   path);
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
	char name[NAME_LEN];

	if (record_name(id, ".lock", name) != 0)
		return -EINVAL;
	return lock_path(st, name, timeout_ms);
}

int gotrue_store_lock_user(struct gotrue_store *st, const char *user_id, int timeout_ms)
{
	char path[sizeof("user-.lock") + 64];
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
	snprintf(path, sizeof(path), "user-%s.lock", user_id);
	rc = lock_path(st, path, timeout_ms);
cleanup:
	return rc;
}

void gotrue_store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* What this handle knows about the durability of each record it has read or written: the gen
 * (st->gen when it was last touched, 0 = known durable, GEN_UNKNOWN = nothing known yet).
 * A sync covers the generations up to the one current when it started (it then bumps st->gen),
 * and when it succeeds it moves st->durable past them: every earlier touch is durable at once. An
 * open-addressing table keyed by id; @held indexes st->held (-1: the record is not held). */
#define GEN_UNKNOWN UINT64_MAX

struct touched {
	char id[GOTRUE_STORE_ID_LEN + 1];
	int held;
	uint64_t gen;
};

static uint64_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < GOTRUE_STORE_ID_LEN; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
	return h;
}

static struct touched *touched_find(struct gotrue_store *st, const char *id, bool add)
{
	struct touched *nt;
	size_t i, j, ncap;

	if (add && (st->ntouched + 1) * 2 > st->tcap) {
		ncap = st->tcap ? st->tcap * 2 : 256;
		nt = calloc(ncap, sizeof(*nt));
		if (nt == NULL)
			return NULL;
		for (i = 0; i < st->tcap; i++) {
			if (st->touched[i].id[0] == '\0')
				continue;
			for (j = id_hash(st->touched[i].id) & (ncap - 1); nt[j].id[0] != '\0';
			     j = (j + 1) & (ncap - 1))
				;
			nt[j] = st->touched[i];
		}
		free(st->touched);
		st->touched = nt;
		st->tcap = ncap;
	}
	if (st->tcap == 0)
		return NULL;
	for (i = id_hash(id) & (st->tcap - 1); st->touched[i].id[0] != '\0';
	     i = (i + 1) & (st->tcap - 1)) {
		if (memcmp(st->touched[i].id, id, GOTRUE_STORE_ID_LEN) == 0)
			return &st->touched[i];
	}
	if (!add)
		return NULL;
	memcpy(st->touched[i].id, id, GOTRUE_STORE_ID_LEN + 1);
	st->touched[i].gen = GEN_UNKNOWN;
	st->touched[i].held = -1;
	st->ntouched++;
	return &st->touched[i];
}

/* The entry of @id, made before the read or write it will describe (callers then only update it):
 * without memory for it the operation fails (-ENOMEM) rather than go on with a durability it
 * could not keep track of. */
static int touched_get(struct gotrue_store *st, const char *id, struct touched **t)
{
	*t = touched_find(st, id, true);
	if (*t == NULL) {
		gotrue_log(st->pamh, LOG_ERR, "cannot track session record; error=%s",
			   strerror(ENOMEM));
		return -ENOMEM;
	}
	return 0;
}

/* Whether everything about @t's record on disk is known to be durable: this handle saw it (read
 * under the caller's lock, or wrote it) and synced since. A record this handle has not seen may
 * hold a version that a writer killed before its sync left in the page cache only. */
static bool known_durable(const struct gotrue_store *st, const struct touched *t)
{
	return t->gen < st->durable;
}

/* Drop @t's held descriptor, if any. */
static void release_held(struct gotrue_store *st, struct touched *t)
{
	struct held *h;

	if (t == NULL || t->held < 0)
		return;
	h = &st->held[t->held];
	close(h->fd);
	h->fd = -1;
	h->next = st->hfree;
	st->hfree = t->held;
	t->held = -1;
}

void gotrue_store_release(struct gotrue_store *st, const char *id)
{
	if (gotrue_store_id_valid(id))
		release_held(st, touched_find(st, id, false));
}

/* Keep @fd open for @t's record, read as @sl with its newest intact version in slot @newest. On
 * failure (no memory) the descriptor is closed: holding is only a shortcut, the writes then open
 * the file again. Takes @fd in either case. */
static void hold(struct gotrue_store *st, struct touched *t, int fd, size_t size,
		 const struct gotrue_store_slots *sl, int newest)
{
	struct held *h;
	size_t old = st->hcap, i;

	if (st->hfree < 0) {
		if (gotrue_grow((void **)&st->held, &st->hcap, old + 1, sizeof(*st->held)) != 0) {
			close(fd);
			return;
		}
		for (i = st->hcap; i-- > old;) {
			st->held[i].fd = -1;
			st->held[i].next = st->hfree;
			st->hfree = (int)i;
		}
	}
	t->held = st->hfree;
	h = &st->held[t->held];
	st->hfree = h->next;
	h->fd = fd;
	h->size = size;
	h->slot = sl->size;
	h->newest = newest;
	h->seq = sl->seq[newest];
}

/* Open record file @path (O_NOFOLLOW: a planted link fails with ELOOP) and check what was
 * opened: a regular file, owned by root (or by us, for tests), mode 0600 or stricter, with one
 * name (a record is only ever made by rename(2) of a fresh file; a second name, a hard link
 * planted in or out of the store, means the file is not the store's alone), and the
 * size of a two-slot file. A descriptor, or -errno: ENOENT, ELOOP, EPERM (owner, mode, links),
 * EINVAL (not a regular file), EBADMSG (size). Logged unless @quiet (ENOENT never). */
static int open_record(struct gotrue_store *st, const char *name, int flags, struct stat *sb,
		       bool quiet)
{
	const char *why = NULL;
	int fd, rc;

	/* O_NONBLOCK: a FIFO planted at @path must not hang a login; fstat refuses it.
	 * O_NOATIME: after every update the next read would dirty the inode for its atime
	 * (relatime), a tenth of a refresh pass's store time; nothing uses a record's atime. It
	 * needs the file's owner or CAP_FOWNER: EPERM means neither, and the open is retried. */
	fd = openat(st->dirfd, name,
		    flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = openat(st->dirfd, name,
			    flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			why = "a symbolic link";
		else if (rc != -ENOENT)
			why = "a file that cannot be opened";
		goto cleanup;
	}
	rc = fd;
	if (fstat(fd, sb) != 0) {
		rc = -errno;
		why = "a file that cannot be examined";
	} else if (!S_ISREG(sb->st_mode)) {
		rc = -EINVAL;
		why = "a file that is not a regular file";
	} else if (sb->st_uid != 0 && sb->st_uid != geteuid()) {
		rc = -EPERM;
		why = "a file not owned by root";
	} else if ((sb->st_mode & 077) != 0) {
		rc = -EPERM;
		why = "a file that group or others can access";
	} else if (sb->st_nlink != 1) {
		rc = -EPERM;
		why = "a file with other names";
	} else if (sb->st_size < 2 * GOTRUE_STORE_SLOT_MIN ||
		   (size_t)sb->st_size > GOTRUE_STORE_FILE_MAX ||
		   sb->st_size % (2 * GOTRUE_STORE_SLOT_MIN) != 0) {
		rc = -EBADMSG;
		why = "a file of the wrong size";
	}
cleanup:
	if (rc < 0 && fd >= 0)
		close(fd);
	if (why != NULL && !quiet)
		gotrue_log(st->pamh, LOG_ERR,
			   "refusing %s as a session record; path=%s/%s mode=%04o", why, st->dir,
			   name, fd >= 0 ? (unsigned int)(sb->st_mode & 07777) : 0U);
	return rc;
}

/* Read @size bytes of @fd from offset 0 into *@out (release with gotrue_wipe_free(*out, size)).
 * 0, -EAGAIN when the file was shorter than fstat said, or -errno. */
static int read_all(int fd, size_t size, unsigned char **out)
{
	unsigned char *buf = malloc(size);
	size_t got = 0;
	ssize_t n;
	int rc = 0;

	*out = NULL;
	if (buf == NULL)
		return -ENOMEM;
	while (got < size) {
		n = pread(fd, buf + got, size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n == 0 ? -EAGAIN : -errno;
			break;
		}
		got += (size_t)n;
	}
	if (rc != 0)
		gotrue_wipe_free(buf, size);
	else
		*out = buf;
	return rc;
}

static int pwrite_all(int fd, const unsigned char *buf, size_t len, off_t off)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EIO : -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Overwrite the @size bytes of the record file behind @fd, already unlinked by the caller, with
 * zeros and make that durable before the last descriptor goes (the kernel drops the dirty pages
 * of a deleted file instead of writing them). In the spirit of explicit_bzero: the blocks of a
 * deleted record would otherwise keep its tokens, the unused slot's older pair included, until
 * they are reused; a root-only file, but backups, disk images and reallocated blocks are not.
 * It cannot reach what an SSD's wear levelling has already moved; disk encryption does that. */
static void wipe_fd(int fd, size_t size)
{
	static const unsigned char zeros[GOTRUE_STORE_SLOT_MIN];
	size_t off;

	for (off = 0; off < size; off += sizeof(zeros)) {
		if (pwrite_all(fd, zeros, sizeof(zeros), (off_t)off) != 0)
			return;
	}
	fdatasync(fd);
}

/* Format @rec into *@text (released by the caller). */
static int prepare_write(struct gotrue_store_record *rec, char **text, size_t *len)
{
	int rc;

	*text = NULL;
	*len = 0;
	rec->updated = time(NULL);
	if (rec->created == 0)
		rec->created = rec->updated;
	rc = gotrue_store_record_format(rec, text, len);
	if (rc == 0 && *len > GOTRUE_STORE_RECORD_MAX)
		rc = -EFBIG; /* it could never be read back */
	return rc;
}

/* Create (or replace) record file @name atomically: slot 0 holds @text as version @seq, slot 1
 * is zeros; temp file, fsync, rename, directory fsync (gotrue_replace_file). Used for a new
 * record, a payload that outgrew its slots, and a file that failed its checks. */
static int create_record(struct gotrue_store *st, const char *name, const char *text, size_t len,
			 uint64_t seq)
{
	size_t slot = gotrue_store_slot_size(len);
	unsigned char *buf = calloc(2, slot);
	char *path = NULL;
	int rc = -ENOMEM;

	if (buf == NULL || asprintf(&path, "%s/%s", st->dir, name) < 0) {
		path = NULL;
		goto cleanup;
	}
	rc = gotrue_store_slot_encode(buf, slot, seq, text, len);
	if (rc == 0)
		rc = gotrue_replace_file(path, buf, 2 * slot, 0600);
cleanup:
	if (buf != NULL)
		gotrue_wipe_free(buf, 2 * slot);
	free(path);
	return rc;
}

/* Create the lock file of a new record with it, at login, where one file creation is lost in the
 * request's time, rather than in the refresh pass's first gotrue_store_lock() of the record,
 * where creating thousands of files would be most of the pass's cost. Before
 * the record, and a failure fails the write: a record is never made without its lock file (the
 * caller's gotrue_store_remove() after a failed write takes both away). 0 or -errno. */
static int make_lock_file(struct gotrue_store *st, const char *id)
{
	char name[NAME_LEN];
	int fd, rc;

	rc = record_name(id, ".lock", name);
	if (rc != 0)
		return rc;
	fd = openat(st->dirfd, name,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* One write of a record (write_record): what it writes, and where. */
struct record_write {
	struct gotrue_store *st;
	struct touched *t;
	struct held *h; /* the record held open since its read, or NULL */
	char name[NAME_LEN];
	char *text; /* the formatted record */
	size_t len;
	int fd;		    /* the record file, when one is used; h->fd when held */
	unsigned char *buf; /* the file as read */
	size_t size;	    /* of the file */
	size_t slot_size;
	int newest;   /* the slot holding the newest intact version */
	uint64_t seq; /* the new version's */
};

enum write_way {
	WRITE_IN_PLACE, /* into the slot that does not hold the newest intact version */
	WRITE_NEW_FILE, /* create_record(): no usable file */
	WRITE_OUTGROWN, /* create_record(), then the old file is wiped */
};

/* The record file of @w as the read that held it left it: no open, no re-read, no checksum. The
 * read checked the file, and every write since was this handle's, because every writer of an
 * existing record holds its lock (store.h). */
static void locate_held(struct record_write *w)
{
	w->h = &w->st->held[w->t->held];
	w->fd = w->h->fd;
	w->size = w->h->size;
	w->slot_size = w->h->slot;
	w->newest = w->h->newest;
	w->seq = w->h->seq + 1;
}

/* Open and read the record file of @w and find its newest intact version. 0 with *@way set, or
 * -errno. */
static int locate_on_disk(struct record_write *w, const char *id, enum write_way *way)
{
	struct gotrue_store_slots sl = {0};
	struct stat sb = {0};
	int fd, rc = 0;

	*way = WRITE_NEW_FILE;
	fd = open_record(w->st, w->name, O_RDWR, &sb, true);
	if (fd == -ENOENT) {
		rc = make_lock_file(w->st, id);
	} else if (fd == -ELOOP || fd == -EPERM || fd == -EINVAL || fd == -EBADMSG) {
		/* Not a file the store made, or not one it may write into: replace the name by
		 * rename(2), which never writes through a link or into another name's file. */
		gotrue_log(w->st->pamh, LOG_WARNING,
			   "replacing a session record that failed its checks; path=%s/%s error=%s",
			   w->st->dir, w->name, strerror(-fd));
	} else if (fd < 0) {
		rc = fd;
	}
	if (fd < 0)
		goto cleanup;
	w->fd = fd;
	w->size = (size_t)sb.st_size;
	rc = read_all(fd, w->size, &w->buf);
	if (rc != 0)
		goto cleanup;
	w->newest = gotrue_store_slots_scan(w->buf, w->size, &sl) == 0
			    ? gotrue_store_newest_intact(&sl)
			    : -EBADMSG;
	if (w->newest == -ENOMEM) {
		/* Which slot is the newest is not known: writing either could destroy it. */
		rc = -ENOMEM;
	} else if (w->newest < 0) {
		gotrue_log(w->st->pamh, LOG_WARNING,
			   "replacing a session record with no intact version; path=%s/%s",
			   w->st->dir, w->name);
	} else {
		w->seq = sl.seq[w->newest] + 1;
		w->slot_size = sl.size;
		*way = WRITE_IN_PLACE;
	}
cleanup:
	return rc;
}

/* Where the write of @w goes (enum write_way). 0 or -errno. */
static int write_locate(struct record_write *w, const char *id, enum write_way *way)
{
	int rc = 0;

	*way = WRITE_IN_PLACE;
	if (w->t->held >= 0)
		locate_held(w);
	else
		rc = locate_on_disk(w, id, way);
	/* Outgrown (more groups, a longer token): a new file with bigger slots. */
	if (rc == 0 && *way == WRITE_IN_PLACE && GOTRUE_STORE_SLOT_HEADER + w->len > w->slot_size)
		*way = WRITE_OUTGROWN;
	return rc;
}

/* The new version into the slot of @w's file that does not hold the newest intact one. */
static int write_slot(struct record_write *w, bool sync)
{
	struct gotrue_store *st = w->st;
	unsigned char *slot = NULL;
	int target = 1 - w->newest, rc = 0;

	/* The write rule (store.h): the newest version must be durable before the other slot is
	 * overwritten, or a torn write could leave no intact version. This handle knows that only
	 * of a record it saw and synced since; anything else (a writer killed between its write
	 * and its sync leaves its version in the page cache only) is made durable first. */
	if (!known_durable(st, w->t))
		rc = sync ? (fdatasync(w->fd) == 0 ? 0 : -errno) : gotrue_store_sync(st);
	if (rc != 0)
		goto cleanup;
	slot = malloc(w->slot_size);
	rc = slot != NULL ? gotrue_store_slot_encode(slot, w->slot_size, w->seq, w->text, w->len)
			  : -ENOMEM;
	if (rc == 0)
		rc = pwrite_all(w->fd, slot, w->slot_size, (off_t)target * (off_t)w->slot_size);
	if (rc == 0 && sync && fdatasync(w->fd) != 0)
		rc = -errno;
	if (rc != 0)
		goto cleanup;
	w->t->gen = sync ? 0 : st->gen;
	if (!sync) {
		st->dirty = true;
		st->written = st->gen;
	}
	if (w->h != NULL) {
		w->h->newest = target;
		w->h->seq = w->seq;
	}
cleanup:
	if (slot != NULL)
		gotrue_wipe_free(slot, w->slot_size);
	return rc;
}

/* A new record file for @w, atomically; outgrown, the old file's blocks are then wiped as on
 * removal (it was ours: checked when it was read). */
static int write_new_file(struct record_write *w, enum write_way way)
{
	int rc = create_record(w->st, w->name, w->text, w->len, w->seq);

	if (rc == 0 && way == WRITE_OUTGROWN)
		wipe_fd(w->fd, w->size);
	if (w->h != NULL) {
		release_held(w->st, w->t);
		w->h = NULL;
		w->fd = -1;
	}
	if (rc == 0)
		w->t->gen = 0; /* gotrue_replace_file synced it */
	return rc;
}

/* The write of store.h: in place into the slot that does not hold the newest intact version, or
 * create_record() where there is no usable file or the payload no longer fits. With @sync the
 * write is durable on return; without, it is durable after the next gotrue_store_sync(). */
static int write_record(struct gotrue_store *st, struct gotrue_store_record *rec, bool sync)
{
	struct record_write w = {.st = st, .fd = -1, .newest = -1, .seq = 1};
	enum write_way way = WRITE_NEW_FILE;
	int rc;

	rc = record_name(rec->id, "", w.name);
	if (rc != 0)
		goto cleanup;
	rc = touched_get(st, rec->id, &w.t);
	if (rc == 0)
		rc = prepare_write(rec, &w.text, &w.len);
	if (rc == 0)
		rc = write_locate(&w, rec->id, &way);
	if (rc == 0)
		rc = way == WRITE_IN_PLACE ? write_slot(&w, sync) : write_new_file(&w, way);
	if (rc != 0)
		gotrue_log(st->pamh, LOG_ERR, "cannot write session record; path=%s/%s error=%s",
			   st->dir, w.name, strerror(-rc));
	if (rc != 0 && w.h != NULL) {
		release_held(st, w.t); /* what is on disk now is not known */
		w.h = NULL;
		w.fd = -1;
	}
cleanup:
	if (w.fd >= 0 && w.h == NULL)
		close(w.fd);
	if (w.buf != NULL)
		gotrue_wipe_free(w.buf, w.size);
	gotrue_wipe_free(w.text, w.len);
	return rc;
}

int gotrue_store_write(struct gotrue_store *st, struct gotrue_store_record *rec)
{
	return write_record(st, rec, true);
}

int gotrue_store_write_unsynced(struct gotrue_store *st, struct gotrue_store_record *rec)
{
	return write_record(st, rec, false);
}

int gotrue_store_sync(struct gotrue_store *st)
{
	uint64_t gen = st->gen++; /* what the sync covers: every read and write before it */
	int rc = gotrue_sync_dir(st->dir);

	if (rc != 0) {
		gotrue_log(st->pamh, LOG_ERR, "cannot sync session records; path=%s error=%s",
			   st->dir, strerror(-rc));
	} else {
		if (st->durable < gen + 1)
			st->durable = gen + 1;
		if (st->written <= gen)
			st->dirty = false;
	}
	return rc;
}

/* gotrue_store_read, and with @keep gotrue_store_read_held. */
static int read_record(struct gotrue_store *st, const char *id, struct gotrue_store_record *out,
		       bool keep)
{
	unsigned char *buf = NULL;
	char name[NAME_LEN];
	struct touched *t = NULL;
	struct gotrue_store_slots sl;
	struct stat sb = {0};
	size_t size = 0;
	int fd = -1, rc, idx = -1;

	memset(out, 0, sizeof(*out));
	rc = record_name(id, "", name);
	if (rc != 0)
		goto cleanup;
	rc = touched_get(st, id, &t);
	if (rc != 0)
		goto cleanup;
	release_held(st, t); /* a new read under a new lock: what was held may be stale */
	fd = open_record(st, name, keep ? O_RDWR : O_RDONLY, &sb, false);
	if (fd < 0) {
		rc = fd;
		goto cleanup;
	}
	size = (size_t)sb.st_size;
	rc = read_all(fd, size, &buf);
	if (rc != 0) {
		gotrue_log(st->pamh, LOG_ERR, "cannot read session record; path=%s/%s error=%s",
			   st->dir, name, strerror(-rc));
		goto cleanup;
	}
	rc = gotrue_store_file_parse_slots(buf, size, out, NULL, &sl, &idx);
	if (rc == -ENOMEM) {
		gotrue_log(st->pamh, LOG_ERR, "cannot read session record; path=%s/%s error=%s",
			   st->dir, name, strerror(ENOMEM));
		goto cleanup;
	}
	if (rc != 0 || strcmp(out->id, id) != 0) {
		gotrue_store_record_clear(out);
		gotrue_log(st->pamh, LOG_ERR, "refusing a malformed session record; path=%s/%s",
			   st->dir, name);
		rc = -EBADMSG;
		goto cleanup;
	}
	/* Seen, under the caller's lock: durable after the next sync (write rule). */
	t->gen = st->gen;
	/* The slot parsed is the newest intact one (gotrue_store_file_parse_slots() takes no
	 * other). */
	if (keep) {
		hold(st, t, fd, size, &sl, idx);
		fd = -1;
	}
cleanup:
	if (fd >= 0)
		close(fd);
	if (buf != NULL)
		gotrue_wipe_free(buf, size);
	return rc;
}

int gotrue_store_read(struct gotrue_store *st, const char *id, struct gotrue_store_record *out)
{
	return read_record(st, id, out, false);
}

int gotrue_store_read_held(struct gotrue_store *st, const char *id, struct gotrue_store_record *out)
{
	return read_record(st, id, out, true);
}

/* Remove the file at @path, wiping its blocks when it is a record file of ours. The name goes
 * first: a crash between the unlink and the wipe leaves no record (what the caller asked for)
 * rather than a zeroed one that every later read would refuse. 0 or -errno. */
static int remove_wiped(int dirfd, const char *name)
{
	struct stat sb;
	int fd, rc;

	fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	rc = unlinkat(dirfd, name, 0) == 0 ? 0 : -errno;
	/* Only our own file: never write into a file someone planted under the name. */
	if (rc == 0 && fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_uid == 0 || sb.st_uid == geteuid()) && (sb.st_mode & 077) == 0 &&
	    sb.st_nlink == 0 && (size_t)sb.st_size <= GOTRUE_STORE_FILE_MAX)
		wipe_fd(fd, (size_t)sb.st_size);
	if (fd >= 0)
		close(fd);
	return rc;
}

int gotrue_store_remove(struct gotrue_store *st, const char *id)
{
	char lock[NAME_LEN];
	int rc;

	rc = record_name(id, ".lock", lock);
	if (rc != 0)
		goto cleanup;
	gotrue_store_release(st, id);
	rc = remove_wiped(st->dirfd, id);
	/* The lock file goes last, so that a waiter who wins it finds the record gone. */
	if (unlinkat(st->dirfd, lock, 0) != 0 && errno != ENOENT && rc == 0)
		rc = -errno;
cleanup:
	return rc;
}

/* ".<id>.XXXXXX": the temp file of gotrue_replace_file() for a record (mkostemp(3) fills the X
 * with letters and digits). */
/* The sessions directory, opened for readdir(3). 0 or -errno (logged). */
static int open_listing(struct gotrue_store *st, DIR **d)
{
	int fd, rc = 0;

	*d = NULL;
	fd = open(st->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (*d = fdopendir(fd)) == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		gotrue_log(st->pamh, LOG_ERR, "cannot list store; path=%s error=%s", st->dir,
			   strerror(-rc));
	}
	return rc;
}

static bool temp_name(const char *name)
{
	size_t i;

	if (name[0] != '.' || strlen(name) != 1 + GOTRUE_STORE_ID_LEN + 1 + 6 ||
	    name[1 + GOTRUE_STORE_ID_LEN] != '.')
		return false;
	for (i = 0; i < GOTRUE_STORE_ID_LEN; i++) {
		if (!((name[1 + i] >= '0' && name[1 + i] <= '9') ||
		      (name[1 + i] >= 'a' && name[1 + i] <= 'f')))
			return false;
	}
	for (i = 2 + GOTRUE_STORE_ID_LEN; name[i] != '\0'; i++) {
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z')))
			return false;
	}
	return true;
}

int gotrue_store_remove_stale_temp(struct gotrue_store *st, time_t min_age, unsigned int *removed)
{
	struct dirent *de;
	struct stat sb;
	time_t now = time(NULL);
	DIR *d = NULL;
	int rc = 0;

	*removed = 0;
	rc = open_listing(st, &d);
	if (rc != 0)
		goto cleanup;
	while ((de = readdir(d)) != NULL) {
		/* A live writer's temp file is renamed or removed within one request's time: only
		 * one older than @min_age belongs to a writer that was killed. */
		if (!temp_name(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode) || now - sb.st_mtime < min_age)
			continue;
		if (remove_wiped(dirfd(d), de->d_name) == 0)
			(*removed)++;
	}
cleanup:
	if (d != NULL)
		closedir(d);
	return rc;
}

int gotrue_store_each(struct gotrue_store *st,
		      int (*each)(void *ctx, const struct gotrue_store_record *rec), void *ctx)
{
	struct gotrue_store_record rec;
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0;

	rc = open_listing(st, &d);
	if (rc != 0)
		goto cleanup;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		/* Skips ".", "..", the writer's ".<id>.XXXXXX" temp files and "<id>.lock". */
		if (!gotrue_store_id_valid(de->d_name))
			continue;
		rc = gotrue_store_read(st, de->d_name, &rec);
		if (rc == -ENOMEM)
			break; /* a walk that missed a record it could have read proves nothing */
		if (rc != 0) {
			rc = 0;
			continue; /* removed meanwhile (ENOENT), or refused and logged */
		}
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
	char(*v)[GOTRUE_STORE_ID_LEN + 1] = NULL;
	size_t cap = 0, len = 0;
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0;

	*ids = NULL;
	*n = 0;
	rc = open_listing(st, &d);
	if (rc != 0)
		goto cleanup;
	while ((de = readdir(d)) != NULL) {
		if (!gotrue_store_id_valid(de->d_name))
			continue;
		if (gotrue_grow((void **)&v, &cap, len + 1, sizeof(*v)) != 0) {
			rc = -ENOMEM;
			goto cleanup;
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

unsigned long long gotrue_store_pid_start(pid_t pid)
{
	struct gotrue_proc_stat st;

	return gotrue_proc_stat(pid, &st) == 0 ? st.start : 0;
}

bool gotrue_store_owner_alive(const struct gotrue_store_record *rec)
{
	struct gotrue_proc_stat st;

	/* A zombie has ended its session; it only waits for its parent. */
	if (gotrue_proc_stat(rec->pid, &st) != 0 || st.start == 0 || st.state == 'Z' ||
	    st.state == 'X' || st.state == 'x')
		return false;
	return rec->pid_start == 0 || rec->pid_start == st.start;
}
