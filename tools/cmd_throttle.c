/* cmd_throttle: `throttle show` and `throttle reset`, the administrator's view of the local failure
 * throttle (lib/store/throttle.h), as faillock(8) is pam_faillock's: which users and hosts have
 * failed recently, which are locked and for how long, and clearing a bucket (or the whole table) by
 * hand. Showing changes nothing on disk; a missing table is an empty one. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "throttle.h"

#include "gotruectl.h"

enum {
	OPT_HOST = CTL_OPT_LOCAL,
	OPT_LOCAL,
	OPT_ALL,
};

struct throttle_opts {
	const char *host; /* --host HOST */
	bool local;	  /* --local: the bucket of attempts without a remote host */
	bool all;	  /* --all */
};

struct show_ctx {
	const char *user; /* show only this user's bucket */
	struct gotrue_throttle_entry *rows;
	size_t n, cap;
};

static int throttle_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	struct throttle_opts *o = ctx;
	int rc = CTL_CONTINUE;

	(void)ctl;
	switch (opt) {
	case OPT_HOST:
		o->host = arg;
		break;
	case OPT_LOCAL:
		o->local = true;
		break;
	case OPT_ALL:
		o->all = true;
		break;
	default:
		rc = CTL_EXIT_INTERNAL; /* an option in the table but not here: a bug */
		break;
	}
	return rc;
}

static const char *state_dir(const struct ctl *ctl)
{
	return ctl->cfg->state_dir ? ctl->cfg->state_dir : GOTRUE_STATEDIR;
}

static int keep_row(void *ctx, const struct gotrue_throttle_entry *e)
{
	struct show_ctx *sc = ctx;
	struct gotrue_throttle_entry *grown;
	size_t cap;
	int rc = 0;

	if (sc->user != NULL &&
	    (e->kind != GOTRUE_THROTTLE_USER || strcmp(e->label, sc->user) != 0))
		goto cleanup;
	if (sc->n == sc->cap) {
		cap = sc->cap ? sc->cap * 2 : 32;
		grown = realloc(sc->rows, cap * sizeof(*grown));
		if (grown == NULL) {
			rc = -ENOMEM;
			goto cleanup;
		}
		sc->rows = grown;
		sc->cap = cap;
	}
	sc->rows[sc->n++] = *e;
cleanup:
	return rc;
}

/* Users before hosts, each by name: stable output for people and diff(1). */
static int row_cmp(const void *a, const void *b)
{
	const struct gotrue_throttle_entry *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->label, y->label);
}

/* The bucket's name as shown: "(local)" for attempts without a remote host, "..." after a key
 * too long to keep whole. */
static const char *row_name(const struct gotrue_throttle_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", e->label[0] != '\0' ? e->label : "(local)",
		 e->truncated ? "..." : "");
	return buf;
}

static json_object *row_json(const struct gotrue_throttle_entry *e)
{
	json_object *o = json_object_new_object();
	char buf[GOTRUE_THROTTLE_LABEL_MAX + 8];

	json_object_object_add(
		o, "kind",
		json_object_new_string(e->kind == GOTRUE_THROTTLE_USER ? "user" : "host"));
	json_object_object_add(o, "name", json_object_new_string(row_name(e, buf, sizeof(buf))));
	json_object_object_add(o, "failures", json_object_new_int64(e->failures));
	json_object_object_add(o, "last",
			       json_object_new_string(ctl_time_str(e->last, buf, sizeof(buf))));
	json_object_object_add(o, "locked", json_object_new_boolean(e->locked));
	json_object_object_add(o, "seconds_left", json_object_new_int64(e->locked ? e->wait : 0));
	return o;
}

static void print_rows(const struct show_ctx *sc)
{
	char name[GOTRUE_THROTTLE_LABEL_MAX + 8], when[32], state[48];
	const struct gotrue_throttle_entry *e;
	size_t i;

	printf("%-4s %-40s %8s %-20s %s\n", "KIND", "NAME", "FAILURES", "LAST", "STATE");
	for (i = 0; i < sc->n; i++) {
		e = &sc->rows[i];
		if (e->locked)
			snprintf(state, sizeof(state), "locked, %ld s left", e->wait);
		else
			snprintf(state, sizeof(state), "-");
		printf("%-4s %-40s %8u %-20s %s\n",
		       e->kind == GOTRUE_THROTTLE_USER ? "user" : "host",
		       row_name(e, name, sizeof(name)), e->failures,
		       ctl_time_str(e->last, when, sizeof(when)), state);
	}
}

static void output_rows(const struct ctl *ctl, struct show_ctx *sc)
{
	json_object *doc, *arr;
	size_t i;

	if (sc->n > 1)
		qsort(sc->rows, sc->n, sizeof(*sc->rows), row_cmp);
	if (ctl->json) {
		doc = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < sc->n; i++)
			json_object_array_add(arr, row_json(&sc->rows[i]));
		json_object_object_add(doc, "total", json_object_new_int64((int64_t)sc->n));
		json_object_object_add(doc, "buckets", arr);
		ctl_print_json(doc);
	} else {
		print_rows(sc);
	}
}

/* Open the table for @mode; a missing one is *@t == NULL and CTL_EXIT_OK. */
static int open_table(struct ctl *ctl, enum gotrue_throttle_mode mode, struct gotrue_throttle **t)
{
	int rc, r;

	*t = NULL;
	rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	r = gotrue_throttle_open(NULL, state_dir(ctl), mode, 5000, t);
	if (r != 0 && r != -ENOENT) {
		ctl_errorf(ctl, "cannot use the throttle table in %s/throttle (root only): %s",
			   state_dir(ctl), strerror(-r));
		rc = r == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_CONFIG;
	}
cleanup:
	return rc;
}

int cmd_throttle_show(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct gotrue_throttle *t = NULL;
	struct show_ctx sc = {0};
	int rc, r = 0;

	rc = ctl_parse_options(ctl, argc, argv, opts, NULL, NULL);
	if (rc == CTL_CONTINUE && argc - optind > 1)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind + 1]);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	sc.user = optind < argc ? argv[optind] : NULL;
	rc = open_table(ctl, GOTRUE_THROTTLE_READ, &t);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (t != NULL)
		r = gotrue_throttle_each(t, ctl->cfg, time(NULL), keep_row, &sc);
	if (r != 0) {
		ctl_errorf(ctl, "cannot read the throttle table: %s", strerror(-r));
		rc = r == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_CONFIG;
		goto cleanup;
	}
	output_rows(ctl, &sc);
cleanup:
	gotrue_throttle_close(t);
	free(sc.rows);
	return rc;
}

/* What `reset` was asked for: exactly one of USER, --host, --local, --all. */
static int reset_target(struct ctl *ctl, const struct throttle_opts *o, int argc, char **argv)
{
	int n = (optind < argc) + (o->host != NULL) + o->local + o->all, rc = CTL_CONTINUE;

	if (argc - optind > 1)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind + 1]);
	else if (n != 1)
		rc = ctl_usage_error(ctl, "name one of USER, --host HOST, --local or --all");
	return rc;
}

int cmd_throttle_reset(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"host", required_argument, NULL, OPT_HOST},
					     {"local", no_argument, NULL, OPT_LOCAL},
					     {"all", no_argument, NULL, OPT_ALL},
					     CTL_COMMON_LONGOPTS};
	struct throttle_opts o = {0};
	struct gotrue_throttle *t = NULL;
	char key[GOTRUE_THROTTLE_HOST_MAX + 1], what[GOTRUE_THROTTLE_HOST_MAX + 64];
	enum gotrue_throttle_kind kind = GOTRUE_THROTTLE_HOST;
	int rc, r = -ENOENT;

	rc = ctl_parse_options(ctl, argc, argv, opts, throttle_option, &o);
	if (rc == CTL_CONTINUE)
		rc = reset_target(ctl, &o, argc, argv);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (o.all) {
		rc = ctl_config(ctl);
		r = rc == CTL_EXIT_OK ? gotrue_throttle_clear(NULL, state_dir(ctl)) : 0;
		r = r == -ENOENT ? -EIO
				 : r; /* not "nothing recorded": the table could not be made */
		snprintf(what, sizeof(what), "reset: every user and host");
	} else {
		if (optind < argc) {
			kind = GOTRUE_THROTTLE_USER;
			snprintf(key, sizeof(key), "%s", argv[optind]);
		} else {
			gotrue_throttle_host_key(o.local ? NULL : o.host, key, sizeof(key));
		}
		snprintf(what, sizeof(what), "reset: %s %s",
			 kind == GOTRUE_THROTTLE_USER ? "user" : "host", key[0] ? key : "(local)");
		rc = open_table(ctl, GOTRUE_THROTTLE_UPDATE, &t);
		if (rc == CTL_EXIT_OK && t != NULL)
			r = gotrue_throttle_forget(t, kind, key);
	}
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (r == -ENOENT) {
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " (nothing recorded)");
	} else if (r != 0) {
		ctl_errorf(ctl, "cannot reset: %s", strerror(-r));
		rc = r == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_CONFIG;
		goto cleanup;
	}
	ctl_output_done(ctl, what);
cleanup:
	gotrue_throttle_close(t);
	return rc;
}
