/* cmd_sync: `sync`, the front of gotrue_sync_run() (lib/sync/sync.h): page through GET /admin/users
 * with the service-role key, map every user, and replace the NSS cache and the account index in
 * state_dir, then report what was written and who was left out and why. The library does every
 * lookup itself from the local files, never through NSS, so this cannot wait on nss_gotrue; this
 * file makes no name-service call either. A listing that fails partway replaces nothing. */
#include <config.h> /* autoconf */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync.h"

#include "gotruectl.h"

enum {
	OPT_PER_PAGE = CTL_OPT_LOCAL,
};

struct sync_opts {
	long per_page;
};

static int sync_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	struct sync_opts *o = ctx;
	char *end;
	int rc = CTL_CONTINUE;

	switch (opt) {
	case OPT_PER_PAGE:
		/* A bound, so that a typo cannot ask for one enormous page. */
		o->per_page = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || o->per_page < 1 || o->per_page > 1000)
			rc = ctl_usage_error(ctl, "--per-page takes 1 to 1000, not '%s'", arg);
		break;
	default:
		rc = CTL_EXIT_INTERNAL; /* an option in the table but not here: a bug */
		break;
	}
	return rc;
}

static void progress(void *ctx, size_t seen, long long total)
{
	const bool *bar = ctx;

	if (*bar)
		ctl_progress_bar(seen, total, "users");
}

static json_object *summary_json(const struct gotrue_sync_summary *s, const char *cache_path)
{
	json_object *doc = json_object_new_object(), *left = json_object_new_array(), *e;
	const struct gotrue_left_out *l;
	size_t i;

	json_object_object_add(doc, "ok", json_object_new_boolean(1));
	json_object_object_add(doc, "cache", json_object_new_string(cache_path));
	json_object_object_add(doc, "users_listed", json_object_new_int64((int64_t)s->users_seen));
	json_object_object_add(doc, "users", json_object_new_int64((int64_t)s->users));
	json_object_object_add(doc, "groups", json_object_new_int64((int64_t)s->groups));
	json_object_object_add(doc, "local_groups",
			       json_object_new_int64((int64_t)s->local_groups));
	json_object_object_add(doc, "not_admitted",
			       json_object_new_int64((int64_t)s->not_admitted));
	json_object_object_add(doc, "uids_assigned",
			       json_object_new_int64((int64_t)s->uids_assigned));
	for (i = 0; i < s->n_left_out; i++) {
		l = &s->left_out[i];
		e = json_object_new_object();
		json_object_object_add(e, "what", json_object_new_string(l->what));
		json_object_object_add(e, "id", json_object_new_string(l->id));
		json_object_object_add(e, "name", l->name ? json_object_new_string(l->name) : NULL);
		json_object_object_add(e, "reason", json_object_new_string(l->reason));
		json_object_array_add(left, e);
	}
	json_object_object_add(doc, "left_out", left);
	return doc;
}

static void summary_print(const struct gotrue_sync_summary *s, const char *cache_path)
{
	const struct gotrue_left_out *l;
	size_t i;

	printf("%-10s %s\n", "cache:", cache_path);
	printf("%-10s %zu (of %zu listed)\n", "users:", s->users, s->users_seen);
	printf("%-10s %zu (%zu of them local_groups)\n", "groups:", s->groups, s->local_groups);
	printf("%-10s %zu (in no allow_groups group)\n", "not admitted:", s->not_admitted);
	printf("%-10s %zu (written to app_metadata.uid)\n", "uids assigned:", s->uids_assigned);
	printf("%-10s %zu\n", "left out:", s->n_left_out);
	/* One line each, so that `grep` finds a user by id or name. */
	for (i = 0; i < s->n_left_out; i++) {
		l = &s->left_out[i];
		if (l->name)
			printf("left out %s %s (%s): %s\n", l->what, l->id, l->name, l->reason);
		else
			printf("left out %s %s: %s\n", l->what, l->id, l->reason);
	}
}

int cmd_sync(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"per-page", required_argument, NULL, OPT_PER_PAGE},
					     CTL_COMMON_LONGOPTS};
	struct sync_opts o = {0};
	struct gotrue_sync_options so = {0};
	struct gotrue_sync_summary sum = {0};
	struct gotrue_error err = {0};
	char *cache_path = NULL;
	bool bar;
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, sync_option, &o);
	if (rc == CTL_CONTINUE && optind < argc)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	/* The service-role key goes into the config, where gotrue_sync_run() builds its client. */
	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (asprintf(&cache_path, "%s/nss.cache",
		     ctl->cfg->state_dir ? ctl->cfg->state_dir : GOTRUE_STATEDIR) < 0) {
		cache_path = NULL;
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	bar = isatty(STDERR_FILENO) == 1;
	so.per_page = (int)o.per_page;
	so.progress = progress;
	so.ctx = &bar;
	if (gotrue_sync_run(NULL, ctl->cfg, &so, &sum, &err) != 0) {
		if (bar)
			ctl_progress_end();
		rc = ctl_fail(ctl, &err);
		ctl_errorf(ctl, "the previous NSS cache %s (if any) is kept", cache_path);
		goto cleanup;
	}
	if (bar)
		ctl_progress_end();
	if (ctl->json)
		ctl_print_json(summary_json(&sum, cache_path));
	else
		summary_print(&sum, cache_path);
	rc = CTL_EXIT_OK;
cleanup:
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	free(cache_path);
	return rc;
}
