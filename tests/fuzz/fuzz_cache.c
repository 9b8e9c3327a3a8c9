/* fuzz_cache: the NSS cache reader (lib/cache/reader/cache_reader.c). The input's checksum is fixed
 * up before parsing (half the time), so that the fuzzer reaches the structural checks behind it
 * instead of stopping at the checksum every time; then every lookup runs on what was accepted. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct gotrue_cache_view *v)
{
	struct gotrue_cache_pw pw;
	struct gotrue_cache_gr gr;
	uint32_t i, m;

	for (i = 0; i < 64 && gotrue_cache_getpwent(v, i, &pw) == GOTRUE_CACHE_OK; i++) {
		gotrue_cache_getpwnam(v, pw.name, &pw);
		gotrue_cache_getpwuid(v, pw.uid, &pw);
	}
	for (i = 0; i < 64 && gotrue_cache_getgrent(v, i, &gr) == GOTRUE_CACHE_OK; i++) {
		for (m = 0; m < gr.n_members; m++)
			(void)gotrue_cache_member(v, &gr, m);
		gotrue_cache_getgrnam(v, gr.name, &gr);
		gotrue_cache_getgrgid(v, gr.gid, &gr);
	}
	gotrue_cache_getpwnam(v, "alice", &pw);
	gotrue_cache_getpwuid(v, 0, &pw);
	gotrue_cache_getgrgid(v, 0, &gr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t field = GOTRUE_CACHE_SUM_SKIP1;
	struct gotrue_cache_view view;
	unsigned char *buf;
	uint64_t sum;

	if (size < 1)
		return 0;
	/* The reader wants an 8-byte aligned image, as mmap gives it (aligned_alloc wants a size
	 * that is a multiple of the alignment). */
	buf = aligned_alloc(8, ((size - 1) | 7) + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	if ((data[0] & 1) && size - 1 >= field + sizeof(sum)) {
		/* The same function the writer uses, so it skips the same words (the checksum and
		 * the stale word, which the fuzzer thus mutates freely). */
		sum = gotrue_cache_checksum(buf, size - 1);
		memcpy(buf + field, &sum, sizeof(sum));
	}
	if (gotrue_cache_parse(buf, size - 1, &view) == GOTRUE_CACHE_OK)
		walk(&view);
	free(buf);
	return 0;
}
