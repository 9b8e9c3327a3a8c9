/* oauth: the PKCE flow (RFC 7636) around a sign-in that ends in a browser: the GoTrue
 * GET /authorize?provider=... URL a user is sent to, the verifier/challenge pair that binds the
 * code GoTrue hands back to this client, the parser that finds that code in the URL the browser
 * landed on, and the one network call: trading the code and the verifier for a session
 * (POST /token?grant_type=pkce, supabase/auth internal/api/token.go). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "api_internal.h"
#include "oauth.h"

/* 32 random bytes: the 256 bits RFC 7636 7.1 recommends, 43 base64url characters. */
#define PKCE_VERIFIER_BYTES 32
#define PKCE_VERIFIER_MIN   43
#define PKCE_VERIFIER_MAX   128

/* base64url without padding (RFC 7636 Appendix A) of @len bytes into @out (@out_len bytes).
 * EVP_EncodeBlock writes standard base64; the alphabet is then mapped and the '=' dropped.
 * 0 or -1 when @out is too small. */
static int base64url(const unsigned char *in, size_t len, char *out, size_t out_len)
{
	unsigned char buf[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	size_t i, n;

	if (len > EVP_MAX_MD_SIZE)
		return -1;
	n = (size_t)EVP_EncodeBlock(buf, in, (int)len);
	while (n > 0 && buf[n - 1] == '=')
		n--;
	if (n + 1 > out_len)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = buf[i] == '+' ? '-' : buf[i] == '/' ? '_' : (char)buf[i];
	out[n] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* RFC 3986 2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" */
static int unreserved(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* How many unreserved characters @s starts with, counting at most @max + 1. */
static size_t unreserved_span(const char *s, size_t max)
{
	size_t n = 0;

	while (n <= max && s[n] != '\0' && unreserved(s[n]))
		n++;
	return n;
}

/* RFC 7636 4.1: code-verifier = 43*128unreserved. */
static int verifier_valid(const char *v)
{
	size_t n = unreserved_span(v, PKCE_VERIFIER_MAX);

	return v[n] == '\0' && n >= PKCE_VERIFIER_MIN && n <= PKCE_VERIFIER_MAX;
}

/* RFC 7636 4.2: S256 code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier))). */
int gotrue_pkce_challenge(const char *verifier, char *challenge, size_t challenge_len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int rc = -1;

	if (!verifier || !challenge || !verifier_valid(verifier))
		goto cleanup;
	if (EVP_Digest(verifier, strlen(verifier), md, &md_len, EVP_sha256(), NULL) != 1)
		goto cleanup;
	rc = base64url(md, md_len, challenge, challenge_len);
cleanup:
	explicit_bzero(md, sizeof(md));
	return rc;
}

int gotrue_pkce_pair(char *verifier, size_t verifier_len, char *challenge, size_t challenge_len)
{
	unsigned char rnd[PKCE_VERIFIER_BYTES];
	int rc = -1;

	if (!verifier || !challenge)
		goto cleanup;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto cleanup;
	if (base64url(rnd, sizeof(rnd), verifier, verifier_len) != 0)
		goto cleanup;
	rc = gotrue_pkce_challenge(verifier, challenge, challenge_len);
cleanup:
	explicit_bzero(rnd, sizeof(rnd));
	if (rc != 0 && verifier && verifier_len > 0)
		explicit_bzero(verifier, verifier_len);
	return rc;
}

/* @s percent-encoded (curl_easy_escape), in memory that free() releases; NULL on ENOMEM. libcurl
 * is first set up as every request of this client has it (gotrue_http_global_init). */
static char *escape(const char *s)
{
	char *esc = NULL, *copy = NULL;

	if (gotrue_http_global_init() == 0)
		esc = curl_easy_escape(NULL, s, 0);
	if (esc)
		copy = strdup(esc);
	curl_free(esc);
	return copy;
}

/* GET /authorize (supabase/auth internal/api/external.go): provider, redirect_to, scopes and,
 * for the PKCE flow, code_challenge with code_challenge_method=s256 (the spelling supabase's
 * own clients send). Every value is percent-encoded. */
char *gotrue_provider_url(const struct gotrue_config *cfg, const char *provider,
			  const char *redirect_to, const char *scopes, const char *code_challenge)
{
	char *ep = NULL, *er = NULL, *es = NULL, *ec = NULL, *url = NULL;

	if (!cfg || !cfg->url || !provider || !*provider)
		goto cleanup;
	ep = escape(provider);
	if (!ep)
		goto cleanup;
	if (redirect_to && !(er = escape(redirect_to)))
		goto cleanup;
	if (scopes && !(es = escape(scopes)))
		goto cleanup;
	if (code_challenge && !(ec = escape(code_challenge)))
		goto cleanup;
	if (asprintf(&url, "%s/authorize?provider=%s%s%s%s%s%s%s%s", cfg->url, ep,
		     er ? "&redirect_to=" : "", er ? er : "", es ? "&scopes=" : "", es ? es : "",
		     ec ? "&code_challenge=" : "", ec ? ec : "",
		     ec ? "&code_challenge_method=s256" : "") < 0)
		url = NULL;
cleanup:
	free(ep);
	free(er);
	free(es);
	free(ec);
	return url;
}

/* The value of the first `code` parameter of the query that starts at @q (after the '?'), or
 * NULL. The query ends at '#' or at the end of the text. */
static const char *query_code(const char *q)
{
	while (*q && *q != '#') {
		if (strncmp(q, "code=", 5) == 0)
			return q + 5;
		q += strcspn(q, "&#");
		if (*q == '&')
			q++;
	}
	return NULL;
}

int gotrue_pkce_code_parse(const char *text, char *out, size_t out_len)
{
	const char *code = text, *query;
	size_t n;
	int rc = -1;

	if (!text || !out || out_len == 0)
		goto cleanup;
	out[0] = '\0';
	/* A URL (anything that is not a bare code): the code is a parameter of its query. No
	 * percent-decoding: a code that needs it is not one GoTrue issued. */
	if (text[unreserved_span(text, GOTRUE_AUTH_CODE_MAX)] != '\0') {
		query = strchr(text, '?');
		if (!query || (strchr(text, '#') && strchr(text, '#') < query))
			goto cleanup;
		code = query_code(query + 1);
		if (!code)
			goto cleanup;
	}
	n = unreserved_span(code, GOTRUE_AUTH_CODE_MAX);
	if (n == 0 || n > GOTRUE_AUTH_CODE_MAX || n >= out_len ||
	    (code[n] != '\0' && code[n] != '&' && code[n] != '#'))
		goto cleanup;
	memcpy(out, code, n);
	out[n] = '\0';
	rc = 0;
cleanup:
	return rc;
}

/* POST /token?grant_type=pkce {auth_code, code_verifier} (token.go PKCE). GoTrue checks
 * SHA-256(verifier) against the challenge stored with the code, then destroys the flow state. */
int gotrue_exchange_code(struct gotrue_client *c, const char *auth_code, const char *code_verifier,
			 struct gotrue_session *out, struct gotrue_error *err)
{
	json_object *body = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!auth_code || !*auth_code || !code_verifier || !verifier_valid(code_verifier)) {
		gotrue_error_set(err, GOTRUE_ERR_INTERNAL,
				 "the code exchange needs a code and a verifier of 43 to 128 "
				 "unreserved characters");
		goto cleanup;
	}
	body = gotrue_api_new_body(err);
	if (!body || gotrue_json_add_str(body, "auth_code", auth_code, err) != 0 ||
	    gotrue_json_add_str(body, "code_verifier", code_verifier, err) != 0)
		goto cleanup;
	rc = gotrue_api_session(c, "POST", "/token?grant_type=pkce", NULL, body, out, err);
cleanup:
	gotrue_json_put_wiped(body);
	return rc;
}
