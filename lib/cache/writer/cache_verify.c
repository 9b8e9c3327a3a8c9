/* cache_verify: every check of an NSS cache image at once (cache_verify.h), for
 * `gotruectl cache verify`. The lookups of cache_reader.c check only what they read, so that a
 * process pays for its own lookups and not for the whole file; this is the pass over all of it,
 * run by an administrator, and it reuses the reader's own checks (a corrupt record is one that
 * gotrue_cache_getpwent or _getgrent refuses). */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "cache_verify.h"

/* The key an entry for record @rec of index @sec must carry; false if @rec is out of range. */
static bool key_of(const struct gotrue_cache_view *v, int sec, uint32_t rec, uint32_t *key)
{
	struct gotrue_cache_pw pw;
	struct gotrue_cache_gr gr;
	bool ok;

	if (sec == GOTRUE_CACHE_SEC_PW_NAME || sec == GOTRUE_CACHE_SEC_PW_UID) {
		ok = gotrue_cache_getpwent(v, rec, &pw) == GOTRUE_CACHE_OK;
		if (ok)
			*key = sec == GOTRUE_CACHE_SEC_PW_NAME ? gotrue_cache_name_hash(pw.name)
							       : pw.uid;
	} else {
		ok = gotrue_cache_getgrent(v, rec, &gr) == GOTRUE_CACHE_OK;
		if (ok)
			*key = sec == GOTRUE_CACHE_SEC_GR_NAME ? gotrue_cache_name_hash(gr.name)
							       : gr.gid;
	}
	return ok;
}

/* Index @sec of @n entries: every entry keyed by its record, sorted by (key, record), and, for
 * the uid and gid indexes, no key twice. Entries strictly ordered with keys that follow from
 * their records cannot name a record twice, so the index is a permutation of the records. */
static bool index_ok(const struct gotrue_cache_view *v, int sec, const struct gotrue_cache_idx *idx,
		     uint32_t n, const char *what, char *why, size_t why_len)
{
	bool by_id = sec == GOTRUE_CACHE_SEC_PW_UID || sec == GOTRUE_CACHE_SEC_GR_GID;
	uint32_t i, key = 0;
	bool ok = true;

	for (i = 0; i < n && ok; i++) {
		if (!key_of(v, sec, idx[i].rec, &key) || key != idx[i].key) {
			snprintf(why, why_len, "%s index entry %u does not match its record", what,
				 i);
			ok = false;
		} else if (i > 0 && (idx[i - 1].key > idx[i].key ||
				     (idx[i - 1].key == idx[i].key &&
				      (by_id || idx[i - 1].rec >= idx[i].rec)))) {
			snprintf(why, why_len, "%s index entry %u is out of order or repeats a key",
				 what, i);
			ok = false;
		}
	}
	return ok;
}

/* Every record, as a lookup would read it. */
static bool records_ok(const struct gotrue_cache_view *v, char *why, size_t why_len)
{
	struct gotrue_cache_pw pw;
	struct gotrue_cache_gr gr;
	uint32_t i;
	bool ok = true;

	for (i = 0; i < v->hdr->n_users && ok; i++) {
		ok = gotrue_cache_getpwent(v, i, &pw) == GOTRUE_CACHE_OK;
		if (!ok)
			snprintf(why, why_len, "user record %u is corrupt", i);
	}
	for (i = 0; i < v->hdr->n_groups && ok; i++) {
		ok = gotrue_cache_getgrent(v, i, &gr) == GOTRUE_CACHE_OK;
		if (!ok)
			snprintf(why, why_len, "group record %u is corrupt", i);
	}
	return ok;
}

int gotrue_cache_verify(const void *buf, size_t len, char *why, size_t why_len)
{
	struct gotrue_cache_view v;
	const char *problem = NULL;
	int rc = -1;

	if (gotrue_cache_parse_why(buf, len, &v, &problem) != GOTRUE_CACHE_OK) {
		snprintf(why, why_len, "%s", problem ? problem : "unreadable header");
		goto cleanup;
	}
	/* The checksum first: it names any flipped byte, even one no check below reads. */
	if (gotrue_cache_checksum(buf, len) != v.hdr->checksum) {
		snprintf(why, why_len, "the whole-file checksum does not match");
		goto cleanup;
	}
	if (!records_ok(&v, why, why_len) ||
	    !index_ok(&v, GOTRUE_CACHE_SEC_PW_NAME, v.pw_name, v.hdr->n_users, "user name", why,
		      why_len) ||
	    !index_ok(&v, GOTRUE_CACHE_SEC_PW_UID, v.pw_uid, v.hdr->n_users, "uid", why, why_len) ||
	    !index_ok(&v, GOTRUE_CACHE_SEC_GR_NAME, v.gr_name, v.hdr->n_groups, "group name", why,
		      why_len) ||
	    !index_ok(&v, GOTRUE_CACHE_SEC_GR_GID, v.gr_gid, v.hdr->n_groups, "gid", why, why_len))
		goto cleanup;
	rc = 0;
cleanup:
	return rc;
}
