/* handlers_mfa.c: TOTP factors (POST /factors, /factors/{id}/challenge, /factors/{id}/verify,
 * DELETE /factors/{id}); transcript steps 159-169. Codes are real RFC 6238 codes (HMAC-SHA1,
 * 30 s steps, 6 digits, RFC 4226 dynamic truncation) so a test can compute them from the
 * enrolment secret. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "emulator.h"

/* RFC 4648 base32, the alphabet otpauth:// URIs use. Hand-written: OpenSSL has no base32. */
static void base32(const unsigned char *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint32_t buf = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = a[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = a[(buf << (5 - bits)) & 31];
	out[o] = '\0';
}

static size_t unbase32(const char *in, unsigned char *out, size_t cap)
{
	uint32_t buf = 0;
	int bits = 0;
	size_t o = 0;

	for (; *in && o < cap; in++) {
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
		const char *p = strchr(a, *in);

		if (!p)
			continue;
		buf = (buf << 5) | (uint32_t)(p - a);
		bits += 5;
		if (bits >= 8) {
			out[o++] = (unsigned char)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	return o;
}

static unsigned totp_at(const char *secret_b32, uint64_t counter)
{
	unsigned char key[64], msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	size_t klen = unbase32(secret_b32, key, sizeof(key));
	unsigned off;
	uint32_t bin;

	for (int i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	HMAC(EVP_sha1(), key, (int)klen, msg, sizeof(msg), mac, &mac_len);
	off = mac[mac_len - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	      ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	OPENSSL_cleanse(key, sizeof(key));
	return bin % 1000000u;
}

static bool totp_ok(const char *secret_b32, const char *code)
{
	uint64_t t = (uint64_t)time(NULL) / 30;
	char want[8];

	if (!code || strlen(code) != 6)
		return false;
	/* one step of clock skew either way, as GoTrue's pquerna/otp validation allows */
	for (int d = -1; d <= 1; d++) {
		snprintf(want, sizeof(want), "%06u", totp_at(secret_b32, t + (uint64_t)d));
		if (CRYPTO_memcmp(want, code, 6) == 0)
			return true;
	}
	return false;
}

/* @u's factor @id, or NULL after answering 404 mfa_factor_not_found. */
static struct emu_factor *factor_or_404(struct emu_req *q, struct emu_reply *r, struct emu_user *u,
					const char *id)
{
	for (struct emu_factor *f = u->factors; f; f = f->next)
		if (strcmp(f->id, id) == 0)
			return f;
	emu_reply_error(r, q, 404, "mfa_factor_not_found", "Factor not found");
	return NULL;
}

#define MAX_FACTORS 10 /* GOTRUE_MFA_MAX_ENROLLED_FACTORS and _MAX_VERIFIED_FACTORS */

/* v2.69's EnrollFactor: at most ten factors, and a friendly name that is not blank must be new,
 * which only the database's unique index (mfa_factors_user_friendly_name_unique, on names whose
 * trim() is not empty) enforces: the failed insert is an unhandled error, 500. False after
 * answering. */
static bool enroll_allowed_v269(struct emu_req *q, struct emu_reply *r, const struct emu_user *u,
				const char *name)
{
	int n = 0, verified = 0;
	bool taken = false;

	for (const struct emu_factor *f = u->factors; f; f = f->next) {
		n++;
		verified += f->verified;
		taken = taken || (name[strspn(name, " ")] && strcmp(f->friendly_name, name) == 0);
	}
	if (n >= MAX_FACTORS)
		emu_reply_error(r, q, 403, "too_many_enrolled_mfa_factors",
				"Enrolled factors exceed allowed limit, unenroll to continue");
	else if (verified >= MAX_FACTORS)
		emu_reply_error(r, q, 403, "too_many_enrolled_mfa_factors",
				"Maximum number of enrolled factors reached, unenroll to continue");
	else if (taken)
		emu_reply_error(r, q, 500, "unexpected_failure", "Internal server error");
	return n < MAX_FACTORS && verified < MAX_FACTORS && !taken;
}

/* Current servers' validateFactors and factor types: only TOTP is enabled (the MFA_*_ENROLL
 * defaults), friendly names are unique per user, even the empty one, at most ten factors, and
 * once a factor is verified only an aal2 session may add another (v2.185 steps 160, 207, 208).
 * False after answering. */
static bool enroll_allowed(struct emu_req *q, struct emu_reply *r, const struct emu_user *u,
			   const struct emu_session *s, const char *ftype, const char *name)
{
	char msg[300];
	bool verified = false;
	int n = 0;

	if (ftype && (strcmp(ftype, "phone") == 0 || strcmp(ftype, "webauthn") == 0)) {
		snprintf(msg, sizeof(msg), "MFA enroll is disabled for %s",
			 strcmp(ftype, "phone") == 0 ? "Phone" : "WebAuthn");
		emu_reply_error(r, q, 422,
				strcmp(ftype, "phone") == 0 ? "mfa_phone_enroll_not_enabled"
							    : "mfa_webauthn_enroll_not_enabled",
				msg);
		return false;
	}
	if (!ftype || strcmp(ftype, "totp") != 0) {
		emu_reply_error(r, q, 400, "validation_failed",
				emu_current() ? "factor_type needs to be totp, phone, or webauthn"
					      : "factor_type needs to be totp");
		return false;
	}
	if (!emu_current())
		return enroll_allowed_v269(q, r, u, name);
	for (const struct emu_factor *f = u->factors; f; f = f->next) {
		if (strcmp(f->friendly_name, name) == 0) {
			snprintf(msg, sizeof(msg),
				 "A factor with the friendly name \"%.128s\" for this user already "
				 "exists",
				 name);
			emu_reply_error(r, q, 422, "mfa_factor_name_conflict", msg);
			return false;
		}
		verified = verified || f->verified;
		n++;
	}
	if (n >= MAX_FACTORS) {
		emu_reply_error(r, q, 422, "too_many_enrolled_mfa_factors",
				"Maximum number of verified factors reached, unenroll to continue");
		return false;
	}
	if (verified && (!s || strcmp(s->aal, "aal2") != 0)) {
		emu_reply_error(r, q, 403, "insufficient_aal",
				"AAL2 required to enroll a new factor");
		return false;
	}
	return true;
}

/* Go's url escaping of @in into @out (@cap bytes, truncating): QueryEscape (@query: space as
 * '+'), or a URL path's (encodePath: "$&+,/:;=@" kept too). */
static void url_escape(const char *in, bool query, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 4 < cap; in++) {
		unsigned char c = (unsigned char)*in;

		if (isalnum(c) || strchr("-_.~", c) || (!query && strchr("$&+,/:;=@", c)))
			out[o++] = (char)c;
		else if (c == ' ' && query)
			out[o++] = '+';
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/* The enrolment answer: {id, type, (current: friendly_name,) totp:{qr_code, secret, uri}}; the
 * URI as pquerna/otp's Key.URL() writes it: otpauth://totp/ISSUER:ACCOUNT?... */
static json_object *enroll_json(const struct emu_user *u, const struct emu_factor *f,
				const char *issuer)
{
	json_object *o = json_object_new_object(), *totp = json_object_new_object();
	char uri[1024], raw[300], label[512], query_issuer[256];

	snprintf(raw, sizeof(raw), "%s:%s", issuer, u->email);
	url_escape(raw, false, label, sizeof(label));
	url_escape(issuer, true, query_issuer, sizeof(query_issuer));
	snprintf(uri, sizeof(uri),
		 "otpauth://totp/%s?algorithm=SHA1&digits=6&issuer=%s&period=30&secret=%s", label,
		 query_issuer, f->secret);
	json_object_object_add(o, "id", json_object_new_string(f->id));
	json_object_object_add(o, "type", json_object_new_string("totp"));
	if (emu_current()) /* v2.185 step 159 */
		json_object_object_add(o, "friendly_name",
				       json_object_new_string(f->friendly_name));
	json_object_object_add(totp, "qr_code",
			       json_object_new_string("<?xml version=\"1.0\"?>\n<svg "
						      "xmlns=\"http://www.w3.org/2000/svg\"/>"));
	json_object_object_add(totp, "secret", json_object_new_string(f->secret));
	json_object_object_add(totp, "uri", json_object_new_string(uri));
	json_object_object_add(o, "totp", totp);
	return o;
}

void emu_h_factor_enroll(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims = NULL, *in = NULL;
	struct emu_user *u = emu_auth_user(q, r, &claims);
	const char *issuer, *name;
	unsigned char raw[20];
	struct emu_factor *f;

	(void)id, (void)sub;
	if (!u)
		return;
	in = emu_body_or_400(q, r, "Could not read EnrollFactor params");
	if (!in)
		goto cleanup;
	/* without one, the issuer is SITE_URL's host (http://localhost:3000 on the recorded
	 * servers) */
	issuer = emu_str_field(in, "issuer") && *emu_str_field(in, "issuer")
			 ? emu_str_field(in, "issuer")
			 : "localhost:3000";
	name = emu_str_field(in, "friendly_name") ? emu_str_field(in, "friendly_name") : "";
	if (!enroll_allowed(q, r, u, emu_session_by_id(emu_str_field(claims, "session_id")),
			    emu_str_field(in, "factor_type"), name))
		goto cleanup;
	f = calloc(1, sizeof(*f));
	if (!f)
		abort(); /* see emu_user_new */
	emu_uuid(f->id);
	snprintf(f->friendly_name, sizeof(f->friendly_name), "%s", name);
	RAND_bytes(raw, sizeof(raw));
	base32(raw, sizeof(raw), f->secret);
	OPENSSL_cleanse(raw, sizeof(raw));
	f->created_at = f->updated_at = emu_now();
	f->next = u->factors;
	u->factors = f;
	emu_reply_json(r, 200, enroll_json(u, f, issuer));
cleanup:
	json_object_put(in);
	json_object_put(claims);
}

void emu_h_factor_challenge(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = emu_auth_user(q, r, NULL);
	struct emu_factor *f;
	struct emu_challenge *c;
	json_object *o;

	(void)sub;
	if (!u)
		return;
	f = factor_or_404(q, r, u, id);
	if (!f)
		return;
	/* each challenge stands until verified or expired, several at once (v2.185 164-164d) */
	c = &f->challenges[f->next_challenge++ % EMU_CHALLENGES];
	emu_uuid(c->id);
	c->expires = time(NULL) + 300;
	c->verified = false;
	f->last_challenged_at = emu_now();
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(c->id));
	if (emu_current()) /* v2.185 step 161 */
		json_object_object_add(o, "type", json_object_new_string("totp"));
	json_object_object_add(o, "expires_at", json_object_new_int64(c->expires));
	emu_reply_json(r, 200, o);
}

/* The challenge @cid of @f that a code may be checked against, or NULL after answering: current
 * servers (validateChallenge) answer 422 for an unknown, already verified or expired challenge;
 * v2.69 404 for the first two, 400 for the last. */
static struct emu_challenge *challenge_usable(struct emu_req *q, struct emu_reply *r,
					      struct emu_factor *f, const char *cid)
{
	struct emu_challenge *c = NULL;
	char msg[200];

	for (int i = 0; cid && i < EMU_CHALLENGES && !c; i++)
		if (f->challenges[i].id[0] && strcmp(f->challenges[i].id, cid) == 0)
			c = &f->challenges[i];
	if (!c && emu_current())
		emu_reply_error(r, q, 422, "mfa_factor_not_found",
				"MFA factor with the provided challenge ID not found");
	else if (c && c->verified && emu_current())
		/* the message is the server's own, however little it fits (v2.185 164d) */
		emu_reply_error(r, q, 422, "mfa_ip_address_mismatch",
				"Challenge and verify IP addresses mismatch.");
	else if (!c || c->verified)
		emu_reply_error(r, q, 404, "mfa_factor_not_found", "MFA Challenge not found");
	else if (time(NULL) > c->expires && emu_current()) {
		snprintf(msg, sizeof(msg),
			 "MFA challenge %s has expired, verify against another challenge or create "
			 "a new challenge.",
			 c->id);
		emu_reply_error(r, q, 422, "mfa_challenge_expired", msg);
	} else if (time(NULL) > c->expires)
		emu_reply_error(r, q, 400, "mfa_challenge_expired", "MFA challenge has expired");
	else
		return c;
	return NULL;
}

/* A verified code: the JWT's session steps up to aal2 with a new refresh token (the old one
 * rotated, as GrantRefreshTokenSwap does), and the user's other aal1 sessions end
 * (InvalidateSessionsWithAALLessThan, both generations). */
static json_object *step_up(struct emu_req *q, struct emu_user *u, struct emu_factor *f,
			    const char *session_id)
{
	struct emu_session *s = emu_session_by_id(session_id);
	struct emu_rtoken *old;

	f->verified = true;
	f->updated_at = emu_now();
	if (!s) /* v2.69 does not look the session up first: a vanished one is replaced */
		s = emu_session_new(u, "password");
	strcpy(s->aal, "aal2");
	memcpy(s->factor_id, f->id, EMU_ID_LEN);
	emu_sessions_delete_aal1(u->id);
	old = emu_rtoken_active(s);
	if (old)
		old->used = true;
	return emu_session_reply_rt(u, s, emu_rtoken_new(s, old), q);
}

void emu_h_factor_verify(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims = NULL, *in = NULL;
	struct emu_user *u = emu_auth_user(q, r, &claims);
	struct emu_factor *f;
	struct emu_challenge *c;
	const char *code;

	(void)sub;
	if (!u)
		return;
	f = factor_or_404(q, r, u, id);
	if (!f)
		goto cleanup;
	in = emu_body_or_400(q, r, "Could not read VerifyFactor params");
	if (!in)
		goto cleanup;
	code = emu_str_field(in, "code");
	if (emu_current() && (!code || !*code)) {
		emu_reply_error(r, q, 400, "validation_failed", "Code needs to be non-empty");
		goto cleanup;
	}
	c = challenge_usable(q, r, f, emu_str_field(in, "challenge_id"));
	if (!c)
		goto cleanup;
	/* a wrong code leaves the challenge usable (step 162 then 163-164) */
	if (!totp_ok(f->secret, code)) {
		emu_reply_error(r, q, emu_current() ? 422 : 400, "mfa_verification_failed",
				"Invalid TOTP code entered");
		goto cleanup;
	}
	/* no replay protection: the same code verifies another challenge (v2.185 164c) */
	c->verified = true;
	emu_reply_json(r, 200, step_up(q, u, f, emu_str_field(claims, "session_id")));
cleanup:
	json_object_put(in);
	json_object_put(claims);
}

/* The assurance level of the caller: its session's, where the server keeps one (a session loses
 * aal2 when its factor goes), else the claim's. */
static bool caller_aal2(json_object *claims)
{
	const struct emu_session *s = emu_session_by_id(emu_str_field(claims, "session_id"));
	const char *aal = s ? s->aal : emu_str_field(claims, "aal");

	return aal && strcmp(aal, "aal2") == 0;
}

void emu_h_factor_delete(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims = NULL, *o;
	struct emu_user *u = emu_auth_user(q, r, &claims);
	struct emu_factor **pp, *f;

	(void)sub;
	if (!u)
		return;
	for (pp = &u->factors; *pp && strcmp((*pp)->id, id) != 0; pp = &(*pp)->next)
		;
	f = *pp;
	if (!f) {
		emu_reply_error(r, q, 404, "mfa_factor_not_found", "Factor not found");
		goto cleanup;
	}
	if (f->verified && !caller_aal2(claims)) {
		emu_reply_error(r, q, emu_current() ? 422 : 400, "insufficient_aal",
				"AAL2 required to unenroll verified factor");
		goto cleanup;
	}
	*pp = f->next;
	/* DowngradeSessionsToAAL1: the sessions this factor stepped up are aal1 again (v2.185
	 * step 211) */
	emu_sessions_downgrade(u->id, f->id);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(f->id));
	OPENSSL_cleanse(f, sizeof(*f));
	free(f);
	emu_reply_json(r, 200, o);
cleanup:
	json_object_put(claims);
}
