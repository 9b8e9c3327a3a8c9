/* test_fault_matrix: every server fault against every operation.
 * Faults: connection refused, DNS failure, connect timeout, a stall after the headers, 500, 502,
 * 503, 429, a truncated body, garbage JSON, JSON of the wrong types, a 10 MiB body, an untrusted
 * TLS certificate, a TLS name mismatch, a redirect to another host. Operations: pam_authenticate
 * (also with offline_login = yes, for a user with a verifier: every fault but the rate limit,
 * which is an answer, logs her in offline) and pam_acct_mgmt and pam_close_session through the
 * real libpam, the refresh pass
 * (gotrue_refresh_pass) and the sync (gotrue_sync_run); faults on the signing keys at
 * jwks_url, for pam_authenticate; and a second-factor login whose
 * POST /factors/{id}/challenge or POST /factors/{id}/verify meets the fault after a healthy
 * password grant. Those two columns take the faults the server serves on that one path; the
 * faults of making a connection (refused, DNS, connect timeout, TLS) cannot happen there, since
 * the password grant's connection is the one reused, and take the forms a server failing
 * mid-login has: the connection closed without an answer, and (challenge) the server stopped. Each
 * cell checks the documented outcome (README.md ("When the server misbehaves")), that it ended
 * within timeout + 1 s, that the store and the NSS cache are intact (same files, every record
 * parses, the old cache and index byte-identical) and that no fault ever yields PAM_SUCCESS. Faults
 * the emulator serves are injected through its control API; the others are made here on loopback: a
 * bound port that does not listen (refused), a listener whose accept queue is full (SYNs dropped:
 * connect timeout),
 * `.invalid` (RFC 6761: never resolves) and a second address, 127.0.0.2, where a redirect would
 * land. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <security/pam_appl.h>

#include "api.h"
#include "emu.h"
#include "gotrue_config.h"
#include "lifecycle.h"
#include "log.h"
#include "mfa_replay.h"
#include "mfatest.h"
#include "offline.h"
#include "pamtest.h"
#include "secure.h"
#include "store.h"
#include "sync.h"
#include "tap.h"

#define TIMEOUT	 2 /* the config's timeout (connect_timeout follows it) */
#define LIMIT	 (TIMEOUT + 1.0)
#define PASSWORD "Correct-Horse-9"
#define SERVICE	 "faults"

enum via {
	V_REFUSED,	   /* url = a bound port nobody listens on */
	V_DNS,		   /* url = https://nonexistent.invalid */
	V_CONNECT_TIMEOUT, /* url = a listener whose accept queue is full */
	V_EMU,		   /* the healthy emulator with a fault injected */
	V_TLS_UNTRUSTED,   /* a --tls emulator, no ca_file: the test CA is not trusted */
	V_TLS_NAME,	   /* a --tls-name wrong.example emulator, its CA trusted */
};

/* What the refresh pass does with an active record due for refresh (lib/sync/lifecycle.c). */
enum refresh_expect {
	RX_DOWN,    /* GET /health fails first: -EHOSTUNREACH, nothing written */
	RX_RETRY,   /* /token answered "not processed" (429, 500, 503): counted failed, the
		       record kept with its unspent refresh token, retried next pass */
	RX_UNKNOWN, /* the server may have rotated: counted failed, the record kept with the
		       `refreshing` marker; the next pass revokes instead of reusing the token */
};

/* What close_session does when its POST /logout meets the fault (pam/session.c). */
enum close_expect {
	CE_KEPT,    /* PAM_SESSION_ERR, the record kept as closing for the refresh pass */
	CE_REVOKED, /* the fault cannot touch /logout's answer, 204 with no body (transcript
		       step 63): nothing to truncate or retype, and the server did revoke */
};

struct fault {
	const char *name;
	enum via via;
	const char *spec; /* V_EMU: the fault's fields after "path" (count -1 is added) */
	enum gotrue_error_kind kind; /* what the library reports (checked on sync) */
	long status;		     /* for GOTRUE_ERR_HTTP */
	enum refresh_expect refresh;
	enum close_expect close;
	const char *close_todo; /* a known defect: its close_session asserts are TAP TODO */
};

static const struct fault faults[] = {
	{"connection refused", V_REFUSED, NULL, GOTRUE_ERR_TRANSPORT, 0, RX_DOWN, CE_KEPT, NULL},
	{"DNS failure", V_DNS, NULL, GOTRUE_ERR_TRANSPORT, 0, RX_DOWN, CE_KEPT, NULL},
	{"connect timeout", V_CONNECT_TIMEOUT, NULL, GOTRUE_ERR_TIMEOUT, 0, RX_DOWN, CE_KEPT, NULL},
	{"stall after headers", V_EMU, "\"kind\":\"stall\"", GOTRUE_ERR_TIMEOUT, 0, RX_UNKNOWN,
	 CE_KEPT, NULL},
	{"HTTP 500", V_EMU, "\"kind\":\"status\",\"status\":500", GOTRUE_ERR_HTTP, 500, RX_RETRY,
	 CE_KEPT, NULL},
	{"HTTP 502", V_EMU, "\"kind\":\"status\",\"status\":502", GOTRUE_ERR_HTTP, 502, RX_UNKNOWN,
	 CE_KEPT, NULL},
	{"HTTP 503", V_EMU, "\"kind\":\"status\",\"status\":503", GOTRUE_ERR_HTTP, 503, RX_RETRY,
	 CE_KEPT, NULL},
	{"HTTP 429", V_EMU, "\"kind\":\"status\",\"status\":429", GOTRUE_ERR_HTTP, 429, RX_RETRY,
	 CE_KEPT, NULL},
	{"truncated body", V_EMU, "\"kind\":\"truncate\"", GOTRUE_ERR_TRANSPORT, 0, RX_UNKNOWN,
	 CE_REVOKED, NULL},
	{"garbage JSON", V_EMU, "\"kind\":\"garbage\"", GOTRUE_ERR_PROTOCOL, 0, RX_UNKNOWN, CE_KEPT,
	 NULL},
	{"JSON of wrong types", V_EMU, "\"kind\":\"wrong_types\"", GOTRUE_ERR_PROTOCOL, 0,
	 RX_UNKNOWN, CE_REVOKED, NULL},
	{"10 MiB body", V_EMU, "\"kind\":\"oversize\"", GOTRUE_ERR_TOO_LARGE, 0, RX_UNKNOWN,
	 CE_KEPT, NULL},
	{"untrusted TLS certificate", V_TLS_UNTRUSTED, NULL, GOTRUE_ERR_TLS, 0, RX_DOWN, CE_KEPT,
	 NULL},
	{"TLS name mismatch", V_TLS_NAME, NULL, GOTRUE_ERR_TLS, 0, RX_DOWN, CE_KEPT, NULL},
	{"redirect to another host", V_EMU, NULL /* built with the trap's port */,
	 GOTRUE_ERR_TRANSPORT /* "redirect refused" */, 302, RX_UNKNOWN, CE_KEPT, NULL},
};

#define N_FAULTS (sizeof(faults) / sizeof(faults[0]))

static struct emu *emu, *emu_tls, *emu_tls_name, *emu_jwks;
static struct mt_factor mona_f; /* the second-factor columns' user */
static char alice_id[64];	/* the offline column's user */
static char dir[] = "/tmp/test-faults-XXXXXX";
static char state_dir[256], conf_path[256], passwd_path[256], group_path[256];
static char jwks_state_dir[256], jwks_conf_path[256];
static char refused_url[64], timeout_url[64], trap_url[64];
static int refused_fd = -1, backlog_fd = -1, filler_fd[2] = {-1, -1}, trap_fd = -1;
static struct gotrue_sync_options sync_opt;
static int account_baseline = -1;
/* " # TODO why" while a cell with a known defect runs, else "": appended to every assert. */
static char todo[256] = "";

/* A TODO assert that fails is an expected failure (automake: XFAIL), not a failed test: take it
 * out of tap.h's count so that the exit status reflects only real failures. */
static int todo_ok(int passed)
{
	if (!passed && todo[0] != '\0')
		tap_failed--;
	return passed;
}

/* --- the environment ------------------------------------------------------------------------ */

static int write_conf(const char *url, const char *ca_file)
{
	FILE *f = fopen(conf_path, "w");

	if (f == NULL)
		return -1;
	fprintf(f,
		"url = %s\n"
		"service_role_key_file = %s/service_role.key\n"
		"jwt_secret_file = %s/jwt_secret\n"
		"email_domains = example.com\nemail_fallback = yes\n"
		"insecure_http_for_testing = yes\nallow_all_users = yes\n"
		"state_dir = %s\n"
		"timeout = %d\n"
		/* The emulator is a v2.69 server: with the default (forget) no close sends a
		 * /logout, and close_session's column is about what /logout meets. */
		"old_server_logout = global\n",
		url, emu_state_dir(emu), emu_state_dir(emu), state_dir, TIMEOUT);
	if (ca_file != NULL)
		fprintf(f, "ca_file = %s\n", ca_file);
	if (fclose(f) != 0)
		return -1;
	return chmod(conf_path, 0644);
}

static int heal(void)
{
	return emu_clear_faults(emu) == 0 && write_conf(emu_url(emu), NULL) == 0 ? 0 : -1;
}

/* Put fault @f in place; an emulator fault on @path ("*" or one endpoint). */
static int apply(const struct fault *f, const char *path)
{
	char json[512], *ca = NULL;
	int rc = -1;

	switch (f->via) {
	case V_REFUSED:
		rc = write_conf(refused_url, NULL);
		break;
	case V_DNS:
		/* https: plain http is refused for any host but loopback before a lookup. */
		rc = write_conf("https://nonexistent.invalid", NULL);
		break;
	case V_CONNECT_TIMEOUT:
		rc = write_conf(timeout_url, NULL);
		break;
	case V_TLS_UNTRUSTED:
		rc = write_conf(emu_url(emu_tls), NULL);
		break;
	case V_TLS_NAME:
		ca = emu_path(emu_tls_name, "ca.pem");
		rc = write_conf(emu_url(emu_tls_name), ca);
		break;
	case V_EMU:
		if (f->spec != NULL)
			snprintf(json, sizeof(json), "{\"path\":\"%s\",\"count\":-1,%s}", path,
				 f->spec);
		else
			snprintf(json, sizeof(json),
				 "{\"path\":\"%s\",\"count\":-1,\"kind\":\"redirect\","
				 "\"location\":\"%s/token?grant_type=password\"}",
				 path, trap_url);
		rc = emu_fault(emu, json);
		break;
	}
	free(ca);
	return rc;
}

static struct gotrue_config *load_cfg(void)
{
	struct gotrue_config *cfg = gotrue_config_new();

	if (cfg == NULL || gotrue_config_load_file(NULL, cfg, conf_path, false) != 0 ||
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0) {
		gotrue_config_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

static int listen_on(const char *addr, int backlog, char *url, size_t url_len)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
	    (backlog >= 0 && listen(fd, backlog) != 0)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(url, url_len, "http://%s:%u", addr, (unsigned)ntohs(sa.sin_port));
	return fd;
}

/* A connection to @port that the kernel has completed (true) or left waiting (false). */
static bool connect_filler(unsigned port, int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct pollfd p;
	int err = 0;
	socklen_t len = sizeof(err);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (*fd < 0)
		return false;
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS)
		return false;
	p.fd = *fd;
	p.events = POLLOUT;
	return poll(&p, 1, 300) == 1 && getsockopt(*fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
	       err == 0;
}

/* Loopback only. listen(fd, 0) leaves room for one connection in the accept queue; this test
 * never accepts, so once one connection sits there Linux drops every further SYN
 * (tcp_conn_request: "listen queue overflow") and the client's connect runs into its timeout. */
static int make_connect_timeout(void)
{
	unsigned port;

	backlog_fd = listen_on("127.0.0.1", 0, timeout_url, sizeof(timeout_url));
	if (backlog_fd < 0 || sscanf(timeout_url, "http://127.0.0.1:%u", &port) != 1)
		return -1;
	if (!connect_filler(port, &filler_fd[0]))
		return -1; /* the first must complete and fill the queue */
	if (connect_filler(port, &filler_fd[1])) {
		diag("a second connection completed: the accept queue does not fill here");
		return -1;
	}
	return 0;
}

/* Whether anything connected to the redirect's target (it must never). */
static bool trap_sprung(void)
{
	int fd = accept(trap_fd, NULL, NULL);

	if (fd >= 0) {
		close(fd);
		return true;
	}
	return false;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) != NULL &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size) {
		*len = (size_t)st.st_size;
	} else {
		free(buf);
		buf = NULL;
	}
	close(fd);
	return buf;
}

/* --- "intact": what a cell must leave as it found it ------------------------------------------ */

struct snapshot {
	char *cache, *accounts;
	size_t cache_len, accounts_len;
	char names[4096]; /* state_dir and sessions/ entries, sorted, lock files left out */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of @path (prefixed with @prefix), without *.lock: a lock file is created on first use
 * and is no state. Anything else new (a temporary file left by an interrupted write) is. */
static void list_names(const char *path, const char *prefix, char *out, size_t out_len)
{
	char *names[256];
	struct dirent *de;
	size_t n = 0, i, l;
	DIR *d = opendir(path);

	while (d != NULL && (de = readdir(d)) != NULL && n < 256) {
		l = strlen(de->d_name);
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (l > 5 && strcmp(de->d_name + l - 5, ".lock") == 0))
			continue;
		names[n++] = strdup(de->d_name);
	}
	if (d != NULL)
		closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(out + strlen(out), out_len - strlen(out), "%s%s ", prefix, names[i]);
		free(names[i]);
	}
}

static void snap(struct snapshot *s)
{
	char path[512];

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/nss.cache", state_dir);
	s->cache = slurp(path, &s->cache_len);
	snprintf(path, sizeof(path), "%s/accounts", state_dir);
	s->accounts = slurp(path, &s->accounts_len);
	list_names(state_dir, "", s->names, sizeof(s->names));
	snprintf(path, sizeof(path), "%s/sessions", state_dir);
	list_names(path, "sessions/", s->names, sizeof(s->names));
}

static void snap_free(struct snapshot *s)
{
	free(s->cache);
	free(s->accounts);
}

/* Every record file parses; returns how many there are, -1 when one does not. */
static int records_parse(void)
{
	char path[1024];
	struct gotrue_store_record rec;
	struct dirent *de;
	int n = 0;
	size_t len;
	char *buf;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sessions", state_dir);
	d = opendir(path);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (!gotrue_store_id_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/sessions/%s", state_dir, de->d_name);
		buf = slurp(path, &len);
		memset(&rec, 0, sizeof(rec));
		if (buf == NULL || gotrue_store_record_parse(buf, len, &rec) != 0 ||
		    strcmp(rec.id, de->d_name) != 0 || rec.refresh_token == NULL) {
			n = -1;
		} else if (n >= 0) {
			n++;
		}
		gotrue_store_record_clear(&rec);
		if (buf != NULL) {
			explicit_bzero(buf, len);
			free(buf);
		}
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* The cache and the index byte-identical, the same files (no record lost, none added, no
 * temporary left), and every record parses. */
static void check_intact(const struct snapshot *before, const char *cell)
{
	struct snapshot after;

	snap(&after);
	ok(before->cache != NULL && after.cache != NULL && after.cache_len == before->cache_len &&
		   memcmp(after.cache, before->cache, after.cache_len) == 0,
	   "%s: NSS cache byte-identical", cell);
	ok(before->accounts != NULL && after.accounts != NULL &&
		   after.accounts_len == before->accounts_len &&
		   memcmp(after.accounts, before->accounts, after.accounts_len) == 0,
	   "%s: account index byte-identical", cell);
	if (!todo_ok(ok(strcmp(after.names, before->names) == 0,
			"%s: same files in the state directory and the store%s", cell, todo)))
		diag("before: %s\n# after:  %s", before->names, after.names);
	ok(records_parse() >= 0, "%s: every record parses", cell);
	snap_free(&after);
}

static void check_time(double t0, const char *cell)
{
	double took = pt_now() - t0;

	ok(took <= LIMIT, "%s: done within timeout + 1 s (%.2f s)", cell, took);
}

/* --- the operations ------------------------------------------------------------------------- */

static void cell_authenticate(const struct fault *f)
{
	struct snapshot before;
	struct pt_conv c = {.answers = {PASSWORD}};
	pam_handle_t *pamh;
	char cell[128];
	double t0;
	int rc;

	snprintf(cell, sizeof(cell), "%s / authenticate", f->name);
	heal();
	snap(&before);
	apply(f, "*");
	pamh = pt_start(SERVICE, "alice", &c);
	t0 = pt_now();
	rc = pam_authenticate(pamh, 0);
	check_time(t0, cell);
	pam_end(pamh, rc);
	ok(rc != PAM_SUCCESS, "%s: no PAM_SUCCESS", cell);
	is_int(rc, PAM_AUTHINFO_UNAVAIL, "%s: PAM_AUTHINFO_UNAVAIL", cell);
	if (f->status == 429)
		ok(c.told[0] != '\0', "%s: the user is told (%s)", cell, strtok(c.told, "\n"));
	check_intact(&before, cell);
	snap_free(&before);
}

/* With offline_login, alice has a verifier from a healthy login (setup): each fault that leaves
 * no answer logs her in offline, without touching the verifier; a rate limit is an answer and
 * keeps it (pam/offline.c). */
static void cell_offline(const struct fault *f)
{
	struct gotrue_store_record rec = {0};
	struct snapshot before;
	struct pt_conv c = {.answers = {PASSWORD}};
	struct gotrue_store *st;
	pam_handle_t *pamh;
	char cell[128], path[512], *verifier, *after;
	const char *id;
	size_t vlen, alen;
	bool answered = f->status == 429;
	double t0;
	int rc;

	snprintf(cell, sizeof(cell), "%s / authenticate with offline_login", f->name);
	snprintf(path, sizeof(path), "%s/%s/%s", state_dir, GOTRUE_OFFLINE_DIR, alice_id);
	heal();
	verifier = slurp(path, &vlen);
	snap(&before);
	apply(f, "*");
	pamh = pt_start(SERVICE "-offline", "alice", &c);
	t0 = pt_now();
	rc = pam_authenticate(pamh, 0);
	check_time(t0, cell);
	if (answered) {
		is_int(rc, PAM_AUTHINFO_UNAVAIL, "%s: its online answer, PAM_AUTHINFO_UNAVAIL",
		       cell);
		ok(strstr(c.told, "Too many") != NULL && strstr(c.told, "offline") == NULL,
		   "%s: told the server's answer, not logged in offline", cell);
	} else {
		is_int(rc, PAM_SUCCESS, "%s: PAM_SUCCESS, offline", cell);
		ok(strstr(c.told, "Logged in offline") != NULL, "%s: told so", cell);
	}
	/* The pending record of an offline login, checked and removed: the rest must be intact. */
	id = rc == PAM_SUCCESS ? pam_getenv(pamh, "GOTRUE_SESSION_HANDLE") : NULL;
	st = id != NULL ? gotrue_store_open(NULL, state_dir) : NULL;
	if (!answered)
		ok(st != NULL && gotrue_store_read(st, id, &rec) == 0 && rec.offline &&
			   rec.access_token == NULL && rec.refresh_token == NULL,
		   "%s: its record is marked offline and holds no token", cell);
	gotrue_store_record_clear(&rec);
	if (st != NULL)
		gotrue_store_remove(st, id);
	gotrue_store_close(st);
	pam_end(pamh, rc);
	after = slurp(path, &alen);
	ok(verifier != NULL && after != NULL && alen == vlen && memcmp(after, verifier, vlen) == 0,
	   "%s: the verifier is untouched", cell);
	check_intact(&before, cell);
	snap_free(&before);
	free(verifier);
	free(after);
}

static void cell_account(const struct fault *f)
{
	struct snapshot before;
	struct pt_conv c = {0};
	pam_handle_t *pamh;
	char cell[128];
	double t0;
	int rc;

	snprintf(cell, sizeof(cell), "%s / account", f->name);
	heal();
	snap(&before);
	apply(f, "*");
	pamh = pt_start(SERVICE, "alice", &c);
	t0 = pt_now();
	rc = pam_acct_mgmt(pamh, 0);
	check_time(t0, cell);
	pam_end(pamh, rc);
	is_int(rc, account_baseline, "%s: unaffected (the answer with a healthy server)", cell);
	check_intact(&before, cell);
	snap_free(&before);
}

/* A healthy pass retries what a faulted close left: the revocation is not lost. */
static void retry_closing(const char *cell, const char *id)
{
	struct gotrue_refresh_summary sum = {0};
	struct gotrue_config *cfg;
	char path[512];

	heal();
	cfg = load_cfg();
	todo_ok(ok(cfg != NULL && gotrue_refresh_pass(NULL, cfg, NULL, &sum) == 0 &&
			   sum.retried == 1,
		   "%s: the next healthy refresh pass retries the revocation%s", cell, todo));
	snprintf(path, sizeof(path), "%s/sessions/%s", state_dir, id);
	ok(access(path, F_OK) != 0, "%s: and then removes the record", cell);
	gotrue_config_free(cfg);
}

/* Whether GoTrue still knows the session of @refresh_token (a refresh succeeds). The answer's
 * rotated tokens are dropped: the session is not used again. */
static bool server_session_alive(const char *refresh_token)
{
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg = load_cfg();
	struct gotrue_client *client = cfg ? gotrue_client_new(NULL, cfg) : NULL;
	bool alive = client != NULL && gotrue_refresh(client, refresh_token, &s, &err) == 0;

	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	return alive;
}

static void cell_close(const struct fault *f)
{
	struct snapshot before;
	struct pt_conv c = {.answers = {PASSWORD}};
	struct gotrue_store *st = NULL;
	struct gotrue_store_record rec = {0};
	pam_handle_t *pamh;
	char cell[128], id[GOTRUE_STORE_ID_LEN + 1] = "", *refresh_token = NULL;
	double t0;
	int rc;

	snprintf(cell, sizeof(cell), "%s / close_session", f->name);
	heal();
	pamh = pt_start(SERVICE, "alice", &c);
	rc = pt_login(pamh);
	if (!ok(rc == PAM_SUCCESS && pt_store_count(state_dir) == 1,
		"%s: session opened against the healthy server", cell)) {
		pam_end(pamh, rc);
		return;
	}
	snprintf(id, sizeof(id), "%s", pt_store_first(state_dir));
	st = gotrue_store_open(NULL, state_dir);
	if (st != NULL && gotrue_store_read(st, id, &rec) == 0)
		refresh_token = strdup(rec.refresh_token);
	gotrue_store_record_clear(&rec);
	snap(&before);
	apply(f, "*");
	t0 = pt_now();
	rc = pam_close_session(pamh, 0);
	check_time(t0, cell);
	pam_end(pamh, rc);
	heal();
	if (f->close_todo != NULL)
		snprintf(todo, sizeof(todo), " # TODO %s", f->close_todo);
	if (f->close == CE_REVOKED) {
		is_int(rc, PAM_SUCCESS, "%s: PAM_SUCCESS (revoked: 204 has no body to fault)",
		       cell);
		ok(refresh_token != NULL && !server_session_alive(refresh_token),
		   "%s: and GoTrue really ended the session", cell);
		ok(pt_store_count(state_dir) == 0 && records_parse() == 0, "%s: record removed",
		   cell);
	} else {
		todo_ok(ok(rc != PAM_SUCCESS, "%s: no PAM_SUCCESS%s", cell, todo));
		if (!todo_ok(ok(rc == PAM_SESSION_ERR, "%s: PAM_SESSION_ERR%s", cell, todo)))
			diag("got %d (%s)", rc, pam_strerror(NULL, rc));
		check_intact(&before, cell);
		todo_ok(ok(st != NULL && gotrue_store_read(st, id, &rec) == 0 &&
				   rec.state == GOTRUE_STORE_CLOSING && rec.access_token != NULL &&
				   refresh_token && strcmp(rec.refresh_token, refresh_token) == 0,
			   "%s: the record is kept, marked closing, with its tokens%s", cell,
			   todo));
		gotrue_store_record_clear(&rec);
		retry_closing(cell, id);
	}
	if (f->close_todo != NULL)
		diag("%s: GoTrue still knows the session after the close: %s", cell,
		     refresh_token && server_session_alive(refresh_token) ? "yes" : "no");
	todo[0] = '\0';
	/* Nothing left behind for the next cell, whatever happened. */
	if (st != NULL)
		gotrue_store_remove(st, id);
	gotrue_store_close(st);
	gotrue_wipe_free_str(refresh_token);
	snap_free(&before);
}

/* Sign in through the API and store an active session of this process due for refresh. */
static int due_record(struct gotrue_store_record *out)
{
	struct gotrue_credentials cred = {.email = "alice@example.com", .password = PASSWORD};
	struct gotrue_session s = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg = load_cfg();
	struct gotrue_client *client = cfg ? gotrue_client_new(NULL, cfg) : NULL;
	struct gotrue_store *st = gotrue_store_open(NULL, state_dir);
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (client == NULL || st == NULL || gotrue_signin_password(client, &cred, &s, &err) != 0 ||
	    gotrue_store_new_id(out->id) != 0)
		goto cleanup;
	out->state = GOTRUE_STORE_ACTIVE;
	out->user_id = strdup(s.user.id);
	out->login = strdup("alice");
	out->access_token = s.access_token;
	out->refresh_token = s.refresh_token;
	s.access_token = s.refresh_token = NULL;
	out->expires_at = time(NULL) + 60; /* inside the default 600 s margin */
	out->service = strdup(SERVICE);
	out->pid = getpid();
	out->pid_start = gotrue_store_pid_start(out->pid);
	rc = gotrue_store_write(st, out);
cleanup:
	gotrue_session_clear(&s);
	gotrue_error_clear(&err);
	gotrue_store_close(st);
	gotrue_client_free(client);
	gotrue_config_free(cfg);
	return rc;
}

static void cell_refresh(const struct fault *f)
{
	struct gotrue_refresh_summary sum = {0}, sum2 = {0};
	struct gotrue_store_record orig, rec = {0};
	struct gotrue_store *st = NULL;
	struct gotrue_config *cfg = NULL;
	struct snapshot before;
	char cell[128], path[512], *raw = NULL, *now;
	size_t raw_len = 0, now_len;
	double t0;
	int rc, rc2 = -1;

	snprintf(cell, sizeof(cell), "%s / refresh pass", f->name);
	heal();
	if (!ok(due_record(&orig) == 0, "%s: an active record due for refresh", cell)) {
		gotrue_store_record_clear(&orig);
		return;
	}
	snprintf(path, sizeof(path), "%s/sessions/%s", state_dir, orig.id);
	raw = slurp(path, &raw_len);
	snap(&before);
	/* On "*" every emulator fault stops the pass at GET /health, like the faults below the
	 * HTTP layer; on /token the pass gets as far as the refresh itself. */
	apply(f, f->via == V_EMU ? "/token" : "*");
	cfg = load_cfg();
	t0 = pt_now();
	rc = cfg ? gotrue_refresh_pass(NULL, cfg, NULL, &sum) : -EINVAL;
	check_time(t0, cell);
	gotrue_config_free(cfg);
	check_intact(&before, cell);
	st = gotrue_store_open(NULL, state_dir);
	ok(st != NULL && gotrue_store_read(st, orig.id, &rec) == 0 &&
		   rec.state == GOTRUE_STORE_ACTIVE && rec.refresh_token != NULL &&
		   strcmp(rec.refresh_token, orig.refresh_token) == 0 &&
		   strcmp(rec.access_token, orig.access_token) == 0 &&
		   rec.expires_at == orig.expires_at,
	   "%s: record kept, active, tokens and expiry unchanged", cell);
	switch (f->refresh) {
	case RX_DOWN:
		ok(rc == -EHOSTUNREACH && sum.server_down && sum.refreshed == 0,
		   "%s: -EHOSTUNREACH, server_down, nothing refreshed", cell);
		now = slurp(path, &now_len);
		ok(raw != NULL && now != NULL && now_len == raw_len &&
			   memcmp(now, raw, raw_len) == 0,
		   "%s: record byte-identical", cell);
		if (now != NULL) {
			explicit_bzero(now, now_len);
			free(now);
		}
		break;
	case RX_RETRY:
		ok(rc == 0 && !sum.server_down && sum.failed == 1 && sum.refreshed == 0,
		   "%s: pass ran, counted failed", cell);
		ok(!rec.refreshing, "%s: refresh token known unspent (no marker)", cell);
		break;
	case RX_UNKNOWN:
		ok(rc == 0 && sum.failed == 1 && sum.refreshed == 0, "%s: pass ran, counted failed",
		   cell);
		ok(rec.refreshing, "%s: marked as possibly spent (never sent again)", cell);
		break;
	}
	if (f->refresh != RX_DOWN && (rc != 0 || sum.failed != 1))
		diag("rc %d refreshed %u failed %u unchanged %u down %d", rc, sum.refreshed,
		     sum.failed, sum.unchanged, sum.server_down);
	/* The next healthy pass: an unspent token refreshes; a possibly spent one is not sent
	 * again, the session is revoked and the record kept as revoked (its owner, this process,
	 * still runs). */
	heal();
	cfg = load_cfg();
	if (cfg != NULL)
		rc2 = gotrue_refresh_pass(NULL, cfg, NULL, &sum2);
	gotrue_config_free(cfg);
	if (f->refresh == RX_UNKNOWN)
		ok(rc2 == 0 && sum2.revoked == 1 && sum2.refreshed == 0,
		   "%s: next healthy pass revokes instead of reusing the token", cell);
	else
		ok(rc2 == 0 && sum2.refreshed == 1, "%s: next healthy pass refreshes", cell);
	if (st != NULL)
		gotrue_store_remove(st, orig.id);
	gotrue_store_record_clear(&rec);
	gotrue_store_record_clear(&orig);
	gotrue_store_close(st);
	if (raw != NULL) {
		explicit_bzero(raw, raw_len);
		free(raw);
	}
	snap_free(&before);
}

/* --- the signing keys from jwks_url ---------------------------------------------------------- */

/* What authenticate gives when the keys at jwks_url cannot be had. jwks_url must be on the
 * server of url (lib/client/http.c refuses any other), so a connection that fails is a dropped one:
 * a server that refuses every connection fails the sign-in before the keys are fetched. */
static const struct jwks_fault {
	const char *name;
	const char *spec; /* an emulator fault on /.well-known/jwks.json; "": none */
	int pam;
} jwks_faults[] = {
	{"JWKS: healthy", "", PAM_SUCCESS},
	{"JWKS: HTTP 500", "\"kind\":\"status\",\"status\":500", PAM_AUTHINFO_UNAVAIL},
	{"JWKS: HTTP 502", "\"kind\":\"status\",\"status\":502", PAM_AUTHINFO_UNAVAIL},
	{"JWKS: HTTP 503", "\"kind\":\"status\",\"status\":503", PAM_AUTHINFO_UNAVAIL},
	{"JWKS: HTTP 429", "\"kind\":\"status\",\"status\":429", PAM_AUTHINFO_UNAVAIL},
	{"JWKS: stall after headers", "\"kind\":\"stall\"", PAM_AUTHINFO_UNAVAIL},
	{"JWKS: connection dropped", "\"kind\":\"drop\"", PAM_AUTHINFO_UNAVAIL},
	/* The server answers, but not with a usable key: the configuration is wrong. */
	{"JWKS: HTTP 404", "\"kind\":\"status\",\"status\":404", PAM_SERVICE_ERR},
	{"JWKS: no usable key", "\"kind\":\"status\",\"status\":200,\"body\":\"{\\\"keys\\\":[]}\"",
	 PAM_SERVICE_ERR},
};

/* An ES256 server whose keys come from jwks_url (no jwt_secret_file); its own state directory,
 * since its users' ids are not the ones of the main emulator's account index. */
static int write_jwks_conf(const char *jwks_url)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "url = %s\njwks_url = %s\n"
		 "email_domains = example.com\nemail_fallback = yes\n"
		 "insecure_http_for_testing = yes\nallow_all_users = yes\n"
		 "state_dir = %s\ntimeout = %d\n",
		 emu_url(emu_jwks), jwks_url, jwks_state_dir, TIMEOUT);
	return write_file(jwks_conf_path, text) == 0 ? chmod(jwks_conf_path, 0644) : -1;
}

static void cell_jwks(const struct jwks_fault *f)
{
	struct pt_conv c = {.answers = {PASSWORD}};
	char url[256], json[512], cell[128];
	pam_handle_t *pamh;
	double t0;
	int rc;

	snprintf(cell, sizeof(cell), "%s / authenticate", f->name);
	emu_clear_faults(emu_jwks);
	snprintf(url, sizeof(url), "%s/.well-known/jwks.json", emu_url(emu_jwks));
	if (write_jwks_conf(url) != 0) {
		ok(0, "%s: config", cell);
		return;
	}
	if (f->spec[0] != '\0') {
		snprintf(json, sizeof(json),
			 "{\"path\":\"/.well-known/jwks.json\",\"count\":-1,%s}", f->spec);
		emu_fault(emu_jwks, json);
	}
	pamh = pt_start(SERVICE "-jwks", "alice", &c);
	t0 = pt_now();
	rc = pam_authenticate(pamh, 0);
	check_time(t0, cell);
	pam_end(pamh, rc);
	if (!ok(rc == f->pam, "%s: %s", cell, pam_strerror(NULL, f->pam)))
		diag("got %s", pam_strerror(NULL, rc));
	emu_clear_faults(emu_jwks);
}

static void cell_sync(const struct fault *f)
{
	struct gotrue_sync_summary sum = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg;
	struct snapshot before;
	char cell[128];
	double t0;
	int rc;

	snprintf(cell, sizeof(cell), "%s / sync", f->name);
	heal();
	snap(&before);
	apply(f, "*");
	cfg = load_cfg();
	t0 = pt_now();
	rc = cfg ? gotrue_sync_run(NULL, cfg, &sync_opt, &sum, &err) : 0;
	check_time(t0, cell);
	is_int(rc, -1, "%s: -1 (%s)", cell, err.message);
	if (!ok(err.kind == f->kind && (f->status == 0 || err.http_status == f->status),
		"%s: reported as the fault it is", cell))
		diag("kind %d status %ld, want kind %d status %ld", (int)err.kind, err.http_status,
		     (int)f->kind, f->status);
	check_intact(&before, cell);
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	gotrue_config_free(cfg);
	snap_free(&before);
}

/* --- a second factor meets the fault --------------------------------------------------------- */

/* The forms a server failing between two requests of one login takes: the connection closed
 * without an answer, and the server stopped (SIGSTOP from the conversation, before the
 * challenge). V_STOPPED is read by cell_factor only. */
#define V_STOPPED ((enum via)100)
static const struct fault midway[] = {
	{"connection closed mid-login", V_EMU, "\"kind\":\"drop\"", GOTRUE_ERR_TRANSPORT, 0,
	 RX_UNKNOWN, CE_KEPT, NULL},
	{"server stopped mid-login", V_STOPPED, NULL, GOTRUE_ERR_TIMEOUT, 0, RX_UNKNOWN, CE_KEPT,
	 NULL},
};
#define N_MIDWAY (sizeof(midway) / sizeof(midway[0]))

/* The used-code file as a healthy start has it: there, and empty (a cell that sent a code keeps
 * it reserved, and the next cell's code is that same one). */
static int forget_codes(void)
{
	static unsigned char img[GOTRUE_MFA_REPLAY_FILE_SIZE];
	static struct gotrue_mfa_replay none;
	char path[512];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", state_dir, GOTRUE_MFA_REPLAY_FILE);
	gotrue_mfa_replay_render(&none, 1, img);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	rc = fwrite(img, 1, sizeof(img), f) == sizeof(img) ? 0 : -1;
	return fclose(f) == 0 && rc == 0 && chmod(path, 0600) == 0 ? 0 : -1;
}

struct factor_conv {
	const struct fault *f;
	bool stopped;
	char code[7];
};

/* kill(2) returns before the signal has stopped every thread: wait until /proc says so, or the
 * server could still answer the verify this cell means to meet a stopped server. */
static bool wait_stopped(pid_t pid)
{
	char path[64], buf[512], *paren;
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (i = 0; i < 500; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		buf[n > 0 ? n : 0] = '\0';
		paren = strrchr(buf, ')');
		if (paren != NULL && paren[1] == ' ' && paren[2] == 'T')
			return true;
		usleep(2000);
	}
	return false;
}

static const char *factor_code(struct pt_conv *c, int style, const char *prompt)
{
	struct factor_conv *fc = c->data;

	if (strstr(prompt, "Verification code") == NULL)
		return NULL;
	if (fc->f->via == V_STOPPED)
		fc->stopped = kill(emu_pid(emu), SIGSTOP) == 0 && wait_stopped(emu_pid(emu));
	mt_totp(mona_f.secret, 0, fc->code);
	return fc->code;
}

/* mona's password grant succeeds; her challenge or verify meets @f. */
static void cell_factor(const struct fault *f, const char *action)
{
	struct factor_conv fc = {.f = f};
	struct pt_conv c = {.answers = {PASSWORD}, .ask = factor_code, .data = &fc};
	struct snapshot before;
	pam_handle_t *pamh;
	char cell[160], path[128];
	double t0;
	int rc;

	if (f->via != V_EMU && f->via != V_STOPPED)
		return; /* made when connecting: see the header */
	snprintf(cell, sizeof(cell), "%s / second factor: %s", f->name, action);
	heal();
	forget_codes();
	snap(&before);
	snprintf(path, sizeof(path), "/factors/%s/%s", mona_f.id, action);
	if (f->via == V_EMU)
		apply(f, path);
	pamh = pt_start(SERVICE, "mona", &c);
	t0 = pt_now();
	rc = pam_authenticate(pamh, 0);
	check_time(t0, cell);
	if (fc.stopped)
		kill(emu_pid(emu), SIGCONT);
	pam_end(pamh, rc);
	ok(strstr(c.prompts, "Verification code") != NULL, "%s: the code was asked for", cell);
	ok(rc != PAM_SUCCESS, "%s: no PAM_SUCCESS", cell);
	is_int(rc, PAM_AUTHINFO_UNAVAIL, "%s: PAM_AUTHINFO_UNAVAIL", cell);
	if (f->status == 429)
		ok(c.told[0] != '\0', "%s: the user is told (%s)", cell, strtok(c.told, "\n"));
	/* No record: the aal1 session is never stored. */
	check_intact(&before, cell);
	snap_free(&before);
}

/* --- setup and the matrix -------------------------------------------------------------------- */

/* The offline column's service, and alice's verifier from a healthy login; its pending record
 * goes. */
static int offline_setup(void)
{
	struct pt_conv c = {.answers = {PASSWORD}};
	struct gotrue_store *st;
	pam_handle_t *pamh;
	char args[512];
	int rc = -1;

	snprintf(args, sizeof(args), "conf=%s offline_login=yes", conf_path);
	pamh = pt_service(SERVICE "-offline", args) == 0 ? pt_start(SERVICE "-offline", "alice", &c)
							 : NULL;
	if (pamh != NULL)
		rc = pam_authenticate(pamh, 0) == PAM_SUCCESS ? 0 : -1;
	st = rc == 0 ? gotrue_store_open(NULL, state_dir) : NULL;
	if (st != NULL)
		gotrue_store_remove(st, pam_getenv(pamh, "GOTRUE_SESSION_HANDLE"));
	gotrue_store_close(st);
	if (pamh != NULL)
		pam_end(pamh, rc == 0 ? PAM_SUCCESS : PAM_AUTH_ERR);
	return rc;
}

static int setup(void)
{
	static const char *const tls[] = {"--tls", NULL};
	static const char *const tls_name[] = {"--tls", "--tls-name", "wrong.example", NULL};
	static const char *const es256[] = {"--mode", "current", "--alg", "ES256", NULL};
	struct gotrue_sync_summary sum = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg = NULL;
	struct pt_conv c = {0};
	pam_handle_t *pamh;
	char args[512], *id = NULL, *mona = NULL;
	int rc = -1;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/gotrue.conf", dir);
	snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", dir);
	snprintf(group_path, sizeof(group_path), "%s/group", dir);
	snprintf(jwks_state_dir, sizeof(jwks_state_dir), "%s/state-jwks", dir);
	snprintf(jwks_conf_path, sizeof(jwks_conf_path), "%s/gotrue-jwks.conf", dir);
	sync_opt.passwd_path = passwd_path;
	sync_opt.group_path = group_path;
	if (mkdir(state_dir, 0700) != 0 ||
	    write_file(passwd_path, "root:x:0:0:root:/root:/bin/sh\n") != 0 ||
	    write_file(group_path, "root:x:0:\n") != 0)
		goto cleanup;
	emu = emu_start(NULL);
	emu_tls = emu_start(tls);
	emu_tls_name = emu_start(tls_name);
	emu_jwks = emu_start(es256);
	if (emu == NULL || emu_tls == NULL || emu_tls_name == NULL || emu_jwks == NULL)
		goto cleanup;
	/* Bound but never listening: the kernel answers every SYN with a RST. */
	refused_fd = listen_on("127.0.0.1", -1, refused_url, sizeof(refused_url));
	trap_fd = listen_on("127.0.0.2", 16, trap_url, sizeof(trap_url));
	if (refused_fd < 0 || trap_fd < 0 || make_connect_timeout() != 0)
		goto cleanup;
	id = emu_create_user(emu, "alice@example.com", PASSWORD, "{\"email_confirm\":true}");
	mona = emu_create_user(emu, "mona@example.com", PASSWORD, "{\"email_confirm\":true}");
	snprintf(args, sizeof(args), "conf=%s", conf_path);
	if (id == NULL || mona == NULL || heal() != 0 || pt_service(SERVICE, args) != 0 ||
	    mt_enroll(conf_path, "mona@example.com", PASSWORD, "mona-phone", NULL, true, &mona_f,
		      NULL) != 0 ||
	    forget_codes() != 0)
		goto cleanup;
	snprintf(alice_id, sizeof(alice_id), "%s", id);
	free(id);
	id = emu_create_user(emu_jwks, "alice@example.com", PASSWORD, "{\"email_confirm\":true}");
	snprintf(args, sizeof(args), "conf=%s", jwks_conf_path);
	if (id == NULL || mkdir(jwks_state_dir, 0700) != 0 ||
	    pt_service(SERVICE "-jwks", args) != 0)
		goto cleanup;
	/* The previous good state every cell must keep: a synced cache and index. */
	cfg = load_cfg();
	if (cfg == NULL || gotrue_sync_run(NULL, cfg, &sync_opt, &sum, &err) != 0 ||
	    sum.users != 2) {
		diag("initial sync: %s", err.message);
		goto cleanup;
	}
	pamh = pt_start(SERVICE, "alice", &c);
	if (pamh == NULL)
		goto cleanup;
	account_baseline = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, account_baseline);
	if (offline_setup() != 0)
		goto cleanup;
	rc = 0;
cleanup:
	gotrue_sync_summary_clear(&sum);
	gotrue_error_clear(&err);
	gotrue_config_free(cfg);
	free(id);
	free(mona);
	return rc;
}

static void teardown(void)
{
	char cmd[300];
	int *fds[] = {&refused_fd, &backlog_fd, &filler_fd[0], &filler_fd[1], &trap_fd};
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
	emu_stop(emu);
	emu_stop(emu_tls);
	emu_stop(emu_tls_name);
	emu_stop(emu_jwks);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", dir);
	pt_cleanup();
}

int main(void)
{
	struct pt_conv c = {0};
	pam_handle_t *probe;
	double t0 = pt_now();
	size_t i;

	if (getenv("GOTRUE_EMULATOR") == NULL)
		skip_all("GOTRUE_EMULATOR not set (run through make check)");
	gotrue_log_init("test_fault_matrix", GOTRUE_LOG_STDERR, false);
	pt_service("probe", "");
	probe = pt_start("probe", "nobody", &c);
	if (probe == NULL) {
		pt_cleanup();
		skip_all("libpam cannot read service files from a test directory");
	}
	pam_end(probe, PAM_SUCCESS);
	/* A fault that hangs must fail the test, not the CI job. */
	alarm(300);
	if (setup() != 0) {
		teardown();
		printf("Bail out! setup failed\n");
		return 99;
	}
	is_int(account_baseline, PAM_SUCCESS, "healthy server: account check succeeds");
	for (i = 0; i < N_FAULTS; i++) {
		diag("fault: %s", faults[i].name);
		cell_authenticate(&faults[i]);
		cell_offline(&faults[i]);
		cell_account(&faults[i]);
		cell_close(&faults[i]);
		cell_refresh(&faults[i]);
		cell_sync(&faults[i]);
		cell_factor(&faults[i], "challenge");
		cell_factor(&faults[i], "verify");
		if (faults[i].via == V_EMU && faults[i].spec == NULL)
			ok(!trap_sprung(), "%s: nothing reached the redirect's target",
			   faults[i].name);
	}
	for (i = 0; i < sizeof(jwks_faults) / sizeof(jwks_faults[0]); i++)
		cell_jwks(&jwks_faults[i]);
	for (i = 0; i < N_MIDWAY; i++) {
		diag("fault: %s", midway[i].name);
		cell_factor(&midway[i], "challenge");
		if (midway[i].via == V_EMU)
			cell_factor(&midway[i], "verify");
	}
	heal();
	ok(!trap_sprung(), "nothing ever reached 127.0.0.2");
	diag("matrix took %.1f s", pt_now() - t0);
	teardown();
	return done_testing();
}
