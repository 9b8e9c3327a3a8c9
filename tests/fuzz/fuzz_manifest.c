/* fuzz_manifest: what a host parses of a bundle before and after checking it (lib/fleet): the
 * manifest document's split and its strict parser, a sealed account index's header (opened
 * under a fixed key), and the pinned-key and fleet-key values of the config. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_crypto.h"
#include "manifest.h"
#include "secure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_fleet_manifest m;
	struct gotrue_fleet_pubkeys pins;
	struct gotrue_fleet_keys keys = {.n = 1};
	char *text = malloc(size + 1);
	const char *sig;
	size_t signed_len, sig_len, out_len = 0;
	unsigned char *out = NULL;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (gotrue_fleet_manifest_split(text, size, &signed_len, &sig, &sig_len) == 0)
		(void)gotrue_fleet_manifest_parse(text, signed_len, &m);
	(void)gotrue_fleet_manifest_parse(text, size, &m);
	(void)gotrue_fleet_pubkeys_parse(text, &pins);
	(void)gotrue_fleet_keys_parse(text, &keys);
	keys.n = 1;
	if (gotrue_fleet_open(&keys, data, size, &out, &out_len) == 0)
		gotrue_wipe_free(out, out_len + 1);
	free(text);
	return 0;
}
