/* cmd_cache: `cache show` and `cache lookup NAME|UID`, what nss_gotrue sees: the cache file read
 * through the same reader the NSS module uses (lib/cache/reader), printed as passwd(5) and
 * group(5) lines; and `cache verify [PATH]`, the whole-file check that lookups no longer make
 * (lib/cache/writer/cache_verify.c). No network and no NSS call. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_verify.h"
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

/* Parse; @min_pos to @max_pos positional arguments; load the config (for state_dir). */
static int parse(struct ctl *ctl, int argc, char **argv, int min_pos, int max_pos,
		 struct cache_opts *o)
{
	static const struct option opts[] = {{"cache", required_argument, NULL, OPT_CACHE},
					     CTL_COMMON_LONGOPTS};
	int rc;

	rc = ctl_parse_options(ctl, argc, argv, opts, cache_option, o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	if (argc - optind < min_pos || argc - optind > max_pos) {
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
 * found, -1 when the cache is missing, unreadable or corrupt (where @fn reads). */
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

/* A header line (users, groups, generated_at), then every entry; -1 at a corrupt record (the
 * reader checks each as it reads it). */
static int show(const struct gotrue_cache_view *v, const char *key, FILE *out)
{
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	enum gotrue_cache_status st;
	uint32_t i;
	int rc = -1;

	(void)key;
	fprintf(out, "# users %u, groups %u, generated_at %llu\n", v->hdr->n_users,
		v->hdr->n_groups, (unsigned long long)v->hdr->generated_at);
	for (i = 0; (st = gotrue_cache_getpwent(v, i, &p)) == GOTRUE_CACHE_OK; i++)
		print_pw(out, &p);
	if (st != GOTRUE_CACHE_NOTFOUND)
		goto cleanup;
	for (i = 0; (st = gotrue_cache_getgrent(v, i, &g)) == GOTRUE_CACHE_OK; i++)
		print_gr(out, v, &g);
	if (st == GOTRUE_CACHE_NOTFOUND)
		rc = 0;
cleanup:
	return rc;
}

/* The passwd line and initgroups list of a name or uid, and the group line of a group name or
 * gid: 0 printed, 1 neither found, -1 when a lookup meets corrupt data. */
static int lookup(const struct gotrue_cache_view *v, const char *key, FILE *out)
{
	struct gotrue_cache_pw p;
	struct gotrue_cache_gr g;
	enum gotrue_cache_status su, sg;
	char *end;
	unsigned long id;
	bool numeric;
	uint32_t i;
	int rc = -1;

	errno = 0;
	id = strtoul(key, &end, 10);
	numeric = *key != '\0' && *end == '\0' && errno == 0 && id <= UINT32_MAX;
	su = numeric ? gotrue_cache_getpwuid(v, (uint32_t)id, &p)
		     : gotrue_cache_getpwnam(v, key, &p);
	sg = numeric ? gotrue_cache_getgrgid(v, (uint32_t)id, &g)
		     : gotrue_cache_getgrnam(v, key, &g);
	if (su == GOTRUE_CACHE_UNAVAIL || sg == GOTRUE_CACHE_UNAVAIL)
		goto cleanup;
	rc = su == GOTRUE_CACHE_OK || sg == GOTRUE_CACHE_OK ? 0 : 1;
	if (su == GOTRUE_CACHE_OK) {
		print_pw(out, &p);
		fprintf(out, "initgroups:");
		for (i = 0; i < p.n_gids; i++)
			fprintf(out, " %u", p.gids[i]);
		fputc('\n', out);
	}
	if (sg == GOTRUE_CACHE_OK)
		print_gr(out, v, &g);
cleanup:
	return rc;
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

	rc = parse(ctl, argc, argv, 0, 0, &o);
	if (rc == CTL_CONTINUE)
		rc = print_view(ctl, &o, NULL);
	return rc;
}

int cmd_cache_lookup(struct ctl *ctl, int argc, char **argv)
{
	struct cache_opts o = {0};
	int rc;

	rc = parse(ctl, argc, argv, 1, 1, &o);
	if (rc == CTL_CONTINUE)
		rc = print_view(ctl, &o, argv[optind]);
	return rc;
}

/* --- cache verify ---------------------------------------------------------------------------- */

/* What nss_gotrue's open would refuse in the file behind @fd (cache_reader.c map_path), or
 * NULL. */
static const char *file_problem(int fd, struct stat *st)
{
	if (fstat(fd, st) != 0)
		return "cannot stat it";
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if ((st->st_uid != 0 && st->st_uid != geteuid()) || (st->st_mode & 0022) != 0)
		return "not root's, or writable by group or others: nss_gotrue ignores it";
	if (st->st_size > (off_t)GOTRUE_CACHE_MAX_SIZE)
		return "larger than the size limit";
	return NULL;
}

/* Check the whole cache at @path: 0 good, 1 corrupt (*@why set), -1 cannot be opened. */
static int verify_path(const char *path, char *why, size_t why_len, struct gotrue_cache_header *h)
{
	struct stat st;
	const char *problem;
	void *map = MAP_FAILED;
	size_t len = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		goto cleanup;
	rc = 1;
	problem = file_problem(fd, &st);
	if (problem != NULL) {
		snprintf(why, why_len, "%s", problem);
		goto cleanup;
	}
	len = (size_t)st.st_size;
	if (len == 0) {
		snprintf(why, why_len, "empty (truncated)");
		goto cleanup;
	}
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(why, why_len, "cannot map it: %s", strerror(errno));
		goto cleanup;
	}
	if (gotrue_cache_verify(map, len, why, why_len) == 0) {
		memcpy(h, map, sizeof(*h));
		rc = 0;
	}
cleanup:
	if (map != MAP_FAILED)
		munmap(map, len);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Print verify_path's result @r (the header @h when good, @why when corrupt); its exit code. */
static int report_verify(const struct ctl *ctl, const char *path, int r, const char *why,
			 const struct gotrue_cache_header *h)
{
	json_object *doc;
	int rc = r == 0 ? CTL_EXIT_OK : CTL_EXIT_REFUSED;

	if (r < 0) {
		ctl_errorf(ctl, "cannot open %s: %s", path, strerror(errno));
		rc = CTL_EXIT_CONFIG;
		goto cleanup;
	}
	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "path", json_object_new_string(path));
		json_object_object_add(doc, "ok", json_object_new_boolean(r == 0));
		if (r == 0) {
			json_object_object_add(doc, "users", json_object_new_int64(h->n_users));
			json_object_object_add(doc, "groups", json_object_new_int64(h->n_groups));
		} else {
			json_object_object_add(doc, "reason", json_object_new_string(why));
		}
		ctl_print_json(doc);
	} else if (r == 0) {
		printf("%s: ok, %u users, %u groups, generated_at %llu\n", path, h->n_users,
		       h->n_groups, (unsigned long long)h->generated_at);
	}
	if (r != 0)
		ctl_errorf(ctl, "%s is corrupt: %s; run gotruectl sync to rewrite it", path, why);
cleanup:
	return rc;
}

int cmd_cache_verify(struct ctl *ctl, int argc, char **argv)
{
	struct cache_opts o = {0};
	struct gotrue_cache_header h;
	char why[256] = "", *path = NULL;
	int rc, r;

	rc = parse(ctl, argc, argv, 0, 1, &o);
	if (rc != CTL_CONTINUE)
		goto cleanup;
	path = gotrue_sync_path(ctl->cfg, optind < argc ? argv[optind] : o.cache, "nss.cache");
	if (path == NULL) {
		rc = CTL_EXIT_INTERNAL;
		goto cleanup;
	}
	memset(&h, 0, sizeof(h));
	r = verify_path(path, why, sizeof(why), &h);
	rc = report_verify(ctl, path, r, why, &h);
cleanup:
	free(path);
	return rc;
}
