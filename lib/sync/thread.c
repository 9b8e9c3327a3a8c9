/* thread: starting a helper thread that takes no signals (see thread.h). */
#include <config.h>

#include <signal.h>

#include "thread.h"

int gotrue_thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	/* A new thread inherits the creator's mask: block all around the create, then restore. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(th, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
