/* api_internal: what the files that implement endpoints share and no one else may use (api.c and
 * api_mfa.c here, lib/client/ctl's, lib/sync/api_admin.c): the client struct, the request helpers
 * that parse a session or a user, and the pieces of request bodies more than one endpoint sends
 * (gotrue_json.h, included here, holds the helpers that add and wipe secrets in json-c objects).
 */
#ifndef GOTRUE_API_INTERNAL_H
#define GOTRUE_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <security/pam_ext.h>

#include "api.h"
#include "gotrue_json.h"
#include "http.h"

struct gotrue_client {
	pam_handle_t *pamh;
	/* Not owned. Not const: its secrets are loaded into it on demand (config.h). */
	struct gotrue_config *cfg;
	struct gotrue_http *http;
	/* gotrue_client_attach: the multi its *_start requests run on. */
	struct gotrue_http_multi *multi;
	/* The request a *_start call began (@path set) until its *_end: the body and its
	 * serialisation, which the transfer reads, and the response. */
	const char *method, *path;
	json_object *body;
	char *text;
	size_t text_len;
	struct gotrue_http_response resp;
};

/* The service-role key, loaded from service_role_key_file on first use. NULL with
 * GOTRUE_ERR_CONFIG in @err when it is not configured or cannot be read. In lib/client/ctl
 * (api_ctl.c): the PAM module never loads that key. */
const char *gotrue_client_admin_bearer(struct gotrue_client *c, struct gotrue_error *err);

/* Send a request and take its parsed 2xx answer into *@out (NULL for an empty answer, or pass
 * @out NULL to ignore it); the response headers are not kept. */
int gotrue_api_json(struct gotrue_client *c, const char *method, const char *path,
		    const char *bearer, json_object *body, json_object **out,
		    struct gotrue_error *err);
/* Send a request whose 2xx answer is a session (or a bare user, for /signup). */
int gotrue_api_session(struct gotrue_client *c, const char *method, const char *path,
		       const char *bearer, json_object *body, struct gotrue_session *out,
		       struct gotrue_error *err);
/* Send a request whose 2xx answer is a user object. */
int gotrue_api_user(struct gotrue_client *c, const char *method, const char *path,
		    const char *bearer, json_object *body, struct gotrue_user *out,
		    struct gotrue_error *err);
/* Send a request and ignore the 2xx body ({} or 204). */
int gotrue_api_call(struct gotrue_client *c, const char *method, const char *path,
		    const char *bearer, json_object *body, struct gotrue_error *err);
/* GET @path, whose 2xx answer must be a JSON object, into *@out (json_object_put() it). */
int gotrue_api_get_object(struct gotrue_client *c, const char *path, json_object **out,
			  struct gotrue_error *err);
/* POST /otp {email|phone, create_user} and, with a @code_challenge, the PKCE pair of members
 * (gotrue_api_add_challenge). */
int gotrue_api_otp(struct gotrue_client *c, const char *email, const char *phone, bool create_user,
		   const char *code_challenge, struct gotrue_error *err);

/* The path, the body, and what the 2xx answer must be, of requests that api_multi.c also sends in
 * two halves. An answer @obj is consumed; 0, or -1 with @err. */
#define GOTRUE_API_REFRESH_PATH "/token?grant_type=refresh_token"
json_object *gotrue_api_refresh_body(const char *refresh_token, struct gotrue_error *err);
int gotrue_api_session_answer(json_object *obj, const char *path, struct gotrue_session *out,
			      struct gotrue_error *err);
int gotrue_api_user_answer(json_object *obj, const char *path, struct gotrue_user *out,
			   struct gotrue_error *err);
/* Abandon the request a *_start call began, if it is still in flight, and wipe what it held. */
void gotrue_client_cancel(struct gotrue_client *c);

/* An empty request body: NULL with GOTRUE_ERR_NOMEM in @err. */
json_object *gotrue_api_new_body(struct gotrue_error *err);
/* "email" or "phone" into @body: exactly one of them must be given. 0 or -1 with @err. */
int gotrue_api_add_identity(json_object *body, const char *email, const char *phone,
			    struct gotrue_error *err);
/* PKCE (RFC 7636): code_challenge and code_challenge_method into @body; nothing for a NULL
 * @code_challenge. 0 or -1 with @err. */
int gotrue_api_add_challenge(json_object *body, const char *code_challenge,
			     struct gotrue_error *err);
/* "/factors/ID" and, with @action, "/factors/ID/ACTION" into @path (@len bytes). 0, or -1 with
 * @err when @factor_id is not a UUID. */
int gotrue_api_factor_path(const char *factor_id, const char *action, char *path, size_t len,
			   struct gotrue_error *err);

#endif
