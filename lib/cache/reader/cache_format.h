/* cache_format: the on-disk layout of the NSS cache (/var/lib/gotrue/nss.cache), shared by the
 * writer (lib/cache/writer/cache_writer.c) and the reader (lib/cache/reader/cache_reader.c, the
 * only part of lib/ in the NSS module).
 *
 * The file is host-local and written by this host's sync, so integers are in host byte order; a
 * file from another byte order fails the magic check and is UNAVAIL. Everything is a uint32_t so
 * that every section is 4-aligned inside a page-aligned mmap (sections start 8-aligned).
 *
 *   header      struct gotrue_cache_header (fixed size, version 2)
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
 * the records or a second file. The checksum covers the whole file with the checksum field and
 * the stale word read as zero.
 *
 * The stale word (version 2) is how a reader learns, with one load from memory it already has
 * mapped, that its file has been replaced: the writer sets it in the OLD file right after renaming
 * the new one in (lib/cache/writer/cache_writer.c), the way SSSD's memcache invalidates its old
 * file. It is the only byte range of a cache that ever changes after the rename, hence outside the
 * checksum. */
#ifndef GOTRUE_CACHE_FORMAT_H
#define GOTRUE_CACHE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define GOTRUE_CACHE_MAGIC   "GTNSSCA\n" /* 8 bytes, no NUL used */
#define GOTRUE_CACHE_VERSION 2u
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
};

struct gotrue_cache_gr_rec {
	uint32_t name;
	uint32_t gid;
	uint32_t members_start; /* index into members */
	uint32_t members_count;
};

struct gotrue_cache_idx {
	uint32_t key; /* name hash, uid or gid */
	uint32_t rec; /* record number */
};

/* FNV-1a, 32 bits, over a name: the key of the name indexes. Collisions are harmless (the
 * reader compares the names of every entry with an equal key). */
static inline uint32_t gotrue_cache_name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
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
