/* session: the answer of the token-issuing endpoints (/token, /verify, /signup, /factors/verify):
 * access_token, token_type, expires_in, expires_at, refresh_token and the user. */
#ifndef GOTRUE_SESSION_H
#define GOTRUE_SESSION_H

#include <stdbool.h>
#include <time.h>
#include <json-c/json.h>

#include "user.h"

#define GOTRUE_TOKEN_MAX (16 * 1024)

struct gotrue_session {
	char *access_token; /* secret; NULL when the server returned only a user (signup pending) */
	char *refresh_token; /* secret */
	char *token_type;
	long expires_in;
	time_t expires_at; /* from expires_at, else now + expires_in */
	bool has_user;
	struct gotrue_user user;
};

/* Accepts both a session and a bare user object (signup awaiting confirmation). 0 or -1. */
int gotrue_session_from_json(json_object *obj, struct gotrue_session *out, char *why,
			     size_t why_len);
/* Wipes the tokens. */
void gotrue_session_clear(struct gotrue_session *s);

#endif
