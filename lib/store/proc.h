/* proc: what /proc says of a process (proc(5)), for the token store (is a session's owner still
 * the process it was?) and for ending a Linux session (which processes are that session's, and
 * which terminals they hold): the stat line, the kernel's audit session id, the systemd cgroup
 * and the boot id. Each reader opens one small file; the parsers are separate, for the fuzzer. */
#ifndef GOTRUE_PROC_H
#define GOTRUE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* /proc/PID/sessionid of a process that no pam_loginuid ever ran for: (unsigned)-1. Shared by
 * every daemon and kernel thread, it never names one login. */
#define GOTRUE_AUDIT_SESSION_UNSET 4294967295U
#define GOTRUE_BOOT_ID_LEN	   36 /* a UUID as text */
#define GOTRUE_CGROUP_MAX	   512

struct gotrue_proc_stat {
	char state;		  /* field 3: R, S, D, T, Z, ... */
	pid_t ppid;		  /* field 4 */
	unsigned int tty_nr;	  /* field 7: controlling terminal (major/minor encoded), 0: none */
	unsigned long long start; /* field 22: start time in clock ticks after boot */
};

/* One /proc/PID/stat line (@buf need not be NUL-terminated). Field 2, the command name, may
 * hold spaces and parentheses: the fields after it are counted from its last ')'. 0 or -1. */
int gotrue_proc_stat_parse(const char *buf, size_t len, struct gotrue_proc_stat *out);
/* /proc/@pid/stat. 0 or -errno (-ESRCH: no such process). */
int gotrue_proc_stat(pid_t pid, struct gotrue_proc_stat *out);

/* /proc/@pid/sessionid; GOTRUE_AUDIT_SESSION_UNSET when unset, unreadable, or the kernel has no
 * audit support. */
unsigned int gotrue_proc_audit_session(pid_t pid);
/* True for an id that names one login: set, and not 0 (the kernel counts from 1). */
bool gotrue_audit_session_valid(unsigned int id);
/* This process's audit session id when it is this login's own, else GOTRUE_AUDIT_SESSION_UNSET:
 * pam_loginuid (earlier in the session stack) wrote the loginuid of @uid, which gave this
 * process a new id, one its parent does not have. Without that (no pam_loginuid, or after this
 * module; sudo and su) the id was inherited from whatever session started this process, and
 * ending "its" processes would end that session. With an id, *@boot_id gets the boot id (the
 * kernel's counter starts again at each boot). */
unsigned int gotrue_proc_login_audit_session(uid_t uid, char boot_id[GOTRUE_BOOT_ID_LEN + 1]);
/* /proc/sys/kernel/random/boot_id. 0 or -errno. */
int gotrue_proc_boot_id(char out[GOTRUE_BOOT_ID_LEN + 1]);

/* The cgroup that systemd puts a process in, from a /proc/PID/cgroup text: the unified
 * hierarchy's line ("0::/user.slice/user-1000.slice/session-3.scope") or, on a host with only
 * v1 hierarchies, the "name=systemd" one. 0, or -1 when there is neither or it does not fit
 * @len. */
int gotrue_proc_cgroup_parse(const char *buf, size_t len, char *path, size_t path_len);
int gotrue_proc_cgroup(pid_t pid, char *path, size_t path_len);
/* The systemd-logind session id of a cgroup path whose last part is "session-ID.scope", the
 * scope logind makes for each session and nothing else. 0, or -1 for any other path. */
int gotrue_cgroup_logind_session(const char *path, char *id, size_t id_len);
/* logind session ids are short alphanumeric strings ("3", "c2"). */
bool gotrue_logind_session_id_valid(const char *id);

#endif
