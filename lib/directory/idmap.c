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
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "array.h"
#include "idmap.h"
#include "owner.h"

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

/* --- Where a mapped account's strings go ----------------------------------------------------
 * A standalone account (gotrue_idmap_user, PAM) owns malloc'd strings, released with
 * gotrue_account_clear(). An account inside a set is one of 100k: its strings are carved out of
 * the set's pool, a list of large blocks freed at once, and the strings that repeat across
 * users (shell, group names, empty GECOS) are stored once. A sync of 100k users made a dozen
 * small allocations per user that outlived every page, interleaved with the page's transient
 * JSON nodes; the heap fragmented and malloc/free/consolidate became the largest cost.
 * Hand-written rather than obstack so that the blocks come straight from mmap(2): freeing the
 * set then gives its memory back to the kernel before the cache image is built (malloc would
 * keep it in a heap that the builder's strings pin), and munmap'd pages, emails included, are
 * never seen again by anyone, without a wipe. */

#define POOL_BLOCK (1024u * 1024)

struct pool_block {
	struct pool_block *next;
	size_t used, cap;
	max_align_t data[];
};

/* Open addressing, linear probing, power-of-two size kept at most half full, from a string or a
 * uint32_t key to a uint32_t value. Hand-written: hsearch(3) has one table per process (and
 * hsearch_r neither grows nor deletes) and json-c's lh_table allocates per entry. */
struct hslot {
	const char *name; /* string key (not owned), or NULL for a uint32_t key */
	uint32_t id;	  /* uint32_t key */
	uint32_t val1;	  /* value + 1; 0 = empty slot */
};

struct htab {
	struct hslot *s;
	size_t cap, n;
};

struct gotrue_idmap_state {
	struct pool_block *blocks;
	/* gotrue_idmap_cache_ahead's builder; the set frees it unless it was taken. */
	struct gotrue_cache_builder *ahead;
	bool ahead_taken;
	struct htab interned; /* pool strings stored once: value unused */
	struct htab by_group; /* group name -> index in groups, after resolve */
	size_t cap_groups;
	struct gotrue_prefault_mark accounts_pf;
	/* gotrue_idmap_check_owners: who else holds a name (owner.h); NULL: nobody is asked. */
	struct gotrue_owners *owners;
	/* The last index's holders (gotrue_idmap_holders_from): name and uid -> index in
	 * held_ids, the user ids (pool strings). Loaded at the first contest, if ever. */
	struct htab held_names, held_uids;
	const char **held_ids;
	size_t n_held, cap_held;
	int (*load_holders)(void *ctx, struct gotrue_idmap *m);
	void *load_ctx;
	int holders_state; /* 0 not read yet, 1 read, -1 could not be read */
};

/* @len bytes aligned to @align (a power of two): 1 for strings, which are most of the pool. */
static void *pool_alloc(struct gotrue_idmap_state *st, size_t len, size_t align)
{
	struct pool_block *b = st->blocks;
	size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0, cap;
	void *p;

	if (b == NULL || at > b->cap || b->cap - at < len) {
		if (len > SIZE_MAX / 2)
			return NULL;
		cap = len + sizeof(*b) > POOL_BLOCK ? len + sizeof(*b) : POOL_BLOCK;
		b = mmap(NULL, cap, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (b == MAP_FAILED)
			return NULL;
		cap -= sizeof(*b);
		b->used = 0;
		b->cap = cap;
		b->next = st->blocks;
		st->blocks = b;
		at = 0;
	}
	p = (char *)b->data + at;
	b->used = at + len;
	return p;
}

static void pool_free(struct gotrue_idmap_state *st)
{
	struct pool_block *b, *next;

	for (b = st->blocks; b != NULL; b = next) {
		next = b->next;
		munmap(b, sizeof(*b) + b->cap);
	}
	st->blocks = NULL;
}

/* Zeroed memory for resolve's large transient arrays (the 100k-entry hash tables, the sort
 * keys): from mmap(2) with MAP_POPULATE, not calloc, so that a table of megabytes is mapped in
 * one call instead of being faulted in one page at a time on the sync's tail. Small sizes stay
 * with calloc. @len must be the same at big_free. */
#define BIG_ALLOC (256u * 1024)

static void *big_zalloc(size_t len)
{
	void *p;

	if (len < BIG_ALLOC)
		return calloc(1, len);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		 0);
	return p == MAP_FAILED ? NULL : p;
}

static void big_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	if (len < BIG_ALLOC)
		free(p);
	else
		munmap(p, len);
}

/* FNV-1a: short keys, no adversary that gains from collisions beyond a slower sync. */
static size_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return (size_t)(h ^ (h >> 29));
}

static size_t hash_id(uint32_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 17);
}

static size_t hslot_hash(const struct hslot *e)
{
	return e->name ? hash_str(e->name) : hash_id(e->id);
}

/* The slot holding @name (or @id when @name is NULL), or the empty slot where it would go. */
static struct hslot *htab_slot(const struct htab *t, const char *name, uint32_t id)
{
	size_t i = (name ? hash_str(name) : hash_id(id)) & (t->cap - 1);

	for (;; i = (i + 1) & (t->cap - 1)) {
		struct hslot *e = &t->s[i];

		if (e->val1 == 0 ||
		    (name ? e->name && strcmp(e->name, name) == 0 : e->name == NULL && e->id == id))
			return e;
	}
}

static int htab_reserve(struct htab *t, size_t more)
{
	struct hslot *old = t->s;
	size_t old_cap = t->cap, ncap = t->cap ? t->cap : 64, i, j;

	while ((t->n + more) * 2 > ncap)
		ncap *= 2;
	if (ncap == t->cap)
		return 0;
	if (ncap > SIZE_MAX / sizeof(*t->s)) {
		t->s = old;
		return -1;
	}
	t->s = big_zalloc(ncap * sizeof(*t->s));
	if (t->s == NULL) {
		t->s = old;
		return -1;
	}
	t->cap = ncap;
	for (i = 0; i < old_cap; i++) {
		if (old[i].val1 == 0)
			continue;
		for (j = hslot_hash(&old[i]) & (ncap - 1); t->s[j].val1 != 0;
		     j = (j + 1) & (ncap - 1))
			;
		t->s[j] = old[i];
	}
	big_free(old, old_cap * sizeof(*old));
	return 0;
}

static const struct hslot *htab_find(const struct htab *t, const char *name, uint32_t id)
{
	const struct hslot *e;

	if (t->n == 0)
		return NULL;
	e = htab_slot(t, name, id);
	return e->val1 ? e : NULL;
}

/* Insert @name (or @id) -> @val unless present. The stored slot (new or old) in *@out, may be
 * NULL. 0 or -1 (ENOMEM). */
static int htab_put(struct htab *t, const char *name, uint32_t id, uint32_t val,
		    const struct hslot **out)
{
	struct hslot *e;

	if (htab_reserve(t, 1) != 0)
		return -1;
	e = htab_slot(t, name, id);
	if (e->val1 == 0) {
		e->name = name;
		e->id = id;
		e->val1 = val + 1;
		t->n++;
	}
	if (out != NULL)
		*out = e;
	return 0;
}

static void htab_free(struct htab *t)
{
	big_free(t->s, t->cap * sizeof(*t->s));
	memset(t, 0, sizeof(*t));
}

/* A copy of @s[0..@len) in the pool, or malloc'd when there is no pool. */
static char *str_copy(struct gotrue_idmap_state *st, const char *s, size_t len)
{
	char *p = st ? pool_alloc(st, len + 1, 1) : malloc(len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* As str_copy, but a string already in the pool is shared, not copied again. */
static char *str_intern(struct gotrue_idmap_state *st, const char *s)
{
	const struct hslot *e;
	char *p;

	if (st == NULL)
		return strdup(s);
	e = htab_find(&st->interned, s, 0);
	if (e != NULL)
		return (char *)e->name;
	p = str_copy(st, s, strlen(s));
	if (p == NULL || htab_put(&st->interned, p, 0, 0, NULL) != 0)
		return NULL;
	return p;
}

/* A zeroed, NULL-terminated array of @n strings (n + 1 slots), in the pool when there is one. */
static char **strv_new(struct gotrue_idmap_state *st, size_t n)
{
	char **v;

	if (n >= SIZE_MAX / sizeof(char *))
		return NULL;
	if (st == NULL)
		return calloc(n + 1, sizeof(char *));
	v = pool_alloc(st, (n + 1) * sizeof(char *), _Alignof(char *));
	if (v != NULL)
		memset(v, 0, (n + 1) * sizeof(char *));
	return v;
}

/* --- One user ---------------------------------------------------------------------------- */

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
 * (':' ',' '=' and control characters) and cap the length. @out has GOTRUE_GECOS_MAX + 1 bytes. */
static void clean_gecos(const char *in, char *out)
{
	size_t n = 0;

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
}

/* "%u" -> the login name, "%%" -> "%"; anything else is copied. */
static char *expand(struct gotrue_idmap_state *st, const char *tmpl, const char *name)
{
	size_t cap = strlen(tmpl) + 1, n = 0, name_len = strlen(name);
	const char *p;
	char *out;

	for (p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 'u')
			cap += name_len;
	}
	out = st ? pool_alloc(st, cap, 1) : malloc(cap);
	if (out == NULL)
		return NULL;
	for (p = tmpl; *p; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			memcpy(out + n, name, name_len);
			n += name_len;
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

/* The login name from app_metadata.username (*@by_admin set), else from the email when its
 * domain is listed and the address is confirmed: anyone can sign up as jdoe@ a listed domain,
 * and only the confirmation shows that they own that mailbox. */
static int pick_name(struct gotrue_idmap_state *st, const struct gotrue_config *cfg,
		     const struct gotrue_user *u, char **out, bool *by_admin, char *why,
		     size_t why_len)
{
	const char *username = meta_string(u->app_metadata, "username");
	const char *at = u->email != NULL ? strrchr(u->email, '@') : NULL;
	bool listed = at != NULL && domain_listed(cfg->email_domains, at + 1);
	char *name = NULL;
	size_t i;
	int rc = -1;

	*by_admin = username != NULL;
	if (username != NULL) {
		/* Validated before it is copied: a set keeps no copy of a refused name. */
		if (!gotrue_idmap_valid_name(username)) {
			set_why(why, why_len, "invalid login name");
			goto cleanup;
		}
		name = str_copy(st, username, strlen(username));
	} else if (listed && gotrue_user_email_confirmed(u)) {
		name = str_copy(st, u->email, (size_t)(at - u->email));
		for (i = 0; name != NULL && name[i]; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
	} else if (listed) {
		set_why(why, why_len, "email not confirmed and no app_metadata.username");
		goto cleanup;
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
	if (st == NULL)
		free(name);
	return rc;
}

static int pick_groups(struct gotrue_idmap_state *st, json_object *meta, struct gotrue_account *a)
{
	json_object *arr;
	size_t i, n;

	if (meta == NULL || !json_object_object_get_ex(meta, "groups", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return 0;
	n = json_object_array_length(arr);
	a->groups = strv_new(st, n);
	if (a->groups == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		json_object *g = json_object_array_get_idx(arr, i);
		const char *s =
			json_object_is_type(g, json_type_string) ? json_object_get_string(g) : NULL;

		/* Invalid or repeated names are dropped: they could not name a Unix group. */
		if (!gotrue_idmap_valid_name(s) || gotrue_strv_contains(a->groups, s))
			continue;
		a->groups[a->n_groups] = str_intern(st, s);
		if (a->groups[a->n_groups] == NULL)
			return -1;
		a->n_groups++;
	}
	return 0;
}

/* gotrue_idmap_user, with the strings in @st's pool when @st is not NULL. */
static int map_user(struct gotrue_idmap_state *st, const struct gotrue_config *cfg,
		    const struct gotrue_user *u, struct gotrue_account *out, char *why,
		    size_t why_len)
{
	struct gotrue_account a = {0};
	json_object *meta = u->app_metadata, *o;
	const char *gecos;
	char clean[GOTRUE_GECOS_MAX + 1];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (u->id == NULL || meta == NULL || !json_object_is_type(meta, json_type_object)) {
		set_why(why, why_len, "no user id or app_metadata");
		goto cleanup;
	}
	if (pick_name(st, cfg, u, &a.name, &a.admin_name, why, why_len) != 0)
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
	clean_gecos(gecos, clean);
	a.gecos = clean[0] == '\0' ? str_intern(st, clean) : str_copy(st, clean, strlen(clean));
	a.home = expand(st, cfg->home ? cfg->home : "/home/%u", a.name);
	a.shell = str_intern(st, cfg->shell ? cfg->shell : "/bin/bash");
	a.user_id = str_copy(st, u->id, strlen(u->id));
	a.email = u->email ? str_copy(st, u->email, strlen(u->email)) : NULL;
	a.phone = u->phone ? str_copy(st, u->phone, strlen(u->phone)) : NULL;
	a.banned_until = u->banned_until;
	a.created_at = u->created_at;
	a.mfa = gotrue_user_has_verified_factor(u);
	a.mfa_known = u->factors_known;
	if (!a.gecos || !a.home || !a.shell || !a.user_id || (u->email && !a.email) ||
	    (u->phone && !a.phone) || pick_groups(st, meta, &a) != 0) {
		set_why(why, why_len, "out of memory");
		goto cleanup;
	}
	*out = a;
	memset(&a, 0, sizeof(a));
	rc = 0;
cleanup:
	/* In a pool, a half-mapped account's strings are released with the set. */
	if (st == NULL)
		gotrue_account_clear(&a);
	return rc;
}

bool gotrue_idmap_admitted(const struct gotrue_config *cfg, char *const *groups, size_t n)
{
	size_t i;

	/* allow_all_users never widens a list: it only gives an empty one a meaning. */
	if (cfg->allow_groups == NULL || cfg->allow_groups[0] == NULL)
		return cfg->allow_all_users;
	for (i = 0; i < n; i++) {
		if (gotrue_strv_contains(cfg->allow_groups, groups[i]))
			return true;
	}
	return false;
}

int gotrue_idmap_user(const struct gotrue_config *cfg, const struct gotrue_user *u,
		      struct gotrue_account *out, char *why, size_t why_len)
{
	return map_user(NULL, cfg, u, out, why, why_len);
}

/* --- Sets ---------------------------------------------------------------------------------- */

struct gotrue_idmap *gotrue_idmap_new(const struct gotrue_config *cfg, const char *passwd_path,
				      const char *group_path)
{
	struct gotrue_idmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->st = calloc(1, sizeof(*m->st));
	if (m->st == NULL) {
		free(m);
		return NULL;
	}
	m->cfg = cfg;
	m->passwd_path = passwd_path ? passwd_path : "/etc/passwd";
	m->group_path = group_path ? group_path : "/etc/group";
	return m;
}

/* Group and member names point into the pool: only the arrays are the groups' own. */
static void groups_free(struct gotrue_idmap *m)
{
	size_t i;

	for (i = 0; i < m->n_groups; i++) {
		free(m->groups[i].members);
		free(m->groups[i].member_at);
	}
	free(m->groups);
	m->groups = NULL;
	m->n_groups = 0;
	m->st->cap_groups = 0;
	htab_free(&m->st->by_group);
}

void gotrue_idmap_free(struct gotrue_idmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	groups_free(m);
	free(m->accounts);
	htab_free(&m->st->interned);
	gotrue_owners_free(m->st->owners);
	htab_free(&m->st->held_names);
	htab_free(&m->st->held_uids);
	free(m->st->held_ids);
	if (!m->st->ahead_taken)
		gotrue_cache_builder_free(m->st->ahead);
	pool_free(m->st);
	free(m->st);
	for (i = 0; i < m->n_left_out; i++) {
		free(m->left_out[i].what);
		free(m->left_out[i].id);
		free(m->left_out[i].name);
		free(m->left_out[i].reason);
	}
	free(m->left_out);
	free(m);
}

static int left_out(struct gotrue_idmap *m, const char *what, const char *id, const char *name,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int left_out(struct gotrue_idmap *m, const char *what, const char *id, const char *name,
		    const char *fmt, ...)
{
	struct gotrue_left_out *l;
	char reason[256];
	va_list ap;

	if (gotrue_grow((void **)&m->left_out, &m->cap_left_out, m->n_left_out + 1, sizeof(*l)) !=
	    0)
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

/* Append a pool-backed account. */
static int keep(struct gotrue_idmap *m, const struct gotrue_account *a)
{
	if (gotrue_grow((void **)&m->accounts, &m->cap_accounts, m->n_accounts + 1, sizeof(*a)) !=
	    0)
		return -1;
	m->accounts[m->n_accounts++] = *a;
	m->n_seen++;
	/* 100k accounts are 13 MB, faulted in one page at a time otherwise. */
	gotrue_prefault_ahead(&m->st->accounts_pf, m->accounts, m->n_accounts * sizeof(*a),
			      m->cap_accounts * sizeof(*a));
	return 0;
}

int gotrue_idmap_add_account(struct gotrue_idmap *m, struct gotrue_account *a)
{
	struct gotrue_idmap_state *st = m->st;
	struct gotrue_account c = *a;
	size_t i;
	int rc = -1;

	/* Copied into the pool, then the caller's malloc'd copy is released ("moved in"). */
	if (a->name == NULL || a->user_id == NULL)
		goto cleanup;
	c.name = str_copy(st, a->name, strlen(a->name));
	c.gecos = a->gecos && *a->gecos ? str_copy(st, a->gecos, strlen(a->gecos))
					: str_intern(st, "");
	c.home = str_copy(st, a->home ? a->home : "", a->home ? strlen(a->home) : 0);
	c.shell = str_intern(st, a->shell ? a->shell : "");
	c.user_id = str_copy(st, a->user_id, strlen(a->user_id));
	c.email = a->email ? str_copy(st, a->email, strlen(a->email)) : NULL;
	c.phone = a->phone ? str_copy(st, a->phone, strlen(a->phone)) : NULL;
	/* Offsets belong to the set (and lines) that made them. */
	c.cache_ahead = false;
	c.line_at = c.line_len = 0;
	c.groups = strv_new(st, a->n_groups);
	if (!c.name || !c.gecos || !c.home || !c.shell || !c.user_id || (a->email && !c.email) ||
	    (a->phone && !c.phone) || !c.groups)
		goto cleanup;
	for (i = 0; i < a->n_groups; i++) {
		c.groups[i] = str_intern(st, a->groups[i]);
		if (c.groups[i] == NULL)
			goto cleanup;
	}
	rc = keep(m, &c);
cleanup:
	gotrue_account_clear(a);
	return rc;
}

int gotrue_idmap_cache_ahead(struct gotrue_idmap *m)
{
	if (m->st->ahead == NULL && !m->st->ahead_taken)
		m->st->ahead = gotrue_cache_builder_new();
	return m->st->ahead != NULL ? 0 : -1;
}

struct gotrue_cache_builder *gotrue_idmap_take_builder(struct gotrue_idmap *m)
{
	if (m->st->ahead == NULL || m->st->ahead_taken)
		return gotrue_cache_builder_new();
	m->st->ahead_taken = true;
	return m->st->ahead;
}

int gotrue_idmap_check_owners(struct gotrue_idmap *m, const char *cache_path, bool whole)
{
	gotrue_owners_free(m->st->owners);
	m->st->owners = gotrue_owners_new(cache_path, NULL, whole);
	return m->st->owners != NULL ? 0 : -1;
}

/* Why @name, which NSS resolves to some other source's account, is not ours to publish, or NULL
 * (owner.h). Only users fresh from the server are asked, and only admitted ones: accounts read
 * back from the index passed this at the sync that wrote them, and a login's one-user update
 * must not cost one NSS lookup per account of the host. What a whole sync pays for it is in
 * lib/directory/owner.c. */
static const char *foreign_name(struct gotrue_idmap *m, const char *name)
{
	const char *why = NULL;

	if (m->st->owners == NULL)
		return NULL;
	switch (gotrue_owners_of(m->st->owners, name)) {
	case GOTRUE_OWNER_NONE:
	case GOTRUE_OWNER_OURS:
		break;
	case GOTRUE_OWNER_ERROR:
		why = "cannot tell whether another account source holds the name (NSS failed)";
		break;
	case GOTRUE_OWNER_OTHER:
		why = "name belongs to another account source";
		break;
	}
	return why;
}

int gotrue_idmap_add_user(struct gotrue_idmap *m, const struct gotrue_user *u)
{
	struct gotrue_cache_builder *b = m->st->ahead_taken ? NULL : m->st->ahead;
	struct gotrue_account a;
	const char *why_s;
	char why[128];

	if (map_user(m->st, m->cfg, u, &a, why, sizeof(why)) != 0) {
		m->n_seen++;
		return left_out(m, "user", u->id, NULL, "%s", why);
	}
	/* Not a Unix user of this host, and not a problem to report one by one: a project's
	 * customers outnumber its staff. Nothing of it reaches the cache or the index. */
	if (!gotrue_idmap_admitted(m->cfg, a.groups, a.n_groups)) {
		m->n_seen++;
		m->n_not_admitted++;
		return 0;
	}
	why_s = foreign_name(m, a.name);
	if (why_s != NULL) {
		m->n_seen++;
		return left_out(m, "user", u->id, a.name, "%s", why_s);
	}
	/* Interned now, used if the account is kept; a user left out later leaves strings that
	 * the builder zeroes at finish. */
	if (b != NULL) {
		if (gotrue_cache_builder_intern(b, a.name, &a.cache_at[0]) != 0 ||
		    gotrue_cache_builder_intern(b, a.gecos, &a.cache_at[1]) != 0 ||
		    gotrue_cache_builder_intern(b, a.home, &a.cache_at[2]) != 0 ||
		    gotrue_cache_builder_intern(b, a.shell, &a.cache_at[3]) != 0)
			return -1;
		a.cache_ahead = true;
	}
	return keep(m, &a);
}

void gotrue_idmap_holders_from(struct gotrue_idmap *m,
			       int (*load)(void *ctx, struct gotrue_idmap *m), void *ctx)
{
	m->st->load_holders = load;
	m->st->load_ctx = ctx;
	m->st->holders_state = 0;
}

int gotrue_idmap_add_holder(struct gotrue_idmap *m, const char *name, uint32_t uid,
			    const char *user_id)
{
	struct gotrue_idmap_state *st = m->st;
	char *n = str_copy(st, name, strlen(name)), *id = str_copy(st, user_id, strlen(user_id));
	uint32_t at = (uint32_t)st->n_held;

	/* An index has each name and uid once; should it not, the first line keeps it. */
	if (n == NULL || id == NULL || st->n_held >= UINT32_MAX - 1 ||
	    gotrue_grow((void **)&st->held_ids, &st->cap_held, st->n_held + 1,
			sizeof(*st->held_ids)) != 0 ||
	    htab_put(&st->held_names, n, 0, at, NULL) != 0 ||
	    htab_put(&st->held_uids, NULL, uid, at, NULL) != 0)
		return -1;
	st->held_ids[st->n_held++] = id;
	return 0;
}

/* The local passwd and group files, indexed: names (with their uid/gid) and every id in use. */
struct local {
	struct htab user_names, group_names, ids;
	char **strings; /* the names the tables point to */
	size_t n_strings, cap_strings;
};

static int local_add(struct local *l, struct htab *names, const char *name, uint32_t id)
{
	char *copy;

	if (gotrue_grow((void **)&l->strings, &l->cap_strings, l->n_strings + 1, sizeof(char *)) !=
	    0)
		return -1;
	copy = strdup(name);
	if (copy == NULL)
		return -1;
	l->strings[l->n_strings++] = copy;
	/* The first line of a name wins, as in nss_files. */
	if (htab_put(names, copy, 0, id, NULL) != 0 || htab_put(&l->ids, NULL, id, 0, NULL) != 0)
		return -1;
	return 0;
}

static void local_free(struct local *l)
{
	size_t i;

	htab_free(&l->user_names);
	htab_free(&l->group_names);
	htab_free(&l->ids);
	for (i = 0; i < l->n_strings; i++)
		free(l->strings[i]);
	free(l->strings);
}

static int read_local(const struct gotrue_idmap *m, struct local *l)
{
	struct passwd *p;
	struct group *g;
	FILE *f = NULL;
	int rc = -1;

	f = fopen(m->passwd_path, "re");
	if (f == NULL)
		goto cleanup;
	while ((p = fgetpwent(f)) != NULL) {
		if (local_add(l, &l->user_names, p->pw_name, (uint32_t)p->pw_uid) != 0)
			goto cleanup;
	}
	fclose(f);
	f = fopen(m->group_path, "re");
	if (f == NULL)
		goto cleanup;
	while ((g = fgetgrent(f)) != NULL) {
		if (local_add(l, &l->group_names, g->gr_name, (uint32_t)g->gr_gid) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (f != NULL)
		fclose(f);
	return rc;
}

/* An account's place in (created_at, user id) order, sorted instead of the accounts themselves.
 * @hi is created_at with its sign bit flipped, so that it orders as unsigned; @lo is the id's
 * first 8 bytes as a big-endian number, zero-padded after its NUL, which orders two ids exactly
 * as strcmp(3) does as far as those bytes go. */
struct age_key {
	uint64_t hi, lo;
	size_t at; /* index in m->accounts */
};

/* qsort_r(3) order of two keys: (created_at, user id), the ids compared whole only when their
 * first 8 bytes tie, then the listing's order (an id listed twice: the first one stays first,
 * whatever qsort's algorithm). */
static int age_cmp(const void *x_, const void *y_, void *ctx)
{
	const struct gotrue_idmap *m = ctx;
	const struct age_key *x = x_, *y = y_;
	int c;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	c = strcmp(m->accounts[x->at].user_id, m->accounts[y->at].user_id);
	if (c != 0)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Sort m->accounts oldest first (created_at, then user id): compact keys sorted with qsort_r(3),
 * then the accounts moved into place along the cycles of the permutation. Sorting the accounts
 * themselves moved a whole account at every step and called strcmp at nearly every comparison
 * (ids decide when created_at ties); a second array of 100k accounts would cost
 * its page faults and the sync's peak. 0 or -1 (ENOMEM). */
static int sort_by_age(struct gotrue_idmap *m)
{
	struct age_key *k;
	struct gotrue_account t;
	size_t i, j, from, n = m->n_accounts, l;

	if (n < 2)
		return 0;
	if (n > SIZE_MAX / sizeof(*k))
		return -1;
	k = big_zalloc(n * sizeof(*k));
	if (k == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *id = m->accounts[i].user_id;

		k[i].hi = (uint64_t)(long long)m->accounts[i].created_at ^ (1ull << 63);
		for (l = 0; l < 8; l++) {
			k[i].lo = k[i].lo << 8 | (unsigned char)id[l];
			if (id[l] == '\0') {
				k[i].lo <<= 8 * (7 - l);
				break;
			}
		}
		k[i].at = i;
	}
	qsort_r(k, n, sizeof(*k), age_cmp, m);
	/* k[i].at: where the account that belongs at i is now; n once slot i is filled. */
	for (i = 0; i < n; i++) {
		if (k[i].at == n || k[i].at == i)
			continue;
		t = m->accounts[i];
		for (j = i; k[j].at != i; j = from) {
			from = k[j].at;
			m->accounts[j] = m->accounts[from];
			k[j].at = n;
		}
		m->accounts[j] = t;
		k[j].at = n;
	}
	big_free(k, n * sizeof(*k));
	return 0;
}

static int add_member(struct gotrue_idmap_group *g, const struct gotrue_account *a)
{
	if (gotrue_grow((void **)&g->members, &g->cap_members, g->n_members + 1, sizeof(char *)) !=
	    0)
		return -1;
	if (g->members_ahead && !a->cache_ahead)
		g->members_ahead = false;
	if (g->members_ahead) {
		if (gotrue_grow((void **)&g->member_at, &g->cap_member_at, g->n_members + 1,
				sizeof(uint32_t)) != 0)
			return -1;
		g->member_at[g->n_members] = a->cache_at[0];
	}
	g->members[g->n_members++] = a->name;
	return 0;
}

/* The accepted account holding @name or @id in @t (which maps keys to their first holder). */
static bool held(const struct gotrue_idmap *m, const struct htab *t, const char *name, uint32_t id)
{
	const struct hslot *e = htab_find(t, name, id);

	return e != NULL && m->accounts[e->val1 - 1].name != NULL;
}

/* Decide each group name once: local (gid from /etc/group), derived (own entry), or refused.
 * @names and @uids map to the accounts first holding them; @gids holds the derived gids so far. */
static int settle_group(struct gotrue_idmap *m, char *name, const struct local *l,
			const struct htab *names, const struct htab *uids, struct htab *gids)
{
	struct gotrue_idmap_group g = {0};
	const struct hslot *lg = htab_find(&l->group_names, name, 0);
	const char *why = NULL;

	g.name = name;
	g.members_ahead = true; /* until a member without an offset joins */
	if (gotrue_strv_contains(m->cfg->local_groups, name)) {
		if (lg == NULL)
			why = "listed in local_groups but not in the local group file";
		g.gid = lg ? lg->val1 - 1 : 0;
		g.local = true;
	} else if (lg != NULL) {
		why = "clashes with a local group (add it to local_groups to map it)";
	} else if (held(m, names, name, 0) || htab_find(&l->user_names, name, 0) != NULL) {
		why = "clashes with a user's private group";
	} else {
		g.gid = gotrue_idmap_derive(m->cfg->uid_min, m->cfg->uid_max, "group", name);
		if (held(m, uids, NULL, g.gid) || htab_find(&l->ids, NULL, g.gid) != NULL)
			why = "derived gid clashes with a uid or local gid";
		else if (htab_find(gids, NULL, g.gid) != NULL)
			why = "derived gid clashes with another group";
		else if (htab_put(gids, NULL, g.gid, 0, NULL) != 0)
			return -1;
	}
	if (why != NULL) {
		/* Remember the refusal (gid -1, local) so that each group is reported once. */
		if (left_out(m, "group", name, NULL, "%s", why) != 0)
			return -1;
		g.local = true;
		g.gid = (uint32_t)-1;
	}
	if (gotrue_grow((void **)&m->groups, &m->st->cap_groups, m->n_groups + 1, sizeof(g)) != 0 ||
	    htab_put(&m->st->by_group, name, 0, (uint32_t)m->n_groups, NULL) != 0)
		return -1;
	m->groups[m->n_groups++] = g;
	return 0;
}

/* Whether @a held its name (@by_name) or its uid in the last index, in *@held. The holders are
 * read here, at the first contest of the resolve, and only then. 0, or -1 when they cannot be
 * read: who keeps a contested name must not be guessed. */
static int holds(struct gotrue_idmap *m, const struct gotrue_account *a, bool by_name, bool *held)
{
	struct gotrue_idmap_state *st = m->st;
	const struct hslot *e;

	*held = false;
	if (st->holders_state == 0 && st->load_holders != NULL)
		st->holders_state = st->load_holders(st->load_ctx, m) == 0 ? 1 : -1;
	if (st->holders_state < 0)
		return -1;
	e = htab_find(by_name ? &st->held_names : &st->held_uids, by_name ? a->name : NULL, a->uid);
	*held = e != NULL && strcmp(st->held_ids[e->val1 - 1], a->user_id) == 0;
	return 0;
}

/* Whether @a, later in age order, takes a contested name (@by_name) or uid over from @b, the
 * account keeping it so far: 1 or 0, with what decided in *@why, or -1 (holds). A name an
 * administrator set (app_metadata.username) ranks over one derived from an email, then the
 * holder in the last index over a newcomer; the older account wins what is left. */
static int takes_over(struct gotrue_idmap *m, const struct gotrue_account *a,
		      const struct gotrue_account *b, bool by_name, const char **why)
{
	bool ha, hb;

	*why = "an earlier user";
	if (by_name && a->admin_name != b->admin_name) {
		*why = "the app_metadata.username of user";
		return a->admin_name;
	}
	if (holds(m, a, by_name, &ha) != 0 || holds(m, b, by_name, &hb) != 0)
		return -1;
	if (ha != hb)
		*why = "its holder since the last sync, user";
	return ha && !hb;
}

/* Settle every name (@by_name) or uid that more than one account wants; the others are left
 * out. Run over the accounts oldest first, with @t mapping each key to the account keeping it
 * so far, which a later one displaces only when it ranks higher (takes_over): the outcome does
 * not depend on the listing's order, and a newcomer never displaces a holder. */
static int drop_later(struct gotrue_idmap *m, struct htab *t, bool by_name)
{
	const struct hslot *e;
	struct gotrue_account *keeper, *winner, *loser;
	const char *why;
	size_t i;
	int over;

	if (htab_reserve(t, m->n_accounts) != 0)
		return -1;
	for (i = 0; i < m->n_accounts; i++) {
		struct gotrue_account *a = &m->accounts[i];

		if (a->name == NULL)
			continue;
		if (htab_put(t, by_name ? a->name : NULL, a->uid, (uint32_t)i, &e) != 0)
			return -1;
		if (e->val1 - 1 == i)
			continue;
		keeper = &m->accounts[e->val1 - 1];
		over = takes_over(m, a, keeper, by_name, &why);
		if (over < 0)
			return -1;
		winner = over ? a : keeper;
		loser = over ? keeper : a;
		if (over)
			htab_slot(t, by_name ? a->name : NULL, a->uid)->val1 = (uint32_t)i + 1;
		if (left_out(m, "user", loser->user_id, loser->name, "%s collides with %s %s (%s)",
			     by_name ? "name" : "uid", why, winner->user_id, winner->name) != 0)
			return -1;
		loser->name = NULL; /* left out; its strings stay in the pool */
	}
	return 0;
}

int gotrue_idmap_resolve(struct gotrue_idmap *m)
{
	struct local l = {0};
	struct htab names = {0}, uids = {0}, gids = {0};
	const struct hslot *e;
	size_t i, j, k;
	int rc = -1;

	groups_free(m);
	if (m->n_accounts > UINT32_MAX - 1 || read_local(m, &l) != 0)
		goto cleanup;
	/* Oldest first (created_at, then id): a later user displaces an earlier one only when it
	 * ranks higher (drop_later), and the outcome does not depend on the order the server
	 * listed them in. */
	if (sort_by_age(m) != 0)
		goto cleanup;
	for (i = 0; i < m->n_accounts; i++) {
		struct gotrue_account *a = &m->accounts[i];
		const char *why = NULL;

		if (htab_find(&l.user_names, a->name, 0) != NULL)
			why = "name clashes with a local user";
		else if (htab_find(&l.group_names, a->name, 0) != NULL)
			why = "name clashes with a local group";
		else if (htab_find(&l.ids, NULL, a->uid) != NULL)
			why = "uid clashes with a local uid or gid";
		if (why != NULL) {
			if (left_out(m, "user", a->user_id, a->name, "%s", why) != 0)
				goto cleanup;
			a->name = NULL;
		}
	}
	/* Names first over every account, then uids over those that kept their name. */
	if (drop_later(m, &names, true) != 0 || drop_later(m, &uids, false) != 0)
		goto cleanup;

	/* Groups, in the same order, so that derived-gid ties go to the group met first. */
	for (i = 0; i < m->n_accounts; i++) {
		struct gotrue_account *a = &m->accounts[i];

		if (a->name == NULL)
			continue;
		for (j = 0; j < a->n_groups; j++) {
			struct gotrue_idmap_group *g;

			e = htab_find(&m->st->by_group, a->groups[j], 0);
			if (e == NULL) {
				if (settle_group(m, a->groups[j], &l, &names, &uids, &gids) != 0)
					goto cleanup;
				g = &m->groups[m->n_groups - 1];
			} else {
				g = &m->groups[e->val1 - 1];
			}
			if (g->gid != (uint32_t)-1 && add_member(g, a) != 0)
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
	htab_free(&names);
	htab_free(&uids);
	htab_free(&gids);
	local_free(&l);
	return rc;
}

int gotrue_idmap_to_cache(const struct gotrue_idmap *m, struct gotrue_cache_builder *b)
{
	/* Offsets are only good in the builder they came from. */
	bool ahead = b == m->st->ahead;
	const struct hslot *e;
	uint32_t *gids = NULL;
	size_t i, j, n, cap = 0, n_gids = 0, n_members = 0;
	int rc = -1;

	/* The builder's arrays at their final size at once: growing 100k entries by doubling
	 * copied each array about twice over. */
	for (i = 0; i < m->n_accounts; i++)
		n_gids += m->accounts[i].n_groups;
	for (i = 0; i < m->n_groups; i++)
		n_members += m->groups[i].n_members;
	if (gotrue_cache_builder_reserve(b, m->n_accounts, n_gids, m->n_accounts + m->n_groups,
					 n_members) != 0)
		goto cleanup;
	for (i = 0; i < m->n_accounts; i++) {
		const struct gotrue_account *a = &m->accounts[i];

		if (gotrue_grow((void **)&gids, &cap, a->n_groups + 1, sizeof(uint32_t)) != 0)
			goto cleanup;
		for (j = 0, n = 0; j < a->n_groups; j++) {
			e = htab_find(&m->st->by_group, a->groups[j], 0);
			if (e != NULL && m->groups[e->val1 - 1].gid != (uint32_t)-1)
				gids[n++] = m->groups[e->val1 - 1].gid;
		}
		/* The private group: gid = uid; members empty, as useradd(8) leaves them. */
		if (ahead && a->cache_ahead) {
			if (gotrue_cache_builder_add_user_at(b, a->cache_at[0], a->uid, a->gid,
							     a->cache_at[1], a->cache_at[2],
							     a->cache_at[3], gids, n) != 0 ||
			    gotrue_cache_builder_add_group_at(b, a->cache_at[0], a->gid, NULL, 0) !=
				    0)
				goto cleanup;
		} else if (gotrue_cache_builder_add_user(b, a->name, a->uid, a->gid, a->gecos,
							 a->home, a->shell, gids, n) != 0 ||
			   gotrue_cache_builder_add_group(b, a->name, a->gid, NULL, 0) != 0) {
			goto cleanup;
		}
	}
	for (i = 0; i < m->n_groups; i++) {
		const struct gotrue_idmap_group *g = &m->groups[i];
		uint32_t name;

		if (g->local || g->gid == (uint32_t)-1)
			continue;
		if (ahead && g->members_ahead) {
			if (gotrue_cache_builder_intern(b, g->name, &name) != 0 ||
			    gotrue_cache_builder_add_group_at(b, name, g->gid, g->member_at,
							      g->n_members) != 0)
				goto cleanup;
		} else if (gotrue_cache_builder_add_group(b, g->name, g->gid,
							  (const char *const *)g->members,
							  g->n_members) != 0) {
			goto cleanup;
		}
	}
	rc = 0;
cleanup:
	free(gids);
	return rc;
}
