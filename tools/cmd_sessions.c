/* cmd_sessions: `sessions list`, the PAM sessions in the token store (lib/store/store.h): who,
 * which service, tty and host, the record's state, when its access token expires ("offline" for
 * an offline login, which holds none) and the owning pid. The records hold each session's access
 * and refresh tokens; this file copies only the public fields out of them, so no mode (--json,
 * --show-tokens) can print a token: there is none in memory here to print. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

#include "gotruectl.h"

enum {
	OPT_USER = CTL_OPT_LOCAL,
};

struct sessions_opts {
	const char *user; /* --user NAME: the login name (or GoTrue user id) */
};

/* The public part of a record; deliberately without the token fields. */
struct row {
	char id[GOTRUE_STORE_ID_LEN + 1];
	char *login, *user_id, *session_id, *service, *tty, *rhost, *xdg_session_id;
	enum gotrue_store_state state;
	time_t expires_at, created;
	pid_t pid;
	unsigned int audit_session; /* 0: none recorded */
	bool offline;		    /* an offline login: no token, no expiry */
};

struct list_ctx {
	const char *user;
	struct row *rows;
	size_t n, cap;
};

static int sessions_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	struct sessions_opts *o = ctx;
	int rc = CTL_CONTINUE;

	(void)ctl;
	switch (opt) {
	case OPT_USER:
		o->user = arg;
		break;
	default:
		rc = CTL_EXIT_INTERNAL; /* an option in the table but not here: a bug */
		break;
	}
	return rc;
}

static void row_clear(struct row *r)
{
	free(r->login);
	free(r->user_id);
	free(r->session_id);
	free(r->service);
	free(r->tty);
	free(r->rhost);
	free(r->xdg_session_id);
	memset(r, 0, sizeof(*r));
}

static bool dup_field(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

static bool str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* gotrue_store_each callback: copy the public fields (the store wipes the record afterwards). */
static int keep_row(void *ctx, const struct gotrue_store_record *rec)
{
	struct list_ctx *lc = ctx;
	struct row *r, *grown;
	size_t cap;

	if (lc->user && !str_eq(lc->user, rec->login) && !str_eq(lc->user, rec->user_id))
		return 0;
	if (lc->n == lc->cap) {
		cap = lc->cap ? lc->cap * 2 : 16;
		grown = realloc(lc->rows, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		lc->rows = grown;
		lc->cap = cap;
	}
	r = &lc->rows[lc->n];
	memset(r, 0, sizeof(*r));
	memcpy(r->id, rec->id, sizeof(r->id));
	r->state = rec->state;
	r->expires_at = rec->expires_at;
	r->created = rec->created;
	r->pid = rec->pid;
	r->audit_session = rec->audit_session;
	r->offline = rec->offline;
	lc->n++; /* counted now, so that a half-filled row is still freed */
	if (!dup_field(&r->login, rec->login) || !dup_field(&r->user_id, rec->user_id) ||
	    !dup_field(&r->session_id, rec->session_id) || !dup_field(&r->service, rec->service) ||
	    !dup_field(&r->tty, rec->tty) || !dup_field(&r->rhost, rec->rhost) ||
	    !dup_field(&r->xdg_session_id, rec->xdg_session_id))
		return -ENOMEM;
	return 0;
}

/* By login, then oldest first: stable output for people and diff(1). */
static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->login ? x->login : "", y->login ? y->login : "");

	if (c == 0)
		c = (x->created > y->created) - (x->created < y->created);
	if (c == 0)
		c = strcmp(x->id, y->id);
	return c;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, val ? json_object_new_string(val) : NULL);
}

static json_object *row_json(const struct row *r)
{
	json_object *o = json_object_new_object();
	char buf[32];

	add_str(o, "user", r->login);
	add_str(o, "id", r->id);
	add_str(o, "user_id", r->user_id);
	add_str(o, "session_id", r->session_id);
	add_str(o, "service", r->service);
	add_str(o, "tty", r->tty);
	add_str(o, "rhost", r->rhost);
	add_str(o, "xdg_session_id", r->xdg_session_id);
	add_str(o, "state", gotrue_store_state_name(r->state));
	add_str(o, "expires_at",
		r->expires_at && !r->offline ? ctl_time_str(r->expires_at, buf, sizeof(buf))
					     : NULL);
	json_object_object_add(o, "offline", json_object_new_boolean(r->offline));
	add_str(o, "created", r->created ? ctl_time_str(r->created, buf, sizeof(buf)) : NULL);
	json_object_object_add(o, "pid", json_object_new_int64(r->pid));
	json_object_object_add(o, "audit_session",
			       r->audit_session ? json_object_new_int64(r->audit_session) : NULL);
	return o;
}

static void print_rows(const struct list_ctx *lc)
{
	const struct row *r;
	char buf[32];
	size_t i;

	printf("%-16s %-32s %-10s %-8s %-15s %-8s %-20s %s\n", "USER", "ID", "SERVICE", "TTY",
	       "RHOST", "STATE", "EXPIRES", "PID");
	for (i = 0; i < lc->n; i++) {
		r = &lc->rows[i];
		printf("%-16s %-32s %-10s %-8s %-15s %-8s %-20s %ld\n", or_dash(r->login), r->id,
		       or_dash(r->service), or_dash(r->tty), or_dash(r->rhost),
		       gotrue_store_state_name(r->state),
		       r->offline ? "offline" : ctl_time_str(r->expires_at, buf, sizeof(buf)),
		       (long)r->pid);
	}
}

int cmd_sessions_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, OPT_USER},
					     CTL_COMMON_LONGOPTS};
	struct sessions_opts o = {0};
	struct list_ctx lc = {0};
	struct gotrue_store *st = NULL;
	json_object *doc, *arr;
	const char *state_dir;
	char *sessions_dir = NULL;
	struct stat sb;
	size_t i;
	int rc, r;

	rc = ctl_parse_options(ctl, argc, argv, opts, sessions_option, &o);
	if (rc == CTL_CONTINUE && optind < argc)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	lc.user = o.user;
	state_dir = ctl->cfg->state_dir ? ctl->cfg->state_dir : GOTRUE_STATEDIR;
	if (asprintf(&sessions_dir, "%s/sessions", state_dir) < 0) {
		sessions_dir = NULL;
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	/* A listing must not create the store: with no sessions directory there are no sessions.
	 * Anything else (a link, wrong owner or mode) is gotrue_store_open's to refuse. */
	if (lstat(sessions_dir, &sb) != 0 && errno == ENOENT) {
		r = 0;
	} else {
		st = gotrue_store_open(NULL, state_dir);
		if (!st) {
			ctl_errorf(ctl, "cannot open the token store %s (root only)", sessions_dir);
			rc = CTL_EXIT_CONFIG;
			goto cleanup;
		}
		r = gotrue_store_each(st, keep_row, &lc);
	}
	if (r != 0) {
		ctl_errorf(ctl, "cannot read the token store %s: %s", sessions_dir, strerror(-r));
		rc = r == -ENOMEM ? CTL_EXIT_INTERNAL : CTL_EXIT_CONFIG;
		goto cleanup;
	}
	if (lc.n > 1)
		qsort(lc.rows, lc.n, sizeof(*lc.rows), row_cmp);
	if (ctl->json) {
		doc = json_object_new_object();
		arr = json_object_new_array();
		for (i = 0; i < lc.n; i++)
			json_object_array_add(arr, row_json(&lc.rows[i]));
		json_object_object_add(doc, "total", json_object_new_int64((int64_t)lc.n));
		json_object_object_add(doc, "sessions", arr);
		ctl_print_json(doc);
	} else {
		print_rows(&lc);
	}
	rc = CTL_EXIT_OK;
cleanup:
	for (i = 0; i < lc.n; i++)
		row_clear(&lc.rows[i]);
	free(lc.rows);
	gotrue_store_close(st);
	free(sessions_dir);
	return rc;
}
