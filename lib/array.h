/* array: growing a heap array by doubling, shared by the cache writer and the id mapper. */
#ifndef GOTRUE_ARRAY_H
#define GOTRUE_ARRAY_H

#include <stddef.h>

/* Make room for @need elements of @elem bytes in *@p (capacity *@cap), doubling from 16.
 * 0, or -1 (ENOMEM or a size that would overflow) with *@p and *@cap unchanged. */
int gotrue_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
