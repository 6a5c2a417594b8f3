/*
 * bench.h - what the parts of hvlog_bench share: the clock, allocation
 * counting, the output line, child processes, and a trace loaded into
 * memory for re-encoding.  bench/README.md explains the output.
 */
#ifndef HVLOG_BENCH_H
#define HVLOG_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hvlog/hvlog.h"

/* Streams of a trace the bench loads (hvcore: partitions x VPs + 1). */
#define BENCH_MAX_STREAMS 256
/* The writer's default chunk, which the floors' buffers match. */
#define BENCH_CHUNK (64u << 10)

/* ---- the run's settings (hvlog_bench.c parses them) ------------------ */

struct bench_opts {
	uint64_t events;     /* the mixed workload trace: hvcore -n */
	uint64_t max;        /* largest scaling size (1M, 10M, 100M up to it) */
	int reps;            /* best of this many, each interleaved with its floor */
	const char *tmpdir;  /* our own directory for traces and outputs */
	const char *self;    /* this program, run as a child for the floors */
	const char *hvlog;   /* the CLI */
	const char *hvcore;  /* the trace generator */
};

/* ---- helpers (bench_util.c) ------------------------------------------ */

double now(void);
/* CPU time of the calling thread: what a thread used, whether or not the
 * shared machine let it run when it wanted to. */
double thread_cpu(void);

/* Allocations the bench and libhvlog made so far (hvlog_bench.c wraps
 * malloc, calloc and realloc; glibc's own internal ones are not seen). */
size_t bench_allocs(void);

/* "1M", "10M", "2.5M", or the number itself. */
const char *count_name(uint64_t n, char *buf, size_t cap);

/* One figure: section, workload, the value with its unit, then the ratio
 * to the named floor and the floor's own value (same unit). */
void report(const char *section, const char *workload, double value, const char *unit, double ratio,
	    const char *floor_name, double floor_value);
/* A count that has no floor but a requirement (allocations: must be 0). */
void report_count(const char *section, const char *workload, uint64_t count, const char *unit,
		  uint64_t events, const char *note);
/* The design targets of the trace format, each beside this run's figure
 * (reported before) of the mixed trace `mixed` or the peers' mix `peers`. */
void report_targets(const char *mixed, const char *peers);
/* A figure that could not be measured, and why. */
void report_skip(const char *section, const char *workload, const char *why);

/* A child process: argv[0] (a path) is run with stdout to `out` (NULL:
 * /dev/null) and stderr to `err` (NULL: ours), through a small helper
 * process (child_spawn).  Wall time from spawn to reaping, and the child's
 * own peak RSS from wait4()'s rusage.  Returns its exit status. */
struct child {
	double secs;
	long maxrss_kib;
	int status; /* exit status, or 128 + signal, or -1 if not started */
};
int run_child(char *const argv[], const char *out, const char *err, struct child *c);

/* Copy a file's contents to `to` (a child's log); missing is fine. */
void print_file(const char *path, FILE *to);

/* Remove a file or a directory tree; missing is fine. */
void remove_tree(const char *path);

/* Bytes after ZSTD_compress at level 3; 0 if built without libzstd. */
size_t zstd3_size(const void *buf, size_t len);
int have_zstd(void);

/* Writer sinks: count the bytes and drop them, or keep them (for zstd). */
int sink_discard(void *user, const void *buf, size_t len);
struct capture {
	uint8_t *buf;
	size_t len, cap;
};
int sink_capture(void *user, const void *buf, size_t len);

/* ---- a trace loaded into memory (bench_util.c) ----------------------- */

/* One event of the trace, as the reader handed it out. */
struct wev {
	uint64_t ts;
	uint32_t voff;   /* its values: workload.vals[voff .. voff + np) */
	uint16_t stream;
	uint16_t idx;    /* its index in the built-in schema = replay table */
	uint16_t number; /* wire number, for the floor's record */
	uint8_t np;      /* parameters */
};

struct workload {
	struct wev *ev;
	size_t n;
	uint64_t *vals;
	size_t nvals;
	uint32_t nstreams;
	uint64_t clock_hz;
};

/* Load every event of the trace at `path` (lost and damage items are
 * left out); exits on failure. */
void workload_load(struct workload *wl, const char *path);
void workload_free(struct workload *wl);

/* Re-encode ev[0..n) through the typed emitters (the generated replay
 * table), event i into st[ev[i].stream], its timestamp plus ts_off. */
void replay(hvlog_stream *const *st, const uint64_t *vals, const struct wev *ev, size_t n, uint64_t ts_off);

/* The floor for replay(): the same loop and the same kind of dispatch (a
 * call through a table), each event copied as a fixed-width record (16-byte
 * header + 8 bytes per parameter) into its stream's chunk-sized buffer,
 * which is handed on (its bytes counted) when full, as the writer's are. */
struct floor_bufs {
	uint8_t *mem;                   /* BENCH_CHUNK bytes per stream */
	size_t off[BENCH_MAX_STREAMS];  /* fill of each stream's buffer */
	size_t total;                   /* bytes handed on */
	uint32_t n;                     /* streams */
};
void floor_init(struct floor_bufs *fb, uint32_t nstreams);
size_t floor_bytes(const struct floor_bufs *fb); /* handed on + still buffered */
void floor_free(struct floor_bufs *fb);
void floor_record(struct floor_bufs *fb, const uint64_t *vals, const struct wev *ev, size_t n, uint64_t ts_off);

/* ---- the sections ----------------------------------------------------- */

void bench_encode_trace(const struct bench_opts *o, const struct workload *wl, const char *name);
void bench_encode_peers(uint64_t n);
/* Returns the trace's events, which bench_decode_cli() rates by. */
uint64_t bench_decode_lib(const struct bench_opts *o, const char *path, const char *name);
void bench_decode_cli(const struct bench_opts *o, const char *path, const char *name, uint64_t events);
void bench_scale(const struct bench_opts *o, const struct workload *wl);

/* Decoding with readers on threads (bench_decode.c): each of `parts`
 * readers takes its share of the streams, or of the chunks
 * (hvlog_reader_set_partition, when the library has it). */
enum { SPLIT_STREAMS, SPLIT_CHUNKS };
int have_partition(void);
double decode_split(const char *path, int how, uint32_t parts, uint64_t *events, double *cpu);
/* The lines for 2 readers against 1 (rate, and CPU time), best of reps each. */
void report_split(const char *section, const char *label, const char *path, int how, int reps);

/* Children the bench runs of itself: `read FILE` (the floor), `iterate
 * FILE` (the library decode, printing events and allocations), `spawn`
 * (the helper of run_child). */
int child_read(const char *path);
int child_spawn(int argc, char **argv);
int child_iterate(const char *path);

#endif /* HVLOG_BENCH_H */
