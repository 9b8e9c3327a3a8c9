/* test_sync: gotrue_sync_run and gotrue_sync_one_user against the emulator. Users are created
 * through the admin API with app_metadata (username, uid, groups) and with escalation attempts in
 * user_metadata; the cache is then read back through the real reader and the account index
 * through gotrue_accounts_lookup. Covers names that collide or fail validation, clashes with a
 * local passwd entry (fixture files, never the host's /etc), local_groups mapping, a server
 * failing partway (the old cache stays byte-identical), a user over max_response on its own (left
 * out and named, everyone else synced), the account index's size cap, users deleted while the
 * listing runs (listed again, or failing closed), a 10000-user listing, the one-user refresh
 * after a login, and the index's file rules. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "accounts.h"
#include "api.h"
#include "account_overlay.h"
#include "cache.h"
#include "emu.h"
#include "overlay.h"
#include "gotrue_config.h"
#include "sync.h"
#include "tap.h"

static struct emu *emu;
static struct gotrue_config *cfg;
static struct gotrue_client *client;
static char dir[] = "/tmp/test-sync-XXXXXX";
static char cache_path[4200], acct_path[4200], passwd_path[4200], group_path[4200];
static struct gotrue_sync_options opt;

static const char PASSWD[] = "root:x:0:0:root:/root:/bin/bash\n"
			     "localuser:x:1000:1000:Local:/home/localuser:/bin/sh\n";
static const char GROUP[] = "root:x:0:\n"
			    "adm:x:4:\n"
			    "sudo:x:27:localuser\n"
			    "staff:x:50:\n"
			    "localuser:x:1000:\n";

/* POST /admin/users, the email confirmed or not; returns the user id (malloc'd) or NULL. */
static char *create_as(const char *email, const char *app, const char *userm, bool confirmed)
{
	json_object *attrs = json_object_new_object();
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	char *id = NULL;

	json_object_object_add(attrs, "email", json_object_new_string(email));
	json_object_object_add(attrs, "email_confirm", json_object_new_boolean(confirmed));
	if (app != NULL)
		json_object_object_add(attrs, "app_metadata", json_tokener_parse(app));
	if (userm != NULL)
		json_object_object_add(attrs, "user_metadata", json_tokener_parse(userm));
	if (gotrue_admin_create_user(client, attrs, &u, &err) == 0)
		id = strdup(u.id);
	else
		diag("create %s: %s", email, err.message);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	json_object_put(attrs);
	return id;
}

static char *create(const char *email, const char *app, const char *userm)
{
	return create_as(email, app, userm, true);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	unsigned char *buf = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) != NULL &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size)
		*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

static const struct gotrue_left_out *find_left(const struct gotrue_sync_summary *s,
					       const char *id_or_name, const char *reason_part)
{
	size_t i;

	for (i = 0; i < s->n_left_out; i++) {
		const struct gotrue_left_out *l = &s->left_out[i];

		if ((strcmp(l->id, id_or_name) == 0 || (l->name && !strcmp(l->name, id_or_name))) &&
		    strstr(l->reason, reason_part) != NULL)
			return l;
	}
	return NULL;
}

static int sync_now(struct gotrue_sync_summary *sum)
{
	struct gotrue_error err = {0};
	int rc = gotrue_sync_run(NULL, cfg, &opt, sum, &err);

	if (rc != 0)
		diag("sync: %s", err.message);
	gotrue_error_clear(&err);
	return rc;
}

static bool has_gid(const struct gotrue_cache_pw *p, uint32_t gid)
{
	uint32_t i;

	for (i = 0; i < p->n_gids; i++) {
		if (p->gids[i] == gid)
			return true;
	}
	return false;
}

static char *alice_id, *bob_id, *mallory_id, *eve_id, *badname_id, *dup1_id, *dup2_id, *uid1_id,
	*uid2_id, *local_id, *dave_id, *erin_id, *frank_id;

static void test_mapping(void)
{
	struct gotrue_sync_summary sum;
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw p, p2;
	struct gotrue_cache_gr g;
	struct stat st;
	int found;

	alice_id =
		create("alice@example.com",
		       "{\"username\":\"alice\",\"uid\":1879048300,\"groups\":[\"sudo\",\"devs\"],"
		       "\"full_name\":\"Alice: Liddell\\u0007\"}",
		       NULL);
	bob_id = create("Bob@Example.com", "{\"groups\":[\"devs\"]}", NULL);
	/* Escalation attempts: a user may write user_metadata, which must grant nothing. */
	mallory_id = create("mallory@example.com", "{}",
			    "{\"username\":\"root\",\"uid\":0,\"groups\":[\"sudo\",\"adm\"]}");
	eve_id = create("eve@other.org", "{}", "{\"username\":\"eve\",\"uid\":1879048500}");
	badname_id = create("bad@other.org", "{\"username\":\"Bad Name\"}", NULL);
	dup1_id = create("dup1@other.org", "{\"username\":\"twin\"}", NULL);
	dup2_id = create("dup2@other.org", "{\"username\":\"twin\"}", NULL);
	uid1_id = create("u1@other.org", "{\"username\":\"carol\",\"uid\":1879048400}", NULL);
	uid2_id = create("u2@other.org", "{\"username\":\"dan\",\"uid\":1879048400}", NULL);
	local_id = create("localuser@example.com", "{}", NULL);
	dave_id = create("dave@other.org", "{\"username\":\"dave\",\"groups\":[\"staff\"]}", NULL);
	erin_id = create("erin@other.org", "{\"username\":\"erin\",\"groups\":[\"adm\",\"Bad!\"]}",
			 NULL);
	frank_id = create("frank@other.org", "{\"username\":\"frank\",\"uid\":5}", NULL);
	ok(alice_id && bob_id && mallory_id && eve_id && badname_id && dup1_id && dup2_id &&
		   uid1_id && uid2_id && local_id && dave_id && erin_id && frank_id,
	   "13 users created through the admin API");

	memset(&sum, 0, sizeof(sum));
	if (!ok(sync_now(&sum) == 0, "sync succeeds"))
		return;
	is_int(sum.users_seen, 13, "summary: 13 users listed");
	is_int(sum.users, 8, "summary: 8 users written");
	ok(find_left(&sum, eve_id, "no app_metadata.username") != NULL,
	   "left out: user_metadata.username grants no name (eve@other.org)");
	ok(find_left(&sum, badname_id, "invalid login name") != NULL,
	   "left out: 'Bad Name' fails validation");
	ok((find_left(&sum, dup1_id, "name collides") != NULL) !=
		   (find_left(&sum, dup2_id, "name collides") != NULL),
	   "left out: exactly one of two users named twin");
	ok((find_left(&sum, uid1_id, "uid collides") != NULL) !=
		   (find_left(&sum, uid2_id, "uid collides") != NULL),
	   "left out: exactly one of two users with uid 1879048400");
	ok(find_left(&sum, local_id, "clashes with a local user") != NULL,
	   "left out: localuser clashes with the local passwd");
	ok(find_left(&sum, "staff", "clashes with a local group") != NULL,
	   "left out: group staff (local, not in local_groups)");
	is_int(sum.n_left_out, 6, "6 entries left out in all");
	is_int(sum.local_groups, 2, "summary: sudo and adm mapped to local gids");
	/* 8 private groups + devs. */
	is_int(sum.groups, 9, "summary: 9 groups written");
	gotrue_sync_summary_clear(&sum);

	ok(stat(cache_path, &st) == 0 && (st.st_mode & 07777) == 0644, "cache is mode 0644");
	ok(stat(acct_path, &st) == 0 && (st.st_mode & 07777) == 0600, "account index is mode 0600");

	gotrue_cache_init(&c, cache_path);
	if (!ok(gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK, "the reader accepts the cache"))
		return;
	is_int(v->hdr->n_users, 8, "cache holds 8 users");
	ok(gotrue_cache_getpwnam(v, "alice", &p) == GOTRUE_CACHE_OK && p.uid == 1879048300u &&
		   p.gid == p.uid && !strcmp(p.dir, "/home/alice") && !strcmp(p.shell, "/bin/bash"),
	   "alice: uid from app_metadata, gid = uid, home and shell from templates");
	is_str(p.gecos, "Alice Liddell", "alice: GECOS from app_metadata, ':' and control dropped");
	ok(gotrue_cache_getgrnam(v, "devs", &g) == GOTRUE_CACHE_OK && g.n_members == 2,
	   "devs: a derived group with its 2 GoTrue members");
	ok(has_gid(&p, 27) && has_gid(&p, g.gid) && p.n_gids == 2,
	   "alice: initgroups gives local sudo (27) and devs");
	ok(gotrue_cache_getgrnam(v, "sudo", &g) == GOTRUE_CACHE_NOTFOUND,
	   "local group sudo is not duplicated in the cache");
	ok(gotrue_cache_getpwnam(v, "bob", &p) == GOTRUE_CACHE_OK && p.uid >= cfg->uid_min &&
		   p.uid <= cfg->uid_max,
	   "bob: name from the listed email domain (case folded), derived uid in range");
	ok(gotrue_cache_getpwnam(v, "mallory", &p) == GOTRUE_CACHE_OK && p.uid != 0 &&
		   p.uid >= cfg->uid_min && p.n_gids == 0,
	   "mallory: user_metadata uid 0 and groups sudo/adm ignored");
	ok(gotrue_cache_getpwnam(v, "root", &p) == GOTRUE_CACHE_NOTFOUND &&
		   gotrue_cache_getpwuid(v, 0, &p) == GOTRUE_CACHE_NOTFOUND,
	   "no root by name or uid 0 in the cache");
	ok(gotrue_cache_getpwnam(v, "eve", &p) == GOTRUE_CACHE_NOTFOUND,
	   "eve (name only in user_metadata) is not in the cache");
	ok(gotrue_cache_getpwuid(v, 1879048500u, &p) == GOTRUE_CACHE_NOTFOUND,
	   "user_metadata uid 1879048500 is not in the cache");
	ok(gotrue_cache_getpwnam(v, "localuser", &p) == GOTRUE_CACHE_NOTFOUND,
	   "the local user's name is not shadowed");
	found = (gotrue_cache_getpwnam(v, "carol", &p) == GOTRUE_CACHE_OK) +
		(gotrue_cache_getpwnam(v, "dan", &p2) == GOTRUE_CACHE_OK);
	is_int(found, 1, "only one of carol/dan (same uid) is in the cache");
	{
		/* Sync interns each user's strings as the listing arrives; those of a user left out
		 * at the end must not stay in the public file. */
		const char *loser = gotrue_cache_getpwnam(v, "carol", &p) == GOTRUE_CACHE_OK
					    ? "/home/dan"
					    : "/home/carol";
		size_t len;
		unsigned char *img = slurp(cache_path, &len);

		ok(img != NULL && memmem(img, len, loser, strlen(loser)) == NULL &&
			   memmem(img, len, "localuser", 9) == NULL &&
			   memmem(img, len, "/home/alice", 11) != NULL,
		   "the cache file holds no string of a user left out after mapping");
		free(img);
	}
	ok(gotrue_cache_getpwnam(v, "dave", &p) == GOTRUE_CACHE_OK && p.n_gids == 0,
	   "dave: kept, but gets no gid for the refused group staff");
	ok(gotrue_cache_getpwnam(v, "erin", &p) == GOTRUE_CACHE_OK && p.n_gids == 1 &&
		   p.gids[0] == 4,
	   "erin: local_groups adm resolves to the local gid 4; the invalid group is dropped");
	ok(gotrue_cache_getpwnam(v, "frank", &p) == GOTRUE_CACHE_OK && p.uid != 5 &&
		   p.uid >= cfg->uid_min,
	   "frank: app_metadata.uid outside [uid_min, uid_max] is replaced by a derived uid");
	ok(gotrue_cache_getgrgid(v, p.uid, &g) == GOTRUE_CACHE_OK && !strcmp(g.name, "frank"),
	   "frank's private group by gid");
	gotrue_cache_release(&c);
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
}

static void test_accounts(void)
{
	struct gotrue_account a;
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	char other[4300];
	int r;

	r = gotrue_accounts_lookup(NULL, acct_path, "alice", &a);
	ok(r == 0 && a.user_id && !strcmp(a.user_id, alice_id) && a.email &&
		   !strcmp(a.email, "alice@example.com") && a.uid == 1879048300u,
	   "index: alice found with user id, email and uid");
	ok(r == 0 && a.n_groups == 2 && !strcmp(a.groups[0], "sudo") &&
		   !strcmp(a.groups[1], "devs") && a.banned_until == 0,
	   "index: alice's groups for allow_groups, not banned");
	gotrue_account_clear(&a);
	r = gotrue_accounts_lookup(NULL, acct_path, "mallory", &a);
	ok(r == 0 && a.n_groups == 0, "index: mallory has no groups (user_metadata ignored)");
	gotrue_account_clear(&a);
	is_int(gotrue_accounts_lookup(NULL, acct_path, "eve", &a), 1, "index: eve not found");
	is_int(gotrue_accounts_lookup(NULL, acct_path, "nobody", &a), 1, "index: unknown name");
	is_int(gotrue_accounts_lookup(NULL, acct_path, "Bad Name", &a), 1,
	       "index: an invalid name is not found");

	/* A ban shows up as banned_until after the next sync. */
	ok(gotrue_admin_ban_user(client, bob_id, "24h", &u, &err) == 0, "ban bob for 24h");
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	ok(sync_now(NULL) == 0, "sync again");
	r = gotrue_accounts_lookup(NULL, acct_path, "bob", &a);
	ok(r == 0 && a.banned_until > time(NULL) + 23 * 3600,
	   "index: bob's banned_until is a day ahead");
	gotrue_account_clear(&a);

	snprintf(other, sizeof(other), "%s/accounts.link", dir);
	if (geteuid() != 0) {
		printf("ok %d # SKIP ownership checks need root\n", ++tap_n);
		printf("ok %d # SKIP ownership checks need root\n", ++tap_n);
		return;
	}
	/* As root, a file root does not own, or a symlink, is refused (fail closed). */
	ok(symlink(acct_path, other) == 0 && gotrue_accounts_lookup(NULL, other, "alice", &a) == -1,
	   "index: a symlink is refused");
	unlink(other);
	ok(chown(acct_path, 1, 1) == 0 &&
		   gotrue_accounts_lookup(NULL, acct_path, "alice", &a) == -1,
	   "index: a file not owned by root is refused");
	if (chown(acct_path, 0, 0) != 0)
		diag("chown back: %s", strerror(errno));
}

/* The index's lines are written by hand (accounts.c) and read by json-c: every field comes back
 * as written, whatever JSON must escape in it, and optional keys stay absent. */
static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* A sync serialises each account's line as it arrives and writes the index from the lines of
 * the accounts that stay, in their final order: the file must be byte for byte the one
 * gotrue_accounts_write makes of the same accounts. */
static void test_lines(struct gotrue_account *w)
{
	struct gotrue_accounts_lines *l = gotrue_accounts_lines_new();
	struct gotrue_account v[2], *many;
	uint32_t keys[2] = {2, 0}, *many_keys;
	char p1[4300], p2[4300], (*names)[8];
	unsigned char *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0, i;

	snprintf(p1, sizeof(p1), "%s/accounts.whole", dir);
	snprintf(p2, sizeof(p2), "%s/accounts.lines", dir);
	ok(l != NULL && gotrue_accounts_lines_add(l, 0, &w[0]) == 0 &&
		   gotrue_accounts_lines_add(l, 1, &w[1]) == 0 &&
		   gotrue_accounts_lines_add(l, 2, &w[2]) == 0,
	   "lines: three accounts serialised ahead, under keys 0, 1, 2");
	/* w[1] left out, the other two in the opposite order. */
	v[0] = w[2];
	v[1] = w[0];
	ok(gotrue_accounts_write(p1, v, 2) == 0 &&
		   gotrue_accounts_write_lines(p2, l, v, keys, 2) == 0,
	   "lines: index written both ways");
	b1 = slurp(p1, &l1);
	b2 = slurp(p2, &l2);
	ok(b1 != NULL && b2 != NULL && l1 == l2 && memcmp(b1, b2, l1) == 0,
	   "lines: byte-identical to the whole write (%zu bytes)", l2);
	free(b2);
	free(b1);
	b1 = b2 = NULL;
	/* More pieces than one writev(2) takes (IOV_MAX): 3000 accounts (names are unique in an
	 * index), written in the reverse of the order their lines were serialised in, so that no
	 * two are adjacent in the buffer. */
	many = calloc(3000, sizeof(*many));
	many_keys = calloc(3000, sizeof(*many_keys));
	names = calloc(3000, sizeof(*names));
	for (i = 0; many != NULL && many_keys != NULL && names != NULL && i < 3000; i++) {
		snprintf(names[i], sizeof(names[i]), "u%04zu", i);
		many[2999 - i] = i % 2 ? w[0] : w[2];
		many[2999 - i].name = names[i];
		many_keys[2999 - i] = (uint32_t)(3 + i);
		if (gotrue_accounts_lines_add(l, (uint32_t)(3 + i), &many[2999 - i]) != 0)
			break;
	}
	ok(many != NULL && i == 3000 && gotrue_accounts_write(p1, many, 3000) == 0 &&
		   gotrue_accounts_write_lines(p2, l, many, many_keys, 3000) == 0 &&
		   (b1 = slurp(p1, &l1)) != NULL && (b2 = slurp(p2, &l2)) != NULL && l1 == l2 &&
		   memcmp(b1, b2, l1) == 0,
	   "lines: 3000 pieces, byte-identical to the whole write");
	free(names);
	free(many);
	free(many_keys);
	free(b1);
	free(b2);
	b1 = b2 = NULL;
	/* An account without a line: the whole write instead. */
	if (gotrue_accounts_write(p1, v, 2) == 0)
		b1 = slurp(p1, &l1);
	keys[0] = 9999; /* no line was added under this key */
	ok(b1 != NULL && gotrue_accounts_write_lines(p2, l, v, keys, 2) == 0 &&
		   (b2 = slurp(p2, &l2)) != NULL && l1 == l2 && memcmp(b1, b2, l1) == 0,
	   "lines: an account without a line falls back to the whole write");
	free(b1);
	free(b2);
	unlink(p1);
	unlink(p2);
	gotrue_accounts_lines_free(l);
}

static int count_each(void *ctx, struct gotrue_account *a)
{
	(void)a;
	(*(int *)ctx)++;
	return 0;
}

static void test_accounts_escapes(void)
{
	static char n1[] = "q.uote-1", n2[] = "plain",
		    id1[] = "00000000-0000-4000-8000-0000000000e1",
		    id2[] = "00000000-0000-4000-8000-0000000000e2",
		    gecos[] = "He said \"hi\" \\ back\\slash, caf\xc3\xa9 /x\x7f",
		    email[] = "c\x01ntrol\x1f\t\n\r\b\f\"@example.com", phone[] = "+1/555\\0",
		    home[] = "/home/\"q\"/%u\\", shell[] = "/bin/sh", g1[] = "g-1", g2[] = "a.b";
	static char *groups[] = {g1, g2, NULL};
	struct gotrue_account w[3], a;
	char every[256];
	char path[4300], *buf, *rec;
	size_t len, i, lines;
	int r, n = 0;

	memset(w, 0, sizeof(w));
	w[0].name = n1;
	w[0].uid = 4294967294u;
	w[0].gid = 7;
	w[0].user_id = id1;
	w[0].gecos = gecos;
	w[0].home = home;
	w[0].shell = shell;
	w[0].email = email;
	w[0].phone = phone;
	w[0].groups = groups;
	w[0].n_groups = 2;
	w[0].banned_until = 4102444800;
	w[0].created_at = 1700000000;
	w[1].name = n2;
	w[1].uid = w[1].gid = 0;
	w[1].user_id = id2;
	w[1].gecos = w[1].home = w[1].shell = (char *)"";
	/* Every byte but NUL, in order, as one value. */
	for (i = 0; i < 255; i++)
		every[i] = (char)(i + 1);
	every[255] = '\0';
	w[2] = w[1];
	w[2].name = (char *)"every";
	w[2].gecos = w[2].email = every;
	snprintf(path, sizeof(path), "%s/accounts.esc", dir);
	is_int(gotrue_accounts_write(path, w, 3), 0, "escapes: index written");
	buf = (char *)slurp(path, &len);
	/* The records follow the 64-byte header and the table of three 48-byte slots. */
	rec = buf != NULL && len > 64 + 3 * 48 ? buf + 64 + 3 * 48 : NULL;
	for (i = 64 + 3 * 48, lines = 0; rec != NULL && i < len; i++)
		lines += buf[i] == '\n';
	ok(rec != NULL && memcmp(buf, "GTACIDX\n", 8) == 0 && lines == 3 && buf[len - 1] == '\n' &&
		   strncmp(rec, "{\"name\":\"q.uote-1\",", 19) == 0 &&
		   memmem(rec, len - (size_t)(rec - buf), "\n{\"name\":\"plain\",", 17) != NULL,
	   "escapes: a header, then one line per account, each starting {\"name\":\"LOGIN\",");
	free(buf);
	r = gotrue_accounts_lookup(NULL, path, "q.uote-1", &a);
	ok(r == 0 && same(a.user_id, id1) && same(a.gecos, gecos) && same(a.home, home) &&
		   same(a.shell, shell) && same(a.email, email) && same(a.phone, phone),
	   "escapes: quotes, backslashes, control characters and UTF-8 read back as written");
	ok(r == 0 && a.uid == 4294967294u && a.gid == 7 && a.banned_until == 4102444800 &&
		   a.created_at == 1700000000 && a.n_groups == 2 && same(a.groups[0], "g-1") &&
		   same(a.groups[1], "a.b"),
	   "escapes: numbers and groups read back");
	gotrue_account_clear(&a);
	r = gotrue_accounts_lookup(NULL, path, "plain", &a);
	ok(r == 0 && a.email == NULL && a.phone == NULL && same(a.gecos, "") && a.uid == 0 &&
		   a.n_groups == 0,
	   "escapes: no email or phone key when there is none, empty strings stay empty");
	gotrue_account_clear(&a);
	r = gotrue_accounts_lookup(NULL, path, "every", &a);
	ok(r == 0 && same(a.gecos, every) && same(a.email, every),
	   "escapes: a value holding every byte 1..255 reads back as written");
	gotrue_account_clear(&a);
	ok(gotrue_accounts_each(NULL, path, count_each, &n) == 0 && n == 3,
	   "escapes: every line parses");
	unlink(path);
	test_lines(w);
}

static void test_partway(void)
{
	struct gotrue_sync_summary sum;
	struct gotrue_error err = {0};
	unsigned char *before, *after, *abefore, *aafter;
	size_t blen, alen, ablen, aalen;
	struct stat st1, st2;
	char *id;
	int rc;

	id = create("late@other.org", "{\"username\":\"late\"}", NULL);
	ok(id != NULL, "one more user created");
	before = slurp(cache_path, &blen);
	abefore = slurp(acct_path, &ablen);
	stat(cache_path, &st1);
	/* Pages of 3: the first GET passes (a zero delay consumes the first rule), the second
	 * gets a 500. */
	opt.per_page = 3;
	emu_reset_counts(emu);
	ok(emu_fault(emu, "{\"path\":\"/admin/users\",\"method\":\"GET\",\"kind\":\"delay\","
			  "\"ms\":0,\"count\":1}") == 0 &&
		   emu_fault(emu,
			     "{\"path\":\"/admin/users\",\"method\":\"GET\",\"kind\":\"status\","
			     "\"status\":500,\"count\":1}") == 0,
	   "faults armed: 500 on the 2nd page");
	memset(&sum, 0, sizeof(sum));
	sleep(1); /* so that a rewrite would also change generated_at and the mtime */
	rc = gotrue_sync_run(NULL, cfg, &opt, &sum, &err);
	is_int(rc, -1, "sync fails when the server fails partway");
	ok(err.kind != GOTRUE_OK, "the error is reported (kind %d)", (int)err.kind);
	is_int(emu_count(emu, "GET /admin/users"), 2, "it stopped at the failing page");
	gotrue_error_clear(&err);
	gotrue_sync_summary_clear(&sum);
	after = slurp(cache_path, &alen);
	aafter = slurp(acct_path, &aalen);
	stat(cache_path, &st2);
	ok(before && after && blen == alen && memcmp(before, after, blen) == 0,
	   "the old cache is byte-identical");
	ok(st1.st_ino == st2.st_ino, "and the same file (not replaced)");
	ok(abefore && aafter && ablen == aalen && memcmp(abefore, aafter, ablen) == 0,
	   "the old account index is byte-identical");
	emu_clear_faults(emu);
	ok(sync_now(NULL) == 0, "with the fault gone, paging by 3 succeeds");
	free(after);
	after = slurp(cache_path, &alen);
	ok(after && (alen != blen || memcmp(before, after, blen) != 0),
	   "and the cache now changes (the new user)");
	opt.per_page = 0;
	free(before);
	free(after);
	free(abefore);
	free(aafter);
	free(id);
}

/* A login's entry update waits for a running sync at most the request timeout, then gives up
 * (logged) and leaves the files alone: a login never hangs behind a long sync. */
static void one_user_waits_bounded(const struct gotrue_user *u, const struct stat *before)
{
	char lock_path[4300];
	struct timespec t0, t1;
	struct stat now;
	long saved = cfg->timeout;
	double waited;
	int fd, rc;

	snprintf(lock_path, sizeof(lock_path), "%s/.sync.lock", dir);
	fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (!ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "a sync holds the sync lock")) {
		if (fd >= 0)
			close(fd);
		return;
	}
	cfg->timeout = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = gotrue_sync_one_user(NULL, cfg, u, &opt);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cfg->timeout = saved;
	close(fd);
	waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ok(rc == -1, "the entry update gives up while the sync lock is held");
	ok(waited >= 0.9 && waited < 3.0, "after about the request timeout (%.2f s for 1 s)",
	   waited);
	ok(stat(cache_path, &now) == 0 && now.st_ino == before->st_ino,
	   "and leaves the cache as it was");
}

/* @fmt, a path with one %s for the directory the account index is in. */
static void state_file(char *path, size_t len, const char *fmt)
{
	const char *slash = strrchr(acct_path, '/');
	char d[4200];

	snprintf(d, sizeof(d), "%.*s", (int)(slash ? slash - acct_path : 0), acct_path);
	snprintf(path, len, fmt, d);
}

/* The mode of @fmt (state_file) is @mode. */
static bool mode_of(const char *fmt, mode_t mode)
{
	char path[4400];
	struct stat st;

	state_file(path, sizeof(path), fmt);
	return lstat(path, &st) == 0 && (st.st_mode & 07777) == mode && st.st_uid == geteuid();
}

/* No file but directories in @fmt (state_file, or a whole path). */
static bool empty_dir(const char *fmt)
{
	char path[4400];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int n = 0;

	state_file(path, sizeof(path), fmt);
	d = opendir(path);
	if (d == NULL)
		return errno == ENOENT; /* none written yet */
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode))
			n++;
	}
	closedir(d);
	return n == 0;
}

static void test_one_user(void)
{
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	struct gotrue_account a;
	json_object *attrs;
	struct stat st1, st2;
	struct gotrue_overlay_pw ov;
	char ovdir[4300];
	uint32_t alice_uid = 0, n_users = 0, bob_uid = 0;

	/* The admin changes bob's groups; bob logs in, and the login refresh (GET /user data)
	 * updates bob alone. */
	attrs = json_tokener_parse("{\"app_metadata\":{\"groups\":[\"ops\",\"sudo\"],"
				   "\"full_name\":\"Robert\"},"
				   "\"user_metadata\":{\"uid\":0,\"username\":\"root\"}}");
	ok(gotrue_admin_update_user(client, bob_id, attrs, &u, &err) == 0,
	   "bob's app_metadata updated");
	json_object_put(attrs);
	gotrue_error_clear(&err);
	stat(cache_path, &st1);
	one_user_waits_bounded(&u, &st1);
	ok(gotrue_sync_one_user(NULL, cfg, &u, &opt) == 0, "gotrue_sync_one_user(bob)");
	gotrue_user_clear(&u);
	stat(cache_path, &st2);
	ok(st1.st_ino == st2.st_ino, "the cache is not rewritten: a login writes an overlay");
	ok(mode_of("%s/overlay", 0700) && mode_of("%s/overlay/bob", 0600) &&
		   mode_of("%s/nss.overlay", 0755) && mode_of("%s/nss.overlay/bob", 0644),
	   "overlays: private 0600 in a 0700 directory, public 0644");
	gotrue_cache_init(&c, cache_path);
	if (!ok(gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK, "reader accepts the cache"))
		return;
	n_users = v->hdr->n_users;
	snprintf(ovdir, sizeof(ovdir), "%s/nss.overlay", dir);
	ok(gotrue_overlay_getpwnam(v, ovdir, "bob", &p, &ov) == GOTRUE_CACHE_OK &&
		   !strcmp(p.gecos, "Robert") && p.n_gids == 1 && has_gid(&p, 27) && p.uid != 0,
	   "NSS's view of bob: new GECOS, local sudo, uid unchanged by user_metadata");
	bob_uid = p.uid;
	ok(gotrue_overlay_getpwuid(v, ovdir, bob_uid, &p, &ov) == GOTRUE_CACHE_OK &&
		   !strcmp(p.gecos, "Robert"),
	   "NSS's view of bob's uid: the same entry");
	ok(gotrue_cache_getgrnam(v, "ops", &g) == GOTRUE_CACHE_NOTFOUND,
	   "group ops, new, waits for the next sync");
	ok(gotrue_cache_getgrnam(v, "devs", &g) == GOTRUE_CACHE_OK && g.n_members == 2,
	   "the cache itself is untouched until then: devs still lists bob");
	if (gotrue_cache_getpwnam(v, "alice", &p) == GOTRUE_CACHE_OK)
		alice_uid = p.uid;
	is_int(alice_uid, 1879048300u, "alice untouched");
	is_int(n_users, 9, "the other users are all still there");
	gotrue_cache_release(&c);
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	ok(gotrue_accounts_lookup(NULL, acct_path, "bob", &a) == 0 && a.n_groups == 2 &&
		   a.banned_until > time(NULL),
	   "index: bob's new groups, ban kept");
	gotrue_account_clear(&a);
	ok(gotrue_accounts_lookup(NULL, acct_path, "alice", &a) == 0 && a.email &&
		   !strcmp(a.email, "alice@example.com"),
	   "index: alice's private entry untouched");
	gotrue_account_clear(&a);
	/* The next sync folds the overlay in: the same data from the listing, and no overlay. */
	ok(sync_now(NULL) == 0, "the next sync");
	ok(access(ovdir, F_OK) == 0 && empty_dir(ovdir) && empty_dir("%s/overlay") &&
		   empty_dir("%s/nss.overlay/uid"),
	   "the next sync removed every overlay");
	gotrue_cache_init(&c, cache_path);
	if (!ok(gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK, "reader accepts the new cache"))
		return;
	ok(gotrue_cache_getpwnam(v, "bob", &p) == GOTRUE_CACHE_OK && !strcmp(p.gecos, "Robert") &&
		   p.n_gids == 2 && has_gid(&p, 27) && p.uid == bob_uid,
	   "the cache now has bob's GECOS, both groups, the same uid");
	ok(gotrue_cache_getgrnam(v, "ops", &g) == GOTRUE_CACHE_OK && g.n_members == 1 &&
		   !strcmp(gotrue_cache_member(v, &g, 0), "bob"),
	   "group ops created with member bob");
	ok(gotrue_cache_getgrnam(v, "devs", &g) == GOTRUE_CACHE_OK && g.n_members == 1 &&
		   !strcmp(gotrue_cache_member(v, &g, 0), "alice"),
	   "devs no longer lists bob");
	gotrue_cache_release(&c);
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	ok(gotrue_accounts_lookup(NULL, acct_path, "bob", &a) == 0 && a.n_groups == 2,
	   "index: bob's groups, from the index now");
	gotrue_account_clear(&a);
}

#define SCALE_USERS 10000

/* The listing's X-Total-Count now, or -1. */
static long long listed_now(void)
{
	struct gotrue_user_page page;
	struct gotrue_error err = {0};
	long long total = -1;

	if (gotrue_admin_list_users(client, 1, 1, &page, &err) == 0)
		total = page.total;
	gotrue_user_page_clear(&page);
	gotrue_error_clear(&err);
	return total;
}

static bool in_cache(const char *name)
{
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw p;
	bool found = false;

	gotrue_cache_init(&c, cache_path);
	if (gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK) {
		found = gotrue_cache_getpwnam(v, name, &p) == GOTRUE_CACHE_OK;
		gotrue_cache_release(&c);
	}
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	return found;
}

static int count_user(void *ctx, const struct gotrue_user *u)
{
	(void)u;
	(*(int *)ctx)++;
	return 0;
}

/* One user who writes three 8 kB values into user_metadata is over max_response (16 KiB here,
 * as three 400 kB values are over the default 1 MiB) on a page of its own: the sync used to fail
 * on every run, so that nothing an administrator changed (a ban) reached the host. The page is
 * fetched again in smaller pages; the big user alone is left out and named; everyone else syncs,
 * and a ban set afterwards reaches the account index. */
static void test_too_large(void)
{
	struct gotrue_sync_summary sum;
	struct gotrue_error err = {0};
	struct gotrue_account a;
	struct gotrue_user u = {0};
	const struct gotrue_left_out *l;
	char meta[3 * 8300], big[8193];
	char *big_id;
	long long total;
	long gets;
	int r;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(meta, sizeof(meta), "{\"a\":\"%s\",\"b\":\"%s\",\"c\":\"%s\"}", big, big, big);
	big_id = create("big@example.com", "{\"username\":\"big\"}", meta);
	ok(big_id != NULL, "too large: a user with 24 kB of user_metadata");
	total = listed_now();
	gotrue_config_set(NULL, cfg, "max_response", "16K");
	opt.per_page = 12;
	emu_reset_counts(emu);
	memset(&sum, 0, sizeof(sum));
	r = gotrue_sync_run(NULL, cfg, &opt, &sum, &err);
	is_int(r, 0, "too large: the sync succeeds (%s)", err.message);
	gets = emu_count(emu, "GET /admin/users");
	/* Newest first: the big user is on the first page; 12 = 2*2*3, so 12, 6, 3, then three
	 * pages of 1, the rest of the range in pages of 3 and 6, and the second page of 12. */
	is_int(gets, 9, "too large: the first page fetched again in pages that tile it");
	l = big_id ? find_left(&sum, big_id, "over max_response (16384 bytes") : NULL;
	ok(l != NULL && strstr(l->reason, "listing position 0 of") != NULL,
	   "too large: the big user is left out, by id and position (%s)", l ? l->reason : "-");
	is_int(sum.users_seen, total, "too large: every listed user seen once");
	ok(!in_cache("big") && in_cache("alice") && in_cache("bob") && in_cache("dave") &&
		   in_cache("frank"),
	   "too large: the big user is not in the cache, the others are");
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	{
		/* A walk with nowhere to report such a user fails, naming it. */
		struct gotrue_client *small = gotrue_client_new(NULL, cfg);
		struct gotrue_user_walk walk = {.per_page = 12,
						.members = GOTRUE_USER_MEMBERS_ACCOUNT,
						.each = count_user,
						.ctx = &r};

		ok(small != NULL && gotrue_admin_each_user(small, &walk, &err) == -1 &&
			   err.kind == GOTRUE_ERR_TOO_LARGE && big_id != NULL &&
			   strstr(err.message, big_id) != NULL &&
			   strstr(err.message, "16384 bytes") != NULL,
		   "too large: a walk without a too_large hook fails naming the user (%s)",
		   err.message);
		gotrue_error_clear(&err);
		gotrue_client_free(small);
	}

	/* The next change an administrator makes still reaches the host. */
	ok(gotrue_admin_ban_user(client, alice_id, "48h", &u, &err) == 0, "too large: ban alice");
	gotrue_user_clear(&u);
	is_int(sync_now(NULL), 0, "too large: sync again");
	r = gotrue_accounts_lookup(NULL, acct_path, "alice", &a);
	ok(r == 0 && a.banned_until > time(NULL) + 47 * 3600,
	   "too large: the ban reached the account index");
	gotrue_account_clear(&a);
	ok(gotrue_admin_ban_user(client, alice_id, "none", &u, &err) == 0, "too large: unban");
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);

	/* With the old limit, one page fits again and the big user syncs. */
	gotrue_config_set(NULL, cfg, "max_response", "1M");
	ok(sync_now(NULL) == 0 && in_cache("big"), "too large: under 1 MiB the big user syncs");
	ok(big_id != NULL && gotrue_admin_delete_user(client, big_id, &err) == 0,
	   "too large: the big user deleted");
	gotrue_error_clear(&err);
	opt.per_page = 0;
	free(big_id);
}

/* The account index has a size cap (what PAM's reader takes); a sync past it fails naming the
 * cap and the user it was reached at, and keeps the old files. */
static void test_index_cap(void)
{
	struct gotrue_error err = {0};
	unsigned char *before, *after;
	size_t blen, alen;
	int r;

	before = slurp(acct_path, &blen);
	opt.accounts_max_size = 1000;
	r = gotrue_sync_run(NULL, cfg, &opt, NULL, &err);
	ok(r == -1 && err.kind == GOTRUE_ERR_TOO_LARGE, "index cap: the sync fails");
	ok(strstr(err.message, "account index would pass its size cap of 1000 bytes at user ") !=
			   NULL &&
		   strstr(err.message, " listed") != NULL && strstr(err.message, "of -1") == NULL,
	   "index cap: the error names the cap and the user count (%s)", err.message);
	after = slurp(acct_path, &alen);
	ok(before && after && blen == alen && memcmp(before, after, blen) == 0,
	   "index cap: the old account index is kept");
	opt.accounts_max_size = 0;
	gotrue_error_clear(&err);
	free(before);
	free(after);
}

/* A user deleted while the listing runs moves the users after it one place back, so that a page
 * can skip one: X-Total-Count fell, and the listing is done again. */
struct deleter {
	char **ids;
	size_t n, done;
	long after_gets; /* start once this many pages were asked for */
	long every_ms;	 /* 0: delete one only */
	volatile bool stop;
};

static void *deleter_main(void *arg)
{
	struct deleter *d = arg;
	struct gotrue_error err = {0};
	int waited;

	for (waited = 0; emu_count(emu, "GET /admin/users") < d->after_gets && waited < 1000;
	     waited++)
		usleep(10000);
	while (d->done < d->n && !d->stop) {
		if (gotrue_admin_delete_user(client, d->ids[d->done], &err) == 0)
			d->done++;
		else
			diag("delete: %s", err.message);
		gotrue_error_clear(&err);
		if (d->every_ms == 0)
			break;
		usleep((useconds_t)d->every_ms * 1000);
	}
	return NULL;
}

static int run_deleting(struct deleter *d, struct gotrue_error *err)
{
	pthread_t th;
	int rc;

	emu_reset_counts(emu); /* and faults: every page now takes 150 ms, so that the listing
				* is still running when a user goes */
	emu_fault(emu, "{\"path\":\"/admin/users\",\"method\":\"GET\",\"kind\":\"delay\","
		       "\"ms\":150,\"count\":-1}");
	if (pthread_create(&th, NULL, deleter_main, d) != 0)
		return -2;
	rc = gotrue_sync_run(NULL, cfg, &opt, NULL, err);
	d->stop = true;
	pthread_join(th, NULL);
	return rc;
}

static void test_deleted_meanwhile(void)
{
	struct gotrue_error err = {0};
	struct deleter d = {0};
	char *ids[16], email[64], app[64];
	unsigned char *before, *after;
	size_t i, blen, alen, made = 0;
	long pages;
	int rc;

	for (i = 0; i < 16; i++) {
		snprintf(email, sizeof(email), "gone%zu@example.com", i);
		snprintf(app, sizeof(app), "{\"username\":\"gone%zu\"}", i);
		ids[i] = create(email, app, NULL);
		made += ids[i] != NULL;
	}
	is_int(made, 16, "deleted meanwhile: 16 users to delete");
	ok(sync_now(NULL) == 0 && in_cache("gone15"), "deleted meanwhile: they are synced");
	opt.per_page = 4;
	pages = (listed_now() + 3) / 4;
	/* The newest user (gone15, listed first) goes after the first page was answered. */
	d.ids = &ids[15];
	d.n = 1;
	d.after_gets = 2;
	rc = run_deleting(&d, &err);
	is_int(rc, 0, "deleted meanwhile: the sync succeeds (%s)", err.message);
	ok(emu_count(emu, "GET /admin/users") > pages,
	   "deleted meanwhile: the listing was done again (%ld requests for %ld pages)",
	   emu_count(emu, "GET /admin/users"), pages);
	ok(d.done == 1 && !in_cache("gone15") && in_cache("gone14") && in_cache("gone0") &&
		   in_cache("alice"),
	   "deleted meanwhile: the deleted user is gone, everyone else is there");
	gotrue_error_clear(&err);

	/* Deletions all along: three listings, each cut short, and the old files stay. */
	before = slurp(acct_path, &blen);
	memset(&d, 0, sizeof(d));
	d.ids = ids;
	d.n = 15;
	d.after_gets = 1;
	d.every_ms = 120;
	rc = run_deleting(&d, &err);
	ok(rc == -1 && strstr(err.message, "kept changing under 3 listings") != NULL,
	   "deleted all along: the sync fails closed (%s)", err.message);
	after = slurp(acct_path, &alen);
	ok(before && after && blen == alen && memcmp(before, after, blen) == 0,
	   "deleted all along: the old account index is kept");
	emu_clear_faults(emu);
	for (i = 0; i < 16; i++) /* those deleted already answer 404 */
		gotrue_admin_delete_user(client, ids[i], &err);
	gotrue_error_clear(&err);
	for (i = 0; i < 16; i++)
		free(ids[i]);
	free(before);
	free(after);
	opt.per_page = 0;
	ok(sync_now(NULL) == 0 && !in_cache("gone0"), "deleted meanwhile: a quiet sync again");
}

static bool left_out(const struct gotrue_sync_summary *sum, const char *name)
{
	size_t i;

	for (i = 0; i < sum->n_left_out; i++)
		if (sum->left_out[i].name && strcmp(sum->left_out[i].name, name) == 0)
			return true;
	return false;
}

static void test_scale(void)
{
	struct gotrue_sync_summary sum;
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw p;
	struct timespec t0, t1;
	char email[64];
	int i, created = 0, missing = 0, uid_clashes = 0;
	double secs;

	/* The 10k users, created in one request (creating them one by one through the
	 * admin API would cost minutes); each is in the groups "all" and "team". */
	created = emu_bulk_users(emu, SCALE_USERS, "scale", "example.com",
				 "{\"app_metadata\":{\"groups\":[\"all\",\"team\"]}}") == 0
			  ? SCALE_USERS
			  : 0;
	is_int(created, SCALE_USERS, "10000 more users created");
	memset(&sum, 0, sizeof(sum));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok(sync_now(&sum) == 0, "sync of 10014 users");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	diag("sync took %.3f s", secs);
	is_int(sum.users_seen, SCALE_USERS + 14, "summary: 10014 listed");
	/* Derived uids come from random UUIDs, so at 10k users two of them may share one (about a
	 * one-in-six chance per run in a 2^28 range): the later user is then left out, as the rules
	 * say. Count those, and expect every other scale user in the cache. */
	for (i = 0; (size_t)i < sum.n_left_out; i++)
		if (sum.left_out[i].name && !strncmp(sum.left_out[i].name, "scale", 5))
			uid_clashes++;
	diag("scale users left out by a derived-uid collision: %d", uid_clashes);
	ok(uid_clashes <= 3, "at most a few derived-uid collisions among 10k users");
	is_int(sum.users, SCALE_USERS + 9 - uid_clashes, "summary: 10009 written, less collisions");
	gotrue_cache_init(&c, cache_path);
	if (!ok(gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK, "reader accepts it")) {
		gotrue_sync_summary_clear(&sum);
		return;
	}
	for (i = 0; i < SCALE_USERS; i++) {
		snprintf(email, sizeof(email), "scale%d", i);
		if (left_out(&sum, email))
			continue;
		if (gotrue_cache_getpwnam(v, email, &p) != GOTRUE_CACHE_OK ||
		    gotrue_cache_getpwuid(v, p.uid, &p) != GOTRUE_CACHE_OK ||
		    strcmp(p.name, email) || p.n_gids != 2)
			missing++;
	}
	is_int(missing, 0, "every scale user not left out found by name and uid, with 2 groups");
	{
		struct gotrue_cache_gr g;

		ok(gotrue_cache_getgrnam(v, "all", &g) == GOTRUE_CACHE_OK &&
			   g.n_members == (uint32_t)(SCALE_USERS - uid_clashes),
		   "group all lists every scale user");
	}
	gotrue_cache_release(&c);
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	gotrue_sync_summary_clear(&sum);
}

/* Temp files (".name.XXXXXX") a writer left in the state directory. */
static int temp_files(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL)
		n += de->d_name[0] == '.' && strchr(de->d_name + 1, '.') != NULL;
	if (d != NULL)
		closedir(d);
	return n;
}

/* The account index cannot be put in place (a directory stands at its path, so its rename fails
 * after it was written): the cache, written meanwhile into its temp file, is not renamed in, and
 * neither temp file stays. Runs after test_scale, so that the index is big enough to still be
 * in writing when the cache image is done. */
static void test_index_fails(void)
{
	unsigned char *before, *after;
	size_t blen, alen;
	struct stat st1, st2;
	char junk[sizeof(acct_path) + 8];
	int rc, before_temps = temp_files();

	before = slurp(cache_path, &blen);
	stat(cache_path, &st1);
	snprintf(junk, sizeof(junk), "%s/keep", acct_path);
	if (!ok(unlink(acct_path) == 0 && mkdir(acct_path, 0700) == 0 && mkdir(junk, 0700) == 0,
		"a directory stands where the account index goes"))
		goto cleanup;
	sleep(1); /* so that a rewrite would also change generated_at and the mtime */
	rc = sync_now(NULL);
	is_int(rc, -1, "the sync fails when the index cannot be renamed in");
	after = slurp(cache_path, &alen);
	stat(cache_path, &st2);
	ok(before && after && blen == alen && memcmp(before, after, blen) == 0 &&
		   st1.st_ino == st2.st_ino,
	   "the old cache stays, byte-identical and the same file");
	free(after);
	is_int(temp_files(), before_temps, "no temp file is left behind");
	rmdir(junk);
	rmdir(acct_path);
	ok(sync_now(NULL) == 0, "with the index path free again, the sync succeeds");
	stat(cache_path, &st2);
	ok(st1.st_ino != st2.st_ino, "and replaces the cache");
cleanup:
	free(before);
}

/* Deny by default: with allow_groups set, only its members become Unix users; the others are
 * counted, not listed one by one, and reach neither the cache nor the index. */
static void test_admission(void)
{
	struct gotrue_sync_summary sum;
	struct gotrue_account a = {0};
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw p;
	size_t i, left_users = 0;

	if (gotrue_config_set(NULL, cfg, "allow_groups", "devs") != 0 ||
	    gotrue_config_set(NULL, cfg, "allow_all_users", "no") != 0) {
		ok(0, "admission: config set");
		return;
	}
	memset(&sum, 0, sizeof(sum));
	if (!ok(sync_now(&sum) == 0, "admission: sync with allow_groups = devs succeeds"))
		return;
	for (i = 0; i < sum.n_left_out; i++)
		left_users += strcmp(sum.left_out[i].what, "user") == 0;
	ok(sum.not_admitted > 0, "admission: users in no allowed group counted (%zu)",
	   sum.not_admitted);
	is_int((long)(sum.users + sum.not_admitted + left_users), (long)sum.users_seen,
	       "admission: every listed user is written, not admitted or left out");
	ok(find_left(&sum, dave_id, "") == NULL, "admission: not admitted is not a left-out line");
	gotrue_sync_summary_clear(&sum);
	gotrue_cache_init(&c, cache_path);
	if (ok(gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK, "admission: cache readable")) {
		is_int(gotrue_cache_getpwnam(v, "alice", &p), GOTRUE_CACHE_OK,
		       "admission: alice (devs) in cache");
		is_int(gotrue_cache_getpwnam(v, "dave", &p), GOTRUE_CACHE_NOTFOUND,
		       "admission: dave (staff) not in the cache");
		gotrue_cache_release(&c);
	}
	gotrue_cache_destroy(&c);
	is_int(gotrue_accounts_lookup(NULL, acct_path, "dave", &a), 1,
	       "admission: dave not in the account index");
	gotrue_account_clear(&a);
	gotrue_config_set(NULL, cfg, "allow_groups", "");
	gotrue_config_set(NULL, cfg, "allow_all_users", "yes");
}

/* --- Names and uids stay with their rightful holder ----------------------------------------
 * On an emulator and a state directory of their own (email_domains lists example.com and
 * example.org), so that the users above do not meet these. The helpers above use the globals,
 * which point here meanwhile. */
static char *index_id(const char *name)
{
	struct gotrue_account a;
	char *id = NULL;

	if (gotrue_accounts_lookup(NULL, acct_path, name, &a) == 0 && a.user_id != NULL)
		id = strdup(a.user_id);
	gotrue_account_clear(&a);
	return id;
}

static bool index_has(const char *name, const char *id)
{
	char *held = index_id(name);
	bool yes = held != NULL && id != NULL && strcmp(held, id) == 0;

	free(held);
	return yes;
}

static void confirm(const char *id)
{
	json_object *attrs = json_tokener_parse("{\"email_confirm\":true}");
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};

	if (gotrue_admin_update_user(client, id, attrs, &u, &err) != 0)
		diag("confirm %s: %s", id, err.message);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	json_object_put(attrs);
}

/* @id as GET /admin/users/{id} has it, then @app merged into app_metadata (may be NULL) and
 * created_at set to @created when not 0: what a login would hand gotrue_sync_one_user. */
static int user_as(const char *id, const char *app, time_t created, struct gotrue_user *u)
{
	struct gotrue_error err = {0};
	json_object *patch = app != NULL ? json_tokener_parse(app) : NULL;
	int rc = gotrue_admin_get_user(client, id, u, &err);

	if (rc == 0 && patch != NULL) {
		json_object_object_foreach(patch, key, val)
		{
			json_object_object_add(u->app_metadata, key, json_object_get(val));
		}
	}
	if (rc == 0 && created != 0)
		u->created_at = created;
	json_object_put(patch);
	gotrue_error_clear(&err);
	return rc;
}

/* One login-time update (gotrue_sync_one_user), from no overlay: its result, and whether
 * nothing at all was written (the index and the cache byte for byte the same, no overlay). */
static int one_login(const struct gotrue_user *u, bool *unchanged)
{
	unsigned char *a0, *c0, *a1, *c1;
	size_t la0, lc0, la1, lc1;
	int rc;

	gotrue_account_overlay_clear(NULL, acct_path, cache_path);
	a0 = slurp(acct_path, &la0);
	c0 = slurp(cache_path, &lc0);
	rc = gotrue_sync_one_user(NULL, cfg, u, &opt);
	a1 = slurp(acct_path, &la1);
	c1 = slurp(cache_path, &lc1);
	/* A login never rewrites the index or the cache; what it writes is an overlay. */
	*unchanged = a0 && a1 && c0 && c1 && la0 == la1 && lc0 == lc1 && !memcmp(a0, a1, la0) &&
		     !memcmp(c0, c1, lc0) && empty_dir("%s/overlay") && empty_dir("%s/nss.overlay");
	ok(a0 && a1 && c0 && c1 && la0 == la1 && lc0 == lc1 && !memcmp(a0, a1, la0) &&
		   !memcmp(c0, c1, lc0),
	   "login update: the index and the cache stay byte for byte the same");
	free(a0);
	free(a1);
	free(c0);
	free(c1);
	return rc;
}

/* A login's update of its own entry keeps the entry's uid and created_at, and never takes a
 * name or uid from another account: it is then not written at all. */
static void names_login(const char *bob, const char *carol, const char *dave, const char *john,
			const char *x, const char *y)
{
	struct gotrue_account before = {0}, after = {0};
	struct gotrue_user u = {0};
	bool unchanged;

	gotrue_accounts_lookup(NULL, acct_path, "bob", &before);
	ok(user_as(bob, "{\"uid\":1879049100,\"full_name\":\"Bob\"}", 1000, &u) == 0 &&
		   one_login(&u, &unchanged) == 0 && !unchanged,
	   "login update with a new GECOS, uid and created_at: written");
	gotrue_accounts_lookup(NULL, acct_path, "bob", &after);
	ok(after.uid == before.uid && after.uid != 1879049100u &&
		   after.created_at == before.created_at && after.created_at != 1000 &&
		   after.gecos && !strcmp(after.gecos, "Bob"),
	   "login update: the new GECOS, the old uid and created_at");
	gotrue_user_clear(&u);
	gotrue_account_clear(&before);
	gotrue_account_clear(&after);
	ok(user_as(carol, NULL, 1, &u) == 0 && one_login(&u, &unchanged) == 1 && unchanged,
	   "login update of an older user whose email is bob@: not written, bob keeps bob");
	gotrue_user_clear(&u);
	ok(user_as(y, NULL, 1, &u) == 0 && one_login(&u, &unchanged) == 1 && unchanged &&
		   index_has("xena", x),
	   "login update of an older user with another account's uid: not written");
	gotrue_user_clear(&u);
	gotrue_accounts_lookup(NULL, acct_path, "dave", &before);
	ok(user_as(dave, "{\"uid\":1879049000}", 1, &u) == 0 && one_login(&u, &unchanged) >= 0 &&
		   gotrue_accounts_lookup(NULL, acct_path, "dave", &after) == 0 &&
		   after.uid == before.uid && index_has("xena", x),
	   "login update of an indexed user claiming another account's uid: its own uid kept");
	gotrue_user_clear(&u);
	gotrue_account_clear(&before);
	gotrue_account_clear(&after);
	ok(user_as(john, "{\"username\":\"bob\"}", 1, &u) == 0 && one_login(&u, &unchanged) == 1 &&
		   unchanged && index_has("bob", bob) && index_has("jdoe", john),
	   "login update naming an account's held name by app_metadata.username: not written");
	gotrue_user_clear(&u);
}

static void names_syncs(void)
{
	struct gotrue_sync_summary sum;
	char *unconf_old, *john, *jane, *unconf_new, *carol, *bob, *dave, *erin, *y, *x;

	/* Older users first: each newcomer below is the older of its pair in one order. A second
	 * apart, since created_at counts whole seconds and a tie would go by the random ids. */
	unconf_old = create_as("jdoe@example.com", "{}", NULL, false);
	carol = create_as("bob@example.com", "{}", NULL, false); /* her address, not yet hers */
	y = create_as("yann@example.com", "{\"uid\":1879049000}", NULL, false);
	sleep(1);
	john = create("john@other.org", "{\"username\":\"jdoe\"}", NULL);
	jane = create("jane@other.org", "{\"username\":\"jane\"}", NULL);
	bob = create("bob@example.org", "{}", NULL);
	dave = create("dave@example.org", "{}", NULL);
	x = create("xena@other.org", "{\"username\":\"xena\",\"uid\":1879049000}", NULL);
	sleep(1);
	unconf_new = create_as("jane@example.com", "{}", NULL, false);
	ok(unconf_old && carol && y && john && jane && bob && dave && x && unconf_new,
	   "names: users created, some unconfirmed");

	memset(&sum, 0, sizeof(sum));
	ok(sync_now(&sum) == 0, "names: first sync");
	ok(index_has("jdoe", john) && find_left(&sum, unconf_old, "email not confirmed"),
	   "an unconfirmed, older jdoe@ does not take jdoe from app_metadata.username");
	ok(index_has("jane", jane) && find_left(&sum, unconf_new, "email not confirmed"),
	   "an unconfirmed, newer jane@ does not take jane either");
	ok(index_has("bob", bob) && find_left(&sum, carol, "email not confirmed"),
	   "bob@example.org is bob; the unconfirmed bob@example.com is nobody");
	ok(index_has("xena", x), "xena holds uid 1879049000");
	gotrue_sync_summary_clear(&sum);

	/* Their addresses confirmed, the older users now want jdoe, jane, bob and the uid. */
	confirm(unconf_old);
	confirm(unconf_new);
	confirm(carol);
	confirm(y);
	sleep(1);
	erin = create("dave@example.com", "{}", NULL); /* newer than dave@example.org */
	memset(&sum, 0, sizeof(sum));
	ok(sync_now(&sum) == 0, "names: second sync");
	ok(index_has("jdoe", john) && find_left(&sum, unconf_old, "app_metadata.username"),
	   "confirmed, older jdoe@: app_metadata.username still wins");
	ok(index_has("jane", jane) && find_left(&sum, unconf_new, "app_metadata.username"),
	   "confirmed, newer jane@: app_metadata.username still wins");
	ok(index_has("bob", bob) && find_left(&sum, carol, "its holder since the last sync"),
	   "an older user whose email became bob@ does not take bob from its holder");
	ok(index_has("dave", dave) && find_left(&sum, erin, "name collides"),
	   "a newer user whose email is dave@ does not take dave either");
	ok(index_has("xena", x) && find_left(&sum, y, "uid collides with its holder"),
	   "an older user with the same app_metadata.uid does not take it from its holder");
	gotrue_sync_summary_clear(&sum);
	names_login(bob, carol, dave, john, x, y);
	free(unconf_old);
	free(unconf_new);
	free(john);
	free(jane);
	free(carol);
	free(bob);
	free(dave);
	free(erin);
	free(x);
	free(y);
}

static void test_names(void)
{
	struct emu *saved_emu = emu;
	struct gotrue_config *saved_cfg = cfg;
	struct gotrue_client *saved_client = client;
	char saved_acct[sizeof(acct_path)], saved_cache[sizeof(cache_path)], ndir[64], extra[256];
	char *conf = NULL;

	memcpy(saved_acct, acct_path, sizeof(acct_path));
	memcpy(saved_cache, cache_path, sizeof(cache_path));
	snprintf(ndir, sizeof(ndir), "%s/names", dir);
	snprintf(extra, sizeof(extra), "email_domains = example.com, example.org\nstate_dir = %s",
		 ndir);
	emu = emu_start(NULL);
	cfg = gotrue_config_new();
	client = NULL;
	if (emu != NULL && cfg != NULL && mkdir(ndir, 0700) == 0 &&
	    (conf = emu_write_config(emu, extra)) != NULL &&
	    gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) == 0)
		client = gotrue_client_new(NULL, cfg);
	snprintf(acct_path, sizeof(acct_path), "%s/accounts", ndir);
	snprintf(cache_path, sizeof(cache_path), "%s/nss.cache", ndir);
	if (ok(client != NULL, "names: an emulator and a state directory of their own"))
		names_syncs();
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	emu_stop(emu);
	free(conf);
	emu = saved_emu;
	cfg = saved_cfg;
	client = saved_client;
	memcpy(acct_path, saved_acct, sizeof(acct_path));
	memcpy(cache_path, saved_cache, sizeof(cache_path));
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ndir);
		if (system(cmd) != 0)
			diag("cannot remove %s", ndir);
	}
}

int main(void)
{
	char conf_extra[8300], *conf = NULL;
	int rc;

	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all("GOTRUE_EMULATOR not set (run under make check)");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp");
	snprintf(cache_path, sizeof(cache_path), "%s/nss.cache", dir);
	snprintf(acct_path, sizeof(acct_path), "%s/accounts", dir);
	snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
	snprintf(group_path, sizeof(group_path), "%s/group", dir);
	write_file(passwd_path, PASSWD);
	write_file(group_path, GROUP);
	opt.cache_path = cache_path;
	opt.accounts_path = acct_path;
	opt.passwd_path = passwd_path;
	opt.group_path = group_path;

	emu = emu_start(NULL);
	if (emu == NULL) {
		printf("Bail out! cannot start the emulator\n");
		return 1;
	}
	snprintf(conf_extra, sizeof(conf_extra),
		 "email_domains = example.com\nlocal_groups = sudo, adm\nstate_dir = %s", dir);
	conf = emu_write_config(emu, conf_extra);
	cfg = gotrue_config_new();
	rc = conf && cfg ? gotrue_config_load_file(NULL, cfg, conf, false) : -1;
	if (!ok(rc == 0, "config loaded") ||
	    !ok(gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) == 0 &&
			cfg->service_role_key != NULL,
		"service-role key loaded")) {
		emu_stop(emu);
		return done_testing();
	}
	client = gotrue_client_new(NULL, cfg);
	{
		struct gotrue_sync_summary sum;
		struct gotrue_config *nokey = gotrue_config_new();
		struct gotrue_error err = {0};

		gotrue_config_load_file(NULL, nokey, conf, false);
		ok(gotrue_sync_run(NULL, nokey, &opt, &sum, &err) == -1 &&
			   access(cache_path, F_OK) != 0,
		   "without the service-role key sync refuses and writes nothing");
		gotrue_sync_summary_clear(&sum);
		gotrue_error_clear(&err);
		gotrue_config_free(nokey);
	}
	test_mapping();
	test_accounts();
	test_accounts_escapes();
	test_partway();
	test_one_user();
	test_too_large();
	test_index_cap();
	test_deleted_meanwhile();
	test_scale();
	test_index_fails();
	test_admission();
	test_names();

	free(alice_id);
	free(bob_id);
	free(mallory_id);
	free(eve_id);
	free(badname_id);
	free(dup1_id);
	free(dup2_id);
	free(uid1_id);
	free(uid2_id);
	free(local_id);
	free(dave_id);
	free(erin_id);
	free(frank_id);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	emu_stop(emu);
	free(conf);
	unlink(cache_path);
	unlink(acct_path);
	unlink(passwd_path);
	unlink(group_path);
	{
		char lock[4300];

		snprintf(lock, sizeof(lock), "%s/.sync.lock", dir);
		unlink(lock);
	}
	rmdir(dir);
	return done_testing();
}
