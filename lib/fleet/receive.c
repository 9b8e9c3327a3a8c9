/* receive: a bundle file from the network to its temp file (receive.h). */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "receive.h"

int gotrue_fleet_receive_begin(struct gotrue_fleet_receive *r, const char *path, mode_t mode,
			       const struct gotrue_fleet_file *want,
			       const struct gotrue_fleet_keys *keys)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->want = want;
	r->keys = keys;
	r->md = EVP_MD_CTX_new();
	r->path = strdup(path);
	if (r->md == NULL || r->path == NULL || EVP_DigestInit_ex(r->md, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	rc = gotrue_replace_open(r->path, mode, &r->rep, &r->fd);
	if (rc != 0)
		r->fd = -1;
	return rc;
}

static int write_all(struct gotrue_fleet_receive *r, const unsigned char *p, size_t len)
{
	ssize_t w;

	while (len > 0 && r->error == 0) {
		w = write(r->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r->error = w < 0 ? -errno : -EIO;
		else {
			p += w;
			len -= (size_t)w;
		}
	}
	return r->error;
}

/* Ciphertext through the opening, into the temp file. */
static int open_out(struct gotrue_fleet_receive *r, const unsigned char *in, size_t len)
{
	unsigned char *nb;

	if (len == 0)
		return 0;
	if (len > r->buf_cap) {
		nb = realloc(r->buf, len);
		if (nb == NULL)
			return r->error = -ENOMEM;
		r->buf = nb;
		r->buf_cap = len;
	}
	if (gotrue_fleet_open_update(r->open, in, len, r->buf) != 0)
		return r->error = -EIO;
	return write_all(r, r->buf, len);
}

/* The sealed stream: the header first, then all but the last GOTRUE_FLEET_TAG_LEN bytes seen so
 * far are ciphertext; those last bytes, held back, are the tag once the stream ends. */
static int take_sealed(struct gotrue_fleet_receive *r, const unsigned char *p, size_t len)
{
	size_t k, keep;

	k = sizeof(r->head) - r->head_len;
	k = k < len ? k : len;
	memcpy(r->head + r->head_len, p, k);
	r->head_len += k;
	p += k;
	len -= k;
	if (r->head_len == sizeof(r->head) && r->open == NULL && !r->bad_seal) {
		r->open = gotrue_fleet_open_begin(r->keys, r->head);
		r->bad_seal = r->open == NULL;
	}
	if (len == 0 || r->bad_seal)
		return 0;
	if (len >= sizeof(r->tail)) {
		if (open_out(r, r->tail, r->tail_len) != 0 ||
		    open_out(r, p, len - sizeof(r->tail)) != 0)
			return r->error;
		memcpy(r->tail, p + len - sizeof(r->tail), sizeof(r->tail));
		r->tail_len = sizeof(r->tail);
		return 0;
	}
	keep = r->tail_len + len > sizeof(r->tail) ? r->tail_len + len - sizeof(r->tail) : 0;
	if (open_out(r, r->tail, keep) != 0)
		return r->error;
	memmove(r->tail, r->tail + keep, r->tail_len - keep);
	memcpy(r->tail + r->tail_len - keep, p, len);
	r->tail_len = r->tail_len - keep + len;
	return 0;
}

int gotrue_fleet_receive_data(void *ctx, const char *data, size_t len)
{
	struct gotrue_fleet_receive *r = ctx;
	const unsigned char *p = (const unsigned char *)data;

	if (EVP_DigestUpdate(r->md, p, len) != 1)
		r->error = -ENOMEM;
	else if (r->keys != NULL)
		take_sealed(r, p, len);
	else
		write_all(r, p, len);
	return r->error != 0 ? -1 : 0;
}

int gotrue_fleet_receive_end(struct gotrue_fleet_receive *r, size_t received)
{
	unsigned char md[32];
	char hex[GOTRUE_FLEET_SHA256_HEX + 1];
	unsigned int n = 0, i;
	int rc = 1;

	if (r->error != 0)
		return r->error;
	if (EVP_DigestFinal_ex(r->md, md, &n) != 1 || n != sizeof(md))
		return -ENOMEM;
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if ((long long)received != r->want->size || strcmp(hex, r->want->sha256) != 0)
		goto cleanup;
	if (r->keys != NULL) {
		if (r->open == NULL || r->tail_len != sizeof(r->tail) ||
		    gotrue_fleet_open_final(r->open, r->tail) != 0) {
			r->open = NULL;
			r->bad_seal = true;
			goto cleanup;
		}
		r->open = NULL;
	}
	rc = gotrue_replace_written(&r->rep, r->fd);
	r->fd = -1;
	r->pending = rc == 0;
cleanup:
	return rc;
}

void gotrue_fleet_receive_free(struct gotrue_fleet_receive *r)
{
	if (r->want == NULL) /* never begun */
		return;
	if (r->fd >= 0) {
		close(r->fd);
		gotrue_replace_abort(&r->rep);
	} else if (r->pending) {
		gotrue_replace_abort(&r->rep);
	}
	r->fd = -1;
	r->pending = false;
	gotrue_fleet_open_free(r->open);
	r->open = NULL;
	EVP_MD_CTX_free(r->md);
	r->md = NULL;
	free(r->path);
	r->path = NULL;
	if (r->buf != NULL)
		gotrue_wipe_free(r->buf, r->buf_cap);
	r->buf = NULL;
}
