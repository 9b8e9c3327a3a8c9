/* fuzz_mfa_replay: the used-code file (lib/store/mfa_replay.c), which a second-factor login reads
 * before it sends a code. The input is the file's head, zero-filled to the file's size (any other
 * size is refused at once). Whatever it holds, the parse ends, keeps at most
 * GOTRUE_MFA_REPLAY_MAX entries and none that has expired, and what it read, written back into
 * the other slot, reads back the same. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mfa_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char img[GOTRUE_MFA_REPLAY_FILE_SIZE];
	static struct gotrue_mfa_replay set, again;
	const time_t now = 1800000000;
	size_t i;

	if (size > sizeof(img))
		return 0;
	memset(img, 0, sizeof(img));
	memcpy(img, data, size);
	if (gotrue_mfa_replay_parse(img, sizeof(img), now, &set) != 0) {
		if (set.n != 0)
			abort();
		return 0;
	}
	if (set.n > GOTRUE_MFA_REPLAY_MAX)
		abort();
	for (i = 0; i < set.n; i++) {
		if (set.e[i].expires <= now)
			abort();
	}
	if (set.seq == UINT64_MAX)
		return 0; /* the writer refuses to go on from there (mfa_replay.c) */
	gotrue_mfa_replay_render(&set, set.seq + 1,
				 img + (size_t)(1 - set.slot) * GOTRUE_MFA_REPLAY_SLOT);
	if (gotrue_mfa_replay_parse(img, sizeof(img), now, &again) != 0 || again.n != set.n ||
	    again.slot == set.slot || memcmp(again.e, set.e, set.n * sizeof(set.e[0])) != 0)
		abort();
	return 0;
}
