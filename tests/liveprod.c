/*
 * liveprod - a producer and a consumer for the live-reading tests.
 *
 *   liveprod write OUT STEPS N [GATE]
 *       write a trace (OUT, "-": standard output) of 3 streams in STEPS
 *       steps: each step records N events on every stream, interleaved in
 *       time, and flushes every stream.  With GATE (a FIFO), the producer
 *       reads one byte from it before each step but the first, so a test
 *       decides when it goes on: no sleeps.  The flush interval in the
 *       metadata is 1 s (a stream is waited for up to 2.1 s: a loaded machine
 *       never makes one look quiet).  Same arguments, same bytes.
 *   liveprod poll [FILE]
 *       read a trace (standard input by default) with the non-blocking
 *       hvlog_reader_try_next(), waiting with poll(2) as it says, and
 *       print one line per item: kind, stream, time.  Nonzero exit if a
 *       wait it was told about never came.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvlog/hvlog.h"

static int usage(void)
{
	fprintf(stderr, "usage: liveprod write OUT STEPS N [GATE] | liveprod poll [FILE]\n");
	return 2;
}

static int gen(const char *out, unsigned steps, unsigned n, const char *gate)
{
	static const hvlog_stream_info info[] = { { "vp0", 1, 0 }, { "vp1", 1, 1 }, { "vp2", 2, 0 } };
	hvlog_writer_config cfg = { .nstreams = 3, .streams = info, .producer = "liveprod",
				    .flush_interval_ns = 1000000000u };
	const hvlog_schema *s = hvlog_schema_builtin();
	const hvlog_event *ev = &s->events[0];
	hvlog_writer *w;
	hvlog_error err;
	uint64_t ts = 1000, p[HVLOG_MAX_PARAMS] = { 0 };
	int g = -1;

	if ((strcmp(out, "-") ? hvlog_writer_open_path(&w, out, &cfg, &err)
			      : hvlog_writer_open_fd(&w, STDOUT_FILENO, &cfg, &err)) != HVLOG_OK) {
		fprintf(stderr, "liveprod: %s: %s\n", out, err.msg);
		return 1;
	}
	if (gate && (g = open(gate, O_RDONLY)) < 0) {
		perror(gate);
		return 1;
	}
	for (unsigned k = 0; k < steps; k++) {
		char c;
		if (k && g >= 0 && read(g, &c, 1) != 1)
			break;
		for (unsigned i = 0; i < n; i++)
			for (uint32_t st = 0; st < 3; st++) {
				for (uint32_t q = 0; q < ev->nparams; q++)
					p[q] = (k * 1000 + i * 3 + st + q) & hvlog_type_max(ev->params[q].type);
				hvlog_emit(hvlog_writer_stream(w, st), ts += 7 + st, ev, p);
			}
		for (uint32_t st = 0; st < 3; st++)
			hvlog_stream_flush(hvlog_writer_stream(w, st));
	}
	if (hvlog_writer_close(w, &err) != HVLOG_OK) {
		fprintf(stderr, "liveprod: %s: %s\n", out, err.msg);
		return 1;
	}
	return 0;
}

static int poll_read(const char *path)
{
	hvlog_reader_options o = { .live = 1 };
	hvlog_reader *r;
	hvlog_error err;
	hvlog_status st;
	const hvlog_item *it;
	hvlog_reader_wait wt;

	if (hvlog_reader_open_path_with(&r, path, &o, &err) != HVLOG_OK) {
		fprintf(stderr, "liveprod: %s: %s\n", path, err.msg);
		return 1;
	}
	while ((st = hvlog_reader_try_next(r, &it, &wt, &err)) == HVLOG_OK || st == HVLOG_AGAIN) {
		if (st == HVLOG_AGAIN) {
			struct pollfd pfd = { wt.fd, POLLIN, 0 };
			if (wt.fd < 0 && wt.timeout_ms < 0) {
				fprintf(stderr, "liveprod: told to wait for nothing\n");
				return 1;
			}
			poll(&pfd, wt.fd >= 0, wt.timeout_ms);
			continue;
		}
		printf("%d %u %llu\n", (int)it->kind, it->stream, (unsigned long long)it->ts);
	}
	hvlog_reader_close(r);
	if (st != HVLOG_END) {
		fprintf(stderr, "liveprod: %s: %s\n", path, err.msg);
		return 1;
	}
	return fflush(stdout) != 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "write"))
		return gen(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]), argc > 5 ? argv[5] : NULL);
	if (argc >= 2 && !strcmp(argv[1], "poll"))
		return poll_read(argc > 2 ? argv[2] : "-");
	return usage();
}
