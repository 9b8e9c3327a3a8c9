/* fuzz_accounts: the private account index's reader (lib/directory/accounts.c): the header and
 * section checks, the binary search of the table and the parse of the one record it finds, on
 * any bytes. Looked up: a few fixed names and the names of the first, middle and last slots, so
 * that the fuzzer reaches the record checks behind a matching name. */
#include <config.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "accounts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the table starts and a slot's size (accounts.h's layout). */
#define HDR  64
#define SLOT 48

static void find(const uint8_t *data, size_t size, const char *name)
{
	struct gotrue_account a;

	if (gotrue_accounts_lookup_mem(NULL, "fuzz", data, size, name, &a) == 0 &&
	    strcmp(a.name, name) != 0)
		__builtin_trap(); /* a lookup must never answer with another account */
	gotrue_account_clear(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *fixed[] = {"alice", "bob", "u00001", "_"};
	char name[33];
	size_t i, slots = size > HDR ? (size - HDR) / SLOT : 0, pick[3];

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		find(data, size, fixed[i]);
	pick[0] = 0;
	pick[1] = slots / 2;
	pick[2] = slots ? slots - 1 : 0;
	for (i = 0; slots > 0 && i < 3; i++) {
		memcpy(name, data + HDR + pick[i] * SLOT, 32);
		name[32] = '\0';
		find(data, size, name);
	}
	return 0;
}
