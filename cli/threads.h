/*
 * threads.h - how many threads a command that splits a trace runs (-j).
 */
#ifndef HVLOG_CLI_THREADS_H
#define HVLOG_CLI_THREADS_H

#include <stdint.h>

#include "hvlog/reader.h"

enum { CLI_MAX_THREADS = 64 };

/* A -j argument: a number from 1 to CLI_MAX_THREADS into *n; 0 or -1. */
int cli_parse_threads(const char *arg, unsigned *n);

/* The default: the CPUs this process may run on (a container's or
 * taskset's share, not all the machine has), from 1 to 8. */
unsigned cli_default_threads(void);

/* Each thread's reader (a sibling of the one open) keeps its own state
 * for every stream of the trace it decodes: a few hundred bytes each,
 * and the predictors (a slot per parameter of the schema, 256 KEYED ones
 * and the RIP cache, 8 bytes each).  So `asked` threads, but no more
 * than keep that state within CLI_THREADS_STREAM_BUDGET in all, and at
 * least one.  With the built-in schema, a trace of up to about 1 900
 * streams gets 8 threads; one of 24 000 (about what 1 MiB of metadata
 * holds), one. */
#define CLI_THREADS_STREAM_BUDGET (64u << 20)
#define CLI_THREAD_STREAM_BYTES 512u
unsigned cli_threads_for(unsigned asked, const hvlog_meta *m);

#endif
