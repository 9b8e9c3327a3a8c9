/* config: the option grammar shared by /etc/gotrue/gotrue.conf and the module arguments, the
 * loader (conf=, then the file, then the arguments, as pam_faillock does), loading the secrets
 * named by *_file keys, and `gotruectl config check`. Values are never echoed in log lines: a
 * misplaced secret (a key pasted into the wrong option) must not end up in syslog. */
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
#include "http.h"
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
#define PUBLIC_KEY_MAX_SIZE	       (64 * 1024)
/* SSSD's offline_credentials_expiration defaults to no limit; a fleet's hosts are rarely cut off
 * for longer than a long weekend. The attempts: pam_faillock's deny, and the throttle's. */
#define DEFAULT_OFFLINE_DAYS	 3L
#define DEFAULT_OFFLINE_ATTEMPTS 5L

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
	{"debug", OPT_BOOL, FIELD(debug), 0, 0, NO_SECRET, "no value, or yes/no/true/false/1/0"},
	{"throttle_user_failures", OPT_LONG, FIELD(throttle_user_failures), 0,
	 GOTRUE_THROTTLE_FAILURES_MAX, NO_SECRET, "0..100 failures (0: no per-user limit)"},
	{"throttle_host_failures", OPT_LONG, FIELD(throttle_host_failures), 0,
	 GOTRUE_THROTTLE_FAILURES_MAX, NO_SECRET, "0..100 failures (0: no per-host limit)"},
	{"throttle_interval", OPT_LONG, FIELD(throttle_interval), 1, 86400, NO_SECRET,
	 "1..86400 seconds"},
	{"throttle_unlock_time", OPT_LONG, FIELD(throttle_unlock_time), 1, 86400, NO_SECRET,
	 "1..86400 seconds"},
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

static int set_option(pam_handle_t *pamh, struct gotrue_config *cfg, const char *key,
		      const char *value, const struct where *w)
{
	const struct option_def *def = find_option(key);
	void *field;
	unsigned long long n;
	size_t len;
	char **strv;
	bool flag;
	int rc = -1;

	if (def == NULL) {
		if (strcmp(key, "conf") == 0)
			opt_log(pamh, w, "conf= is only accepted as a module argument; option=%s",
				key);
		else
			opt_log(pamh, w, "unknown option; option=%s", key);
		goto cleanup;
	}
	if (def->type == OPT_INLINE_SECRET) {
		/* The config file is world-readable and module arguments are in /etc/pam.d: a
		 * secret in either is already disclosed. */
		opt_log(pamh, w,
			"refusing a secret given inline; option=%s: put it in a root-owned 0600 "
			"file and name that file with %s",
			key, def->hint);
		goto cleanup;
	}
	if (value == NULL && def->type != OPT_BOOL) {
		opt_log(pamh, w, "option needs a value; option=%s (expected %s)", key, def->hint);
		goto cleanup;
	}
	field = (char *)cfg + def->offset;
	switch (def->type) {
	case OPT_URL:
		if (!url_valid(value, false))
			break;
		len = strlen(value);
		/* Stored without trailing slashes so that callers can append "/token". */
		while (len > 0 && value[len - 1] == '/')
			len--;
		rc = set_string(cfg, def, value, len);
		break;
	case OPT_JWKS_URL:
		if ((value[0] == '/' && !has_control(value) && strchr(value, ' ') == NULL) ||
		    url_valid(value, true))
			rc = set_string(cfg, def, value, strlen(value));
		break;
	case OPT_SECRET_PATH:
	case OPT_PATH:
		if (value[0] != '/' || has_control(value))
			break;
		rc = set_string(cfg, def, value, strlen(value));
		if (rc == 0 && def->loaded != NO_SECRET) {
			/* A secret loaded from the old path no longer matches the config. */
			char **loaded = cfg_field(cfg, def->loaded);

			gotrue_wipe_free_str(*loaded);
			*loaded = NULL;
		}
		break;
	case OPT_ENTRY_PATH:
		if (value[0] == '/' && !has_control(value) && strchr(value, ':') == NULL)
			rc = set_string(cfg, def, value, strlen(value));
		break;
	case OPT_TEXT:
		if (value[0] != '\0' && !has_control(value))
			rc = set_string(cfg, def, value, strlen(value));
		break;
	case OPT_LONG:
	case OPT_UID:
	case OPT_SIZE:
		if (!(def->type == OPT_SIZE ? parse_size(value, &n) : parse_number(value, &n)) ||
		    n < (unsigned long long)def->min || n > (unsigned long long)def->max)
			break;
		if (def->type == OPT_LONG)
			*(long *)field = (long)n;
		else if (def->type == OPT_UID)
			*(unsigned long *)field = (unsigned long)n;
		else
			*(size_t *)field = (size_t)n;
		if (def->offset == FIELD(connect_timeout))
			cfg->connect_timeout_set = true;
		else if (def->offset == FIELD(timeout) && !cfg->connect_timeout_set)
			cfg->connect_timeout = cfg->timeout < DEFAULT_CONNECT_TIMEOUT
						       ? cfg->timeout
						       : DEFAULT_CONNECT_TIMEOUT;
		rc = 0;
		break;
	case OPT_ALGS:
	case OPT_DOMAINS:
	case OPT_NAMES:
		strv = parse_list(pamh, cfg, w, def, value);
		if (strv == NULL)
			goto cleanup; /* logged */
		rc = set_strv(cfg, def, strv);
		break;
	case OPT_REVOKED:
		if (strcmp(value, "log") == 0) {
			cfg->revoked_session = GOTRUE_REVOKED_LOG;
			rc = 0;
		} else if (strcmp(value, "terminate") == 0) {
			cfg->revoked_session = GOTRUE_REVOKED_TERMINATE;
			rc = 0;
		}
		break;
	case OPT_SERVER:
		/* v2.69 is the last generation whose /logout ignores scope (gotrue-api/README.md).
		 */
		if (strcmp(value, "auto") == 0)
			cfg->server = GOTRUE_SERVER_AUTO;
		else if (strcmp(value, "v2.69") == 0 || strcmp(value, "old") == 0)
			cfg->server = GOTRUE_SERVER_OLD;
		else if (strcmp(value, "current") == 0)
			cfg->server = GOTRUE_SERVER_CURRENT;
		else
			break;
		rc = 0;
		break;
	case OPT_OLD_LOGOUT:
		/* What a /logout that ends every session of the user is worth on old servers. */
		if (strcmp(value, "forget") == 0)
			cfg->old_server_logout = GOTRUE_OLD_LOGOUT_FORGET;
		else if (strcmp(value, "global") == 0)
			cfg->old_server_logout = GOTRUE_OLD_LOGOUT_GLOBAL;
		else
			break;
		rc = 0;
		break;
	case OPT_MFA:
		/* There is deliberately no value that lets a verified factor be skipped. */
		if (strcmp(value, "enrolled") == 0)
			cfg->mfa = GOTRUE_MFA_ENROLLED;
		else if (strcmp(value, "required") == 0)
			cfg->mfa = GOTRUE_MFA_REQUIRED;
		else
			break;
		rc = 0;
		break;
	case OPT_LOGIN:
		if (strcmp(value, "password") == 0)
			cfg->login = GOTRUE_LOGIN_PASSWORD;
		else if (strcmp(value, "email_code") == 0)
			cfg->login = GOTRUE_LOGIN_EMAIL_CODE;
		else if (strcmp(value, "password_or_email_code") == 0)
			cfg->login = GOTRUE_LOGIN_PASSWORD_OR_EMAIL_CODE;
		else
			break;
		rc = 0;
		break;
	case OPT_OFFLINE_MFA:
		if (strcmp(value, "refuse") == 0)
			cfg->offline_mfa = GOTRUE_OFFLINE_MFA_REFUSE;
		else if (strcmp(value, "allow") == 0)
			cfg->offline_mfa = GOTRUE_OFFLINE_MFA_ALLOW;
		else
			break;
		rc = 0;
		break;
	case OPT_BOOL:
		if (parse_bool(value, &flag)) {
			*(bool *)field = flag;
			rc = 0;
		}
		break;
	case OPT_INLINE_SECRET:
		break;
	}
	if (rc != 0)
		opt_log(pamh, w, "invalid value; option=%s (expected %s)", key, def->hint);
cleanup:
	return rc;
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
	cfg->revoked_session = GOTRUE_REVOKED_LOG;
	cfg->throttle_user_failures = DEFAULT_THROTTLE_USER_FAILURES;
	cfg->throttle_host_failures = DEFAULT_THROTTLE_HOST_FAILURES;
	cfg->throttle_interval = DEFAULT_THROTTLE_INTERVAL;
	cfg->throttle_unlock_time = DEFAULT_THROTTLE_UNLOCK_TIME;
	cfg->offline_days = DEFAULT_OFFLINE_DAYS;
	cfg->offline_attempts = DEFAULT_OFFLINE_ATTEMPTS;
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

/* Read one secret file: SECRET rules, trailing blanks and newlines stripped, one printable line.
 * *out is released with gotrue_wipe_free_str(). 0 or -1 after logging. */
static int read_secret(pam_handle_t *pamh, const char *option, const char *path, char **out)
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
	rc = read_secret(pamh, option, path, slot);
cleanup:
	return rc;
}

struct check {
	void (*report)(void *ctx, bool warning, const char *problem);
	void *ctx;
	int count;
};

static void vsay(struct check *c, bool warning, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!warning)
		c->count++;
	if (c->report != NULL)
		c->report(c->ctx, warning, msg);
}

static void problem(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, false, fmt, ap);
	va_end(ap);
}

static void warning(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warning(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c, true, fmt, ap);
	va_end(ap);
}

static void check_url(struct check *c, const struct gotrue_config *cfg, const char *option,
		      const char *url)
{
	char why[256];

	/* A jwks_url that is a path lives under url, which is checked itself. */
	if (url != NULL && url[0] != '/' && gotrue_http_url_check(cfg, url, why, sizeof(why)) != 0)
		problem(c, "%s %s: %s", option, url, why);
}

/* Deny by default: only an administrator's app_metadata admits a GoTrue user. */
static void check_admission(struct check *c, const struct gotrue_config *cfg)
{
	bool groups = cfg->allow_groups != NULL && cfg->allow_groups[0] != NULL;

	if (cfg->allow_all_users && groups)
		warning(c, "allow_all_users has no effect while allow_groups is set");
	else if (cfg->allow_all_users)
		warning(c,
			"allow_all_users = yes admits every GoTrue user of the project, anyone who "
			"can sign up included");
	else if (!groups)
		problem(c, "allow_groups is empty and allow_all_users is not set: no GoTrue user "
			   "can log in (name the app_metadata.groups that may)");
	if (cfg->email_fallback && (cfg->email_domains == NULL || cfg->email_domains[0] == NULL ||
				    cfg->email_domains[1] != NULL))
		warning(c, "email_fallback needs exactly one domain in email_domains; it does "
			   "nothing here");
}

static void check_secret_file(pam_handle_t *pamh, struct check *c, const char *option,
			      const char *path)
{
	char *secret = NULL;

	if (path == NULL)
		return;
	/* Loaded and wiped at once: only whether it loads is reported, never what it holds. */
	if (read_secret(pamh, option, path, &secret) != 0)
		problem(c,
			"%s: %s cannot be used (missing, empty, or wrong owner or mode; it must "
			"be a root-owned regular file with mode 0600 or 0400)",
			option, path);
	gotrue_wipe_free_str(secret);
}

static void check_public_file(pam_handle_t *pamh, struct check *c, const char *option,
			      const char *path, size_t max, const char *marker)
{
	char *text = NULL;
	size_t len = 0;

	if (path == NULL)
		return;
	if (gotrue_read_file(pamh, path, GOTRUE_FILE_CONFIG, max, &text, &len) != 0)
		problem(c,
			"%s: %s cannot be used (missing, too large, or not a root-owned regular "
			"file that only its owner can write)",
			option, path);
	else if (marker != NULL && strstr(text, marker) == NULL)
		problem(c, "%s: %s holds no PEM data (no \"%s\")", option, path, marker);
	gotrue_wipe_free(text, len + 1);
}

/* Offline login (pam_gotrue(8), OFFLINE LOGIN): what it means here, and settings under which
 * it can never be used. */
static void check_offline(struct check *c, const struct gotrue_config *cfg)
{
	if (!cfg->offline_login)
		return;
	warning(c,
		"offline_login = yes: while GoTrue cannot be reached, a user who logged in here "
		"in the last %ld day(s) logs in with that password, even if it was changed or "
		"the user banned since (until the next sync or refresh pass sees it)",
		cfg->offline_days);
	if (cfg->login == GOTRUE_LOGIN_EMAIL_CODE)
		warning(c, "offline_login = yes with login = email_code: no password is typed, so "
			   "no offline login is possible");
	if (cfg->offline_mfa == GOTRUE_OFFLINE_MFA_ALLOW)
		warning(c, "offline_mfa = allow: offline, users with a second factor log in with "
			   "their password alone");
	else if (cfg->mfa == GOTRUE_MFA_REQUIRED)
		warning(c,
			"offline_login = yes with mfa = required and offline_mfa = refuse: every "
			"user has a second factor, so nobody can log in offline");
}

static bool algs_need(char *const *algs, char family)
{
	bool found = false;

	for (; algs != NULL && *algs != NULL && !found; algs++)
		found = (*algs)[0] == family;
	return found;
}

int gotrue_config_check(pam_handle_t *pamh, const struct gotrue_config *cfg,
			void (*report)(void *ctx, bool warning, const char *problem), void *ctx)
{
	struct check c = {report, ctx, 0};
	bool have_public = cfg->jwt_public_key != NULL || cfg->jwks_url != NULL;

	if (cfg->load_problems > 0)
		problem(&c,
			"%u invalid line(s) or argument(s) were ignored (see the messages above)",
			cfg->load_problems);
	/* Server and transport. */
	if (cfg->url == NULL)
		problem(&c, "url is not set");
	check_url(&c, cfg, "url", cfg->url);
	check_url(&c, cfg, "jwks_url", cfg->jwks_url);
	if (cfg->insecure_http_for_testing)
		warning(&c,
			"insecure_http_for_testing = yes: passwords may go to whoever listens on "
			"a loopback port; never use it in production");
	if (cfg->timeout < 1 || cfg->timeout > 120)
		problem(&c, "timeout %ld is outside 1..120 seconds", cfg->timeout);
	if (cfg->connect_timeout < 1 || cfg->connect_timeout > cfg->timeout)
		problem(&c, "connect_timeout %ld must be between 1 and timeout (%ld)",
			cfg->connect_timeout, cfg->timeout);
	if (cfg->max_response < 1024 || cfg->max_response > 64 * 1024 * 1024)
		problem(&c, "max_response %zu is outside 1024..67108864 bytes", cfg->max_response);
	check_secret_file(pamh, &c, "api_key_file", cfg->api_key_file);
	check_secret_file(pamh, &c, "service_role_key_file", cfg->service_role_key_file);
	check_public_file(pamh, &c, "ca_file", cfg->ca_file, GOTRUE_CA_FILE_MAX_SIZE,
			  "-----BEGIN ");
	/* Token verification. */
	if (cfg->jwt_secret_file == NULL && !have_public)
		problem(&c, "no token verification key configured (jwt_secret_file, jwt_public_key "
			    "or jwks_url): tokens will not be signature-checked");
	check_secret_file(pamh, &c, "jwt_secret_file", cfg->jwt_secret_file);
	check_public_file(pamh, &c, "jwt_public_key", cfg->jwt_public_key, PUBLIC_KEY_MAX_SIZE,
			  "-----BEGIN ");
	if (algs_need(cfg->jwt_algs, 'H') && cfg->jwt_secret_file == NULL)
		problem(&c, "jwt_algs allows HS* algorithms but jwt_secret_file is not set");
	if ((algs_need(cfg->jwt_algs, 'R') || algs_need(cfg->jwt_algs, 'E')) && !have_public)
		problem(&c, "jwt_algs allows RS*/ES* algorithms but neither jwt_public_key nor "
			    "jwks_url is set");
	if (cfg->jwt_algs != NULL && cfg->jwt_algs[0] == NULL)
		problem(&c, "jwt_algs is empty: no token can be accepted");
	if (cfg->jwt_leeway < 0 || cfg->jwt_leeway > 300)
		problem(&c, "jwt_leeway %ld is outside 0..300 seconds", cfg->jwt_leeway);
	/* Accounts. */
	if (cfg->uid_min < 1000)
		problem(&c, "uid_min %lu is below 1000, the range of system accounts",
			cfg->uid_min);
	if (cfg->uid_min >= cfg->uid_max)
		problem(&c, "uid_min %lu must be below uid_max %lu", cfg->uid_min, cfg->uid_max);
	if (cfg->email_domains == NULL || cfg->email_domains[0] == NULL)
		warning(&c, "email_domains is empty: users without app_metadata.username "
			    "cannot be mapped");
	check_admission(&c, cfg);
	if (cfg->login != GOTRUE_LOGIN_PASSWORD && cfg->mfa != GOTRUE_MFA_REQUIRED)
		warning(&c,
			"login = %s: whoever can read a user's mail can log in as them, "
			"unless the user has a second factor (mfa = required refuses users "
			"without one)",
			cfg->login == GOTRUE_LOGIN_EMAIL_CODE ? "email_code"
							      : "password_or_email_code");
	/* Sessions. */
	if (cfg->old_server_logout == GOTRUE_OLD_LOGOUT_GLOBAL &&
	    cfg->server != GOTRUE_SERVER_CURRENT)
		warning(&c,
			"old_server_logout = global: on an old server the last session of a user "
			"to close on this host ends every session of theirs, on every host and in "
			"the web application");
	if (cfg->state_dir == NULL || cfg->state_dir[0] != '/')
		problem(&c, "state_dir must be an absolute path");
	if (cfg->throttle_user_failures == 0 && cfg->throttle_host_failures == 0)
		warning(&c, "throttle_user_failures and throttle_host_failures are 0: one guesser "
			    "can spend this host's request allowance at GoTrue and lock every user "
			    "out");
	check_offline(&c, cfg);
	return c.count;
}
