#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "threads.h"

int cli_parse_threads(const char *arg, unsigned *n)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*arg < '0' || *arg > '9' || *end || v < 1 || v > CLI_MAX_THREADS)
		return -1;
	*n = (unsigned)v;
	return 0;
}

unsigned cli_default_threads(void)
{
	cpu_set_t set;
	long ncpu = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);

	return ncpu < 1 ? 1 : ncpu > 8 ? 8 : (unsigned)ncpu;
}

unsigned cli_threads_for(unsigned asked, const hvlog_meta *m)
{
	uint64_t slots = (uint64_t)m->schema->nslots + HVLOG_KEYED_SLOTS + HVLOG_RIP_SLOTS;
	uint64_t per = (uint64_t)m->nstreams * (CLI_THREAD_STREAM_BYTES + 8 * slots);
	uint64_t most = per ? CLI_THREADS_STREAM_BUDGET / per : asked;

	if (most < 1)
		most = 1;
	return asked < most ? asked : (unsigned)most;
}
