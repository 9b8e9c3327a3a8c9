/* idmap: GoTrue user -> Unix account, and a consistent set of them (see idmap.h). Every decision
 * reads app_metadata, which only the service role can write; user_metadata is never consulted, so a
 * user cannot pick their own name, uid or groups. Local /etc/passwd and /etc/group are read with
 * fgetpwent/fgetgrent on the files themselves: going through getpwnam() would ask NSS, which may
 * be this very cache (or deadlock on it). */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include "idmap.h"

void gotrue_account_clear(struct gotrue_account *a)
{
	size_t i;

	if (a == NULL)
		return;
	free(a->name);
	free(a->gecos);
	free(a->home);
	free(a->shell);
	for (i = 0; i < a->n_groups; i++)
		free(a->groups[i]);
	free(a->groups);
	free(a->user_id);
	free(a->email);
	free(a->phone);
	memset(a, 0, sizeof(*a));
}

bool gotrue_idmap_valid_name(const char *name)
{
	size_t i;

	/* Explicit ranges, not islower(): the locale must not widen what a name may be. */
	if (name == NULL || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (i = 1; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i >= GOTRUE_NAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

uint32_t gotrue_idmap_derive(unsigned long min, unsigned long max, const char *prefix,
			     const char *key)
{
	uint64_t h = 14695981039346656037ull, span;
	const char *parts[3] = {prefix, ":", key};
	size_t i;
	const char *s;

	for (i = 0; i < 3; i++) {
		for (s = parts[i]; *s != '\0'; s++) {
			h ^= (unsigned char)tolower((unsigned char)*s);
			h *= 1099511628211ull;
		}
	}
	span = (uint64_t)max - min + 1;
	return (uint32_t)(min + h % span);
}

static void set_why(char *why, size_t len, const char *msg)
{
	if (why != NULL && len > 0)
		snprintf(why, len, "%s", msg);
}

/* Email domains compare without case (RFC 5321 section 2.4). */
static bool domain_listed(char *const *domains, const char *domain)
{
	for (; domains != NULL && *domains != NULL; domains++) {
		if (strcasecmp(*domains, domain) == 0)
			return true;
	}
	return false;
}

static const char *meta_string(json_object *meta, const char *key)
{
	json_object *o;

	if (meta == NULL || !json_object_object_get_ex(meta, key, &o) ||
	    !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

/* GECOS is a comma-separated, colon-terminated field of passwd(5): drop what would break it
 * (':' ',' '=' and control characters) and cap the length. */
static char *clean_gecos(const char *in)
{
	char *out = malloc(GOTRUE_GECOS_MAX + 1);
	size_t n = 0;

	if (out == NULL)
		return NULL;
	for (; in != NULL && *in != '\0' && n < GOTRUE_GECOS_MAX; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f || c == ':' || c == ',' || c == '=')
			continue;
		out[n++] = (char)c;
	}
	/* Do not end inside a UTF-8 sequence after capping. */
	while (n > 0 && n == GOTRUE_GECOS_MAX && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && n == GOTRUE_GECOS_MAX && ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
		n--;
	out[n] = '\0';
	return out;
}

/* "%u" -> the login name, "%%" -> "%"; anything else is copied. */
static char *expand(const char *tmpl, const char *name)
{
	size_t cap = strlen(tmpl) + 1, n = 0;
	const char *p;
	char *out;

	for (p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 'u')
			cap += strlen(name);
	}
	out = malloc(cap);
	if (out == NULL)
		return NULL;
	for (p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			memcpy(out + n, name, strlen(name));
			n += strlen(name);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[n++] = '%';
			p++;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return out;
}

/* The login name from app_metadata.username, else from the email when its domain is listed. */
static int pick_name(const struct gotrue_config *cfg, const struct gotrue_user *u, char **out,
		     char *why, size_t why_len)
{
	const char *username = meta_string(u->app_metadata, "username");
	const char *at;
	char *name = NULL;
	size_t i;
	int rc = -1;

	if (username != NULL) {
		name = strdup(username);
	} else if (u->email != NULL && (at = strrchr(u->email, '@')) != NULL &&
		   domain_listed(cfg->email_domains, at + 1)) {
		name = strndup(u->email, (size_t)(at - u->email));
		for (i = 0; name != NULL && name[i]; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
	} else {
		set_why(why, why_len, "no app_metadata.username and no email in email_domains");
		goto cleanup;
	}
	if (name == NULL) {
		set_why(why, why_len, "out of memory");
		goto cleanup;
	}
	if (!gotrue_idmap_valid_name(name)) {
		set_why(why, why_len, "invalid login name");
		goto cleanup;
	}
	*out = name;
	name = NULL;
	rc = 0;
cleanup:
	free(name);
	return rc;
}

static int pick_groups(json_object *meta, struct gotrue_account *a)
{
	json_object *arr;
	size_t i, n;

	if (meta == NULL || !json_object_object_get_ex(meta, "groups", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return 0;
	n = json_object_array_length(arr);
	a->groups = calloc(n + 1, sizeof(char *));
	if (a->groups == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(arr, i);
		const char *s =
			json_object_is_type(g, json_type_string) ? json_object_get_string(g) : NULL;

		/* Invalid or repeated names are dropped: they could not name a Unix group. */
		if (!gotrue_idmap_valid_name(s) || gotrue_strv_contains(a->groups, s))
			continue;
		a->groups[a->n_groups] = strdup(s);
		if (a->groups[a->n_groups] == NULL)
			return -1;
		a->n_groups++;
	}
	return 0;
}

int gotrue_idmap_user(const struct gotrue_config *cfg, const struct gotrue_user *u,
		      struct gotrue_account *out, char *why, size_t why_len)
{
	struct gotrue_account a = {0};
	json_object *meta = u->app_metadata, *o;
	const char *gecos;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (u->id == NULL || meta == NULL || !json_object_is_type(meta, json_type_object)) {
		set_why(why, why_len, "no user id or app_metadata");
		goto cleanup;
	}
	if (pick_name(cfg, u, &a.name, why, why_len) != 0)
		goto cleanup;
	if (json_object_object_get_ex(meta, "uid", &o) && json_object_is_type(o, json_type_int) &&
	    json_object_get_int64(o) >= (int64_t)cfg->uid_min &&
	    json_object_get_int64(o) <= (int64_t)cfg->uid_max)
		a.uid = (uint32_t)json_object_get_int64(o);
	else
		a.uid = gotrue_idmap_derive(cfg->uid_min, cfg->uid_max, "uid", u->id);
	a.gid = a.uid;
	gecos = meta_string(meta, "gecos");
	if (gecos == NULL)
		gecos = meta_string(meta, "full_name");
	a.gecos = clean_gecos(gecos);
	a.home = expand(cfg->home ? cfg->home : "/home/%u", a.name);
	a.shell = strdup(cfg->shell ? cfg->shell : "/bin/bash");
	a.user_id = strdup(u->id);
	a.email = u->email ? strdup(u->email) : NULL;
	a.phone = u->phone ? strdup(u->phone) : NULL;
	a.banned_until = u->banned_until;
	a.created_at = u->created_at;
	if (!a.gecos || !a.home || !a.shell || !a.user_id || (u->email && !a.email) ||
	    (u->phone && !a.phone) || pick_groups(meta, &a) != 0) {
		set_why(why, why_len, "out of memory");
		goto cleanup;
	}
	*out = a;
	memset(&a, 0, sizeof(a));
	rc = 0;
cleanup:
	gotrue_account_clear(&a);
	return rc;
}

/* --- Sets ---------------------------------------------------------------------------------- */

struct gotrue_idmap *gotrue_idmap_new(const struct gotrue_config *cfg, const char *passwd_path,
				      const char *group_path)
{
	struct gotrue_idmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->cfg = cfg;
	m->passwd_path = passwd_path ? passwd_path : "/etc/passwd";
	m->group_path = group_path ? group_path : "/etc/group";
	return m;
}

static void groups_free(struct gotrue_idmap *m)
{
	size_t i, k;

	for (i = 0; i < m->n_groups; i++) {
		free(m->groups[i].name);
		for (k = 0; k < m->groups[i].n_members; k++)
			free(m->groups[i].members[k]);
		free(m->groups[i].members);
	}
	free(m->groups);
	m->groups = NULL;
	m->n_groups = 0;
}

void gotrue_idmap_free(struct gotrue_idmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n_accounts; i++)
		gotrue_account_clear(&m->accounts[i]);
	free(m->accounts);
	groups_free(m);
	for (i = 0; i < m->n_left_out; i++) {
		free(m->left_out[i].what);
		free(m->left_out[i].id);
		free(m->left_out[i].name);
		free(m->left_out[i].reason);
	}
	free(m->left_out);
	free(m);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static int left_out(struct gotrue_idmap *m, const char *what, const char *id, const char *name,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int left_out(struct gotrue_idmap *m, const char *what, const char *id, const char *name,
		    const char *fmt, ...)
{
	struct gotrue_left_out *l;
	char reason[256];
	va_list ap;

	if (grow((void **)&m->left_out, &m->cap_left_out, m->n_left_out + 1, sizeof(*l)) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	l = &m->left_out[m->n_left_out];
	l->what = strdup(what);
	l->id = strdup(id ? id : "");
	l->name = name ? strdup(name) : NULL;
	l->reason = strdup(reason);
	m->n_left_out++;
	if (!l->what || !l->id || (name && !l->name) || !l->reason)
		return -1;
	return 0;
}

int gotrue_idmap_add_account(struct gotrue_idmap *m, struct gotrue_account *a)
{
	if (grow((void **)&m->accounts, &m->cap_accounts, m->n_accounts + 1, sizeof(*a)) != 0)
		return -1;
	m->accounts[m->n_accounts++] = *a;
	memset(a, 0, sizeof(*a));
	m->n_seen++;
	return 0;
}

int gotrue_idmap_add_user(struct gotrue_idmap *m, const struct gotrue_user *u)
{
	struct gotrue_account a;
	char why[128];

	if (gotrue_idmap_user(m->cfg, u, &a, why, sizeof(why)) != 0) {
		m->n_seen++;
		return left_out(m, "user", u->id, NULL, "%s", why);
	}
	return gotrue_idmap_add_account(m, &a);
}

void gotrue_idmap_remove_id(struct gotrue_idmap *m, const char *user_id)
{
	size_t i = 0;

	while (i < m->n_accounts) {
		if (strcmp(m->accounts[i].user_id, user_id) == 0) {
			gotrue_account_clear(&m->accounts[i]);
			m->accounts[i] = m->accounts[--m->n_accounts];
			m->n_seen--;
		} else {
			i++;
		}
	}
}

/* A sorted table of names and ids, for the local files and for what is already taken. */
struct taken {
	char *name;
	uint32_t id;
};

struct table {
	struct taken *v;
	size_t n, cap;
};

static int table_add(struct table *t, const char *name, uint32_t id)
{
	if (grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)) != 0)
		return -1;
	t->v[t->n].name = name ? strdup(name) : NULL;
	t->v[t->n].id = id;
	if (name && !t->v[t->n].name)
		return -1;
	t->n++;
	return 0;
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
}

/* Linear lookups are fine here: sync runs rarely and local files are short; the sets built from
 * GoTrue use the sorted helpers below. */
static const struct taken *table_name(const struct table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].name && strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	}
	return NULL;
}

static bool table_id(const struct table *t, uint32_t id)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].id == id)
			return true;
	}
	return false;
}

static int read_local(const struct gotrue_idmap *m, struct table *pw, struct table *gr)
{
	struct passwd *p;
	struct group *g;
	FILE *f = NULL;
	int rc = -1;

	f = fopen(m->passwd_path, "re");
	if (f == NULL)
		goto cleanup;
	while ((p = fgetpwent(f)) != NULL) {
		if (table_add(pw, p->pw_name, (uint32_t)p->pw_uid) != 0)
			goto cleanup;
	}
	fclose(f);
	f = fopen(m->group_path, "re");
	if (f == NULL)
		goto cleanup;
	while ((g = fgetgrent(f)) != NULL) {
		if (table_add(gr, g->gr_name, (uint32_t)g->gr_gid) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (f != NULL)
		fclose(f);
	return rc;
}

static int by_age(const void *x, const void *y)
{
	const struct gotrue_account *a = x, *b = y;

	if (a->created_at != b->created_at)
		return a->created_at < b->created_at ? -1 : 1;
	return strcmp(a->user_id, b->user_id);
}

/* Sorted name and id sets of the accepted users, searched with bsearch. */
struct key {
	const char *name;
	uint32_t id;
	size_t idx;
};

static int key_name_cmp(const void *x, const void *y)
{
	return strcmp(((const struct key *)x)->name, ((const struct key *)y)->name);
}

static int key_id_cmp(const void *x, const void *y)
{
	uint32_t a = ((const struct key *)x)->id, b = ((const struct key *)y)->id;

	return (a > b) - (a < b);
}

static int add_member(struct gotrue_idmap_group *g, const char *name)
{
	size_t n = g->n_members;
	char **nm;

	/* Capacity doubles at each power of two (implied by n_members, the struct has no cap
	 * field): growing by one made a group of k members cost O(k^2) copies, which dominated a
	 * 100k-user sync. */
	if (n == 0 || (n & (n - 1)) == 0) {
		nm = realloc(g->members, (n ? 2 * n : 1) * sizeof(char *));
		if (nm == NULL)
			return -1;
		g->members = nm;
	}
	g->members[g->n_members] = strdup(name);
	if (g->members[g->n_members] == NULL)
		return -1;
	g->n_members++;
	return 0;
}

static struct gotrue_idmap_group *find_group(struct gotrue_idmap *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_groups; i++) {
		if (strcmp(m->groups[i].name, name) == 0)
			return &m->groups[i];
	}
	return NULL;
}

/* Decide each group name once: local (gid from /etc/group), derived (own entry), or refused. */
static int settle_group(struct gotrue_idmap *m, const char *name, const struct table *lpw,
			const struct table *lgr, const struct key *names, const struct key *ids,
			size_t n_keys, size_t *n_refused_out)
{
	struct gotrue_idmap_group g = {0}, *ng;
	const struct taken *lg = table_name(lgr, name);
	struct key k = {.name = name};
	size_t i;
	int rc = -1;
	const char *why = NULL;

	g.name = strdup(name);
	if (g.name == NULL)
		goto cleanup;
	if (gotrue_strv_contains(m->cfg->local_groups, name)) {
		if (lg == NULL)
			why = "listed in local_groups but not in the local group file";
		g.gid = lg ? lg->id : 0;
		g.local = true;
	} else if (lg != NULL) {
		why = "clashes with a local group (add it to local_groups to map it)";
	} else if (bsearch(&k, names, n_keys, sizeof(*names), key_name_cmp) != NULL ||
		   table_name(lpw, name) != NULL) {
		why = "clashes with a user's private group";
	} else {
		g.gid = gotrue_idmap_derive(m->cfg->uid_min, m->cfg->uid_max, "group", name);
		k.id = g.gid;
		if (bsearch(&k, ids, n_keys, sizeof(*ids), key_id_cmp) != NULL ||
		    table_id(lpw, g.gid) || table_id(lgr, g.gid))
			why = "derived gid clashes with a uid or local gid";
		for (i = 0; why == NULL && i < m->n_groups; i++) {
			if (!m->groups[i].local && m->groups[i].gid == g.gid)
				why = "derived gid clashes with another group";
		}
	}
	if (why != NULL) {
		/* Remember the refusal (gid 0, local) so that each group is reported once. */
		(*n_refused_out)++;
		if (left_out(m, "group", name, NULL, "%s", why) != 0)
			goto cleanup;
		g.local = true;
		g.gid = (uint32_t)-1;
	}
	ng = realloc(m->groups, (m->n_groups + 1) * sizeof(*ng));
	if (ng == NULL)
		goto cleanup;
	m->groups = ng;
	m->groups[m->n_groups++] = g;
	memset(&g, 0, sizeof(g));
	rc = 0;
cleanup:
	free(g.name);
	return rc;
}

static int key_name_age_cmp(const void *x, const void *y)
{
	const struct key *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

static int key_id_age_cmp(const void *x, const void *y)
{
	const struct key *a = x, *b = y;
	int c = key_id_cmp(x, y);

	return c ? c : (a->idx > b->idx) - (a->idx < b->idx);
}

/* Leave out every account that shares its key with an older one. @keys is sorted by (key, age). */
static int drop_later(struct gotrue_idmap *m, struct key *keys, size_t n, bool by_name)
{
	size_t i;

	for (i = 1; i < n; i++) {
		const struct key *first = &keys[i - 1];
		struct gotrue_account *a = &m->accounts[keys[i].idx];
		bool same =
			by_name ? strcmp(first->name, keys[i].name) == 0 : first->id == keys[i].id;

		if (!same)
			continue;
		/* Keep pointing at the oldest holder for the rest of the run. */
		keys[i].name = first->name;
		keys[i].idx = first->idx;
		if (left_out(m, "user", a->user_id, a->name, "%s collides with an earlier user: %s",
			     by_name ? "name" : "uid", m->accounts[first->idx].name) != 0)
			return -1;
		gotrue_account_clear(a);
	}
	return 0;
}

/* Fill @keys with the accepted accounts (name != NULL). */
static size_t collect(const struct gotrue_idmap *m, struct key *keys)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_accounts; i++) {
		if (m->accounts[i].name == NULL)
			continue;
		keys[n].name = m->accounts[i].name;
		keys[n].id = m->accounts[i].uid;
		keys[n].idx = i;
		n++;
	}
	return n;
}

int gotrue_idmap_resolve(struct gotrue_idmap *m)
{
	struct table lpw = {0}, lgr = {0};
	struct key *names = NULL, *ids = NULL;
	size_t i, j, n, n_refused = 0, k;
	int rc = -1;

	groups_free(m);
	if (read_local(m, &lpw, &lgr) != 0)
		goto cleanup;
	/* Oldest first (created_at, then id): a later user never displaces an earlier one, and the
	 * outcome does not depend on the order the server listed them in. */
	qsort(m->accounts, m->n_accounts, sizeof(*m->accounts), by_age);
	names = calloc(m->n_accounts + 1, sizeof(*names));
	ids = calloc(m->n_accounts + 1, sizeof(*ids));
	if (names == NULL || ids == NULL)
		goto cleanup;
	for (i = 0; i < m->n_accounts; i++) {
		struct gotrue_account *a = &m->accounts[i];
		const char *why = NULL;

		if (table_name(&lpw, a->name) != NULL)
			why = "name clashes with a local user";
		else if (table_name(&lgr, a->name) != NULL)
			why = "name clashes with a local group";
		else if (table_id(&lpw, a->uid) || table_id(&lgr, a->uid))
			why = "uid clashes with a local uid or gid";
		if (why != NULL) {
			if (left_out(m, "user", a->user_id, a->name, "%s", why) != 0)
				goto cleanup;
			gotrue_account_clear(a);
		}
	}
	n = collect(m, names);
	qsort(names, n, sizeof(*names), key_name_age_cmp);
	if (drop_later(m, names, n, true) != 0)
		goto cleanup;
	n = collect(m, ids);
	qsort(ids, n, sizeof(*ids), key_id_age_cmp);
	if (drop_later(m, ids, n, false) != 0)
		goto cleanup;
	n = collect(m, names);
	qsort(names, n, sizeof(*names), key_name_cmp);
	collect(m, ids);
	qsort(ids, n, sizeof(*ids), key_id_cmp);

	/* Groups, in the same order, so that derived-gid ties go to the group met first. */
	for (i = 0; i < m->n_accounts; i++) {
		struct gotrue_account *a = &m->accounts[i];

		if (a->name == NULL)
			continue;
		for (j = 0; j < a->n_groups; j++) {
			struct gotrue_idmap_group *g = find_group(m, a->groups[j]);

			if (g == NULL) {
				if (settle_group(m, a->groups[j], &lpw, &lgr, names, ids, n,
						 &n_refused) != 0)
					goto cleanup;
				g = &m->groups[m->n_groups - 1];
			}
			if (g->gid != (uint32_t)-1 && add_member(g, a->name) != 0)
				goto cleanup;
		}
	}
	/* Compact: accepted accounts only, in order. */
	for (i = 0, k = 0; i < m->n_accounts; i++) {
		if (m->accounts[i].name != NULL)
			m->accounts[k++] = m->accounts[i];
	}
	m->n_accounts = k;
	rc = 0;
cleanup:
	free(names);
	free(ids);
	table_free(&lpw);
	table_free(&lgr);
	return rc;
}

int gotrue_idmap_to_cache(const struct gotrue_idmap *m, struct gotrue_cache_builder *b)
{
	uint32_t *gids = NULL;
	size_t i, j, n;
	int rc = -1;

	for (i = 0; i < m->n_accounts; i++) {
		const struct gotrue_account *a = &m->accounts[i];

		free(gids);
		gids = calloc(a->n_groups + 1, sizeof(uint32_t));
		if (gids == NULL)
			goto cleanup;
		for (j = 0, n = 0; j < a->n_groups; j++) {
			size_t g;

			for (g = 0; g < m->n_groups; g++) {
				if (strcmp(m->groups[g].name, a->groups[j]) == 0 &&
				    m->groups[g].gid != (uint32_t)-1)
					gids[n++] = m->groups[g].gid;
			}
		}
		if (gotrue_cache_builder_add_user(b, a->name, a->uid, a->gid, a->gecos, a->home,
						  a->shell, gids, n) != 0)
			goto cleanup;
		/* The private group: gid = uid; members empty, as useradd(8) leaves them. */
		if (gotrue_cache_builder_add_group(b, a->name, a->gid, NULL, 0) != 0)
			goto cleanup;
	}
	for (i = 0; i < m->n_groups; i++) {
		const struct gotrue_idmap_group *g = &m->groups[i];

		if (g->local || g->gid == (uint32_t)-1)
			continue;
		if (gotrue_cache_builder_add_group(
			    b, g->name, g->gid, (const char *const *)g->members, g->n_members) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(gids);
	return rc;
}
