/* config: the option grammar shared by /etc/gotrue/gotrue.conf and the module arguments, the
 * loader (conf=, then the file, then the arguments, as pam_faillock does) and loading the secrets
 * named by *_file keys (`gotruectl config check` is lib/client/ctl/config_check.c). Values are
 * never echoed in log lines: a misplaced secret (a key pasted into the wrong option) must not end
 * up in syslog. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gotrue_config.h"
#include "log.h"
#include "secure.h"

#define DEFAULT_TIMEOUT		10L
#define DEFAULT_CONNECT_TIMEOUT 5L
#define DEFAULT_MAX_RESPONSE	((size_t)1 << 20)
#define DEFAULT_JWT_AUD		"authenticated"
#define DEFAULT_JWT_LEEWAY	30L
/* The high half of the 31-bit uid space: clear of distribution ranges and of systemd's
 * dynamic users (61184..65519) and container ranges (524288..1879048191). */
#define DEFAULT_UID_MIN 0x70000000UL
#define DEFAULT_UID_MAX 0x7fff0000UL
#define DEFAULT_HOME	"/home/%u"
#define DEFAULT_SHELL	"/bin/bash"
/* pam_faillock's interval and unlock time; its deny=3 is for one local password, where a GoTrue
 * user may type a password on several hosts: 5. A host (a NAT, a jump host) speaks for many. */
#define DEFAULT_THROTTLE_USER_FAILURES 5L
#define DEFAULT_THROTTLE_HOST_FAILURES 20L
#define DEFAULT_THROTTLE_INTERVAL      900L
#define DEFAULT_THROTTLE_UNLOCK_TIME   600L
/* SSSD's offline_credentials_expiration defaults to no limit; a fleet's hosts are rarely cut off
 * for longer than a long weekend. The attempts: pam_faillock's deny, and the throttle's. */
#define DEFAULT_OFFLINE_DAYS	 3L
#define DEFAULT_OFFLINE_ATTEMPTS 5L
/* A day: a publisher that stops publishing leaves hosts a day before its bundle expires, and a
 * manifest replayed to a host that never had one is refused after a day. */
#define DEFAULT_FLEET_MAX_AGE 86400L

/* Where an option came from, for log lines: a file and line, or a module argument. */
struct where {
	const char *source; /* NULL: gotrue_config_set() called directly or a module argument */
	unsigned int line;
};

enum opt_type {
	OPT_URL,
	OPT_JWKS_URL,
	OPT_PATH,
	OPT_SECRET_PATH,
	OPT_TEXT,
	OPT_ENTRY_PATH, /* home and shell: absolute, and no ':' (they end up in a passwd line) */
	OPT_LONG,
	OPT_SIZE,
	OPT_UID,
	OPT_ALGS,
	OPT_DOMAINS,
	OPT_NAMES,
	OPT_REVOKED,
	OPT_SERVER,
	OPT_OLD_LOGOUT,
	OPT_MFA,
	OPT_LOGIN,
	OPT_OFFLINE_MFA,
	OPT_JWT_VERIFY,
	OPT_ROLE,
	OPT_BOOL,
	OPT_INLINE_SECRET,
};

struct option_def {
	const char *name;
	enum opt_type type;
	size_t offset;	    /* field in struct gotrue_config */
	long long min, max; /* numeric range */
	size_t loaded;	    /* OPT_SECRET_PATH: the loaded secret to drop when the path changes */
	const char *hint;   /* what a valid value looks like, for the error line */
};

#define FIELD(f)  offsetof(struct gotrue_config, f)
#define NO_SECRET SIZE_MAX

static const struct option_def options[] = {
	{"url", OPT_URL, FIELD(url), 0, 0, NO_SECRET, "an http:// or https:// base URL"},
	{"api_key_file", OPT_SECRET_PATH, FIELD(api_key_file), 0, 0, FIELD(api_key),
	 "an absolute path"},
	{"service_role_key_file", OPT_SECRET_PATH, FIELD(service_role_key_file), 0, 0,
	 FIELD(service_role_key), "an absolute path"},
	{"ca_file", OPT_PATH, FIELD(ca_file), 0, 0, NO_SECRET, "an absolute path"},
	{"timeout", OPT_LONG, FIELD(timeout), 1, 120, NO_SECRET, "1..120 seconds"},
	{"connect_timeout", OPT_LONG, FIELD(connect_timeout), 1, 120, NO_SECRET,
	 "1..120 seconds, at most timeout"},
	{"max_response", OPT_SIZE, FIELD(max_response), 1024, 64 * 1024 * 1024, NO_SECRET,
	 "1024..67108864 bytes, K and M suffixes allowed"},
	{"jwt_secret_file", OPT_SECRET_PATH, FIELD(jwt_secret_file), 0, 0, FIELD(jwt_secret),
	 "an absolute path"},
	{"jwt_public_key", OPT_PATH, FIELD(jwt_public_key), 0, 0, NO_SECRET,
	 "an absolute path to a PEM file"},
	{"jwks_url", OPT_JWKS_URL, FIELD(jwks_url), 0, 0, NO_SECRET,
	 "an http(s):// URL or a path under url"},
	{"jwt_aud", OPT_TEXT, FIELD(jwt_aud), 0, 0, NO_SECRET, "a non-empty string"},
	{"jwt_iss", OPT_TEXT, FIELD(jwt_iss), 0, 0, NO_SECRET, "a non-empty string"},
	{"jwt_algs", OPT_ALGS, FIELD(jwt_algs), 0, 0, NO_SECRET,
	 "a comma list of HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512"},
	{"jwt_leeway", OPT_LONG, FIELD(jwt_leeway), 0, 300, NO_SECRET, "0..300 seconds"},
	{"jwt_verify", OPT_JWT_VERIFY, FIELD(jwt_verify), 0, 0, NO_SECRET, "local or server"},
	{"email_domains", OPT_DOMAINS, FIELD(email_domains), 0, 0, NO_SECRET,
	 "a comma or space separated list of domain names"},
	{"uid_min", OPT_UID, FIELD(uid_min), 1000, 4294967294LL, NO_SECRET, "1000..4294967294"},
	{"uid_max", OPT_UID, FIELD(uid_max), 1000, 4294967294LL, NO_SECRET, "1000..4294967294"},
	{"home", OPT_ENTRY_PATH, FIELD(home), 0, 0, NO_SECRET,
	 "an absolute path template without ':'"},
	{"shell", OPT_ENTRY_PATH, FIELD(shell), 0, 0, NO_SECRET, "an absolute path without ':'"},
	{"allow_groups", OPT_NAMES, FIELD(allow_groups), 0, 0, NO_SECRET,
	 "a comma or space separated list of group names"},
	{"local_groups", OPT_NAMES, FIELD(local_groups), 0, 0, NO_SECRET,
	 "a comma or space separated list of group names"},
	{"allow_all_users", OPT_BOOL, FIELD(allow_all_users), 0, 0, NO_SECRET, "yes or no"},
	{"email_fallback", OPT_BOOL, FIELD(email_fallback), 0, 0, NO_SECRET, "yes or no"},
	{"assign_uids", OPT_BOOL, FIELD(assign_uids), 0, 0, NO_SECRET, "yes or no"},
	{"mfa", OPT_MFA, FIELD(mfa), 0, 0, NO_SECRET, "enrolled or required"},
	{"login", OPT_LOGIN, FIELD(login), 0, 0, NO_SECRET,
	 "password, email_code or password_or_email_code"},
	{"offline_login", OPT_BOOL, FIELD(offline_login), 0, 0, NO_SECRET, "yes or no"},
	{"offline_days", OPT_LONG, FIELD(offline_days), 1, 365, NO_SECRET, "1..365 days"},
	{"offline_attempts", OPT_LONG, FIELD(offline_attempts), 1, GOTRUE_THROTTLE_FAILURES_MAX,
	 NO_SECRET, "1..100 failed attempts"},
	{"offline_mfa", OPT_OFFLINE_MFA, FIELD(offline_mfa), 0, 0, NO_SECRET, "refuse or allow"},
	{"insecure_http_for_testing", OPT_BOOL, FIELD(insecure_http_for_testing), 0, 0, NO_SECRET,
	 "yes or no"},
	{"revoked_session", OPT_REVOKED, FIELD(revoked_session), 0, 0, NO_SECRET,
	 "log or terminate"},
	{"server", OPT_SERVER, FIELD(server), 0, 0, NO_SECRET, "auto, v2.69 or current"},
	{"old_server_logout", OPT_OLD_LOGOUT, FIELD(old_server_logout), 0, 0, NO_SECRET,
	 "forget or global"},
	{"state_dir", OPT_PATH, FIELD(state_dir), 0, 0, NO_SECRET, "an absolute path"},
	{"role", OPT_ROLE, FIELD(role), 0, 0, NO_SECRET, "standalone, publisher or host"},
	{"debug", OPT_BOOL, FIELD(debug), 0, 0, NO_SECRET, "no value, or yes/no/true/false/1/0"},
	{"throttle_user_failures", OPT_LONG, FIELD(throttle_user_failures), 0,
	 GOTRUE_THROTTLE_FAILURES_MAX, NO_SECRET, "0..100 failures (0: no per-user limit)"},
	{"throttle_host_failures", OPT_LONG, FIELD(throttle_host_failures), 0,
	 GOTRUE_THROTTLE_FAILURES_MAX, NO_SECRET, "0..100 failures (0: no per-host limit)"},
	{"throttle_interval", OPT_LONG, FIELD(throttle_interval), 1, 86400, NO_SECRET,
	 "1..86400 seconds"},
	{"throttle_unlock_time", OPT_LONG, FIELD(throttle_unlock_time), 1, 86400, NO_SECRET,
	 "1..86400 seconds"},
	{"fleet_url", OPT_URL, FIELD(fleet_url), 0, 0, NO_SECRET, "an http:// or https:// URL"},
	{"fleet_public_key", OPT_TEXT, FIELD(fleet_public_key), 0, 0, NO_SECRET,
	 "one or two base64 Ed25519 public keys (gotruectl fleet keygen)"},
	{"fleet_key_file", OPT_PATH, FIELD(fleet_key_file), 0, 0, NO_SECRET, "an absolute path"},
	{"fleet_signing_key_file", OPT_PATH, FIELD(fleet_signing_key_file), 0, 0, NO_SECRET,
	 "an absolute path"},
	{"publish_dir", OPT_PATH, FIELD(publish_dir), 0, 0, NO_SECRET, "an absolute path"},
	{"fleet_max_age", OPT_LONG, FIELD(fleet_max_age), 300, 30 * 86400, NO_SECRET,
	 "300..2592000 seconds"},
	/* Accepted as names only so that the refusal can say what to do instead. */
	{"api_key", OPT_INLINE_SECRET, 0, 0, 0, NO_SECRET, "api_key_file"},
	{"service_role_key", OPT_INLINE_SECRET, 0, 0, 0, NO_SECRET, "service_role_key_file"},
	{"jwt_secret", OPT_INLINE_SECRET, 0, 0, 0, NO_SECRET, "jwt_secret_file"},
};

/* JWS algorithms with a key (RFC 7518 section 3.1). "none" is deliberately absent. */
static const char *const known_algs[] = {
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", NULL,
};

static void opt_log(pam_handle_t *pamh, const struct where *w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void opt_log(pam_handle_t *pamh, const struct where *w, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w != NULL && w->source != NULL)
		gotrue_log(pamh, LOG_ERR, "%s file=%s line=%u", msg, w->source, w->line);
	else
		gotrue_log(pamh, LOG_ERR, "%s", msg);
}

bool gotrue_strv_contains(char *const *strv, const char *s)
{
	bool found = false;

	for (; strv != NULL && *strv != NULL && !found; strv++)
		found = strcmp(*strv, s) == 0;
	return found;
}

static void strv_free(char **strv)
{
	char **p;

	for (p = strv; p != NULL && *p != NULL; p++)
		free(*p);
	free(strv);
}

static bool has_control(const char *s)
{
	bool found = false;

	for (; *s != '\0' && !found; s++)
		found = (unsigned char)*s < 0x20 || *s == 0x7f;
	return found;
}

static bool is_list_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* Split a comma/space list; an empty list is a strv holding only NULL. NULL on ENOMEM. */
static char **strv_split(const char *value)
{
	char **strv = NULL;
	const char *p, *start;
	size_t n = 0, i = 0;

	for (p = value; *p != '\0'; p++)
		if (!is_list_sep(*p) && (p == value || is_list_sep(p[-1])))
			n++;
	strv = calloc(n + 1, sizeof(*strv));
	if (strv == NULL)
		goto cleanup;
	for (p = value; *p != '\0';) {
		while (is_list_sep(*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !is_list_sep(*p))
			p++;
		strv[i] = strndup(start, (size_t)(p - start));
		if (strv[i] == NULL) {
			strv_free(strv);
			strv = NULL;
			goto cleanup;
		}
		i++;
	}
cleanup:
	return strv;
}

/* Decimal, or hexadecimal with 0x (uids are often written so). No sign, no blanks. */
static bool parse_number(const char *s, unsigned long long *out)
{
	int base = 10;
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!isxdigit((unsigned char)s[0]) || (base == 10 && !isdigit((unsigned char)s[0])))
		return false;
	errno = 0;
	*out = strtoull(s, &end, base);
	return errno == 0 && *end == '\0';
}

static bool parse_size(const char *s, unsigned long long *out)
{
	char digits[32];
	size_t len = strlen(s);
	unsigned long long mult = 1;

	if (len == 0 || len >= sizeof(digits))
		return false;
	memcpy(digits, s, len + 1);
	if (digits[len - 1] == 'k' || digits[len - 1] == 'K')
		mult = 1024;
	else if (digits[len - 1] == 'm' || digits[len - 1] == 'M')
		mult = 1024 * 1024;
	if (mult != 1)
		digits[len - 1] = '\0';
	if (!parse_number(digits, out) || *out > ULLONG_MAX / mult)
		return false;
	*out *= mult;
	return true;
}

static bool parse_bool(const char *value, bool *out)
{
	static const char *const yes[] = {"yes", "true", "1", "on", NULL};
	static const char *const no[] = {"no", "false", "0", "off", NULL};
	bool ok = false;
	size_t i;

	if (value == NULL) {
		*out = true; /* a bare flag */
		return true;
	}
	for (i = 0; yes[i] != NULL && !ok; i++)
		if (strcasecmp(value, yes[i]) == 0)
			*out = ok = true;
	for (i = 0; no[i] != NULL && !ok; i++)
		if (strcasecmp(value, no[i]) == 0) {
			*out = false;
			ok = true;
		}
	return ok;
}

/* The authority part of an http(s) URL: [@host, @host + @len). false if not http(s). */
static bool url_host(const char *url, const char **host, size_t *len)
{
	const char *p, *end;

	if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return false;
	end = p + strcspn(p, "/?#");
	if (*p == '[') {
		/* RFC 3986 section 3.2.2: an IPv6 literal is bracketed. */
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close == NULL)
			return false;
		*host = p + 1;
		*len = (size_t)(close - p - 1);
	} else {
		*host = p;
		*len = strcspn(p, ":/?#");
	}
	return true;
}

static bool url_valid(const char *url, bool allow_query)
{
	const char *host, *authority;
	size_t len;

	if (has_control(url) || strchr(url, ' ') != NULL || !url_host(url, &host, &len) || len == 0)
		return false;
	authority = strstr(url, "://") + 3;
	/* Credentials in a URL would be a secret in the 0644 file. */
	if (memchr(authority, '@', strcspn(authority, "/?#")) != NULL)
		return false;
	return allow_query || strpbrk(url, "?#") == NULL;
}

static bool domain_valid(const char *d)
{
	size_t len = strlen(d), i;

	if (len == 0 || len > 253 || d[0] == '.' || d[0] == '-' || d[len - 1] == '.' ||
	    d[len - 1] == '-' || strstr(d, "..") != NULL)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)d[i]) && d[i] != '.' && d[i] != '-')
			return false;
	return true;
}

/* Group names go into group(5) lines and compare against app_metadata groups. */
static bool name_valid(const char *n)
{
	return n[0] != '\0' && strlen(n) <= 256 && !has_control(n) && strchr(n, ':') == NULL;
}

static const struct option_def *find_option(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strcmp(options[i].name, key) == 0)
			return &options[i];
	return NULL;
}

/* The field an option_def names. Through void * since the offsets point at fields of several
 * types, all suitably aligned inside the struct. */
static void *cfg_field(struct gotrue_config *cfg, size_t offset)
{
	return (char *)cfg + offset;
}

static int set_string(struct gotrue_config *cfg, const struct option_def *def, const char *value,
		      size_t len)
{
	char **field = cfg_field(cfg, def->offset);
	char *copy = strndup(value, len);

	if (copy == NULL) {
		cfg->load_oom = true;
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int set_strv(struct gotrue_config *cfg, const struct option_def *def, char **strv)
{
	char ***field = cfg_field(cfg, def->offset);

	strv_free(*field);
	*field = strv;
	return 0;
}

/* Lists: split, validate every item; NULL (after logging) when one is bad. */
static char **parse_list(pam_handle_t *pamh, struct gotrue_config *cfg, const struct where *w,
			 const struct option_def *def, const char *value)
{
	char **strv = strv_split(value), **p;
	bool bad = false;

	if (strv == NULL) {
		cfg->load_oom = true;
		opt_log(pamh, w, "out of memory; option=%s", def->name);
		return NULL;
	}
	for (p = strv; *p != NULL && !bad; p++) {
		switch (def->type) {
		case OPT_ALGS:
			if (strcasecmp(*p, "none") == 0) {
				/* RFC 8725 section 3.1: never accept unsigned tokens. */
				opt_log(pamh, w,
					"refusing jwt_algs \"none\": unsigned tokens would be "
					"accepted "
					"as valid; option=%s",
					def->name);
				bad = true;
			} else if (!gotrue_strv_contains((char *const *)known_algs, *p)) {
				opt_log(pamh, w, "unknown JWT algorithm; option=%s (expected %s)",
					def->name, def->hint);
				bad = true;
			}
			break;
		case OPT_DOMAINS: {
			char *d = *p, *c;

			/* "@example.org" is a natural way to write it; store the bare domain. */
			if (d[0] == '@')
				memmove(d, d + 1, strlen(d));
			for (c = d; *c != '\0'; c++)
				*c = (char)tolower((unsigned char)*c);
			if (!domain_valid(d)) {
				opt_log(pamh, w, "invalid domain name; option=%s (expected %s)",
					def->name, def->hint);
				bad = true;
			}
			break;
		}
		default:
			if (!name_valid(*p)) {
				opt_log(pamh, w, "invalid group name; option=%s (expected %s)",
					def->name, def->hint);
				bad = true;
			}
			break;
		}
	}
	if (!bad && def->type == OPT_ALGS && strv[0] == NULL) {
		opt_log(pamh, w, "empty algorithm list; option=%s (expected %s)", def->name,
			def->hint);
		bad = true;
	}
	if (bad) {
		strv_free(strv);
		strv = NULL;
	}
	return strv;
}

/* A value an option must not hold was given, or none was where one is needed: say so. The caller
 * logs a value that is merely invalid; this one already did. */
#define LOGGED (-2)

static int set_url(struct gotrue_config *cfg, const struct option_def *def, const char *value)
{
	size_t len = strlen(value);
	int rc = -1;

	if (url_valid(value, false)) {
		/* Stored without trailing slashes so that callers can append "/token". */
		while (len > 0 && value[len - 1] == '/')
			len--;
		rc = set_string(cfg, def, value, len);
	}
	return rc;
}

/* An absolute path, or for jwks_url a path under url too. A new path drops a secret loaded
 * from the old one, which no longer matches the config. */
static int set_path(struct gotrue_config *cfg, const struct option_def *def, const char *value)
{
	bool ok = value[0] == '/' && !has_control(value);
	char **loaded;
	int rc = -1;

	if (def->type == OPT_JWKS_URL)
		ok = (ok && strchr(value, ' ') == NULL) || url_valid(value, true);
	else if (def->type == OPT_ENTRY_PATH)
		ok = ok && strchr(value, ':') == NULL;
	if (ok)
		rc = set_string(cfg, def, value, strlen(value));
	if (rc == 0 && def->loaded != NO_SECRET) {
		loaded = cfg_field(cfg, def->loaded);
		gotrue_wipe_free_str(*loaded);
		*loaded = NULL;
	}
	return rc;
}

static int set_number(struct gotrue_config *cfg, const struct option_def *def, const char *value)
{
	void *field = cfg_field(cfg, def->offset);
	unsigned long long n;
	bool parsed = def->type == OPT_SIZE ? parse_size(value, &n) : parse_number(value, &n);
	int rc = -1;

	if (!parsed || n < (unsigned long long)def->min || n > (unsigned long long)def->max)
		goto cleanup;
	if (def->type == OPT_LONG)
		*(long *)field = (long)n;
	else if (def->type == OPT_UID)
		*(unsigned long *)field = (unsigned long)n;
	else
		*(size_t *)field = (size_t)n;
	/* connect_timeout follows timeout down until it is given itself. */
	if (def->offset == FIELD(connect_timeout))
		cfg->connect_timeout_set = true;
	else if (def->offset == FIELD(timeout) && !cfg->connect_timeout_set)
		cfg->connect_timeout = cfg->timeout < DEFAULT_CONNECT_TIMEOUT
					       ? cfg->timeout
					       : DEFAULT_CONNECT_TIMEOUT;
	rc = 0;
cleanup:
	return rc;
}

static int set_list(pam_handle_t *pamh, struct gotrue_config *cfg, const struct where *w,
		    const struct option_def *def, const char *value)
{
	char **strv = parse_list(pamh, cfg, w, def, value);

	return strv != NULL ? set_strv(cfg, def, strv) : LOGGED;
}

/* The words of the options that take one of a few. */
static const struct keyword {
	enum opt_type type;
	const char *word;
	int value;
} keywords[] = {
	{OPT_REVOKED, "log", GOTRUE_REVOKED_LOG},
	{OPT_REVOKED, "terminate", GOTRUE_REVOKED_TERMINATE},
	/* v2.69 is the last generation whose /logout ignores scope. */
	{OPT_SERVER, "auto", GOTRUE_SERVER_AUTO},
	{OPT_SERVER, "v2.69", GOTRUE_SERVER_OLD},
	{OPT_SERVER, "old", GOTRUE_SERVER_OLD},
	{OPT_SERVER, "current", GOTRUE_SERVER_CURRENT},
	/* What a /logout that ends every session of the user is worth on old servers. */
	{OPT_OLD_LOGOUT, "forget", GOTRUE_OLD_LOGOUT_FORGET},
	{OPT_OLD_LOGOUT, "global", GOTRUE_OLD_LOGOUT_GLOBAL},
	/* There is deliberately no value that lets a verified factor be skipped. */
	{OPT_MFA, "enrolled", GOTRUE_MFA_ENROLLED},
	{OPT_MFA, "required", GOTRUE_MFA_REQUIRED},
	{OPT_LOGIN, "password", GOTRUE_LOGIN_PASSWORD},
	{OPT_LOGIN, "email_code", GOTRUE_LOGIN_EMAIL_CODE},
	{OPT_LOGIN, "password_or_email_code", GOTRUE_LOGIN_PASSWORD_OR_EMAIL_CODE},
	{OPT_OFFLINE_MFA, "refuse", GOTRUE_OFFLINE_MFA_REFUSE},
	{OPT_OFFLINE_MFA, "allow", GOTRUE_OFFLINE_MFA_ALLOW},
	{OPT_JWT_VERIFY, "local", GOTRUE_JWT_VERIFY_LOCAL},
	{OPT_JWT_VERIFY, "server", GOTRUE_JWT_VERIFY_SERVER},
	{OPT_ROLE, "standalone", GOTRUE_ROLE_STANDALONE},
	{OPT_ROLE, "publisher", GOTRUE_ROLE_PUBLISHER},
	{OPT_ROLE, "host", GOTRUE_ROLE_HOST},
};

static int set_keyword(struct gotrue_config *cfg, const struct option_def *def, const char *value)
{
	const struct keyword *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]) && k == NULL; i++)
		if (keywords[i].type == def->type && strcmp(keywords[i].word, value) == 0)
			k = &keywords[i];
	if (k != NULL && def->type == OPT_REVOKED)
		cfg->revoked_session = (enum gotrue_revoked_action)k->value;
	else if (k != NULL && def->type == OPT_SERVER)
		cfg->server = (enum gotrue_server_generation)k->value;
	else if (k != NULL && def->type == OPT_OLD_LOGOUT)
		cfg->old_server_logout = (enum gotrue_old_server_logout)k->value;
	else if (k != NULL && def->type == OPT_MFA)
		cfg->mfa = (enum gotrue_mfa_policy)k->value;
	else if (k != NULL && def->type == OPT_LOGIN)
		cfg->login = (enum gotrue_login_method)k->value;
	else if (k != NULL && def->type == OPT_OFFLINE_MFA)
		cfg->offline_mfa = (enum gotrue_offline_mfa)k->value;
	else if (k != NULL && def->type == OPT_JWT_VERIFY)
		cfg->jwt_verify = (enum gotrue_jwt_verify)k->value;
	else if (k != NULL && def->type == OPT_ROLE)
		cfg->role = (enum gotrue_host_role)k->value;
	return k != NULL ? 0 : -1;
}

static int set_bool(struct gotrue_config *cfg, const struct option_def *def, const char *value)
{
	bool flag;
	int rc = -1;

	if (parse_bool(value, &flag)) {
		*(bool *)cfg_field(cfg, def->offset) = flag;
		rc = 0;
	}
	return rc;
}

/* @value into @def's field: 0, -1 for a value the option does not take, or LOGGED. */
static int set_value(pam_handle_t *pamh, struct gotrue_config *cfg, const struct where *w,
		     const struct option_def *def, const char *value)
{
	int rc = -1;

	switch (def->type) {
	case OPT_URL:
		rc = set_url(cfg, def, value);
		break;
	case OPT_JWKS_URL:
	case OPT_SECRET_PATH:
	case OPT_PATH:
	case OPT_ENTRY_PATH:
		rc = set_path(cfg, def, value);
		break;
	case OPT_TEXT:
		if (value[0] != '\0' && !has_control(value))
			rc = set_string(cfg, def, value, strlen(value));
		break;
	case OPT_LONG:
	case OPT_UID:
	case OPT_SIZE:
		rc = set_number(cfg, def, value);
		break;
	case OPT_ALGS:
	case OPT_DOMAINS:
	case OPT_NAMES:
		rc = set_list(pamh, cfg, w, def, value);
		break;
	case OPT_REVOKED:
	case OPT_SERVER:
	case OPT_OLD_LOGOUT:
	case OPT_MFA:
	case OPT_LOGIN:
	case OPT_OFFLINE_MFA:
	case OPT_JWT_VERIFY:
	case OPT_ROLE:
		rc = set_keyword(cfg, def, value);
		break;
	case OPT_BOOL:
		rc = set_bool(cfg, def, value);
		break;
	case OPT_INLINE_SECRET:
		break;
	}
	return rc;
}

/* The definition of option @key, or NULL after logging why it cannot be set to @value. */
static const struct option_def *usable_option(pam_handle_t *pamh, const char *key,
					      const char *value, const struct where *w)
{
	const struct option_def *def = find_option(key);

	if (def == NULL && strcmp(key, "conf") == 0) {
		opt_log(pamh, w, "conf= is only accepted as a module argument; option=%s", key);
	} else if (def == NULL) {
		opt_log(pamh, w, "unknown option; option=%s", key);
	} else if (def->type == OPT_INLINE_SECRET) {
		/* The config file is world-readable and module arguments are in /etc/pam.d: a
		 * secret in either is already disclosed. */
		opt_log(pamh, w,
			"refusing a secret given inline; option=%s: put it in a root-owned 0600 "
			"file and name that file with %s",
			key, def->hint);
		def = NULL;
	} else if (value == NULL && def->type != OPT_BOOL) {
		opt_log(pamh, w, "option needs a value; option=%s (expected %s)", key, def->hint);
		def = NULL;
	}
	return def;
}

static int set_option(pam_handle_t *pamh, struct gotrue_config *cfg, const char *key,
		      const char *value, const struct where *w)
{
	const struct option_def *def = usable_option(pamh, key, value, w);
	int rc = -1;

	if (def != NULL)
		rc = set_value(pamh, cfg, w, def, value);
	if (rc == -1 && def != NULL)
		opt_log(pamh, w, "invalid value; option=%s (expected %s)", key, def->hint);
	return rc == 0 ? 0 : -1;
}

int gotrue_config_set(pam_handle_t *pamh, struct gotrue_config *cfg, const char *key,
		      const char *value)
{
	return set_option(pamh, cfg, key, value, NULL);
}

struct gotrue_config *gotrue_config_new(void)
{
	struct gotrue_config *cfg = calloc(1, sizeof(*cfg));
	bool ok;

	if (cfg == NULL)
		return NULL;
	cfg->timeout = DEFAULT_TIMEOUT;
	cfg->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
	cfg->max_response = DEFAULT_MAX_RESPONSE;
	cfg->jwt_leeway = DEFAULT_JWT_LEEWAY;
	cfg->uid_min = DEFAULT_UID_MIN;
	cfg->uid_max = DEFAULT_UID_MAX;
	cfg->assign_uids = true;
	cfg->revoked_session = GOTRUE_REVOKED_LOG;
	cfg->throttle_user_failures = DEFAULT_THROTTLE_USER_FAILURES;
	cfg->throttle_host_failures = DEFAULT_THROTTLE_HOST_FAILURES;
	cfg->throttle_interval = DEFAULT_THROTTLE_INTERVAL;
	cfg->throttle_unlock_time = DEFAULT_THROTTLE_UNLOCK_TIME;
	cfg->offline_days = DEFAULT_OFFLINE_DAYS;
	cfg->offline_attempts = DEFAULT_OFFLINE_ATTEMPTS;
	cfg->fleet_max_age = DEFAULT_FLEET_MAX_AGE;
	/* jwt_algs stays NULL: the allow-list then follows from the configured key type. Other
	 * lists start empty rather than NULL so that callers can iterate without a check. */
	cfg->jwt_aud = strdup(DEFAULT_JWT_AUD);
	cfg->home = strdup(DEFAULT_HOME);
	cfg->shell = strdup(DEFAULT_SHELL);
	cfg->state_dir = strdup(GOTRUE_STATEDIR);
	cfg->email_domains = calloc(1, sizeof(char *));
	cfg->allow_groups = calloc(1, sizeof(char *));
	cfg->local_groups = calloc(1, sizeof(char *));
	ok = cfg->jwt_aud && cfg->home && cfg->shell && cfg->state_dir && cfg->email_domains &&
	     cfg->allow_groups && cfg->local_groups;
	if (!ok) {
		gotrue_config_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

void gotrue_config_free(struct gotrue_config *cfg)
{
	if (cfg == NULL)
		return;
	gotrue_wipe_free_str(cfg->api_key);
	gotrue_wipe_free_str(cfg->service_role_key);
	gotrue_wipe_free_str(cfg->jwt_secret);
	free(cfg->url);
	free(cfg->api_key_file);
	free(cfg->service_role_key_file);
	free(cfg->ca_file);
	free(cfg->jwt_secret_file);
	free(cfg->jwt_public_key);
	free(cfg->jwks_url);
	free(cfg->jwt_aud);
	free(cfg->jwt_iss);
	strv_free(cfg->jwt_algs);
	strv_free(cfg->email_domains);
	free(cfg->home);
	free(cfg->shell);
	strv_free(cfg->allow_groups);
	strv_free(cfg->local_groups);
	free(cfg->state_dir);
	free(cfg->fleet_url);
	free(cfg->fleet_public_key);
	free(cfg->fleet_key_file);
	free(cfg->fleet_signing_key_file);
	free(cfg->publish_dir);
	free(cfg);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool key_valid(const char *k)
{
	if (*k == '\0')
		return false;
	for (; *k != '\0'; k++)
		if (!islower((unsigned char)*k) && !isdigit((unsigned char)*k) && *k != '_')
			return false;
	return true;
}

int gotrue_config_parse(pam_handle_t *pamh, struct gotrue_config *cfg, const char *text,
			const char *source)
{
	struct where w = {source != NULL ? source : "(config)", 0};
	const char *p = text, *eol;
	char *line = NULL, *key, *value, *eq, *end;
	int problems = 0;

	while (*p != '\0') {
		w.line++;
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		line = strndup(p, (size_t)(eol - p));
		p = *eol == '\n' ? eol + 1 : eol;
		if (line == NULL) {
			cfg->load_oom = true;
			opt_log(pamh, &w, "out of memory");
			problems++;
			break;
		}
		key = line;
		while (is_blank(*key))
			key++;
		if (*key == '\0' || *key == '#')
			goto next; /* blank or comment line */
		end = key + strlen(key);
		while (end > key && is_blank(end[-1]))
			*--end = '\0';
		value = NULL;
		eq = strchr(key, '=');
		if (eq != NULL) {
			value = eq + 1;
			while (is_blank(*value))
				value++;
			while (eq > key && is_blank(eq[-1]))
				eq--;
			*eq = '\0';
		}
		if (!key_valid(key)) {
			opt_log(pamh, &w, "malformed line, expected \"key = value\"");
			problems++;
		} else if (set_option(pamh, cfg, key, value, &w) != 0) {
			problems++;
		}
	next:
		free(line);
		line = NULL;
	}
	cfg->load_problems += (unsigned int)problems;
	return problems;
}

int gotrue_config_load_file(pam_handle_t *pamh, struct gotrue_config *cfg, const char *path,
			    bool may_be_absent)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = gotrue_read_file(pamh, path, GOTRUE_FILE_CONFIG, GOTRUE_CONF_MAX_SIZE, &text, &len);
	if (rc == -ENOENT && may_be_absent) {
		gotrue_debug(pamh, cfg->debug, "no config file, using defaults; path=%s", path);
		rc = 0;
		goto cleanup;
	}
	if (rc == -ENOENT)
		gotrue_log(pamh, LOG_ERR, "config file not found; path=%s", path);
	if (rc != 0) {
		rc = -1; /* gotrue_read_file() said why */
		goto cleanup;
	}
	/* Bad lines are logged and skipped (the house rule for unknown options); they are counted
	 * in cfg->load_problems for `gotruectl config check`. */
	gotrue_config_parse(pamh, cfg, text, path);
	/* But a line lost to a failed allocation is not a bad line: the file was not applied. */
	rc = cfg->load_oom ? -1 : 0;
cleanup:
	gotrue_wipe_free(text, len + 1);
	return rc;
}

static bool arg_is_own_flag(const char *arg, const char *const *own_flags)
{
	size_t keylen = strcspn(arg, "=");
	bool found = false;

	for (; own_flags != NULL && *own_flags != NULL && !found; own_flags++)
		found = strlen(*own_flags) == keylen && strncmp(arg, *own_flags, keylen) == 0;
	return found;
}

/* Relations between keys can only be judged once every source has been applied. */
static int config_finish(pam_handle_t *pamh, struct gotrue_config *cfg)
{
	int rc = 0;

	if (cfg->load_oom) {
		/* A skipped bad line is the admin's to fix; a line lost to memory is silently not
		 * applied (state_dir back to its default, a shorter allow_groups): never run on it.
		 */
		gotrue_log(pamh, LOG_ERR, "out of memory while loading the configuration");
		rc = -1;
	}
	if (cfg->connect_timeout > cfg->timeout) {
		gotrue_log(pamh, LOG_WARNING,
			   "connect_timeout is larger than timeout, using timeout; "
			   "connect_timeout=%ld timeout=%ld",
			   cfg->connect_timeout, cfg->timeout);
		cfg->connect_timeout = cfg->timeout;
	}
	if (cfg->uid_min >= cfg->uid_max) {
		/* No safe guess: a wrong range would hand out uids that collide with local ones. */
		gotrue_log(pamh, LOG_ERR, "uid_min must be below uid_max; uid_min=%lu uid_max=%lu",
			   cfg->uid_min, cfg->uid_max);
		cfg->load_problems++;
		rc = -1;
	}
	return rc;
}

int gotrue_config_load(pam_handle_t *pamh, struct gotrue_config *cfg, int argc, const char **argv,
		       const char *const *own_flags)
{
	const char *conf = NULL, *eq;
	char *key = NULL;
	int i, rc = -1;

	/* Pass 1: conf= decides which file is read before the other arguments apply. */
	for (i = 0; i < argc; i++)
		if (strncmp(argv[i], "conf=", 5) == 0)
			conf = argv[i] + 5;
	if (conf != NULL && conf[0] != '/') {
		gotrue_log(pamh, LOG_ERR, "conf= needs an absolute path; option=conf");
		goto cleanup;
	}
	if (gotrue_config_load_file(pamh, cfg, conf != NULL ? conf : GOTRUE_DEFAULT_CONF,
				    conf == NULL) != 0)
		goto cleanup;
	/* Pass 2: every other argument overrides the file. */
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "conf=", 5) == 0 || arg_is_own_flag(argv[i], own_flags))
			continue;
		eq = strchr(argv[i], '=');
		key = strndup(argv[i], eq != NULL ? (size_t)(eq - argv[i]) : strlen(argv[i]));
		if (key == NULL)
			goto cleanup;
		if (set_option(pamh, cfg, key, eq != NULL ? eq + 1 : NULL, NULL) != 0)
			cfg->load_problems++; /* logged; skipped like an unknown line */
		free(key);
		key = NULL;
	}
	rc = config_finish(pamh, cfg);
cleanup:
	free(key);
	return rc;
}

int gotrue_config_read_secret(pam_handle_t *pamh, const char *option, const char *path, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	*out = NULL;
	if (gotrue_read_file(pamh, path, GOTRUE_FILE_SECRET, GOTRUE_SECRET_MAX_SIZE, &buf, &len) !=
	    0) {
		gotrue_log(pamh, LOG_ERR, "cannot load secret; option=%s path=%s", option, path);
		goto cleanup;
	}
	while (len > 0 && (isspace((unsigned char)buf[len - 1]) || buf[len - 1] == '\0'))
		buf[--len] = '\0';
	if (len == 0) {
		gotrue_log(pamh, LOG_ERR, "secret file is empty; option=%s path=%s", option, path);
		goto cleanup;
	}
	/* The secret goes into HTTP headers and HMAC keys: an embedded NUL would truncate it and a
	 * newline would split a header. */
	if (strlen(buf) != len || has_control(buf)) {
		gotrue_log(pamh, LOG_ERR,
			   "secret file must hold one line of printable text; option=%s path=%s",
			   option, path);
		goto cleanup;
	}
	*out = buf;
	buf = NULL;
	rc = 0;
cleanup:
	if (buf != NULL)
		gotrue_wipe_free(buf, len + 1);
	return rc;
}

int gotrue_config_load_secret(pam_handle_t *pamh, struct gotrue_config *cfg,
			      enum gotrue_secret which)
{
	const char *option, *path;
	char **slot;
	int rc = 0;

	switch (which) {
	case GOTRUE_SECRET_API_KEY:
		option = "api_key_file";
		path = cfg->api_key_file;
		slot = &cfg->api_key;
		break;
	case GOTRUE_SECRET_SERVICE_ROLE_KEY:
		option = "service_role_key_file";
		path = cfg->service_role_key_file;
		slot = &cfg->service_role_key;
		break;
	case GOTRUE_SECRET_JWT_SECRET:
		option = "jwt_secret_file";
		path = cfg->jwt_secret_file;
		slot = &cfg->jwt_secret;
		break;
	default:
		gotrue_log(pamh, LOG_ERR, "unknown secret requested; which=%d", (int)which);
		rc = -1;
		goto cleanup;
	}
	if (path == NULL || *slot != NULL)
		goto cleanup; /* nothing configured, or loaded already */
	rc = gotrue_config_read_secret(pamh, option, path, slot);
cleanup:
	return rc;
}
