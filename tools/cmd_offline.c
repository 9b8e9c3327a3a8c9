/* cmd_offline: `offline list` and `offline forget`, the administrator's view of the offline
 * verifiers (lib/store/offline.h, pam_gotrue(8) OFFLINE LOGIN): whose there are, how old, how
 * many failed offline attempts each has had, and erasing one user's or all. Never a hash: the
 * rows copy only the other fields. Also what `config check` says of offline login. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offline.h"

#include "gotruectl.h"

enum {
	OPT_ALL = CTL_OPT_LOCAL,
};

/* The public part of a verifier. */
struct row {
	char user_id[GOTRUE_OFFLINE_ID_MAX + 1];
	char login[GOTRUE_OFFLINE_LOGIN_MAX + 1];
	time_t at;
	bool aal2;
	unsigned int failures;
};

struct list_ctx {
	const char *user; /* only this login name or user id; NULL: everyone */
	struct row *rows;
	size_t n, cap;
	size_t damaged; /* files that are no verifier */
};

static const char *state_dir(const struct ctl *ctl)
{
	return ctl->cfg->state_dir ? ctl->cfg->state_dir : GOTRUE_STATEDIR;
}

static bool row_is(const struct row *r, const char *user)
{
	return user == NULL || strcmp(r->login, user) == 0 || strcmp(r->user_id, user) == 0;
}

static int keep_row(void *ctx, const char *name, const struct gotrue_offline_verifier *v)
{
	struct list_ctx *lc = ctx;
	struct row *grown;
	size_t cap = lc->cap ? lc->cap * 2 : 16;
	int rc = 0;

	(void)name;
	if (v == NULL) {
		lc->damaged++;
		goto cleanup;
	}
	if (lc->n == lc->cap) {
		rc = -ENOMEM;
		grown = realloc(lc->rows, cap * sizeof(*grown));
		if (grown == NULL)
			goto cleanup;
		lc->rows = grown;
		lc->cap = cap;
		rc = 0;
	}
	memcpy(lc->rows[lc->n].user_id, v->user_id, sizeof(v->user_id));
	memcpy(lc->rows[lc->n].login, v->login, sizeof(v->login));
	lc->rows[lc->n].at = v->at;
	lc->rows[lc->n].aal2 = v->aal2;
	lc->rows[lc->n].failures = v->failures;
	if (row_is(&lc->rows[lc->n], lc->user))
		lc->n++;
cleanup:
	return rc;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->login, ((const struct row *)b)->login);
}

static double age_days(time_t at, time_t now)
{
	return (double)(now - at) / 86400.0;
}

/* Every verifier (of @user, may be NULL) into @lc, sorted by login. 0 or -errno. */
static int load(const struct ctl *ctl, const char *user, struct list_ctx *lc)
{
	int r;

	memset(lc, 0, sizeof(*lc));
	lc->user = user;
	r = gotrue_offline_each(NULL, state_dir(ctl), keep_row, lc);
	if (r == 0 && lc->n > 1)
		qsort(lc->rows, lc->n, sizeof(*lc->rows), row_cmp);
	return r;
}

static json_object *row_json(const struct ctl *ctl, const struct row *r, time_t now)
{
	json_object *o = json_object_new_object();
	char buf[32];

	json_object_object_add(o, "user", json_object_new_string(r->login));
	json_object_object_add(o, "user_id", json_object_new_string(r->user_id));
	json_object_object_add(o, "online_login",
			       json_object_new_string(ctl_time_str(r->at, buf, sizeof(buf))));
	json_object_object_add(o, "age_days", json_object_new_double(age_days(r->at, now)));
	json_object_object_add(
		o, "expired",
		json_object_new_boolean(now - r->at >= ctl->cfg->offline_days * 86400L));
	json_object_object_add(o, "aal", json_object_new_string(r->aal2 ? "aal2" : "aal1"));
	json_object_object_add(o, "failures", json_object_new_int64(r->failures));
	return o;
}

static void print_rows(const struct ctl *ctl, const struct list_ctx *lc, time_t now)
{
	const struct row *r;
	char buf[32];
	size_t i;

	printf("%-16s %-36s %-20s %8s %-4s %s\n", "USER", "USER ID", "ONLINE LOGIN", "AGE", "AAL",
	       "FAILURES");
	for (i = 0; i < lc->n; i++) {
		r = &lc->rows[i];
		printf("%-16s %-36s %-20s %7.1fd %-4s %u%s\n", r->login, r->user_id,
		       ctl_time_str(r->at, buf, sizeof(buf)), age_days(r->at, now),
		       r->aal2 ? "aal2" : "aal1", r->failures,
		       now - r->at >= ctl->cfg->offline_days * 86400L ? " (expired)" : "");
	}
}

int cmd_offline_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct list_ctx lc = {0};
	json_object *doc, *arr;
	time_t now = time(NULL);
	size_t i;
	int rc, r;

	rc = ctl_parse_options(ctl, argc, argv, opts, NULL, NULL);
	if (rc == CTL_CONTINUE && optind + 1 < argc)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind + 1]);
	if (rc == CTL_CONTINUE)
		rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	r = load(ctl, optind < argc ? argv[optind] : NULL, &lc);
	if (r != 0) {
		ctl_errorf(ctl, "cannot read the offline verifiers in %s/%s (root only): %s",
			   state_dir(ctl), GOTRUE_OFFLINE_DIR, strerror(-r));
		rc = r == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_CONFIG;
		goto cleanup;
	}
	if (ctl->json) {
		doc = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < lc.n; i++)
			json_object_array_add(arr, row_json(ctl, &lc.rows[i], now));
		json_object_object_add(doc, "offline_login",
				       json_object_new_boolean(ctl->cfg->offline_login));
		json_object_object_add(doc, "offline_days",
				       json_object_new_int64(ctl->cfg->offline_days));
		json_object_object_add(doc, "total", json_object_new_int64((int64_t)lc.n));
		json_object_object_add(doc, "verifiers", arr);
		ctl_print_json(doc);
	} else {
		print_rows(ctl, &lc, now);
	}
	rc = CTL_EXIT_OK;
cleanup:
	free(lc.rows);
	return rc;
}

struct forget_ctx {
	const struct ctl *ctl;
	const char *user; /* NULL: every file */
	int erased, failed;
};

static int forget_one(void *ctx, const char *name, const struct gotrue_offline_verifier *v)
{
	struct forget_ctx *f = ctx;
	int r = -ENOENT;

	if (f->user == NULL ||
	    (v != NULL && (strcmp(v->login, f->user) == 0 || strcmp(v->user_id, f->user) == 0)))
		r = gotrue_offline_forget(NULL, state_dir(f->ctl), name);
	if (r == 0)
		f->erased++;
	else if (r != -ENOENT)
		f->failed++;
	return 0;
}

static int forget_option(const struct ctl *ctl, int opt, const char *arg, void *o)
{
	int rc = CTL_EXIT_INTERNAL; /* an option in the table but not here: a bug */

	(void)ctl;
	(void)arg;
	if (opt == OPT_ALL) {
		*(bool *)o = true;
		rc = CTL_CONTINUE;
	}
	return rc;
}

int cmd_offline_forget(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, OPT_ALL},
					     CTL_COMMON_LONGOPTS};
	struct forget_ctx f = {.ctl = ctl};
	char what[GOTRUE_OFFLINE_ID_MAX + 64];
	bool all = false;
	int rc, r;

	rc = ctl_parse_options(ctl, argc, argv, opts, forget_option, &all);
	if (rc == CTL_CONTINUE && all == (optind < argc))
		rc = ctl_usage_error(ctl, "name one user (login name or user id), or --all");
	else if (rc == CTL_CONTINUE && optind + 1 < argc)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind + 1]);
	if (rc == CTL_CONTINUE)
		rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	f.user = all ? NULL : argv[optind];
	r = gotrue_offline_each(NULL, state_dir(ctl), forget_one, &f);
	if (r != 0 || f.failed > 0) {
		ctl_errorf(ctl, "cannot erase the offline verifiers in %s/%s (root only)%s%s",
			   state_dir(ctl), GOTRUE_OFFLINE_DIR, r != 0 ? ": " : "",
			   r != 0 ? strerror(-r) : "");
		rc = r == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_CONFIG;
		goto cleanup;
	}
	snprintf(what, sizeof(what), "forgot %d offline verifier%s%s%s", f.erased,
		 f.erased == 1 ? "" : "s", all ? "" : " of ", all ? "" : f.user);
	ctl_output_done(ctl, what);
cleanup:
	return rc;
}

json_object *ctl_offline_state(const struct ctl *ctl)
{
	json_object *o = json_object_new_object();
	struct list_ctx lc = {0};
	time_t now = time(NULL), oldest = now, newest = 0;
	size_t i, expired = 0;
	int r = load(ctl, NULL, &lc);

	for (i = 0; r == 0 && i < lc.n; i++) {
		oldest = lc.rows[i].at < oldest ? lc.rows[i].at : oldest;
		newest = lc.rows[i].at > newest ? lc.rows[i].at : newest;
		expired += now - lc.rows[i].at >= ctl->cfg->offline_days * 86400L;
	}
	json_object_object_add(o, "offline_login",
			       json_object_new_boolean(ctl->cfg->offline_login));
	json_object_object_add(o, "offline_days", json_object_new_int64(ctl->cfg->offline_days));
	json_object_object_add(o, "verifiers",
			       r == 0 ? json_object_new_int64((int64_t)lc.n) : NULL);
	json_object_object_add(o, "expired",
			       r == 0 ? json_object_new_int64((int64_t)expired) : NULL);
	json_object_object_add(o, "oldest_days",
			       lc.n > 0 ? json_object_new_double(age_days(oldest, now)) : NULL);
	json_object_object_add(o, "newest_days",
			       lc.n > 0 ? json_object_new_double(age_days(newest, now)) : NULL);
	if (!ctl->json && r != 0)
		printf("offline: login %s; the verifiers cannot be read (root only)\n",
		       ctl->cfg->offline_login ? "on" : "off");
	else if (!ctl->json)
		printf("offline: login %s (%ld days, %ld attempts, offline_mfa %s): %zu "
		       "verifier%s, "
		       "%zu expired",
		       ctl->cfg->offline_login ? "on" : "off", ctl->cfg->offline_days,
		       ctl->cfg->offline_attempts,
		       ctl->cfg->offline_mfa == GOTRUE_OFFLINE_MFA_ALLOW ? "allow" : "refuse", lc.n,
		       lc.n == 1 ? "" : "s", expired);
	if (!ctl->json && r == 0 && lc.n > 0)
		printf(", oldest %.1f days, newest %.1f days", age_days(oldest, now),
		       age_days(newest, now));
	if (!ctl->json && r == 0)
		printf("\n");
	free(lc.rows);
	return o;
}
