/* fuzz_user: GoTrue user JSON (lib/client/user.c), the session wrapper around it
 * (lib/client/session.c), and a user read from a token's claims against a body
 * (gotrue_user_from_claims). */
#include <config.h>

#include <stdint.h>
#include <json-c/json.h>

#include "session.h"
#include "user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gotrue_user u = {0}, v = {0};
	struct gotrue_session s = {0};
	struct json_tokener *tok;
	json_object *obj;
	char why[128];

	tok = json_tokener_new();
	if (!tok)
		return 0;
	obj = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (obj && gotrue_session_from_json(obj, &s, why, sizeof(why)) == 0) {
		/* The session's own user against the same object read as a token's claims. */
		if (s.has_user && gotrue_user_from_claims(obj, &s.user, &v, why, sizeof(why)) == 0)
			gotrue_user_clear(&v);
		gotrue_session_clear(&s);
	}
	/* The input as claims, against a user parsed from it (both may be anything). */
	if (gotrue_user_parse((const char *)data, size, &u, why, sizeof(why)) == 0) {
		if (obj && gotrue_user_from_claims(obj, &u, &v, why, sizeof(why)) == 0)
			gotrue_user_clear(&v);
		gotrue_user_clear(&u);
	}
	json_object_put(obj);
	json_tokener_free(tok);
	return 0;
}
