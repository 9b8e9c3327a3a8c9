/* fuzz_mfa_replay: the used-code file (lib/mfa_replay.c), which a second-factor login reads
 * before it sends a code. Whatever it holds, the parse ends, keeps at most
 * GOTRUE_MFA_REPLAY_MAX entries and none that has expired. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>

#include "mfa_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gotrue_mfa_replay set;
	const time_t now = 1800000000;
	size_t i;

	if (gotrue_mfa_replay_parse((const char *)data, size, now, &set) == 0) {
		if (set.n > GOTRUE_MFA_REPLAY_MAX)
			abort();
		for (i = 0; i < set.n; i++) {
			if (set.e[i].expires <= now)
				abort();
		}
	} else if (set.n != 0) {
		abort();
	}
	return 0;
}
