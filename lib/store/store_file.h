/* store_file: the token store's record file, inside the core only (lib/store/store.c reads and
 * writes it; lib/store/store_file.c knows its layout; lib/store/store_record.c its JSON payload).
 * The layout is described in store_file.c. */
#ifndef GOTRUE_STORE_FILE_H
#define GOTRUE_STORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define GOTRUE_STORE_FILE_MAX (2 * (size_t)GOTRUE_STORE_SLOT_MAX)

/* The slots of a file image. The slot size is half the file, which must be a whole number of
 * GOTRUE_STORE_SLOT_MIN pages per slot; each slot's header must say the same. A slot is intact when
 * its header and its checksum hold. Checksums are checked lazily, newest header first: the intact
 * slot with the newer sequence is the same whichever order they are checked in, and the older
 * slot's need not be checked at all when the newer one is intact. */
struct gotrue_store_slots {
	const unsigned char *buf;
	size_t size;
	int hdr_ok[2]; /* 1: header fine, 0: not */
	int sum_ok[2]; /* -1: not known (not checked yet, or it could not be computed) */
	uint64_t seq[2];
	size_t len[2];
	int order[2]; /* slots with a good header, newer sequence first; -1 ends */
};

/* Find the slots of the file image @buf (@len bytes): -1 when the size cannot be a record file. */
int gotrue_store_slots_scan(const unsigned char *buf, size_t len, struct gotrue_store_slots *sl);
/* The intact slot with the newer sequence; -EBADMSG when neither is intact, -ENOMEM when the
 * checksum of a slot that decides could not be computed. */
int gotrue_store_newest_intact(struct gotrue_store_slots *sl);
/* gotrue_store_file_parse, also giving the slots (@slp) and the index of the slot parsed (*@idx);
 * each may be NULL. 0, -EBADMSG or -ENOMEM. */
int gotrue_store_file_parse_slots(const unsigned char *buf, size_t len,
				  struct gotrue_store_record *out, uint64_t *seq,
				  struct gotrue_store_slots *slp, int *idx);
/* The JSON payload of one slot (lib/store/store_record.c). 0, -EBADMSG, or -ENOMEM when memory
 * ran out while it was read (@out cleared). */
int gotrue_store_payload_parse(const char *buf, size_t len, struct gotrue_store_record *out);

#endif
