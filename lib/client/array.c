/* array: growing a heap array by doubling, and populating the pages it is about to fill. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "array.h"

int gotrue_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	if (elem == 0 || need > SIZE_MAX / elem)
		return -1;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 / elem ? need : ncap * 2;
	np = realloc(*p, ncap * elem);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

void gotrue_prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	/* Only whole pages inside the range: its edges may share a page with other memory. */
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)p + len) & ~(page - 1);

	if (p != NULL && end > start)
		(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)len;
#endif
}

#define PREFAULT_STEP (1024u * 1024)

void gotrue_prefault_ahead(struct gotrue_prefault_mark *pf, void *base, size_t used, size_t cap)
{
	size_t end;

	if (base != pf->base) {
		/* New (or moved by realloc, which wrote the first @used bytes): from here. */
		pf->base = base;
		pf->upto = used;
	}
	if (base == NULL || used + PREFAULT_STEP / 2 < pf->upto || pf->upto >= cap)
		return;
	end = cap - used > PREFAULT_STEP ? used + PREFAULT_STEP : cap;
	if (end > pf->upto)
		gotrue_prefault((char *)base + pf->upto, end - pf->upto);
	pf->upto = end;
}
