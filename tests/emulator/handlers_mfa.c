/* handlers_mfa.c: TOTP factors (POST /factors, /factors/{id}/challenge, /factors/{id}/verify,
 * DELETE /factors/{id}); transcript steps 159-169. Codes are real RFC 6238 codes (HMAC-SHA1,
 * 30 s steps, 6 digits, RFC 4226 dynamic truncation) so a test can compute them from the
 * enrolment secret. */
#include <config.h>

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

void emu_h_factor_enroll(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = emu_auth_user(q, r, NULL);
	char uri[512];
	json_object *in = NULL, *o, *totp;
	const char *ftype, *issuer, *name;
	unsigned char raw[20];
	struct emu_factor *f;

	(void)id, (void)sub;
	if (!u)
		return;
	in = emu_body_or_400(q, r, "Could not read EnrollFactor params");
	if (!in)
		return;
	ftype = emu_str_field(in, "factor_type");
	if (!ftype || strcmp(ftype, "totp") != 0) {
		emu_reply_error(r, q, 400, "validation_failed", "factor_type needs to be totp");
		goto cleanup;
	}
	issuer = emu_str_field(in, "issuer") ? emu_str_field(in, "issuer") : "gotrue-emulator";
	name = emu_str_field(in, "friendly_name") ? emu_str_field(in, "friendly_name") : "";
	f = calloc(1, sizeof(*f));
	emu_uuid(f->id);
	snprintf(f->friendly_name, sizeof(f->friendly_name), "%s", name);
	RAND_bytes(raw, sizeof(raw));
	base32(raw, sizeof(raw), f->secret);
	OPENSSL_cleanse(raw, sizeof(raw));
	f->created_at = f->updated_at = emu_now();
	f->next = u->factors;
	u->factors = f;
	snprintf(uri, sizeof(uri),
		 "otpauth://totp/%s:%s?algorithm=SHA1&digits=6&issuer=%s&period=30&secret=%s",
		 issuer, u->email, issuer, f->secret);
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(f->id));
	json_object_object_add(o, "type", json_object_new_string("totp"));
	totp = json_object_new_object();
	json_object_object_add(totp, "qr_code",
			       json_object_new_string("<?xml version=\"1.0\"?>\n<svg "
						      "xmlns=\"http://www.w3.org/2000/svg\"/>"));
	json_object_object_add(totp, "secret", json_object_new_string(f->secret));
	json_object_object_add(totp, "uri", json_object_new_string(uri));
	json_object_object_add(o, "totp", totp);
	emu_reply_json(r, 200, o);
cleanup:
	json_object_put(in);
}

void emu_h_factor_challenge(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = emu_auth_user(q, r, NULL);
	struct emu_factor *f;
	json_object *o;

	(void)sub;
	if (!u)
		return;
	f = factor_or_404(q, r, u, id);
	if (!f)
		return;
	emu_uuid(f->challenge_id);
	f->challenge_expires = time(NULL) + 300;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(f->challenge_id));
	json_object_object_add(o, "expires_at", json_object_new_int64(f->challenge_expires));
	emu_reply_json(r, 200, o);
}

void emu_h_factor_verify(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims = NULL, *in = NULL;
	struct emu_user *u = emu_auth_user(q, r, &claims);
	struct emu_factor *f;
	struct emu_session *s;
	const char *cid, *code;

	(void)sub;
	if (!u)
		return;
	f = factor_or_404(q, r, u, id);
	if (!f)
		goto cleanup;
	in = emu_body_or_400(q, r, "Could not read VerifyFactor params");
	if (!in)
		goto cleanup;
	cid = emu_str_field(in, "challenge_id");
	code = emu_str_field(in, "code");
	if (!cid || strcmp(cid, f->challenge_id) != 0) {
		emu_reply_error(r, q, 404, "mfa_factor_not_found", "MFA Challenge not found");
		goto cleanup;
	}
	if (time(NULL) > f->challenge_expires) {
		emu_reply_error(r, q, 400, "mfa_challenge_expired", "MFA challenge has expired");
		goto cleanup;
	}
	if (!totp_ok(f->secret, code)) {
		emu_reply_error(r, q, 400, "mfa_verification_failed", "Invalid TOTP code entered");
		goto cleanup;
	}
	f->challenge_id[0] = '\0'; /* a challenge is single-use */
	f->verified = true;
	f->updated_at = emu_now();
	/* the JWT's session steps up to aal2; a vanished session gets a fresh one */
	s = emu_session_by_id(emu_str_field(claims, "session_id"));
	if (!s)
		s = emu_session_new(u, "password");
	strcpy(s->aal, "aal2");
	emu_reply_json(r, 200, emu_session_reply(u, s, q));
cleanup:
	json_object_put(in);
	json_object_put(claims);
}

void emu_h_factor_delete(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *claims = NULL, *o;
	struct emu_user *u = emu_auth_user(q, r, &claims);
	struct emu_factor **pp, *f;
	const char *aal;

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
	aal = emu_str_field(claims, "aal");
	if (f->verified && (!aal || strcmp(aal, "aal2") != 0)) {
		emu_reply_error(r, q, emu_cfg.mode == EMU_MODE_CURRENT ? 403 : 400,
				"insufficient_aal", "AAL2 required to unenroll verified factor");
		goto cleanup;
	}
	*pp = f->next;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(f->id));
	OPENSSL_cleanse(f, sizeof(*f));
	free(f);
	emu_reply_json(r, 200, o);
cleanup:
	json_object_put(claims);
}
