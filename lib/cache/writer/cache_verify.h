/* cache_verify: the whole-file check of an NSS cache image (lib/cache/writer, linked by gotruectl
 * and the tests; never by the NSS module, whose lookups check only what they read). */
#ifndef GOTRUE_CACHE_VERIFY_H
#define GOTRUE_CACHE_VERIFY_H

#include <stddef.h>

/* Everything a cache image must satisfy: the header and section bounds (gotrue_cache_parse),
 * the whole-file checksum, every user and group record with its strings, slices and checks, and
 * every index: each entry's record in range and keyed by it, sorted by (key, record), no uid or
 * gid twice. 0, or -1 with the first problem found written to @why (@why_len bytes, a sentence
 * without a trailing period). @buf must be 8-byte aligned. */
int gotrue_cache_verify(const void *buf, size_t len, char *why, size_t why_len);

#endif
