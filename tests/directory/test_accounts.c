/* test_accounts: the private account index's reader and writer (lib/directory/accounts.c). A
 * lookup binary-searches the table and parses only the record it finds: shown on a large index
 * whose every other record is garbage. A corrupt header, table or record, a truncated file, an
 * unknown format or version: an error, never a crash nor a wrong account. The old format (JSON
 * lines only) is still read, and an empty or missing index holds nobody. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "account_overlay.h"
#include "accounts.h"
#include "tap.h"

/* The layout accounts.h describes: a 64-byte header, 48-byte slots. */
#define HDR		64
#define SLOT		48
#define OFF_N		16
#define OFF_RECORDS_OFF 32
#define OFF_RECORDS_LEN 40
#define OFF_FILE_SIZE	48

#define N_BIG 5000

static char dir[4096];
static char names[N_BIG][16], ids[N_BIG][40], emails[N_BIG][40];

static void make_accounts(struct gotrue_account *a, size_t n)
{
	size_t i;

	memset(a, 0, n * sizeof(*a));
	for (i = 0; i < n; i++) {
		/* Written in an order other than the table's (sorted by name). */
		snprintf(names[i], sizeof(names[i]), "u%05zu", (i * 7919) % 100000);
		snprintf(ids[i], sizeof(ids[i]), "00000000-0000-4000-8000-%012zu", i);
		snprintf(emails[i], sizeof(emails[i]), "%s@example.com", names[i]);
		a[i].name = names[i];
		a[i].user_id = ids[i];
		a[i].email = emails[i];
		a[i].uid = a[i].gid = (uint32_t)(0x70000000u + i);
		a[i].gecos = a[i].home = a[i].shell = (char *)"";
	}
}

static unsigned char *slurp(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) != NULL &&
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	*len = buf != NULL ? (size_t)st.st_size : 0;
	if (fd >= 0)
		close(fd);
	return buf;
}

static int spill(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = fd >= 0 && write(fd, data, len) == (ssize_t)len ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return rc;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static int count_each(void *ctx, struct gotrue_account *a)
{
	(void)a;
	if (ctx != NULL)
		(*(int *)ctx)++;
	return 0;
}

static int lookup_mem(const unsigned char *buf, size_t len, const char *name)
{
	struct gotrue_account a;
	int r = gotrue_accounts_lookup_mem(NULL, "mem", buf, len, name, &a);

	if (r == 0 && strcmp(a.name, name) != 0)
		r = 99; /* a wrong account: worse than an error */
	gotrue_account_clear(&a);
	return r;
}

static void test_every_name(const unsigned char *buf, size_t len, const struct gotrue_account *w)
{
	struct gotrue_account a;
	size_t i, found = 0;

	for (i = 0; i < N_BIG; i++) {
		if (gotrue_accounts_lookup_mem(NULL, "mem", buf, len, w[i].name, &a) == 0 &&
		    strcmp(a.user_id, w[i].user_id) == 0 && strcmp(a.email, w[i].email) == 0 &&
		    a.uid == w[i].uid)
			found++;
		gotrue_account_clear(&a);
	}
	is_int(found, N_BIG, "every one of %d accounts found by the binary search", N_BIG);
	is_int(lookup_mem(buf, len, "u99999x"), 1, "a name past the last: not there");
	is_int(lookup_mem(buf, len, "a"), 1, "a name before the first: not there");
	is_int(lookup_mem(buf, len, "u00001"), 1, "a name between two: not there");
}

/* Every record but @keep's overwritten with bytes no parser takes: the lookup of @keep still
 * works, so it parsed nothing else; any other name is an error, not a crash. */
static void test_garbage(const char *path, unsigned char *buf, size_t len, const char *keep)
{
	struct gotrue_account a;
	uint64_t n = get64(buf + OFF_N), roff = get64(buf + OFF_RECORDS_OFF);
	uint64_t at = 0, rlen = 0, i;
	uint32_t len32;
	int r, count = 0;

	for (i = 0; i < n; i++) {
		const unsigned char *s = buf + HDR + i * SLOT;

		if (strncmp((const char *)s, keep, 32) == 0) {
			at = get64(s + 32);
			memcpy(&len32, s + 40, sizeof(len32));
			rlen = len32;
		}
	}
	ok(rlen > 0, "garbage: %s's slot found in the table", keep);
	memset(buf + roff, 0xa5, at);
	memset(buf + roff + at + rlen, 0xa5, len - roff - at - rlen);
	ok(spill(path, buf, len) == 0, "garbage: index written");
	r = gotrue_accounts_lookup(NULL, path, keep, &a);
	ok(r == 0 && strcmp(a.name, keep) == 0 && a.email != NULL &&
		   strncmp(a.email, keep, strlen(keep)) == 0,
	   "garbage: %s found, every other record unparsed", keep);
	gotrue_account_clear(&a);
	is_int(gotrue_accounts_lookup(NULL, path, names[1], &a), -1,
	       "garbage: another name's record is corrupt: an error");
	is_int(gotrue_accounts_each(NULL, path, count_each, &count), -1,
	       "garbage: a walk over every record fails (the garbage would not parse)");
}

static void test_header(const unsigned char *good, size_t len)
{
	unsigned char *b = malloc(len);
	size_t i, bad = 0;
	int r;

	if (b == NULL)
		return;
	/* Each byte of the header flipped in turn: all but the reserved last 8 are checked. */
	for (i = 0; i < HDR; i++) {
		memcpy(b, good, len);
		b[i] ^= 0xff;
		r = lookup_mem(b, len, names[3]);
		if (i < 56 ? r != -1 : r != 0) {
			bad++;
			printf("# header byte %zu flipped: %d\n", i, r);
		}
	}
	is_int(bad, 0, "header: every checked byte flipped is an error, the reserved ones are not");
	memcpy(b, good, len);
	put64(b + OFF_N, (uint64_t)1 << 40);
	is_int(lookup_mem(b, len, names[3]), -1, "header: an absurd count: an error");
	memcpy(b, good, len);
	is_int(lookup_mem(b, len - 1, names[3]), -1, "header: a truncated file: an error");
	is_int(lookup_mem(b, HDR - 1, names[3]), -1, "header: a file shorter than the header");
	put64(b + OFF_RECORDS_LEN, get64(b + OFF_RECORDS_LEN) + 4096);
	put64(b + OFF_FILE_SIZE, get64(b + OFF_FILE_SIZE) + 4096);
	is_int(lookup_mem(b, len, names[3]), -1, "header: sections past the end of the file");
	free(b);
}

/* A slot whose record is out of bounds, or is another account's: an error for that name. */
static void test_slots(const unsigned char *good, size_t len)
{
	unsigned char *b = malloc(len);
	uint64_t rlen = get64(good + OFF_RECORDS_LEN);
	const unsigned char *s0 = good + HDR;
	char first[33] = {0};
	uint32_t len32;

	if (b == NULL)
		return;
	memcpy(first, s0, 32);
	memcpy(b, good, len);
	put64(b + HDR + 32, rlen);
	is_int(lookup_mem(b, len, first), -1, "slot: a record at the end of the records: an error");
	memcpy(b, good, len);
	put64(b + HDR + 32, (uint64_t)-1);
	is_int(lookup_mem(b, len, first), -1, "slot: a record offset that would wrap: an error");
	memcpy(b, good, len);
	memset(b + HDR + 40, 0xff, 4);
	is_int(lookup_mem(b, len, first), -1, "slot: a record length past the end: an error");
	memcpy(b, good, len);
	memcpy(b + HDR + 32, good + HDR + SLOT + 32, 16);
	is_int(lookup_mem(b, len, first), -1,
	       "slot: pointing at another account's record: an error, not that account");
	memcpy(b, good, len);
	memcpy(&len32, b + HDR + 40, sizeof(len32));
	len32--;
	memcpy(b + HDR + 40, &len32, sizeof(len32));
	is_int(lookup_mem(b, len, first), -1, "slot: a record cut short: an error");
	free(b);
}

static void test_formats(struct gotrue_account *w)
{
	static const char legacy[] =
		"{\"name\":\"alice\",\"id\":\"00000000-0000-4000-8000-00000000000a\",\"uid\":"
		"1879048300,\"gid\":1879048300,\"gecos\":\"\",\"home\":\"/home/alice\",\"shell\":"
		"\"/bin/sh\",\"email\":\"alice@example.com\",\"banned_until\":0,\"created_at\":1,"
		"\"groups\":[\"staff\"]}\n";
	struct gotrue_account a, dup[2];
	char path[4200];
	int count = 0;

	snprintf(path, sizeof(path), "%s/legacy", dir);
	ok(spill(path, legacy, sizeof(legacy) - 1) == 0, "old format: written");
	ok(gotrue_accounts_lookup(NULL, path, "alice", &a) == 0 && a.n_groups == 1 &&
		   strcmp(a.email, "alice@example.com") == 0,
	   "old format (no header): still read, by a scan");
	gotrue_account_clear(&a);
	is_int(gotrue_accounts_lookup(NULL, path, "bob", &a), 1, "old format: bob not there");
	ok(gotrue_accounts_each(NULL, path, count_each, &count) == 0 && count == 1,
	   "old format: walked");
	ok(spill(path, "", 0) == 0 && gotrue_accounts_lookup(NULL, path, "alice", &a) == 1,
	   "an empty file holds nobody");
	ok(spill(path,
		 "\x7f"
		 "ELF....",
		 8) == 0 &&
		   gotrue_accounts_lookup(NULL, path, "alice", &a) == -1,
	   "an unknown format: an error");
	unlink(path);
	is_int(gotrue_accounts_lookup(NULL, path, "alice", &a), 1, "no index: nobody, no error");
	ok(gotrue_accounts_write(path, w, 0) == 0 &&
		   gotrue_accounts_lookup(NULL, path, "alice", &a) == 1,
	   "an index of no accounts: nobody");
	dup[0] = w[0];
	dup[1] = w[1];
	dup[1].name = w[0].name;
	is_int(gotrue_accounts_write(path, dup, 2), -EINVAL, "writer: one name twice refused");
	dup[1].name = (char *)"a23456789012345678901234567890123";
	is_int(gotrue_accounts_write(path, dup, 2), -EINVAL,
	       "writer: a name over 32 bytes refused");
	unlink(path);
}

/* A login's private overlay beside the index (account_overlay.h) answers first; a torn one is
 * ignored (the index answers), a whole line that is not a record of the name is an error. */
static void test_overlay(const char *path, struct gotrue_account *w)
{
	char odir[4300], opath[4400];
	struct gotrue_account a, o = w[7];
	char gecos[] = "From the overlay";

	snprintf(odir, sizeof(odir), "%s/overlay", dir);
	snprintf(opath, sizeof(opath), "%s/%s", odir, w[7].name);
	o.gecos = gecos;
	ok(mkdir(odir, 0700) == 0 && gotrue_accounts_write_record(opath, &o) == 0,
	   "overlay: %s's record written beside the index", w[7].name);
	ok(gotrue_accounts_lookup(NULL, path, w[7].name, &a) == 0 && strcmp(a.gecos, gecos) == 0,
	   "overlay: the lookup reads it before the index");
	gotrue_account_clear(&a);
	ok(spill(opath, "{\"name\":\"torn", 12) == 0 &&
		   gotrue_accounts_lookup(NULL, path, w[7].name, &a) == 0 &&
		   strcmp(a.gecos, "") == 0 && strcmp(a.user_id, w[7].user_id) == 0,
	   "overlay: a torn one (no final newline) is ignored, the index answers");
	gotrue_account_clear(&a);
	ok(spill(opath, "{\"name\":\"someone\"}\n", 19) == 0 &&
		   gotrue_accounts_lookup(NULL, path, w[7].name, &a) == -1,
	   "overlay: a whole line that is not this account's record is an error");
	ok(chmod(opath, 0644) == 0 && gotrue_accounts_lookup(NULL, path, w[7].name, &a) == -1,
	   "overlay: one others can read is refused, an error");
	unlink(opath);
	rmdir(odir);
}

static bool exists(const char *fmt, const char *a, const char *b)
{
	char p[4400];

	snprintf(p, sizeof(p), fmt, a, b);
	return access(p, F_OK) == 0;
}

/* A fleet bundle's index installed on a host: overlays of names it holds go, and so do those
 * older than its listing; one written since, for a user it does not name yet, stays. */
static void test_settle(struct gotrue_account *w)
{
	char sdir[4300], acct[4400], cache[4400], uid[16];
	struct gotrue_account fresh = w[11], stale = w[12];
	struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	time_t made = time(NULL) - 60;

	if (geteuid() != 0) {
		diag("settle: skipped, overlays are checked to be root's");
		return;
	}
	snprintf(sdir, sizeof(sdir), "%s/settle", dir);
	snprintf(acct, sizeof(acct), "%s/accounts", sdir);
	snprintf(cache, sizeof(cache), "%s/nss.cache", sdir);
	ok(mkdir(sdir, 0700) == 0 && gotrue_accounts_write(acct, w, 10) == 0 &&
		   gotrue_account_overlay_write(NULL, acct, cache, &w[3], NULL, 0) == 0 &&
		   gotrue_account_overlay_write(NULL, acct, cache, &fresh, NULL, 0) == 0 &&
		   gotrue_account_overlay_write(NULL, acct, cache, &stale, NULL, 0) == 0,
	   "settle: three overlays written");
	ok(utimensat(AT_FDCWD,
		     (snprintf(cache, sizeof(cache), "%s/overlay/%s", sdir, stale.name), cache),
		     old, 0) == 0,
	   "settle: one of them dated before the bundle's listing");
	snprintf(cache, sizeof(cache), "%s/nss.cache", sdir);
	is_int(gotrue_account_overlay_settle(NULL, acct, cache, made), 0, "settle: done");
	ok(!exists("%s/overlay/%s", sdir, w[3].name) &&
		   !exists("%s/nss.overlay/%s", sdir, w[3].name),
	   "settle: the overlay of a name the index holds is gone, private and public");
	snprintf(uid, sizeof(uid), "%u", stale.uid);
	ok(!exists("%s/overlay/%s", sdir, stale.name) &&
		   !exists("%s/nss.overlay/uid/%s", sdir, uid),
	   "settle: one older than the listing is gone, its uid entry too");
	snprintf(uid, sizeof(uid), "%u", fresh.uid);
	ok(exists("%s/overlay/%s", sdir, fresh.name) &&
		   exists("%s/nss.overlay/%s", sdir, fresh.name) &&
		   exists("%s/nss.overlay/uid/%s", sdir, uid),
	   "settle: one written since, of a name the index lacks, stays");
	gotrue_account_overlay_clear(NULL, acct, cache);
}

int main(void)
{
	static struct gotrue_account w[N_BIG];
	char path[4200];
	unsigned char *buf;
	size_t len;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/test_accounts.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/accounts", dir);
	make_accounts(w, N_BIG);
	ok(gotrue_accounts_write(path, w, N_BIG) == 0, "index of %d accounts written", N_BIG);
	ok(gotrue_accounts_each(NULL, path, count_each, &n) == 0 && n == N_BIG,
	   "every record walked (%d)", n);
	buf = slurp(path, &len);
	ok(buf != NULL && len == get64(buf + OFF_FILE_SIZE) &&
		   get64(buf + OFF_RECORDS_OFF) == HDR + (uint64_t)N_BIG * SLOT,
	   "header: sizes as documented");
	if (buf != NULL) {
		test_every_name(buf, len, w);
		test_overlay(path, w);
		test_header(buf, len);
		test_slots(buf, len);
		test_garbage(path, buf, len, names[N_BIG / 2]);
	}
	free(buf);
	test_settle(w);
	test_formats(w);
	unlink(path);
	rmdir(dir);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
