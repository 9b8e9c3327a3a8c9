/* test_load_concurrent: 200 authentications at once through the real libpam, one thread and one
 * pam_start_confdir transaction each, against one emulator (bcrypt cost from
 * GOTRUE_EMULATOR_BCRYPT_COST; make check sets 4). 150 give the right password and must get
 * PAM_SUCCESS, 50 a wrong one and must get PAM_AUTH_ERR; nothing crashes, and the emulator saw
 * exactly 200 password grants (no retry, no lost request, no request made twice).
 * Threads rather than processes: one address space is where shared state in the module (curl's
 * global init, OpenSSL, the log sink, the store's locks) would show a race. */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <security/pam_appl.h>

#include "emu.h"
#include "pamtest.h"
#include "store.h"
#include "tap.h"

#define THREADS	 200
#define USERS	 20
#define PASSWORD "Load-Test-Pass-7"
#define WRONG	 "not-the-password"

struct job {
	pthread_t t;
	int i;
	char user[32];
	const char *password;
	int want;
	int got; /* PAM code of pam_authenticate, or -1 when pam_start failed */
};

static pthread_barrier_t start_line;

/* pamtest's conversation keeps its struct pam_conv in a static, which is fine for one transaction
 * at a time but not for 200 threads starting at once: each thread here has its own. */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const struct job *j = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(j->password);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

/* What @state_dir/sessions holds: records that read back whole, pending, for a user of this test
 * (u0..), the lock file of each
 * (created with the record, lib/store/store.c make_lock_file), and anything else (a temp file left
 * by a writer, hidden or not, or a lock file without its record). */
struct dir_count {
	int whole;  /* records that read back whole */
	int locks;  /* "<id>.lock" whose record <id> exists */
	int others; /* every other entry but "." and ".." */
};

static void count_dir(const char *state_dir, struct dir_count *c)
{
	struct gotrue_store *st = gotrue_store_open(NULL, state_dir);
	struct dirent *de;
	struct stat sb;
	char path[1100], id[GOTRUE_STORE_ID_LEN + 1];
	size_t len;
	DIR *d;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "%s/sessions", state_dir);
	d = opendir(path);
	while (st != NULL && d != NULL && (de = readdir(d)) != NULL) {
		struct gotrue_store_record rec = {0};

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		len = strlen(de->d_name);
		if (len == GOTRUE_STORE_ID_LEN + 5 &&
		    strcmp(de->d_name + GOTRUE_STORE_ID_LEN, ".lock") == 0) {
			memcpy(id, de->d_name, GOTRUE_STORE_ID_LEN);
			id[GOTRUE_STORE_ID_LEN] = '\0';
			if (gotrue_store_id_valid(id) &&
			    fstatat(dirfd(d), id, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(sb.st_mode))
				c->locks++;
			else
				c->others++;
			continue;
		}
		if (gotrue_store_id_valid(de->d_name) &&
		    gotrue_store_read(st, de->d_name, &rec) == 0 &&
		    rec.state == GOTRUE_STORE_PENDING && rec.login != NULL && rec.login[0] == 'u' &&
		    rec.access_token != NULL && rec.refresh_token != NULL)
			c->whole++;
		else
			c->others++;
		gotrue_store_record_clear(&rec);
	}
	if (d != NULL)
		closedir(d);
	gotrue_store_close(st);
}

static void *run(void *arg)
{
	struct job *j = arg;
	struct pam_conv pc = {conv, j};
	pam_handle_t *pamh = NULL;

	j->got = -1;
	pthread_barrier_wait(&start_line);
#ifdef HAVE_PAM_START_CONFDIR
	if (pam_start_confdir("load", j->user, &pc, pt_confdir(), &pamh) != PAM_SUCCESS)
		return NULL;
#else
	return NULL;
#endif
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	j->got = pam_authenticate(pamh, 0);
	pam_end(pamh, j->got);
	return NULL;
}

int main(void)
{
	static struct job jobs[THREADS];
	char extra[1024], args[1024];
	struct emu *e;
	char *conf;
	int i, started = 0, right = 0, wrong = 0, bad = 0;
	struct dir_count dc;
	double t0;

#ifndef HAVE_PAM_START_CONFDIR
	skip_all("libpam has no pam_start_confdir");
#endif
	e = emu_start(NULL);
	if (e == NULL)
		skip_all("cannot start the emulator");
	/* A generous timeout: 200 requests at once on a busy CI machine must not turn into
	 * PAM_AUTHINFO_UNAVAIL, which would be the machine's fault, not the module's. The failure
	 * throttle stays on, its table read by every attempt and written by each of the 50
	 * failures at once, but with limits above what this test sends (10 wrong passwords for
	 * each of u3, u7..., 50 from the local bucket): over them it would rightly stop requests
	 * that this test counts. */
	snprintf(extra, sizeof(extra),
		 "email_domains = example.com\nemail_fallback = yes\nstate_dir = %s/load.store\n"
		 "timeout = 30\nthrottle_user_failures = 100\nthrottle_host_failures = 100\n",
		 pt_confdir());
	conf = emu_write_config(e, extra);
	snprintf(args, sizeof(args), "conf=%s", conf ? conf : "/nonexistent");
	snprintf(extra, sizeof(extra), "{\"password\":\"%s\"}", PASSWORD);
	if (!ok(conf != NULL && pt_service("load", args) == 0, "config and service file") ||
	    !ok(emu_bulk_users(e, USERS, "u", "example.com", extra) == 0, "%d users", USERS))
		goto cleanup;
	emu_reset_counts(e);

	pthread_barrier_init(&start_line, NULL, THREADS);
	for (i = 0; i < THREADS; i++) {
		struct job *j = &jobs[i];

		j->i = i;
		snprintf(j->user, sizeof(j->user), "u%d", i % USERS);
		/* Every fourth one wrong: 150 right, 50 wrong, interleaved. */
		j->password = i % 4 == 3 ? WRONG : PASSWORD;
		j->want = i % 4 == 3 ? PAM_AUTH_ERR : PAM_SUCCESS;
		if (pthread_create(&j->t, NULL, run, j) != 0)
			break;
		started++;
	}
	if (!ok(started == THREADS, "%d threads started", THREADS))
		exit(99); /* the barrier would wait forever */
	t0 = pt_now();
	for (i = 0; i < THREADS; i++) {
		pthread_join(jobs[i].t, NULL);
		if (jobs[i].got == jobs[i].want) {
			right += jobs[i].want == PAM_SUCCESS;
			wrong += jobs[i].want == PAM_AUTH_ERR;
		} else {
			bad++;
			diag("thread %d (%s, %s password): got %d, want %d", i, jobs[i].user,
			     jobs[i].want == PAM_SUCCESS ? "right" : "wrong", jobs[i].got,
			     jobs[i].want);
		}
	}
	diag("%d authentications in %.2f s", THREADS, pt_now() - t0);
	pthread_barrier_destroy(&start_line);
	is_int(right, 150, "right password: PAM_SUCCESS for all 150");
	is_int(wrong, 50, "wrong password: PAM_AUTH_ERR for all 50");
	is_int(bad, 0, "no other answer");
	/* Authenticate alone leaves each success's pending record for an open_session that never
	 * came (the refresh pass reaps those). 150 writers at once: every
	 * record must be there and read back whole, and nothing else (no temp file) left beside. */
	snprintf(extra, sizeof(extra), "%s/load.store", pt_confdir());
	count_dir(extra, &dc);
	is_int(dc.whole, 150, "150 pending records, each read back whole");
	is_int(dc.locks, 150, "each with its lock file, made with the record");
	is_int(dc.others, 0, "nothing else in the sessions directory (no temp file)");
	is_int(emu_count(e, "POST /token?grant_type=password"), THREADS,
	       "the emulator saw exactly %d password grants", THREADS);
cleanup:
	emu_stop(e);
	free(conf);
	pt_cleanup();
	return done_testing();
}
