/* api_internal: what api.c, api_admin.c and api_mfa.c share and no one else may use: the client
 * struct, the lazily loaded admin bearer, the request helpers that parse a session or a user,
 * and the one helper that wipes secrets json-c copied into its objects. */
#ifndef GOTRUE_API_INTERNAL_H
#define GOTRUE_API_INTERNAL_H

#include <json-c/json.h>
#include <security/pam_ext.h>

#include "api.h"
#include "http.h"

struct gotrue_client {
	pam_handle_t *pamh;
	/* Not owned. Not const: its secrets are loaded into it on demand (config.h). */
	struct gotrue_config *cfg;
	struct gotrue_http *http;
};

/* The service-role key, loaded from service_role_key_file on first use. NULL with
 * GOTRUE_ERR_CONFIG in @err when it is not configured or cannot be read. */
const char *gotrue_client_admin_bearer(struct gotrue_client *c, struct gotrue_error *err);

/* Add @key: @value (a string) to @obj. 0, or -1 with GOTRUE_ERR_NOMEM in @err. A secret may be
 * added: json-c copies it, so the object must be released with gotrue_json_put_wiped. */
int gotrue_json_add_str(json_object *obj, const char *key, const char *value,
			struct gotrue_error *err);
/* Overwrite in place every string inside @obj (json-c's own copies of passwords, one-time
 * codes and tokens), then drop the reference. NULL is fine. Only for trees nobody else holds a
 * reference into. */
void gotrue_json_put_wiped(json_object *obj);

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
