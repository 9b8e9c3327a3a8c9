/* prompt: the only way gotruectl reads a password, token or one-time code: from the terminal
 * without echo (termios on /dev/tty, so a redirected stdin cannot fake the prompt), or from one
 * line of stdin when the user asked for it (--password-stdin/--token-stdin). Never from argv or
 * the environment, where other local users can read them (ps(1), /proc/PID/environ). Buffers are
 * wiped after use. Hand-written because libc's getpass(3) is obsolete and has a fixed buffer. */
#include <config.h> /* autoconf */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "secure.h"

#include "gotruectl.h"

/* A session document from `gotruectl --json signin` carries a user too: allow room for it. */
#define CTL_SECRET_LINE_MAX (GOTRUE_TOKEN_MAX + 256 * 1024)

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* Read up to '\n' or EOF one byte at a time, so that nothing past the line is consumed: a second
 * secret may follow on the next line (user update: the token, then the new password).
 * Returns the length, or -1 (too long, read error, interrupted). */
static ssize_t read_line(int fd, char *buf, size_t max, bool *eof)
{
	size_t n = 0;
	ssize_t r;
	char ch;

	*eof = false;
	for (;;) {
		r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR && !interrupted)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			*eof = true;
			break;
		}
		if (ch == '\n')
			break;
		if (n >= max)
			return -1;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The terminal with echo off; restored on every path, including SIGINT/SIGTERM (no SA_RESTART,
 * so read() returns EINTR and we restore before exiting). */
static ssize_t read_tty(const char *prompt, char *buf, size_t max)
{
	struct sigaction sa, old_int, old_term, old_quit;
	struct termios saved, noecho;
	ssize_t n = -1;
	bool eof, restore = false;
	int fd;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		goto cleanup;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	interrupted = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGQUIT, &sa, &old_quit);
	if (tcgetattr(fd, &saved) == 0) {
		noecho = saved;
		noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		noecho.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &noecho) == 0)
			restore = true;
	}
	if (write(fd, prompt, strlen(prompt)) < 0 || write(fd, ": ", 2) < 0)
		goto restore;
	n = read_line(fd, buf, max, &eof);
	if (write(fd, "\n", 1) < 0)
		n = -1;
restore:
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &saved);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	close(fd);
	if (interrupted) {
		explicit_bzero(buf, max + 1);
		/* Re-raise with the default action, now that the terminal is sane again. */
		raise(interrupted);
		n = -1;
	}
cleanup:
	return n;
}

/* When @buf is a JSON object, replace it with its string member @field. 0 or -1. */
static int take_json_field(char *buf, size_t max, const char *field)
{
	json_tokener *tok = NULL;
	json_object *doc = NULL, *val;
	const char *s;
	int rc = -1;

	tok = json_tokener_new();
	if (!tok)
		goto cleanup;
	doc = json_tokener_parse_ex(tok, buf, (int)strlen(buf));
	if (!doc || !json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, field, &val) ||
	    !json_object_is_type(val, json_type_string))
		goto cleanup;
	s = json_object_get_string(val);
	if (strlen(s) > max)
		goto cleanup;
	/* The JSON text and the token overlap in @buf: copy through memmove, then wipe the rest. */
	memmove(buf, s, strlen(s) + 1);
	explicit_bzero(buf + strlen(buf), max + 1 - strlen(buf));
	rc = 0;
cleanup:
	/* json-c frees its copies without wiping them; nothing in its API lets us do better. */
	json_object_put(doc);
	if (tok)
		json_tokener_free(tok);
	return rc;
}

char *ctl_read_secret(const struct ctl *ctl, bool from_stdin, const char *prompt,
		      const char *json_field, int *rc)
{
	char *buf, *start, *ret = NULL;
	ssize_t n;
	bool eof;

	*rc = CTL_EXIT_INTERNAL;
	buf = malloc(CTL_SECRET_LINE_MAX + 1);
	if (!buf)
		goto cleanup;
	if (from_stdin) {
		n = read_line(STDIN_FILENO, buf, CTL_SECRET_LINE_MAX, &eof);
		if (n < 0) {
			ctl_errorf(ctl, "cannot read %s from stdin (too long or read error)",
				   prompt);
			*rc = CTL_EXIT_USAGE;
			goto cleanup;
		}
	} else {
		n = read_tty(prompt, buf, CTL_SECRET_LINE_MAX);
		if (n < 0) {
			ctl_errorf(ctl, "no terminal to prompt for %s; use the -stdin option",
				   prompt);
			*rc = CTL_EXIT_USAGE;
			goto cleanup;
		}
	}
	/* read_line() already dropped the one newline; a CR from a Windows-edited file too. */
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	start = buf;
	if (json_field) {
		start += strspn(start, " \t");
		if (*start == '{') {
			memmove(buf, start, strlen(start) + 1);
			start = buf;
			if (take_json_field(buf, CTL_SECRET_LINE_MAX, json_field) != 0) {
				ctl_errorf(ctl, "the JSON on stdin has no string \"%s\"",
					   json_field);
				*rc = CTL_EXIT_USAGE;
				goto cleanup;
			}
		}
	}
	if (*start == '\0') {
		ctl_errorf(ctl, "empty %s", prompt);
		*rc = CTL_EXIT_USAGE;
		goto cleanup;
	}
	ret = gotrue_secret_strdup(start);
	*rc = ret ? CTL_EXIT_OK : CTL_EXIT_INTERNAL;
cleanup:
	gotrue_wipe_free(buf, CTL_SECRET_LINE_MAX + 1);
	return ret;
}
