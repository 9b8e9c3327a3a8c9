/* test_fleet_receive: a bundle file received as a stream (lib/fleet/receive.c) over the sink of
 * lib/client/http.c. The sealed account index fed in pieces of every size from 1 byte opens to
 * exactly its plain text in the temp file, and nothing reaches the final path until the size,
 * the hash and the tag are right; an altered tag or byte, or a wrong size, leaves no file at
 * all. Then a real response over 4 KiB through a sink: its body stays with the sink (the
 * response holds none, and clearing it touches nothing else). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "emu.h"
#include "fleet_crypto.h"
#include "gotrue_config.h"
#include "http.h"
#include "receive.h"
#include "secure.h"
#include "tap.h"

static char dir[] = "/tmp/test-fleet-receive.XXXXXX";

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL &&
	    fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else if (buf != NULL) {
		free(buf);
		buf = NULL;
	}
	if (f != NULL)
		fclose(f);
	return buf;
}

/* Receive @data in pieces of @step bytes into @path; the end's result. */
static int feed(const char *path, const unsigned char *data, size_t len, size_t step,
		const struct gotrue_fleet_file *want, const struct gotrue_fleet_keys *keys)
{
	struct gotrue_fleet_receive r;
	size_t at, n;
	int rc = -1;

	if (gotrue_fleet_receive_begin(&r, path, 0600, want, keys) == 0) {
		for (at = 0, rc = 0; at < len && rc == 0; at += n) {
			n = len - at < step ? len - at : step;
			rc = gotrue_fleet_receive_data(&r, (const char *)data + at, n);
		}
		rc = rc == 0 ? gotrue_fleet_receive_end(&r, len) : -1;
		if (rc == 0 && r.pending) {
			r.pending = false;
			rc = gotrue_replace_commit(&r.rep);
		}
	}
	gotrue_fleet_receive_free(&r);
	return rc;
}

static void test_stream(void)
{
	static const size_t steps[] = {1, 3, 15, 16, 17, 27, 28, 29, 100, 4096, 1 << 20};
	struct gotrue_fleet_keys keys;
	struct gotrue_fleet_file want = {.present = true};
	char key[66], path[128], *got;
	unsigned char *plain = malloc(50000), *sealed = NULL;
	size_t i, n = 0, got_len = 0;
	bool all = true;

	for (i = 0; i < 50000; i++)
		plain[i] = (unsigned char)(i * 7 + i / 251);
	gotrue_fleet_keygen_fleet_key(key);
	gotrue_fleet_keys_parse(key, &keys);
	gotrue_fleet_seal(keys.key[0], plain, 50000, &sealed, &n);
	gotrue_fleet_sha256_hex(sealed, n, want.sha256);
	want.size = (long long)n;
	snprintf(path, sizeof(path), "%s/accounts", dir);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unlink(path);
		got = NULL;
		if (feed(path, sealed, n, steps[i], &want, &keys) != 0 ||
		    (got = read_all(path, &got_len)) == NULL || got_len != 50000 ||
		    memcmp(got, plain, 50000) != 0) {
			all = false;
			diag("pieces of %zu bytes: wrong", steps[i]);
		}
		free(got);
	}
	ok(all, "the sealed index, in pieces of 1 to 1M bytes, opens to its plain text");
	unlink(path);
	sealed[n - 1] ^= 1;
	gotrue_fleet_sha256_hex(sealed, n, want.sha256);
	ok(feed(path, sealed, n, 4096, &want, &keys) == 1 && access(path, F_OK) != 0,
	   "a changed tag (the hash matching it): refused, no file in place");
	sealed[n - 1] ^= 1;
	sealed[100] ^= 1;
	gotrue_fleet_sha256_hex(sealed, n, want.sha256);
	ok(feed(path, sealed, n, 4096, &want, &keys) == 1 && access(path, F_OK) != 0,
	   "a changed ciphertext byte (the hash matching it): refused, no file in place");
	sealed[100] ^= 1;
	gotrue_fleet_sha256_hex(sealed, n, want.sha256);
	ok(feed(path, sealed, n - 1, 4096, &want, &keys) == 1 && access(path, F_OK) != 0,
	   "one byte short: refused, no file in place");
	want.sha256[0] = want.sha256[0] == '0' ? '1' : '0';
	ok(feed(path, sealed, n, 4096, &want, NULL) == 1 && access(path, F_OK) != 0,
	   "another hash than the manifest's: refused, no file in place");
	free(plain);
	free(sealed);
	gotrue_fleet_keys_clear(&keys);
}

struct sink_buf {
	char *data;
	size_t len;
};

static int to_buf(void *ctx, const char *data, size_t len)
{
	struct sink_buf *b = ctx;
	char *nb = realloc(b->data, b->len + len);

	if (nb == NULL)
		return -1;
	memcpy(nb + b->len, data, len);
	b->data = nb;
	b->len += len;
	return 0;
}

static void test_sink(void)
{
	struct emu *e = emu_start(NULL);
	struct gotrue_config *cfg = gotrue_config_new();
	struct gotrue_http *h = NULL;
	struct gotrue_http_response r = {0};
	struct gotrue_error err = {0};
	struct sink_buf b = {0};
	char *conf = NULL;

	if (e == NULL || cfg == NULL || emu_bulk_users(e, 60, NULL, NULL, "{}") != 0 ||
	    (conf = emu_write_config(e, NULL)) == NULL ||
	    gotrue_config_load_file(NULL, cfg, conf, false) != 0 ||
	    gotrue_config_load_secret(NULL, cfg, GOTRUE_SECRET_SERVICE_ROLE_KEY) != 0 ||
	    (h = gotrue_http_new(NULL, cfg)) == NULL) {
		ok(0, "emulator and client");
		goto cleanup;
	}
	gotrue_http_set_sink(h, to_buf, &b);
	ok(gotrue_http_request(h, "GET", "/admin/users?per_page=60", cfg->service_role_key, NULL,
			       &r, &err) == 0 &&
		   r.status == 200,
	   "a listing of 60 users through a sink");
	ok(r.body == NULL && r.body_len == b.len && b.len > 4096,
	   "its %zu bytes went to the sink only, counted in body_len", b.len);
	gotrue_http_response_clear(&r);
	gotrue_http_set_sink(h, NULL, NULL);
	ok(gotrue_http_request(h, "GET", "/health", NULL, NULL, &r, &err) == 0 && r.body != NULL &&
		   r.body_len > 0,
	   "without the sink, the body is the response's again");
cleanup:
	gotrue_http_response_clear(&r);
	gotrue_http_free(h);
	gotrue_config_free(cfg);
	free(conf);
	free(b.data);
	emu_stop(e);
}

int main(void)
{
	if (mkdtemp(dir) == NULL)
		skip_all("mkdtemp");
	test_stream();
	test_sink();
	rmdir(dir);
	return done_testing();
}
