/* pack: the bump allocator behind every NSS answer. Strings and the gr_mem array are carved from
 * the caller's buffer; running out anywhere is ERANGE, reported once, in one way. */
#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pack.h"

struct bump {
	char *next;
	size_t left;
	bool overflow;
};

static void *bump_alloc(struct bump *b, size_t size, size_t align)
{
	size_t pad = (align - (uintptr_t)b->next % align) % align;
	void *p;

	if (b->overflow || pad > b->left || size > b->left - pad) {
		b->overflow = true;
		return NULL;
	}
	p = b->next + pad;
	b->next += pad + size;
	b->left -= pad + size;
	return p;
}

static char *bump_str(struct bump *b, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = bump_alloc(b, len, 1);

	if (p != NULL)
		memcpy(p, s, len);
	return p;
}

int gotrue_pack_passwd(const struct gotrue_cache_pw *in, struct passwd *out, char *buf,
		       size_t buflen)
{
	struct bump b = {buf, buflen, false};

	out->pw_name = bump_str(&b, in->name);
	/* "*", not "x": the password is GoTrue's and there is no shadow entry. With "x", pam_unix's
	 * account step looks for one, fails, and refuses every GoTrue user (SSSD uses "*" too). */
	out->pw_passwd = bump_str(&b, "*");
	out->pw_uid = in->uid;
	out->pw_gid = in->gid;
	out->pw_gecos = bump_str(&b, in->gecos);
	out->pw_dir = bump_str(&b, in->dir);
	out->pw_shell = bump_str(&b, in->shell);
	return b.overflow ? ERANGE : 0;
}

int gotrue_pack_group(const struct gotrue_cache_view *v, const struct gotrue_cache_gr *in,
		      struct group *out, char *buf, size_t buflen)
{
	struct bump b = {buf, buflen, false};
	char **mem;
	uint32_t i;

	/* The pointer array first, aligned, so the strings after it need no padding. */
	mem = bump_alloc(&b, ((size_t)in->n_members + 1) * sizeof(char *), _Alignof(char *));
	out->gr_name = bump_str(&b, in->name);
	out->gr_passwd = bump_str(&b, "x");
	out->gr_gid = in->gid;
	for (i = 0; mem != NULL && i < in->n_members; i++)
		mem[i] = bump_str(&b, gotrue_cache_member(v, in, i));
	if (mem != NULL)
		mem[in->n_members] = NULL;
	out->gr_mem = mem;
	return b.overflow ? ERANGE : 0;
}
