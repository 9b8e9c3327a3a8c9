/* manifest: the strict reader and the writer of a bundle's manifest (manifest.h). What a host
 * acts on is only ever what this parser accepted from bytes whose signature was checked first;
 * the parser is a fuzz target (tests/fuzz/fuzz_manifest.c). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "gotrue_json.h"
#include "manifest.h"

static const char *const role_names[GOTRUE_FLEET_ROLES] = {"nss_cache", "accounts", "jwks"};

const char *gotrue_fleet_role_name(enum gotrue_fleet_role role)
{
	return role < GOTRUE_FLEET_ROLES ? role_names[role] : "?";
}

int gotrue_fleet_manifest_split(const char *doc, size_t len, size_t *len_signed, const char **sig,
				size_t *sig_len)
{
	const char *nl = len > 0 ? memchr(doc, '\n', len) : NULL;
	const char *end;
	int rc = -1;

	if (nl == NULL || len > GOTRUE_FLEET_MANIFEST_MAX || doc[len - 1] != '\n')
		goto cleanup;
	*len_signed = (size_t)(nl - doc) + 1;
	*sig = nl + 1;
	end = doc + len - 1; /* the last newline */
	if (end <= *sig || memchr(*sig, '\n', (size_t)(end - *sig)) != NULL)
		goto cleanup;
	*sig_len = (size_t)(end - *sig);
	rc = 0;
cleanup:
	return rc;
}

/* An integer member in [@min, @max]. */
static bool get_int(json_object *o, const char *key, long long min, long long max, long long *out)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(v);
	return errno == 0 && *out >= min && *out <= max;
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s != NULL && i == GOTRUE_FLEET_SHA256_HEX;
}

static int parse_file(json_object *f, struct gotrue_fleet_manifest *m)
{
	const char *role, *sha;
	long long size;
	int i, rc = -1;

	if (!json_object_is_type(f, json_type_object) || json_object_object_length(f) != 3)
		goto cleanup;
	role = gotrue_json_get_str(f, "role");
	sha = gotrue_json_get_str(f, "sha256");
	if (role == NULL || !is_hex64(sha) || !get_int(f, "size", 0, GOTRUE_FLEET_FILE_MAX, &size))
		goto cleanup;
	for (i = 0; i < GOTRUE_FLEET_ROLES; i++)
		if (strcmp(role, role_names[i]) == 0)
			break;
	if (i == GOTRUE_FLEET_ROLES || m->files[i].present)
		goto cleanup;
	m->files[i].present = true;
	memcpy(m->files[i].sha256, sha, GOTRUE_FLEET_SHA256_HEX + 1);
	m->files[i].size = size;
	rc = 0;
cleanup:
	return rc;
}

int gotrue_fleet_manifest_parse(const char *line, size_t len, struct gotrue_fleet_manifest *m)
{
	json_object *doc = gotrue_json_parse_object(line, len, GOTRUE_FLEET_MANIFEST_MAX);
	json_object *files = NULL;
	const char *format;
	size_t i, n;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (doc == NULL || json_object_object_length(doc) != 5)
		goto cleanup;
	format = gotrue_json_get_str(doc, "format");
	if (format == NULL || strcmp(format, GOTRUE_FLEET_FORMAT) != 0 ||
	    !get_int(doc, "serial", 1, INT64_MAX, &m->serial) ||
	    !get_int(doc, "created", 0, INT64_MAX, &m->created) ||
	    !get_int(doc, "expires", m->created, INT64_MAX, &m->expires) ||
	    !json_object_object_get_ex(doc, "files", &files) ||
	    !json_object_is_type(files, json_type_array))
		goto cleanup;
	n = json_object_array_length(files);
	for (i = 0; i < n; i++)
		if (parse_file(json_object_array_get_idx(files, i), m) != 0)
			goto cleanup;
	if (m->files[GOTRUE_FLEET_NSS_CACHE].present && m->files[GOTRUE_FLEET_ACCOUNTS].present)
		rc = 0;
cleanup:
	if (rc != 0)
		memset(m, 0, sizeof(*m));
	json_object_put(doc);
	return rc;
}

static json_object *file_json(enum gotrue_fleet_role role, const struct gotrue_fleet_file *f)
{
	json_object *o = json_object_new_object();

	if (o != NULL &&
	    (json_object_object_add(o, "role", json_object_new_string(role_names[role])) != 0 ||
	     json_object_object_add(o, "sha256", json_object_new_string(f->sha256)) != 0 ||
	     json_object_object_add(o, "size", json_object_new_int64(f->size)) != 0)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int gotrue_fleet_manifest_format(const struct gotrue_fleet_manifest *m, char **out, size_t *len)
{
	json_object *doc = json_object_new_object(), *files = json_object_new_array(), *f;
	const char *text;
	int i, rc = -1;

	*out = NULL;
	if (doc == NULL || files == NULL)
		goto cleanup;
	json_object_object_add(doc, "format", json_object_new_string(GOTRUE_FLEET_FORMAT));
	json_object_object_add(doc, "serial", json_object_new_int64(m->serial));
	json_object_object_add(doc, "created", json_object_new_int64(m->created));
	json_object_object_add(doc, "expires", json_object_new_int64(m->expires));
	for (i = 0; i < GOTRUE_FLEET_ROLES; i++) {
		if (!m->files[i].present)
			continue;
		f = file_json((enum gotrue_fleet_role)i, &m->files[i]);
		if (f == NULL || json_object_array_add(files, f) != 0)
			goto cleanup;
	}
	json_object_object_add(doc, "files", files);
	files = NULL;
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	if (text == NULL || asprintf(out, "%s\n", text) < 0) {
		*out = NULL;
		goto cleanup;
	}
	*len = strlen(*out);
	rc = 0;
cleanup:
	json_object_put(files);
	json_object_put(doc);
	return rc;
}
