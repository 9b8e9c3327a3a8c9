/* api_internal: what api.c, api_admin.c and api_mfa.c share and no one else may use: the client
 * struct, the lazily loaded admin bearer and the request helpers that parse a session or a user
 * (json.h, included here, holds the helpers that add and wipe secrets in json-c objects). */
#ifndef GOTRUE_API_INTERNAL_H
#define GOTRUE_API_INTERNAL_H

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
	/* The body of the request started by a *_start call, kept (its serialisation is what the
	 * transfer reads) until the matching *_end wipes it. */
	json_object *body;
};

/* The service-role key, loaded from service_role_key_file on first use. NULL with
 * GOTRUE_ERR_CONFIG in @err when it is not configured or cannot be read. */
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

#endif
