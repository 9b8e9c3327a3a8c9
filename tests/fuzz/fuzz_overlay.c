/* fuzz_overlay: the parser of a login's public per-user overlay (lib/cache/reader/overlay.c),
 * as the NSS module has it: one line "name:uid:gid:gecos:home:shell:gid,...", any bytes. What
 * it accepts must hold together: strings inside the buffer, gids within the cap. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "overlay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gotrue_overlay_pw ov;

	if (size > GOTRUE_OVERLAY_MAX_SIZE)
		return 0;
	memcpy(ov.buf, data, size);
	if (gotrue_overlay_parse(ov.buf, size, &ov) != 0)
		return 0;
	if (ov.pw.n_gids > GOTRUE_OVERLAY_MAX_GIDS || strlen(ov.pw.name) > 32 ||
	    ov.pw.name < ov.buf || ov.pw.shell + strlen(ov.pw.shell) > ov.buf + size)
		__builtin_trap();
	return 0;
}
