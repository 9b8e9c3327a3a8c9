/* idmap: how a GoTrue user becomes a Unix account (DESIGN.md "NSS cache", "Mappings"), from
 * app_metadata only, and how a whole set of users is made consistent: name and uid collisions,
 * clashes with local /etc/passwd and /etc/group (read directly) and, for users fresh from the
 * server, with every other NSS source (gotrue_idmap_check_owners), local_groups
 * and derived groups. Used by sync (the whole listing) and by the PAM login refresh (one user). */
#ifndef GOTRUE_IDMAP_H
#define GOTRUE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache_writer.h"
#include "gotrue_config.h"
#include "user.h"

#define GOTRUE_NAME_MAX	 32
#define GOTRUE_GECOS_MAX 256

/* One mapped account. Public part: name, uid, gid, gecos, home, shell, groups. Private part
 * (account index only, never the public cache): user_id, email, phone, banned_until. */
struct gotrue_account {
	char *name;
	uint32_t uid, gid;
	char *gecos, *home, *shell;
	char **groups; /* app_metadata.groups, valid names only */
	size_t n_groups;
	char *user_id, *email, *phone;
	time_t banned_until, created_at;
	/* The user has a verified second factor (account index only): pam_gotrue then asks for
	 * it whatever the unsigned /token answer lists (pam_gotrue(8), SECOND FACTOR). Set from
	 * a listing that carries the user's factors, from GET /admin/users/{id}/factors, or by a
	 * login that used one. @mfa_known: the listed user carried a "factors" member. */
	bool mfa, mfa_known;
	/* In a set that interns ahead (gotrue_idmap_cache_ahead): the offsets of name, gecos, home
	 * and shell in the set's cache builder, valid when @cache_ahead. */
	uint32_t cache_at[4];
	/* Its account index line, when serialised as it arrived (gotrue_accounts_lines_add):
	 * where it is in those lines and its length; @line_len 0 when there is none. */
	uint32_t line_at, line_len;
	bool cache_ahead;
	/* The name is app_metadata.username, an administrator's choice, not one derived from an
	 * email: it wins a contested name (gotrue_idmap_resolve). Not kept in the index. */
	bool admin_name;
};
void gotrue_account_clear(struct gotrue_account *a);

/* ^[a-z_][a-z0-9_.-]{0,31}$ */
bool gotrue_idmap_valid_name(const char *name);
/* A value in [min, max] from @key, deterministic: FNV-1a-64 of "@prefix:@key", reduced modulo the
 * range size. The same user id always gives the same uid, whatever else is in the listing. */
uint32_t gotrue_idmap_derive(unsigned long min, unsigned long max, const char *prefix,
			     const char *key);

/* Deny by default: whether an administrator admitted an account whose app_metadata.groups are
 * @groups (@n of them): one of them is in allow_groups, or allow_groups is empty and
 * allow_all_users is set. */
bool gotrue_idmap_admitted(const struct gotrue_config *cfg, char *const *groups, size_t n);

/* Map one user. 0, or -1 with the reason in @why (the user is left out). */
int gotrue_idmap_user(const struct gotrue_config *cfg, const struct gotrue_user *u,
		      struct gotrue_account *out, char *why, size_t why_len);

/* A user or group left out, and why. @what is "user" or "group". */
struct gotrue_left_out {
	char *what;
	char *id;   /* user id, or the group name */
	char *name; /* the login name it would have had, or NULL */
	char *reason;
};

struct gotrue_idmap_group {
	char *name; /* owned by the set (its string pool), not to be freed */
	uint32_t gid;
	bool local;	/* a local_groups entry: gid from /etc/group, not written to the cache */
	char **members; /* the members' login names, owned by the set */
	size_t n_members, cap_members;
	/* The members' name offsets in the set's cache builder, while every member has one
	 * (members_ahead); owned by the set. */
	uint32_t *member_at;
	size_t cap_member_at;
	bool members_ahead;
};

/* The set's string pool and hash indexes (idmap.c). */
struct gotrue_idmap_state;

/* A set being built. Add users (or already-mapped accounts from the index), then resolve.
 * The accounts' strings live in the set's own pool, interned where they repeat (shell, group
 * names), rather than in a dozen malloc'd strings per user. So an account in @accounts must never
 * go through gotrue_account_clear(); copy what outlives the set. */
struct gotrue_idmap {
	const struct gotrue_config *cfg;
	const char *passwd_path, *group_path;
	struct gotrue_account
		*accounts; /* after resolve: the accepted ones, in (created_at, id) order */
	size_t n_accounts, cap_accounts;
	struct gotrue_idmap_group *groups; /* after resolve */
	size_t n_groups;
	struct gotrue_left_out *left_out;
	size_t n_left_out, cap_left_out;
	size_t n_seen;
	size_t n_not_admitted; /* mapped, but not admitted (gotrue_idmap_admitted): counted only */
	struct gotrue_idmap_state *st; /* private to idmap.c */
};

/* @passwd_path/@group_path: NULL for /etc/passwd and /etc/group. NULL on ENOMEM. */
struct gotrue_idmap *gotrue_idmap_new(const struct gotrue_config *cfg, const char *passwd_path,
				      const char *group_path);
void gotrue_idmap_free(struct gotrue_idmap *m);
/* From now on, a user added with gotrue_idmap_add_user whose name NSS resolves to an account
 * other than this module's own entry in the cache at @cache_path (lib/directory/owner.h: a system
 * user a package created, LDAP, SSSD) is left out, "name belongs to another account source".
 * @whole: a whole sync, which may enumerate NSS once up front (gotrue_owners_new's @list); a
 * login's one-user update asks per name. 0 or -1 (ENOMEM). */
int gotrue_idmap_check_owners(struct gotrue_idmap *m, const char *cache_path, bool whole);
/* Map @u and keep it, or record it as left out, or count it as not admitted. -1 only on ENOMEM. */
int gotrue_idmap_add_user(struct gotrue_idmap *m, const struct gotrue_user *u);
/* Keep an already-mapped account (moved in: @a is cleared). -1 on ENOMEM. */
int gotrue_idmap_add_account(struct gotrue_idmap *m, struct gotrue_account *a);
/* Who held each name and uid in the last account index: a name or uid that several accounts
 * want stays with the one that held it (gotrue_idmap_resolve). @load adds them with
 * gotrue_idmap_add_holder, and is called at the resolve's first contest only, if there is one:
 * most syncs have none, and reading every line of a large index is not free. Non-zero from @load
 * fails the resolve. */
void gotrue_idmap_holders_from(struct gotrue_idmap *m,
			       int (*load)(void *ctx, struct gotrue_idmap *m), void *ctx);
/* @user_id held @name and @uid in the last index. 0 or -1 (ENOMEM). */
int gotrue_idmap_add_holder(struct gotrue_idmap *m, const char *name, uint32_t uid,
			    const char *user_id);
/* Settle collisions and groups. 0, or -1 (ENOMEM, a local file that cannot be read, or holders
 * that cannot be read: failing closed, since a clash with a local name could otherwise go unseen
 * and a contested name must not be given by guess). A name or uid several accounts want goes,
 * in this order, to an app_metadata.username over a name derived from an email (names only),
 * to its holder in the last index, then to the oldest account (created_at, then id); the others
 * are left out. */
int gotrue_idmap_resolve(struct gotrue_idmap *m);
/* Fill a cache builder from a resolved set. 0 or -1. */
int gotrue_idmap_to_cache(const struct gotrue_idmap *m, struct gotrue_cache_builder *b);
/* A whole sync: from now on each user added with gotrue_idmap_add_user has its public strings
 * interned into a cache builder of the set's own as it arrives, while the next page is still on
 * its way, rather than all 100k after the last one. gotrue_idmap_take_builder() then hands that
 * builder over (the caller frees it, after the set or before), and gotrue_idmap_to_cache() given
 * it adds those users by offset. 0 or -1 (ENOMEM). */
int gotrue_idmap_cache_ahead(struct gotrue_idmap *m);
/* The set's own builder (see above), or a new one when the set has none. NULL on ENOMEM. */
struct gotrue_cache_builder *gotrue_idmap_take_builder(struct gotrue_idmap *m);

#endif
