/* bench_scale_data: the files a sync of N users leaves, written directly with the project's own
 * writers (gotrue_accounts_write, the cache builder), without the emulator:
 *   bench_scale_data DIR N [NAME ID EMAIL]
 * writes DIR/accounts and DIR/nss.cache for N generated users u0000000.. (uids from 0x70000000,
 * each in app_metadata group "staff", each with a private group), and, given NAME ID EMAIL, one
 * more account: the user a benchmark logs in as, with the user id the emulator gave it. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "cache_writer.h"

#define UID_BASE 0x70000000u

static char staff_name[] = "staff";
static char *staff[] = {staff_name, NULL};

/* Each account's strings: name, user id, email, home. */
#define AT_NAME	 0
#define AT_ID	 24
#define AT_EMAIL 72
#define AT_HOME	 120
#define PER	 176

/* Account @i (or the login user, @name set) into @a; strings in @buf. */
static void make(struct gotrue_account *a, size_t i, const char *name, const char *id,
		 const char *email, char *buf)
{
	memset(a, 0, sizeof(*a));
	if (name != NULL) {
		a->name = (char *)name;
		a->user_id = (char *)id;
		a->email = (char *)email;
	} else {
		a->name = buf + AT_NAME;
		snprintf(a->name, AT_ID - AT_NAME, "u%07zu", i % 10000000);
		a->user_id = buf + AT_ID;
		snprintf(a->user_id, AT_EMAIL - AT_ID, "00000000-0000-4000-8000-%012zu",
			 i % 1000000000000);
		a->email = buf + AT_EMAIL;
		snprintf(a->email, AT_HOME - AT_EMAIL, "u%07zu@example.com", i % 10000000);
	}
	a->uid = a->gid = UID_BASE + (uint32_t)i;
	a->gecos = (char *)"";
	a->home = buf + AT_HOME;
	snprintf(a->home, PER - AT_HOME, "/home/%.32s", a->name);
	a->shell = (char *)"/bin/bash";
	a->groups = staff;
	a->n_groups = 1;
	a->created_at = 1700000000;
}

static int write_cache(const char *path, const struct gotrue_account *a, size_t n)
{
	struct gotrue_cache_builder *b = gotrue_cache_builder_new();
	void *img = NULL;
	size_t len = 0, i;
	int rc = -1;

	if (b == NULL || gotrue_cache_builder_reserve(b, n, 0, n, 0) != 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		if (gotrue_cache_builder_add_user(b, a[i].name, a[i].uid, a[i].gid, a[i].gecos,
						  a[i].home, a[i].shell, NULL, 0) != 0 ||
		    gotrue_cache_builder_add_group(b, a[i].name, a[i].gid, NULL, 0) != 0)
			goto cleanup;
	}
	if (gotrue_cache_builder_finish(b, (uint64_t)time(NULL), &img, &len) != 0 ||
	    gotrue_cache_replace(path, img, len) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(img);
	gotrue_cache_builder_free(b);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 0, total, i;
	struct gotrue_account *a;
	char *strings, path[4096];
	int rc = 1;

	if (argc != 3 && argc != 6) {
		fprintf(stderr, "usage: bench_scale_data DIR N [NAME ID EMAIL]\n");
		return 2;
	}
	total = n + (argc == 6);
	a = calloc(total, sizeof(*a));
	strings = calloc(total, PER);
	if (a == NULL || strings == NULL)
		goto cleanup;
	for (i = 0; i < total; i++)
		make(&a[i], i, i == n ? argv[3] : NULL, argc == 6 ? argv[4] : NULL,
		     argc == 6 ? argv[5] : NULL, strings + i * PER);
	snprintf(path, sizeof(path), "%s/accounts", argv[1]);
	if (gotrue_accounts_write(path, a, total) != 0) {
		fprintf(stderr, "bench_scale_data: cannot write %s\n", path);
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s/nss.cache", argv[1]);
	if (write_cache(path, a, total) != 0) {
		fprintf(stderr, "bench_scale_data: cannot write %s\n", path);
		goto cleanup;
	}
	rc = 0;
cleanup:
	free(strings);
	free(a);
	return rc;
}
