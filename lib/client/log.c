/* log: the one logging wrapper. Inside PAM every line goes through pam_vsyslog(3) so that it
 * carries the service name; outside (gotruectl, tests) pamh is NULL and the line goes to the
 * process-wide sink chosen by gotrue_log_init(), as pam_faillock's shared code does. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <security/pam_ext.h>

#include "log.h"

/* Process-wide and set once at start-up by the program, before any thread exists. */
static const char *log_ident = "gotrue";
static enum gotrue_log_sink log_sink = GOTRUE_LOG_STDERR;
static bool log_debug;

void gotrue_log_init(const char *ident, enum gotrue_log_sink sink, bool debug)
{
	if (ident != NULL)
		log_ident = ident;
	log_sink = sink;
	log_debug = debug;
	if (sink == GOTRUE_LOG_SYSLOG)
		openlog(log_ident, LOG_PID, LOG_AUTHPRIV);
}

static void log_v(pam_handle_t *pamh, int priority, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void log_v(pam_handle_t *pamh, int priority, const char *fmt, va_list ap)
{
	char dropped[1024];

	if (pamh != NULL) {
		pam_vsyslog(pamh, priority, fmt, ap);
	} else if (log_sink == GOTRUE_LOG_SYSLOG) {
		vsyslog(priority, fmt, ap);
	} else if (log_sink == GOTRUE_LOG_DISCARD) {
		/* Still formatted, so that every argument is read as it would be. */
		vsnprintf(dropped, sizeof(dropped), fmt, ap);
	} else {
		/* Locked so that a line from another thread cannot land in the middle of ours. */
		flockfile(stderr);
		fprintf(stderr, "%s: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
}

void gotrue_log(pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	/* LOG_DEBUG through gotrue_log() outside PAM obeys the switch given to gotrue_log_init();
	 * code that has a config uses gotrue_debug(cfg->debug) instead. */
	if (priority != LOG_DEBUG || pamh != NULL || log_debug) {
		va_start(ap, fmt);
		log_v(pamh, priority, fmt, ap);
		va_end(ap);
	}
}

void gotrue_debug(pam_handle_t *pamh, bool debug, const char *fmt, ...)
{
	va_list ap;

	if (debug) {
		va_start(ap, fmt);
		log_v(pamh, LOG_DEBUG, fmt, ap);
		va_end(ap);
	}
}

/* @in as one field: printable, non-blank ASCII only, cut to fit @out. */
static const char *log_field(const char *in, char *out, size_t size)
{
	size_t i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < size; i++)
		out[i] = in[i] > ' ' && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
	return out;
}

void gotrue_log_auth(pam_handle_t *pamh, int priority, const char *user, const char *fmt, ...)
{
	const void *rhost = NULL;
	char what[1024], host[256], name[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (pamh != NULL && pam_get_item(pamh, PAM_RHOST, &rhost) != PAM_SUCCESS)
		rhost = NULL;
	gotrue_log(pamh, priority, "%s; rhost=%s user=%s", what,
		   log_field(rhost, host, sizeof(host)), log_field(user, name, sizeof(name)));
}
