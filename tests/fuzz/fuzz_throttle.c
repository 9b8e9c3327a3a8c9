/* fuzz_throttle: the failure throttle's table (lib/store/throttle.h), read on every login by the
 * PAM module; a file on disk is input like any other. The input is taken as a whole table image:
 * the header (magic, geometry, size), then every slot (MAC, bounds, age order) as `gotruectl
 * throttle show` reads them, then a check, a failure and a reset of a user and a host, which read,
 * evict and write slots. It is also taken as a PAM_RHOST to normalise. Seeds in
 * corpus/fuzz_throttle/ are small tables (one and two slots a half) holding locked and unlocked
 * buckets. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_config.h"
#include "log.h"
#include "throttle.h"

#define NOW 1700000000L

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int each(void *ctx, const struct gotrue_throttle_entry *e)
{
	size_t *seen = ctx;

	*seen += strlen(e->label) + e->failures;
	return 0;
}

static void exercise(struct gotrue_throttle *t, const struct gotrue_config *cfg)
{
	struct gotrue_throttle_verdict v;
	size_t seen = 0;

	gotrue_throttle_each(t, cfg, NOW, each, &seen);
	gotrue_throttle_table_check(t, cfg, "alice", "192.0.2.1", NOW, &v);
	gotrue_throttle_table_fail(t, cfg, "alice", "", NOW, &v);
	gotrue_throttle_table_fail(t, cfg, "bob", "2001:db8::/64", NOW - 100000, &v);
	gotrue_throttle_forget(t, GOTRUE_THROTTLE_USER, "alice");
	gotrue_throttle_each(t, cfg, NOW + 1000, each, &seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gotrue_config *cfg;
	char host[GOTRUE_THROTTLE_HOST_MAX + 1], *text;
	struct gotrue_throttle *t = NULL;
	unsigned char *img;

	if (cfg == NULL) {
		gotrue_log_init("fuzz_throttle", GOTRUE_LOG_STDERR, false);
		cfg = gotrue_config_new();
		if (cfg == NULL)
			return 0;
		cfg->throttle_user_failures = 3;
		cfg->throttle_host_failures = 5;
	}
	text = strndup((const char *)data, size);
	if (text != NULL)
		gotrue_throttle_host_key(text, host, sizeof(host));
	free(text);
	/* A copy: the table is changed in place, and the input must not be. */
	img = malloc(size ? size : 1);
	if (img != NULL) {
		memcpy(img, data, size);
		if (gotrue_throttle_open_image(img, size, &t) == 0)
			exercise(t, cfg);
		gotrue_throttle_close(t);
	}
	free(img);
	return 0;
}
