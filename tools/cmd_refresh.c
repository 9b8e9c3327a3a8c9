/* cmd_refresh: the session lifetime commands over lib/sync/lifecycle.h: the refresh pass
 * run by gotrue-refresh.timer (`gotruectl refresh` without --token-stdin), `sessions revoke` and
 * `sessions gc`. Each parses its options, calls the library once and prints the summary. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"

#include "gotruectl.h"

enum {
	OPT_MARGIN = CTL_OPT_LOCAL,
	OPT_STALE_PENDING,
	OPT_USER,
};

struct life_opts {
	struct gotrue_refresh_opts pass;
	const char *user;
};

static int seconds_arg(const struct ctl *ctl, const char *name, const char *arg, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 0 || v > 86400 * 30)
		return ctl_usage_error(ctl, "%s takes a number of seconds", name);
	*out = v;
	return CTL_CONTINUE;
}

static int life_option(const struct ctl *ctl, int opt, const char *arg, void *p)
{
	struct life_opts *o = p;
	int rc = CTL_CONTINUE;

	switch (opt) {
	case OPT_MARGIN:
		rc = seconds_arg(ctl, "--margin", arg, &o->pass.margin);
		break;
	case OPT_STALE_PENDING:
		rc = seconds_arg(ctl, "--stale-pending", arg, &o->pass.stale_pending);
		break;
	case OPT_USER:
		o->user = arg;
		break;
	default:
		rc = CTL_EXIT_USAGE;
		break;
	}
	return rc;
}

static json_object *summary_json(const struct gotrue_refresh_summary *s)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "refreshed", json_object_new_int64(s->refreshed));
	json_object_object_add(o, "retried", json_object_new_int64(s->retried));
	json_object_object_add(o, "revoked", json_object_new_int64(s->revoked));
	json_object_object_add(o, "checked", json_object_new_int64(s->checked));
	json_object_object_add(o, "unchanged", json_object_new_int64(s->unchanged));
	json_object_object_add(o, "failed", json_object_new_int64(s->failed));
	json_object_object_add(o, "removed", json_object_new_int64(s->removed));
	json_object_object_add(o, "terminated", json_object_new_int64(s->terminated));
	json_object_object_add(o, "forgotten", json_object_new_int64(s->forgotten));
	json_object_object_add(o, "waiting", json_object_new_int64(s->waiting));
	json_object_object_add(o, "server_reachable", json_object_new_boolean(!s->server_down));
	return o;
}

/* The end of a summary line: how many of those were only forgotten, and what that means. */
static void print_forgotten(const struct gotrue_refresh_summary *s)
{
	if (s->forgotten)
		printf(" (%u only forgotten here: this server's /logout would end every session of "
		       "the user; old_server_logout = forget)",
		       s->forgotten);
	printf("\n");
}

static void print_summary(const struct ctl *ctl, const struct gotrue_refresh_summary *s)
{
	if (ctl->json) {
		ctl_print_json(summary_json(s));
		return;
	}
	if (s->server_down)
		printf("server unreachable: %s\n",
		       s->refreshed + s->retried + s->revoked == 0
			       ? "nothing changed"
			       : "the pass stopped; the rest is left for the next one");
	printf("refreshed %u, checked %u, retried %u, revoked %u, unchanged %u, failed %u",
	       s->refreshed, s->checked, s->retried, s->revoked, s->unchanged, s->failed);
	if (s->terminated)
		printf(", terminated %u", s->terminated);
	if (s->waiting)
		printf(", waiting %u (banned users: revoked once a refresh goes through again)",
		       s->waiting);
	print_forgotten(s);
}

/* The library's result as an exit code: 4 when the server was down or something is left for
 * the next pass (a timer simply runs again), 3 for a store that cannot be used. */
static int exit_for(int rc, const struct gotrue_refresh_summary *s)
{
	if (rc == -EHOSTUNREACH || (rc == 0 && s->failed > 0))
		return CTL_EXIT_UNREACHABLE;
	if (rc == -EACCES || rc == -EPERM)
		return CTL_EXIT_CONFIG;
	return rc == 0 ? CTL_EXIT_OK : CTL_EXIT_INTERNAL;
}

int cmd_refresh_pass(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{"margin", required_argument, NULL, OPT_MARGIN},
		{"stale-pending", required_argument, NULL, OPT_STALE_PENDING},
		CTL_COMMON_LONGOPTS};
	struct life_opts o = {0};
	struct gotrue_refresh_summary s = {0};
	int rc;

	gotrue_refresh_opts_init(&o.pass);
	rc = ctl_parse_options(ctl, argc, argv, opts, life_option, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (optind < argc) {
		rc = ctl_usage_error(ctl, "unexpected argument %s", argv[optind]);
		goto cleanup;
	}
	rc = ctl_client(ctl, false); /* loads the config and the api key */
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = gotrue_refresh_pass(NULL, ctl->cfg, &o.pass, &s);
	if (rc != 0 && rc != -EHOSTUNREACH)
		ctl_errorf(ctl, "cannot use the token store in %s: %s", ctl->cfg->state_dir,
			   strerror(-rc));
	else
		print_summary(ctl, &s);
	rc = exit_for(rc, &s);
cleanup:
	return rc;
}

int cmd_sessions_revoke(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, OPT_USER},
					     CTL_COMMON_LONGOPTS};
	struct life_opts o = {0};
	struct gotrue_refresh_summary s = {0};
	const char *id = NULL;
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, life_option, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (optind < argc)
		id = argv[optind++];
	if ((id == NULL) == (o.user == NULL) || optind < argc) {
		rc = ctl_usage_error(ctl, "give one session ID or --user NAME");
		goto cleanup;
	}
	if (id != NULL && !gotrue_store_id_valid(id)) {
		rc = ctl_usage_error(ctl, "a session ID is 32 hex digits (see sessions list)");
		goto cleanup;
	}
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = gotrue_sessions_revoke(NULL, ctl->cfg, id, o.user, &s);
	if (rc == -ENOENT) {
		ctl_errorf(ctl, "no such session");
		rc = CTL_EXIT_REFUSED;
		goto cleanup;
	}
	if (rc != 0 && rc != -EHOSTUNREACH) {
		ctl_errorf(ctl, "cannot use the token store in %s: %s", ctl->cfg->state_dir,
			   strerror(-rc));
		rc = exit_for(rc, &s);
		goto cleanup;
	}
	if (ctl->json) {
		ctl_print_json(summary_json(&s));
	} else if (s.server_down && s.revoked == 0) {
		printf("server unreachable: nothing changed\n");
	} else {
		printf("revoked %u, terminated %u, failed %u", s.revoked, s.terminated, s.failed);
		print_forgotten(&s);
	}
	rc = exit_for(rc, &s);
cleanup:
	return rc;
}

int cmd_sessions_gc(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	unsigned int removed = 0;
	json_object *doc;
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, NULL, NULL);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (optind < argc) {
		rc = ctl_usage_error(ctl, "unexpected argument %s", argv[optind]);
		goto cleanup;
	}
	rc = ctl_config(ctl);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = gotrue_sessions_gc(NULL, ctl->cfg, &removed);
	if (rc != 0) {
		ctl_errorf(ctl, "cannot use the token store in %s: %s", ctl->cfg->state_dir,
			   strerror(-rc));
		rc = CTL_EXIT_CONFIG;
		goto cleanup;
	}
	if (ctl->json) {
		doc = json_object_new_object();
		if (doc != NULL)
			json_object_object_add(doc, "removed", json_object_new_int64(removed));
		ctl_print_json(doc);
	} else {
		printf("removed %u revoked record(s)\n", removed);
	}
	rc = CTL_EXIT_OK;
cleanup:
	return rc;
}
