/* fixture: see fixture.h. */
#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache_writer.h"
#include "fixture.h"

static size_t split(char *s, char sep, char **out, size_t max)
{
	size_t n = 0;
	char *save = NULL, *tok;
	char seps[2] = {sep, '\0'};

	for (tok = strtok_r(s, seps, &save); tok && n < max; tok = strtok_r(NULL, seps, &save))
		out[n++] = tok;
	return n;
}

int fixture_image(const char *spec, void **data, size_t *len)
{
	struct gotrue_cache_builder *b = gotrue_cache_builder_new();
	char *copy = strdup(spec), *line, *save = NULL;
	int rc = -1;

	if (b == NULL || copy == NULL)
		goto cleanup;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[9], *list[4096], *p;
		size_t n = split(line, ' ', f, 9), nl = 0, i;
		uint32_t gids[4096];

		if (n == 0 || f[0][0] == '#')
			continue;
		if (strcmp(f[0], "user") == 0 && n >= 7) {
			for (p = f[4]; *p; p++)
				if (*p == '_')
					*p = ' ';
			if (n == 8)
				nl = split(f[7], ',', list, 4096);
			for (i = 0; i < nl; i++)
				gids[i] = (uint32_t)strtoul(list[i], NULL, 10);
			if (gotrue_cache_builder_add_user(b, f[1],
							  (uint32_t)strtoul(f[2], NULL, 10),
							  (uint32_t)strtoul(f[3], NULL, 10), f[4],
							  f[5], f[6], gids, nl) != 0)
				goto cleanup;
		} else if (strcmp(f[0], "group") == 0 && n >= 3) {
			if (n == 4)
				nl = split(f[3], ',', list, 4096);
			if (gotrue_cache_builder_add_group(b, f[1],
							   (uint32_t)strtoul(f[2], NULL, 10),
							   (const char *const *)list, nl) != 0)
				goto cleanup;
		} else {
			goto cleanup;
		}
	}
	rc = gotrue_cache_builder_finish(b, (uint64_t)time(NULL), data, len);
cleanup:
	gotrue_cache_builder_free(b);
	free(copy);
	return rc;
}

int fixture_write_raw(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) == (ssize_t)len && close(fd) == 0)
		rc = rename(tmp, path);
	else
		close(fd);
	return rc;
}

int fixture_write(const char *path, const char *spec)
{
	void *data = NULL;
	size_t len = 0;
	int rc = -1;

	if (fixture_image(spec, &data, &len) == 0)
		rc = fixture_write_raw(path, data, len);
	free(data);
	return rc;
}
