/* store_file: the token store's two-slot record file: slot encoding, checksums, and finding the
 * newest intact slot of a file image. Reading and writing files is lib/store/store.c's. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "store.h"
#include "store_file.h"

/* The record file (store.h): two slots of slot_size bytes each, every slot a
 * GOTRUE_STORE_SLOT_HEADER-byte header then the JSON payload, zero-padded. Header, little-endian:
 *    0  magic "GTSTORE2"                      8  SHA-256 over bytes 40 .. 64 + length
 *   40  u32 format version (2)               44  u32 slot_size
 *   48  u64 sequence                         56  u32 payload length      60  u32 zero
 * A hand-written layout rather than a JSON envelope: the checksum must cover bytes as written,
 * and a reader must find each slot at a fixed offset without trusting anything inside it. The
 * checksum covers one contiguous range (the magic is compared whole) so that it is one
 * EVP_Digest call. SHA-256 only because it is the digest already at hand and cheap next to the
 * write itself; any checksum that catches a torn write would do: nothing in it is a secret and
 * nobody but root can write the file. */
#define SLOT_MAGIC   "GTSTORE2"
#define SLOT_VERSION 2
#define SLOT_SUM_OFF 8
#define SLOT_FIELDS  40 /* the checksummed part starts here */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* SHA-256, fetched once: an implicit fetch per EVP_Digest call costs as much as the digest. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;

static void sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The checksum of slot @s whose payload is @len bytes (bounds checked by the caller). 0 or -1
 * (OpenSSL could not compute it: out of memory). */
static int slot_sum(const unsigned char *s, size_t len, unsigned char sum[32])
{
	unsigned int n = 0;

	pthread_once(&sha256_once, sha256_fetch);
	if (sha256 == NULL ||
	    EVP_Digest(s + SLOT_FIELDS, GOTRUE_STORE_SLOT_HEADER - SLOT_FIELDS + len, sum, &n,
		       sha256, NULL) != 1 ||
	    n != 32)
		return -1;
	return 0;
}

size_t gotrue_store_slot_size(size_t payload_len)
{
	/* Room for the payload to double (a new pair of tokens a little longer, a few more groups)
	 * before an update has to re-create the file. */
	size_t want = GOTRUE_STORE_SLOT_HEADER + 2 * payload_len;

	want = (want + GOTRUE_STORE_SLOT_MIN - 1) / GOTRUE_STORE_SLOT_MIN * GOTRUE_STORE_SLOT_MIN;
	if (want > GOTRUE_STORE_SLOT_MAX)
		want = GOTRUE_STORE_SLOT_MAX;
	return want;
}

int gotrue_store_slot_encode(unsigned char *slot, size_t slot_size, uint64_t seq,
			     const char *payload, size_t len)
{
	if (slot_size < GOTRUE_STORE_SLOT_MIN || slot_size > GOTRUE_STORE_SLOT_MAX ||
	    slot_size % GOTRUE_STORE_SLOT_MIN != 0 || len == 0 || len > GOTRUE_STORE_RECORD_MAX ||
	    len > slot_size - GOTRUE_STORE_SLOT_HEADER)
		return -EINVAL;
	memset(slot, 0, GOTRUE_STORE_SLOT_HEADER);
	memcpy(slot, SLOT_MAGIC, 8);
	put32(slot + 40, SLOT_VERSION);
	put32(slot + 44, (uint32_t)slot_size);
	put64(slot + 48, seq);
	put32(slot + 56, (uint32_t)len);
	memcpy(slot + GOTRUE_STORE_SLOT_HEADER, payload, len);
	/* The padding is zeroed too: no byte of an older version stays behind the new one. */
	memset(slot + GOTRUE_STORE_SLOT_HEADER + len, 0,
	       slot_size - GOTRUE_STORE_SLOT_HEADER - len);
	return slot_sum(slot, len, slot + SLOT_SUM_OFF) == 0 ? 0 : -ENOMEM;
}

/* Slot @s's header, checked against @slot_size before anything in it is used: 0 with *@seq and
 * *@len set, or -1. The checksum is not checked here (slot_sum_ok). */
static int slot_header(const unsigned char *s, size_t slot_size, uint64_t *seq, size_t *len)
{
	size_t plen;

	if (memcmp(s, SLOT_MAGIC, 8) != 0 || get32(s + 40) != SLOT_VERSION ||
	    get32(s + 44) != slot_size || get32(s + 60) != 0)
		return -1;
	plen = get32(s + 56);
	if (plen == 0 || plen > slot_size - GOTRUE_STORE_SLOT_HEADER ||
	    plen > GOTRUE_STORE_RECORD_MAX)
		return -1;
	*seq = get64(s + 48);
	*len = plen;
	return 0;
}

/* 1: the checksum holds; 0: it does not (a torn write); -1: it could not be computed. */
static int slot_sum_ok(const unsigned char *s, size_t len)
{
	unsigned char sum[32];

	if (slot_sum(s, len, sum) != 0)
		return -1;
	return CRYPTO_memcmp(sum, s + SLOT_SUM_OFF, sizeof(sum)) == 0;
}

/* Sequence numbers compare in serial-number arithmetic (RFC 1982): a newer version is at most
 * 2^63 ahead, so a counter that wraps past 2^64 still orders correctly. */
static bool seq_newer(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) > 0;
}

int gotrue_store_slots_scan(const unsigned char *buf, size_t len, struct gotrue_store_slots *sl)
{
	int i, n = 0;

	memset(sl, 0, sizeof(*sl));
	sl->order[0] = sl->order[1] = -1;
	if (len < 2 * (size_t)GOTRUE_STORE_SLOT_MIN || len > GOTRUE_STORE_FILE_MAX ||
	    len % (2 * GOTRUE_STORE_SLOT_MIN) != 0)
		return -1;
	sl->buf = buf;
	sl->size = len / 2;
	for (i = 0; i < 2; i++) {
		sl->sum_ok[i] = -1;
		sl->hdr_ok[i] = slot_header(buf + (size_t)i * sl->size, sl->size, &sl->seq[i],
					    &sl->len[i]) == 0;
		if (sl->hdr_ok[i])
			sl->order[n++] = i;
	}
	if (n == 2 && seq_newer(sl->seq[1], sl->seq[0])) {
		sl->order[0] = 1;
		sl->order[1] = 0;
	}
	return 0;
}

/* Whether slot @i is intact (header and checksum): 1, 0, or -ENOMEM when its checksum could not
 * be computed, which says nothing either way. */
static int slot_intact(struct gotrue_store_slots *sl, int i)
{
	if (i < 0 || !sl->hdr_ok[i])
		return 0;
	if (sl->sum_ok[i] < 0)
		sl->sum_ok[i] = slot_sum_ok(sl->buf + (size_t)i * sl->size, sl->len[i]);
	return sl->sum_ok[i] < 0 ? -ENOMEM : sl->sum_ok[i];
}

int gotrue_store_newest_intact(struct gotrue_store_slots *sl)
{
	int k, r;

	/* Never past a newer slot whose checksum could not be computed: it may be intact, and the
	 * older slot then holds a spent refresh token. */
	for (k = 0; k < 2; k++) {
		r = slot_intact(sl, sl->order[k]);
		if (r != 0)
			return r < 0 ? r : sl->order[k];
	}
	return -EBADMSG;
}

/* gotrue_store_file_parse, also giving the slots (@sl) and the index of the slot parsed (*@idx). */
int gotrue_store_file_parse_slots(const unsigned char *buf, size_t len,
				  struct gotrue_store_record *out, uint64_t *seq,
				  struct gotrue_store_slots *slp, int *idx)
{
	struct gotrue_store_slots sl;
	int i, rc = -EBADMSG;

	memset(out, 0, sizeof(*out));
	if (buf == NULL || gotrue_store_slots_scan(buf, len, &sl) != 0)
		goto cleanup;
	/* The newest intact slot, whole, or nothing. An older slot is read only when the newer one
	 * is torn. When the newest intact one does not parse (out of memory; never a payload this
	 * code wrote, since the writer checksums what it formatted), the read fails: the older
	 * version may hold a spent refresh token, whose reuse makes GoTrue revoke the session. */
	i = gotrue_store_newest_intact(&sl);
	if (i >= 0)
		rc = gotrue_store_payload_parse((const char *)buf + (size_t)i * sl.size +
							GOTRUE_STORE_SLOT_HEADER,
						sl.len[i], out);
	else
		rc = i;
	if (rc == 0 && seq != NULL)
		*seq = sl.seq[i];
	if (rc == 0 && idx != NULL)
		*idx = i;
	if (slp != NULL)
		*slp = sl;
cleanup:
	return rc;
}

int gotrue_store_file_parse(const unsigned char *buf, size_t len, struct gotrue_store_record *out,
			    uint64_t *seq)
{
	return gotrue_store_file_parse_slots(buf, len, out, seq, NULL, NULL);
}
