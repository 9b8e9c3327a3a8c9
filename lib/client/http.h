/* http: the only place that talks to the network, on libcurl, with the transport rules of
 * DESIGN.md: TLS verification always on (ca_file adds a CA); plain http only to a loopback port
 * only root can listen on;
 * connect and total timeouts; a response-size cap; redirects never followed to another host;
 * `apikey` and `X-Supabase-Api-Version: 2024-01-01` on every request. Request and response
 * buffers are wiped when freed, since they carry passwords and tokens. */
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
};

/* @cfg is borrowed and must outlive the handle. NULL on ENOMEM or a libcurl init failure. */
/* Initialise libcurl for the process, with an allocator that wipes what curl frees (its own
 * copies of request bodies and headers hold passwords and tokens). gotrue_http_new() calls it;
 * a program that also uses libcurl directly calls it first, so that the wiping allocator is the
 * one libcurl keeps. 0 or -1. */
int gotrue_http_global_init(void);

struct gotrue_http *gotrue_http_new(pam_handle_t *pamh, const struct gotrue_config *cfg);
void gotrue_http_free(struct gotrue_http *h);

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

/* Several requests at once on the caller's thread, on libcurl's multi interface
 * (curl_multi_perform(3)): each handle carries one request, under every rule above, and the
 * multi moves all of them while the caller waits for the next to end. */
struct gotrue_http_multi;

/* NULL on ENOMEM or a libcurl init failure. Free it only once no handle is attached to it (free
 * or detach them first). */
struct gotrue_http_multi *gotrue_http_multi_new(void);
void gotrue_http_multi_free(struct gotrue_http_multi *m);

/* From now on @h's requests run on @m (NULL: on its own again). gotrue_http_request() and the
 * calls over it still return when their request is over, and move @m's other transfers
 * meanwhile; gotrue_http_json_start() leaves its request running there. */
void gotrue_http_attach(struct gotrue_http *h, struct gotrue_http_multi *m);

/* gotrue_http_json() in two halves, for a handle attached to a multi. _start checks and sets up
 * the request and hands it to the multi: 0, or -1 with @err when nothing was sent. @body and
 * @path_and_query must stay valid until gotrue_http_json_end(), which @ctx then identifies. */
int gotrue_http_json_start(struct gotrue_http *h, const char *method, const char *path_and_query,
			   const char *bearer, json_object *body, void *ctx,
			   struct gotrue_error *err);
/* Move @m's transfers, waiting at most @timeout_ms (0: not at all) for one to end. The @ctx of a
 * request of gotrue_http_json_start() that is over, oldest first, or NULL when none is. */
void *gotrue_http_multi_next(struct gotrue_http_multi *m, int timeout_ms);
/* The answer of the request whose @ctx gotrue_http_multi_next() returned, under
 * gotrue_http_json()'s rules: 0, or -1 with @err. @h is then free for its next request. */
int gotrue_http_json_end(struct gotrue_http *h, json_object **out, struct gotrue_error *err);

/* The transport rule for @url (DESIGN.md "Transport"): https, or plain http only to a loopback
 * port below 1024 (any loopback port with insecure_http_for_testing). 0 when allowed, else -1
 * with the reason in @why. Every request is held to it; `config check` reports it. */
int gotrue_http_url_check(const struct gotrue_config *cfg, const char *url, char *why,
			  size_t why_len);

/* URL-encode one query value (curl_easy_escape); free with free(). */
char *gotrue_http_escape(const char *s);

/* Parse an RFC 8288 Link header and return the target of rel="next" (or NULL). The targets
 * GoTrue sends are relative ("/admin/users?page=2&per_page=50"). Hand-written because libcurl
 * has no Link parser; it is a fuzz target. Free with free(). */
char *gotrue_link_next(const char *link_header);

#endif
