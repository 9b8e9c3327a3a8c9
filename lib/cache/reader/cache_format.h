/* cache_format: the on-disk layout of the NSS cache (/var/lib/gotrue/nss.cache), shared by the
 * writer (lib/cache/writer/cache_writer.c) and the reader (lib/cache/reader/cache_reader.c, the
 * only part of lib/ in the NSS module).
 *
 * The file is host-local and written by this host's sync, so integers are in host byte order; a
 * file from another byte order fails the magic check and is UNAVAIL. Everything is a uint32_t so
 * that every section is 4-aligned inside a page-aligned mmap (sections start 8-aligned).
 *
 *   header      struct gotrue_cache_header (fixed size, version 3)
 *   strings     NUL-terminated strings; offset 0 is "" and the last byte is NUL, so any offset
 *               inside the section names a terminated string
 *   passwd      n_users  x struct gotrue_cache_pw_rec
 *   group       n_groups x struct gotrue_cache_gr_rec
 *   members     uint32_t string offsets (member names), sliced by the group records
 *   user_gids   uint32_t gids, sliced by the passwd records (what initgroups_dyn returns)
 *   pw_name     n_users  x struct gotrue_cache_idx {hash of name, record}, sorted by (key, rec)
 *   pw_uid      n_users  x struct gotrue_cache_idx {uid, record}, sorted
 *   gr_name     n_groups x struct gotrue_cache_idx {hash of name, record}, sorted
 *   gr_gid      n_groups x struct gotrue_cache_idx {gid, record}, sorted
 *
 * Lookups binary-search one dense 8-byte-per-entry index (O(log n), a few cache lines), as
 * libnss-cache's sorted .ixname files and SSSD's memcache hash tables do, but without a scan of
 * the records or a second file.
 *
 * Integrity is checked at three grains, so that a reader never has to read the whole file: a
 * process pays for what its own lookups read, not for the number of users.
 *   - the header carries header_check, over itself: checked when the file is mapped;
 *   - each record carries a check over its fields, its strings and its slices: checked by every
 *     lookup that reads the record (a group's member names have a check of their own, read only
 *     when the group itself is the answer, since a group can have a million members);
 *   - the whole-file checksum, with the checksum field and the stale word read as zero: computed
 *     by the writer and checked by `gotruectl cache verify` (gotrue_cache_verify), never by a
 *     lookup.
 * The index entries carry no check: a lookup checks every entry it stops at against the record
 * it names (the key must be that record's), which catches a corrupt entry on the way to the
 * answer (lib/cache/reader/cache_reader.c says why that suffices).
 *
 * The stale word is how a reader learns, with one load from memory it already has mapped, that
 * its file has been replaced: the writer sets it in the OLD file right after renaming the new one
 * in (lib/cache/writer/cache_writer.c), the way SSSD's memcache invalidates its old file. It is
 * the only byte range of a cache that ever changes after the rename, hence outside every check. */
#ifndef GOTRUE_CACHE_FORMAT_H
#define GOTRUE_CACHE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GOTRUE_CACHE_MAGIC   "GTNSSCA\n" /* 8 bytes, no NUL used */
#define GOTRUE_CACHE_VERSION 3u
/* The value of the stale word once the file has been replaced; any other non-zero value is
 * corruption (a single flipped bit cannot turn 0 into this, so bit flips stay UNAVAIL). */
#define GOTRUE_CACHE_STALE 0x454c5453u
/* Hard limits the reader enforces, so that no count can overflow a size computation. */
#define GOTRUE_CACHE_MAX_SIZE	 (1u << 30)
#define GOTRUE_CACHE_MAX_RECORDS (1u << 24)

enum gotrue_cache_section {
	GOTRUE_CACHE_SEC_STRINGS = 0,
	GOTRUE_CACHE_SEC_PASSWD,
	GOTRUE_CACHE_SEC_GROUP,
	GOTRUE_CACHE_SEC_MEMBERS,
	GOTRUE_CACHE_SEC_USER_GIDS,
	GOTRUE_CACHE_SEC_PW_NAME,
	GOTRUE_CACHE_SEC_PW_UID,
	GOTRUE_CACHE_SEC_GR_NAME,
	GOTRUE_CACHE_SEC_GR_GID,
	GOTRUE_CACHE_N_SECTIONS,
};

struct gotrue_cache_section_ref {
	uint32_t offset; /* from the start of the file, a multiple of 8 */
	uint32_t length; /* bytes */
};

struct gotrue_cache_header {
	char magic[8];
	uint32_t version;
	uint32_t header_size; /* sizeof(struct gotrue_cache_header) */
	uint32_t file_size;
	uint32_t flags;	   /* 0 */
	uint64_t checksum; /* gotrue_cache_checksum() of the whole file */
	/* 0, or GOTRUE_CACHE_STALE once a newer file has been renamed over this one. Written once
	 * by the writer with an atomic store into a shared mapping, read with __atomic_load_n. Not
	 * covered by the checksum, together with stale_pad, which must be 0. */
	uint32_t stale;
	uint32_t stale_pad;
	uint64_t generated_at; /* seconds since the epoch, for `gotruectl cache show` */
	uint32_t n_users;
	uint32_t n_groups;
	struct gotrue_cache_section_ref sections[GOTRUE_CACHE_N_SECTIONS];
	/* gotrue_cache_header_check(): what the reader checks when it maps the file. */
	uint32_t header_check;
	uint32_t header_pad; /* 0 */
};

struct gotrue_cache_pw_rec {
	uint32_t name; /* string offsets */
	uint32_t gecos;
	uint32_t dir;
	uint32_t shell;
	uint32_t uid;
	uint32_t gid;
	uint32_t gids_start; /* index into user_gids */
	uint32_t gids_count;
	uint32_t check; /* gotrue_cache_user_check() */
};

struct gotrue_cache_gr_rec {
	uint32_t name;
	uint32_t gid;
	uint32_t members_start; /* index into members */
	uint32_t members_count;
	uint32_t check;		/* gotrue_cache_group_check(): fields, name, member offsets */
	uint32_t members_check; /* gotrue_cache_members_check(): the member names */
};

struct gotrue_cache_idx {
	uint32_t key; /* name hash, uid or gid */
	uint32_t rec; /* record number */
};

#define GOTRUE_CACHE_HASH_INIT 2166136261u

/* @h updated with @n bytes at @p: the name indexes' key and every check but the whole-file
 * checksum. Eight bytes a step (FNV-1a's multiply on 64-bit words, then a shift to fold the
 * high bits down), since a lookup hashes a record and its strings; each step is a bijection of
 * the state for a given word, so any one changed word changes the result but for the final
 * fold to 32 bits. Hand-written because the reader links libc only. */
static inline uint32_t gotrue_cache_hash(uint32_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t s = h ^ ((uint64_t)n << 32), w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, c + i, 8);
		s = (s ^ w) * 1099511628211ull;
		s ^= s >> 29;
	}
	if (i < n) {
		w = 0;
		memcpy(&w, c + i, n - i);
		s = (s ^ w) * 1099511628211ull;
		s ^= s >> 29;
	}
	return (uint32_t)(s ^ (s >> 32));
}

/* The key of the name indexes. Collisions are harmless (the reader compares the names of every
 * entry with an equal key). */
static inline uint32_t gotrue_cache_name_hash(const char *s)
{
	return gotrue_cache_hash(GOTRUE_CACHE_HASH_INIT, s, strlen(s));
}

/* @h updated with the string at @off, its NUL included (so that two strings run together by a
 * lost NUL do not hash as they did apart). The caller has checked @off. */
static inline uint32_t gotrue_cache_hash_string(uint32_t h, const char *strings, uint32_t off)
{
	return gotrue_cache_hash(h, strings + off, strlen(strings + off) + 1);
}

/* @h updated with @count words of @base from @start (none read when @count is 0: a writer with
 * no gids or members at all may have @base NULL). The caller has checked the slice. */
static inline uint32_t gotrue_cache_hash_slice(uint32_t h, const uint32_t *base, uint32_t start,
					       uint32_t count)
{
	return count == 0 ? h : gotrue_cache_hash(h, base + start, (size_t)count * sizeof(*base));
}

/* The header's check: every byte of it but the whole-file checksum, the stale word and
 * header_check itself (read as zero). */
static inline uint32_t gotrue_cache_header_check(const struct gotrue_cache_header *h)
{
	struct gotrue_cache_header c = *h;

	c.checksum = 0;
	c.stale = c.stale_pad = 0;
	c.header_check = 0;
	return gotrue_cache_hash(GOTRUE_CACHE_HASH_INIT, &c, sizeof(c));
}

/* A user record's check: its fields (check read as zero), its four strings and its slice of
 * user_gids. The caller has checked every offset and the slice. */
static inline uint32_t gotrue_cache_user_check(const char *strings,
					       const struct gotrue_cache_pw_rec *r,
					       const uint32_t *user_gids)
{
	struct gotrue_cache_pw_rec c = *r;
	uint32_t h;

	c.check = 0;
	h = gotrue_cache_hash(GOTRUE_CACHE_HASH_INIT, &c, sizeof(c));
	h = gotrue_cache_hash_string(h, strings, r->name);
	h = gotrue_cache_hash_string(h, strings, r->gecos);
	h = gotrue_cache_hash_string(h, strings, r->dir);
	h = gotrue_cache_hash_string(h, strings, r->shell);
	return gotrue_cache_hash_slice(h, user_gids, r->gids_start, r->gids_count);
}

/* A group record's check: its fields (both checks read as zero), its name and its slice of
 * member offsets; the member names themselves are gotrue_cache_members_check()'s. */
static inline uint32_t gotrue_cache_group_check(const char *strings,
						const struct gotrue_cache_gr_rec *r,
						const uint32_t *members)
{
	struct gotrue_cache_gr_rec c = *r;
	uint32_t h;

	c.check = c.members_check = 0;
	h = gotrue_cache_hash(GOTRUE_CACHE_HASH_INIT, &c, sizeof(c));
	h = gotrue_cache_hash_string(h, strings, r->name);
	return gotrue_cache_hash_slice(h, members, r->members_start, r->members_count);
}

/* The member names of a group, in order. The caller has checked every member offset. */
static inline uint32_t gotrue_cache_members_check(const char *strings,
						  const struct gotrue_cache_gr_rec *r,
						  const uint32_t *members)
{
	uint32_t h = GOTRUE_CACHE_HASH_INIT, i;

	for (i = 0; i < r->members_count; i++)
		h = gotrue_cache_hash_string(h, strings, members[r->members_start + i]);
	return h;
}

/* The two 8-byte words the checksum reads as zero: the checksum itself, and the stale word with
 * its pad (which the writer changes after the file is in place). */
#define GOTRUE_CACHE_SUM_SKIP1 offsetof(struct gotrue_cache_header, checksum)
#define GOTRUE_CACHE_SUM_SKIP2 offsetof(struct gotrue_cache_header, stale)
_Static_assert(offsetof(struct gotrue_cache_header, checksum) % 8 == 0 &&
		       offsetof(struct gotrue_cache_header, stale) % 8 == 0 &&
		       offsetof(struct gotrue_cache_header, stale_pad) ==
			       offsetof(struct gotrue_cache_header, stale) + 4,
	       "the words outside the checksum must be 8-aligned");

/* The whole-file checksum. Hand-written because the reader links libc only (no zlib or
 * OpenSSL in every process that resolves a user name). It detects corruption, not tampering: the
 * file is root-owned and replaced by rename. FNV-1a's step applied to 64-bit host-order words
 * instead of bytes, so that a 10 MB cache is checked in a few milliseconds; the tail is
 * zero-padded. The words at GOTRUE_CACHE_SUM_SKIP1 and _SKIP2 are read as zero. */
static inline uint64_t gotrue_cache_checksum(const unsigned char *p, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	for (i = 0; i < len; i += 8) {
		uint64_t w = 0;
		size_t n = len - i < 8 ? len - i : 8;
		size_t k;

		if (i == GOTRUE_CACHE_SUM_SKIP1 || i == GOTRUE_CACHE_SUM_SKIP2) {
			/* read as zero */
		} else if (n == 8) {
			memcpy(&w, p + i, 8);
		} else {
			for (k = 0; k < n; k++)
				w |= (uint64_t)p[i + k] << (8 * k);
		}
		h ^= w;
		h *= 1099511628211ull;
		h ^= h >> 29;
	}
	return h;
}

#endif
