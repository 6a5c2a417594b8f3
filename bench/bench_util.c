/*
 * bench_util.c - the clock, the output lines, child processes, sinks, zstd,
 * and the trace loaded into memory with its replay and its floor.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HVLOG_BENCH_ZSTD
#include <zstd.h>
#endif

#include "bench.h"
#include "hvlog_replay.h"

double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double thread_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

const char *count_name(uint64_t n, char *buf, size_t cap)
{
	if (n >= 1000000 && n % 1000000 == 0)
		snprintf(buf, cap, "%lluM", (unsigned long long)(n / 1000000));
	else if (n >= 1000000 && n % 100000 == 0)
		snprintf(buf, cap, "%.1fM", (double)n / 1e6);
	else
		snprintf(buf, cap, "%llu", (unsigned long long)n);
	return buf;
}

/* Enough digits to compare, not more: 3 significant ones up to 1000. */
static const char *num(double v, char *buf, size_t cap)
{
	if (!isfinite(v))
		snprintf(buf, cap, "-");
	else if (fabs(v) >= 1000)
		snprintf(buf, cap, "%.0f", v);
	else if (fabs(v) >= 100)
		snprintf(buf, cap, "%.1f", v);
	else
		snprintf(buf, cap, "%.2f", v);
	return buf;
}

/* The figures reported so far, for report_targets() at the end. */
#define MAX_FIGS 512
static struct fig {
	char section[8];
	char workload[96];
	double value;
} figs[MAX_FIGS];
static size_t nfigs;

/* Fixed columns, so the lines of a section line up and `awk` or `cut`
 * can take them apart: SECTION WORKLOAD VALUE UNIT RATIO x FLOOR (VALUE UNIT). */
void report(const char *section, const char *workload, double value, const char *unit, double ratio,
	    const char *floor_name, double floor_value)
{
	char v[32], f[32];

	if (nfigs < MAX_FIGS) {
		struct fig *g = &figs[nfigs++];
		snprintf(g->section, sizeof g->section, "%s", section);
		snprintf(g->workload, sizeof g->workload, "%s", workload);
		g->value = value;
	}
	printf("%-7s %-58s %9s %-10s %6.2f x %s (%s %s)\n", section, workload, num(value, v, sizeof v), unit,
	       ratio, floor_name, num(floor_value, f, sizeof f), unit);
	fflush(stdout);
}

/* The figures the trace format's design was set to reach, each beside
 * the figure of this run it is about.  They are absolute, on one thread:
 * unlike the ratios above they move with the machine (bench/README.md). */
void report_targets(const char *mixed, const char *peers)
{
	static const struct {
		const char *section, *workload; /* %s: the workload's name */
		int mixed;                      /* of the mixed trace, else of the peers' mix */
		int at_most;                    /* the figure must be <= target, else >= */
		double target;
		const char *unit;
	} t[] = {
		{ "decode", "%s library iterate", 1, 0, 200, "M events/s" },
		{ "decode", "%s library count, group interrupt", 1, 0, 400, "M events/s" },
		{ "decode", "%s library text into a buffer", 1, 0, 30, "M events/s" },
		{ "size", "%s", 1, 1, 7, "B/event" },
		{ "size", "%s", 0, 1, 8, "B/event" },
		{ "encode", "%s typed emitters (switch)", 0, 1, 8, "ns/event" },
	};
	char name[96], v[32], g[32];

	printf("# targets: absolute figures of this run on one thread, which move with the machine\n");
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const struct fig *f = NULL;
		snprintf(name, sizeof name, t[i].workload, t[i].mixed ? mixed : peers);
		for (size_t k = 0; k < nfigs && !f; k++)
			if (!strcmp(figs[k].section, t[i].section) && !strcmp(figs[k].workload, name))
				f = &figs[k];
		if (!f) {
			printf("target  %-58s not measured in this run\n", name);
			continue;
		}
		int met = t[i].at_most ? f->value <= t[i].target : f->value >= t[i].target;
		printf("target  %-58s %9s %-10s %s %s: %s (%.2f x the target)\n", name, num(f->value, v, sizeof v),
		       t[i].unit, t[i].at_most ? "<=" : ">=", num(t[i].target, g, sizeof g), met ? "met" : "NOT met",
		       f->value / t[i].target);
	}
	fflush(stdout);
}

void report_count(const char *section, const char *workload, uint64_t count, const char *unit,
		  uint64_t events, const char *note)
{
	printf("%-7s %-58s %9llu %-10s %.6f per event in %llu events%s%s\n", section, workload,
	       (unsigned long long)count, unit, events ? (double)count / (double)events : 0.0,
	       (unsigned long long)events, note ? ", " : "", note ? note : "");
	fflush(stdout);
}

void report_skip(const char *section, const char *workload, const char *why)
{
	printf("%-7s %-58s skipped: %s\n", section, workload, why);
	fflush(stdout);
}

/* Spawn argv with stdout to `out` (NULL: /dev/null), stderr to `err`
 * (NULL: ours); wait for it.  Used by the helper below. */
static int spawn_wait(char *const argv[], const char *out, const char *err, struct child *c)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	pid_t pid;
	int st, rc;
	double t0;

	c->status = -1;
	c->secs = 0;
	c->maxrss_kib = 0;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (err)
		posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	t0 = now();
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "hvlog_bench: %s: %s\n", argv[0], strerror(rc));
		return -1;
	}
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	c->secs = now() - t0;
	c->maxrss_kib = ru.ru_maxrss;
	c->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return c->status;
}

/* `hvlog_bench spawn OUT ERR PROGRAM ARGS...` ("-": the default).  Why a
 * helper: Linux carries a process's peak RSS over exec() (the old address
 * space's high-water mark becomes the new program's ru_maxrss), and a
 * child spawned by the bench starts as a copy of the bench, which holds
 * the loaded trace: every child would report the bench's size.  The
 * helper is small, so what its child reports is the child's own. */
int child_spawn(int argc, char **argv)
{
	struct child c;

	if (argc < 5)
		return 2;
	spawn_wait(argv + 4, strcmp(argv[2], "-") ? argv[2] : NULL, strcmp(argv[3], "-") ? argv[3] : NULL, &c);
	printf("%.9f %ld %d\n", c.secs, c.maxrss_kib, c.status);
	return 0;
}

int run_child(char *const argv[], const char *out, const char *err, struct child *c)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	char *hargv[64], res[128];
	int fd[2], st, a = 0;
	size_t len = 0;
	ssize_t k;
	pid_t pid;

	c->status = -1;
	hargv[a++] = "/proc/self/exe";
	hargv[a++] = "spawn";
	hargv[a++] = (char *)(out ? out : "-");
	hargv[a++] = (char *)(err ? err : "-");
	for (int i = 0; argv[i] && a < 63; i++)
		hargv[a++] = argv[i];
	hargv[a] = NULL;
	if (pipe(fd) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	posix_spawn_file_actions_addclose(&fa, fd[1]);
	int rc = posix_spawn(&pid, hargv[0], &fa, NULL, hargv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	if (rc != 0) {
		close(fd[0]);
		fprintf(stderr, "hvlog_bench: spawning the helper: %s\n", strerror(rc));
		return -1;
	}
	while (len < sizeof res - 1 && (k = read(fd[0], res + len, sizeof res - 1 - len)) != 0) {
		if (k < 0 && errno != EINTR)
			break;
		if (k > 0)
			len += (size_t)k;
	}
	close(fd[0]);
	res[len] = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (sscanf(res, "%lf %ld %d", &c->secs, &c->maxrss_kib, &c->status) != 3)
		c->status = -1;
	return c->status;
}

void print_file(const char *path, FILE *to)
{
	char buf[4096];
	size_t k;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, k, to);
	fclose(f);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int have_zstd(void)
{
#ifdef HVLOG_BENCH_ZSTD
	return 1;
#else
	return 0;
#endif
}

size_t zstd3_size(const void *buf, size_t len)
{
#ifdef HVLOG_BENCH_ZSTD
	size_t cap = ZSTD_compressBound(len), r;
	void *dst = malloc(cap);

	if (!dst)
		return 0;
	r = ZSTD_compress(dst, cap, buf, len, 3);
	free(dst);
	return ZSTD_isError(r) ? 0 : r;
#else
	(void)buf;
	(void)len;
	return 0;
#endif
}

int sink_discard(void *user, const void *buf, size_t len)
{
	*(size_t *)user += len;
	(void)buf;
	return 0;
}

int sink_capture(void *user, const void *buf, size_t len)
{
	struct capture *c = user;

	if (c->len + len > c->cap) {
		size_t nc = c->cap ? c->cap : 1u << 20;
		while (nc < c->len + len)
			nc *= 2;
		uint8_t *nb = realloc(c->buf, nc);
		if (!nb)
			return ENOMEM;
		c->buf = nb;
		c->cap = nc;
	}
	memcpy(c->buf + c->len, buf, len);
	c->len += len;
	return 0;
}

/* ---- the trace in memory ----------------------------------------------- */

void workload_load(struct workload *wl, const char *path)
{
	const hvlog_schema *b = hvlog_schema_builtin();
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	size_t cap = 1u << 20, vcap = 4u << 20;
	static int16_t idx_of[HVLOG_MAX_EVENT_NUMBER + 1];

	/* The replay table is in the built-in schema's order; the trace's
	 * own schema is the same one (hvcore writes with it), matched by
	 * number and checked. */
	for (size_t i = 0; i <= HVLOG_MAX_EVENT_NUMBER; i++)
		idx_of[i] = -1;
	for (uint32_t i = 0; i < b->nevents && i < HVLOG_REPLAY_NEVENTS; i++)
		if (hvlog_replay[i].number == b->events[i].number && hvlog_replay[i].nparams == b->events[i].nparams)
			idx_of[b->events[i].number] = (int16_t)i;

	memset(wl, 0, sizeof *wl);
	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK) {
		fprintf(stderr, "hvlog_bench: %s: %s\n", path, err.msg);
		exit(1);
	}
	wl->nstreams = hvlog_reader_meta(r)->nstreams;
	wl->clock_hz = hvlog_reader_meta(r)->clock_hz;
	if (wl->nstreams > BENCH_MAX_STREAMS) {
		fprintf(stderr, "hvlog_bench: %s: %u streams, the bench takes %u\n", path, wl->nstreams,
			BENCH_MAX_STREAMS);
		exit(1);
	}
	wl->ev = malloc(cap * sizeof *wl->ev);
	wl->vals = malloc(vcap * sizeof *wl->vals);
	if (!wl->ev || !wl->vals)
		goto nomem;
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK) {
		if (it->kind != HVLOG_ITEM_EVENT)
			continue;
		int16_t i = idx_of[it->event->number];
		if (i < 0 || hvlog_replay[i].nparams != it->event->nparams) {
			fprintf(stderr, "hvlog_bench: %s: event 0x%x is not the built-in schema's\n", path,
				it->event->number);
			exit(1);
		}
		if (wl->n == cap && !(wl->ev = realloc(wl->ev, (cap *= 2) * sizeof *wl->ev)))
			goto nomem;
		if (wl->nvals + HVLOG_MAX_PARAMS > vcap && !(wl->vals = realloc(wl->vals, (vcap *= 2) * sizeof *wl->vals)))
			goto nomem;
		wl->ev[wl->n++] = (struct wev){ it->ts, (uint32_t)wl->nvals, (uint16_t)it->stream, (uint16_t)i,
						(uint16_t)it->event->number, (uint8_t)it->event->nparams };
		memcpy(wl->vals + wl->nvals, it->values, it->event->nparams * sizeof *wl->vals);
		wl->nvals += it->event->nparams;
	}
	hvlog_reader_close(r);
	return;
nomem:
	fprintf(stderr, "hvlog_bench: out of memory loading %s\n", path);
	exit(1);
}

void workload_free(struct workload *wl)
{
	free(wl->ev);
	free(wl->vals);
	memset(wl, 0, sizeof *wl);
}

void replay(hvlog_stream *const *st, const uint64_t *vals, const struct wev *ev, size_t n, uint64_t ts_off)
{
	for (size_t i = 0; i < n; i++) {
		const struct wev *e = &ev[i];
		hvlog_replay[e->idx].emit(st[e->stream], e->ts + ts_off, vals + e->voff);
	}
}

/* One function per parameter count, so each copy has a constant size (the
 * compiler inlines it as a few stores), called through a table as
 * replay() calls through hvlog_replay[]. */
#define REC_PUT(np)                                                                                      \
	static uint8_t *rec_put_##np(uint8_t *p, const struct wev *e, uint64_t ts, const uint64_t *v)    \
	{                                                                                                \
		uint32_t h[2] = { e->number, e->stream };                                                \
		memcpy(p, &ts, 8);                                                                       \
		memcpy(p + 8, h, 8);                                                                     \
		memcpy(p + 16, v, 8 * (np));                                                             \
		return p + 16 + 8 * (np);                                                                \
	}
REC_PUT(0) REC_PUT(1) REC_PUT(2) REC_PUT(3) REC_PUT(4) REC_PUT(5) REC_PUT(6) REC_PUT(7) REC_PUT(8)
REC_PUT(9) REC_PUT(10) REC_PUT(11) REC_PUT(12) REC_PUT(13) REC_PUT(14) REC_PUT(15) REC_PUT(16)

static uint8_t *(*const rec_put[HVLOG_MAX_PARAMS + 1])(uint8_t *, const struct wev *, uint64_t,
							const uint64_t *) = {
	rec_put_0, rec_put_1, rec_put_2, rec_put_3, rec_put_4, rec_put_5, rec_put_6, rec_put_7, rec_put_8,
	rec_put_9, rec_put_10, rec_put_11, rec_put_12, rec_put_13, rec_put_14, rec_put_15, rec_put_16,
};

#define REC_MAX (16u + 8u * HVLOG_MAX_PARAMS)

void floor_init(struct floor_bufs *fb, uint32_t nstreams)
{
	memset(fb, 0, sizeof *fb);
	fb->n = nstreams ? nstreams : 1;
	/* Touched once, so the first timed pass pays no page faults (the
	 * writer's buffers are warm after its first chunk too). */
	if (!(fb->mem = calloc(fb->n, BENCH_CHUNK))) {
		fprintf(stderr, "hvlog_bench: out of memory\n");
		exit(1);
	}
	memset(fb->mem, 1, (size_t)fb->n * BENCH_CHUNK);
}

size_t floor_bytes(const struct floor_bufs *fb)
{
	size_t b = fb->total;
	for (uint32_t s = 0; s < fb->n; s++)
		b += fb->off[s];
	return b;
}

void floor_free(struct floor_bufs *fb)
{
	free(fb->mem);
	fb->mem = NULL;
}

void floor_record(struct floor_bufs *fb, const uint64_t *vals, const struct wev *ev, size_t n, uint64_t ts_off)
{
	for (size_t i = 0; i < n; i++) {
		const struct wev *e = &ev[i];
		uint8_t *base = fb->mem + (size_t)e->stream * BENCH_CHUNK;
		size_t off = fb->off[e->stream];
		if (off + REC_MAX > BENCH_CHUNK) { /* full: hand it on */
			fb->total += off;
			off = 0;
		}
		fb->off[e->stream] = (size_t)(rec_put[e->np](base + off, e, e->ts + ts_off, vals + e->voff) - base);
	}
}
