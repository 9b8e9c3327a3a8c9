/* emu.c: the C tests' driver for the GoTrue emulator (tests/emulator/gotrue-emulator, found
 * through $GOTRUE_EMULATOR): start it on a free loopback port with its own state directory, speak
 * its control API (tests/emulator/README.md) with libcurl, and stop it. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "emu.h"

struct emu {
	pid_t pid;
	char dir[256]; /* the state dir */
	char url[256];
	char *service_key;
};

struct buf {
	char *data;
	size_t len;
};

static size_t collect(char *p, size_t size, size_t n, void *cls)
{
	struct buf *b = cls;
	char *nd = realloc(b->data, b->len + size * n + 1);

	if (!nd)
		return 0;
	b->data = nd;
	memcpy(b->data + b->len, p, size * n);
	b->len += size * n;
	b->data[b->len] = '\0';
	return size * n;
}

/* One HTTP exchange with the emulator, at most @timeout seconds. Returns the status (or -1);
 * @out gets the body. */
static long request_t(const struct emu *e, const char *method, const char *path, const char *body,
		      const char *bearer, char **out, long timeout)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = {0};
	char url[512], auth[4096], *ca = NULL;
	long status = -1;

	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s%s", e->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strncmp(e->url, "https:", 6) == 0) {
		ca = emu_path(e, "ca.pem");
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	if (bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (out)
		*out = b.data ? b.data : strdup("");
	else
		free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(ca);
	return status;
}

static long request(const struct emu *e, const char *method, const char *path, const char *body,
		    const char *bearer, char **out)
{
	return request_t(e, method, path, body, bearer, out, 10L);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];

	if (d) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Read the emulator's "URL ..." line, waiting at most 10 s. */
static int read_url(int fd, char *url, size_t len)
{
	char line[256];
	size_t n = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (n < sizeof(line) - 1) {
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		r = read(fd, line + n, 1);
		if (r <= 0)
			return -1;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	if (strncmp(line, "URL ", 4) != 0)
		return -1;
	snprintf(url, len, "%s", line + 4);
	return 0;
}

struct emu *emu_start(const char *const *args)
{
	const char *bin = getenv("GOTRUE_EMULATOR");
	const char *tmp = getenv("TMPDIR");
	struct emu *e = calloc(1, sizeof(*e));
	int pipefd[2] = {-1, -1};
	size_t nargs = 0;
	char *key = NULL;

	if (!e || !bin || !*bin)
		goto fail;
	snprintf(e->dir, sizeof(e->dir), "%s/gotrue-emu.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(e->dir) || pipe(pipefd) != 0)
		goto fail;
	while (args && args[nargs])
		nargs++;
	e->pid = fork();
	if (e->pid < 0)
		goto fail;
	if (e->pid == 0) {
		const char **argv = calloc(nargs + 4, sizeof(*argv));
		int devnull = open("/dev/null", O_RDONLY);

		argv[0] = bin;
		argv[1] = "--state-dir";
		argv[2] = e->dir;
		for (size_t i = 0; i < nargs; i++)
			argv[3 + i] = args[i];
		dup2(pipefd[1], STDOUT_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	if (read_url(pipefd[0], e->url, sizeof(e->url)) != 0)
		goto fail;
	close(pipefd[0]);
	key = emu_path(e, "service_role.key");
	{
		FILE *f = fopen(key, "r");
		char line[4096];

		if (!f || !fgets(line, sizeof(line), f)) {
			if (f)
				fclose(f);
			goto fail;
		}
		fclose(f);
		line[strcspn(line, "\r\n")] = '\0';
		e->service_key = strdup(line);
	}
	free(key);
	return e;
fail:
	free(key);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	emu_stop(e);
	return NULL;
}

void emu_stop(struct emu *e)
{
	if (!e)
		return;
	if (e->pid > 0) {
		int status;
		struct timespec ts = {0, 20 * 1000 * 1000};

		kill(e->pid, SIGTERM);
		for (int i = 0; i < 250; i++) { /* 5 s, then no more patience */
			if (waitpid(e->pid, &status, WNOHANG) == e->pid)
				goto reaped;
			nanosleep(&ts, NULL);
		}
		kill(e->pid, SIGKILL);
		waitpid(e->pid, &status, 0);
	}
reaped:
	if (e->dir[0] && strstr(e->dir, "gotrue-emu."))
		remove_dir(e->dir);
	if (e->service_key) {
		memset(e->service_key, 0, strlen(e->service_key));
		free(e->service_key);
	}
	free(e);
}

const char *emu_url(const struct emu *e)
{
	return e->url;
}

pid_t emu_pid(const struct emu *e)
{
	return e->pid;
}

const char *emu_state_dir(const struct emu *e)
{
	return e->dir;
}

char *emu_path(const struct emu *e, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", e->dir, name) < 0)
		return NULL;
	return p;
}

int emu_fault(struct emu *e, const char *fault_json)
{
	return request(e, "POST", "/__emulator/fault", fault_json, NULL, NULL) == 200 ? 0 : -1;
}

int emu_clear_faults(struct emu *e)
{
	return request(e, "DELETE", "/__emulator/fault", NULL, NULL, NULL) == 200 ? 0 : -1;
}

long emu_count(struct emu *e, const char *endpoint)
{
	char *body = NULL;
	long n = -1;
	json_object *o = NULL, *v;

	if (request(e, "GET", "/__emulator/counts", NULL, NULL, &body) != 200)
		goto cleanup;
	o = json_tokener_parse(body);
	if (!o)
		goto cleanup;
	n = json_object_object_get_ex(o, endpoint, &v) ? (long)json_object_get_int64(v) : 0;
cleanup:
	json_object_put(o);
	free(body);
	return n;
}

int emu_wait_idle(struct emu *e, int timeout_ms)
{
	struct timespec pause = {0, 2 * 1000 * 1000};
	int waited = 0, idle = 0;

	/* Twice in a row, a pause apart: a request the kernel has queued but the server not yet
	 * read would not count as in flight on the first look. */
	while (idle < 2 && waited < timeout_ms) {
		idle = emu_count(e, "in_flight") == 0 ? idle + 1 : 0;
		nanosleep(&pause, NULL);
		waited += 2;
	}
	return idle >= 2 ? 0 : -1;
}

int emu_reset_counts(struct emu *e)
{
	return request(e, "POST", "/__emulator/reset", "{}", NULL, NULL) == 200 ? 0 : -1;
}

char *emu_create_user(struct emu *e, const char *email, const char *password,
		      const char *extra_json)
{
	json_object *req = NULL, *extra = NULL, *resp = NULL, *id;
	char *body = NULL, *out = NULL;

	extra = json_tokener_parse(extra_json && *extra_json ? extra_json : "{}");
	if (!extra || !json_object_is_type(extra, json_type_object))
		goto cleanup;
	req = json_object_new_object();
	json_object_object_add(req, "email", json_object_new_string(email));
	if (password)
		json_object_object_add(req, "password", json_object_new_string(password));
	json_object_object_add(req, "email_confirm", json_object_new_boolean(1));
	json_object_object_foreach(extra, k, v) json_object_object_add(req, k, json_object_get(v));
	if (request(e, "POST", "/admin/users", json_object_to_json_string(req), e->service_key,
		    &body) != 200)
		goto cleanup;
	resp = json_tokener_parse(body);
	if (resp && json_object_object_get_ex(resp, "id", &id))
		out = strdup(json_object_get_string(id));
cleanup:
	json_object_put(req);
	json_object_put(extra);
	json_object_put(resp);
	free(body);
	return out;
}

int emu_bulk_users(struct emu *e, long count, const char *prefix, const char *domain,
		   const char *extra_json)
{
	json_object *req = json_tokener_parse(extra_json && *extra_json ? extra_json : "{}");
	int rc = -1;

	if (!req || !json_object_is_type(req, json_type_object))
		goto cleanup;
	json_object_object_add(req, "count", json_object_new_int64(count));
	json_object_object_add(req, "prefix", json_object_new_string(prefix ? prefix : "u"));
	json_object_object_add(req, "domain",
			       json_object_new_string(domain ? domain : "example.com"));
	/* 100k users take seconds, more on a loaded machine: a longer wait than other calls */
	if (request_t(e, "POST", "/__emulator/users/bulk", json_object_to_json_string(req), NULL,
		      NULL, 300L) == 200)
		rc = 0;
cleanup:
	json_object_put(req);
	return rc;
}

char *emu_write_config(struct emu *e, const char *extra)
{
	char *path = emu_path(e, "gotrue.conf"), *pub = emu_path(e, "jwt_public.pem");
	char *ca = emu_path(e, "ca.pem");
	FILE *f;
	bool asym = access(pub, F_OK) == 0;

	f = path ? fopen(path, "w") : NULL;
	if (!f) {
		free(path);
		path = NULL;
		goto cleanup;
	}
	fprintf(f, "# written by tests/common/emu.c for %s\n", e->url);
	fprintf(f, "url = %s\n", e->url);
	fprintf(f, "service_role_key_file = %s/service_role.key\n", e->dir);
	if (asym)
		fprintf(f, "jwt_public_key = %s\n", pub);
	else
		fprintf(f, "jwt_secret_file = %s/jwt_secret\n", e->dir);
	if (access(ca, F_OK) == 0)
		fprintf(f, "ca_file = %s\n", ca);
	/* The emulator listens on an ephemeral loopback port. */
	if (strncmp(e->url, "http://", 7) == 0)
		fprintf(f, "insecure_http_for_testing = yes\n");
	/* Most tests are about something other than admission; those that are say how. */
	if (!extra || !strstr(extra, "allow_all_users"))
		fprintf(f, "allow_all_users = yes\n");
	if (extra && *extra)
		fprintf(f, "%s\n", extra);
	if (fclose(f) != 0) {
		free(path);
		path = NULL;
	}
	chmod(path ? path : "", 0644);
cleanup:
	free(pub);
	free(ca);
	return path;
}
