/* load: what the load tests' driver and worker share. */
#ifndef GOTRUE_TEST_LOAD_H
#define GOTRUE_TEST_LOAD_H

/* alice's password in test_load_long; a fixture, not a secret. */
#define LOAD_PASSWORD "Load-Test-Pass-7"

#endif
