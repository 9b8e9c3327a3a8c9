/* bench_uid: how many users a uid leaves out, at scale, without a server.
 *   bench_uid USERS [SPAN]
 * maps USERS users with random UUIDs (a fixed seed) and no app_metadata.uid into a range of SPAN
 * uids (default: the configured default range), resolves the set twice, without and with
 * assign_uids (the sync's uid assignment, lib/directory/idmap.c), and prints
 *   uid_collisions_derived N   users left out, or sharing a uid, with derived uids only
 *   uid_collisions N           the same with assign_uids: the goal is 0
 *   assign_seconds S           the resolve with assign_uids (sorting and probing included)
 * then resolves the users again in the reverse listing order and checks that every uid is the
 * same ("same_table yes"): hosts that list the users differently still agree. Exit status 0
 * when uid_collisions is 0 and the table is the same, else 1; `make check` runs it small
 * (tests/bench/test_bench_uid.sh), `make bench-scale-uid` at 1M. */
#include <config.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "gotrue_config.h"
#include "idmap.h"
#include "user.h"

/* xorshift64*: the same users at every run. */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void make_id(uint64_t *seed, char out[37])
{
	uint64_t hi = next_rand(seed), lo = next_rand(seed);

	snprintf(out, 37, "%08x-%04x-4%03x-a%03x-%012llx", (unsigned)(hi >> 32),
		 (unsigned)(hi >> 16) & 0xffff, (unsigned)hi & 0xfff, (unsigned)(lo >> 48) & 0xfff,
		 (unsigned long long)(lo & 0xffffffffffffull));
}

/* A set of @n users, listed forward or backward; NULL on ENOMEM. */
static struct gotrue_idmap *build(const struct gotrue_config *cfg, char (*ids)[37], size_t n,
				  bool backward, bool assign)
{
	struct gotrue_idmap *m = gotrue_idmap_new(cfg, "/dev/null", "/dev/null");
	char name[32];
	size_t i, at;

	if (m == NULL)
		return NULL;
	m->assign_uids = assign;
	for (i = 0; i < n; i++) {
		struct gotrue_user u = {0};

		at = backward ? n - 1 - i : i;
		snprintf(name, sizeof(name), "u%zu", at);
		u.id = ids[at];
		u.created_at = 1700000000 + (time_t)(at / 3); /* ties, broken by id */
		u.app_metadata = json_object_new_object();
		json_object_object_add(u.app_metadata, "username", json_object_new_string(name));
		if (gotrue_idmap_add_user(m, &u) != 0) {
			json_object_put(u.app_metadata);
			gotrue_idmap_free(m);
			return NULL;
		}
		json_object_put(u.app_metadata);
	}
	if (gotrue_idmap_resolve(m) != 0) {
		gotrue_idmap_free(m);
		return NULL;
	}
	return m;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Users of @n listed that @m left out or that share a uid. */
static size_t collisions(const struct gotrue_idmap *m, size_t n)
{
	uint32_t *u = malloc((m->n_accounts + 1) * sizeof(*u));
	size_t i, bad = n - m->n_accounts;

	for (i = 0; u != NULL && i < m->n_accounts; i++)
		u[i] = m->accounts[i].uid;
	if (u == NULL)
		return n;
	qsort(u, m->n_accounts, sizeof(*u), cmp_u32);
	for (i = 1; i < m->n_accounts; i++)
		bad += u[i] == u[i - 1];
	free(u);
	return bad;
}

/* Whether @x and @y give every account the same uid (both are in age order). */
static bool same_table(const struct gotrue_idmap *x, const struct gotrue_idmap *y)
{
	size_t i;

	if (x->n_accounts != y->n_accounts)
		return false;
	for (i = 0; i < x->n_accounts; i++) {
		if (strcmp(x->accounts[i].user_id, y->accounts[i].user_id) != 0 ||
		    x->accounts[i].uid != y->accounts[i].uid)
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_idmap *plain = NULL, *fwd = NULL, *back = NULL;
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 0, i, bad = 0;
	unsigned long span = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	char(*ids)[37] = n ? calloc(n, sizeof(*ids)) : NULL;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct timespec t0, t1;
	bool same;
	int rc = 1;

	if (cfg == NULL || ids == NULL) {
		fprintf(stderr, "usage: bench_uid USERS [SPAN]\n");
		goto cleanup;
	}
	cfg->allow_all_users = true;
	if (span > 0)
		cfg->uid_max = cfg->uid_min + span - 1;
	for (i = 0; i < n; i++)
		make_id(&seed, ids[i]);
	plain = build(cfg, ids, n, false, false);
	if (plain == NULL)
		goto cleanup;
	printf("uid_collisions_derived %zu\n", collisions(plain, n));
	gotrue_idmap_free(plain);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fwd = build(cfg, ids, n, false, true);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	back = build(cfg, ids, n, true, true);
	if (fwd == NULL || back == NULL)
		goto cleanup;
	bad = collisions(fwd, n);
	same = same_table(fwd, back);
	printf("uid_collisions %zu\n", bad);
	printf("assign_seconds %.3f\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("same_table %s\n", same ? "yes" : "no");
	rc = bad == 0 && same ? 0 : 1;
cleanup:
	gotrue_idmap_free(fwd);
	gotrue_idmap_free(back);
	free(ids);
	gotrue_config_free(cfg);
	return rc;
}
