/* log: one logging wrapper for the module and the tools.
 * Inside PAM (pamh != NULL) it goes to pam_syslog; outside, to stderr or syslog
 * as the program chose with gotrue_log_init(). Never pass a secret to it. */
#ifndef GOTRUE_LOG_H
#define GOTRUE_LOG_H

#include <stdbool.h>
#include <syslog.h>
#include <security/pam_ext.h>

enum gotrue_log_sink {
	GOTRUE_LOG_STDERR,
	GOTRUE_LOG_SYSLOG,
	/* Formatted, then dropped: for fuzz targets, whose inputs make a line on nearly every call
	 * (a syslog(3) round trip each would be most of their time). */
	GOTRUE_LOG_DISCARD,
};

/* Process-wide sink for pamh == NULL (gotruectl, tests). Default: stderr. */
void gotrue_log_init(const char *ident, enum gotrue_log_sink sink, bool debug);

/* LOG_DEBUG lines are printed only when @debug is set: callers pass cfg->debug. */
void gotrue_log(pam_handle_t *pamh, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void gotrue_debug(pam_handle_t *pamh, bool debug, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An authentication outcome (signed in, refused, locked, an attack): the line ends in
 * "; rhost=HOST user=NAME", as pam_unix's do, so that fail2ban and a SIEM can match it without
 * the application's own line. HOST is PAM_RHOST ("" when the application set none); characters
 * other than printable non-blank ASCII in HOST and NAME are logged as '?', so neither can forge
 * another field. @fmt says what happened, without a user= of its own. */
void gotrue_log_auth(pam_handle_t *pamh, int priority, const char *user, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
