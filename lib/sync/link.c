/* link: the RFC 8288 `Link` header parser that GET /admin/users pagination needs
 * (`</admin/users?page=2&per_page=2>; rel="next", </admin/users?page=4&per_page=2>; rel="last"`).
 * Hand-written because neither libcurl nor json-c has a Link parser (libcurl only hands us the raw
 * header line). It reads a header a server controls, so it is bounded, never reads past the NUL,
 * and skips what it cannot parse instead of guessing. A fuzz target. */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* A paging header is a few hundred bytes; refuse to work on anything absurd. */
#define LINK_HEADER_MAX (16 * 1024)
#define LINK_TARGET_MAX 4096

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9110 5.6.2 tchar */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static const char *skip_ows(const char *p)
{
	while (is_ows(*p))
		p++;
	return p;
}

/* Skip a malformed link-value: up to the next ',' that is not inside <...> or "...". */
static const char *skip_to_next_value(const char *p)
{
	bool in_uri = false, in_quote = false;

	for (; *p; p++) {
		if (in_quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_quote = false;
		} else if (in_uri) {
			if (*p == '>')
				in_uri = false;
		} else if (*p == '"') {
			in_quote = true;
		} else if (*p == '<') {
			in_uri = true;
		} else if (*p == ',') {
			break;
		}
	}
	return p;
}

/* Does the relation-type list (RFC 8288 3.3: space-separated, case-insensitive) name "next"? */
static bool rel_has_next(const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		start = i;
		while (i < len && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - start == 4 && strncasecmp(v + start, "next", 4) == 0)
			return true;
	}
	return false;
}

/* Read one parameter value (token or quoted-string) at @p into @buf (unescaped, truncated to
 * @size - 1). Returns the position after it, or NULL on a syntax error. */
static const char *read_value(const char *p, char *buf, size_t size, size_t *out_len)
{
	size_t n = 0;

	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\') {
				if (!p[1])
					return NULL;
				p++;
			}
			if (n + 1 < size)
				buf[n++] = *p;
		}
		if (*p != '"')
			return NULL;
		p++;
	} else {
		for (; is_tchar(*p); p++)
			if (n + 1 < size)
				buf[n++] = *p;
		if (n == 0)
			return NULL;
	}
	buf[n] = '\0';
	*out_len = n;
	return p;
}

/* Parse one link-value at @p ("<target>" *( ";" param )). On success return the position after it
 * and set the target, its length and is_next; NULL on a syntax error. */
static const char *parse_link_value(const char *p, const char **target, size_t *target_len,
				    bool *is_next)
{
	const char *end;
	bool seen_rel = false;

	*is_next = false;
	if (*p != '<')
		return NULL;
	end = strchr(p + 1, '>');
	if (!end)
		return NULL;
	*target = p + 1;
	*target_len = (size_t)(end - p - 1);
	p = skip_ows(end + 1);
	while (*p == ';') {
		char name[32], value[256];
		size_t n = 0, vlen = 0;
		bool has_value = false;

		p = skip_ows(p + 1);
		while (is_tchar(*p)) {
			if (n + 1 < sizeof(name))
				name[n++] = *p;
			p++;
		}
		name[n] = '\0';
		if (n == 0)
			return NULL;
		p = skip_ows(p);
		if (*p == '=') {
			p = read_value(skip_ows(p + 1), value, sizeof(value), &vlen);
			if (!p)
				return NULL;
			has_value = true;
		}
		/* RFC 8288 3.3: occurrences of rel after the first MUST be ignored. */
		if (strcasecmp(name, "rel") == 0 && !seen_rel) {
			seen_rel = true;
			*is_next = has_value && rel_has_next(value, vlen);
		}
		p = skip_ows(p);
	}
	if (*p != ',' && *p != '\0')
		return NULL;
	return p;
}

static bool target_ok(const char *t, size_t len)
{
	size_t i;

	if (len == 0 || len > LINK_TARGET_MAX)
		return false;
	/* A URI reference has no blanks or control characters (RFC 3986); refusing them keeps
	 * anything odd out of the request line. */
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] <= 0x20 || t[i] == 0x7f)
			return false;
	return true;
}

char *gotrue_link_next(const char *link_header)
{
	const char *p;
	char *next = NULL;

	if (!link_header || strnlen(link_header, LINK_HEADER_MAX + 1) > LINK_HEADER_MAX)
		return NULL;
	p = link_header;
	while (*p) {
		const char *target = NULL, *after;
		size_t target_len = 0;
		bool is_next = false;

		/* #rule lists allow empty elements and blanks around commas (RFC 9110 5.6.1). */
		p = skip_ows(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (!*p)
			break;
		after = parse_link_value(p, &target, &target_len, &is_next);
		if (!after) {
			p = skip_to_next_value(p);
			continue;
		}
		if (is_next && target_ok(target, target_len)) {
			next = strndup(target, target_len);
			break;
		}
		p = after;
	}
	return next;
}
