/* test_assign: assign_uids against the emulator. 1000 users in a uid range of 1200 values, so
 * that derived uids collide by the hundred: a sync leaves none out and writes every uid to
 * app_metadata; a second host (its own state directory, no index) reads back the same table;
 * two users that two racing hosts gave one uid are settled (the older keeps it, the other gets
 * a new one, written); an administrator's app_metadata.uid never changes and always wins over a
 * sync's; a value outside this host's range is never overwritten; with assign_uids = no
 * nothing is written; a failed write leaves the sync whole, and a 404 does not stop it. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "api.h"
#include "cache.h"
#include "emu.h"
#include "gotrue_config.h"
#include "sync.h"
#include "tap.h"

#define N_USERS 1000
#define UID_MIN 2000000000UL
#define UID_MAX (UID_MIN + 1199)

static struct emu *emu;
static struct gotrue_config *cfg;
static struct gotrue_client *client;
static char dir[] = "/tmp/test-assign-XXXXXX";

/* One host: its own state directory. */
struct host {
	char cache[4200], accounts[4200];
	struct gotrue_sync_options opt;
};

static void host_init(struct host *h, const char *name)
{
	snprintf(h->cache, sizeof(h->cache), "%s/%s.cache", dir, name);
	snprintf(h->accounts, sizeof(h->accounts), "%s/%s.accounts", dir, name);
	memset(&h->opt, 0, sizeof(h->opt));
	h->opt.cache_path = h->cache;
	h->opt.accounts_path = h->accounts;
	h->opt.passwd_path = "/dev/null";
	h->opt.group_path = "/dev/null";
}

static int sync_host(struct host *h, struct gotrue_sync_summary *sum)
{
	struct gotrue_error err = {0};
	int rc = gotrue_sync_run(NULL, cfg, &h->opt, sum, &err);

	if (rc != 0)
		diag("sync: %s", err.message);
	gotrue_error_clear(&err);
	return rc;
}

/* What the server holds for one user. */
struct held {
	char id[40], email[80];
	long long uid; /* app_metadata.uid, -1 when absent */
	bool uid_auto;
	time_t created_at;
};

struct listing {
	struct held *u;
	size_t n, cap;
};

static int collect(void *ctx, const struct gotrue_user *u)
{
	struct listing *l = ctx;
	struct held *h;
	json_object *o;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->u = realloc(l->u, l->cap * sizeof(*l->u));
		if (l->u == NULL)
			return -1;
	}
	h = &l->u[l->n++];
	memset(h, 0, sizeof(*h));
	snprintf(h->id, sizeof(h->id), "%s", u->id);
	snprintf(h->email, sizeof(h->email), "%s", u->email ? u->email : "");
	h->created_at = u->created_at;
	h->uid = json_object_object_get_ex(u->app_metadata, "uid", &o) ? json_object_get_int64(o)
								       : -1;
	h->uid_auto = json_object_object_get_ex(u->app_metadata, "uid_auto", &o) &&
		      json_object_get_boolean(o);
	return 0;
}

static int list_all(struct listing *l)
{
	struct gotrue_user_walk w = {
		.members = GOTRUE_USER_MEMBERS_ACCOUNT, .each = collect, .ctx = l, .per_page = 500};
	struct gotrue_error err = {0};
	int rc;

	l->n = 0;
	rc = gotrue_admin_each_user(client, &w, &err);
	gotrue_error_clear(&err);
	return rc;
}

static const struct held *find(const struct listing *l, const char *email)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->u[i].email, email) == 0)
			return &l->u[i];
	return NULL;
}

static int cmp_uid(const void *a, const void *b)
{
	long long x = ((const struct held *)a)->uid, y = ((const struct held *)b)->uid;

	return x < y ? -1 : x > y;
}

/* Users whose app_metadata.uid another user also has (sorts @l by uid). */
static size_t shared_uids(struct listing *l)
{
	size_t i, n = 0;

	qsort(l->u, l->n, sizeof(*l->u), cmp_uid);
	for (i = 1; i < l->n; i++)
		if (l->u[i].uid >= 0 && l->u[i].uid == l->u[i - 1].uid)
			n++;
	return n;
}

/* The uid @h's cache gives @name, or -1. */
static long long cache_uid(struct host *h, const char *name)
{
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	struct gotrue_cache_pw p;
	long long uid = -1;

	gotrue_cache_init(&c, h->cache);
	if (gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK) {
		if (gotrue_cache_getpwnam(v, name, &p) == GOTRUE_CACHE_OK)
			uid = p.uid;
		gotrue_cache_release(&c);
	}
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	return uid;
}

static int set_app(const char *id, const char *app)
{
	json_object *attrs = json_object_new_object();
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	int rc;

	json_object_object_add(attrs, "app_metadata", json_tokener_parse(app));
	rc = gotrue_admin_update_user(client, id, attrs, &u, &err);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	json_object_put(attrs);
	return rc;
}

static struct host a, b;

static void test_many(void)
{
	struct gotrue_sync_summary sum = {0};
	struct listing l = {0};
	size_t i, missing = 0, disagree = 0, unwritten = 0;
	char name[32];

	ok(emu_bulk_users(emu, N_USERS, "at", "example.com", NULL) == 0, "1000 users created");
	ok(sync_host(&a, &sum) == 0, "host A syncs 1000 users in a range of 1200 uids");
	is_int(sum.users, N_USERS, "host A: every user written, none left out by a uid");
	is_int(sum.n_left_out, 0, "host A: nothing left out");
	is_int(sum.uids_assigned, N_USERS, "host A: 1000 uids written to app_metadata");
	gotrue_sync_summary_clear(&sum);
	if (!ok(list_all(&l) == 0 && l.n == N_USERS, "the server lists 1000 users"))
		return;
	for (i = 0; i < l.n; i++) {
		unwritten += l.u[i].uid < (long long)UID_MIN || l.u[i].uid > (long long)UID_MAX ||
			     !l.u[i].uid_auto;
		snprintf(name, sizeof(name), "%.*s",
			 (int)(strchr(l.u[i].email, '@') - l.u[i].email), l.u[i].email);
		if (cache_uid(&a, name) != l.u[i].uid)
			missing++;
	}
	is_int(unwritten, 0, "every user has app_metadata.uid in range, uid_auto true");
	is_int(missing, 0, "host A's cache gives each user its app_metadata.uid");
	is_int(shared_uids(&l), 0, "no two users share an app_metadata.uid");

	emu_reset_counts(emu);
	ok(sync_host(&b, &sum) == 0 && sum.users == N_USERS && sum.uids_assigned == 0,
	   "host B (own state directory, no index) syncs the same 1000, writing nothing");
	gotrue_sync_summary_clear(&sum);
	is_int(emu_count(emu, "PUT /admin/users/{id}"), 0, "host B sent no PUT");
	for (i = 0; i < l.n; i++) {
		snprintf(name, sizeof(name), "%.*s",
			 (int)(strchr(l.u[i].email, '@') - l.u[i].email), l.u[i].email);
		if (cache_uid(&b, name) != cache_uid(&a, name) || cache_uid(&b, name) < 0)
			disagree++;
	}
	is_int(disagree, 0, "hosts A and B agree on every uid");
	free(l.u);
}

/* The lowest uid in range that no listed user holds in app_metadata, or -1 (sorts @l). */
static long long free_value(struct listing *l)
{
	long long v = (long long)UID_MIN;
	size_t i;

	qsort(l->u, l->n, sizeof(*l->u), cmp_uid);
	for (i = 0; i < l->n; i++) {
		if (l->u[i].uid == v)
			v++;
	}
	return v <= (long long)UID_MAX ? v : -1;
}

/* Two hosts raced and gave one uid to two users; an administrator's uid meets a sync's. */
static void test_race(void)
{
	struct gotrue_sync_summary sum = {0};
	struct listing l = {0};
	const struct held *x, *y, *z, *old, *young;
	char *xid = emu_create_user(emu, "racex@example.com", "pw-123456", "{}");
	char *yid = emu_create_user(emu, "racey@example.com", "pw-123456", "{}");
	char *zid = emu_create_user(emu, "racez@example.com", "pw-123456", "{}");
	long long ux, uy, free_uid;
	char app[80];

	if (!ok(xid && yid && zid && list_all(&l) == 0, "three users for the race"))
		return;
	/* A value nobody holds, which two racing hosts then both wrote, to two users. */
	free_uid = free_value(&l);
	snprintf(app, sizeof(app), "{\"uid\":%lld,\"uid_auto\":true}", free_uid);
	ok(free_uid > 0 && set_app(xid, app) == 0 && set_app(yid, app) == 0,
	   "racing hosts wrote one free uid to both racex and racey");
	/* The value host A gave at0 is then set by an administrator on racez: an
	 * administrator's uid wins, and at0's (a sync's) gives way. */
	ux = cache_uid(&a, "at0");
	snprintf(app, sizeof(app), "{\"uid\":%lld}", ux);
	ok(ux > 0 && set_app(zid, app) == 0,
	   "an administrator gives racez the uid host A gave at0");
	ok(sync_host(&a, &sum) == 0, "host A syncs after the race");
	is_int(sum.n_left_out, 0, "nothing left out");
	is_int(sum.uids_assigned, 2, "two uids written: the race's loser and at0");
	gotrue_sync_summary_clear(&sum);
	if (!ok(list_all(&l) == 0, "listed"))
		return;
	x = find(&l, "racex@example.com");
	y = find(&l, "racey@example.com");
	z = find(&l, "racez@example.com");
	if (!ok(x && y && z, "race users listed"))
		return;
	old = x->created_at < y->created_at ||
			      (x->created_at == y->created_at && strcmp(x->id, y->id) < 0)
		      ? x
		      : y;
	young = old == x ? y : x;
	is_int(old->uid, free_uid, "the older of the two keeps the uid");
	ok(young->uid != free_uid && young->uid >= (long long)UID_MIN &&
		   young->uid <= (long long)UID_MAX && young->uid_auto,
	   "the younger got another uid, written with uid_auto");
	is_int(z->uid, ux, "racez keeps the administrator's uid");
	ok(!z->uid_auto, "racez's uid is still the administrator's");
	uy = find(&l, "at0@example.com") ? find(&l, "at0@example.com")->uid : -1;
	ok(uy != ux && uy >= (long long)UID_MIN && uy <= (long long)UID_MAX,
	   "at0 (a sync's uid) gave way and got another, written");
	ok(cache_uid(&a, "racez") == ux && cache_uid(&a, "at0") == uy &&
		   cache_uid(&a, "racex") == x->uid && cache_uid(&a, "racey") == y->uid,
	   "host A's cache follows app_metadata");
	is_int(shared_uids(&l), 0, "no two users share an app_metadata.uid");
	ok(sync_host(&b, &sum) == 0 && sum.uids_assigned == 0 && sum.n_left_out == 0,
	   "host B syncs, writing nothing");
	gotrue_sync_summary_clear(&sum);
	ok(cache_uid(&b, "racez") == ux && cache_uid(&b, "at0") == uy &&
		   cache_uid(&b, "racex") == cache_uid(&a, "racex") &&
		   cache_uid(&b, "racey") == cache_uid(&a, "racey"),
	   "host B agrees with host A after the race");
	free(l.u);
	free(xid);
	free(yid);
	free(zid);
}

/* A value outside this host's range is another host's or the administrator's: never
 * overwritten. With assign_uids = no, nothing is written at all. */
static void test_foreign_and_off(void)
{
	struct gotrue_sync_summary sum = {0};
	struct listing l = {0};
	char *fid = emu_create_user(emu, "far@example.com", "pw-123456", "{}");
	char *nid = emu_create_user(emu, "noassign@example.com", "pw-123456", "{}");
	const struct held *f, *n;

	ok(fid && nid && set_app(fid, "{\"uid\":5000}") == 0,
	   "a user with uid 5000 (out of range)");
	cfg->assign_uids = false;
	emu_reset_counts(emu);
	ok(sync_host(&a, &sum) == 0 && sum.uids_assigned == 0,
	   "assign_uids = no: sync writes none");
	gotrue_sync_summary_clear(&sum);
	is_int(emu_count(emu, "PUT /admin/users/{id}"), 0, "assign_uids = no: no PUT sent");
	cfg->assign_uids = true;
	ok(sync_host(&a, &sum) == 0, "assign_uids = yes again");
	gotrue_sync_summary_clear(&sum);
	if (!ok(list_all(&l) == 0, "listed"))
		return;
	f = find(&l, "far@example.com");
	n = find(&l, "noassign@example.com");
	ok(f && f->uid == 5000 && !f->uid_auto, "the out-of-range uid 5000 is not overwritten");
	ok(cache_uid(&a, "far") >= (long long)UID_MIN, "far gets a uid in range on this host");
	ok(n && n->uid_auto && n->uid == cache_uid(&a, "noassign"),
	   "the new user's uid is written once assign_uids is back on");
	free(l.u);
	free(fid);
	free(nid);
}

/* Whether every one of @emails has a uid in app_metadata that host A's cache gives it too. */
static bool all_written(const char *const *emails, size_t n)
{
	struct listing l = {0};
	char name[32];
	bool all = list_all(&l) == 0;
	size_t i;

	for (i = 0; all && i < n; i++) {
		const struct held *h = find(&l, emails[i]);

		snprintf(name, sizeof(name), "%.*s", (int)(strchr(emails[i], '@') - emails[i]),
			 emails[i]);
		all = h != NULL && h->uid_auto && h->uid == cache_uid(&a, name);
	}
	free(l.u);
	return all;
}

/* A write that fails: a server error stops the writes and the sync still writes the cache (the
 * users keep the uid chosen here); a user deleted meanwhile (404) does not stop the others. */
static void test_write_fails(void)
{
	static const char *const emails[] = {"wf1@example.com", "wf2@example.com",
					     "wf3@example.com"};
	struct gotrue_sync_summary sum = {0};
	size_t i;

	for (i = 0; i < 3; i++)
		free(emu_create_user(emu, emails[i], "pw-123456", "{}"));
	ok(emu_fault(emu, "{\"path\":\"*\",\"method\":\"PUT\",\"kind\":\"status\","
			  "\"status\":500,\"count\":1}") == 0,
	   "the next PUT fails with 500");
	ok(sync_host(&a, &sum) == 0 && sum.uids_assigned == 0 && sum.n_left_out == 0,
	   "a PUT failing with 500: the sync succeeds, writing no uid");
	gotrue_sync_summary_clear(&sum);
	ok(cache_uid(&a, "wf1") > 0 && cache_uid(&a, "wf2") > 0 && cache_uid(&a, "wf3") > 0,
	   "the three users are in the cache all the same");
	ok(!all_written(emails, 3), "their uids are not in app_metadata yet");
	ok(emu_fault(emu, "{\"path\":\"*\",\"method\":\"PUT\",\"kind\":\"status\","
			  "\"status\":404,\"count\":1}") == 0,
	   "the next PUT answers 404, as for a user deleted meanwhile");
	ok(sync_host(&a, &sum) == 0 && sum.uids_assigned == 3,
	   "a 404 does not stop the others, and the next listing writes the one passed over");
	gotrue_sync_summary_clear(&sum);
	ok(all_written(emails, 3), "all three uids in app_metadata, as the cache has them");
}

int main(void)
{
	char extra[8400], *conf;

	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all("GOTRUE_EMULATOR not set (run under make check)");
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp");
	emu = emu_start(NULL);
	if (emu == NULL) {
		printf("Bail out! cannot start the emulator\n");
		return 1;
	}
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nstate_dir = %s\nuid_min = %lu\n"
		 "uid_max = %lu",
		 dir, UID_MIN, UID_MAX);
	conf = emu_write_config(emu, extra);
	cfg = gotrue_config_new();
	if (!ok(conf && cfg && gotrue_config_load_file(NULL, cfg, conf, false) == 0 &&
			gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) == 0,
		"config and service-role key loaded")) {
		emu_stop(emu);
		return done_testing();
	}
	ok(cfg->assign_uids, "assign_uids is on by default");
	client = gotrue_client_new(NULL, cfg);
	host_init(&a, "a");
	host_init(&b, "b");
	test_many();
	test_race();
	test_foreign_and_off();
	test_write_fails();
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	free(conf);
	emu_stop(emu);
	return done_testing();
}
