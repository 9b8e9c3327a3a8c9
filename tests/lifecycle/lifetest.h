/* lifetest: what the lifecycle tests share. A world is an emulator, a config that points at it, a
 * private state directory, a client and one user; sessions are signed in for real and written to
 * the store through the store API, exactly as pam/session.c's open_session and close_session
 * leave them. Header-only (static functions): each test program includes it once. */
#ifndef GOTRUE_TEST_LIFETEST_H
#define GOTRUE_TEST_LIFETEST_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "emu.h"
#include "lifecycle.h"
#include "log.h"
#include "store.h"

struct world {
	struct emu *emu;
	struct gotrue_config *cfg;
	struct gotrue_client *client; /* with the service-role key loaded */
	struct gotrue_store *st;
	char state_dir[64];
	char *user_id;
	const char *email, *password;
};

static inline void world_stop(struct world *w)
{
	char cmd[128];

	gotrue_store_close(w->st);
	gotrue_client_free(w->client);
	gotrue_config_free(w->cfg);
	emu_stop(w->emu);
	if (w->state_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->state_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# cannot remove %s\n", w->state_dir);
	}
	free(w->user_id);
	memset(w, 0, sizeof(*w));
}

/* @emu_args: NULL-terminated emulator arguments; @extra: config lines. 0 or -1. */
static inline int world_start(struct world *w, const char *const *emu_args, const char *extra)
{
	char *conf = NULL;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	gotrue_log_init("test", GOTRUE_LOG_STDERR, false);
	w->email = "life@example.com";
	w->password = "correct horse battery";
	snprintf(w->state_dir, sizeof(w->state_dir), "/tmp/gotrue-life-XXXXXX");
	if (mkdtemp(w->state_dir) == NULL) {
		w->state_dir[0] = '\0';
		goto cleanup;
	}
	w->emu = emu_start(emu_args);
	if (w->emu == NULL)
		goto cleanup;
	conf = emu_write_config(w->emu, extra);
	w->cfg = gotrue_config_new();
	if (conf == NULL || w->cfg == NULL ||
	    gotrue_config_load_file(NULL, w->cfg, conf, false) != 0 ||
	    gotrue_config_set(NULL, w->cfg, "state_dir", w->state_dir) != 0 ||
	    gotrue_config_load_secret(NULL, w->cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0)
		goto cleanup;
	w->client = gotrue_client_new(NULL, w->cfg);
	w->st = gotrue_store_open(NULL, w->state_dir);
	if (w->client == NULL || w->st == NULL)
		goto cleanup;
	w->user_id = emu_create_user(w->emu, w->email, w->password, "{}");
	if (w->user_id == NULL)
		goto cleanup;
	rc = 0;
cleanup:
	free(conf);
	return rc;
}

/* Sign in and store the session as @state, owned by @owner (0: none), the way the PAM module
 * does. The record id goes to @id. 0 or -1. */
static inline int world_session(struct world *w, enum gotrue_store_state state, pid_t owner,
				char id[GOTRUE_STORE_ID_LEN + 1])
{
	struct gotrue_credentials cred = {.email = w->email, .password = w->password};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	struct gotrue_store_record rec = {0};
	int rc = -1;

	if (gotrue_signin_password(w->client, &cred, &s, &err) != 0 || s.access_token == NULL)
		goto cleanup;
	if (gotrue_store_new_id(rec.id) != 0)
		goto cleanup;
	rec.state = state;
	rec.user_id = strdup(s.user.id);
	rec.login = strdup("life");
	rec.access_token = s.access_token;
	rec.refresh_token = s.refresh_token;
	s.access_token = s.refresh_token = NULL;
	rec.expires_at = s.expires_at;
	rec.service = strdup("sshd");
	if (owner > 0) {
		rec.pid = owner;
		rec.pid_start = gotrue_store_pid_start(owner);
	}
	if (gotrue_store_write(w->st, &rec) != 0)
		goto cleanup;
	memcpy(id, rec.id, GOTRUE_STORE_ID_LEN + 1);
	rc = 0;
cleanup:
	gotrue_store_record_clear(&rec);
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return rc;
}

/* Change a stored record in place (tests only: no lock needed, nothing else runs). */
static inline int world_patch(struct world *w, const char *id, time_t expires_at, time_t created)
{
	struct gotrue_store_record rec;
	int rc;

	rc = gotrue_store_read(w->st, id, &rec);
	if (rc == 0) {
		if (expires_at)
			rec.expires_at = expires_at;
		if (created)
			rec.created = created;
		rc = gotrue_store_write(w->st, &rec);
	}
	gotrue_store_record_clear(&rec);
	return rc;
}

/* A copy of record @id's access token, or with @refresh its refresh token (free()), NULL when it
 * has none. */
static inline char *world_token(struct world *w, const char *id, bool refresh)
{
	struct gotrue_store_record rec;
	char *tok = NULL;

	if (gotrue_store_read(w->st, id, &rec) == 0) {
		tok = refresh ? rec.refresh_token : rec.access_token;
		tok = tok != NULL ? strdup(tok) : NULL;
	}
	gotrue_store_record_clear(&rec);
	return tok;
}

static inline char *world_access_token(struct world *w, const char *id)
{
	return world_token(w, id, false);
}

static inline char *world_refresh_token(struct world *w, const char *id)
{
	return world_token(w, id, true);
}

/* PUT /admin/users/{id} {"ban_duration": @duration} for the world's user ("none" lifts the ban).
 * 0 or -1. */
static inline int world_ban(struct world *w, const char *duration)
{
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	int rc = gotrue_admin_ban_user(w->client, w->user_id, duration, &u, &err);

	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return rc == 0 ? 0 : -1;
}

/* Whether GoTrue still takes @refresh_token: a refresh with it succeeds (the answer's tokens are
 * dropped). */
static inline bool world_refresh_works(struct world *w, const char *refresh_token)
{
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	bool works =
		refresh_token != NULL && gotrue_refresh(w->client, refresh_token, &s, &err) == 0;

	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	return works;
}

/* GET /user with @token: the HTTP status (200, 401, 403...), 0 on transport failure. */
static inline long world_user_status(struct world *w, const char *token)
{
	struct gotrue_user u = {0};
	struct gotrue_error err = {0};
	long status;

	status = gotrue_user_get(w->client, token, &u, &err) == 0 ? 200 : err.http_status;
	gotrue_user_clear(&u);
	gotrue_error_clear(&err);
	return status;
}

/* A child that stands in for a session leader (sshd's session process). */
static inline pid_t spawn_leader(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* A real leader dies of SIGHUP; one started under nohup(1) would inherit it
		 * ignored. */
		signal(SIGHUP, SIG_DFL);
		execlp("sleep", "sleep", "300", (char *)NULL);
		_exit(127);
	}
	/* Wait until it is sleep, so that its start time is final (exec keeps it anyway). */
	usleep(20000);
	return pid;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Reap @pid once it has exited, waiting up to 10 s: a signal sent by the pass is delivered at
 * once, but on a loaded machine the child may take a while to be scheduled and die. Returns
 * @pid, or 0 while it still runs. */
static inline pid_t wait_exit(pid_t pid, int *status)
{
	pid_t rc = 0;
	int i;

	for (i = 0; i < 1000 && rc == 0; i++) {
		rc = waitpid(pid, status, WNOHANG);
		if (rc == 0)
			sleep_ms(10);
	}
	return rc;
}

static inline long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0') ? strtol(v, NULL, 10) : def;
}

#endif
