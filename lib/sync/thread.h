/* thread: the refresh pass's helper threads. They are started only by gotruectl's refresh pass,
 * never inside a PAM caller's process. */
#ifndef GOTRUE_THREAD_H
#define GOTRUE_THREAD_H

#include <pthread.h>

/* pthread_create(@th, @fn, @arg) with every signal blocked in the new thread, so SIGINT,
 * SIGTERM and friends stay with the caller's thread and its handlers. 0 or an error number. */
int gotrue_thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

#endif
