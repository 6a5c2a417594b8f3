/*
 * live_latency - how long an event takes from its emit call to its line
 * out of `hvlog decode -` reading a pipe (docs/EMBEDDING.md §14).
 *
 *   live_latency HVLOG [SECONDS [EVENTS_PER_S [FLUSH_MS [STREAMS]]]]
 *
 * A producer process emits EVENTS_PER_S events a second (default 20000)
 * for SECONDS (default 3), round robin over STREAMS streams (default 2),
 * with CLOCK_MONOTONIC nanoseconds as timestamps, and flushes each stream
 * every FLUSH_MS of its time (default 100, hvcore's default), as hvcore
 * does; the trace goes through a pipe into `HVLOG decode --format json -`,
 * whose lines this process reads as they come and takes the time of.
 * Latency = arrival of the line - the event's timestamp.  Prints the
 * count, median, p99 and max, in milliseconds.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvlog/hvlog.h"

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int produce(int fd, double secs, double rate, uint64_t flush_ns, uint32_t nstreams)
{
	hvlog_stream_info info[64];
	char names[64][16];
	const hvlog_event *ev = &hvlog_schema_builtin()->events[0];
	uint64_t p[HVLOG_MAX_PARAMS] = { 0 }, last_flush[64] = { 0 };
	hvlog_writer *w;
	hvlog_error err;

	for (uint32_t i = 0; i < nstreams; i++) {
		snprintf(names[i], sizeof names[i], "vp%u", i);
		info[i] = (hvlog_stream_info){ names[i], 1, i };
	}
	hvlog_writer_config cfg = { .nstreams = nstreams, .streams = info, .producer = "live_latency",
				    .clock_name = "monotonic", .flush_interval_ns = flush_ns };
	if (hvlog_writer_open_fd(&w, fd, &cfg, &err) != HVLOG_OK) {
		fprintf(stderr, "live_latency: %s\n", err.msg);
		return 1;
	}
	uint64_t start = now_ns(), end = start + (uint64_t)(secs * 1e9), step = (uint64_t)(1e9 / rate);
	for (uint32_t i = 0; i < nstreams; i++)
		last_flush[i] = start;
	for (uint64_t k = 0, next = start;; k++, next += step) {
		uint64_t t;
		while ((t = now_ns()) < next) {
			struct timespec d = { 0, (long)(next - t) };
			nanosleep(&d, NULL);
		}
		if (t >= end)
			break;
		uint32_t s = (uint32_t)(k % nstreams);
		p[0] = k;
		hvlog_emit(hvlog_writer_stream(w, s), t, ev, p);
		/* each stream flushed at its flush interval, in its own time */
		if (t - last_flush[s] >= flush_ns) {
			hvlog_stream_flush(hvlog_writer_stream(w, s));
			last_flush[s] = t;
		}
	}
	return hvlog_writer_close(w, &err) != HVLOG_OK;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double secs = argc > 2 ? atof(argv[2]) : 3, rate = argc > 3 ? atof(argv[3]) : 20000;
	uint64_t flush_ns = (uint64_t)(argc > 4 ? atof(argv[4]) : 100) * 1000000u;
	uint32_t nstreams = argc > 5 ? (uint32_t)atoi(argv[5]) : 2;
	int toread[2], fromdec[2];
	pid_t dec, prod;

	if (argc < 2 || secs <= 0 || rate <= 0 || nstreams < 1 || nstreams > 64) {
		fprintf(stderr, "usage: live_latency HVLOG [SECONDS [EVENTS_PER_S [FLUSH_MS [STREAMS]]]]\n");
		return 2;
	}
	if (pipe(toread) || pipe(fromdec))
		return 1;
	if ((dec = fork()) == 0) {
		dup2(toread[0], 0);
		dup2(fromdec[1], 1);
		close(toread[0]), close(toread[1]), close(fromdec[0]), close(fromdec[1]);
		execl(argv[1], argv[1], "decode", "--format", "json", "-", (char *)NULL);
		_exit(127);
	}
	close(toread[0]);
	close(fromdec[1]);
	if ((prod = fork()) == 0) {
		close(fromdec[0]);
		_exit(produce(toread[1], secs, rate, flush_ns, nstreams));
	}
	close(toread[1]);

	size_t n = 0, cap = (size_t)(secs * rate) + 16;
	uint64_t *lat = malloc(cap * sizeof *lat);
	FILE *in = fdopen(fromdec[0], "r");
	char line[4096];
	while (lat && in && fgets(line, sizeof line, in)) {
		uint64_t t = now_ns();
		const char *ts = strstr(line, "\"ts\":");
		if (!ts || strncmp(line, "{\"type\":\"event\"", 15) || n == cap)
			continue;
		uint64_t e = strtoull(ts + 5, NULL, 10);
		lat[n++] = t > e ? t - e : 0;
	}
	int st1, st2;
	waitpid(prod, &st1, 0);
	waitpid(dec, &st2, 0);
	if (!n || !WIFEXITED(st1) || WEXITSTATUS(st1) || !WIFEXITED(st2) || WEXITSTATUS(st2)) {
		fprintf(stderr, "live_latency: no events measured (producer %d, decode %d)\n", st1, st2);
		return 1;
	}
	qsort(lat, n, sizeof *lat, cmp_u64);
	printf("live latency, emit -> decode line, %u streams, %.0f events/s, flush %llu ms: %zu events, "
	       "median %.1f ms, p99 %.1f ms, max %.1f ms\n",
	       nstreams, rate, (unsigned long long)(flush_ns / 1000000u), n, lat[n / 2] / 1e6,
	       lat[(size_t)((double)n * 0.99)] / 1e6, lat[n - 1] / 1e6);
	free(lat);
	return 0;
}
