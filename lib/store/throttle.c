/* throttle: the local failure throttle of lib/store/throttle.h (what it does and why is there): the
 * table file and its slots, the per-bucket arithmetic of pam_faillock(8) and the eviction rule. */
#include <config.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "log.h"
#include "secure.h"
#include "throttle.h"

/* The table file, in this host's byte order (a state file of this host, never moved elsewhere).
 * Header, HEADER_SIZE bytes:
 *    0 magic "GTTHROT1"   8 u32 version   12 u32 slot size   16 u32 user slots
 *   20 u32 host slots    24 u32 window   28 u32 zero        32 secret[32]    64... zero
 * Slot i at HEADER_SIZE + i * SLOT_SIZE; users are slots [0, users), hosts [users, users + hosts):
 *    0 u8 kind (0: empty)   1 u8 flags (FLAG_TRUNCATED)   2 u16 n   4 u32 zero   8 i64 last
 *   16 id[16]: HMAC(secret, kind byte + key), the bucket's identity
 *   32 label[64]: the key as shown, NUL-padded
 *   96 u32 age[100]: last - the time of each failure kept, newest first (age[0] = 0)
 *  496 mac[16]: HMAC(secret, bytes 0..495)
 * Slots are 512 bytes at 512-byte offsets, so that no slot straddles a disk sector. The MAC is
 * keyed only because the key is at hand: it is there to catch torn writes, not forgeries (only
 * root can write the file). HMAC-SHA256 truncated to 128 bits keeps ids apart for good. */
#define MAGIC	       "GTTHROT1"
#define TABLE_VERSION  1
#define HEADER_SIZE    512
#define SLOT_SIZE      512
#define SECRET_OFF     32
#define SECRET_LEN     32
#define ID_OFF	       16
#define ID_LEN	       16
#define LABEL_OFF      32
#define LABEL_LEN      (GOTRUE_THROTTLE_LABEL_MAX + 1)
#define AGE_OFF	       96
#define RING	       GOTRUE_THROTTLE_FAILURES_MAX
#define MAC_OFF	       496
#define MAC_LEN	       16
#define FLAG_TRUNCATED 1
#define SLOTS_MAX      65536
#define TABLE_DIR      "throttle"
#define TABLE_NAME     "tally"
/* The lock is held for a few reads and writes of 512 bytes: two seconds means something is
 * wrong, and a login must not wait on it for long. */
#define LOCK_TIMEOUT_MS 2000

_Static_assert(AGE_OFF + 4 * RING == MAC_OFF && MAC_OFF + MAC_LEN == SLOT_SIZE,
	       "the slot layout adds up");
_Static_assert(LABEL_OFF + LABEL_LEN == AGE_OFF, "the label ends where the ages start");

struct gotrue_throttle {
	pam_handle_t *pamh;
	int fd;		    /* the locked table file; -1 for an image */
	unsigned char *img; /* an image table (not owned), else NULL */
	char *path;	    /* for log lines */
	unsigned char secret[SECRET_LEN];
	uint32_t users, hosts, window;
};

/* One slot, decoded. */
struct slot {
	uint32_t index;
	bool used;
	enum gotrue_throttle_kind kind;
	uint8_t flags;
	uint16_t n;
	int64_t last;
	unsigned char id[ID_LEN];
	char label[LABEL_LEN];
	uint32_t age[RING];
};

/* The window of one key: its slots as read, and which one is the key's (-1: none). */
struct window {
	struct slot s[GOTRUE_THROTTLE_WINDOW];
	unsigned char id[ID_LEN];
	int match;
};

/* One kind's settings, from the config. */
struct limits {
	long limit, interval, unlock;
};

static void limits_for(const struct gotrue_config *cfg, enum gotrue_throttle_kind kind,
		       struct limits *l)
{
	l->limit = kind == GOTRUE_THROTTLE_USER ? cfg->throttle_user_failures
						: cfg->throttle_host_failures;
	l->interval = cfg->throttle_interval;
	l->unlock = cfg->throttle_unlock_time;
}

static int hmac(const struct gotrue_throttle *t, const void *data, size_t len,
		unsigned char out[32])
{
	unsigned int n = 0;

	return HMAC(EVP_sha256(), t->secret, SECRET_LEN, data, len, out, &n) != NULL && n == 32
		       ? 0
		       : -ENOMEM;
}

/* @kind's bucket for @key: its id and the first slot of its window. */
static int key_id(const struct gotrue_throttle *t, enum gotrue_throttle_kind kind, const char *key,
		  unsigned char id[ID_LEN], uint32_t *first)
{
	unsigned char buf[1 + GOTRUE_THROTTLE_HOST_MAX], md[32];
	size_t len = strlen(key);
	uint64_t h;
	int rc = -EINVAL;

	if (len > GOTRUE_THROTTLE_HOST_MAX)
		goto cleanup;
	buf[0] = (unsigned char)kind;
	memcpy(buf + 1, key, len);
	rc = hmac(t, buf, len + 1, md);
	if (rc != 0)
		goto cleanup;
	memcpy(id, md, ID_LEN);
	memcpy(&h, md + ID_LEN, sizeof(h));
	*first = (uint32_t)(h % (kind == GOTRUE_THROTTLE_USER ? t->users : t->hosts));
cleanup:
	return rc;
}

/* pread(2) or pwrite(2) of exactly @len bytes at @off. 0 or -errno (-EIO for a short file). */
static int full_io(int fd, unsigned char *buf, size_t len, off_t off, bool write)
{
	size_t done = 0;
	ssize_t n;
	int rc = 0;

	while (done < len && rc == 0) {
		n = write ? pwrite(fd, buf + done, len - done, off + (off_t)done)
			  : pread(fd, buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		else if (n == 0)
			rc = -EIO;
		else
			done += (size_t)n;
	}
	return rc;
}

static int slot_io(struct gotrue_throttle *t, uint32_t index, unsigned char raw[SLOT_SIZE],
		   bool write)
{
	size_t off = HEADER_SIZE + (size_t)index * SLOT_SIZE;
	int rc = 0;

	if (t->img != NULL && write)
		memcpy(t->img + off, raw, SLOT_SIZE);
	else if (t->img != NULL)
		memcpy(raw, t->img + off, SLOT_SIZE);
	else
		rc = full_io(t->fd, raw, SLOT_SIZE, (off_t)off, write);
	if (rc != 0)
		gotrue_log(t->pamh, LOG_ERR, "cannot %s the throttle table; path=%s error=%s",
			   write ? "write" : "read", t->path, strerror(-rc));
	return rc;
}

static bool label_valid(const char *label)
{
	bool ok = true;
	size_t i;

	for (i = 0; ok && i < LABEL_LEN && label[i] != '\0'; i++)
		ok = (unsigned char)label[i] >= 0x20 && label[i] != 0x7f;
	return ok && i < LABEL_LEN;
}

/* Whether @raw holds a slot this code wrote whole (MAC, bounds, order) for its half. */
static bool slot_sound(const struct gotrue_throttle *t, const unsigned char *raw,
		       const struct slot *s)
{
	enum gotrue_throttle_kind half =
		s->index < t->users ? GOTRUE_THROTTLE_USER : GOTRUE_THROTTLE_HOST;
	unsigned char md[32];
	uint32_t zero;
	uint16_t i;
	bool ok;

	memcpy(&zero, raw + 4, sizeof(zero));
	ok = raw[0] == (unsigned char)half && (raw[1] & ~FLAG_TRUNCATED) == 0 && zero == 0 &&
	     hmac(t, raw, MAC_OFF, md) == 0 && CRYPTO_memcmp(md, raw + MAC_OFF, MAC_LEN) == 0 &&
	     s->n >= 1 && s->n <= RING && s->last >= 0 && label_valid(s->label) && s->age[0] == 0;
	for (i = 1; ok && i < s->n; i++)
		ok = s->age[i] >= s->age[i - 1];
	return ok;
}

/* Decode slot @index from @raw. A damaged slot is logged and comes back empty: one bucket's count
 * lost is what a torn write may cost (lib/store/throttle.h). */
static void slot_decode(const struct gotrue_throttle *t, const unsigned char *raw, uint32_t index,
			struct slot *s)
{
	memset(s, 0, sizeof(*s));
	s->index = index;
	if (raw[0] != 0) {
		s->kind = raw[0];
		s->flags = raw[1];
		memcpy(&s->n, raw + 2, sizeof(s->n));
		memcpy(&s->last, raw + 8, sizeof(s->last));
		memcpy(s->id, raw + ID_OFF, ID_LEN);
		memcpy(s->label, raw + LABEL_OFF, LABEL_LEN);
		memcpy(s->age, raw + AGE_OFF, sizeof(s->age));
		s->used = slot_sound(t, raw, s);
	}
	if (raw[0] != 0 && !s->used) {
		gotrue_log(t->pamh, LOG_ERR,
			   "damaged throttle slot taken as empty; path=%s slot=%u",
			   t->path ? t->path : "(image)", (unsigned int)index);
		memset(s, 0, sizeof(*s));
		s->index = index;
	}
}

static int slot_encode(const struct gotrue_throttle *t, const struct slot *s,
		       unsigned char raw[SLOT_SIZE])
{
	unsigned char md[32];
	int rc = 0;

	memset(raw, 0, SLOT_SIZE);
	if (s->used) {
		raw[0] = (unsigned char)s->kind;
		raw[1] = s->flags;
		memcpy(raw + 2, &s->n, sizeof(s->n));
		memcpy(raw + 8, &s->last, sizeof(s->last));
		memcpy(raw + ID_OFF, s->id, ID_LEN);
		memcpy(raw + LABEL_OFF, s->label, LABEL_LEN);
		memcpy(raw + AGE_OFF, s->age, (size_t)s->n * sizeof(s->age[0]));
		rc = hmac(t, raw, MAC_OFF, md);
		memcpy(raw + MAC_OFF, md, MAC_LEN);
	}
	return rc;
}

static int slot_write(struct gotrue_throttle *t, const struct slot *s)
{
	unsigned char raw[SLOT_SIZE];
	int rc = slot_encode(t, s, raw);

	return rc != 0 ? rc : slot_io(t, s->index, raw, true);
}

/* The bucket arithmetic. A latest failure in the future (the clock was set back) counts as now,
 * so that no lock outlasts throttle_unlock_time from the moment it is looked at. */
static int64_t last_seen(const struct slot *s, time_t now)
{
	return s->last < (int64_t)now ? s->last : (int64_t)now;
}

/* Failures within the interval of the latest one: what locks (pam_faillock's count). */
static unsigned int burst(const struct slot *s, long interval)
{
	unsigned int n = 0;

	while (n < s->n && s->age[n] < (uint64_t)interval)
		n++;
	return n;
}

/* Failures within the interval of @now: what a bucket still has to lose. */
static unsigned int recent(const struct slot *s, long interval, time_t now)
{
	uint64_t since = (uint64_t)((int64_t)now - last_seen(s, now));
	unsigned int n = 0;

	while (n < s->n && s->age[n] + since < (uint64_t)interval)
		n++;
	return n;
}

static bool slot_locked(const struct slot *s, const struct limits *l, time_t now, long *wait)
{
	int64_t until = last_seen(s, now) + l->unlock;
	bool locked = s->used && l->limit > 0 && burst(s, l->interval) >= (unsigned long)l->limit &&
		      (int64_t)now < until;

	if (locked && wait != NULL)
		*wait = (long)(until - now);
	return locked;
}

static bool slot_free(const struct slot *s, const struct limits *l, time_t now)
{
	return !s->used ||
	       (!slot_locked(s, l, now, NULL) && (int64_t)now - last_seen(s, now) >= l->interval);
}

/* Add a failure at @now: start over after a lock that ran out, drop what left the interval, keep
 * the newest RING. True when this failure is the one that locks the bucket. */
static bool slot_record(struct slot *s, const struct limits *l, time_t now)
{
	uint32_t ages[RING];
	uint64_t since, a;
	unsigned int before, k = 1, i;

	if (burst(s, l->interval) >= (unsigned long)l->limit && !slot_locked(s, l, now, NULL))
		s->n = 0;
	before = burst(s, l->interval);
	since = (uint64_t)((int64_t)now - last_seen(s, now));
	ages[0] = 0;
	for (i = 0; i < s->n && k < RING; i++) {
		a = s->age[i] + since;
		if (a < (uint64_t)l->interval)
			ages[k++] = (uint32_t)a;
	}
	memcpy(s->age, ages, k * sizeof(ages[0]));
	s->n = (uint16_t)k;
	s->last = now;
	return before < (unsigned long)l->limit && k >= (unsigned long)l->limit;
}

/* Read @key's window and find its slot. 0 or -errno. */
static int window_read(struct gotrue_throttle *t, enum gotrue_throttle_kind kind, const char *key,
		       struct window *w)
{
	uint32_t first = 0, base = kind == GOTRUE_THROTTLE_USER ? 0 : t->users;
	uint32_t half = kind == GOTRUE_THROTTLE_USER ? t->users : t->hosts, i;
	unsigned char raw[SLOT_SIZE];
	int rc;

	w->match = -1;
	rc = key_id(t, kind, key, w->id, &first);
	for (i = 0; rc == 0 && i < t->window; i++) {
		rc = slot_io(t, base + (first + i) % half, raw, false);
		if (rc == 0)
			slot_decode(t, raw, base + (first + i) % half, &w->s[i]);
		if (rc == 0 && w->match < 0 && w->s[i].used &&
		    CRYPTO_memcmp(w->s[i].id, w->id, ID_LEN) == 0)
			w->match = (int)i;
	}
	return rc;
}

/* The slot a new bucket takes (the eviction rule of lib/store/throttle.h): the first free one, else
 * the one with the least to lose. */
static unsigned int window_pick(const struct gotrue_throttle *t, const struct window *w,
				const struct limits *l, time_t now)
{
	unsigned int i, r, best = 0, best_r = 0;
	bool lk, best_lk = true, found = false;

	for (i = 0; i < t->window && !found; i++) {
		found = slot_free(&w->s[i], l, now);
		lk = slot_locked(&w->s[i], l, now, NULL);
		r = recent(&w->s[i], l->interval, now);
		if (found || i == 0 || (!lk && best_lk) ||
		    (lk == best_lk &&
		     (r < best_r || (r == best_r && w->s[i].last < w->s[best].last)))) {
			best = i;
			best_lk = lk;
			best_r = r;
		}
	}
	return best;
}

static void verdict_take(struct gotrue_throttle_verdict *v, enum gotrue_throttle_kind kind,
			 const struct slot *s, const struct limits *l, long wait)
{
	if (!v->locked || wait > v->wait) {
		v->locked = true;
		v->by = kind;
		v->failures = burst(s, l->interval);
		v->wait = wait;
	}
}

/* The key of @kind's bucket for an attempt, or NULL when that limit is 0 (or there is no key). */
static const char *kind_key(const struct gotrue_config *cfg, enum gotrue_throttle_kind kind,
			    const char *user, const char *host)
{
	long limit = kind == GOTRUE_THROTTLE_USER ? cfg->throttle_user_failures
						  : cfg->throttle_host_failures;

	return limit > 0 ? (kind == GOTRUE_THROTTLE_USER ? user : host) : NULL;
}

static const char *shown(const char *label)
{
	return *label != '\0' ? label : "(local)";
}

/* A new bucket for @key in @w's slot @i; an evicted one is logged. */
static void slot_claim(struct gotrue_throttle *t, struct window *w, unsigned int i,
		       enum gotrue_throttle_kind kind, const char *key, const struct limits *l,
		       time_t now)
{
	struct slot *s = &w->s[i];
	size_t len = strlen(key);

	if (s->used && !slot_free(s, l, now))
		gotrue_log(t->pamh, LOG_WARNING,
			   "throttle table full here, forgetting a bucket; %s=%s failures=%u",
			   s->kind == GOTRUE_THROTTLE_USER ? "user" : "rhost", shown(s->label),
			   recent(s, l->interval, now));
	memset(s->label, 0, sizeof(s->label));
	memset(s->age, 0, sizeof(s->age));
	s->used = true;
	s->kind = kind;
	s->flags = len > GOTRUE_THROTTLE_LABEL_MAX ? FLAG_TRUNCATED : 0;
	s->n = 0;
	s->last = now;
	memcpy(s->id, w->id, ID_LEN);
	memcpy(s->label, key, len > GOTRUE_THROTTLE_LABEL_MAX ? GOTRUE_THROTTLE_LABEL_MAX : len);
}

/* One bucket of an attempt: with @record a failure is added (and the bucket made where there is
 * none); either way its lock, if any, goes into @v. */
static int bucket_visit(struct gotrue_throttle *t, const struct gotrue_config *cfg,
			enum gotrue_throttle_kind kind, const char *key, time_t now, bool record,
			struct gotrue_throttle_verdict *v)
{
	struct window w;
	struct limits l;
	struct slot *s;
	long wait = 0;
	int rc;

	limits_for(cfg, kind, &l);
	rc = window_read(t, kind, key, &w);
	if (rc != 0 || (w.match < 0 && !record))
		goto cleanup;
	if (w.match < 0) {
		w.match = (int)window_pick(t, &w, &l, now);
		slot_claim(t, &w, (unsigned int)w.match, kind, key, &l, now);
	}
	s = &w.s[w.match];
	if (record && slot_record(s, &l, now))
		gotrue_log(t->pamh, LOG_WARNING,
			   "too many failed attempts, refusing for %ld s; %s=%s failures=%u",
			   l.unlock, kind == GOTRUE_THROTTLE_USER ? "user" : "rhost", shown(key),
			   burst(s, l.interval));
	if (record)
		rc = slot_write(t, s);
	if (rc == 0 && slot_locked(s, &l, now, &wait))
		verdict_take(v, kind, s, &l, wait);
cleanup:
	return rc;
}

/* The user's bucket and the host's, where their limit is not 0. */
static int attempt_visit(struct gotrue_throttle *t, const struct gotrue_config *cfg,
			 const char *user, const char *host, time_t now, bool record,
			 struct gotrue_throttle_verdict *v)
{
	enum gotrue_throttle_kind kind;
	const char *key;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	for (kind = GOTRUE_THROTTLE_USER; rc == 0 && kind <= GOTRUE_THROTTLE_HOST; kind++) {
		key = kind_key(cfg, kind, user, host);
		if (key != NULL)
			rc = bucket_visit(t, cfg, kind, key, now, record, v);
	}
	return rc;
}

int gotrue_throttle_table_check(struct gotrue_throttle *t, const struct gotrue_config *cfg,
				const char *user, const char *host, time_t now,
				struct gotrue_throttle_verdict *v)
{
	return attempt_visit(t, cfg, user, host, now, false, v);
}

int gotrue_throttle_table_fail(struct gotrue_throttle *t, const struct gotrue_config *cfg,
			       const char *user, const char *host, time_t now,
			       struct gotrue_throttle_verdict *v)
{
	return attempt_visit(t, cfg, user, host, now, true, v);
}

int gotrue_throttle_forget(struct gotrue_throttle *t, enum gotrue_throttle_kind kind,
			   const char *key)
{
	struct window w;
	int rc = -EINVAL;

	if (kind != GOTRUE_THROTTLE_USER && kind != GOTRUE_THROTTLE_HOST)
		goto cleanup;
	rc = window_read(t, kind, key, &w);
	if (rc == 0 && w.match < 0)
		rc = -ENOENT;
	if (rc == 0) {
		w.s[w.match].used = false;
		rc = slot_write(t, &w.s[w.match]);
	}
cleanup:
	return rc;
}

int gotrue_throttle_each(struct gotrue_throttle *t, const struct gotrue_config *cfg, time_t now,
			 int (*each)(void *ctx, const struct gotrue_throttle_entry *e), void *ctx)
{
	struct gotrue_throttle_entry e;
	unsigned char raw[SLOT_SIZE];
	struct slot s;
	struct limits l;
	uint32_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < t->users + t->hosts; i++) {
		rc = slot_io(t, i, raw, false);
		if (rc != 0)
			break;
		slot_decode(t, raw, i, &s);
		limits_for(cfg, s.kind, &l);
		if (slot_free(&s, &l, now))
			continue;
		memset(&e, 0, sizeof(e));
		e.kind = s.kind;
		memcpy(e.label, s.label, sizeof(e.label));
		e.truncated = (s.flags & FLAG_TRUNCATED) != 0;
		e.failures = burst(&s, l.interval);
		e.last = (time_t)s.last;
		e.locked = slot_locked(&s, &l, now, &e.wait);
		rc = each(ctx, &e);
	}
	return rc;
}

/* ---- the table file ------------------------------------------------------------------------ */

static bool geometry_valid(uint32_t users, uint32_t hosts, uint32_t window)
{
	return users >= 1 && users <= SLOTS_MAX && hosts >= 1 && hosts <= SLOTS_MAX &&
	       window >= 1 && window <= GOTRUE_THROTTLE_WINDOW && window <= users &&
	       window <= hosts;
}

static size_t table_size(uint32_t users, uint32_t hosts)
{
	return HEADER_SIZE + ((size_t)users + hosts) * SLOT_SIZE;
}

unsigned char *gotrue_throttle_image_new(uint32_t users, uint32_t hosts, uint32_t window,
					 size_t *len)
{
	uint32_t hdr[5] = {TABLE_VERSION, SLOT_SIZE, users, hosts, window};
	unsigned char *img = NULL;

	*len = 0;
	if (!geometry_valid(users, hosts, window))
		goto cleanup;
	img = calloc(1, table_size(users, hosts));
	if (img == NULL)
		goto cleanup;
	memcpy(img, MAGIC, 8);
	memcpy(img + 8, hdr, sizeof(hdr));
	/* getrandom(2) returns requests of up to 256 bytes whole once the pool is ready. */
	if (getrandom(img + SECRET_OFF, SECRET_LEN, 0) != SECRET_LEN) {
		free(img);
		img = NULL;
		goto cleanup;
	}
	*len = table_size(users, hosts);
cleanup:
	return img;
}

/* The header @h of a table file of @len bytes into @t. 0, or -EBADMSG with *@why set. */
static int header_parse(struct gotrue_throttle *t, const unsigned char *h, size_t len,
			const char **why)
{
	const char *bad = "not a throttle table";
	uint32_t hdr[6];
	int rc = -EBADMSG;

	if (len < HEADER_SIZE || memcmp(h, MAGIC, 8) != 0)
		goto cleanup;
	memcpy(hdr, h + 8, sizeof(hdr));
	if (hdr[0] != TABLE_VERSION || hdr[1] != SLOT_SIZE || hdr[5] != 0 ||
	    !geometry_valid(hdr[2], hdr[3], hdr[4]))
		goto cleanup;
	bad = "wrong size";
	if (len != table_size(hdr[2], hdr[3]))
		goto cleanup;
	t->users = hdr[2];
	t->hosts = hdr[3];
	t->window = hdr[4];
	memcpy(t->secret, h + SECRET_OFF, SECRET_LEN);
	rc = 0;
cleanup:
	if (rc != 0)
		*why = bad;
	return rc;
}

int gotrue_throttle_open_image(unsigned char *img, size_t len, struct gotrue_throttle **out)
{
	struct gotrue_throttle *t = calloc(1, sizeof(*t));
	const char *why;
	int rc = -ENOMEM;

	*out = NULL;
	if (t == NULL)
		goto cleanup;
	t->fd = -1;
	t->img = img;
	rc = header_parse(t, img, len, &why);
	if (rc == 0) {
		*out = t;
		t = NULL;
	}
cleanup:
	gotrue_throttle_close(t);
	return rc;
}

void gotrue_throttle_close(struct gotrue_throttle *t)
{
	if (t != NULL) {
		if (t->fd >= 0)
			close(t->fd); /* releases the lock */
		free(t->path);
		explicit_bzero(t->secret, sizeof(t->secret));
		free(t);
	}
}

/* A fresh empty table at @path, whole before anyone can open it (temp file, fsync, then a link or
 * a rename, directory fsync). A missing table is made with @replace false: of many first failures
 * at once, one table wins and the others get -EEXIST (unlogged) and use it, instead of each
 * renaming its own over the last and losing the counts written meanwhile. A damaged table is
 * replaced (@replace true), never written through, a link included. 0 or -errno. */
static int table_create(pam_handle_t *pamh, const char *path, bool replace)
{
	unsigned char *img;
	size_t len;
	int rc = -ENOMEM;

	img = gotrue_throttle_image_new(GOTRUE_THROTTLE_SLOTS, GOTRUE_THROTTLE_SLOTS,
					GOTRUE_THROTTLE_WINDOW, &len);
	if (img != NULL)
		rc = replace ? gotrue_replace_file(path, img, len, 0600)
			     : gotrue_create_file(path, img, len, 0600);
	if (rc != 0 && rc != -EEXIST)
		gotrue_log(pamh, LOG_ERR, "cannot create the throttle table; path=%s error=%s",
			   path, strerror(-rc));
	free(img);
	return rc;
}

/* What is wrong with the table file of status @st (NULL: nothing). */
static const char *file_refusal(const struct stat *st)
{
	const char *why = NULL;

	if (!S_ISREG(st->st_mode))
		why = "not a regular file";
	else if (st->st_uid != 0 && st->st_uid != geteuid())
		why = "not owned by root";
	else if ((st->st_mode & 077) != 0)
		why = "group or others can access it";
	return why;
}

/* Lock the open table, then judge it and read its header: 0, -EAGAIN when a writer replaced the
 * file while we waited, -EBADMSG with *@why set when it is not a table, or another -errno. It is
 * judged under the lock so that, of the failures that find it damaged at once, the first replaces
 * it and the others, waiting on the lock of the old file, then find it replaced. */
static int file_lock(struct gotrue_throttle *t, int timeout_ms, const char **why)
{
	unsigned char h[HEADER_SIZE];
	struct stat st;
	int rc;

	rc = gotrue_flock_wait(t->fd, timeout_ms);
	if (rc != 0) {
		gotrue_log(t->pamh, LOG_ERR, "cannot lock the throttle table; path=%s error=%s",
			   t->path, strerror(-rc));
		goto cleanup;
	}
	if (fstat(t->fd, &st) != 0) {
		rc = -errno;
		goto cleanup;
	}
	if (st.st_nlink == 0) {
		rc = -EAGAIN;
		goto cleanup;
	}
	*why = file_refusal(&st);
	if (*why != NULL) {
		rc = -EBADMSG;
		goto cleanup;
	}
	if (st.st_size < HEADER_SIZE) {
		*why = "too short";
		rc = -EBADMSG;
		goto cleanup;
	}
	rc = full_io(t->fd, h, HEADER_SIZE, 0, false);
	if (rc == 0)
		rc = header_parse(t, h, (size_t)st.st_size, why);
cleanup:
	return rc;
}

/* One try at opening and locking the table: 0, -EAGAIN to try again (the file was created,
 * replaced or repaired meanwhile), or another -errno. */
static int table_attach(struct gotrue_throttle *t, int dirfd, enum gotrue_throttle_mode mode,
			int timeout_ms)
{
	bool create = mode == GOTRUE_THROTTLE_CREATE;
	const char *why = NULL;
	int rc;

	t->fd = openat(dirfd, TABLE_NAME,
		       (mode == GOTRUE_THROTTLE_READ ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC |
			       O_NOCTTY | O_NONBLOCK);
	rc = t->fd < 0 ? -errno : 0;
	if (rc == -ELOOP) {
		why = "a symbolic link";
	} else if (rc == -ENOENT && create) {
		rc = table_create(t->pamh, t->path, false);
		rc = rc == 0 || rc == -EEXIST ? -EAGAIN : -EIO;
	} else if (rc != 0 && rc != -ENOENT) {
		gotrue_log(t->pamh, LOG_ERR, "cannot open the throttle table; path=%s error=%s",
			   t->path, strerror(-rc));
	} else if (rc == 0) {
		rc = file_lock(t, timeout_ms, &why);
	}
	if (why != NULL && create) {
		gotrue_log(t->pamh, LOG_ERR, "replacing a damaged throttle table (%s); path=%s",
			   why, t->path);
		rc = table_create(t->pamh, t->path, true) == 0 ? -EAGAIN : -EIO;
	} else if (why != NULL) {
		gotrue_log(t->pamh, LOG_ERR,
			   "damaged throttle table (%s), left as it is until a failed login "
			   "replaces it; path=%s",
			   why, t->path);
		rc = -EBADMSG;
	}
	return rc;
}

/* STATE_DIR/throttle, opened and checked (and with @create made, the state directory too). */
static int table_dir(pam_handle_t *pamh, const char *state_dir, bool create, char **dir)
{
	int fd = -ENOMEM;

	if (asprintf(dir, "%s/%s", state_dir, TABLE_DIR) < 0) {
		*dir = NULL;
		goto cleanup;
	}
	/* The state directory is checked too: in one that others could write, the throttle's
	 * directory could be swapped or removed under us. */
	fd = gotrue_open_dir(pamh, state_dir, 0755, create);
	if (fd < 0)
		goto cleanup;
	close(fd);
	fd = gotrue_open_dir(pamh, *dir, 0700, create);
cleanup:
	return fd;
}

int gotrue_throttle_open(pam_handle_t *pamh, const char *state_dir, enum gotrue_throttle_mode mode,
			 int timeout_ms, struct gotrue_throttle **out)
{
	struct gotrue_throttle *t = calloc(1, sizeof(*t));
	char *dir = NULL;
	int dirfd = -1, tries, rc = -ENOMEM;

	*out = NULL;
	if (t == NULL)
		goto cleanup;
	t->pamh = pamh;
	t->fd = -1;
	dirfd = rc = table_dir(pamh, state_dir, mode == GOTRUE_THROTTLE_CREATE, &dir);
	if (rc < 0)
		goto cleanup;
	rc = -ENOMEM;
	if (asprintf(&t->path, "%s/%s", dir, TABLE_NAME) < 0) {
		t->path = NULL;
		goto cleanup;
	}
	/* Each -EAGAIN is a table made or replaced meanwhile; a few in a row is a bug. */
	for (tries = 0, rc = -EAGAIN; rc == -EAGAIN && tries < 4; tries++) {
		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		rc = table_attach(t, dirfd, mode, timeout_ms);
	}
	if (rc == 0) {
		*out = t;
		t = NULL;
	} else if (rc == -EAGAIN) {
		rc = -EIO;
	}
cleanup:
	if (dirfd >= 0)
		close(dirfd);
	free(dir);
	gotrue_throttle_close(t);
	return rc;
}

int gotrue_throttle_clear(pam_handle_t *pamh, const char *state_dir)
{
	char *dir = NULL, *path = NULL;
	int dirfd, rc;

	dirfd = rc = table_dir(pamh, state_dir, true, &dir);
	if (rc < 0)
		goto cleanup;
	close(dirfd);
	rc = -ENOMEM;
	if (asprintf(&path, "%s/%s", dir, TABLE_NAME) < 0) {
		path = NULL;
		goto cleanup;
	}
	rc = table_create(pamh, path, true);
cleanup:
	free(path);
	free(dir);
	return rc;
}

/* ---- the login path ------------------------------------------------------------------------ */

void gotrue_throttle_host_key(const char *rhost, char *out, size_t len)
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	size_t i;

	if (len > 0)
		out[0] = '\0';
	if (len == 0 || rhost == NULL || *rhost == '\0') {
		/* nothing to write, or the local bucket */
	} else if (inet_pton(AF_INET, rhost, &a4) == 1) {
		snprintf(out, len, "%s", inet_ntop(AF_INET, &a4, buf, sizeof(buf)));
	} else if (inet_pton(AF_INET6, rhost, &a6) == 1 && IN6_IS_ADDR_V4MAPPED(&a6)) {
		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		snprintf(out, len, "%s", inet_ntop(AF_INET, &a4, buf, sizeof(buf)));
	} else if (inet_pton(AF_INET6, rhost, &a6) == 1) {
		memset(&a6.s6_addr[8], 0, 8);
		snprintf(out, len, "%s/64", inet_ntop(AF_INET6, &a6, buf, sizeof(buf)));
	} else {
		/* A host name (sshd's UseDNS): DNS names compare without case. */
		for (i = 0; rhost[i] != '\0' && i + 1 < len; i++)
			out[i] = (unsigned char)rhost[i] < 0x20 || rhost[i] == 0x7f
					 ? '?'
					 : (char)tolower((unsigned char)rhost[i]);
		out[i] = '\0';
	}
}

enum op {
	OP_CHECK,
	OP_FAIL,
	OP_SUCCESS,
};

static int run_op(pam_handle_t *pamh, const struct gotrue_config *cfg, enum op op, const char *user,
		  const char *rhost, time_t now, struct gotrue_throttle_verdict *v)
{
	struct gotrue_throttle_verdict ignored;
	struct gotrue_throttle *t = NULL;
	char host[GOTRUE_THROTTLE_HOST_MAX + 1];
	int rc = 0;

	if (v == NULL)
		v = &ignored;
	memset(v, 0, sizeof(*v));
	if ((cfg->throttle_user_failures <= 0 && cfg->throttle_host_failures <= 0) ||
	    (op == OP_SUCCESS && cfg->throttle_user_failures <= 0))
		goto cleanup;
	gotrue_throttle_host_key(rhost, host, sizeof(host));
	/* Only a failure creates the table, or replaces a damaged one: a check or a success reads
	 * a missing table as empty and changes nothing on disk, and a damaged one (logged) as
	 * empty until the next failure replaces it. */
	rc = gotrue_throttle_open(pamh, cfg->state_dir,
				  op == OP_FAIL	   ? GOTRUE_THROTTLE_CREATE
				  : op == OP_CHECK ? GOTRUE_THROTTLE_READ
						   : GOTRUE_THROTTLE_UPDATE,
				  LOCK_TIMEOUT_MS, &t);
	if (rc == -ENOENT || rc == -EBADMSG)
		rc = 0;
	if (t == NULL)
		goto cleanup;
	if (op == OP_CHECK)
		rc = gotrue_throttle_table_check(t, cfg, user, host, now, v);
	else if (op == OP_FAIL)
		rc = gotrue_throttle_table_fail(t, cfg, user, host, now, v);
	else if ((rc = gotrue_throttle_forget(t, GOTRUE_THROTTLE_USER, user)) == -ENOENT)
		rc = 0; /* nothing to forget */
cleanup:
	gotrue_throttle_close(t);
	return rc;
}

int gotrue_throttle_check(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *user,
			  const char *rhost, time_t now, struct gotrue_throttle_verdict *v)
{
	return run_op(pamh, cfg, OP_CHECK, user, rhost, now, v);
}

int gotrue_throttle_fail(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *user,
			 const char *rhost, time_t now, struct gotrue_throttle_verdict *v)
{
	return run_op(pamh, cfg, OP_FAIL, user, rhost, now, v);
}

int gotrue_throttle_success(pam_handle_t *pamh, const struct gotrue_config *cfg, const char *user)
{
	return run_op(pamh, cfg, OP_SUCCESS, user, NULL, 0, NULL);
}
