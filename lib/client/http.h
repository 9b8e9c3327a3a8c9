/* http: the only place that talks to the network, on libcurl, with the transport rules of
 * README.md ("How it talks to GoTrue"): TLS verification always on (ca_file adds a CA); plain http
 * only to a loopback port only root can listen on; connect and total timeouts; a response-size cap;
 * redirects never followed to another host; `apikey` and `X-Supabase-Api-Version: 2024-01-01` on
 * every request. Request and response buffers are wiped when freed, since they carry passwords and
 * tokens. */
#ifndef GOTRUE_HTTP_H
#define GOTRUE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"
#include "gotrue_error.h"

struct gotrue_http; /* one reusable libcurl easy handle plus its settings */

struct gotrue_http_response {
	long status;
	char *body; /* NUL-terminated, wiped on clear */
	size_t body_len;
	char *error_code;      /* x-sb-error-code header, or NULL */
	char *link;	       /* Link header, or NULL */
	long long total_count; /* X-Total-Count, or -1 */
	char *location;	       /* Location header, or NULL */
	char *cache_control;   /* Cache-Control header, or NULL */
	char *etag;	       /* ETag header, or NULL */
};

/* @cfg is borrowed and must outlive the handle. NULL on ENOMEM or a libcurl init failure. */
/* Initialise libcurl for the process, with an allocator that wipes what curl frees (its own
 * copies of request bodies and headers hold passwords and tokens). gotrue_http_new() calls it;
 * a program that also uses libcurl directly calls it first, so that the wiping allocator is the
 * one libcurl keeps. 0 or -1. */
int gotrue_http_global_init(void);

struct gotrue_http *gotrue_http_new(pam_handle_t *pamh, const struct gotrue_config *cfg);
void gotrue_http_free(struct gotrue_http *h);

/* Send If-None-Match: @etag (RFC 9110 13.1.2) with the requests that follow, until called again
 * (NULL: no more). A conditional GET's 304 is then a response like any other (status 304, no
 * body). 0, or -1 on ENOMEM or a tag that is not one line of visible ASCII (the earlier tag
 * stays). */
int gotrue_http_set_if_none_match(struct gotrue_http *h, const char *etag);

/* Hand the bodies of the requests that follow to @sink as they arrive, instead of keeping them
 * in the response (until called again with NULL): a large download goes to disk while it comes.
 * resp->body stays NULL and body_len counts the bytes, under the same max_response cap; the
 * body of any status goes there, so the caller checks the status before it uses what it got.
 * @sink returns 0, or -1 to end the transfer (the request then fails with
 * GOTRUE_ERR_INTERNAL). */
typedef int (*gotrue_http_sink)(void *ctx, const char *data, size_t len);
void gotrue_http_set_sink(struct gotrue_http *h, gotrue_http_sink sink, void *ctx);

/* METHOD url + @path_and_query. @bearer (may be NULL) goes in Authorization; @body (may be NULL)
 * is sent as application/json. Returns 0 when a response arrived (any status; the caller decodes
 * non-2xx through gotrue_error_decode), or -1 with @err set (transport/timeout/tls/too_large/
 * config). @path_and_query may also be an absolute URL under the configured url's origin. */
int gotrue_http_request(struct gotrue_http *h, const char *method, const char *path_and_query,
			const char *bearer, const char *body, struct gotrue_http_response *resp,
			struct gotrue_error *err);

/* GET @path_and_query as gotrue_http_request(), except that a body over max_response is not an
 * error: its first max_response bytes are kept in @resp (headers and status whole), the rest is
 * not read, and *@cut says so. For a response whose beginning is all the caller needs when the
 * whole is too large (the first bytes of a listed user whose entry alone is over the cap). */
int gotrue_http_get_head(struct gotrue_http *h, const char *path_and_query, const char *bearer,
			 struct gotrue_http_response *resp, bool *cut, struct gotrue_error *err);

/* Requests side by side on one thread, through libcurl's multi interface: a caller starts one
 * request on each of several handles, goes on with its own work while the server answers, then
 * finishes each (waiting for it if need be). Every rule of gotrue_http_request holds for each
 * request, its timeout included. */
struct gotrue_http_multi;
/* NULL on ENOMEM or a libcurl init failure. */
struct gotrue_http_multi *gotrue_http_multi_new(void);
/* Cancel what is still in flight first (gotrue_http_cancel). */
void gotrue_http_multi_free(struct gotrue_http_multi *m);
/* Start a request on @h (one at a time per handle) as gotrue_http_request would send it, or with
 * @keep_head as gotrue_http_get_head. @body and @resp must live until it is finished or
 * cancelled. 0 when it is on its way, or -1 with @err (nothing was sent). */
int gotrue_http_start(struct gotrue_http_multi *m, struct gotrue_http *h, const char *method,
		      const char *path_and_query, const char *bearer, const char *body,
		      bool keep_head, struct gotrue_http_response *resp, struct gotrue_error *err);
/* Wait for @h's request to end, moving every other started one on meanwhile. The result is
 * gotrue_http_request's (or gotrue_http_get_head's, with *@cut; @cut may be NULL); @method and
 * @path_and_query are those it was started with, for the debug log. */
int gotrue_http_finish(struct gotrue_http_multi *m, struct gotrue_http *h, const char *method,
		       const char *path_and_query, bool *cut, struct gotrue_error *err);
/* Move every started request on without waiting: a caller busy for long calls it now and then,
 * so that answers are read while they arrive. */
void gotrue_http_multi_poke(struct gotrue_http_multi *m);
/* Abandon @h's request, if one is in flight, and clear its response. */
void gotrue_http_cancel(struct gotrue_http_multi *m, struct gotrue_http *h);
/* For a caller with requests on several handles, finished in the order they end: move every
 * started request on, waiting up to @timeout_ms when none has ended since the last call. 0, or
 * -1 when the multi itself fails (then gotrue_http_finish ends each request with an error). */
int gotrue_http_multi_wait(struct gotrue_http_multi *m, int timeout_ms);
/* Whether @h's started request has ended: gotrue_http_finish returns at once. */
bool gotrue_http_ended(const struct gotrue_http *h);
/* From now on @h's one-call requests (gotrue_http_request and the calls over it) run on @m, so
 * that the requests started there go on while they wait; NULL: on its own again. A handle
 * attached to @m is freed before @m. */
void gotrue_http_attach(struct gotrue_http *h, struct gotrue_http_multi *m);

/* gotrue_http_json's reading of a response received: the status, then a 2xx body, which must be
 * JSON, into @out (may be NULL). 0 or -1 with @err. */
int gotrue_http_json_answer(const struct gotrue_http_response *r, json_object **out,
			    struct gotrue_error *err);
/* The usual wrapper: send, then for a 2xx parse the body as JSON into @out (may be NULL when the
 * caller wants no body, e.g. 204); for a non-2xx decode the error. Returns 0 or -1 with @err. */
int gotrue_http_json(struct gotrue_http *h, const char *method, const char *path_and_query,
		     const char *bearer, json_object *body, json_object **out,
		     struct gotrue_http_response *resp, struct gotrue_error *err);

/* gotrue_http_json()'s status rules on a response already received: 0 for a 2xx; -1 with @err
 * for a redirect (never followed), a status outside HTTP's range, or a decoded GoTrue error. */
int gotrue_http_check_status(const struct gotrue_http_response *r, struct gotrue_error *err);

/* A response starts zeroed (= {0}); gotrue_http_request clears it first, so one can be reused. */
void gotrue_http_response_clear(struct gotrue_http_response *resp);

/* The transport rule for @url: https, or plain http only to a loopback
 * port below 1024 (any loopback port with insecure_http_for_testing). 0 when allowed, else -1
 * with the reason in @why. Every request is held to it; `config check` reports it. */
int gotrue_http_url_check(const struct gotrue_config *cfg, const char *url, char *why,
			  size_t why_len);

/* Parse an RFC 8288 Link header and return the target of rel="next" (or NULL). The targets
 * GoTrue sends are relative ("/admin/users?page=2&per_page=50"). Hand-written because libcurl
 * has no Link parser; it is a fuzz target. Free with free(). */
char *gotrue_link_next(const char *link_header);

#endif
