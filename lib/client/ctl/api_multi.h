/* api_multi: the refresh pass's requests in two halves (api_multi.c). */
#ifndef GOTRUE_API_MULTI_H
#define GOTRUE_API_MULTI_H

#include <stdbool.h>

#include "api.h"

/* The same requests in two halves, on libcurl's multi interface (lib/client/http.h): _start sends
 * and returns (0, or -1 with @err: nothing was sent), gotrue_client_ended says when the answer is
 * in (after gotrue_http_multi_wait), and _end reads it as the one-call form does, waiting for it
 * if need be. One request per client at a time. */
struct gotrue_http_multi;
/* @c's requests run on @m from now on (NULL: on their own again): the *_start ones, and the
 * one-call ones too, which then move @m's other requests on while they wait. Free @c before @m;
 * a request still in flight is cancelled. */
void gotrue_client_attach(struct gotrue_client *c, struct gotrue_http_multi *m);
bool gotrue_client_ended(const struct gotrue_client *c);
int gotrue_refresh_start(struct gotrue_client *c, const char *refresh_token,
			 struct gotrue_error *err);
int gotrue_refresh_end(struct gotrue_client *c, struct gotrue_session *out,
		       struct gotrue_error *err);
int gotrue_user_get_start(struct gotrue_client *c, const char *access_token,
			  struct gotrue_error *err);
int gotrue_user_get_end(struct gotrue_client *c, struct gotrue_user *out, struct gotrue_error *err);

#endif
