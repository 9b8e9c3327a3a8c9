/* api_multi: the refresh pass's requests in two halves (POST /token?grant_type=refresh_token and
 * GET /user), several at once on one thread through libcurl's multi interface (lib/client/http.h).
 * Only gotruectl's refresh pass sends them so, hence not in the PAM module. */
#include <config.h>

#include <string.h>

#include "api_internal.h"
#include "api_multi.h"

void gotrue_client_attach(struct gotrue_client *c, struct gotrue_http_multi *m)
{
	gotrue_client_cancel(c);
	c->multi = m;
	gotrue_http_attach(c->http, m);
}

/* Start @method @path with @body (consumed, may be NULL) on the multi @c is attached to. */
static int api_start(struct gotrue_client *c, const char *method, const char *path,
		     const char *bearer, json_object *body, struct gotrue_error *err)
{
	int rc = -1;

	if (c->multi == NULL || c->path != NULL) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "client: not attached, or busy");
		goto cleanup;
	}
	if (body != NULL) {
		c->text = (char *)json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN,
								    &c->text_len);
		if (c->text == NULL) {
			gotrue_error_set(err, GOTRUE_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
	}
	c->body = body;
	body = NULL;
	rc = gotrue_http_start(c->multi, c->http, method, path, bearer, c->text, false, &c->resp,
			       err);
	if (rc == 0) {
		c->method = method;
		c->path = path;
	}
cleanup:
	if (rc != 0)
		gotrue_client_cancel(c);
	gotrue_json_put_wiped(body);
	return rc;
}

/* Its answer, under gotrue_http_json's rules; what it held is wiped (gotrue_client_cancel, which
 * sends nothing once the request is over). */
static int api_end(struct gotrue_client *c, json_object **out, struct gotrue_error *err)
{
	int rc = -1;

	*out = NULL;
	if (c->path == NULL)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "client: no request started");
	else if (gotrue_http_finish(c->multi, c->http, c->method, c->path, NULL, err) == 0)
		rc = gotrue_http_json_answer(&c->resp, out, err);
	gotrue_client_cancel(c);
	return rc;
}

bool gotrue_client_ended(const struct gotrue_client *c)
{
	return c->path != NULL && gotrue_http_ended(c->http);
}

int gotrue_refresh_start(struct gotrue_client *c, const char *refresh_token,
			 struct gotrue_error *err)
{
	json_object *body = gotrue_api_refresh_body(refresh_token, err);

	return body ? api_start(c, "POST", GOTRUE_API_REFRESH_PATH, NULL, body, err) : -1;
}

int gotrue_refresh_end(struct gotrue_client *c, struct gotrue_session *out,
		       struct gotrue_error *err)
{
	json_object *obj = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (api_end(c, &obj, err) == 0)
		rc = gotrue_api_session_answer(obj, GOTRUE_API_REFRESH_PATH, out, err);
	return rc;
}

int gotrue_user_get_start(struct gotrue_client *c, const char *access_token,
			  struct gotrue_error *err)
{
	int rc = -1;

	if (!access_token || !*access_token)
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL, "/user needs an access token");
	else
		rc = api_start(c, "GET", "/user", access_token, NULL, err);
	return rc;
}

int gotrue_user_get_end(struct gotrue_client *c, struct gotrue_user *out, struct gotrue_error *err)
{
	json_object *obj = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (api_end(c, &obj, err) == 0)
		rc = gotrue_api_user_answer(obj, "/user", out, err);
	return rc;
}
