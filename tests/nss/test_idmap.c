/* test_idmap: the GoTrue -> Unix mapping rules: names from app_metadata or listed email domains,
 * name validation, uid range and derivation, user_metadata granting nothing, GECOS cleaning,
 * collisions (the later user is left out), local passwd/group clashes, local_groups and derived
 * groups, and the cache built from the result. */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cache.h"
#include "idmap.h"
#include "tap.h"

static struct gotrue_config cfg;
static char *domains[] = {"example.com", NULL};
static char *local_groups[] = {"sudo", "missinglocal", NULL};

static struct gotrue_user mkuser(const char *id, const char *email, time_t created, const char *app,
				 const char *userm)
{
	struct gotrue_user u;

	memset(&u, 0, sizeof(u));
	u.id = (char *)id;
	u.email = (char *)email;
	u.created_at = created;
	u.app_metadata = json_tokener_parse(app);
	u.user_metadata = json_tokener_parse(userm ? userm : "{}");
	return u;
}

static void drop(struct gotrue_user *u)
{
	json_object_put(u->app_metadata);
	json_object_put(u->user_metadata);
}

static int map(const char *email, const char *app, const char *userm, struct gotrue_account *a,
	       char *why)
{
	struct gotrue_user u = mkuser("6f1e2d3c-0000-4000-8000-000000000001", email, 1, app, userm);
	int rc = gotrue_idmap_user(&cfg, &u, a, why, 128);

	drop(&u);
	return rc;
}

static void test_one(void)
{
	struct gotrue_account a;
	char why[128], big[400];

	ok(map("x@other.org", "{\"username\":\"alice\",\"uid\":1879048300}", NULL, &a, why) == 0,
	   "app_metadata.username maps");
	is_str(a.name, "alice", "name from app_metadata.username");
	is_int(a.uid, 1879048300u, "uid from app_metadata.uid inside the range");
	is_int(a.gid, a.uid, "private group gid = uid");
	is_str(a.home, "/home/alice", "home from the template");
	is_str(a.shell, "/bin/bash", "shell from config");
	gotrue_account_clear(&a);

	ok(map("Bob.Smith@Example.COM", "{}", NULL, &a, why) == 0 && a.name &&
		   strcmp(a.name, "bob.smith") == 0,
	   "email local part, lowercased, when the domain is listed");
	is_int(a.uid,
	       gotrue_idmap_derive(cfg.uid_min, cfg.uid_max, "uid",
				   "6f1e2d3c-0000-4000-8000-000000000001"),
	       "uid derived from the user id when app_metadata.uid is absent");
	ok(a.uid >= cfg.uid_min && a.uid <= cfg.uid_max, "derived uid inside the range");
	gotrue_account_clear(&a);

	ok(map("eve@other.org", "{}", NULL, &a, why) != 0,
	   "unlisted domain, no username: left out");
	/* user_metadata grants nothing. */
	ok(map("eve@other.org", "{}", "{\"username\":\"root\",\"uid\":0,\"groups\":[\"sudo\"]}", &a,
	       why) != 0,
	   "user_metadata.username/uid/groups give no account");
	ok(map("eve@example.com", "{}",
	       "{\"username\":\"root\",\"uid\":0,\"groups\":[\"sudo\"],\"gecos\":\"x\"}", &a,
	       why) == 0 &&
		   strcmp(a.name, "eve") == 0 && a.uid != 0 && a.n_groups == 0 && a.gecos[0] == 0,
	   "user_metadata ignored: name eve, derived uid, no groups, empty GECOS");
	gotrue_account_clear(&a);
	ok(map(NULL, "{\"username\":\"eve\",\"uid\":0}", NULL, &a, why) == 0 && a.uid != 0 &&
		   a.uid >= cfg.uid_min,
	   "app_metadata.uid outside the range (0) is not used");
	gotrue_account_clear(&a);

	/* Invalid names. */
	ok(map(NULL, "{\"username\":\"a:b\"}", NULL, &a, why) != 0, "name with ':' refused");
	ok(map(NULL, "{\"username\":\"a\\nb\"}", NULL, &a, why) != 0, "name with newline refused");
	ok(map(NULL, "{\"username\":\"a/b\"}", NULL, &a, why) != 0, "name with '/' refused");
	ok(map(NULL, "{\"username\":\"..\"}", NULL, &a, why) != 0, "name '..' refused");
	ok(map(NULL, "{\"username\":\"Alice\"}", NULL, &a, why) != 0, "upper case refused");
	ok(map(NULL, "{\"username\":\"1abc\"}", NULL, &a, why) != 0, "leading digit refused");
	memset(big, 'a', 300);
	big[300] = 0;
	ok(!gotrue_idmap_valid_name(big), "300 characters refused");
	ok(gotrue_idmap_valid_name("abcdefghijklmnopqrstuvwxyz012345") &&
		   !gotrue_idmap_valid_name("abcdefghijklmnopqrstuvwxyz0123456"),
	   "32 characters accepted, 33 refused");
	ok(map("x@example.com", "{\"username\":\"b@d\"}", NULL, &a, why) != 0,
	   "an invalid app_metadata.username does not fall back to the email");

	ok(map(NULL, "{\"username\":\"carol\",\"full_name\":\"Carol: \\\"C\\\", =Boss\\u0007\"}",
	       NULL, &a, why) == 0,
	   "GECOS from full_name");
	is_str(a.gecos, "Carol \"C\" Boss", "GECOS stripped of : , = and control characters");
	gotrue_account_clear(&a);
	ok(map(NULL, "{\"username\":\"dave\",\"groups\":[\"devs\",\"bad:name\",\"devs\",7]}", NULL,
	       &a, why) == 0 &&
		   a.n_groups == 1 && strcmp(a.groups[0], "devs") == 0,
	   "groups: invalid, repeated and non-string entries dropped");
	gotrue_account_clear(&a);
}

static const char *find_left(const struct gotrue_idmap *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n_left_out; i++) {
		if (strcmp(m->left_out[i].id, id) == 0)
			return m->left_out[i].reason;
	}
	return NULL;
}

static void add(struct gotrue_idmap *m, const char *id, time_t created, const char *app)
{
	struct gotrue_user u = mkuser(id, NULL, created, app, NULL);

	gotrue_idmap_add_user(m, &u);
	drop(&u);
}

static void fill(struct gotrue_idmap *m)
{
	/* Added newest first: the outcome must follow created_at, not listing order. */
	add(m, "id-late", 300, "{\"username\":\"alice\"}");
	add(m, "id-early", 100, "{\"username\":\"alice\",\"groups\":[\"sudo\",\"devs\"]}");
	add(m, "id-uidclash", 200, "{\"username\":\"mallory\",\"uid\":1879048500}");
	add(m, "id-uidfirst", 150,
	    "{\"username\":\"trent\",\"uid\":1879048500,\"groups\":[\"devs\"]}");
	add(m, "id-local", 50, "{\"username\":\"localuser\"}");
	add(m, "id-localgroup", 60, "{\"username\":\"localonly\"}");
	add(m, "id-localuid", 70, "{\"username\":\"sam\",\"uid\":1879048400}");
	add(m, "id-groups", 80,
	    "{\"username\":\"gina\",\"groups\":[\"localonly\",\"missinglocal\",\"trent\",\"devs\"]"
	    "}");
	add(m, "id-bad", 90, "{\"username\":\"../etc\"}");
}

/* Every passwd and group entry of a cache image, one line each, in record order. */
static char *dump(const void *img, size_t len)
{
	struct gotrue_cache_view v;
	struct gotrue_cache_pw pw;
	struct gotrue_cache_gr gr;
	char *out = NULL;
	size_t n = 0;
	uint32_t i, k;
	FILE *f;

	if (gotrue_cache_parse(img, len, &v) != GOTRUE_CACHE_OK)
		return NULL;
	f = open_memstream(&out, &n);
	if (f == NULL)
		return NULL;
	for (i = 0; gotrue_cache_getpwent(&v, i, &pw) == GOTRUE_CACHE_OK; i++) {
		fprintf(f, "%s:%u:%u:%s:%s:%s:", pw.name, pw.uid, pw.gid, pw.gecos, pw.dir,
			pw.shell);
		for (k = 0; k < pw.n_gids; k++)
			fprintf(f, " %u", pw.gids[k]);
		fputc('\n', f);
	}
	for (i = 0; gotrue_cache_getgrent(&v, i, &gr) == GOTRUE_CACHE_OK; i++) {
		fprintf(f, "%s:%u:", gr.name, gr.gid);
		for (k = 0; k < gr.n_members; k++)
			fprintf(f, " %s", gotrue_cache_member(&v, &gr, k));
		fputc('\n', f);
	}
	fclose(f);
	return out;
}

/* A sync's set interns each user's strings ahead, as the listing arrives: the same cache as
 * building it afterwards, and nothing of the users left out at resolve (mallory's uid clash,
 * sam's local uid) stays in the file. */
static void test_ahead(const char *passwd, const char *group, const void *img0, size_t len0)
{
	struct gotrue_idmap *m = gotrue_idmap_new(&cfg, passwd, group);
	struct gotrue_cache_builder *b = NULL;
	void *img = NULL;
	size_t len = 0;
	char *d0 = dump(img0, len0), *d1 = NULL;
	uint32_t off = 0, bad = 0;

	ok(gotrue_idmap_cache_ahead(m) == 0, "ahead: set interns ahead");
	fill(m);
	ok(gotrue_idmap_resolve(m) == 0, "ahead: resolve");
	b = gotrue_idmap_take_builder(m);
	ok(b != NULL && gotrue_idmap_to_cache(m, b) == 0, "ahead: entries added by offset");
	gotrue_idmap_free(m); /* the builder outlives the set */
	ok(gotrue_cache_builder_finish(b, 1, &img, &len) == 0 && (d1 = dump(img, len)) != NULL,
	   "ahead: cache built after the set is gone");
	ok(d0 != NULL && d1 != NULL && strcmp(d0, d1) == 0,
	   "ahead: the same entries as a cache built after resolve");
	ok(img != NULL && memmem(img, len, "mallory", 7) == NULL &&
		   memmem(img, len, "/home/sam", 9) == NULL && memmem(img, len, "gina", 4) != NULL,
	   "ahead: no string of a user left out at resolve stays in the image");
	ok(gotrue_cache_builder_intern(b, "late", &off) == -1 &&
		   gotrue_cache_builder_add_user(b, "late", 9, 9, "", "/", "", NULL, 0) == -1 &&
		   gotrue_cache_builder_add_group(b, "late", 9, NULL, 0) == -1,
	   "ahead: a finished builder takes nothing more");
	gotrue_cache_builder_free(b);
	/* Offsets are checked: inside a string, past the table, or "" as a name; a good one is
	 * taken. */
	b = gotrue_cache_builder_new();
	ok(b != NULL && gotrue_cache_builder_intern(b, "abcdef", &off) == 0 && off > 0 &&
		   gotrue_cache_builder_add_user_at(b, off + 1, 5, 5, 0, 0, 0, NULL, 0) == -1 &&
		   gotrue_cache_builder_add_user_at(b, 0, 5, 5, 0, 0, 0, NULL, 0) == -1 &&
		   gotrue_cache_builder_add_user_at(b, off, 5, 5, 0, 0, 1u << 29, NULL, 0) == -1 &&
		   (bad = off + 2, gotrue_cache_builder_add_group_at(b, off, 5, &bad, 1) == -1) &&
		   gotrue_cache_builder_add_group_at(b, off, 5, &off, 1) == 0,
	   "ahead: offsets not at the start of a string are refused");
	free(d0);
	free(d1);
	free(img);
	gotrue_cache_builder_free(b);
}

/* The collision rule does not depend on the order the users arrive in: @n users with names,
 * uids and created_at drawn from small pools (so that they collide), ids that tie on their first
 * 8 bytes, ids shorter than 8 bytes and ids listed twice, are added in listing order and then
 * scrambled; the accepted accounts must be exactly those a plain stable sort by (created_at, id)
 * and the rule (names first, oldest holder wins; then uids among those that kept their name)
 * give, in that order. */
struct ord_user {
	char id[48], app[96];
	time_t created;
};

static bool ord_before(const struct ord_user *a, const struct ord_user *b)
{
	if (a->created != b->created)
		return a->created < b->created;
	return strcmp(a->id, b->id) < 0;
}

/* The accounts a set listed in the order @list must keep, oldest first, into @keep: a stable
 * insertion sort (exact ties keep the listing's order), then the rule as DESIGN.md states it. */
static size_t ord_expect(const struct ord_user *u, const size_t *list, size_t n, size_t *keep)
{
	size_t *sorted = calloc(n, sizeof(*sorted)), i, j, k, n_keep = 0;
	bool *name_kept = calloc(n, sizeof(*name_kept)), taken;

	for (i = 0; i < n; i++) {
		for (j = i; j > 0 && ord_before(&u[list[i]], &u[sorted[j - 1]]); j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = list[i];
	}
	for (i = 0; i < n; i++) {
		const char *name_a = strstr(u[sorted[i]].app, ":\"u") + 2;

		name_kept[i] = true;
		for (j = 0; j < i && name_kept[i]; j++) {
			const char *name_b = strstr(u[sorted[j]].app, ":\"u") + 2;

			if (strncmp(name_a, name_b, strcspn(name_a, "\"") + 1) == 0)
				name_kept[i] = false;
		}
	}
	for (i = 0; i < n; i++) {
		if (!name_kept[i])
			continue;
		for (k = 0, taken = false; k < n_keep && !taken; k++)
			taken = strcmp(strstr(u[sorted[i]].app, "\"uid\""),
				       strstr(u[keep[k]].app, "\"uid\"")) == 0;
		if (!taken)
			keep[n_keep++] = sorted[i];
	}
	free(sorted);
	free(name_kept);
	return n_keep;
}

static void test_order(const char *passwd, const char *group, size_t n, const char *what)
{
	static const time_t times[] = {-5, 0, 7, 7, 7, 1000000000};
	struct ord_user *u = calloc(n, sizeof(*u));
	size_t *list = calloc(n, sizeof(*list)), *keep = calloc(n, sizeof(*keep));
	size_t i, n_keep, pass;
	unsigned long r = 12345;
	int rc;

	for (i = 0; i < n; i++) {
		r = r * 1103515245ul + 12345ul;
		if (i % 97 == 3)
			snprintf(u[i].id, sizeof(u[i].id),
				 "dup-id-0000"); /* listed more than once */
		else if (i % 11 == 0)
			snprintf(u[i].id, sizeof(u[i].id), "b%zu", i % 50); /* shorter than 8 */
		else if (i % 5 == 0)
			snprintf(u[i].id, sizeof(u[i].id), "aaaaaaaa-%04lu", (r >> 8) % 10000);
		else
			snprintf(u[i].id, sizeof(u[i].id), "%08lx-%04zu", (r >> 4) & 0xfffffffful,
				 i);
		u[i].created = times[(r >> 20) % 6];
		/* uids clear of the local files' (uid_min + 208). */
		snprintf(u[i].app, sizeof(u[i].app), "{\"username\":\"u%lu\",\"uid\":%lu}",
			 (r >> 12) % (n / 2 + 1), cfg.uid_min + 1000 + (r >> 16) % (n / 3 + 1));
	}
	for (pass = 0; pass < 2; pass++) {
		struct gotrue_idmap *m = gotrue_idmap_new(&cfg, passwd, group);
		bool same_order = true;

		/* Listed forwards, then scrambled (7919 is prime, so i * 7919 mod n is a
		 * permutation for the sizes used here). */
		for (i = 0; i < n; i++) {
			list[i] = pass ? (i * 7919) % n : i;
			add(m, u[list[i]].id, u[list[i]].created, u[list[i]].app);
		}
		n_keep = ord_expect(u, list, n, keep);
		rc = gotrue_idmap_resolve(m);
		ok(rc == 0 && m->n_accounts == n_keep && m->n_left_out == n - n_keep,
		   "%s, %s: %zu kept (the rule: %zu), the rest left out", what,
		   pass ? "scrambled" : "in order", m->n_accounts, n_keep);
		for (i = 0; i < n_keep && i < m->n_accounts; i++)
			same_order =
				same_order && strcmp(m->accounts[i].user_id, u[keep[i]].id) == 0;
		ok(same_order, "%s, %s: the same accounts, oldest first", what,
		   pass ? "scrambled" : "in order");
		gotrue_idmap_free(m);
	}
	free(u);
	free(list);
	free(keep);
}

static void test_set(const char *dir)
{
	char passwd[512], group[512];
	struct gotrue_idmap *m;
	struct gotrue_cache_builder *b;
	struct gotrue_cache_view v;
	struct gotrue_cache_pw pw;
	struct gotrue_cache_gr gr;
	void *img = NULL;
	size_t len = 0, i;
	FILE *f;

	snprintf(passwd, sizeof(passwd), "%s/passwd", dir);
	snprintf(group, sizeof(group), "%s/group", dir);
	f = fopen(passwd, "w");
	fprintf(f, "root:x:0:0:root:/root:/bin/bash\nlocaluser:x:1000:1000::/home/l:/bin/sh\n"
		   "squatter:x:1879048400:1879048400::/:/bin/sh\n");
	fclose(f);
	f = fopen(group, "w");
	fprintf(f, "root:x:0:\nsudo:x:27:localuser\nlocalonly:x:500:\n");
	fclose(f);

	m = gotrue_idmap_new(&cfg, passwd, group);
	fill(m);
	ok(gotrue_idmap_resolve(m) == 0, "resolve");
	is_int(m->n_seen, 9, "9 users seen");
	is_int(m->n_accounts, 3, "3 accepted: alice (earliest), trent, gina");
	ok(find_left(m, "id-late") && strstr(find_left(m, "id-late"), "name collides"),
	   "later alice left out: name collision");
	ok(find_left(m, "id-early") == NULL, "earlier alice kept");
	ok(find_left(m, "id-uidclash") && strstr(find_left(m, "id-uidclash"), "uid collides"),
	   "later uid holder left out");
	ok(find_left(m, "id-local") && strstr(find_left(m, "id-local"), "local user"),
	   "name clashing with /etc/passwd left out");
	ok(find_left(m, "id-localgroup") && strstr(find_left(m, "id-localgroup"), "local group"),
	   "name clashing with /etc/group left out");
	ok(find_left(m, "id-localuid") && strstr(find_left(m, "id-localuid"), "local uid"),
	   "uid clashing with a local uid left out");
	ok(find_left(m, "id-bad") != NULL, "invalid name left out");
	ok(find_left(m, "localonly") != NULL,
	   "group clashing with a local group (not in local_groups) refused");
	ok(find_left(m, "missinglocal") != NULL, "local_groups name missing locally refused");
	ok(find_left(m, "trent") != NULL, "group named like a user's private group refused");

	b = gotrue_cache_builder_new();
	ok(gotrue_idmap_to_cache(m, b) == 0 && gotrue_cache_builder_finish(b, 1, &img, &len) == 0,
	   "cache built");
	ok(gotrue_cache_parse(img, len, &v) == GOTRUE_CACHE_OK, "cache parses");
	ok(gotrue_cache_getpwnam(&v, "alice", &pw) == GOTRUE_CACHE_OK, "alice in the cache");
	ok(pw.n_gids == 2 && pw.gids[0] == 27, "alice: local sudo gid 27 first");
	ok(gotrue_cache_getgrnam(&v, "devs", &gr) == GOTRUE_CACHE_OK && gr.n_members == 3,
	   "devs: a derived group listing its 3 GoTrue members");
	ok(pw.n_gids == 2 && pw.gids[1] == gr.gid, "alice: devs gid second");
	is_int(gr.gid, gotrue_idmap_derive(cfg.uid_min, cfg.uid_max, "group", "devs"),
	       "devs gid derived from its name");
	ok(gotrue_cache_getgrnam(&v, "sudo", &gr) == GOTRUE_CACHE_NOTFOUND,
	   "local group sudo is not duplicated in the cache");
	ok(gotrue_cache_getpwnam(&v, "localuser", &pw) == GOTRUE_CACHE_NOTFOUND,
	   "local user not shadowed");
	for (i = 0; i < m->n_left_out; i++)
		diag("left out %s %s: %s", m->left_out[i].what, m->left_out[i].id,
		     m->left_out[i].reason);
	test_ahead(passwd, group, img, len);
	test_order(passwd, group, 40, "40 users");
	test_order(passwd, group, 900, "900 users");
	free(img);
	gotrue_cache_builder_free(b);
	gotrue_idmap_free(m);

	/* A missing local file fails closed. */
	m = gotrue_idmap_new(&cfg, "/nonexistent/passwd", group);
	add(m, "id-x", 1, "{\"username\":\"xavier\"}");
	ok(gotrue_idmap_resolve(m) != 0, "unreadable /etc/passwd: resolve fails closed");
	gotrue_idmap_free(m);
	unlink(passwd);
	unlink(group);
}

int main(void)
{
	char dir[] = "/tmp/idmap-XXXXXX";

	cfg.uid_min = 0x70000000ul;
	cfg.uid_max = 0x7fffffeful;
	cfg.home = "/home/%u";
	cfg.shell = "/bin/bash";
	cfg.allow_all_users = true; /* admission has its own tests */
	cfg.email_domains = domains;
	cfg.local_groups = local_groups;
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp");
	test_one();
	test_set(dir);
	rmdir(dir);
	return done_testing();
}
