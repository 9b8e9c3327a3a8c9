/* cmd_fleet: the fleet's commands, the front of lib/fleet (fleet.h). On the publisher: `fleet
 * keygen | rotate` make the keys, `publish` syncs as `sync` does and writes the signed bundle,
 * and ctl_republish() republishes at once after an admin ban, unban or delete. On every other
 * host: `fetch` takes the bundle in. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "sync.h"

#include "gotruectl.h"

#define KEY_DIR SYSCONFDIR "/gotrue"

enum {
	OPT_FINISH = CTL_OPT_LOCAL,
	OPT_NO_SYNC,
};

/* The one flag of `fleet rotate` (--finish) or `publish` (--no-sync). */
static int fleet_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	bool *flag = ctx;

	(void)ctl;
	(void)arg;
	if (opt != OPT_FINISH && opt != OPT_NO_SYNC)
		return CTL_EXIT_INTERNAL; /* an option in the table but not here: a bug */
	*flag = true;
	return CTL_CONTINUE;
}

/* The one optional positional argument, DIR. */
static int one_dir(struct ctl *ctl, int argc, char **argv, const char **dir)
{
	int rc = CTL_CONTINUE;

	if (optind < argc)
		*dir = argv[optind++];
	if (optind < argc)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	else if (*dir != NULL && (*dir)[0] != '/')
		rc = ctl_usage_error(ctl, "DIR must be an absolute path, not '%s'", *dir);
	return rc;
}

int cmd_fleet_keygen(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	const char *dir = NULL;
	char pub[64];
	int rc, r;

	rc = ctl_parse_options(ctl, argc, argv, opts, NULL, NULL);
	if (rc == CTL_CONTINUE)
		rc = one_dir(ctl, argc, argv, &dir);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	dir = dir != NULL ? dir : KEY_DIR;
	r = gotrue_fleet_keygen(NULL, dir, "", pub);
	if (r != 0) {
		ctl_errorf(ctl, "%s (nothing was written%s)", strerror(-r),
			   r == -EEXIST ? ": the fleet has keys already; see fleet rotate" : "");
		rc = CTL_EXIT_CONFIG;
		goto cleanup;
	}
	printf("signing key:  %s/%s (publisher only)\n", dir, GOTRUE_FLEET_SIGNING_KEY);
	printf("fleet key:    %s/%s (publisher and every host)\n", dir, GOTRUE_FLEET_KEY);
	printf("public key:   %s/%s\n", dir, GOTRUE_FLEET_PUBLIC_KEY);
	printf("fleet_public_key = %s\n", pub);
	rc = CTL_EXIT_OK;
cleanup:
	return rc;
}

int cmd_fleet_rotate(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"finish", no_argument, NULL, OPT_FINISH},
					     CTL_COMMON_LONGOPTS};
	const char *dir = NULL;
	bool finish = false;
	char pub[64];
	int rc, r;

	rc = ctl_parse_options(ctl, argc, argv, opts, fleet_option, &finish);
	if (rc == CTL_CONTINUE)
		rc = one_dir(ctl, argc, argv, &dir);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	dir = dir != NULL ? dir : KEY_DIR;
	r = finish ? gotrue_fleet_rotate_finish(NULL, dir)
		   : gotrue_fleet_keygen(NULL, dir, GOTRUE_FLEET_NEXT, pub);
	if (r != 0) {
		ctl_errorf(ctl, "%s (see the log)", strerror(-r));
		rc = CTL_EXIT_CONFIG;
		goto cleanup;
	}
	if (finish) {
		printf("the publisher now signs and seals with the new keys; once every host "
		       "has fetched, drop the old key from fleet_public_key\n");
	} else {
		printf("new keys: %s/*%s\n", dir, GOTRUE_FLEET_NEXT);
		printf("1. on every host: fleet_public_key = <the current key> %s\n", pub);
		printf("   and fleet_key_file with the contents of %s/%s%s (both keys)\n", dir,
		       GOTRUE_FLEET_KEY, GOTRUE_FLEET_NEXT);
		printf("2. then here: gotruectl fleet rotate --finish\n");
	}
	rc = CTL_EXIT_OK;
cleanup:
	return rc;
}

/* Sync (unless @no_sync: the last sync's files), then publish into @dir (NULL: publish_dir).
 * A sync needs the client built with the service-role key. */
static int sync_and_publish(struct ctl *ctl, const char *dir, bool no_sync,
			    struct gotrue_fleet_publish_result *res,
			    struct gotrue_sync_summary *sum)
{
	struct gotrue_sync_options so = {0};
	struct gotrue_error err = {0};
	int rc = CTL_EXIT_OK;

	if ((!no_sync && gotrue_sync_run(NULL, ctl->cfg, &so, sum, &err) != 0) ||
	    gotrue_fleet_publish(NULL, ctl->cfg, dir, res, &err) != 0) {
		rc = ctl_fail(ctl, &err);
		ctl_errorf(ctl, "the bundle published before (if any) stays");
	}
	gotrue_error_clear(&err);
	return rc;
}

static void publish_print(const struct ctl *ctl, const struct gotrue_fleet_publish_result *res,
			  const struct gotrue_sync_summary *sum)
{
	const struct gotrue_fleet_manifest *m = &res->manifest;
	json_object *doc;

	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "ok", json_object_new_boolean(1));
		json_object_object_add(doc, "serial", json_object_new_int64(m->serial));
		json_object_object_add(doc, "changed", json_object_new_boolean(res->changed));
		json_object_object_add(doc, "users", json_object_new_int64((int64_t)sum->users));
		json_object_object_add(doc, "jwks", json_object_new_boolean(res->jwks));
		json_object_object_add(doc, "removed", json_object_new_int64(res->removed));
		ctl_print_json(doc);
		return;
	}
	printf("%-10s %lld (%s)\n", "serial:", m->serial,
	       res->changed ? "new manifest" : "unchanged: the published manifest stands");
	if (sum->users_seen > 0)
		printf("%-10s %zu (of %zu listed)\n", "users:", sum->users, sum->users_seen);
	printf("%-10s %s\n", "jwks:", res->jwks ? "included" : "none (no asymmetric key)");
	printf("%-10s %u old file(s)\n", "removed:", res->removed);
}

int cmd_publish(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {{"no-sync", no_argument, NULL, OPT_NO_SYNC},
					     CTL_COMMON_LONGOPTS};
	struct gotrue_fleet_publish_result res;
	struct gotrue_sync_summary sum = {0};
	const char *dir = NULL;
	bool no_sync = false;
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, fleet_option, &no_sync);
	if (rc == CTL_CONTINUE)
		rc = one_dir(ctl, argc, argv, &dir);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	rc = ctl_client(ctl, !no_sync);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	rc = sync_and_publish(ctl, dir, no_sync, &res, &sum);
	if (rc == CTL_EXIT_OK)
		publish_print(ctl, &res, &sum);
cleanup:
	gotrue_sync_summary_clear(&sum);
	return rc;
}

int ctl_republish(struct ctl *ctl)
{
	struct gotrue_fleet_publish_result res;
	struct gotrue_sync_summary sum = {0};
	int rc = CTL_EXIT_OK;

	if (ctl->cfg == NULL || ctl->cfg->publish_dir == NULL)
		goto cleanup;
	rc = sync_and_publish(ctl, NULL, false, &res, &sum);
	if (rc == CTL_EXIT_OK)
		fprintf(stderr, "%s: %s: republished, serial %lld\n", ctl->prog, ctl->cmd,
			res.manifest.serial);
	else
		ctl_errorf(ctl, "the change is made in GoTrue but not republished: run gotruectl "
				"publish");
cleanup:
	gotrue_sync_summary_clear(&sum);
	return rc;
}

static const char *outcome_name(enum gotrue_fleet_outcome o)
{
	static const char *const names[] = {"unchanged", "installed", "refused", "failed"};

	return (size_t)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

static void fetch_print(const struct ctl *ctl, const struct gotrue_fleet_fetch_result *res)
{
	long long age = res->have ? (long long)time(NULL) - res->installed.created : -1;
	json_object *doc;

	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "outcome",
				       json_object_new_string(outcome_name(res->outcome)));
		json_object_object_add(
			doc, "serial",
			json_object_new_int64(res->have ? res->installed.serial : 0));
		json_object_object_add(doc, "age", json_object_new_int64(age));
		json_object_object_add(doc, "downloaded", json_object_new_int64(res->downloaded));
		json_object_object_add(doc, "users_ended", json_object_new_int64(res->ended));
		json_object_object_add(doc, "users_flagged", json_object_new_int64(res->flagged));
		ctl_print_json(doc);
		return;
	}
	printf("%-10s %s\n", "outcome:", outcome_name(res->outcome));
	if (res->have)
		printf("%-10s %lld, %lld s old%s\n", "bundle:", res->installed.serial, age,
		       (long long)time(NULL) > res->installed.expires ? " (EXPIRED)" : "");
	else
		printf("%-10s none yet\n", "bundle:");
	printf("%-10s %u file(s)\n", "downloaded:", res->downloaded);
	printf("%-10s %u ended, %u logged\n", "refused users:", res->ended, res->flagged);
}

int cmd_fetch(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {CTL_COMMON_LONGOPTS};
	struct gotrue_fleet_fetch_result res;
	struct gotrue_error err = {0};
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, NULL, NULL);
	if (rc == CTL_CONTINUE && optind < argc)
		rc = ctl_usage_error(ctl, "unexpected argument '%s'", argv[optind]);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	/* The api key: ending a session revokes it in GoTrue. */
	rc = ctl_client(ctl, false);
	if (rc != CTL_EXIT_OK)
		goto cleanup;
	if (gotrue_fleet_fetch(NULL, ctl->cfg, &res, &err) != 0) {
		rc = res.outcome == GOTRUE_FLEET_REFUSED ? CTL_EXIT_VERIFY : ctl_fail(ctl, &err);
		if (res.outcome == GOTRUE_FLEET_REFUSED)
			ctl_errorf(ctl, "refused: %s", err.message);
		if (res.have)
			ctl_errorf(ctl, "the bundle of serial %lld stays in force, %lld s old",
				   res.installed.serial,
				   (long long)time(NULL) - res.installed.created);
		goto cleanup;
	}
	fetch_print(ctl, &res);
	rc = CTL_EXIT_OK;
cleanup:
	gotrue_error_clear(&err);
	return rc;
}
