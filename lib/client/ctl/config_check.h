/* config_check: `gotruectl config check`, on a config that loaded (config_check.c). */
#ifndef GOTRUE_CONFIG_CHECK_H
#define GOTRUE_CONFIG_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <security/pam_ext.h>

#include "gotrue_config.h"
#include "jwks.h"

/* Every problem in the config, one line each through @report; returns the count of problems:
 * missing url, plain http a user could intercept, bad ranges, unreadable key files... @warning is
 * true for a line that is worth reading but not an error (a deliberate choice such as
 * allow_all_users); warnings are not counted. */
int gotrue_config_check(pam_handle_t *pamh, const struct gotrue_config *cfg,
			void (*report)(void *ctx, bool warning, const char *problem), void *ctx);

/* Do @n @keys fit the allow-list @algs (jwt_algs; NULL = whatever the keys are)? Each key's alg
 * must be allowed, else the tokens it signs are refused; with @need_each, each RS/ES/PS alg of
 * @algs must have a key of the set. 0, or -1 with the reason in @why. */
int gotrue_jwks_fit_algs(const struct gotrue_jwk *keys, int n, char *const *algs, bool need_each,
			 char *why, size_t why_len);

#endif
