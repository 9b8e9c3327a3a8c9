/* qr: the otpauth:// URI of `mfa enroll` drawn as a QR code on the terminal, so that a phone can
 * scan it from an SSH session. libqrencode encodes (ISO/IEC 18004); this file only draws the
 * modules, the way `qrencode -t UTF8` and `-t ANSIUTF8` do: light modules are the ink, dark ones
 * the terminal's background, since most terminals are light text on dark. On a terminal the
 * code is framed in ANSI colours (white on black) so that a light theme shows it the right way
 * round too. Built without libqrencode, ctl_qr_print says it cannot draw. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef HAVE_QRENCODE
#include <qrencode.h>
#endif

#include "gotruectl.h"

#ifdef HAVE_QRENCODE

/* The quiet zone ISO/IEC 18004 asks for around the symbol, in modules. */
#define QR_MARGIN 4

#define SGR_FRAME "\033[40;37;1m" /* black background, bright white ink */
#define SGR_RESET "\033[0m"

/* UTF-8 half blocks: one text cell is two modules, the upper over the lower. */
#define BLOCK_FULL  "\xe2\x96\x88" /* U+2588: both light */
#define BLOCK_UPPER "\xe2\x96\x80" /* U+2580: upper light */
#define BLOCK_LOWER "\xe2\x96\x84" /* U+2584: lower light */

/* Is the module at (@x, @y) of the framed symbol light? The quiet zone is; what lies past the
 * frame (the lower half of the last text row) is not drawn at all. */
static bool light(const QRcode *q, int x, int y)
{
	int w = q->width, mx = x - QR_MARGIN, my = y - QR_MARGIN;

	if (y >= w + 2 * QR_MARGIN)
		return false;
	if (mx < 0 || my < 0 || mx >= w || my >= w)
		return true;
	return (q->data[my * w + mx] & 1) == 0; /* bit 0: dark module */
}

static void draw_utf8(FILE *f, const QRcode *q, bool ansi)
{
	int size = q->width + 2 * QR_MARGIN, x, y;

	for (y = 0; y < size; y += 2) {
		if (ansi)
			fputs(SGR_FRAME, f);
		for (x = 0; x < size; x++) {
			bool up = light(q, x, y), down = light(q, x, y + 1);

			fputs(up && down ? BLOCK_FULL
			      : up	 ? BLOCK_UPPER
			      : down	 ? BLOCK_LOWER
					 : " ",
			      f);
		}
		fputs(ansi ? SGR_RESET "\n" : "\n", f);
	}
}

/* Two characters a module, for terminals without UTF-8: cells are about twice as tall as wide. */
static void draw_ascii(FILE *f, const QRcode *q, bool ansi)
{
	int size = q->width + 2 * QR_MARGIN, x, y;

	for (y = 0; y < size; y++) {
		if (ansi)
			fputs(SGR_FRAME, f);
		for (x = 0; x < size; x++)
			fputs(light(q, x, y) ? "##" : "  ", f);
		fputs(ansi ? SGR_RESET "\n" : "\n", f);
	}
}

int ctl_qr_print(FILE *f, const char *text, enum ctl_qr_style style, bool ansi)
{
	QRcode *q = NULL;
	int rc = -1;

	if (style == CTL_QR_NONE) {
		rc = 0;
		goto cleanup;
	}
	/* Level L, the smallest symbol: a screen does not smudge. Byte mode keeps the URI's case.
	 */
	q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (!q)
		goto cleanup;
	if (style == CTL_QR_ASCII)
		draw_ascii(f, q, ansi);
	else
		draw_utf8(f, q, ansi);
	rc = 0;
cleanup:
	/* The modules spell the TOTP secret out. */
	if (q)
		explicit_bzero(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
	return rc;
}

#else /* !HAVE_QRENCODE */

int ctl_qr_print(FILE *f, const char *text, enum ctl_qr_style style, bool ansi)
{
	int rc = 0;

	(void)f, (void)text, (void)ansi;
	if (style != CTL_QR_NONE) {
		errno = ENOTSUP;
		rc = -1;
	}
	return rc;
}

#endif
