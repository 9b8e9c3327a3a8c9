/* test_transport: the transport rules of lib/client/http.c (README.md, "How it talks to GoTrue")
 * against real sockets. Part one needs nothing but loopback sockets made here: a server that
 * accepts and never answers (timeout), a closed port (refused), a recording server (request
 * headers), canned answers (redirect, oversize, response headers), and the plain-http-to-remote
 * rule (no I/O at all). Part two drives the GoTrue emulator ($GOTRUE_EMULATOR): its faults (stall,
 * delay, oversize, redirect, drop, truncate), TLS (--tls, ca.pem, --tls-name) and requests side
 * by side on one multi. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "emu.h"
#include "gotrue_config.h"
#include "gotrue_error.h"
#include "http.h"

#define TIMEOUT	 2
#define MAX_CONN 4

static void skip(int n, const char *why)
{
	while (n-- > 0) {
		tap_n++;
		printf("ok %d # SKIP %s\n", tap_n, why);
	}
	fflush(stdout);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A listening TCP socket on @addr, port chosen by the kernel. */
static int listen_on(const char *addr, int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Did anyone connect to @fd (without accepting)? */
static bool has_pending(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

/* ---- a canned server: for connection i, record the request and write reply[i] (NULL: accept
 * and stay silent until stopped) ---- */
struct canned {
	int fd, port;
	const char *reply[MAX_CONN];
	char request[MAX_CONN][8192];
	int served;
	int held[MAX_CONN];
	pthread_t thread;
};

static void read_request(int c, char *buf, size_t size)
{
	size_t n = 0;
	char *end;
	long clen = 0;

	while (n + 1 < size) {
		ssize_t r = read(c, buf + n, size - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			if (cl && cl < end)
				clen = strtol(cl + 17, NULL, 10);
			if (n >= (size_t)(end + 4 - buf) + (size_t)clen)
				break;
		}
	}
	buf[n] = '\0';
}

static void *canned_main(void *arg)
{
	struct canned *s = arg;
	int i;

	for (i = 0; i < MAX_CONN; i++) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		s->held[i] = c;
		if (!s->reply[i]) {
			s->served = i + 1;
			continue; /* silent: keep the connection open, answer nothing */
		}
		read_request(c, s->request[i], sizeof(s->request[i]));
		if (strcmp(s->reply[i], "BIG") == 0) {
			/* chunked, no length: only the write callback's cap can stop it */
			static char chunk[65536];
			char head[32];
			int k;

			memset(chunk, 'x', sizeof(chunk));
			dprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n");
			for (k = 0; k < 64; k++) {
				snprintf(head, sizeof(head), "%zx\r\n", sizeof(chunk));
				if (write(c, head, strlen(head)) < 0 ||
				    write(c, chunk, sizeof(chunk)) < 0 || write(c, "\r\n", 2) < 0)
					break;
			}
		} else if (strncmp(s->reply[i], "KA:", 3) == 0) {
			/* keep-alive: answer a second request on the same connection */
			const char *r = s->reply[i] + 3;
			char second[4096];

			if (write(c, r, strlen(r)) > 0) {
				read_request(c, second, sizeof(second));
				if (second[0] && write(c, r, strlen(r)) < 0)
					second[0] = '\0';
			}
		} else if (write(c, s->reply[i], strlen(s->reply[i])) < 0) {
			/* the client may have gone: nothing to do */
		}
		s->served = i + 1;
		shutdown(c, SHUT_WR);
	}
	return NULL;
}

static int canned_start(struct canned *s)
{
	int i;

	for (i = 0; i < MAX_CONN; i++)
		s->held[i] = -1;
	s->fd = listen_on("127.0.0.1", &s->port);
	if (s->fd < 0)
		return -1;
	return pthread_create(&s->thread, NULL, canned_main, s);
}

static void canned_stop(struct canned *s)
{
	int i;

	/* shutdown() wakes the accept() */
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	for (i = 0; i < MAX_CONN; i++)
		if (s->held[i] >= 0)
			close(s->held[i]);
}

static struct gotrue_config *make_cfg(const char *url)
{
	struct gotrue_config *cfg = gotrue_config_new();

	if (!cfg)
		return NULL;
	/* through the real grammar where it accepts the value, else directly */
	cfg->insecure_http_for_testing = true; /* emulators on ephemeral loopback ports */
	if (gotrue_config_set(NULL, cfg, "url", url) != 0 || !cfg->url) {
		free(cfg->url);
		cfg->url = strdup(url);
	}
	if (gotrue_config_set(NULL, cfg, "timeout", "2") != 0 || cfg->timeout != TIMEOUT)
		cfg->timeout = TIMEOUT;
	if (cfg->connect_timeout <= 0 || cfg->connect_timeout > TIMEOUT)
		cfg->connect_timeout = TIMEOUT;
	if (cfg->max_response == 0)
		cfg->max_response = 1024 * 1024;
	return cfg;
}

static char *url_for(const char *host, int port)
{
	char *u = NULL;

	if (asprintf(&u, "http://%s:%d", host, port) < 0)
		return NULL;
	return u;
}

/* One request on a fresh handle; returns rc and fills @err/@resp; @secs = wall time. */
static int one(struct gotrue_config *cfg, const char *method, const char *path, const char *bearer,
	       const char *body, struct gotrue_http_response *resp, struct gotrue_error *err,
	       double *secs)
{
	struct gotrue_http *h = gotrue_http_new(NULL, cfg);
	double t0 = now();
	int rc;

	if (!h) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "gotrue_http_new");
		return -1;
	}
	rc = gotrue_http_request(h, method, path, bearer, body, resp, err);
	*secs = now() - t0;
	gotrue_http_free(h);
	return rc;
}

static void test_plain_http_remote(void)
{
	static const char *const refused[] = {
		"http://192.0.2.1", "http://example.com", "http://localhost.example.com",
		"http://128.0.0.1", "ftp://127.0.0.1",	  "http://[::2]"};
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	size_t i;
	double secs;
	int rc;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct gotrue_config *cfg = make_cfg(refused[i]);

		rc = one(cfg, "GET", "/health", NULL, NULL, &resp, &err, &secs);
		ok(rc == -1 && err.kind == GOTRUE_ERR_CONFIG, "%s refused as config (%s)",
		   refused[i], gotrue_error_kind_name(err.kind));
		ok(secs < 0.2, "%s refused before any I/O (%.3f s)", refused[i], secs);
		gotrue_config_free(cfg);
	}
	gotrue_error_clear(&err);
	gotrue_http_response_clear(&resp);
}

static void test_refused(void)
{
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg;
	char *url;
	double secs;
	int port, fd, rc;

	/* a port that was free a moment ago and is closed now */
	fd = listen_on("127.0.0.1", &port);
	close(fd);
	url = url_for("127.0.0.1", port);
	cfg = make_cfg(url);
	rc = one(cfg, "GET", "/health", NULL, NULL, &resp, &err, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TRANSPORT, "closed port: transport error (%s)",
	   gotrue_error_kind_name(err.kind));
	ok(secs < 1.0, "closed port: fails fast (%.3f s)", secs);
	gotrue_config_free(cfg);
	free(url);

	/* loopback over IPv6 is allowed (not a config error), and nothing listens on port 1 */
	cfg = make_cfg("http://[::1]:1");
	rc = one(cfg, "GET", "/health", NULL, NULL, &resp, &err, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TRANSPORT, "http://[::1]:1 allowed, refused (%s)",
	   gotrue_error_kind_name(err.kind));
	gotrue_config_free(cfg);
	gotrue_error_clear(&err);
}

static void test_silent_server(void)
{
	struct canned s = {.reply = {NULL}};
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg;
	char *url;
	double secs;
	int rc;

	if (canned_start(&s) != 0) {
		skip(3, "cannot listen");
		return;
	}
	url = url_for("127.0.0.1", s.port);
	cfg = make_cfg(url);
	rc = one(cfg, "POST", "/token?grant_type=password", NULL, "{\"password\":\"x\"}", &resp,
		 &err, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TIMEOUT, "silent server: timeout (%s: %s)",
	   gotrue_error_kind_name(err.kind), err.message);
	ok(secs <= TIMEOUT + 1.0, "silent server: abandoned within timeout+1 s (%.2f s)", secs);
	ok(secs >= TIMEOUT - 0.5, "silent server: waited about the timeout (%.2f s)", secs);
	canned_stop(&s);
	gotrue_config_free(cfg);
	free(url);
	gotrue_error_clear(&err);
}

static void test_request_headers(void)
{
	struct canned s = {
		.reply = {
			"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			"LINK: </admin/users?page=2&per_page=2>; rel=\"next\"\r\n"
			"x-total-count: 8\r\nX-Sb-Error-Code: none_really\r\n"
			"Content-Length: 11\r\nConnection: close\r\n\r\n{\"a\": true}",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
			"x-sb-error-code: invalid_credentials\r\nContent-Length: 39\r\n"
			"Connection: close\r\n\r\n{\"code\":\"other\",\"message\":\"Bad login\"}\n",
			"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot "
			"json!"}};
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg;
	struct gotrue_http *h;
	json_object *body = NULL, *out = NULL, *v = NULL;
	char *url, *abs = NULL;
	const char *req;
	int rc;

	if (canned_start(&s) != 0) {
		skip(20, "cannot listen");
		return;
	}
	url = url_for("127.0.0.1", s.port);
	cfg = make_cfg(url);
	free(cfg->api_key);
	cfg->api_key = strdup("test-anon-key");
	h = gotrue_http_new(NULL, cfg);

	body = json_object_new_object();
	json_object_object_add(body, "password", json_object_new_string("hunter2"));
	/* an absolute URL under the configured origin is allowed */
	if (asprintf(&abs, "%s/token?grant_type=password", url) < 0)
		abs = NULL;
	rc = gotrue_http_json(h, "POST", abs, "the.bearer.token", body, &out, &resp, &err);
	ok(rc == 0, "json call against the recording server (%s)", err.message);
	req = s.request[0];
	ok(strncmp(req, "POST /token?grant_type=password HTTP/1.1\r\n", 42) == 0, "request line");
	ok(strcasestr(req, "\r\napikey: test-anon-key\r\n") != NULL, "apikey header sent");
	ok(strcasestr(req, "\r\nX-Supabase-Api-Version: 2024-01-01\r\n") != NULL,
	   "X-Supabase-Api-Version header sent");
	ok(strcasestr(req, "\r\nAuthorization: Bearer the.bearer.token\r\n") != NULL,
	   "Authorization header sent");
	ok(strcasestr(req, "\r\nAccept: application/json\r\n") != NULL, "Accept header sent");
	ok(strcasestr(req, "\r\nContent-Type: application/json\r\n") != NULL,
	   "Content-Type header sent");
	ok(strcasestr(req, "\r\nUser-Agent: pam_gotrue/") != NULL, "User-Agent header sent");
	ok(strstr(req, "\r\n\r\n{\"password\":\"hunter2\"}") != NULL, "JSON body sent");
	ok(out && json_object_object_get_ex(out, "a", &v) && json_object_get_boolean(v),
	   "2xx body parsed");
	is_str(resp.link, "</admin/users?page=2&per_page=2>; rel=\"next\"",
	       "Link captured (case-insensitive name)");
	is_int(resp.total_count, 8, "X-Total-Count captured");
	is_str(resp.error_code, "none_really", "x-sb-error-code captured");
	json_object_put(out);
	out = NULL;

	/* error status: header code wins; body read through the decoder */
	rc = gotrue_http_json(h, "GET", "/user", NULL, NULL, &out, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_HTTP && err.http_status == 400,
	   "400 becomes an http error");
	is_str(err.code, "invalid_credentials", "x-sb-error-code wins over the body code");
	ok(strstr(s.request[1], "\r\nContent-Type:") == NULL && strstr(s.request[1], "apikey:"),
	   "GET: no Content-Type, apikey still sent");

	/* 204 with out != NULL: out = NULL, ok */
	out = (json_object *)1;
	rc = gotrue_http_json(h, "POST", "/logout?scope=local", "tok", NULL, &out, &resp, &err);
	ok(rc == 0 && out == NULL && resp.status == 204, "204: ok with out = NULL");
	ok(strncmp(s.request[2], "POST /logout?scope=local ", 25) == 0, "POST without a body");

	/* 2xx that is not JSON */
	rc = gotrue_http_json(h, "GET", "/health", NULL, NULL, &out, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_PROTOCOL && out == NULL, "2xx garbage: protocol (%s)",
	   gotrue_error_kind_name(err.kind));

	/* an absolute URL elsewhere is refused before any I/O */
	rc = gotrue_http_request(h, "GET", "http://127.0.0.2:1/admin/users", NULL, NULL, &resp,
				 &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_CONFIG, "absolute URL on another host refused");
	rc = gotrue_http_request(h, "GET", "/x\r\nInjected: 1", NULL, NULL, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_CONFIG, "CRLF in the path refused");
	rc = gotrue_http_request(h, "GET", "/x", "tok\r\nInjected: 1", NULL, &resp, &err);
	ok(rc == -1, "CRLF in the bearer refused");

	gotrue_http_free(h);
	canned_stop(&s);
	json_object_put(body);
	gotrue_config_free(cfg);
	gotrue_http_response_clear(&resp);
	gotrue_error_clear(&err);
	free(url);
	free(abs);
}

static void test_keepalive(void)
{
	struct canned s = {.reply = {"KA:HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
				     "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n"
				     "Connection: close\r\n\r\n"}};
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg;
	struct gotrue_http *h;
	char *url;
	int rc;

	if (canned_start(&s) != 0) {
		skip(2, "cannot listen");
		return;
	}
	url = url_for("127.0.0.1", s.port);
	cfg = make_cfg(url);
	h = gotrue_http_new(NULL, cfg);
	rc = gotrue_http_request(h, "GET", "/health", NULL, NULL, &resp, &err);
	ok(rc == 0 && resp.status == 200, "keep-alive: first request");
	rc = gotrue_http_request(h, "GET", "/health", NULL, NULL, &resp, &err);
	ok(rc == 0 && resp.status == 200, "keep-alive: second request reused the connection (%ld)",
	   resp.status);
	gotrue_http_free(h);
	canned_stop(&s);
	gotrue_config_free(cfg);
	gotrue_http_response_clear(&resp);
	free(url);
}

static void test_redirect_and_size(void)
{
	struct canned s = {.reply = {NULL}};
	char redirect[256];
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	struct gotrue_config *cfg;
	struct gotrue_http *h;
	char *url;
	int other_fd, other_port, rc;
	double t0;

	other_fd = listen_on("127.0.0.2", &other_port);
	if (other_fd < 0) {
		skip(7, "cannot listen on 127.0.0.2");
		return;
	}
	snprintf(redirect, sizeof(redirect),
		 "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:%d/token\r\n"
		 "Content-Length: 0\r\nConnection: close\r\n\r\n",
		 other_port);
	s.reply[0] = redirect;
	s.reply[1] = redirect;
	s.reply[2] = "HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\nConnection: close\r\n\r\n{";
	s.reply[3] = "BIG";
	if (canned_start(&s) != 0) {
		close(other_fd);
		skip(7, "cannot listen");
		return;
	}
	url = url_for("127.0.0.1", s.port);
	cfg = make_cfg(url);
	h = gotrue_http_new(NULL, cfg);

	rc = gotrue_http_request(h, "POST", "/token?grant_type=password", NULL, "{}", &resp, &err);
	ok(rc == 0 && resp.status == 302 && resp.location && strstr(resp.location, "127.0.0.2"),
	   "3xx returned to the caller with its location");
	rc = gotrue_http_json(h, "POST", "/token?grant_type=password", NULL, NULL, NULL, &resp,
			      &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TRANSPORT, "json: redirect refused (%s: %s)",
	   gotrue_error_kind_name(err.kind), err.message);
	ok(!has_pending(other_fd), "the other host received nothing");

	t0 = now();
	rc = gotrue_http_request(h, "GET", "/admin/users", NULL, NULL, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TOO_LARGE, "Content-Length 10 MiB: too large (%s)",
	   gotrue_error_kind_name(err.kind));
	rc = gotrue_http_request(h, "GET", "/admin/users", NULL, NULL, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TOO_LARGE, "4 MiB chunked: too large (%s)",
	   gotrue_error_kind_name(err.kind));
	ok(resp.body == NULL && resp.body_len == 0, "no partial body left behind");
	ok(now() - t0 < TIMEOUT, "size cap acts at once");

	gotrue_http_free(h);
	canned_stop(&s);
	close(other_fd);
	gotrue_config_free(cfg);
	gotrue_error_clear(&err);
	free(url);
}

/* ---- against the emulator ---- */

static int emu_request(struct emu *e, const char *ca, const char *path, struct gotrue_error *err,
		       struct gotrue_http_response *resp, double *secs)
{
	struct gotrue_config *cfg = make_cfg(emu_url(e));
	int rc;

	if (ca) {
		free(cfg->ca_file);
		cfg->ca_file = strdup(ca);
	}
	rc = one(cfg, "GET", path, NULL, NULL, resp, err, secs);
	gotrue_config_free(cfg);
	return rc;
}

#define EMU_FAULT_TESTS 17

static void test_emulator_faults(void)
{
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	struct gotrue_http *h;
	struct gotrue_config *cfg;
	struct emu *e;
	char fault[256];
	int other_fd, other_port, rc;
	double secs, t0;

	e = emu_start(NULL);
	if (!e) {
		skip(EMU_FAULT_TESTS, "emulator did not start");
		return;
	}
	rc = emu_request(e, NULL, "/health", &err, &resp, &secs);
	ok(rc == 0 && resp.status == 200, "emulator /health answers");

	emu_fault(e, "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"stall\",\"count\":1}");
	rc = emu_request(e, NULL, "/health", &err, &resp, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TIMEOUT, "stall: timeout (%s)",
	   gotrue_error_kind_name(err.kind));
	ok(secs <= TIMEOUT + 1.0, "stall: abandoned within timeout+1 s (%.2f s)", secs);

	emu_fault(e, "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"delay\",\"ms\":10000,"
		     "\"count\":1}");
	rc = emu_request(e, NULL, "/health", &err, &resp, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TIMEOUT, "delay 10 s: timeout (%s)",
	   gotrue_error_kind_name(err.kind));
	ok(secs <= TIMEOUT + 1.0, "delay: abandoned within timeout+1 s (%.2f s)", secs);

	emu_fault(e, "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"oversize\",\"count\":1}");
	rc = emu_request(e, NULL, "/health", &err, &resp, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TOO_LARGE, "oversize: too large (%s)",
	   gotrue_error_kind_name(err.kind));
	ok(strstr(err.message, "max_response (1048576 bytes)") != NULL,
	   "oversize: the error names the cap (%s)", err.message);
	{
		/* Only its head is wanted: the first max_response bytes, the rest left unread. */
		struct gotrue_config *hc = make_cfg(emu_url(e));
		struct gotrue_http *hh = gotrue_http_new(NULL, hc);
		bool cut = false;

		emu_fault(e, "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"oversize\","
			     "\"count\":1}");
		t0 = now();
		rc = gotrue_http_get_head(hh, "/health", NULL, &resp, &cut, &err);
		ok(rc == 0 && cut && resp.status == 200 && resp.body_len == hc->max_response &&
			   resp.body[0] == '"' && now() - t0 < TIMEOUT,
		   "oversize, head only: the first max_response bytes, cut (%s)", err.message);
		rc = gotrue_http_get_head(hh, "/health", NULL, &resp, &cut, &err);
		ok(rc == 0 && !cut && resp.status == 200 && strstr(resp.body, "version") != NULL,
		   "head only: a body within the cap is whole");
		gotrue_http_response_clear(&resp);
		gotrue_http_free(hh);
		gotrue_config_free(hc);
	}

	emu_fault(e, "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"drop\",\"count\":1}");
	rc = emu_request(e, NULL, "/health", &err, &resp, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TRANSPORT, "drop: transport (%s)",
	   gotrue_error_kind_name(err.kind));

	emu_fault(e, "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"truncate\",\"count\":1}");
	rc = emu_request(e, NULL, "/health", &err, &resp, &secs);
	ok(rc == -1 && (err.kind == GOTRUE_ERR_TRANSPORT || err.kind == GOTRUE_ERR_TIMEOUT),
	   "truncate: transport or timeout (%s)", gotrue_error_kind_name(err.kind));

	emu_fault(e, "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"status\",\"status\":503,"
		     "\"count\":1}");
	cfg = make_cfg(emu_url(e));
	h = gotrue_http_new(NULL, cfg);
	rc = gotrue_http_json(h, "GET", "/health", NULL, NULL, NULL, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_HTTP && err.http_status == 503, "status 503: http");

	other_fd = listen_on("127.0.0.2", &other_port);
	snprintf(fault, sizeof(fault),
		 "{\"path\":\"/health\",\"method\":\"GET\",\"kind\":\"redirect\",\"location\":"
		 "\"http://127.0.0.2:%d/\",\"count\":1}",
		 other_port);
	emu_fault(e, fault);
	t0 = now();
	rc = gotrue_http_json(h, "GET", "/health", NULL, NULL, NULL, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TRANSPORT && now() - t0 < TIMEOUT,
	   "redirect to another host: refused (%s)", gotrue_error_kind_name(err.kind));
	ok(other_fd >= 0 && !has_pending(other_fd), "redirect target received nothing");
	if (other_fd >= 0)
		close(other_fd);

	/* current server: with our X-Supabase-Api-Version the error is {"code","message"} */
	rc = gotrue_http_json(h, "GET", "/user", "not-a-jwt", NULL, NULL, &resp, &err);
	ok(rc == -1 && err.kind == GOTRUE_ERR_HTTP && err.http_status == 401,
	   "bad token: 401 (%ld)", err.http_status);
	is_str(err.code, "bad_jwt", "bad token: bad_jwt");
	rc = gotrue_http_json(h, "GET", "/nope", NULL, NULL, NULL, &resp, &err);
	ok(rc == -1 && err.http_status == 404, "unknown route: 404");

	gotrue_http_free(h);
	gotrue_config_free(cfg);
	emu_stop(e);
	gotrue_http_response_clear(&resp);
	gotrue_error_clear(&err);
}

#define EMU_TLS_TESTS 5

static void test_emulator_tls(void)
{
	static const char *const tls[] = {"--tls", NULL};
	static const char *const wrong[] = {"--tls", "--tls-name", "wrong.example", NULL};
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	struct emu *e;
	char *ca;
	double secs;
	int rc;

	e = emu_start(tls);
	if (!e) {
		skip(EMU_TLS_TESTS, "TLS emulator did not start");
		return;
	}
	ok(strncmp(emu_url(e), "https://", 8) == 0, "TLS emulator URL is https");
	rc = emu_request(e, NULL, "/health", &err, &resp, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TLS, "no ca_file: TLS error (%s: %s)",
	   gotrue_error_kind_name(err.kind), err.message);
	ca = emu_path(e, "ca.pem");
	rc = emu_request(e, ca, "/health", &err, &resp, &secs);
	ok(rc == 0 && resp.status == 200, "ca_file = ca.pem: accepted (%s)", err.message);
	free(ca);
	emu_stop(e);

	e = emu_start(wrong);
	if (!e) {
		skip(2, "TLS emulator with --tls-name did not start");
		return;
	}
	ca = emu_path(e, "ca.pem");
	rc = emu_request(e, ca, "/health", &err, &resp, &secs);
	ok(rc == -1 && err.kind == GOTRUE_ERR_TLS, "name mismatch: TLS error (%s: %s)",
	   gotrue_error_kind_name(err.kind), err.message);
	ok(resp.body == NULL, "name mismatch: no body");
	free(ca);
	emu_stop(e);
	gotrue_http_response_clear(&resp);
	gotrue_error_clear(&err);
}

/* A copy of @from at @to with @mode and owner @uid. 0 or -1. */
static int copy_as(const char *from, const char *to, mode_t mode, uid_t uid)
{
	char buf[65536];
	size_t n;
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	int rc = -1;

	if (in == NULL || out == NULL)
		goto cleanup;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (fwrite(buf, 1, n, out) != n)
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (in != NULL)
		fclose(in);
	if (out != NULL && fclose(out) != 0)
		rc = -1;
	if (rc == 0 && (chmod(to, mode) != 0 || chown(to, uid, (gid_t)-1) != 0))
		rc = -1;
	return rc;
}

#define EMU_CA_CHECK_TESTS 7

/* ca_file is held to the config file's rules (gotrue_read_file, GOTRUE_FILE_CONFIG) and reaches
 * libcurl as the bytes checked: a CA that anyone could have swapped fails every request closed,
 * as a config error, before anything is sent. */
static void test_ca_file_checks(void)
{
	static const char *const tls[] = {"--tls", NULL};
	static const struct {
		const char *name;
		mode_t mode;
		uid_t uid;
		bool link;
	} bad[] = {
		{"owned by nobody", 0644, 65534, false},
		{"mode 0666", 0666, 0, false},
		{"through a symlink", 0644, 0, true},
		{"nobody's, 0666, through a symlink", 0666, 65534, true},
	};
	struct gotrue_http_response resp = {0};
	struct gotrue_error err = {0};
	char dir[] = "/tmp/gotrue-ca.XXXXXX", good[64], path[96], target[96];
	struct emu *e;
	char *ca = NULL;
	double secs;
	size_t i;
	int rc;

	e = emu_start(tls);
	if (e == NULL || geteuid() != 0 || mkdtemp(dir) == NULL) {
		skip(EMU_CA_CHECK_TESTS, "needs root (chown) and the TLS emulator");
		emu_stop(e);
		return;
	}
	ca = emu_path(e, "ca.pem");
	snprintf(good, sizeof(good), "%s/good.pem", dir);
	rc = copy_as(ca, good, 0644, 0) == 0 ? emu_request(e, good, "/health", &err, &resp, &secs)
					     : -1;
	ok(rc == 0 && resp.status == 200, "ca_file root-owned 0644: accepted (%s)", err.message);
	emu_reset_counts(e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/bad%zu.pem", dir, i);
		snprintf(target, sizeof(target), "%s/target%zu.pem", dir, i);
		rc = copy_as(ca, bad[i].link ? target : path, bad[i].mode, bad[i].uid);
		if (rc == 0 && bad[i].link)
			rc = symlink(target, path);
		rc = rc == 0 ? emu_request(e, path, "/health", &err, &resp, &secs) : 0;
		ok(rc == -1 && err.kind == GOTRUE_ERR_CONFIG, "ca_file %s: a config error (%s: %s)",
		   bad[i].name, gotrue_error_kind_name(err.kind), err.message);
		unlink(path);
		unlink(target);
	}
	is_int(emu_count(e, "GET /health"), 0, "no request sent with an untrusted ca_file");
	rc = emu_request(e, good, "/health", &err, &resp, &secs);
	ok(rc == 0 && resp.status == 200, "the good one still works after (%s)", err.message);
	unlink(good);
	rmdir(dir);
	free(ca);
	emu_stop(e);
	gotrue_http_response_clear(&resp);
	gotrue_error_clear(&err);
}

#define EMU_MULTI_TESTS 6
/* The multi helper (lib/client/http.h), as the refresh pass uses it: a request started on one
 * handle goes on, and is seen to end, while a one-call request of another handle attached to the
 * same multi runs; gotrue_http_multi_wait waits for whichever ends. */
static void test_emulator_multi(void)
{
	struct gotrue_http_response r1 = {0}, r2 = {0};
	struct gotrue_error err = {0};
	struct gotrue_http_multi *m = gotrue_http_multi_new();
	struct gotrue_config *cfg;
	struct gotrue_http *h1, *h2;
	struct emu *e = emu_start(NULL);
	double t0;
	int rc;

	if (e == NULL || m == NULL) {
		skip(EMU_MULTI_TESTS, "emulator or multi did not start");
		gotrue_http_multi_free(m);
		emu_stop(e);
		return;
	}
	cfg = make_cfg(emu_url(e));
	h1 = gotrue_http_new(NULL, cfg);
	h2 = gotrue_http_new(NULL, cfg);
	gotrue_http_attach(h2, m);
	/* 100 ms for h1's request, 400 ms for h2's: by path, as the two may reach the server in
	 * either order (h1's goes out on the multi's next turn). */
	emu_fault(e, "{\"path\":\"/health\",\"kind\":\"delay\",\"ms\":100,\"count\":1}");
	emu_fault(e, "{\"path\":\"/settings\",\"kind\":\"delay\",\"ms\":400,\"count\":1}");
	t0 = now();
	rc = gotrue_http_start(m, h1, "GET", "/health", NULL, NULL, false, &r1, &err);
	ok(rc == 0 && !gotrue_http_ended(h1), "multi: a request started, not ended yet");
	rc = gotrue_http_request(h2, "GET", "/settings", NULL, NULL, &r2, &err);
	ok(rc == 0 && r2.status == 200 && now() - t0 >= 0.35,
	   "multi: a one-call request of an attached handle answered (%.2f s)", now() - t0);
	ok(gotrue_http_ended(h1), "multi: the other request ended meanwhile, with no wait for it");
	rc = gotrue_http_finish(m, h1, "GET", "/health", NULL, &err);
	ok(rc == 0 && r1.status == 200, "multi: its answer is read at once");

	emu_fault(e, "{\"path\":\"/health\",\"kind\":\"delay\",\"ms\":300,\"count\":1}");
	t0 = now();
	rc = gotrue_http_start(m, h1, "GET", "/health", NULL, NULL, false, &r1, &err);
	while (rc == 0 && !gotrue_http_ended(h1) && now() - t0 < 3 * TIMEOUT)
		rc = gotrue_http_multi_wait(m, 50);
	ok(rc == 0 && gotrue_http_ended(h1) && now() - t0 >= 0.25 && now() - t0 < TIMEOUT,
	   "multi: waited for the request to end (%.2f s)", now() - t0);
	rc = gotrue_http_finish(m, h1, "GET", "/health", NULL, &err);
	ok(rc == 0 && r1.status == 200, "multi: and read it");

	gotrue_http_response_clear(&r1);
	gotrue_http_response_clear(&r2);
	gotrue_error_clear(&err);
	gotrue_http_free(h1);
	gotrue_http_free(h2);
	gotrue_http_multi_free(m);
	gotrue_config_free(cfg);
	emu_stop(e);
}

int main(void)
{
	const char *emulator = getenv("GOTRUE_EMULATOR");

	/* a server that goes away while we write must not kill the test */
	signal(SIGPIPE, SIG_IGN);
	test_plain_http_remote();
	test_refused();
	test_silent_server();
	test_request_headers();
	test_keepalive();
	test_redirect_and_size();
	if (emulator && access(emulator, X_OK) == 0) {
		test_emulator_faults();
		test_emulator_tls();
		test_ca_file_checks();
		test_emulator_multi();
	} else {
		skip(EMU_FAULT_TESTS + EMU_TLS_TESTS + EMU_CA_CHECK_TESTS + EMU_MULTI_TESTS,
		     "no emulator ($GOTRUE_EMULATOR)");
	}
	return done_testing();
}
