/* emu: start, drive and stop the GoTrue emulator from C tests. The binary is $GOTRUE_EMULATOR
 * (set by make check). Each instance gets its own state directory (service-role key, JWT secret or
 * public key, JWKS, mail outbox) and a free loopback port. */
#ifndef GOTRUE_TEST_EMU_H
#define GOTRUE_TEST_EMU_H

#include <stdbool.h>
#include <sys/types.h>

struct emu;

/* @args: extra emulator arguments, NULL-terminated (e.g. "--mode", "current", NULL). NULL on
 * failure (the test should bail out). */
struct emu *emu_start(const char *const *args);
void emu_stop(struct emu *e); /* kills and reaps the process, removes the state dir */

const char *emu_url(const struct emu *e); /* "http://127.0.0.1:PORT" or https:// */
const char *emu_state_dir(const struct emu *e);
pid_t emu_pid(const struct emu *e); /* the emulator's process, e.g. for its CPU time */
/* Path of a file in the state dir: "service_role.key", "jwt_secret", "jwt_public.pem",
 * "jwks.json", "outbox", "ca.pem". Static buffer per call site is not needed: returns malloc'd. */
char *emu_path(const struct emu *e, const char *name);

/* Control API (see tests/emulator/README.md). Return 0 or -1. */
int emu_fault(struct emu *e, const char *fault_json); /* POST /__emulator/fault */
int emu_clear_faults(struct emu *e);		      /* DELETE /__emulator/fault */
long emu_count(struct emu *e, const char *endpoint);  /* from GET /__emulator/counts; -1 on error */
int emu_reset_counts(struct emu *e);
/* Wait (at most @timeout_ms) until the emulator has answered every GoTrue request it accepted:
 * what a killed client had in flight is then processed. 0, or -1 on timeout or error. */
int emu_wait_idle(struct emu *e, int timeout_ms);
/* Create a user through the admin API: returns its id (malloc'd) or NULL. @extra_json may add
 * fields such as "app_metadata" or "email_confirm":false; "{}" for none. */
char *emu_create_user(struct emu *e, const char *email, const char *password,
		      const char *extra_json);
/* Create @count confirmed users @prefix<i>@@domain (i = 0..count-1, or from "start") at once
 * through POST /__emulator/users/bulk; @extra_json may add "app_metadata" (with "%d" in its
 * strings standing for i), "user_metadata", "password", "start". NULL @prefix/@domain mean "u"
 * and "example.com". Returns 0 or -1. */
int emu_bulk_users(struct emu *e, long count, const char *prefix, const char *domain,
		   const char *extra_json);
/* Write a gotrue.conf for this emulator into the state dir (url, jwt keys, service-role key
 * file, plus @extra lines) and return its path (malloc'd). */
char *emu_write_config(struct emu *e, const char *extra);

#endif
