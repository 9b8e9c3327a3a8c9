/* test_proc: the /proc parsers lib/sync/terminate.c trusts (lib/store/proc.c): stat lines whose
 * command names hold spaces and parentheses, cgroup files of unified, hybrid and v1-only hosts,
 * logind scope names, and this process's own entries. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "tap.h"

static void test_stat(void)
{
	static const char line[] = "1234 (sshd: alice) S 1 1234 1234 34816 1234 4194560 100 0 0 0 "
				   "1 2 0 0 20 0 1 0 98765 1000 200 18446744073709551615\n";
	static const char parens[] = "77 (a) b) c) R 12 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 "
				     "-5 1 0 5 1000 200";
	static const char neg_tty[] = "1 (x) S 1 1 1 -5 1 1 1 1 1 1 1 1 1 1 1 1 1 1 9";
	static const char plus[] = "1 (x) S 1 1 1 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 +9";
	static const char good[] = "1 (x) S 1 1 1 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 9";
	struct gotrue_proc_stat st;

	ok(gotrue_proc_stat_parse(line, sizeof(line) - 1, &st) == 0 && st.state == 'S' &&
		   st.ppid == 1 && st.tty_nr == 34816 && st.start == 98765,
	   "stat: state, ppid, tty_nr (pts/0) and start time of a name with a space");
	ok(gotrue_proc_stat_parse(parens, sizeof(parens) - 1, &st) == 0 && st.state == 'R' &&
		   st.ppid == 12 && st.tty_nr == 0 && st.start == 5,
	   "stat: fields counted from the last ')', negative fields read past");
	ok(gotrue_proc_stat_parse(line, 60, &st) != 0 && st.start == 0,
	   "stat: a truncated line is refused and gives nothing");
	ok(gotrue_proc_stat_parse(neg_tty, strlen(neg_tty), &st) != 0,
	   "stat: a negative tty_nr is refused");
	ok(gotrue_proc_stat_parse(plus, strlen(plus), &st) != 0,
	   "stat: a signed start time is refused");
	ok(gotrue_proc_stat_parse(good, strlen(good), &st) == 0 && st.start == 9,
	   "stat: the same line with a plain start time is read");
	ok(gotrue_proc_stat_parse("1 (x)S 1", 8, &st) != 0, "stat: no space after the name");
	ok(gotrue_proc_stat_parse("1 (x) S 1\0 1", 12, &st) != 0, "stat: an embedded NUL");
	ok(gotrue_proc_stat(getpid(), &st) == 0 && st.start > 0 && st.ppid == getppid(),
	   "stat: this process's own entry");
	ok(gotrue_proc_stat(0, &st) == -ESRCH, "stat: pid 0 is no process");
}

static void test_cgroup(void)
{
	static const char unified[] = "0::/user.slice/user-1000.slice/session-3.scope\n";
	static const char hybrid[] = "12:memory:/user.slice\n"
				     "1:name=systemd:/user.slice/user-1000.slice/session-4.scope\n"
				     "0::/user.slice/user-1000.slice/session-3.scope\n";
	static const char v1[] =
		"2:cpu:/\n1:name=systemd:/user.slice/user-7.slice/session-c2.scope";
	char path[GOTRUE_CGROUP_MAX], id[65];

	ok(gotrue_proc_cgroup_parse(unified, sizeof(unified) - 1, path, sizeof(path)) == 0,
	   "cgroup: unified hierarchy");
	is_str(path, "/user.slice/user-1000.slice/session-3.scope", "cgroup: its path");
	ok(gotrue_proc_cgroup_parse(hybrid, sizeof(hybrid) - 1, path, sizeof(path)) == 0,
	   "cgroup: hybrid host");
	is_str(path, "/user.slice/user-1000.slice/session-3.scope",
	       "cgroup: the unified line wins over name=systemd");
	ok(gotrue_proc_cgroup_parse(v1, sizeof(v1) - 1, path, sizeof(path)) == 0,
	   "cgroup: v1-only host");
	is_str(path, "/user.slice/user-7.slice/session-c2.scope", "cgroup: the name=systemd line");
	ok(gotrue_proc_cgroup_parse("3:cpu:/a\n4:memory:/b\n", 20, path, sizeof(path)) != 0,
	   "cgroup: neither line: refused");
	ok(gotrue_proc_cgroup_parse(unified, sizeof(unified) - 1, path, 10) != 0,
	   "cgroup: a path that does not fit: refused");
	ok(gotrue_proc_cgroup(getpid(), path, sizeof(path)) == 0 && path[0] == '/',
	   "cgroup: this process's own (%s)", path);

	ok(gotrue_cgroup_logind_session("/user.slice/user-1000.slice/session-3.scope", id,
					sizeof(id)) == 0,
	   "logind: a session scope");
	is_str(id, "3", "logind: its session id");
	ok(gotrue_cgroup_logind_session("/user.slice/user-7.slice/session-c2.scope", id,
					sizeof(id)) == 0 &&
		   strcmp(id, "c2") == 0,
	   "logind: id c2");
	ok(gotrue_cgroup_logind_session("/system.slice/ssh.service", id, sizeof(id)) != 0 &&
		   id[0] == '\0',
	   "logind: sshd's service cgroup holds every session: none");
	ok(gotrue_cgroup_logind_session("/", id, sizeof(id)) != 0, "logind: the root: none");
	ok(gotrue_cgroup_logind_session("/user.slice/user-1000.slice/user@1000.service/app.slice/"
					"session-3.scope",
					id, sizeof(id)) != 0,
	   "logind: a look-alike inside the user's own delegated tree: none");
	ok(gotrue_cgroup_logind_session("/user.slice/user-x.slice/session-3.scope", id,
					sizeof(id)) != 0,
	   "logind: not under a user-UID slice: none");
	ok(gotrue_cgroup_logind_session("/user.slice/user-1.slice/session-.scope", id,
					sizeof(id)) != 0,
	   "logind: an empty id: none");
	ok(gotrue_cgroup_logind_session("/user.slice/user-1.slice/session-a;b.scope", id,
					sizeof(id)) != 0,
	   "logind: an id loginctl would not take: none");
}

static void test_ids(void)
{
	char boot[GOTRUE_BOOT_ID_LEN + 1];

	ok(!gotrue_audit_session_valid(GOTRUE_AUDIT_SESSION_UNSET),
	   "audit: the unset id names no login");
	ok(!gotrue_audit_session_valid(0), "audit: 0 names no login");
	ok(gotrue_audit_session_valid(1), "audit: 1 does");
	ok(gotrue_proc_boot_id(boot) == 0 && strlen(boot) == GOTRUE_BOOT_ID_LEN, "boot id: %s",
	   boot);
	ok(gotrue_proc_audit_session(-1) == GOTRUE_AUDIT_SESSION_UNSET, "audit: no process: unset");
}

int main(void)
{
	test_stat();
	test_cgroup();
	test_ids();
	return done_testing();
}
