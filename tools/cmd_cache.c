/* cmd_cache: `cache show` and `cache lookup NAME|UID`, what nss_gotrue sees: the cache file read
 * through the same reader the NSS module uses (gotrue_cache_show/gotrue_cache_lookup in
 * lib/sync/sync.h), printed as passwd(5) and group(5) lines. No network and no NSS call. */
#include <config.h> /* autoconf */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

#include "gotruectl.h"

enum {
	OPT_CACHE = CTL_OPT_LOCAL,
};

struct cache_opts {
	const char *cache; /* --cache FILE, NULL: state_dir/nss.cache */
};

static int cache_option(const struct ctl *ctl, int opt, const char *arg, void *ctx)
{
	struct cache_opts *o = ctx;
	int rc = CTL_CONTINUE;

	(void)ctl;
	switch (opt) {
	case OPT_CACHE:
		o->cache = arg;
		break;
	default:
		rc = CTL_EXIT_INTERNAL; /* an option in the table but not here: a bug */
		break;
	}
	return rc;
}

/* Parse; exactly @want_pos positional arguments; load the config (for state_dir). */
static int parse(struct ctl *ctl, int argc, char **argv, int want_pos, struct cache_opts *o)
{
	static const struct option opts[] = {{"cache", required_argument, NULL, OPT_CACHE},
					     CTL_COMMON_LONGOPTS};
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, cache_option, o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (argc - optind != want_pos) {
		rc = ctl_usage_error(ctl, "wrong number of arguments");
		goto cleanup;
	}
	if (o->cache && o->cache[0] != '/') {
		rc = ctl_usage_error(ctl, "--cache needs an absolute path");
		goto cleanup;
	}
	rc = ctl_config(ctl);
	if (rc == CTL_EXIT_OK)
		rc = CTL_CONTINUE;
cleanup:
	return rc;
}

/* Run @show (with @key NULL) or a lookup of @key, then print its lines: as they are, or with
 * --json as {"found":B,"lines":[...]}, captured through a memory stream so that the library's
 * one formatter serves both. */
static int print_view(struct ctl *ctl, const struct cache_opts *o, const char *key)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *mem = NULL;
	json_object *doc, *lines;
	int r, rc = CTL_EXIT_INTERNAL;

	if (ctl->json) {
		mem = open_memstream(&buf, &len);
		if (!mem)
			goto cleanup;
	}
	r = key ? gotrue_cache_lookup(ctl->cfg, o->cache, key, mem ? mem : stdout)
		: gotrue_cache_show(ctl->cfg, o->cache, mem ? mem : stdout);
	if (mem && fclose(mem) != 0) {
		mem = NULL;
		goto cleanup;
	}
	mem = NULL;
	if (r < 0) {
		ctl_errorf(ctl,
			   "the cache %s%s is missing, unreadable or corrupt (run gotruectl sync)",
			   o->cache ? o->cache
				    : (ctl->cfg->state_dir ? ctl->cfg->state_dir : GOTRUE_STATEDIR),
			   o->cache ? "" : "/nss.cache");
		rc = CTL_EXIT_CONFIG;
		goto cleanup;
	}
	if (ctl->json) {
		doc = json_object_new_object();
		lines = json_object_new_array();
		for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			json_object_array_add(lines, json_object_new_string(line));
		json_object_object_add(doc, "found", json_object_new_boolean(r == 0));
		json_object_object_add(doc, "lines", lines);
		ctl_print_json(doc);
	}
	if (r == 1)
		ctl_errorf(ctl, "no user or group '%s' in the cache", key);
	rc = r == 0 ? CTL_EXIT_OK : CTL_EXIT_REFUSED;
cleanup:
	if (mem)
		fclose(mem);
	free(buf);
	return rc;
}

int cmd_cache_show(struct ctl *ctl, int argc, char **argv)
{
	struct cache_opts o = {0};
	int rc;

	rc = parse(ctl, argc, argv, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = print_view(ctl, &o, NULL);
	return rc;
}

int cmd_cache_lookup(struct ctl *ctl, int argc, char **argv)
{
	struct cache_opts o = {0};
	int rc;

	rc = parse(ctl, argc, argv, 1, &o);
	if (rc == CTL_CONTINUE)
		rc = print_view(ctl, &o, argv[optind]);
	return rc;
}
