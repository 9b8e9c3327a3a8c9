/* fuzz_cache: the NSS cache reader (lib/cache/reader/cache_reader.c) as the NSS module uses it,
 * lazily: map-time checks, then lookups by name, uid and gid and both enumerations on whatever
 * was accepted, each of which must check what it reads. The first input byte chooses fix-ups
 * that let the fuzzer past checks it cannot forge (bit 0: the header's check; bit 1: every record
 * whose offsets are in range gets its checks recomputed, so that damaged indexes and slices are
 * reached with sound-looking records; bit 2: the whole-file checksum). Then the whole-file check
 * (lib/cache/writer/cache_verify.c) runs, and an image it accepts must answer every lookup of its
 * own entries: a mismatch aborts. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_format.h"
#include "cache_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Lookups of keys the image itself holds: enumerated entries, index keys, raw strings. */
static void walk(const struct gotrue_cache_view *v)
{
	struct gotrue_cache_pw pw, q;
	struct gotrue_cache_gr gr, g;
	uint32_t i, m;

	for (i = 0; i < 64 && i <= v->hdr->n_users; i++) {
		if (gotrue_cache_getpwent(v, i, &pw) != GOTRUE_CACHE_OK)
			continue;
		gotrue_cache_getpwnam(v, pw.name, &q);
		gotrue_cache_getpwuid(v, pw.uid, &q);
		for (m = 0; m < pw.n_gids; m++)
			gotrue_cache_getgrgid(v, pw.gids[m], &g);
	}
	for (i = 0; i < 64 && i <= v->hdr->n_groups; i++) {
		if (gotrue_cache_getgrent(v, i, &gr) != GOTRUE_CACHE_OK)
			continue;
		for (m = 0; m < gr.n_members; m++)
			gotrue_cache_getpwnam(v, gotrue_cache_member(v, &gr, m), &q);
		gotrue_cache_getgrnam(v, gr.name, &g);
		gotrue_cache_getgrgid(v, gr.gid, &g);
	}
	for (i = 0; i < 16 && i < v->hdr->n_users; i++)
		gotrue_cache_getpwuid(v, v->pw_uid[i].key, &q);
	for (i = 0; i < 16 && i < v->hdr->n_groups; i++)
		gotrue_cache_getgrgid(v, v->gr_gid[i].key, &g);
	for (i = 0; i < v->strings_len && i < 256; i += 7) {
		gotrue_cache_getpwnam(v, v->strings + i, &q);
		gotrue_cache_getgrnam(v, v->strings + i, &g);
	}
	gotrue_cache_getpwnam(v, "alice", &q);
	gotrue_cache_getpwuid(v, 0, &q);
	gotrue_cache_getgrgid(v, 0, &g);
}

/* What the whole-file check accepts, every lookup must find. */
static void oracle(const struct gotrue_cache_view *v)
{
	struct gotrue_cache_pw pw, q;
	struct gotrue_cache_gr gr, g;
	uint32_t i;

	for (i = 0; i < v->hdr->n_users; i++) {
		if (gotrue_cache_getpwent(v, i, &pw) != GOTRUE_CACHE_OK ||
		    gotrue_cache_getpwnam(v, pw.name, &q) != GOTRUE_CACHE_OK ||
		    strcmp(q.name, pw.name) != 0 ||
		    gotrue_cache_getpwuid(v, pw.uid, &q) != GOTRUE_CACHE_OK || q.rec != i)
			abort();
	}
	for (i = 0; i < v->hdr->n_groups; i++) {
		if (gotrue_cache_getgrent(v, i, &gr) != GOTRUE_CACHE_OK ||
		    gotrue_cache_getgrnam(v, gr.name, &g) != GOTRUE_CACHE_OK ||
		    strcmp(g.name, gr.name) != 0 ||
		    gotrue_cache_getgrgid(v, gr.gid, &g) != GOTRUE_CACHE_OK || g.rec != i)
			abort();
	}
}

/* Recompute the checks of every record whose offsets and slices are in range (fix-up bit 1). */
static void reseal(unsigned char *buf, const struct gotrue_cache_view *v)
{
	struct gotrue_cache_pw_rec *pw = (void *)(buf + ((const unsigned char *)v->pw - v->base));
	struct gotrue_cache_gr_rec *gr = (void *)(buf + ((const unsigned char *)v->gr - v->base));
	uint32_t i, m;
	int ok;

	for (i = 0; i < v->hdr->n_users; i++) {
		if (pw[i].name < v->strings_len && pw[i].gecos < v->strings_len &&
		    pw[i].dir < v->strings_len && pw[i].shell < v->strings_len &&
		    pw[i].gids_start <= v->n_user_gids &&
		    pw[i].gids_count <= v->n_user_gids - pw[i].gids_start)
			pw[i].check = gotrue_cache_user_check(v->strings, &pw[i], v->user_gids);
	}
	for (i = 0; i < v->hdr->n_groups; i++) {
		ok = gr[i].name < v->strings_len && gr[i].members_start <= v->n_members &&
		     gr[i].members_count <= v->n_members - gr[i].members_start;
		if (!ok)
			continue;
		gr[i].check = gotrue_cache_group_check(v->strings, &gr[i], v->members);
		for (m = 0; m < gr[i].members_count && ok; m++)
			ok = v->members[gr[i].members_start + m] < v->strings_len;
		if (ok)
			gr[i].members_check =
				gotrue_cache_members_check(v->strings, &gr[i], v->members);
	}
}

static void fix_header(unsigned char *buf, size_t len, unsigned flags)
{
	struct gotrue_cache_header h;

	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	if (flags & 1)
		h.header_check = gotrue_cache_header_check(&h);
	memcpy(buf, &h, sizeof(h));
	if (flags & 4) {
		/* The function the writer uses, so it skips the same words. */
		h.checksum = gotrue_cache_checksum(buf, len);
		memcpy(buf, &h, sizeof(h));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_cache_view view;
	unsigned char *buf;
	char why[256];
	size_t len;

	if (size < 1)
		return 0;
	len = size - 1;
	/* The reader wants an 8-byte aligned image, as mmap gives it (aligned_alloc wants a size
	 * that is a multiple of the alignment). */
	buf = aligned_alloc(8, (len | 7) + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);
	fix_header(buf, len, data[0] & 1);
	if ((data[0] & 2) && gotrue_cache_parse(buf, len, &view) == GOTRUE_CACHE_OK)
		reseal(buf, &view);
	fix_header(buf, len, data[0] & 4);
	if (gotrue_cache_parse(buf, len, &view) == GOTRUE_CACHE_OK) {
		walk(&view);
		if (gotrue_cache_verify(buf, len, why, sizeof(why)) == 0)
			oracle(&view);
	}
	free(buf);
	return 0;
}
