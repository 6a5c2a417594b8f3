/*
 * hvlog_bench - encode, size, decode, memory and scaling figures, each with
 * its floor measured in the same run (the machines this runs on are shared
 * and noisy: ratios hold, absolute numbers move).  bench/README.md explains
 * every line of the output; bench/run.sh builds and runs the whole suite.
 *
 *   hvlog_bench [OPTIONS]       the whole suite (below)
 *   hvlog_bench encode [N]      the peers' event mix only (default 10M)
 *   hvlog_bench decode FILE     the decode figures of one trace file
 *   hvlog_bench read FILE       (children of the suite: the read floor,
 *   hvlog_bench iterate FILE     one library decode, and the helper that
 *   hvlog_bench spawn ...        runs each child, bench_util.c)
 */
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* Allocation counting: the bench links libhvlog statically and wraps
 * malloc, calloc and realloc (-Wl,--wrap), so every allocation the
 * library makes is counted.  Atomic: the two-thread figures count too. */
static atomic_size_t allocs;
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); return __real_realloc(p, n); }

size_t bench_allocs(void)
{
	return atomic_load_explicit(&allocs, memory_order_relaxed);
}

/* The suite's own temporary directory, removed at exit and on a signal
 * (the 100M trace alone is about 750 MB). */
static char tmpdir[PATH_MAX];

static void cleanup(void)
{
	if (tmpdir[0])
		remove_tree(tmpdir);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hvlog_bench [--quick] [--events N] [--max N] [--reps R] [--tmpdir DIR]\n"
		"                   [--hvlog PATH] [--hvcore PATH]\n"
		"       hvlog_bench encode [N] | decode FILE\n"
		"  --events N   the mixed workload trace (encode, size, decode); default 4M\n"
		"  --max N      the largest scaling trace (1M, 10M, 100M up to N); default 100M\n"
		"  --quick      --events 1M --max 10M\n"
		"  --reps R     best of R passes; default 3 (encode: 5)\n"
		"  --tmpdir DIR where the traces go (default $TMPDIR or /tmp; 100M needs ~750 MB)\n"
		"  N takes a K or M suffix: 100M = 100000000\n");
	exit(2);
}

static uint64_t parse_count(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		usage();
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1e6, end++;
	if (*end)
		usage();
	return (uint64_t)(v + 0.5);
}

/* The CLI and hvcore are built beside the bench: BUILD/hvlog (or
 * BUILD/cli/hvlog) and BUILD/hvcore/hvcore, BUILD/bench being ours. */
static const char *sibling(const char *dir, const char *const *rel, char *buf, size_t cap)
{
	for (; *rel; rel++) {
		if ((size_t)snprintf(buf, cap, "%s/%s", dir, *rel) < cap && access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static int suite(struct bench_opts *o)
{
	static char self[PATH_MAX], dir[PATH_MAX], hvlog[PATH_MAX], hvcore[PATH_MAX], trace[PATH_MAX + 32], log[PATH_MAX + 32];
	static const char *const hvlog_at[] = { "../hvlog", "../cli/hvlog", NULL };
	static const char *const hvcore_at[] = { "../hvcore/hvcore", NULL };
	struct workload wl;
	struct child c;
	char wname[64], cn[32], cm[32], nbuf[32];
	double t_start = now(), load[3] = { 0, 0, 0 };

	if (!realpath("/proc/self/exe", self)) {
		perror("hvlog_bench: /proc/self/exe");
		return 1;
	}
	snprintf(dir, sizeof dir, "%s", self);
	*strrchr(dir, '/') = 0;
	o->self = self;
	if (!o->hvlog && !(o->hvlog = sibling(dir, hvlog_at, hvlog, sizeof hvlog))) {
		fprintf(stderr, "hvlog_bench: the hvlog CLI is not beside %s; give --hvlog PATH\n", dir);
		return 1;
	}
	if (!o->hvcore && !(o->hvcore = sibling(dir, hvcore_at, hvcore, sizeof hvcore))) {
		fprintf(stderr, "hvlog_bench: hvcore is not beside %s; give --hvcore PATH\n", dir);
		return 1;
	}
	snprintf(tmpdir, sizeof tmpdir, "%s/hvlog-bench.XXXXXX", o->tmpdir);
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		tmpdir[0] = 0;
		return 1;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	o->tmpdir = tmpdir;

	getloadavg(load, 3);
	printf("# hvlog_bench, libhvlog %s: %ld CPUs online, load average %.2f %.2f %.2f at start\n", hvlog_version(),
	       sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
	printf("# workload %s events, scaling up to %s events, best of %d passes (encode: 5)\n",
	       count_name(o->events, cn, sizeof cn), count_name(o->max, cm, sizeof cm), o->reps);
	printf("# hvlog %s, hvcore %s, temporary files in %s\n", o->hvlog, o->hvcore, o->tmpdir);
	printf("# zstd figures: %s; chunk partition: %s\n",
	       have_zstd() ? "yes" : "no (libzstd not found at build time)",
	       have_partition() ? "yes" : "no (hvlog_reader_set_partition not in reader.h at build time)");
	printf("# SECTION WORKLOAD VALUE UNIT RATIO x FLOOR (FLOOR'S VALUE UNIT)\n");
	fflush(stdout);

	/* The workload: a trace of the hypervisor core's mixed workload. */
	snprintf(wname, sizeof wname, "mixed-%s", count_name(o->events, cn, sizeof cn));
	snprintf(trace, sizeof trace, "%s/%s.hvlog", o->tmpdir, wname);
	snprintf(nbuf, sizeof nbuf, "%llu", (unsigned long long)o->events);
	char *gen[] = { (char *)o->hvcore, "-w", "mixed", "-v", "4", "-n", nbuf, "-o", trace, "--no-progress", NULL };
	snprintf(log, sizeof log, "%s/hvcore.log", o->tmpdir);
	if (run_child(gen, NULL, log, &c) != 0) { /* its summary line goes to the log */
		fprintf(stderr, "hvlog_bench: hvcore failed (exit status %d), its log:\n", c.status);
		print_file(log, stderr);
		return 1;
	}
	workload_load(&wl, trace);
	struct stat sb;
	stat(trace, &sb);
	printf("# trace %s: hvcore -w mixed -v 4 -n %s: %zu events in %u streams, %lld bytes (%.2f B/event)\n",
	       wname, nbuf, wl.n, wl.nstreams, (long long)sb.st_size, (double)sb.st_size / (double)wl.n);
	fflush(stdout);

	bench_encode_trace(o, &wl, wname);
	bench_encode_peers(o->events);
	uint64_t events = bench_decode_lib(o, trace, wname);
	bench_decode_cli(o, trace, wname, events);
	remove(trace);
	bench_scale(o, &wl);
	workload_free(&wl);
	char peers[64]; /* bench_encode_peers' name for its mix */
	snprintf(peers, sizeof peers, "peers-%s", count_name(o->events, cn, sizeof cn));
	report_targets(wname, peers);

	getloadavg(load, 3);
	printf("# done in %.1f s, load average %.2f %.2f %.2f at the end\n", now() - t_start, load[0], load[1],
	       load[2]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *td = getenv("TMPDIR");
	struct bench_opts o = { .events = 4000000, .max = 100000000, .reps = 3, .tmpdir = td && *td ? td : "/tmp" };

	if (argc >= 2 && !strcmp(argv[1], "spawn"))
		return child_spawn(argc, argv);
	if (argc >= 3 && !strcmp(argv[1], "read"))
		return child_read(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "iterate"))
		return child_iterate(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "encode")) {
		bench_encode_peers(argc > 2 ? parse_count(argv[2]) : 10000000);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "decode")) {
		bench_decode_lib(&o, argv[2], "file");
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick")) {
			o.events = 1000000;
			o.max = 10000000;
		} else if (!strcmp(a, "--events") && v) {
			o.events = parse_count(v), i++;
		} else if (!strcmp(a, "--max") && v) {
			o.max = parse_count(v), i++;
		} else if (!strcmp(a, "--reps") && v) {
			o.reps = (int)parse_count(v), i++;
		} else if (!strcmp(a, "--tmpdir") && v) {
			o.tmpdir = v, i++;
		} else if (!strcmp(a, "--hvlog") && v) {
			o.hvlog = v, i++;
		} else if (!strcmp(a, "--hvcore") && v) {
			o.hvcore = v, i++;
		} else {
			usage();
		}
	}
	return suite(&o);
}
