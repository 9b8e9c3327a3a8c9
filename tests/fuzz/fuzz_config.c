/* fuzz_config: the gotrue.conf grammar (lib/client/gotrue_config.c) on any text. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gotrue_config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct gotrue_config *cfg;
	char *text;

	if (!quiet) {
		/* Every bad line is logged: formatted, then dropped, so that neither the fuzzer's
		 * output nor a syslog(3) round trip per line (most of the time, at 6k runs a
		 * second) is in the way. What is parsed is the same. */
		gotrue_log_init("fuzz_config", GOTRUE_LOG_DISCARD, false);
		quiet = 1;
	}
	if (size > GOTRUE_CONF_MAX_SIZE)
		return 0;
	text = malloc(size + 1);
	cfg = gotrue_config_new();
	if (text && cfg) {
		memcpy(text, data, size);
		text[size] = '\0';
		gotrue_config_parse(NULL, cfg, text, "fuzz");
	}
	gotrue_config_free(cfg);
	free(text);
	return 0;
}
