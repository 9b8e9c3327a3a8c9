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

#include "cache_writer.h"
#include "idmap.h"
#include "tap.h"

static struct gotrue_config cfg;
static char *domains[] = {"example.com", "example.org", NULL};
static char *local_groups[] = {"sudo", "missinglocal", NULL};

static struct gotrue_user mkuser(const char *id, const char *email, time_t created, const char *app,
				 const char *userm)
{
	struct gotrue_user u;

	memset(&u, 0, sizeof(u));
	u.id = (char *)id;
	u.email = (char *)email;
	u.created_at = created;
	u.email_confirmed_at = email != NULL ? created : 0; /* confirmed unless a test says not */
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

/* A user with an email-derived or admin-set name, and the confirmation times given. */
static void add_mail(struct gotrue_idmap *m, const char *id, const char *email, time_t created,
		     time_t confirmed, const char *app)
{
	struct gotrue_user u = mkuser(id, email, created, app, NULL);

	u.email_confirmed_at = confirmed;
	gotrue_idmap_add_user(m, &u);
	drop(&u);
}

/* The email must be confirmed before it names anyone; app_metadata.username needs no email. */
static void test_confirmed(void)
{
	struct gotrue_user u =
		mkuser("6f1e2d3c-0000-4000-8000-000000000002", "jdoe@example.com", 5, "{}", NULL);
	struct gotrue_account a;
	char why[128] = "";

	u.email_confirmed_at = 0;
	ok(gotrue_idmap_user(&cfg, &u, &a, why, sizeof(why)) != 0 &&
		   strstr(why, "email not confirmed") != NULL,
	   "an unconfirmed email in a listed domain names nobody (%s)", why);
	u.confirmed_at = 9; /* Netlify's GoTrue has only confirmed_at */
	ok(gotrue_idmap_user(&cfg, &u, &a, why, sizeof(why)) == 0 && !strcmp(a.name, "jdoe") &&
		   !a.admin_name,
	   "confirmed_at alone (no phone confirmation) confirms the email");
	gotrue_account_clear(&a);
	u.phone_confirmed_at = 9; /* supabase: confirmed_at is the earlier of the two */
	ok(gotrue_idmap_user(&cfg, &u, &a, why, sizeof(why)) != 0,
	   "confirmed_at that a phone confirmation explains does not confirm the email");
	json_object_put(u.app_metadata);
	u.app_metadata = json_tokener_parse("{\"username\":\"jdoe\"}");
	ok(gotrue_idmap_user(&cfg, &u, &a, why, sizeof(why)) == 0 && !strcmp(a.name, "jdoe") &&
		   a.admin_name,
	   "app_metadata.username names an account whatever the email's state");
	gotrue_account_clear(&a);
	drop(&u);
}

/* The last index's holders, as a test hands them to the set, and how often they were asked. */
struct hold {
	const char *name, *id;
	uint32_t uid;
};
static const struct hold *holders;
static int loads, load_fails;

static int load(void *ctx, struct gotrue_idmap *m)
{
	const struct hold *h;

	(void)ctx;
	loads++;
	for (h = holders; h != NULL && h->id != NULL; h++) {
		if (gotrue_idmap_add_holder(m, h->name, h->uid, h->id) != 0)
			return -1;
	}
	return load_fails;
}

static bool kept(const struct gotrue_idmap *m, const char *id, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_accounts; i++) {
		if (!strcmp(m->accounts[i].user_id, id))
			return !strcmp(m->accounts[i].name, name);
	}
	return false;
}

/* Who keeps a contested name: an administrator's username over an email-derived name, then the
 * last index's holder, then the oldest; uids: the holder, then the oldest. Each case in both
 * listing orders and both ages, since the old rule (oldest wins) is right in one order only. */
static void contest(const char *passwd, const char *group, const struct hold *h, int older_first,
		    const char *id_a, const char *email_a, time_t conf_a, const char *app_a,
		    const char *id_b, const char *email_b, time_t conf_b, const char *app_b,
		    const char *winner, const char *name, const char *why_part, const char *what)
{
	int order;

	for (order = 0; order < 4; order++) {
		struct gotrue_idmap *m = gotrue_idmap_new(&cfg, passwd, group);
		/* order bit 0: which is older; bit 1: which is listed first */
		time_t ta = order & 1 ? 20 : 10, tb = order & 1 ? 10 : 20;
		const char *loser = strcmp(winner, id_a) == 0 ? id_b : id_a;
		const char *r;

		if (older_first >= 0 && (order & 1) != older_first) {
			gotrue_idmap_free(m);
			continue;
		}
		holders = h;
		loads = 0;
		gotrue_idmap_holders_from(m, load, NULL);
		if (order & 2) {
			add_mail(m, id_b, email_b, tb, conf_b ? tb : 0, app_b);
			add_mail(m, id_a, email_a, ta, conf_a ? ta : 0, app_a);
		} else {
			add_mail(m, id_a, email_a, ta, conf_a ? ta : 0, app_a);
			add_mail(m, id_b, email_b, tb, conf_b ? tb : 0, app_b);
		}
		r = gotrue_idmap_resolve(m) == 0 ? find_left(m, loser) : NULL;
		ok(kept(m, winner, name) && m->n_accounts == 1 && r != NULL &&
			   strstr(r, why_part) != NULL,
		   "%s (%s older, %s listed first): %s keeps %s; left out: %s", what,
		   order & 1 ? "b" : "a", order & 2 ? "b" : "a", winner, name, r ? r : "-");
		gotrue_idmap_free(m);
	}
}

/* The ranked rule against a reference written as plainly as it is stated: @n users whose names
 * (some from app_metadata.username, some from a confirmed email), uids and ages collide, and
 * holders for some names and uids (some held by a contender, some by nobody listed), added in
 * listing order and scrambled. A user keeps its name when no other user wanting it ranks higher
 * (username over email, holder over newcomer, older over younger), and then its uid when no
 * other user that kept its name ranks higher for it (holder, then older). */
struct rank_user {
	char id[32], email[48], app[96], name[16];
	time_t created;
	uint32_t uid;
	bool admin, holds_name, holds_uid;
};

static bool rank_older(const struct rank_user *a, const struct rank_user *b)
{
	return a->created != b->created ? a->created < b->created : strcmp(a->id, b->id) < 0;
}

static bool beats(const struct rank_user *a, const struct rank_user *b, bool by_name)
{
	if (by_name && a->admin != b->admin)
		return a->admin;
	if (by_name ? a->holds_name != b->holds_name : a->holds_uid != b->holds_uid)
		return by_name ? a->holds_name : a->holds_uid;
	return rank_older(a, b);
}

static size_t rank_expect(const struct rank_user *u, size_t n, bool *keep)
{
	bool *name_kept = calloc(n, sizeof(*name_kept));
	size_t i, j, n_keep = 0;

	for (i = 0; i < n; i++) {
		name_kept[i] = true;
		for (j = 0; j < n && name_kept[i]; j++)
			name_kept[i] = j == i || strcmp(u[j].name, u[i].name) != 0 ||
				       !beats(&u[j], &u[i], true);
	}
	for (i = 0; i < n; i++) {
		keep[i] = name_kept[i];
		for (j = 0; j < n && keep[i]; j++)
			keep[i] = j == i || !name_kept[j] || u[j].uid != u[i].uid ||
				  !beats(&u[j], &u[i], false);
		n_keep += keep[i];
	}
	free(name_kept);
	return n_keep;
}

static struct hold *rank_holders;

static int rank_load(void *ctx, struct gotrue_idmap *m)
{
	struct hold *h;

	(void)ctx;
	for (h = rank_holders; h->id != NULL; h++) {
		if (gotrue_idmap_add_holder(m, h->name, h->uid, h->id) != 0)
			return -1;
	}
	return 0;
}

static void test_rank(const char *passwd, const char *group, size_t n)
{
	struct rank_user *u = calloc(n, sizeof(*u));
	struct hold *h = calloc(2 * n + 1, sizeof(*h));
	bool *keep = calloc(n, sizeof(*keep));
	size_t i, j, k, n_keep, pass, n_h = 0, same;
	unsigned long r = 777;

	for (i = 0; i < n; i++) {
		r = r * 1103515245ul + 12345ul;
		snprintf(u[i].id, sizeof(u[i].id), "%04lx-%04zu", (r >> 8) & 0xfff, i);
		snprintf(u[i].name, sizeof(u[i].name), "u%lu", (r >> 12) % (n / 3 + 1));
		u[i].uid = (uint32_t)(cfg.uid_min + 2000 + (r >> 16) % (n / 3 + 1));
		u[i].created = (time_t)((r >> 20) % 4);
		u[i].admin = (r >> 24) & 1;
		snprintf(u[i].email, sizeof(u[i].email), "%s@%s", u[i].name,
			 (r >> 25) & 1 ? "example.com" : "example.org");
		if (u[i].admin)
			snprintf(u[i].app, sizeof(u[i].app), "{\"username\":\"%s\",\"uid\":%u}",
				 u[i].name, u[i].uid);
		else
			snprintf(u[i].app, sizeof(u[i].app), "{\"uid\":%u}", u[i].uid);
	}
	/* The last index had each name and uid once: a third of the users hold theirs. */
	for (i = 0; i < n; i++) {
		bool name_free = true, uid_free = true;

		for (k = 0; k < n_h; k++) {
			name_free = name_free && strcmp(h[k].name, u[i].name) != 0;
			uid_free = uid_free && h[k].uid != u[i].uid;
		}
		if (i % 3 != 0 || !name_free || !uid_free)
			continue;
		h[n_h++] = (struct hold){u[i].name, u[i].id, u[i].uid};
		u[i].holds_name = u[i].holds_uid = true;
	}
	n_keep = rank_expect(u, n, keep);
	for (pass = 0; pass < 2; pass++) {
		struct gotrue_idmap *m = gotrue_idmap_new(&cfg, passwd, group);

		rank_holders = h;
		gotrue_idmap_holders_from(m, rank_load, NULL);
		for (i = 0; i < n; i++) {
			j = pass ? (i * 7919) % n : i;
			add_mail(m, u[j].id, u[j].email, u[j].created, u[j].created + 1, u[j].app);
		}
		same = gotrue_idmap_resolve(m) == 0 && m->n_accounts == n_keep;
		for (i = 0; same && i < m->n_accounts; i++) {
			for (j = 0; j < n && strcmp(u[j].id, m->accounts[i].user_id) != 0; j++)
				;
			same = j < n && keep[j] && !strcmp(m->accounts[i].name, u[j].name) &&
			       (i == 0 || rank_older(&u[k], &u[j]));
			k = j;
		}
		ok(same, "ranked rule, %zu users, %s: %zu kept (the reference: %zu), oldest first",
		   n, pass ? "scrambled" : "in order", m->n_accounts, n_keep);
		gotrue_idmap_free(m);
	}
	free(u);
	free(h);
	free(keep);
}

static void test_holders(const char *passwd, const char *group)
{
	static const struct hold bob_held[] = {{"bob", "id-bob", 1879048600}, {NULL, NULL, 0}};
	static const struct hold jdoe_mail[] = {{"jdoe", "id-mail", 1879048601}, {NULL, NULL, 0}};
	static const struct hold admin_held[] = {{"ops", "id-adm2", 1879048602}, {NULL, NULL, 0}};
	static const struct hold uid_held[] = {{"uhold", "id-uhold", 1879048700}, {NULL, NULL, 0}};
	struct gotrue_idmap *m;

	/* An unconfirmed jdoe@ never takes jdoe from the administrator's jdoe (the finding). */
	contest(passwd, group, NULL, -1, "id-admin", "john@other.org", 1, "{\"username\":\"jdoe\"}",
		"id-unconf", "jdoe@example.com", 0, "{}", "id-admin", "jdoe", "email not confirmed",
		"unconfirmed");
	/* ... and a confirmed one neither: the username is the administrator's word. */
	contest(passwd, group, NULL, -1, "id-admin", "john@other.org", 1, "{\"username\":\"jdoe\"}",
		"id-mail", "jdoe@example.com", 1, "{}", "id-admin", "jdoe",
		"app_metadata.username of user id-admin", "username over a confirmed email");
	/* Even over the email's holder: an administrator's choice moves a derived name. */
	contest(passwd, group, jdoe_mail, -1, "id-admin", "john@other.org", 1,
		"{\"username\":\"jdoe\"}", "id-mail", "jdoe@example.com", 1, "{}", "id-admin",
		"jdoe", "app_metadata.username", "username over the email's holder");
	/* A user whose email is now bob@example.com does not take bob from its holder. */
	contest(passwd, group, bob_held, -1, "id-bob", "bob@example.org", 1, "{}", "id-carol",
		"bob@example.com", 1, "{}", "id-bob", "bob", "its holder since the last sync",
		"email changed to bob@");
	/* Two usernames: the holder, then the oldest. */
	contest(passwd, group, admin_held, -1, "id-adm1", NULL, 0, "{\"username\":\"ops\"}",
		"id-adm2", NULL, 0, "{\"username\":\"ops\"}", "id-adm2", "ops", "its holder",
		"two usernames, one held");
	contest(passwd, group, NULL, 0, "id-adm1", NULL, 0, "{\"username\":\"ops\"}", "id-adm2",
		NULL, 0, "{\"username\":\"ops\"}", "id-adm1", "ops", "an earlier user",
		"two usernames, none held, a older");
	/* A uid: its holder keeps it, whatever the ages. */
	contest(passwd, group, uid_held, -1, "id-uhold", NULL, 0,
		"{\"username\":\"uhold\",\"uid\":1879048700}", "id-unew", NULL, 0,
		"{\"username\":\"unew\",\"uid\":1879048700}", "id-uhold", "uhold",
		"uid collides with its holder since the last sync", "uid held");

	/* The holders are read at the first contest only, once, and a failure fails closed. */
	m = gotrue_idmap_new(&cfg, passwd, group);
	holders = bob_held;
	loads = 0;
	gotrue_idmap_holders_from(m, load, NULL);
	add_mail(m, "id-x", NULL, 1, 0, "{\"username\":\"xavier\"}");
	add_mail(m, "id-y", NULL, 2, 0, "{\"username\":\"yvonne\"}");
	ok(gotrue_idmap_resolve(m) == 0 && m->n_accounts == 2 && loads == 0,
	   "no contest: the last index is not read");
	gotrue_idmap_free(m);
	m = gotrue_idmap_new(&cfg, passwd, group);
	loads = 0;
	gotrue_idmap_holders_from(m, load, NULL);
	add_mail(m, "id-1", NULL, 1, 0, "{\"username\":\"twin\",\"uid\":1879048800}");
	add_mail(m, "id-2", NULL, 2, 0, "{\"username\":\"twin\",\"uid\":1879048801}");
	add_mail(m, "id-3", NULL, 3, 0, "{\"username\":\"other\",\"uid\":1879048800}");
	ok(gotrue_idmap_resolve(m) == 0 && loads == 1, "two contests: the last index read once");
	gotrue_idmap_free(m);
	m = gotrue_idmap_new(&cfg, passwd, group);
	load_fails = -1;
	gotrue_idmap_holders_from(m, load, NULL);
	add_mail(m, "id-1", NULL, 1, 0, "{\"username\":\"twin\"}");
	add_mail(m, "id-2", NULL, 2, 0, "{\"username\":\"twin\"}");
	ok(gotrue_idmap_resolve(m) != 0, "a last index that cannot be read fails the resolve");
	load_fails = 0;
	holders = NULL;
	gotrue_idmap_free(m);
	test_rank(passwd, group, 60);
	test_rank(passwd, group, 900);
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
	test_holders(passwd, group);
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

static const struct gotrue_account *account(const struct gotrue_idmap *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->n_accounts; i++) {
		if (strcmp(m->accounts[i].user_id, id) == 0)
			return &m->accounts[i];
	}
	return NULL;
}

/* assign_uids: the tiers of a contested uid (an administrator's, a sync's, derived), probing
 * past a local uid, and which uids the sync is to write. */
static void test_assign_tiers(const char *dir)
{
	char passwd[4200], group[4200], line[128];
	uint32_t d = gotrue_idmap_derive(cfg.uid_min, cfg.uid_max, "uid", "id-localhit");
	const struct gotrue_account *a, *b;
	struct gotrue_idmap *m;
	int pass;
	FILE *f;

	snprintf(passwd, sizeof(passwd), "%s/passwd.assign", dir);
	snprintf(group, sizeof(group), "%s/group.assign", dir);
	snprintf(line, sizeof(line), "loc:x:%u:%u::/:/bin/sh\n", (unsigned)d, (unsigned)d);
	f = fopen(passwd, "w");
	if (f != NULL) {
		fputs(line, f);
		fclose(f);
	}
	f = fopen(group, "w");
	if (f != NULL)
		fclose(f);
	for (pass = 0; pass < 2; pass++) {
		m = gotrue_idmap_new(&cfg, passwd, group);
		if (m == NULL)
			return;
		m->assign_uids = pass == 1;
		add(m, "id-adm2", 200, "{\"username\":\"adm2\",\"uid\":1879048600}");
		add(m, "id-adm1", 100, "{\"username\":\"adm1\",\"uid\":1879048600}");
		add(m, "id-auto1", 300,
		    "{\"username\":\"auto1\",\"uid\":1879048700,\"uid_auto\":true}");
		add(m, "id-auto2", 250,
		    "{\"username\":\"auto2\",\"uid\":1879048700,\"uid_auto\":true}");
		add(m, "id-autolose", 50,
		    "{\"username\":\"autolose\",\"uid\":1879048800,\"uid_auto\":true}");
		add(m, "id-admwin", 400, "{\"username\":\"admwin\",\"uid\":1879048800}");
		add(m, "id-far", 500, "{\"username\":\"far\",\"uid\":5}");
		add(m, "id-localhit", 600, "{\"username\":\"localhit\"}");
		add(m, "id-plain", 700, "{\"username\":\"plain\"}");
		if (!ok(gotrue_idmap_resolve(m) == 0, "assign %d: resolve", pass)) {
			gotrue_idmap_free(m);
			return;
		}
		ok(find_left(m, "id-adm2") != NULL && account(m, "id-adm1") != NULL,
		   "assign %d: two administrators' uids: the later user left out", pass);
		if (pass == 0) {
			ok(find_left(m, "id-localhit") != NULL &&
				   find_left(m, "id-auto1") != NULL &&
				   find_left(m, "id-admwin") != NULL,
			   "no assign: a derived uid on a local uid, and every other contested "
			   "uid, "
			   "leave a user out");
			gotrue_idmap_free(m);
			continue;
		}
		is_int(m->n_left_out, 1, "assign: only the administrators' duplicate is left out");
		a = account(m, "id-auto2");
		b = account(m, "id-auto1");
		ok(a && b && a->uid == 1879048700u && !a->uid_new && b->uid != 1879048700u &&
			   b->uid_new && b->uid_moved && b->uid_source == GOTRUE_UID_DERIVED,
		   "assign: two syncs' values: the older keeps it, the younger is given another");
		a = account(m, "id-admwin");
		b = account(m, "id-autolose");
		ok(a && b && a->uid == 1879048800u && !a->uid_new && b->uid != 1879048800u &&
			   b->uid_new,
		   "assign: an administrator's value over an older user's sync value");
		a = account(m, "id-far");
		ok(a && !a->uid_new && a->uid >= cfg.uid_min && a->uid_source == GOTRUE_UID_FOREIGN,
		   "assign: an out-of-range app_metadata.uid is never written over");
		a = account(m, "id-localhit");
		ok(a && a->uid == d + 1 && a->uid_new && a->uid_moved,
		   "assign: a derived uid on a local uid steps on to the next value");
		a = account(m, "id-plain");
		ok(a && a->uid_new && !a->uid_moved &&
			   a->uid ==
				   gotrue_idmap_derive(cfg.uid_min, cfg.uid_max, "uid", "id-plain"),
		   "assign: a free derived uid is kept, and written");
		gotrue_idmap_free(m);
	}
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
	test_confirmed();
	test_set(dir);
	test_assign_tiers(dir);
	rmdir(dir);
	return done_testing();
}
