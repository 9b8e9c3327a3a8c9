/* mkcache: write an NSS cache from a fixture spec on stdin (fixture.h) to argv[1]. Used by the
 * shell tests and the benchmark to build caches with the real writer. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

int main(int argc, char **argv)
{
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap);

	if (argc != 2 || buf == NULL) {
		fprintf(stderr, "usage: mkcache CACHE < spec\n");
		return 2;
	}
	while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (buf == NULL)
				return 1;
		}
	}
	buf[len] = '\0';
	if (fixture_write(argv[1], buf) != 0) {
		fprintf(stderr, "mkcache: cannot build or write %s\n", argv[1]);
		return 1;
	}
	free(buf);
	return 0;
}
