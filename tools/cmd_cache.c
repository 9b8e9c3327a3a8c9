/* cmd_cache: `cache show` and `cache lookup NAME|UID`, what nss_gotrue sees: the cache file read
 * through the same reader the NSS module uses (lib/cache/reader), printed as passwd(5) and
 * group(5) lines. No network and no NSS call. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
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

static void print_pw(FILE *out, const struct gotrue_cache_pw *p)
{
	fprintf(out, "%s:*:%u:%u:%s:%s:%s\n", p->name, p->uid, p->gid, p->gecos, p->dir, p->shell);
}

static void print_gr(FILE *out, const struct gotrue_cache_view *v, const struct gotrue_cache_gr *g)
{
	uint32_t i;

	fprintf(out, "%s:x:%u:", g->name, g->gid);
	for (i = 0; i < g->n_members; i++)
		fprintf(out, "%s%s", i ? "," : "", gotrue_cache_member(v, g, i));
	fputc('\n', out);
}

/* Map the cache through the reader the NSS module uses and run @fn on it: 0 printed, 1 not
 * found, -1 when the cache is missing, unreadable or corrupt. */
static int with_view(const struct gotrue_config *cfg, const char *cache_path,
		     int (*fn)(const struct gotrue_cache_view *v, const char *key, FILE *out),
		     const char *key, FILE *out)
{
	struct gotrue_cache c;
	const struct gotrue_cache_view *v;
	char *path = gotrue_sync_path(cfg, cache_path, "nss.cache");
	int rc = -1;

	if (path == NULL)
		return -1;
	gotrue_cache_init(&c, path);
	if (gotrue_cache_acquire(&c, &v) == GOTRUE_CACHE_OK) {
		rc = fn(v, key, out);
		gotrue_cache_release(&c);
	}
	gotrue_cache_destroy(&c);
	pthread_rwlock_destroy(&c.lock);
	free(path);
	return rc;
}

/* A header line (users, groups, generated_at), then every entry. */
static int show(const struct gotrue_cache_view *v, const char *key, FILE *out)
{
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	uint32_t i;

	fprintf(out, "# users %u, groups %u, generated_at %llu\n", v->hdr->n_users,
		v->hdr->n_groups, (unsigned long long)v->hdr->generated_at);
	for (i = 0; gotrue_cache_getpwent(v, i, &p) == GOTRUE_CACHE_OK; i++)
		print_pw(out, &p);
	for (i = 0; gotrue_cache_getgrent(v, i, &g) == GOTRUE_CACHE_OK; i++)
		print_gr(out, v, &g);
	return 0;
}

/* The passwd line and initgroups list of a name or uid, and the group line of a group name or
 * gid. */
static int lookup(const struct gotrue_cache_view *v, const char *key, FILE *out)
{
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	char *end;
	unsigned long id;
	bool numeric, found = false;
	uint32_t i;

	errno = 0;
	id = strtoul(key, &end, 10);
	numeric = *key != '\0' && *end == '\0' && errno == 0 && id <= UINT32_MAX;
	if ((numeric ? gotrue_cache_getpwuid(v, (uint32_t)id, &p)
		     : gotrue_cache_getpwnam(v, key, &p)) == GOTRUE_CACHE_OK) {
		print_pw(out, &p);
		fprintf(out, "initgroups:");
		for (i = 0; i < p.n_gids; i++)
			fprintf(out, " %u", p.gids[i]);
		fputc('\n', out);
		found = true;
	}
	if ((numeric ? gotrue_cache_getgrgid(v, (uint32_t)id, &g)
		     : gotrue_cache_getgrnam(v, key, &g)) == GOTRUE_CACHE_OK) {
		print_gr(out, v, &g);
		found = true;
	}
	return found ? 0 : 1;
}

/* Run @show (with @key NULL) or a lookup of @key, then print its lines: as they are, or with
 * --json as {"found":B,"lines":[...]}, captured through a memory stream so that one
 * formatter serves both. */
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
	r = with_view(ctl->cfg, o->cache, key ? lookup : show, key, mem ? mem : stdout);
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
