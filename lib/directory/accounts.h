/* accounts: the private account index (default /var/lib/gotrue/accounts, root 0600). Sync writes
 * it beside the public NSS cache; PAM reads it to turn a login name into a GoTrue account (user
 * id, email or phone for sign-in, banned_until, groups for allow_groups). The public cache holds
 * no email, hence this second file. A small fixed header (magic, version, counts, section
 * offsets), a table of login names sorted for a binary search, each with its record's place, and
 * the records, one JSON object per line starting {"name":"LOGIN",. A lookup maps the file
 * read-only and parses only the record it finds. A file without the header (the old format,
 * JSON lines only) is still read, by a scan, until the next sync rewrites it. */
#ifndef GOTRUE_ACCOUNTS_H
#define GOTRUE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>
#include <security/pam_ext.h>

#include "idmap.h"

/* Caps on the records' bytes and on the number of accounts (the table's size). About 245 bytes
 * a user: 3 GiB holds some 12M users, and every record offset fits a uint32_t. */
#define GOTRUE_ACCOUNTS_MAX_SIZE    (3u * 1024 * 1024 * 1024)
#define GOTRUE_ACCOUNTS_MAX_RECORDS (16u * 1024 * 1024)

/* Serialise @n accounts and replace @path atomically (gotrue_replace_file, 0600). 0 or -errno
 * (-EFBIG over GOTRUE_ACCOUNTS_MAX_RECORDS, -EINVAL for a name twice or one no lookup finds). */
int gotrue_accounts_write(const char *path, const struct gotrue_account *accts, size_t n);

/* A whole sync: each kept account's line serialised as it arrives, while the next page is on
 * its way, instead of all 100k on the sync's tail; the index is then written from the lines of
 * the accounts that stay. The lines are in memory that is unmapped, not freed (they hold emails
 * and phones). */
struct gotrue_accounts_lines;
/* NULL on ENOMEM. */
struct gotrue_accounts_lines *gotrue_accounts_lines_new(void);
void gotrue_accounts_lines_free(struct gotrue_accounts_lines *l);
/* Serialise @a into @l, filed under @key (its ordinal in its set, idmap.h; a key added again
 * gets the new line). 0, -EFBIG when the index would pass its size cap (GOTRUE_ACCOUNTS_MAX_SIZE:
 * what PAM's reader takes), or -ENOMEM. */
int gotrue_accounts_lines_add(struct gotrue_accounts_lines *l, uint32_t key,
			      const struct gotrue_account *a);
/* A smaller cap than GOTRUE_ACCOUNTS_MAX_SIZE for @l (0: that one), so that tests can reach it. */
void gotrue_accounts_lines_cap(struct gotrue_accounts_lines *l, size_t max);
/* As gotrue_accounts_write, from the lines in @l of @accts (in that order), @keys[i] being the
 * key accts[i]'s line was filed under; an account without a line makes it a whole
 * gotrue_accounts_write instead. @accts must not have changed since their lines were added.
 * 0 or -errno. */
int gotrue_accounts_write_lines(const char *path, const struct gotrue_accounts_lines *l,
				const struct gotrue_account *accts, const uint32_t *keys, size_t n);

/* One account's record alone, as the index holds it (a login's overlay: account_overlay.h),
 * replacing @path atomically (gotrue_replace_file, 0600). 0 or -errno. */
int gotrue_accounts_write_record(const char *path, const struct gotrue_account *a);
/* Read such a file back: 0 (@out filled), 1 no file, -2 torn (not one whole line: the caller
 * logs what it does about it), or -1 (logged: unreadable, refused owner or mode, a whole line
 * that does not parse or names another account, or out of memory). */
int gotrue_accounts_read_record(pam_handle_t *pamh, const char *path, const char *name,
				struct gotrue_account *out);

/* Find @name: a login's overlay for it first (account_overlay.h), then the index. 0 found (@out
 * filled; gotrue_account_clear() it), 1 not in the index (or no index yet), -1 error
 * (unreadable, refused owner/mode, corrupt index; logged). */
int gotrue_accounts_lookup(pam_handle_t *pamh, const char *path, const char *name,
			   struct gotrue_account *out);
/* The same, from the index alone (no overlay). */
int gotrue_accounts_lookup_index(pam_handle_t *pamh, const char *path, const char *name,
				 struct gotrue_account *out);

/* The lookup on an index already in memory (@size bytes at @data, which need not be aligned;
 * @path only names it in log lines): what gotrue_accounts_lookup does once the file is mapped,
 * for the tests and the fuzz target. The same results. */
int gotrue_accounts_lookup_mem(pam_handle_t *pamh, const char *path, const void *data, size_t size,
			       const char *name, struct gotrue_account *out);

/* Every account in the index, in file order, through @each (non-zero stops with that value).
 * Returns 0, 1 when there is no index, -1 on error, or @each's value. */
int gotrue_accounts_each(pam_handle_t *pamh, const char *path,
			 int (*each)(void *ctx, struct gotrue_account *a), void *ctx);

/* The same, for the accounts marked as having a verified second factor only ("mfa"); the other
 * lines are skipped unparsed, so a sync can afford it at every run. Then the marked accounts of
 * logins' overlays (the index may hold them too). */
int gotrue_accounts_each_mfa(pam_handle_t *pamh, const char *path,
			     int (*each)(void *ctx, struct gotrue_account *a), void *ctx);

#endif
