/* fuzz_proc: the /proc parsers lib/sync/terminate.c trusts to tell a session's processes from the
 * others (lib/store/proc.c): a stat line, a cgroup file, and a logind scope's name. The first input
 * byte picks the parser. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_proc_stat st;
	char path[GOTRUE_CGROUP_MAX], id[65], *s;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		gotrue_proc_stat_parse((const char *)data + 1, size - 1, &st);
		break;
	case 1:
		if (gotrue_proc_cgroup_parse((const char *)data + 1, size - 1, path,
					     sizeof(path)) == 0)
			gotrue_cgroup_logind_session(path, id, sizeof(id));
		break;
	default:
		s = malloc(size);
		if (s == NULL)
			return 0;
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		gotrue_cgroup_logind_session(s, id, sizeof(id));
		free(s);
		break;
	}
	return 0;
}
