/* handlers_admin.c: the service-role endpoints: /invite and /admin/users (list with X-Total-Count
 * and a relative Link header, create, get, update with shallow metadata merge and Go-duration
 * bans, delete) and /admin/users/{id}/factors (transcript steps 97-157, 168); and the control
 * API's bulk user creation. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "emulator.h"

#define ADMIN_USER_PARAMS "Could not decode admin user params"

/* Go's time.ParseDuration, seconds resolution, with its error texts (steps 138-139).
 * Hand-written: no C library parses Go durations. Returns 0 or -1 with @err set. */
static int parse_go_duration(const char *s, double *secs, char *err, size_t err_len)
{
	const char *p = s;
	double total = 0;
	int sign = 1;

	if (*p == '-' || *p == '+')
		sign = *p++ == '-' ? -1 : 1;
	if (strcmp(p, "0") == 0) {
		*secs = 0;
		return 0;
	}
	if (!*p)
		goto invalid;
	while (*p) {
		char *end;
		double v;
		char unit[16];
		size_t n = 0;
		double mult;

		if (!isdigit((unsigned char)*p) && *p != '.')
			goto invalid;
		v = strtod(p, &end);
		if (end == p)
			goto invalid;
		p = end;
		while (*p && !isdigit((unsigned char)*p) && *p != '.' && n < sizeof(unit) - 1)
			unit[n++] = *p++;
		unit[n] = '\0';
		if (n == 0) {
			snprintf(err, err_len, "time: missing unit in duration \"%s\"", s);
			return -1;
		}
		if (strcmp(unit, "h") == 0)
			mult = 3600;
		else if (strcmp(unit, "m") == 0)
			mult = 60;
		else if (strcmp(unit, "s") == 0)
			mult = 1;
		else if (strcmp(unit, "ms") == 0)
			mult = 1e-3;
		else if (strcmp(unit, "us") == 0 || strcmp(unit, "\xc2\xb5s") == 0)
			mult = 1e-6;
		else if (strcmp(unit, "ns") == 0)
			mult = 1e-9;
		else {
			snprintf(err, err_len, "time: unknown unit \"%s\" in duration \"%s\"", unit,
				 s);
			return -1;
		}
		total += v * mult;
	}
	*secs = sign * total;
	return 0;
invalid:
	snprintf(err, err_len, "time: invalid duration \"%s\"", s);
	return -1;
}

void emu_h_invite(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	json_object *in = NULL, *data;
	const char *email;
	struct emu_user *u;

	(void)id, (void)sub;
	if (!emu_auth_admin(q, r))
		return;
	in = emu_body_or_400(q, r, "Could not read Invite params");
	if (!in)
		return;
	email = emu_str_field(in, "email");
	if (!email || !*email) {
		emu_reply_error(r, q, 422, "validation_failed", "Invite requires an email address");
		goto cleanup;
	}
	u = emu_user_by_email(email);
	if (u && u->email_confirmed_at > 0) {
		emu_reply_error(r, q, 422, "email_exists",
				"A user with this email address has already been registered");
		goto cleanup;
	}
	if (!u)
		u = emu_user_new(email);
	data = json_object_object_get(in, "data");
	if (json_object_is_type(data, json_type_object))
		emu_json_merge(u->user_metadata, data);
	/* A re-sent invite supersedes the earlier code and is not rate-limited (steps 98, 103). */
	emu_send_mail(u, "invite");
	u->invited_at = u->confirmation_sent_at = u->updated_at = emu_now();
	emu_reply_json(r, 200, emu_user_json(u, q));
cleanup:
	json_object_put(in);
}

static void link_add(char *buf, size_t len, const struct emu_req *q, long page, bool per_page,
		     long pp, const char *rel)
{
	char part[512];
	const char *filter = emu_req_arg(q, "filter");
	size_t used = strlen(buf);

	/* url.Values.Encode(): keys sorted, so filter < page < per_page. */
	snprintf(part, sizeof(part), "%s</admin/users?%s%s%spage=%ld", used ? ", " : "",
		 filter ? "filter=" : "", filter ? filter : "", filter ? "&" : "", page);
	if (per_page)
		snprintf(part + strlen(part), sizeof(part) - strlen(part), "&per_page=%ld", pp);
	snprintf(part + strlen(part), sizeof(part) - strlen(part), ">; rel=\"%s\"", rel);
	snprintf(buf + used, len - used, "%s", part);
}

static bool parse_uint(const char *s, long *out)
{
	char *end;

	if (!s)
		return true;
	if (!*s || !isdigit((unsigned char)*s))
		return false;
	*out = strtol(s, &end, 10);
	return *end == '\0';
}

static bool filter_match(const struct emu_user *u, const char *f)
{
	const char *name;

	if (!f || !*f)
		return true;
	if (strcasestr(u->email, f))
		return true;
	name = emu_str_field(u->user_metadata, "full_name");
	return name && strcasestr(name, f);
}

void emu_h_admin_list(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	const char *pp_s = emu_req_arg(q, "per_page"), *page_s = emu_req_arg(q, "page");
	const char *filter = emu_req_arg(q, "filter");
	long page = 1, pp = 50, total, start, last, idx = 0;
	json_object *o, *arr;
	char msg[300], link[2048] = "", num[32];
	struct emu_user *u;

	(void)id, (void)sub;
	if (!emu_auth_admin(q, r))
		return;
	if (!parse_uint(page_s, &page) || !parse_uint(pp_s, &pp)) {
		const char *bad = !parse_uint(page_s, &page) ? page_s : pp_s;

		snprintf(msg, sizeof(msg),
			 "Bad Pagination Parameters: strconv.ParseUint: parsing \"%s\": invalid "
			 "syntax",
			 bad);
		emu_reply_error(r, q, 400, "validation_failed", msg);
		return;
	}
	if (page < 1)
		page = 1;
	if (pp < 1)
		pp = 50;
	/* the first index on the page, kept from overflowing with absurd page numbers */
	total = (long)emu_user_count();
	start = page - 1 > total / pp ? total + 1 : (page - 1) * pp;
	arr = json_object_new_array();
	if (!filter || !*filter) {
		/* the common case, a page of everyone, is a slice: O(per_page) at any size */
		for (idx = start; idx < total && idx - start < pp; idx++)
			json_object_array_add(arr,
					      emu_user_list_json(emu_user_nth((size_t)idx), q));
	} else {
		for (size_t i = 0; (u = emu_user_nth(i)); i++) {
			if (!filter_match(u, filter))
				continue;
			if (idx >= start && idx - start < pp)
				json_object_array_add(arr, emu_user_list_json(u, q));
			idx++;
		}
		total = idx;
	}
	last = total / pp + (total % pp != 0);
	if (page < last)
		link_add(link, sizeof(link), q, page + 1, pp_s != NULL, pp, "next");
	link_add(link, sizeof(link), q, last, pp_s != NULL, pp, "last");
	o = json_object_new_object();
	json_object_object_add(o, "users", arr);
	json_object_object_add(o, "aud", json_object_new_string("authenticated"));
	emu_reply_json(r, 200, o);
	snprintf(num, sizeof(num), "%ld", total);
	emu_reply_header(r, "X-Total-Count", num);
	emu_reply_header(r, "Link", link);
}

/* Fields shared by create and update. Returns false after writing an error. */
static bool apply_fields(struct emu_req *q, struct emu_reply *r, struct emu_user *u,
			 json_object *in, bool create)
{
	const char *pw = emu_str_field(in, "password"), *ban = emu_str_field(in, "ban_duration");
	json_object *v;

	if (pw && strlen(pw) < 6) {
		emu_reply_weak_password(r, q);
		return false;
	}
	/* v2.69 ignores ban_duration on create (its answer shows it, see below); current servers
	 * store it (v2.185 steps 143-145) */
	if (ban && (!create || emu_current())) {
		char err[200], msg[300];
		double secs;

		if (strcmp(ban, "none") == 0) {
			u->banned_until = 0;
		} else if (parse_go_duration(ban, &secs, err, sizeof(err)) != 0) {
			snprintf(msg, sizeof(msg), "invalid format for ban duration: %s", err);
			emu_reply_error(r, q, 400, "validation_failed", msg);
			return false;
		} else {
			u->banned_until = time(NULL) + (time_t)secs;
		}
	}
	if (pw && emu_user_set_password(u, pw) != 0) {
		emu_reply_error(r, q, 500, "unexpected_failure", "Error hashing the password");
		return false;
	}
	/* adminUserUpdate's UpdatePassword(tx, nil): every session of the user ends */
	if (pw && !create)
		emu_user_password_changed(u, NULL);
	if (json_object_object_get_ex(in, "email_confirm", &v) && json_object_get_boolean(v) &&
	    u->email_confirmed_at <= 0)
		emu_user_confirm(u, q->serial);
	v = json_object_object_get(in, "app_metadata");
	if (json_object_is_type(v, json_type_object))
		emu_json_merge(u->app_metadata, v);
	v = json_object_object_get(in, "user_metadata");
	if (json_object_is_type(v, json_type_object))
		emu_json_merge(u->user_metadata, v);
	if (emu_str_field(in, "phone")) {
		free(u->phone);
		u->phone = strdup(emu_str_field(in, "phone"));
	}
	u->updated_at = emu_now();
	return true;
}

void emu_h_admin_create(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	char why[200];
	json_object *in = NULL, *out;
	const char *email, *ban;
	struct emu_user *u;
	double secs;

	(void)id, (void)sub;
	if (!emu_auth_admin(q, r))
		return;
	in = emu_body_or_400(q, r, ADMIN_USER_PARAMS);
	if (!in)
		return;
	email = emu_str_field(in, "email");
	if ((!email || !*email) && !(emu_str_field(in, "phone") && *emu_str_field(in, "phone"))) {
		emu_reply_error(r, q, emu_current() ? 400 : 422, "validation_failed",
				"Cannot create a user without either an email or phone");
		goto cleanup;
	}
	if (email && !strchr(email, '@')) {
		emu_reply_error(r, q, emu_current() ? 400 : 422,
				emu_current() ? "validation_failed" : "email_address_invalid",
				"Unable to validate email address: invalid format");
		goto cleanup;
	}
	if (emu_user_by_email(email)) {
		emu_reply_error(r, q, 422, "email_exists",
				"A user with this email address has already been registered");
		goto cleanup;
	}
	u = emu_user_new(email);
	if (!apply_fields(q, r, u, in, true)) {
		emu_user_delete(u);
		goto cleanup;
	}
	/* Without "password" GoTrue stores a random one nobody knows (step 110); no hash at all
	 * refuses every password alike and costs no bcrypt. */
	out = emu_user_json(u, q);
	/* v2.69 shows ban_duration's banned_until in the answer but never stores it (143-145). */
	ban = emu_str_field(in, "ban_duration");
	if (!emu_current() && ban && strcmp(ban, "none") != 0 &&
	    parse_go_duration(ban, &secs, why, sizeof(why)) == 0) {
		char ts[48];

		emu_time_str((double)time(NULL) + secs, ts, sizeof(ts));
		json_object_object_add(out, "banned_until", json_object_new_string(ts));
	}
	emu_reply_json(r, 200, out);
cleanup:
	json_object_put(in);
}

static struct emu_user *admin_target(struct emu_req *q, struct emu_reply *r, const char *id)
{
	struct emu_user *u;

	if (!emu_auth_admin(q, r))
		return NULL;
	if (!emu_is_uuid(id)) {
		emu_reply_error(r, q, emu_current() ? 404 : 400, "validation_failed",
				"user_id must be an UUID");
		return NULL;
	}
	u = emu_user_by_id(id);
	if (!u)
		emu_reply_error(r, q, 404, "user_not_found", "User not found");
	return u;
}

void emu_h_admin_get(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = admin_target(q, r, id);

	(void)sub;
	if (u)
		emu_reply_json(r, 200, emu_user_json(u, q));
}

void emu_h_admin_put(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = admin_target(q, r, id);
	json_object *in;

	(void)sub;
	if (!u)
		return;
	in = emu_body_or_400(q, r, ADMIN_USER_PARAMS);
	if (!in)
		return;
	if (apply_fields(q, r, u, in, false))
		emu_reply_json(r, 200, emu_user_json(u, q));
	json_object_put(in);
}

void emu_h_admin_delete(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = admin_target(q, r, id);

	(void)sub;
	if (!u)
		return;
	emu_user_delete(u);
	emu_reply_json(r, 200, json_object_new_object());
}

void emu_h_admin_factors(struct emu_req *q, struct emu_reply *r, const char *id, const char *sub)
{
	struct emu_user *u = admin_target(q, r, id);

	(void)sub;
	if (u)
		emu_reply_json(r, 200, emu_factors_json(u));
}

void emu_h_admin_factor_delete(struct emu_req *q, struct emu_reply *r, const char *id,
			       const char *sub)
{
	struct emu_user *u = admin_target(q, r, id);
	struct emu_factor **pp;

	if (!u)
		return;
	for (pp = &u->factors; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, sub) == 0) {
			struct emu_factor *f = *pp;
			json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_string(f->id));
			*pp = f->next;
			emu_sessions_downgrade(u->id, f->id);
			OPENSSL_cleanse(f, sizeof(*f));
			free(f);
			emu_reply_json(r, 200, o);
			return;
		}
	}
	emu_reply_error(r, q, 404, "mfa_factor_not_found", "Factor not found");
}

/* ---- POST /__emulator/users/bulk (control API, not GoTrue) ---- */

/* @v with every "%d" in its strings (at any depth) replaced by @idx; other values are shared. */
static json_object *with_index(json_object *v, long idx)
{
	json_object *out;

	switch (json_object_get_type(v)) {
	case json_type_string: {
		const char *s = json_object_get_string(v), *p;
		char num[24], *buf, *b;
		size_t n = 0, nlen = (size_t)snprintf(num, sizeof(num), "%ld", idx);

		for (p = s; (p = strstr(p, "%d")); p += 2)
			n++;
		if (n == 0)
			return json_object_get(v);
		buf = b = malloc(strlen(s) + n * nlen + 1);
		if (!buf)
			abort();
		for (p = s; *p;) {
			if (p[0] == '%' && p[1] == 'd') {
				memcpy(b, num, nlen);
				b += nlen;
				p += 2;
			} else {
				*b++ = *p++;
			}
		}
		*b = '\0';
		out = json_object_new_string(buf);
		free(buf);
		return out;
	}
	case json_type_object:
		out = json_object_new_object();
		json_object_object_foreach(v, key, val)
		{
			json_object_object_add(out, key, with_index(val, idx));
		}
		return out;
	case json_type_array:
		out = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(v); i++)
			json_object_array_add(out,
					      with_index(json_object_array_get_idx(v, i), idx));
		return out;
	default:
		return json_object_get(v);
	}
}

static bool bulk_int(json_object *spec, const char *key, long dflt, long min, long max, long *out)
{
	json_object *v;

	*out = dflt;
	if (!json_object_object_get_ex(spec, key, &v))
		return true;
	if (!json_object_is_type(v, json_type_int))
		return false;
	*out = (long)json_object_get_int64(v);
	return *out >= min && *out <= max;
}

/* {"count":N,"prefix":"u","domain":"example.com","start":0,"app_metadata":{...},
 * "user_metadata":{...},"password":"..."}: N confirmed users prefix<i>@domain for i = start ..
 * start+N-1, in that order (so the last is listed first). All or nothing: an existing email
 * creates none. With a password, one bcrypt hash is shared by all, so 100k users take a second. */
void emu_c_users_bulk(struct emu_req *q, struct emu_reply *r)
{
	char why[600] = "", email[512], hash[EMU_HASH_LEN] = "";
	json_object *spec = emu_parse_body(q, why, sizeof(why)), *am, *um, *o;
	const char *prefix, *domain, *pw;
	long count = 0, start = 0;
	double now = emu_now();

	if (!spec)
		goto bad;
	prefix = emu_str_field(spec, "prefix") ? emu_str_field(spec, "prefix") : "u";
	domain = emu_str_field(spec, "domain") ? emu_str_field(spec, "domain") : "example.com";
	pw = emu_str_field(spec, "password");
	am = json_object_object_get(spec, "app_metadata");
	um = json_object_object_get(spec, "user_metadata");
	if (!json_object_object_get_ex(spec, "count", NULL) ||
	    !bulk_int(spec, "count", 0, 1, 1000000, &count) ||
	    !bulk_int(spec, "start", 0, 0, 1000000000, &start)) {
		snprintf(why, sizeof(why), "count must be 1..1000000, start 0..1000000000");
		goto bad;
	}
	if ((am && !json_object_is_type(am, json_type_object)) ||
	    (um && !json_object_is_type(um, json_type_object)) || (pw && strlen(pw) < 6)) {
		snprintf(why, sizeof(why),
			 "app_metadata/user_metadata must be objects, password "
			 "at least 6 characters");
		goto bad;
	}
	for (long i = start; i < start + count; i++) {
		snprintf(email, sizeof(email), "%s%ld@%s", prefix, i, domain);
		if (emu_user_by_email(email)) {
			snprintf(why, sizeof(why), "%s is already registered", email);
			goto bad;
		}
	}
	if (pw && emu_password_hash(pw, hash) != 0) {
		snprintf(why, sizeof(why), "bcrypt failed");
		goto bad;
	}
	for (long i = start; i < start + count; i++) {
		struct emu_user *u;

		snprintf(email, sizeof(email), "%s%ld@%s", prefix, i, domain);
		u = emu_user_new(email);
		memcpy(u->pw_hash, hash, sizeof(hash));
		u->created_at = u->updated_at = u->email_confirmed_at = now;
		if (am) {
			o = with_index(am, i);
			emu_json_merge(u->app_metadata, o);
			json_object_put(o);
		}
		if (um) {
			o = with_index(um, i);
			emu_json_merge(u->user_metadata, o);
			json_object_put(o);
		}
	}
	o = json_object_new_object();
	json_object_object_add(o, "created", json_object_new_int64(count));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)emu_user_count()));
	emu_reply_json(r, 200, o);
	goto cleanup;
bad:
	o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(why));
	emu_reply_json(r, 400, o);
cleanup:
	OPENSSL_cleanse(hash, sizeof(hash));
	json_object_put(spec);
}
