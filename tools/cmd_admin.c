/* cmd_admin: `admin users ...`, the service-role subcommands over GET/POST /admin/users and
 * GET/PUT/DELETE /admin/users/{id} (supabase/auth internal/api/admin.go). The service-role key is
 * loaded from service_role_key_file only for these. app_metadata is the admin-only field that
 * authorises; user_metadata is the user's own. */
#include <config.h> /* autoconf */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "gotrue_json.h"
#include "secure.h"

#include "gotruectl.h"

enum {
	OPT_PAGE = CTL_OPT_LOCAL,
	OPT_PER_PAGE,
	OPT_ALL,
	OPT_EMAIL,
	OPT_PASSWORD_STDIN,
	OPT_CONFIRM,
	OPT_APP_META,
	OPT_USER_META,
};

struct admin_opts {
	long page;
	long per_page;
	bool all;
	const char *email;
	bool password_stdin;
	bool confirm;
	const char *app_meta;
	const char *user_meta;
	int npos;
	char **pos;
};

static int parse_count(const struct ctl *ctl, const char *opt, const char *s, long *out)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 1 || v > 1000000)
		return ctl_usage_error(ctl, "%s takes a positive number, not '%s'", opt, s);
	*out = v;
	return CTL_CONTINUE;
}

static int admin_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	struct admin_opts *o = ctx;
	int rc = CTL_CONTINUE;

	switch (opt) {
	case OPT_PAGE:
		rc = parse_count(ctl, "--page", arg, &o->page);
		break;
	case OPT_PER_PAGE:
		rc = parse_count(ctl, "--per-page", arg, &o->per_page);
		break;
	case OPT_ALL:
		o->all = true;
		break;
	case OPT_EMAIL:
		o->email = arg;
		break;
	case OPT_PASSWORD_STDIN:
		o->password_stdin = true;
		break;
	case OPT_CONFIRM:
		o->confirm = true;
		break;
	case OPT_APP_META:
		o->app_meta = arg;
		break;
	case OPT_USER_META:
		o->user_meta = arg;
		break;
	default:
		rc = CTL_EXIT_INTERNAL; /* an option in a table but not here: a bug */
		break;
	}
	return rc;
}

/* Parse @argv; exactly @want_pos positional arguments (the user id, the duration). */
static int parse(struct ctl *ctl, int argc, char **argv, const struct option *opts, int want_pos,
		 struct admin_opts *o)
{
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, admin_option, o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	o->npos = argc - optind;
	o->pos = argv + optind;
	if (o->npos != want_pos)
		rc = ctl_usage_error(ctl, "wrong number of arguments");
cleanup:
	return rc;
}

/* Add --app-metadata/--user-metadata to @attrs; they must be JSON objects. */
static int add_json_attr(const struct ctl *ctl, json_object *attrs, const char *key,
			 const char *opt, const char *text)
{
	json_object *v;

	if (!text)
		return CTL_CONTINUE;
	v = json_tokener_parse(text);
	if (!v || !json_object_is_type(v, json_type_object)) {
		json_object_put(v);
		return ctl_usage_error(ctl, "%s must be a JSON object", opt);
	}
	json_object_object_add(attrs, key, v);
	return CTL_CONTINUE;
}

/* --- list ------------------------------------------------------------------------------------- */

struct list_ctx {
	const struct ctl *ctl;
	json_object *users; /* --json: collected for one document */
	bool bar;	    /* a progress bar on stderr */
};

static void print_user_line(const struct gotrue_user *u)
{
	char created[32], banned[32];

	printf("%-36s  %-32s  %-20s  %s\n", u->id,
	       u->email ? u->email : (u->phone ? u->phone : "-"),
	       ctl_time_str(u->created_at, created, sizeof(created)),
	       gotrue_user_is_banned(u, time(NULL))
		       ? ctl_time_str(u->banned_until, banned, sizeof(banned))
		       : "-");
}

static void print_header(void)
{
	printf("%-36s  %-32s  %-20s  %s\n", "ID", "EMAIL", "CREATED", "BANNED_UNTIL");
}

static int each_user(void *ctx, const struct gotrue_user *u)
{
	struct list_ctx *lc = ctx;

	if (lc->users)
		json_object_array_add(lc->users, ctl_user_json(u));
	else
		print_user_line(u);
	return 0;
}

/* A user the listing cannot carry is said on stderr; the others are still listed. */
static int too_large(void *ctx, const struct gotrue_user_too_large *t)
{
	const struct list_ctx *lc = ctx;

	if (lc->bar)
		ctl_progress_end();
	ctl_errorf(lc->ctl,
		   "left out: the user at listing position %lld of %lld (id %s) is over "
		   "max_response (%zu bytes) on its own",
		   t->position, t->total, t->id ? t->id : "unknown", t->limit);
	return 0;
}

static void progress(void *ctx, size_t seen, long long total)
{
	const struct list_ctx *lc = ctx;

	if (lc->bar)
		ctl_progress_bar(seen, total, "users");
}

/* --all: every user, page by page (lib/sync/api_admin.c). A CTL_EXIT_* code. */
static int list_all(struct ctl *ctl, long per_page)
{
	struct gotrue_error err = {0};
	struct list_ctx lc = {.ctl = ctl, .bar = isatty(STDERR_FILENO) == 1};
	struct gotrue_user_walk walk = {.per_page = per_page ? (int)per_page : 100,
					.members = GOTRUE_USER_MEMBERS_LISTED,
					.each = each_user,
					.progress = progress,
					.too_large = too_large,
					.ctx = &lc};
	json_object *doc;
	int rc = CTL_EXIT_OK;

	if (ctl->json)
		lc.users = json_object_new_array();
	else
		print_header();
	if (gotrue_admin_each_user(ctl->client, &walk, &err) != 0) {
		if (lc.bar)
			ctl_progress_end();
		rc = ctl_fail(ctl, &err);
		goto cleanup;
	}
	if (lc.bar)
		ctl_progress_end();
	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(
			doc, "total",
			json_object_new_int64((int64_t)json_object_array_length(lc.users)));
		json_object_object_add(doc, "users", lc.users);
		lc.users = NULL;
		ctl_print_json(doc);
	}
cleanup:
	json_object_put(lc.users);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_admin_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"page", required_argument, NULL, OPT_PAGE},
					     {"per-page", required_argument, NULL, OPT_PER_PAGE},
					     {"all", no_argument, NULL, OPT_ALL},
					     CTL_COMMON_LONGOPTS};
	struct admin_opts o = {.page = 0, .per_page = 0};
	struct gotrue_user_page page = {0};
	struct gotrue_error err = {0};
	json_object *doc;
	size_t i;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE && o.all && o.page)
		rc = ctl_usage_error(ctl, "--all and --page exclude each other");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (o.all) {
		rc = list_all(ctl, o.per_page);
		goto cleanup;
	}
	if (gotrue_admin_list_users(ctl->client, o.page ? (int)o.page : 1,
				    o.per_page ? (int)o.per_page : 50, &page, &err) != 0) {
		rc = ctl_fail(ctl, &err);
		goto cleanup;
	}
	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "total", json_object_new_int64(page.total));
		json_object_object_add(doc, "next",
				       page.next ? json_object_new_string(page.next) : NULL);
		json_object_object_add(doc, "users", json_object_new_array());
		for (i = 0; i < page.n_users; i++)
			json_object_array_add(json_object_object_get(doc, "users"),
					      ctl_user_json(&page.users[i]));
		ctl_print_json(doc);
	} else {
		print_header();
		for (i = 0; i < page.n_users; i++)
			print_user_line(&page.users[i]);
		if (page.total >= 0)
			printf("(%zu shown of %lld%s)\n", page.n_users, page.total,
			       page.next ? "; more with --page or --all" : "");
	}
	rc = CTL_EXIT_OK;
cleanup:
	gotrue_user_page_clear(&page);
	gotrue_error_clear(&err);
	return rc;
}

/* --- one user --------------------------------------------------------------------------------- */

int cmd_admin_get(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct admin_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	int rc;

	rc = parse(ctl, argc, argv, opts, 1, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = ctl_result_user(ctl, gotrue_admin_get_user(ctl->client, o.pos[0], &u, &err), &err, &u);
cleanup:
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_admin_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"email", required_argument, NULL, OPT_EMAIL},
		{"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
		{"confirm", no_argument, NULL, OPT_CONFIRM},
		{"app-metadata", required_argument, NULL, OPT_APP_META},
		{"user-metadata", required_argument, NULL, OPT_USER_META},
		CTL_COMMON_LONGOPTS};
	struct admin_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	json_object *attrs = NULL;
	char *password = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 0, &o);
	if (rc == CTL_CONTINUE && (!o.email || !*o.email))
		rc = ctl_usage_error(ctl, "--email is required");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	attrs = json_object_new_object();
	if (!attrs) {
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	json_object_object_add(attrs, "email", json_object_new_string(o.email));
	rc = add_json_attr(ctl, attrs, "app_metadata", "--app-metadata", o.app_meta);
	if (rc == CTL_CONTINUE)
		rc = add_json_attr(ctl, attrs, "user_metadata", "--user-metadata", o.user_meta);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (o.confirm)
		json_object_object_add(attrs, "email_confirm", json_object_new_boolean(1));
	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (o.password_stdin) {
		password = ctl_read_secret(ctl, true, "password", NULL, &rc);
		if (!password)
			goto cleanup;
		json_object_object_add(attrs, "password", json_object_new_string(password));
	}
	rc = ctl_result_user(ctl, gotrue_admin_create_user(ctl->client, attrs, &u, &err), &err, &u);
cleanup:
	/* json-c frees its strings unwiped: the password in @attrs is wiped in place. */
	gotrue_json_put_wiped(attrs);
	gotrue_wipe_free_str(password);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_admin_update(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"email", required_argument, NULL, OPT_EMAIL},
		{"app-metadata", required_argument, NULL, OPT_APP_META},
		{"user-metadata", required_argument, NULL, OPT_USER_META},
		CTL_COMMON_LONGOPTS};
	struct admin_opts o = {0};
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	json_object *attrs = NULL;
	int rc;

	rc = parse(ctl, argc, argv, opts, 1, &o);
	if (rc == CTL_CONTINUE && !o.email && !o.app_meta && !o.user_meta)
		rc = ctl_usage_error(ctl, "nothing to change");
	if (rc != CTL_CONTINUE)
		goto cleanup;
	attrs = json_object_new_object();
	if (!attrs) {
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	if (o.email)
		json_object_object_add(attrs, "email", json_object_new_string(o.email));
	rc = add_json_attr(ctl, attrs, "app_metadata", "--app-metadata", o.app_meta);
	if (rc == CTL_CONTINUE)
		rc = add_json_attr(ctl, attrs, "user_metadata", "--user-metadata", o.user_meta);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = ctl_result_user(ctl, gotrue_admin_update_user(ctl->client, o.pos[0], attrs, &u, &err),
			     &err, &u);
cleanup:
	json_object_put(attrs);
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_admin_delete(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct admin_opts o = {0};
	struct gotrue_error err = {0};
	char what[GOTRUE_USER_ID_MAX + 32];
	int rc;

	rc = parse(ctl, argc, argv, opts, 1, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	snprintf(what, sizeof(what), "deleted %.*s", GOTRUE_USER_ID_MAX, o.pos[0]);
	rc = ctl_result_done(ctl, gotrue_admin_delete_user(ctl->client, o.pos[0], &err), &err,
			     what);
	/* A publisher's hosts learn it at their next fetch, not at the next timed publish. */
	if (rc == CTL_EXIT_OK)
		rc = ctl_republish(ctl);
cleanup:
	gotrue_error_clear(&err);
	return rc;
}

/* PUT /admin/users/{id} {"ban_duration": D}, a Go duration ("24h"); "none" lifts the ban. */
static int ban(struct ctl *ctl, const char *id, const char *duration)
{
	struct gotrue_error err = {0};
	struct gotrue_user u = {0};
	int rc;

	rc = ctl_client(ctl, true);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = ctl_result_user(ctl, gotrue_admin_ban_user(ctl->client, id, duration, &u, &err), &err,
			     &u);
	if (rc == CTL_EXIT_OK)
		rc = ctl_republish(ctl);
cleanup:
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc;
}

int cmd_admin_ban(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct admin_opts o = {0};
	int rc;

	rc = parse(ctl, argc, argv, opts, 2, &o);
	if (rc == CTL_CONTINUE && strcmp(o.pos[1], "none") == 0)
		rc = ctl_usage_error(ctl, "use 'admin users unban ID' to lift a ban");
	if (rc == CTL_CONTINUE)
		rc = ban(ctl, o.pos[0], o.pos[1]);
	return rc;
}

int cmd_admin_unban(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct admin_opts o = {0};
	int rc;

	rc = parse(ctl, argc, argv, opts, 1, &o);
	if (rc == CTL_CONTINUE)
		rc = ban(ctl, o.pos[0], "none");
	return rc;
}
