/* pamtest: service files in a temporary directory and a scripted conversation, so that the tests
 * run the installed-style module through the real libpam without touching /etc/pam.d; and a
 * syslog capture, so that they can read what the module logs. */
#include <config.h>

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#include "pamtest.h"

static char confdir[256];
static char module[1024];

const char *pt_confdir(void)
{
	if (confdir[0] == '\0') {
		snprintf(confdir, sizeof(confdir), "/tmp/pamtest.XXXXXX");
		if (mkdtemp(confdir) == NULL) {
			perror("mkdtemp");
			exit(99);
		}
	}
	return confdir;
}

const char *pt_module(void)
{
	const char *b = getenv("top_builddir");

	if (module[0] == '\0')
		snprintf(module, sizeof(module), "%s/pam/.libs/pam_gotrue.so", b ? b : ".");
	return module;
}

int pt_service(const char *name, const char *args)
{
	return pt_service_then(name, args, NULL);
}

int pt_service_conf(const char *name, const char *conf, const char *extra)
{
	char args[1024];
	int rc;

	snprintf(args, sizeof(args), "conf=%s %s", conf, extra);
	rc = pt_service(name, args);
	if (rc != 0)
		printf("# cannot write service %s\n", name);
	return rc;
}

int pt_service_then(const char *name, const char *args, const char *then)
{
	static const char *const types[] = {"auth", "account", "session", "password"};
	char path[512];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", pt_confdir(), name);
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		fprintf(f, "%s required %s %s\n", types[i], pt_module(), args);
		if (then != NULL)
			fprintf(f, "%s required %s\n", types[i], then);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pt_conv *c = data;
	struct pam_response *r;
	const char *ans;
	int i;

	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			strncat(c->prompts, msg[i]->msg,
				sizeof(c->prompts) - strlen(c->prompts) - 2);
			strcat(c->prompts, "\n");
			c->n_prompts++;
			ans = c->ask != NULL ? c->ask(c, msg[i]->msg_style, msg[i]->msg) : NULL;
			if (ans != NULL) {
				r[i].resp = strdup(ans);
				break;
			}
			if (c->next >= PT_MAX_ANSWERS || c->answers[c->next] == NULL) {
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(c->answers[c->next++]);
			break;
		default:
			strncat(c->told, msg[i]->msg, sizeof(c->told) - strlen(c->told) - 2);
			strcat(c->told, "\n");
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

pam_handle_t *pt_start(const char *service, const char *user, struct pt_conv *c)
{
	static struct pam_conv pc;
	pam_handle_t *pamh = NULL;

	pc.conv = conv;
	pc.appdata_ptr = c;
#ifdef HAVE_PAM_START_CONFDIR
	if (pam_start_confdir(service, user, &pc, pt_confdir(), &pamh) != PAM_SUCCESS)
		return NULL;
#else
	return NULL; /* the tests skip: libpam < 1.4 cannot read service files from a test dir */
#endif
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	return pamh;
}

int pt_auth(const char *service, const char *user, const char *password, struct pt_conv *c)
{
	return pt_auth_from(service, user, password, NULL, c);
}

int pt_auth_from(const char *service, const char *user, const char *password, const char *rhost,
		 struct pt_conv *c)
{
	struct pt_conv local;
	pam_handle_t *pamh;
	int rc;

	if (c == NULL)
		c = &local;
	memset(c, 0, sizeof(*c));
	c->answers[0] = password;
	pamh = pt_start(service, user, c);
	if (pamh == NULL)
		return -1;
	if (rhost != NULL)
		pam_set_item(pamh, PAM_RHOST, rhost);
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

int pt_login(pam_handle_t *pamh)
{
	int rc = pamh != NULL ? pam_authenticate(pamh, 0) : -1;

	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (rc == PAM_SUCCESS)
		rc = pam_open_session(pamh, 0);
	return rc;
}

void pt_cleanup(void)
{
	char cmd[300];

	if (confdir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", confdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", confdir);
	}
}

static int is_id(const char *s)
{
	size_t i;

	for (i = 0; i < 32; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[32] == '\0';
}

static int scan(const char *state_dir, char *first)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/sessions", state_dir);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (is_id(de->d_name)) {
			if (n == 0 && first != NULL)
				memcpy(first, de->d_name, 33);
			n++;
		}
	}
	closedir(d);
	return n;
}

int pt_store_count(const char *state_dir)
{
	return scan(state_dir, NULL);
}

const char *pt_store_first(const char *state_dir)
{
	static char id[33];

	return scan(state_dir, id) > 0 ? id : NULL;
}

double pt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int pt_slowdown(void)
{
	const char *v = getenv("GOTRUE_UNDER_VALGRIND");

	return v != NULL && strcmp(v, "yes") == 0 ? 10 : 1;
}

/* ---- syslog capture -------------------------------------------------------------------------
 * Defining syslog(3) in the program is how the capture sees exactly what the module would send to
 * /dev/log, nothing less: libpam's pam_syslog() ends in vsyslog() or __vsyslog_chk(), which the
 * dynamic linker resolves to the program's definitions first (the programs that read the log
 * link with -export-dynamic to make sure of that). */
static char logbuf[1 << 19];
static size_t loglen;
static int alerts;
static bool capturing;

void syslog(int pri, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vsyslog(int pri, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void __syslog_chk(int pri, int flag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void capture(int pri, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void capture(int pri, const char *fmt, va_list ap)
{
	typedef void (*vsyslog_fn)(int, const char *, va_list);
	static vsyslog_fn next;
	int n;

	if (!capturing) {
		/* Not asked to capture (the load and bench programs): the system's syslog, as
		 * without this file. */
		if (next == NULL)
			next = (vsyslog_fn)dlsym(RTLD_NEXT, "vsyslog");
		if (next != NULL)
			next(pri, fmt, ap);
		return;
	}
	if ((pri & 7) <= 1) /* LOG_ALERT or LOG_EMERG */
		alerts++;
	if (loglen + 2 >= sizeof(logbuf))
		return;
	n = vsnprintf(logbuf + loglen, sizeof(logbuf) - loglen - 1, fmt, ap);
	if (n > 0)
		loglen += (size_t)n < sizeof(logbuf) - loglen - 2 ? (size_t)n
								  : sizeof(logbuf) - loglen - 2;
	logbuf[loglen++] = '\n';
	logbuf[loglen] = '\0';
}

void syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	capture(pri, fmt, ap);
	va_end(ap);
}

void vsyslog(int pri, const char *fmt, va_list ap)
{
	capture(pri, fmt, ap);
}

void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	capture(pri, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	capture(pri, fmt, ap);
}

void pt_log_capture(void)
{
	capturing = true;
}

const char *pt_log(void)
{
	return logbuf;
}

size_t pt_log_len(void)
{
	return loglen;
}

int pt_log_alerts(void)
{
	return alerts;
}

void pt_log_clear(void)
{
	loglen = 0;
	logbuf[0] = '\0';
}
