/* account_overlay: a login's update of its own account entry, as a per-user overlay.
 *
 * A successful login whose entry is new or changed does not rewrite the account index and the
 * NSS cache (O(n) in the users, under the sync lock, inside the login): it writes that one
 * user's entry into two small root-owned files, each replaced atomically:
 *   - private: <index dir>/overlay/<name>, 0600 in a 0700 directory: the index's record for the
 *     account (accounts.h), which gotrue_accounts_lookup reads before the index;
 *   - public: <cache dir>/nss.overlay/<name> and nss.overlay/uid/<uid>, 0644: the passwd fields
 *     and supplementary gids the NSS module serves (lib/cache/reader/overlay.h).
 * The next sync, which writes the same data from the server's listing, removes them all. Their
 * number is capped (GOTRUE_ACCOUNT_OVERLAY_MAX), so that the sync's clean-up stays small and the
 * directory never grows without bound; a lookup never lists the directory.
 *
 * The identity rules of a sync hold: an overlay never changes the uid the index or the cache
 * gives a name, never takes a name or uid that another account holds there, in another overlay
 * or in any other account source (local accounts first), and a torn one is ignored (logged). */
#ifndef GOTRUE_ACCOUNT_OVERLAY_H
#define GOTRUE_ACCOUNT_OVERLAY_H

#include <time.h>
#include <security/pam_ext.h>

#include "idmap.h"

#define GOTRUE_ACCOUNT_OVERLAY_MAX 1000

/* The overlay of @name beside the index at @acct_path. 0 found (@out filled), 1 none or a torn
 * one (logged, and ignored: the index answers), or -1 (logged: unreadable, refused, corrupt,
 * out of memory: fail closed, as for the index). */
int gotrue_account_overlay_find(pam_handle_t *pamh, const char *acct_path, const char *name,
				struct gotrue_account *out);

/* Every overlay beside the index at @acct_path, through @each (non-zero stops with that
 * value). Torn ones are skipped (logged). 0, -1 (the directory or an overlay cannot be read),
 * or @each's. */
int gotrue_account_overlay_each(pam_handle_t *pamh, const char *acct_path,
				int (*each)(void *ctx, struct gotrue_account *a), void *ctx);

/* Write @a's overlays (private beside @acct_path, public beside @cache_path), with its
 * supplementary gids @gids (@n_gids). The caller checked the identity rules under the sync
 * lock. 0, 1 over GOTRUE_ACCOUNT_OVERLAY_MAX or a field the public format cannot carry (both
 * logged), or -1 (logged). */
int gotrue_account_overlay_write(pam_handle_t *pamh, const char *acct_path, const char *cache_path,
				 const struct gotrue_account *a, const uint32_t *gids,
				 size_t n_gids);

/* Remove every overlay, once a sync has replaced the index and the cache. 0 or -1 (logged). */
int gotrue_account_overlay_clear(pam_handle_t *pamh, const char *acct_path, const char *cache_path);

/* After an account index this host did not make from its own listing is installed (a fleet
 * bundle, made at @keep_after or later from a listing read before): an overlay stays only while
 * the new index does not name its login and it may be newer than that listing (written at
 * @keep_after or later); every other one goes, so that the bundle's bans and deletions are what
 * PAM and NSS see. Torn ones go too. 0 or -1 (logged). */
int gotrue_account_overlay_settle(pam_handle_t *pamh, const char *acct_path, const char *cache_path,
				  time_t keep_after);

#endif
