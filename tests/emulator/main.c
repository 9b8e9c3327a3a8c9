/* main.c: gotrue-emulator's command line, state directory and libmicrohttpd daemon.
 * A GoTrue (Supabase Auth) test server for the project's tests: see README.md beside this file.
 * One thread per connection, so an injected stall or delay never blocks other clients; SIGTERM
 * and SIGINT are taken with sigwait() and stop the daemon promptly. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emulator.h"

struct emu_config emu_cfg = {
	.mode = EMU_MODE_V269,
	.alg = "HS256",
	.jwt_exp = 3600,
	.bcrypt_cost = 10, /* GoTrue's (golang.org/x/crypto/bcrypt DefaultCost) */
};
atomic_int emu_stopping;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gotrue-emulator --state-dir DIR [--mode v2.69|current] [--port N]\n"
		"                       [--alg HS256|RS256|ES256] [--jwt-exp SECONDS]\n"
		"                       [--tls] [--tls-name NAME] [--bcrypt-cost 4..12]\n"
		"                       [--jwt-issuer ISSUER]  (current mode only)\n"
		"environment: GOTRUE_EMULATOR_BCRYPT_COST sets the default bcrypt cost (10)\n");
}

static int parse_cost(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 4 && v <= 12 ? (int)v : -1;
}

/* A test-suite knob: make check runs at cost 4 so hundreds of sign-ins stay quick, while the PAM
 * benchmark keeps GoTrue's 10. --bcrypt-cost wins over it. */
static int cost_from_env(void)
{
	const char *env = getenv("GOTRUE_EMULATOR_BCRYPT_COST");
	int rc = 0;

	if (env && *env) {
		emu_cfg.bcrypt_cost = parse_cost(env);
		if (emu_cfg.bcrypt_cost < 0) {
			fprintf(stderr,
				"gotrue-emulator: GOTRUE_EMULATOR_BCRYPT_COST must be 4..12\n");
			rc = -1;
		}
	}
	return rc;
}

/* What the options say together, once all are read. */
static int args_valid(int argc)
{
	int rc = -1;

	if (!emu_cfg.state_dir || optind != argc)
		goto cleanup;
	/* v2.69 signs no iss whatever its configuration (its token.go sets none) */
	if (emu_cfg.jwt_issuer && !emu_current()) {
		fprintf(stderr, "gotrue-emulator: --jwt-issuer needs --mode current\n");
		goto cleanup;
	}
	rc = 0;
cleanup:
	return rc;
}

static int parse_args(int argc, char **argv, long *port)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"mode", required_argument, NULL, 'm'},
		{"port", required_argument, NULL, 'p'},
		{"alg", required_argument, NULL, 'a'},
		{"jwt-exp", required_argument, NULL, 'e'},
		{"tls", no_argument, NULL, 't'},
		{"tls-name", required_argument, NULL, 'n'},
		{"bcrypt-cost", required_argument, NULL, 'b'},
		{"jwt-issuer", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;

	if (cost_from_env() != 0)
		return -1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			emu_cfg.state_dir = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "v2.69") == 0)
				emu_cfg.mode = EMU_MODE_V269;
			else if (strcmp(optarg, "current") == 0)
				emu_cfg.mode = EMU_MODE_CURRENT;
			else
				return -1;
			break;
		case 'p':
			*port = strtol(optarg, &end, 10);
			if (*end || *port < 0 || *port > 65535)
				return -1;
			break;
		case 'a':
			if (strcmp(optarg, "HS256") && strcmp(optarg, "RS256") &&
			    strcmp(optarg, "ES256"))
				return -1;
			emu_cfg.alg = optarg;
			break;
		case 'e':
			emu_cfg.jwt_exp = strtol(optarg, &end, 10);
			if (*end || emu_cfg.jwt_exp <= 0)
				return -1;
			break;
		case 't':
			emu_cfg.tls = true;
			break;
		case 'n':
			emu_cfg.tls_name = optarg;
			break;
		case 'b':
			emu_cfg.bcrypt_cost = parse_cost(optarg);
			if (emu_cfg.bcrypt_cost < 0)
				return -1;
			break;
		case 'i':
			if (!*optarg)
				return -1;
			emu_cfg.jwt_issuer = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	return args_valid(argc);
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in sa = {0};
	const union MHD_DaemonInfo *info;
	char *key_pem = NULL, *cert_pem = NULL;
	sigset_t set;
	long port = 0;
	int sig, rc = 2;
	unsigned int flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;

	/* Every connection is a thread whose malloc arena glibc would trim back to the kernel after
	 * each answer, so a 1000-user page of GET /admin/users faulted its memory in afresh each
	 * time. A test server may keep what it once needed. */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	if (parse_args(argc, argv, &port) != 0) {
		usage(stderr);
		goto cleanup;
	}
	if (mkdir(emu_cfg.state_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "gotrue-emulator: %s: %s\n", emu_cfg.state_dir, strerror(errno));
		goto cleanup;
	}
	/* Threads inherit this mask, so only sigwait() below sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (emu_keys_init() != 0)
		goto cleanup;
	if (emu_cfg.tls) {
		if (emu_tls_make(&key_pem, &cert_pem) != 0) {
			fprintf(stderr, "gotrue-emulator: cannot make the TLS certificate\n");
			goto cleanup;
		}
		flags |= MHD_USE_TLS;
	}
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (emu_cfg.tls)
		d = MHD_start_daemon(flags, 0, NULL, NULL, emu_access, NULL, MHD_OPTION_SOCK_ADDR,
				     (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
				     emu_request_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned int)60, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
				     MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, emu_access, NULL, MHD_OPTION_SOCK_ADDR,
				     (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
				     emu_request_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned int)60, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "gotrue-emulator: cannot start the HTTP server\n");
		goto cleanup;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	/* The port is known only now that the daemon runs. No request can come before the line
	 * below tells a client where to send it; the store lock, which every handler holds, makes
	 * that ordering visible to ThreadSanitizer too. */
	emu_store_lock();
	snprintf(emu_cfg.url, sizeof(emu_cfg.url), "%s://127.0.0.1:%u",
		 emu_cfg.tls ? "https" : "http", info ? (unsigned)info->port : (unsigned)port);
	emu_store_unlock();
	printf("URL %s\n", emu_cfg.url);
	fflush(stdout);

	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		;
	emu_stopping = 1;
	rc = 0;
cleanup:
	if (d)
		MHD_stop_daemon(d);
	free(key_pem);
	free(cert_pem);
	return rc;
}
