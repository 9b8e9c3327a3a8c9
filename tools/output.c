/* output: everything gotruectl prints. Human text by default; with --json exactly one JSON
 * document on stdout. Tokens are secrets: human output hides them unless --show-tokens; --json
 * includes them because scripts need them (gotruectl(8) says so). Errors are one line on stderr,
 * "gotruectl: CMD: code: message (HTTP n)". */
#include <config.h> /* autoconf */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gotrue_error.h"
#include "gotrue_json.h"

#include "gotruectl.h"

void ctl_errorf(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (ctl->cmd)
		fprintf(stderr, "%s: %s: ", ctl->prog, ctl->cmd);
	else
		fprintf(stderr, "%s: ", ctl->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: %s: ", ctl->prog, ctl->cmd ? ctl->cmd : "usage");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: %s [GLOBAL OPTIONS] %s\n", ctl->prog, ctl->usage);
	return CTL_EXIT_USAGE;
}

static int exit_for_error(const struct gotrue_error *err)
{
	int rc = CTL_EXIT_INTERNAL;

	switch (err->kind) {
	case GOTRUE_ERR_HTTP:
		/* A 5xx is the server failing, not refusing: scripts retry those like an outage. */
		rc = err->http_status >= 500 ? CTL_EXIT_UNREACHABLE : CTL_EXIT_REFUSED;
		break;
	case GOTRUE_ERR_TRANSPORT:
	case GOTRUE_ERR_TIMEOUT:
	case GOTRUE_ERR_TLS:
	case GOTRUE_ERR_TOO_LARGE:
	case GOTRUE_ERR_PROTOCOL:
		rc = CTL_EXIT_UNREACHABLE;
		break;
	case GOTRUE_ERR_CONFIG:
		rc = CTL_EXIT_CONFIG;
		break;
	case GOTRUE_OK:
	case GOTRUE_ERR_NOMEM:
	case GOTRUE_ERR_INTERNAL:
	default:
		rc = CTL_EXIT_INTERNAL;
		break;
	}
	return rc;
}

int ctl_fail(const struct ctl *ctl, const struct gotrue_error *err)
{
	char buf[GOTRUE_ERROR_CODE_MAX + GOTRUE_ERROR_MSG_MAX + 64];
	json_object *doc, *e;

	ctl_errorf(ctl, "%s", gotrue_error_str(err, buf, sizeof(buf)));
	if (ctl->json) {
		doc = json_object_new_object();
		e = json_object_new_object();
		json_object_object_add(e, "kind",
				       json_object_new_string(gotrue_error_kind_name(err->kind)));
		json_object_object_add(e, "code", json_object_new_string(err->code));
		json_object_object_add(e, "message", json_object_new_string(err->message));
		json_object_object_add(e, "http_status", json_object_new_int64(err->http_status));
		json_object_object_add(doc, "error", e);
		ctl_print_json(doc);
	}
	return exit_for_error(err);
}

void ctl_print_json(json_object *doc)
{
	/* One line: easy to read back with `read` or to pipe into another gotruectl. */
	puts(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
}

void ctl_print_json_wiped(json_object *doc)
{
	const char *text = json_object_to_json_string_ext(
		doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	puts(text);
	fflush(stdout);
	/* the serialised text is json-c's buffer inside @doc, alive until @doc goes */
	explicit_bzero((char *)text, strlen(text));
	gotrue_json_put_wiped(doc);
}

void ctl_progress_bar(size_t seen, long long total, const char *what)
{
	int width = 30, filled = 0, i;

	if (total > 0)
		filled = (int)((long long)seen * width / total);
	if (filled > width)
		filled = width;
	/* \r redraws the one line in place; callers draw only when stderr is a terminal. */
	fputs("\r[", stderr);
	for (i = 0; i < width; i++)
		fputc(i < filled ? '#' : ' ', stderr);
	if (total >= 0)
		fprintf(stderr, "] %zu/%lld %s", seen, total, what);
	else
		fprintf(stderr, "] %zu %s", seen, what);
	fflush(stderr);
}

void ctl_progress_end(void)
{
	fputc('\n', stderr);
}

const char *ctl_time_str(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || !gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

static void add_str(json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, val ? json_object_new_string(val) : NULL);
}

static void add_time(json_object *o, const char *key, time_t t)
{
	char buf[32];

	json_object_object_add(
		o, key, t ? json_object_new_string(ctl_time_str(t, buf, sizeof(buf))) : NULL);
}

json_object *ctl_user_json(const struct gotrue_user *u)
{
	json_object *o = json_object_new_object(), *factors, *f;
	size_t i;

	add_str(o, "id", u->id);
	add_str(o, "aud", u->aud);
	add_str(o, "role", u->role);
	add_str(o, "email", u->email);
	add_str(o, "phone", u->phone);
	add_time(o, "email_confirmed_at", u->email_confirmed_at);
	add_time(o, "phone_confirmed_at", u->phone_confirmed_at);
	add_time(o, "confirmed_at", u->confirmed_at);
	add_time(o, "banned_until", u->banned_until);
	add_time(o, "created_at", u->created_at);
	add_time(o, "updated_at", u->updated_at);
	add_time(o, "last_sign_in_at", u->last_sign_in_at);
	json_object_object_add(o, "app_metadata", json_object_get(u->app_metadata));
	json_object_object_add(o, "user_metadata", json_object_get(u->user_metadata));
	factors = json_object_new_array();
	for (i = 0; i < u->n_factors; i++) {
		f = json_object_new_object();
		add_str(f, "id", u->factors[i].id);
		add_str(f, "factor_type", u->factors[i].type);
		add_str(f, "status", u->factors[i].status);
		add_str(f, "friendly_name", u->factors[i].friendly_name);
		json_object_array_add(factors, f);
	}
	json_object_object_add(o, "factors", factors);
	return o;
}

static json_object *session_json(const struct gotrue_session *s)
{
	json_object *o = json_object_new_object();

	add_str(o, "access_token", s->access_token);
	add_str(o, "refresh_token", s->refresh_token);
	add_str(o, "token_type", s->token_type);
	json_object_object_add(o, "expires_in", json_object_new_int64(s->expires_in));
	json_object_object_add(o, "expires_at", json_object_new_int64((int64_t)s->expires_at));
	json_object_object_add(o, "user", s->has_user ? ctl_user_json(&s->user) : NULL);
	return o;
}

static void print_meta(const char *label, json_object *m)
{
	printf("%-19s %s\n", label,
	       m ? json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE)
		 : "{}");
}

static void print_user(const struct ctl *ctl, const struct gotrue_user *u)
{
	char buf[32];
	size_t i;

	(void)ctl;
	printf("%-19s %s\n", "id:", u->id ? u->id : "-");
	printf("%-19s %s\n", "email:", u->email ? u->email : "-");
	if (u->phone)
		printf("%-19s %s\n", "phone:", u->phone);
	printf("%-19s %s\n", "role:", u->role ? u->role : "-");
	printf("%-19s %s\n", "aud:", u->aud ? u->aud : "-");
	/* What the server sets when it confirms: its confirmed_at is a column derived from these
	 * that only a later read returns (GoTrue answers a create without it). */
	printf("%-19s %s\n",
	       "email_confirmed_at:", ctl_time_str(u->email_confirmed_at, buf, sizeof(buf)));
	if (u->phone)
		printf("%-19s %s\n", "phone_confirmed_at:",
		       ctl_time_str(u->phone_confirmed_at, buf, sizeof(buf)));
	printf("%-19s %s%s\n", "banned_until:", ctl_time_str(u->banned_until, buf, sizeof(buf)),
	       gotrue_user_is_banned(u, time(NULL)) ? " (BANNED)" : "");
	printf("%-19s %s\n", "created_at:", ctl_time_str(u->created_at, buf, sizeof(buf)));
	printf("%-19s %s\n",
	       "last_sign_in_at:", ctl_time_str(u->last_sign_in_at, buf, sizeof(buf)));
	/* app_metadata is what authorises; user_metadata is the user's own and grants nothing. */
	print_meta("app_metadata:", u->app_metadata);
	print_meta("user_metadata:", u->user_metadata);
	for (i = 0; i < u->n_factors; i++)
		printf("%-19s %s %s %s %s\n", "factor:", u->factors[i].id ? u->factors[i].id : "-",
		       u->factors[i].type ? u->factors[i].type : "-",
		       u->factors[i].status ? u->factors[i].status : "-",
		       u->factors[i].friendly_name ? u->factors[i].friendly_name : "");
}

static void print_session(const struct ctl *ctl, const struct gotrue_session *s)
{
	char buf[32];

	if (!s->access_token) {
		printf("no session yet: the account awaits confirmation\n");
	} else {
		printf("%-19s %s\n", "token_type:", s->token_type ? s->token_type : "-");
		printf("%-19s %s (in %ld s)\n",
		       "expires_at:", ctl_time_str(s->expires_at, buf, sizeof(buf)),
		       (long)(s->expires_at - time(NULL)));
		if (ctl->show_tokens) {
			printf("%-19s %s\n", "access_token:", s->access_token);
			printf("%-19s %s\n",
			       "refresh_token:", s->refresh_token ? s->refresh_token : "-");
		} else {
			printf("%-19s (hidden; --show-tokens or --json to print)\n", "tokens:");
		}
	}
	if (s->has_user)
		print_user(ctl, &s->user);
}

static void output_user(const struct ctl *ctl, const struct gotrue_user *u)
{
	if (ctl->json)
		ctl_print_json(ctl_user_json(u));
	else
		print_user(ctl, u);
}

void ctl_output_session(const struct ctl *ctl, const struct gotrue_session *s)
{
	json_object *doc;

	if (ctl->json) {
		doc = session_json(s);
		ctl_print_json(doc);
	} else {
		print_session(ctl, s);
	}
}

void ctl_output_done(const struct ctl *ctl, const char *what)
{
	json_object *doc;

	if (ctl->json) {
		doc = json_object_new_object();
		json_object_object_add(doc, "ok", json_object_new_boolean(1));
		json_object_object_add(doc, "result", json_object_new_string(what));
		ctl_print_json(doc);
	} else {
		printf("%s\n", what);
	}
}

int ctl_result_user(const struct ctl *ctl, int call_rc, const struct gotrue_error *err,
		    const struct gotrue_user *u)
{
	if (call_rc != 0)
		return ctl_fail(ctl, err);
	output_user(ctl, u);
	return CTL_EXIT_OK;
}

int ctl_result_session(const struct ctl *ctl, int call_rc, const struct gotrue_error *err,
		       const struct gotrue_session *s)
{
	if (call_rc != 0)
		return ctl_fail(ctl, err);
	ctl_output_session(ctl, s);
	return CTL_EXIT_OK;
}

int ctl_result_done(const struct ctl *ctl, int call_rc, const struct gotrue_error *err,
		    const char *what)
{
	if (call_rc != 0)
		return ctl_fail(ctl, err);
	ctl_output_done(ctl, what);
	return CTL_EXIT_OK;
}
