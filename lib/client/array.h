/* array: growing a heap array by doubling, and populating the pages it is about to fill; shared
 * by the cache writer, the id mapper and the account index. */
#ifndef GOTRUE_ARRAY_H
#define GOTRUE_ARRAY_H

#include <stddef.h>

/* Make room for @need elements of @elem bytes in *@p (capacity *@cap), doubling from 16.
 * 0, or -1 (ENOMEM or a size that would overflow) with *@p and *@cap unchanged. */
int gotrue_grow(void **p, size_t *cap, size_t need, size_t elem);

/* Fault in the whole pages inside [@p, @p + @len) with one madvise(MADV_POPULATE_WRITE) (Linux
 * 5.14) instead of a page fault per 4 KiB, which costs several times more a page than populating
 * in bulk. For memory about to be written in full; best effort (without the flag the pages fault
 * in as before). */
void gotrue_prefault(void *p, size_t len);
/* The same for an array that grows as it is filled (@used of @cap bytes at @base): its pages
 * are populated a step ahead of @used, so that a 100k-entry array is populated in a hundred
 * calls, with no more memory than it uses plus a step. Call after each append; @pf starts
 * zeroed and follows the array when realloc moves it. */
struct gotrue_prefault_mark {
	const void *base;
	size_t upto;
};
void gotrue_prefault_ahead(struct gotrue_prefault_mark *pf, void *base, size_t used, size_t cap);

#endif
