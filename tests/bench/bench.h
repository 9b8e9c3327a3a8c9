/* bench: what the benchmarks in tests/bench share. Header-only (static functions): each
 * benchmark program includes it once. */
#ifndef GOTRUE_TEST_BENCH_H
#define GOTRUE_TEST_BENCH_H

#include <stddef.h>
#include <stdlib.h>

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of @v[0..@n) (n > 0); sorts @v. Even n: the mean of the two middle values. */
static inline double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
