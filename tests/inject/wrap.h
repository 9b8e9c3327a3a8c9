/* wrap: the fault-injection layer of tests/inject/test_inject (linked with -Wl,--wrap=..., as
 * pam-u2f's fuzz/wrap.c does). It counts, and can fail, the calls that the project's own objects
 * make; it also tracks every block those calls allocate so that a leak shows as a live block at
 * the end of a cycle. */
#ifndef GOTRUE_TEST_INJECT_WRAP_H
#define GOTRUE_TEST_INJECT_WRAP_H

#include <stdbool.h>
#include <stddef.h>

enum inj_kind {
	INJ_MALLOC,
	INJ_CALLOC,
	INJ_REALLOC,
	INJ_STRDUP,
	INJ_STRNDUP,
	INJ_ASPRINTF,
	INJ_OPEN,
	INJ_FOPEN,
	INJ_MKOSTEMP,
	INJ_WRITE,
	INJ_FSYNC,
	INJ_RENAME,
	INJ_UNLINK,
	INJ_CURL,
	INJ_KINDS,
};

/* The cycle's phases, in order; INJ_PHASE_NONE while the test itself runs. */
enum inj_phase {
	INJ_PHASE_NONE = -1,
	INJ_PHASE_AUTH,
	INJ_PHASE_ACCOUNT,
	INJ_PHASE_OPEN,
	INJ_PHASE_CLOSE,
	INJ_PHASES,
};

struct inj_state {
	/* volatile: GCC knows malloc reads no user memory and would drop the stores around it */
	volatile bool armed; /* count, track and maybe fail: only inside a pam_sm_* call */
	enum inj_phase phase;
	long count[INJ_KINDS];	    /* calls seen while armed */
	enum inj_kind fail_kind;    /* the call to fail: fail_kind's call number fail_index */
	long fail_index;	    /* -1: fail nothing (the counting run) */
	int housekeeping;	    /* > 0 inside the post-decision gotrue_sync_one_user() */
	int pid_start;		    /* > 0 inside gotrue_store_pid_start() */
	bool revoked;		    /* close_session's POST /logout answered 2xx */
	bool fired;		    /* the chosen call was failed ... */
	enum inj_phase fired_phase; /* ... in this phase */
	bool fired_housekeeping;    /* ... inside housekeeping (see test_inject.c) */
	bool fired_pid_start;	    /* ... inside gotrue_store_pid_start() */
	void *fired_caller;	    /* return address of the failed call, for addr2line */
	long live;		    /* blocks allocated while armed and not freed yet */
	size_t live_bytes;
	bool table_full; /* too many live blocks to track: leak counts are unreliable */
	/* Armed or not, every open/fopen of a path starting so fails with EACCES (NULL: none):
	 * "/proc/" makes /proc/PID/stat unreadable, as on a host mounted with hidepid. */
	const char *fail_prefix;
};

extern struct inj_state inj;

const char *inj_kind_name(enum inj_kind k);
/* Report up to @max live tracked blocks (size and allocating caller) on stdout as TAP diag. */
void inj_dump_live(int max);

#endif
