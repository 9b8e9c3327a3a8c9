/* http: the only code that talks to the network. One libcurl easy handle per struct gotrue_http,
 * reused so that keep-alive connections survive between the calls of one PAM conversation or one
 * sync run. It enforces the transport rules (README.md, "How it talks to GoTrue"): TLS verification
 * always on, plain http only to loopback (checked before any I/O), connect and total timeouts, a
 * response-size cap, no redirects, and the apikey / X-Supabase-Api-Version headers. Request and
 * response buffers carry passwords and tokens, so every copy we own is wiped before it is freed. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <curl/curl.h>

#include "gotrue_json.h"
#include "http.h"
#include "log.h"
#include "secure.h"

/* Version 2024-01-01 of the API: errors come as {"code","message"} (current-server.md). */
#define API_VERSION_HEADER "X-Supabase-Api-Version: 2024-01-01"
#define USER_AGENT	   PACKAGE_NAME "/" VERSION
/* A captured header value (Link, Location, x-sb-error-code) longer than this is not a GoTrue
 * answer; the response is refused as too large rather than cut (a cut Link would end paging). */
#define HEADER_VALUE_MAX (16 * 1024)
#define BODY_INITIAL_CAP 4096

struct gotrue_http {
	pam_handle_t *pamh;
	const struct gotrue_config *cfg; /* borrowed: outlives the handle */
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	/* state of the request in flight, for the callbacks */
	struct gotrue_http_response *resp;
	size_t body_cap;
	size_t header_bytes;
	size_t limit;
	bool too_large;
	bool header_too_large; /* too_large came from the headers, not the body */
	bool keep_head;	       /* gotrue_http_get_head: a body over @limit is cut, not refused */
	bool cut;	       /* ...and this one was */
	bool nomem;
	/* ca_file's bytes, read once per handle with the config file's checks (gotrue_read_file:
	 * root-owned, not a link, not writable by group or others, size cap) and handed to libcurl
	 * as a blob, so that what verifies the server is what was checked, not whatever the path
	 * names when libcurl opens it. */
	char *ca;
	size_t ca_len;
	/* An entity tag for the next requests' If-None-Match (gotrue_http_set_if_none_match), or
	 * NULL. */
	char *if_none_match;
	/* Where the body goes instead of memory (gotrue_http_set_sink), or NULL. */
	gotrue_http_sink sink;
	void *sink_ctx;
	/* The request in flight's URL and header list, which curl reads until it ends. */
	char *url;
	struct curl_slist *headers;
	/* In a gotrue_http_multi: started and not finished yet; done, with its result. */
	bool in_multi, done;
	CURLcode result;
	/* gotrue_http_attach: the multi its one-call requests run on, or NULL. */
	struct gotrue_http_multi *multi;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe before 7.84 and must run once per process. Inside a PAM
 * module curl_global_cleanup is never called: the host (sshd, sudo) may use libcurl itself, and
 * the module can be unloaded and loaded again. */
/* libcurl copies a small request body (a sign-in's password) into a buffer of its own and frees
 * it without wiping, as it does with its header buffers (which carry the bearer token). So curl
 * gets an allocator whose free and realloc wipe the whole old block first (malloc_usable_size:
 * the block, not just what was asked for). It only takes effect when we are the first in the
 * process to initialise libcurl, which is the case in sshd, sudo and login. */
static void wiping_free(void *p)
{
	if (p != NULL)
		explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static void *wiping_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	old = malloc_usable_size(p);
	q = malloc(n ? n : 1);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	wiping_free(p);
	return q;
}

static void global_init(void)
{
	char *keylog = NULL;

	/* libcurl (before 8.x made it a build option) opens $SSLKEYLOGFILE during global init and
	 * appends every TLS session secret to it. In a setuid program (sudo, su: AT_SECURE) that
	 * variable comes from the invoking user: root would write secrets to a file of their
	 * choosing. Hide it from curl for that one call and put the environment back. */
	if (getauxval(AT_SECURE) && getenv("SSLKEYLOGFILE")) {
		keylog = strdup(getenv("SSLKEYLOGFILE"));
		unsetenv("SSLKEYLOGFILE");
	}
	global_rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wiping_free, wiping_realloc,
					 strdup, calloc);
	if (keylog) {
		setenv("SSLKEYLOGFILE", keylog, 1);
		free(keylog);
	}
}

int gotrue_http_global_init(void)
{
	return pthread_once(&global_once, global_init) == 0 && global_rc == CURLE_OK ? 0 : -1;
}

static bool global_ok(void)
{
	return gotrue_http_global_init() == 0;
}

struct gotrue_http *gotrue_http_new(pam_handle_t *pamh, const struct gotrue_config *cfg)
{
	struct gotrue_http *h = NULL;

	if (!cfg || !global_ok())
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->pamh = pamh;
	h->cfg = cfg;
	/* With CURLOPT_NOSIGNAL a synchronous resolver ignores the timeouts: only a threaded or
	 * c-ares resolver keeps a name lookup inside `timeout`. */
	if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS))
		gotrue_log(
			pamh, LOG_WARNING,
			"libcurl has no asynchronous resolver; name lookups may outlast timeout");
	h->curl = curl_easy_init();
	if (!h->curl) {
		free(h);
		return NULL;
	}
	return h;
}

void gotrue_http_free(struct gotrue_http *h)
{
	if (!h)
		return;
	if (h->multi != NULL)
		gotrue_http_cancel(h->multi, h); /* a request left in flight on it */
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->ca != NULL)
		gotrue_wipe_free(h->ca, h->ca_len + 1);
	free(h->if_none_match);
	free(h);
}

static void free_str(char **p)
{
	free(*p);
	*p = NULL;
}

void gotrue_http_response_clear(struct gotrue_http_response *resp)
{
	if (!resp)
		return;
	if (resp->body)
		gotrue_wipe_free(resp->body, resp->body_len + 1);
	free_str(&resp->error_code);
	free_str(&resp->link);
	free_str(&resp->location);
	free_str(&resp->cache_control);
	free_str(&resp->etag);
	memset(resp, 0, sizeof(*resp));
	resp->total_count = -1;
}

/* ---- URL rules ---------------------------------------------------------------------------- */

/* 127.0.0.0/8, ::1 and localhost: the only hosts plain http may go to. */
static bool host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* curl gives IPv6 hosts in brackets */
	if (len > 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}

struct origin {
	char *scheme, *host, *port;
};

static void origin_free(struct origin *o)
{
	curl_free(o->scheme);
	curl_free(o->host);
	curl_free(o->port);
	memset(o, 0, sizeof(*o));
}

/* Parse @url with libcurl's own URL parser (so we judge the URL exactly as curl will use it). */
static int origin_parse(const char *url, struct origin *o)
{
	CURLU *u = curl_url();
	int rc = -1;

	memset(o, 0, sizeof(*o));
	if (!u)
		goto cleanup;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto cleanup;
	if (curl_url_get(u, CURLUPART_SCHEME, &o->scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &o->host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &o->port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto cleanup;
	rc = 0;
cleanup:
	if (rc != 0)
		origin_free(o);
	curl_url_cleanup(u);
	return rc;
}

/* Whether @o may carry passwords and keys. https always (TLS verification is always on). Plain
 * http only to loopback, and there only to a port below 1024, which only root can listen on: an
 * unprivileged user who binds the server's port while it is down would otherwise receive them
 * (see ip_unprivileged_port_start in ip-sysctl.rst: a host that lowers it loses this guarantee).
 * insecure_http_for_testing lifts the port rule, for test servers on ephemeral ports. */
static bool origin_allowed(const struct gotrue_config *cfg, const struct origin *o, char *why,
			   size_t why_len)
{
	char *end = NULL;
	unsigned long port;

	if (strcasecmp(o->scheme, "https") == 0)
		return true;
	if (strcasecmp(o->scheme, "http") != 0) {
		snprintf(why, why_len, "%s:// is not http or https", o->scheme);
		return false;
	}
	if (!host_is_loopback(o->host)) {
		snprintf(why, why_len, "plain http to %s, which is not loopback: use https",
			 o->host);
		return false;
	}
	port = strtoul(o->port, &end, 10);
	if (cfg->insecure_http_for_testing || (end != o->port && *end == '\0' && port < 1024))
		return true;
	snprintf(why, why_len,
		 "plain http to loopback port %s, which any local user can listen on: use a port "
		 "below 1024, or https (insecure_http_for_testing = yes is for test servers only)",
		 o->port);
	return false;
}

int gotrue_http_url_check(const struct gotrue_config *cfg, const char *url, char *why,
			  size_t why_len)
{
	struct origin o = {0};
	int rc = -1;

	if (!global_ok() || origin_parse(url, &o) != 0) {
		snprintf(why, why_len, "not a valid URL");
		goto cleanup;
	}
	if (origin_allowed(cfg, &o, why, why_len))
		rc = 0;
cleanup:
	origin_free(&o);
	return rc;
}

static bool bad_url_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Build the full URL for @path_and_query and apply the URL rules. Returns a malloc'd URL, or NULL
 * with @err set (CONFIG). No I/O happens before this has said yes. */
static char *build_url(const struct gotrue_config *cfg, const char *path_and_query,
		       struct gotrue_error *err)
{
	struct origin base = {0}, target = {0};
	char *url = NULL, *rc = NULL, why[256];
	size_t blen;

	if (!cfg->url || !*cfg->url) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "no url configured");
		goto cleanup;
	}
	if (!path_and_query || bad_url_chars(path_and_query) || bad_url_chars(cfg->url)) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "invalid request path");
		goto cleanup;
	}
	if (origin_parse(cfg->url, &base) != 0) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "url is not a valid URL");
		goto cleanup;
	}
	if (!origin_allowed(cfg, &base, why, sizeof(why))) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "refusing the url: %s", why);
		goto cleanup;
	}
	if (path_and_query[0] == '/') {
		blen = strlen(cfg->url);
		while (blen > 0 && cfg->url[blen - 1] == '/')
			blen--;
		if (asprintf(&url, "%.*s%s", (int)blen, cfg->url, path_and_query) < 0) {
			url = NULL;
			gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
	} else {
		/* An absolute URL (a Link target may be one): only under the configured origin, so
		 * the apikey and bearer never go to another host. */
		if (origin_parse(path_and_query, &target) != 0 ||
		    strcasecmp(target.scheme, base.scheme) != 0 ||
		    strcasecmp(target.host, base.host) != 0 ||
		    strcmp(target.port, base.port) != 0) {
			gotrue_error_set(err, GOTRUE_ERR_CONFIG,
					 "refusing a URL outside the configured server");
			goto cleanup;
		}
		url = strdup(path_and_query);
		if (!url) {
			gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
	}
	rc = url;
	url = NULL;
cleanup:
	free(url);
	origin_free(&base);
	origin_free(&target);
	return rc;
}

/* ---- callbacks ---------------------------------------------------------------------------- */

/* Grow the body buffer without realloc(), which could leave an unwiped copy of a token behind. */
static bool body_reserve(struct gotrue_http *h, size_t need)
{
	struct gotrue_http_response *r = h->resp;
	size_t cap = h->body_cap ? h->body_cap : BODY_INITIAL_CAP;
	char *nb;

	if (need + 1 <= h->body_cap)
		return true;
	while (cap < need + 1)
		cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
	nb = malloc(cap);
	if (!nb)
		return false;
	if (r->body) {
		memcpy(nb, r->body, r->body_len + 1);
		gotrue_wipe_free(r->body, h->body_cap);
	}
	r->body = nb;
	h->body_cap = cap;
	return true;
}

/* A body announced by Content-Length gets its whole buffer at once: growing a 500-user page by
 * doubling copied and wiped it a dozen times. Nothing is reserved past the response cap; the
 * write callback still enforces the cap if the length lies. */
static bool reserve_announced(struct gotrue_http *h)
{
	curl_off_t len = -1;

	if (curl_easy_getinfo(h->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) != CURLE_OK ||
	    len <= 0 || (uintmax_t)len > h->limit)
		return true;
	return body_reserve(h, (size_t)len);
}

/* The body handed on as it arrives, counted in body_len, under the same cap. */
static size_t sink_cb(struct gotrue_http *h, char *data, size_t n)
{
	struct gotrue_http_response *r = h->resp;

	if (n > h->limit || r->body_len > h->limit - n) {
		h->too_large = true;
		return 0;
	}
	if (h->sink(h->sink_ctx, data, n) != 0)
		return 0;
	r->body_len += n;
	return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct gotrue_http *h = userdata;
	struct gotrue_http_response *r = h->resp;
	size_t n = size * nmemb, take = n;

	if (h->sink != NULL)
		return sink_cb(h, data, n);
	/* The cap is enforced here because Content-Length (CURLOPT_MAXFILESIZE) may be absent or
	 * lie; returning a short count makes curl abort with CURLE_WRITE_ERROR. */
	if (n > h->limit || r->body_len > h->limit - n) {
		if (!h->keep_head) {
			h->too_large = true;
			return 0;
		}
		/* What fits is kept and the transfer ends here, by the same short count. */
		take = h->limit - r->body_len;
		h->cut = true;
	}
	if (!r->body && !reserve_announced(h)) {
		h->nomem = true;
		return 0;
	}
	if (!body_reserve(h, r->body_len + take)) {
		h->nomem = true;
		return 0;
	}
	memcpy(r->body + r->body_len, data, take);
	r->body_len += take;
	r->body[r->body_len] = '\0';
	return take;
}

/* Store a copy of header value @v (length @len, trimmed) in *@dst, replacing an earlier one. */
static bool keep_header(char **dst, const char *v, size_t len)
{
	char *copy = strndup(v, len);

	if (!copy)
		return false;
	free(*dst);
	*dst = copy;
	return true;
}

static size_t header_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	struct gotrue_http *h = userdata;
	struct gotrue_http_response *r = h->resp;
	size_t n = size * nitems, name_len, vlen;
	const char *colon, *v;
	char **dst = NULL;

	h->header_bytes += n;
	if (h->header_bytes > h->limit || n > HEADER_VALUE_MAX) {
		h->too_large = h->header_too_large = true;
		return 0;
	}
	/* A new status line starts a new response (e.g. after 100 Continue): forget the old one. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		free_str(&r->error_code);
		free_str(&r->link);
		free_str(&r->location);
		free_str(&r->cache_control);
		free_str(&r->etag);
		r->total_count = -1;
		return n;
	}
	colon = memchr(data, ':', n);
	if (!colon)
		return n;
	name_len = (size_t)(colon - data);
	v = colon + 1;
	vlen = n - name_len - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' ||
			    v[vlen - 1] == '\t'))
		vlen--;
	/* Header names are case-insensitive (RFC 9110 5.1). */
	if (name_len == 15 && strncasecmp(data, "x-sb-error-code", 15) == 0)
		dst = &r->error_code;
	else if (name_len == 4 && strncasecmp(data, "link", 4) == 0)
		dst = &r->link;
	else if (name_len == 8 && strncasecmp(data, "location", 8) == 0)
		dst = &r->location;
	else if (name_len == 13 && strncasecmp(data, "cache-control", 13) == 0)
		dst = &r->cache_control;
	else if (name_len == 4 && strncasecmp(data, "etag", 4) == 0)
		dst = &r->etag;
	else if (name_len == 13 && strncasecmp(data, "x-total-count", 13) == 0) {
		char num[24];
		char *end = NULL;
		long long c;

		r->total_count = -1;
		if (vlen > 0 && vlen < sizeof(num)) {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			errno = 0;
			c = strtoll(num, &end, 10);
			if (errno == 0 && *end == '\0' && c >= 0 && num[0] >= '0' && num[0] <= '9')
				r->total_count = c;
		}
		return n;
	}
	if (dst && !keep_header(dst, v, vlen)) {
		h->nomem = true;
		return 0;
	}
	return n;
}

/* ---- the request -------------------------------------------------------------------------- */

/* curl_slist_append copies; the copies of the apikey and bearer lines are wiped before freeing. */
static void headers_free(struct curl_slist *list)
{
	struct curl_slist *i;

	for (i = list; i; i = i->next)
		if (i->data)
			explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(list);
}

/* Append "@prefix@value" as one header line; our temporary copy of it is wiped. */
static int header_add(struct curl_slist **list, const char *prefix, const char *value)
{
	struct curl_slist *n;
	char *line = NULL;
	int rc = -1;

	if (asprintf(&line, "%s%s", prefix, value) < 0) {
		line = NULL;
		goto cleanup;
	}
	n = curl_slist_append(*list, line);
	if (!n)
		goto cleanup;
	*list = n;
	rc = 0;
cleanup:
	gotrue_wipe_free_str(line);
	return rc;
}

/* A header value from config or a token must be one line of visible ASCII: a CR or LF would let
 * it inject headers into the request. */
static bool header_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || (unsigned char)*v >= 0x7f)
			return false;
	return true;
}

void gotrue_http_set_sink(struct gotrue_http *h, gotrue_http_sink sink, void *ctx)
{
	h->sink = sink;
	h->sink_ctx = ctx;
}

int gotrue_http_set_if_none_match(struct gotrue_http *h, const char *etag)
{
	char *copy = NULL;
	int rc = -1;

	/* A tag comes from a server's ETag header: one line, or it would inject headers. */
	if (etag != NULL && (!header_value_ok(etag) || (copy = strdup(etag)) == NULL))
		goto cleanup;
	free(h->if_none_match);
	h->if_none_match = copy;
	rc = 0;
cleanup:
	return rc;
}

static int build_headers(const struct gotrue_config *cfg, const char *bearer, bool has_body,
			 struct curl_slist **out)
{
	struct curl_slist *list = NULL;
	int rc = -1;

	if (header_add(&list, "Accept: ", "application/json") != 0 ||
	    header_add(&list, API_VERSION_HEADER, "") != 0 ||
	    /* no "Expect: 100-continue" round trip for bodies over 1 KiB */
	    header_add(&list, "Expect:", "") != 0)
		goto cleanup;
	if (has_body && header_add(&list, "Content-Type: ", "application/json") != 0)
		goto cleanup;
	if (cfg->api_key && *cfg->api_key && header_add(&list, "apikey: ", cfg->api_key) != 0)
		goto cleanup;
	if (bearer && header_add(&list, "Authorization: Bearer ", bearer) != 0)
		goto cleanup;
	*out = list;
	list = NULL;
	rc = 0;
cleanup:
	headers_free(list);
	return rc;
}

static bool valid_method(const char *m)
{
	size_t i;

	if (!m || !*m)
		return false;
	for (i = 0; m[i]; i++)
		if (m[i] < 'A' || m[i] > 'Z' || i > 15)
			return false;
	return true;
}

static enum gotrue_error_kind curl_kind(struct gotrue_http *h, CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return GOTRUE_ERR_TIMEOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return GOTRUE_ERR_TOO_LARGE;
	case CURLE_WRITE_ERROR:
		if (h->too_large)
			return GOTRUE_ERR_TOO_LARGE;
		return h->nomem ? GOTRUE_ERR_NOMEM : GOTRUE_ERR_INTERNAL;
	case CURLE_OUT_OF_MEMORY:
		return GOTRUE_ERR_NOMEM;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		return GOTRUE_ERR_TLS;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return GOTRUE_ERR_CONFIG;
	default:
		/* COULDNT_CONNECT, COULDNT_RESOLVE_HOST, SEND/RECV_ERROR, GOT_NOTHING,
		 * PARTIAL_FILE, WEIRD_SERVER_REPLY, HTTP2...: the server could not be used. */
		return GOTRUE_ERR_TRANSPORT;
	}
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if (cc == CURLE_OK)                                                                \
			cc = curl_easy_setopt(h->curl, opt, val);                                  \
	} while (0)

static CURLcode set_options(struct gotrue_http *h, const char *url, const char *method,
			    const char *body, struct curl_slist *headers)
{
	const struct gotrue_config *cfg = h->cfg;
	long timeout = cfg->timeout > 0 ? cfg->timeout : 10;
	long connect_timeout = cfg->connect_timeout > 0 ? cfg->connect_timeout : timeout;
	CURLcode cc = CURLE_OK;

	if (connect_timeout > timeout)
		connect_timeout = timeout;
	SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (h->ca != NULL) {
		/* Copied by libcurl (CURL_BLOB_COPY) at once: the blob itself lives on the stack.
		 */
		struct curl_blob ca = {.data = h->ca, .len = h->ca_len, .flags = CURL_BLOB_COPY};

		SETOPT(CURLOPT_CAINFO_BLOB, &ca);
	}
	/* Not the environment's proxy: sudo runs this module with the invoking user's environment,
	 * and an https_proxy/http_proxy of their choosing would see every request to a loopback
	 * http server. The config has no proxy key, so none is used. */
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_NOSIGNAL, 1L); /* we live inside sshd, sudo, login: no SIGALRM games */
	SETOPT(CURLOPT_CONNECTTIMEOUT, connect_timeout);
	SETOPT(CURLOPT_TIMEOUT, timeout);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_MAXREDIRS, 0L);
	/* 0: no limit; a body kept only in part is cut by write_cb. */
	SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(h->keep_head ? 0 : h->limit));
	SETOPT(CURLOPT_USERAGENT, USER_AGENT);
	SETOPT(CURLOPT_HTTPHEADER, headers);
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, h);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, h);
	SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
	SETOPT(CURLOPT_NOPROGRESS, 1L);

	if (strcmp(method, "GET") == 0) {
		SETOPT(CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		SETOPT(CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(method, "POST") != 0)
			SETOPT(CURLOPT_CUSTOMREQUEST, method);
		/* POSTFIELDS does not copy: the caller's body (a secret) stays the only copy we
		 * hand over, and it lives until curl_easy_perform returns. */
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
		SETOPT(CURLOPT_POSTFIELDS, body ? body : "");
	}
	return cc;
}

/* ca_file, once per handle. A file that fails the checks fails every request closed: a config
 * error, never a fall back to the system's CAs. 0 or -1 with @err. */
static int load_ca(struct gotrue_http *h, struct gotrue_error *err)
{
	const char *path = h->cfg->ca_file;
	int rc = 0;

	if (path == NULL || *path == '\0' || h->ca != NULL)
		goto cleanup;
	if (gotrue_read_file(h->pamh, path, GOTRUE_FILE_CONFIG, GOTRUE_CA_FILE_MAX_SIZE, &h->ca,
			     &h->ca_len) != 0) {
		h->ca = NULL;
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "ca_file %s cannot be used (see the log)",
				 path);
		rc = -1;
	}
cleanup:
	return rc;
}

/* The error of a transfer that failed with @cc: a size cap names its figure. */
static void transfer_error(struct gotrue_http *h, CURLcode cc, struct gotrue_error *err)
{
	enum gotrue_error_kind kind = curl_kind(h, cc);

	if (kind == GOTRUE_ERR_TOO_LARGE && h->header_too_large)
		gotrue_error_set(err, kind,
				 "response headers over max_response (%zu bytes), or one header "
				 "over %d bytes",
				 h->limit, HEADER_VALUE_MAX);
	else if (kind == GOTRUE_ERR_TOO_LARGE)
		gotrue_error_set(err, kind, "response larger than max_response (%zu bytes)",
				 h->limit);
	else
		gotrue_error_set(err, kind, "%s%s%s", curl_easy_strerror(cc),
				 h->errbuf[0] ? ": " : "", h->errbuf);
}

/* The debug line of a request: its path only, since a query may carry a one-time token
 * (GET /verify?token=...). */
static void log_request(const struct gotrue_http *h, const char *method, const char *path,
			long status, const struct gotrue_error *err)
{
	const char *q = strchr(path, '?');

	gotrue_debug(h->pamh, h->cfg->debug, "http: %s %.*s -> %ld%s%s", method ? method : "?",
		     (int)(q ? (size_t)(q - path) : strlen(path)), path, status, err ? " " : "",
		     err ? gotrue_error_kind_name(err->kind) : "");
}

/* Drop curl's pointers to the body and the header list, then the list and the URL. */
static void request_release(struct gotrue_http *h)
{
	if (h == NULL || h->curl == NULL)
		return;
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	h->resp = NULL;
	headers_free(h->headers);
	h->headers = NULL;
	free(h->url);
	h->url = NULL;
}

/* The part of a request before the transfer: checks, URL, headers, options. On success @h holds
 * the URL and the header list until request_end; on failure nothing is left to release. */
static int request_begin(struct gotrue_http *h, const char *method, const char *path_and_query,
			 const char *bearer, const char *body, bool keep_head,
			 struct gotrue_http_response *resp, struct gotrue_error *err)
{
	CURLcode cc;
	int rc = -1;

	gotrue_error_clear(err);
	gotrue_http_response_clear(resp);
	if (!h || !h->curl || !resp) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "http: no handle");
		goto cleanup;
	}
	if (!valid_method(method)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "http: invalid method");
		goto cleanup;
	}
	h->url = build_url(h->cfg, path_and_query, err);
	if (!h->url || load_ca(h, err) != 0)
		goto cleanup;
	if ((bearer && !header_value_ok(bearer)) ||
	    (h->cfg->api_key && !header_value_ok(h->cfg->api_key))) {
		gotrue_error_set(err, GOTRUE_ERR_CONFIG, "http: api key or token is not one line");
		goto cleanup;
	}
	if (build_headers(h->cfg, bearer, body != NULL, &h->headers) != 0 ||
	    (h->if_none_match != NULL &&
	     header_add(&h->headers, "If-None-Match: ", h->if_none_match) != 0)) {
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	/* Reset forgets the last request's options (and its pointers to freed buffers) but keeps
	 * the connection and DNS caches. */
	curl_easy_reset(h->curl);
	h->resp = resp;
	h->body_cap = 0;
	h->header_bytes = 0;
	h->limit = h->cfg->max_response > 0 ? h->cfg->max_response : 1024 * 1024;
	h->too_large = h->header_too_large = h->cut = h->nomem = false;
	h->keep_head = keep_head;
	h->errbuf[0] = '\0';
	cc = set_options(h, h->url, method, body, h->headers);
	if (cc != CURLE_OK) {
		transfer_error(h, cc, err);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		request_release(h);
	return rc;
}

/* The part after the transfer ended with @cc: the status, an empty body as "", the debug line,
 * and curl's pointers to our buffers dropped. 0 or -1 with @err. */
static int request_end(struct gotrue_http *h, CURLcode cc, const char *method,
		       const char *path_and_query, struct gotrue_error *err)
{
	struct gotrue_http_response *resp = h->resp;
	int rc = -1;

	if (cc == CURLE_WRITE_ERROR && h->cut && !h->nomem)
		cc = CURLE_OK; /* cut on purpose: the head is the answer */
	if (cc != CURLE_OK) {
		gotrue_http_response_clear(resp);
		transfer_error(h, cc, err);
		goto cleanup;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body && h->sink == NULL) {
		/* an empty body is "" rather than NULL, so callers need one case only (a sink's
		 * caller has the body elsewhere) */
		if (!body_reserve(h, 0)) {
			gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
		resp->body[0] = '\0';
	}
	rc = 0;
cleanup:
	log_request(h, method, path_and_query, rc == 0 ? resp->status : 0L, rc == 0 ? NULL : err);
	request_release(h);
	return rc;
}

/* gotrue_http_request(), and with @keep_head gotrue_http_get_head(). */
static int perform(struct gotrue_http *h, const char *method, const char *path_and_query,
		   const char *bearer, const char *body, bool keep_head,
		   struct gotrue_http_response *resp, struct gotrue_error *err)
{
	if (h != NULL && h->multi != NULL) {
		if (gotrue_http_start(h->multi, h, method, path_and_query, bearer, body, keep_head,
				      resp, err) != 0)
			return -1;
		return gotrue_http_finish(h->multi, h, method, path_and_query, NULL, err);
	}
	if (request_begin(h, method, path_and_query, bearer, body, keep_head, resp, err) != 0) {
		if (h && h->cfg && path_and_query)
			log_request(h, method, path_and_query, 0L, err);
		return -1;
	}
	return request_end(h, curl_easy_perform(h->curl), method, path_and_query, err);
}

int gotrue_http_request(struct gotrue_http *h, const char *method, const char *path_and_query,
			const char *bearer, const char *body, struct gotrue_http_response *resp,
			struct gotrue_error *err)
{
	return perform(h, method, path_and_query, bearer, body, false, resp, err);
}

int gotrue_http_get_head(struct gotrue_http *h, const char *path_and_query, const char *bearer,
			 struct gotrue_http_response *resp, bool *cut, struct gotrue_error *err)
{
	int rc = perform(h, "GET", path_and_query, bearer, NULL, true, resp, err);

	*cut = rc == 0 && h->cut;
	return rc;
}

int gotrue_http_check_status(const struct gotrue_http_response *r, struct gotrue_error *err)
{
	if (r->status >= 300 && r->status < 400) {
		/* Redirects are never followed: a GoTrue API answer is never one we should obey,
		 * and following could carry credentials to another host. */
		gotrue_error_set(err, GOTRUE_ERR_TRANSPORT, "redirect refused (HTTP %ld)",
				 r->status);
		err->http_status = r->status;
		return -1;
	}
	if (r->status < 200 || r->status >= 600) {
		gotrue_error_set(err, GOTRUE_ERR_PROTOCOL, "unexpected HTTP status %ld", r->status);
		err->http_status = r->status;
		return -1;
	}
	if (r->status >= 400) {
		gotrue_error_decode(err, r->status, r->error_code, r->body, r->body_len);
		return -1;
	}
	return 0;
}

int gotrue_http_json_answer(const struct gotrue_http_response *r, json_object **out,
			    struct gotrue_error *err)
{
	json_object *parsed = NULL;
	int rc = -1;

	if (out)
		*out = NULL;
	if (gotrue_http_check_status(r, err) != 0)
		goto cleanup;
	/* A 2xx body must be JSON even when the caller wants none: GoTrue answers /logout with an
	 * empty 204, so a 200 carrying a proxy's HTML page did not come from GoTrue, and taking it
	 * for a revocation would lose one (tests/hardening/test_fault_matrix). */
	if (r->body_len > 0) {
		parsed = gotrue_json_parse(r->body, r->body_len);
		if (!parsed) {
			gotrue_error_set(err, GOTRUE_ERR_PROTOCOL,
					 "response is not JSON (HTTP %ld)", r->status);
			err->http_status = r->status;
			goto cleanup;
		}
		if (out) {
			*out = parsed;
			parsed = NULL;
		}
	}
	rc = 0;
cleanup:
	json_object_put(parsed);
	return rc;
}

int gotrue_http_json(struct gotrue_http *h, const char *method, const char *path_and_query,
		     const char *bearer, json_object *body, json_object **out,
		     struct gotrue_http_response *resp, struct gotrue_error *err)
{
	struct gotrue_http_response local = {.total_count = -1};
	struct gotrue_http_response *r = resp ? resp : &local;
	char *text = NULL;
	size_t text_len = 0;
	int rc = -1;

	if (out)
		*out = NULL;
	if (body) {
		/* The serialisation lives in the object's own print buffer; it is wiped below,
		 * since it holds a password or a token. */
		text = (char *)json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN,
								 &text_len);
		if (!text) {
			gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
	}
	if (gotrue_http_request(h, method, path_and_query, bearer, text, r, err) != 0)
		goto cleanup;
	rc = gotrue_http_json_answer(r, out, err);
cleanup:
	if (text)
		explicit_bzero(text, text_len);
	if (r == &local)
		gotrue_http_response_clear(&local);
	return rc;
}

/* ---- requests side by side on one thread (libcurl's multi interface) ----------------------- */

struct gotrue_http_multi {
	CURLM *m;
};

struct gotrue_http_multi *gotrue_http_multi_new(void)
{
	struct gotrue_http_multi *m;

	if (!global_ok())
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m != NULL)
		m->m = curl_multi_init();
	if (m != NULL && m->m == NULL) {
		free(m);
		m = NULL;
	}
	return m;
}

void gotrue_http_multi_free(struct gotrue_http_multi *m)
{
	if (m == NULL)
		return;
	curl_multi_cleanup(m->m);
	free(m);
}

/* Note every transfer that has ended, whichever handle it belongs to; how many. */
static size_t collect_done(struct gotrue_http_multi *m)
{
	struct gotrue_http *h;
	CURLMsg *msg;
	size_t n = 0;
	int left;

	while ((msg = curl_multi_info_read(m->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE ||
		    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h) !=
			    CURLE_OK ||
		    h == NULL)
			continue;
		h->done = true;
		h->result = msg->data.result;
		n++;
	}
	return n;
}

/* How long gotrue_http_start waits, at most, for its request to leave. */
#define START_ROUNDS  20
#define START_WAIT_MS 5

/* Move every transfer on; whether @h's request has been sent (or its transfer ended). */
static bool sent(struct gotrue_http_multi *m, struct gotrue_http *h)
{
	long size = 0;

	gotrue_http_multi_poke(m);
	return h->done ||
	       (curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &size) == CURLE_OK && size > 0);
}

int gotrue_http_start(struct gotrue_http_multi *m, struct gotrue_http *h, const char *method,
		      const char *path_and_query, const char *bearer, const char *body,
		      bool keep_head, struct gotrue_http_response *resp, struct gotrue_error *err)
{
	int i;

	if (h != NULL && h->in_multi) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "http: a request is in flight already");
		return -1;
	}
	if (request_begin(h, method, path_and_query, bearer, body, keep_head, resp, err) != 0) {
		if (h && h->cfg && path_and_query)
			log_request(h, method, path_and_query, 0L, err);
		return -1;
	}
	if (curl_easy_setopt(h->curl, CURLOPT_PRIVATE, h) != CURLE_OK ||
	    curl_multi_add_handle(m->m, h->curl) != CURLM_OK) {
		request_release(h);
		gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
		return -1;
	}
	h->in_multi = true;
	h->done = false;
	/* Sent now (connection, request), so that the server works on it while the caller works:
	 * a new connection takes a few rounds, each bounded by a short wait. */
	for (i = 0; i < START_ROUNDS && !sent(m, h); i++)
		curl_multi_poll(m->m, NULL, 0, START_WAIT_MS, NULL);
	return 0;
}

void gotrue_http_multi_poke(struct gotrue_http_multi *m)
{
	int running;

	curl_multi_perform(m->m, &running);
	collect_done(m);
}

int gotrue_http_finish(struct gotrue_http_multi *m, struct gotrue_http *h, const char *method,
		       const char *path_and_query, bool *cut, struct gotrue_error *err)
{
	CURLMcode mc = CURLM_OK;
	int running, rc;

	if (cut != NULL)
		*cut = false;
	if (!h->in_multi) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "http: no request in flight");
		return -1;
	}
	/* Each transfer ends by its own CURLOPT_TIMEOUT; the poll only bounds one wait. */
	while (mc == CURLM_OK && !h->done) {
		mc = curl_multi_perform(m->m, &running);
		collect_done(m);
		if (mc == CURLM_OK && !h->done)
			mc = curl_multi_poll(m->m, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(m->m, h->curl);
	h->in_multi = false;
	rc = request_end(h, h->done ? h->result : CURLE_OUT_OF_MEMORY, method, path_and_query, err);
	if (cut != NULL)
		*cut = rc == 0 && h->cut;
	return rc;
}

void gotrue_http_cancel(struct gotrue_http_multi *m, struct gotrue_http *h)
{
	struct gotrue_http_response *resp;

	if (h == NULL || !h->in_multi)
		return;
	curl_multi_remove_handle(m->m, h->curl);
	h->in_multi = false;
	resp = h->resp;
	request_release(h);
	gotrue_http_response_clear(resp);
}

void gotrue_http_attach(struct gotrue_http *h, struct gotrue_http_multi *m)
{
	h->multi = m;
}

bool gotrue_http_ended(const struct gotrue_http *h)
{
	return h != NULL && h->in_multi && h->done;
}

int gotrue_http_multi_wait(struct gotrue_http_multi *m, int timeout_ms)
{
	CURLMcode mc;
	int running = 0;

	mc = curl_multi_perform(m->m, &running);
	if (mc == CURLM_OK && collect_done(m) == 0 && running > 0 && timeout_ms > 0) {
		/* curl_multi_poll(3) returns at the first socket event, or libcurl's own next
		 * timeout: a transfer's CURLOPT_TIMEOUT still ends it on time. */
		mc = curl_multi_poll(m->m, NULL, 0, timeout_ms, NULL);
		if (mc == CURLM_OK)
			mc = curl_multi_perform(m->m, &running);
		collect_done(m);
	}
	return mc == CURLM_OK ? 0 : -1;
}
