/* fixture: build NSS cache files for the tests with the real writer (gotrue_cache_builder), from
 * a small text spec, and install them by rename as sync does:
 *   user NAME UID GID GECOS HOME SHELL [GID,GID...]     (GECOS: '_' stands for a space)
 *   group NAME GID [MEMBER,MEMBER...]                                                  */
#ifndef GOTRUE_TEST_NSS_FIXTURE_H
#define GOTRUE_TEST_NSS_FIXTURE_H

#include <stddef.h>

/* 0 or -1. The file is written to PATH.tmp then renamed over PATH. */
int fixture_write(const char *path, const char *spec);
/* The image only (malloc'd). */
int fixture_image(const char *spec, void **data, size_t *len);
/* Write raw bytes by rename (for corrupt images). */
int fixture_write_raw(const char *path, const void *data, size_t len);

#endif
