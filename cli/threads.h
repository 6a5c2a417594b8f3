/*
 * threads.h - how many threads a command that splits a trace runs (-j).
 */
#ifndef HVLOG_CLI_THREADS_H
#define HVLOG_CLI_THREADS_H

enum { CLI_MAX_THREADS = 64 };

/* A -j argument: a number from 1 to CLI_MAX_THREADS into *n; 0 or -1. */
int cli_parse_threads(const char *arg, unsigned *n);

/* The default: the CPUs this process may run on (a container's or
 * taskset's share, not all the machine has), from 1 to 8. */
unsigned cli_default_threads(void);

#endif
