/*
 * test_hostile.c - the hostile-input campaign at the library level: each
 * test is one class of input a caller or a file's author may hand the
 * library to make it read out of bounds, allocate without bound or lose
 * data (docs/SECURITY.md).  Run under ASan and UBSan by scripts/test.sh.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hostile.h"
#include "hvlog/hvlog.h"
#include "testutil.h"
#include "wire.h"

static char dir[PATH_MAX];

static void setup(void)
{
	tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
	tu_rmtree(dir);
}

/* Save buf as dir/name into path. */
static void save(char *path, const char *name, const uint8_t *buf, size_t len)
{
	ck_assert_ptr_nonnull(buf);
	tu_path(path, PATH_MAX, dir, name);
	tu_save(path, buf, len);
}

/* Open path, which must fail with status want; err filled. */
static void open_refused(const char *path, hvlog_status want, hvlog_error *err)
{
	hvlog_reader *r = NULL;
	hvlog_status st = hvlog_reader_open_path(&r, path, err);

	if (st == HVLOG_OK)
		hvlog_reader_close(r);
	ck_assert_msg(st == want, "open: %s, expected %s (%s)", hvlog_status_str(st), hvlog_status_str(want),
		      st == HVLOG_OK ? "" : err->msg);
}

static hvlog_status open_writer(const hvlog_writer_config *cfg, hvlog_error *err);

/* ---- 1: a zero-stream configuration, a zero-stream file ------------------ */

/* A streams list given with nstreams 0 has no entry: the writer must not
 * read one.  The list ends at a page the process may not read, so a read
 * past it faults, sanitizer or not. */
START_TEST(test_writer_zero_streams_list_not_read)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_reader *r;
	hvlog_error err;

	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	hvlog_writer_config cfg = { .nstreams = 0, .streams = (const hvlog_stream_info *)(map + page) };
	tu_path(path, sizeof path, dir, "zero.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_OK);
	hvlog_emit_im_msr_read(hvlog_writer_stream(w, 0), 5, 1, 2, 3);
	ck_assert_ptr_null(hvlog_writer_stream(w, 1));
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
	munmap(map, 2 * (size_t)page);

	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	ck_assert_uint_eq(hvlog_reader_meta(r)->nstreams, 1);
	ck_assert_str_eq(hvlog_reader_meta(r)->streams[0].name, "stream0");
	hvlog_reader_close(r);
}
END_TEST

/* Every other array of a configuration is read for exactly as many
 * entries as its count says, so a count with no array (NULL) is the
 * caller's mistake, refused at the open rather than read; and an event
 * whose predictor slots lie past the schema's nslots (the writer
 * allocates nslots per stream, and the emitters index them by the
 * event's slot) is refused too, however large its slot. */
START_TEST(test_writer_config_arrays_not_overread)
{
	const hvlog_schema *b = hvlog_schema_builtin();
	hvlog_schema sc = *b;
	hvlog_event *events = malloc(b->nevents * sizeof *events);
	hvlog_valtab *valtabs = malloc(b->nvaltabs * sizeof *valtabs);
	hvlog_writer_config cfg = { .schema = &sc, .nstreams = 2 };
	hvlog_error err;
	const char *want;
	uint32_t e = 0;

	ck_assert_ptr_nonnull(events);
	ck_assert_ptr_nonnull(valtabs);
	memcpy(events, b->events, b->nevents * sizeof *events);
	memcpy(valtabs, b->valtabs, b->nvaltabs * sizeof *valtabs);
	while (events[e].nparams < 2) /* an event with parameters */
		e++;
	sc.events = events;
	switch (_i) {
	case 0: cfg.nprops = 3, want = "3 props but no array"; break;
	case 1: sc.groups = NULL, want = "groups but no array"; break;
	case 2: sc.events = NULL, want = "events but no array"; break;
	case 3: sc.valtabs = NULL, want = "value tables but no array"; break;
	case 4: events[e].params = NULL, want = "parameters of an event but no array"; break;
	case 5:
		/* the parameters' value tables point into the builtin's array */
		valtabs[0].values = NULL, sc.valtabs = valtabs, want = "values in a value table but no array";
		for (uint32_t i = 0; i < sc.nevents; i++)
			events[i].nparams = 0;
		break;
	case 6: sc.nslots = events[e].slot + 1, want = "predictor slots"; break;
	default: events[e].slot = UINT32_MAX - 1, want = "predictor slots"; break;
	}
	ck_assert_int_eq(open_writer(&cfg, &err), HVLOG_INVALID);
	ck_assert_msg(strstr(err.msg, want), "message: %s", err.msg);
	free(events);
	free(valtabs);
}
END_TEST

/* The typed emitters (hvlog/events.h) index a stream's predictor slots by
 * the built-in schema's layout, without looking at the stream's schema:
 * on a writer of a schema with fewer slots they must still stay inside
 * what the writer allocated (what they write is then the caller's
 * mistake, but never a write out of bounds; ASan checks it). */
START_TEST(test_builtin_emitters_on_a_small_schema)
{
	hvlog_schema schema = *hvlog_schema_builtin();
	hvlog_writer_config cfg = { .schema = &schema, .nstreams = 3 };
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_error err;

	/* the built-in schema's first event alone, and its slots */
	schema.nevents = 1;
	schema.nslots = schema.events[0].slot + schema.events[0].nparams;
	tu_path(path, sizeof path, dir, "small.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_OK);
	for (uint32_t i = 0; i < 3; i++) {
		hvlog_stream *st = hvlog_writer_stream(w, i);
		hvlog_emit_im_msr_read(st, 10, 1, 2, 3);
		hvlog_emit_sch_profiler_sample(st, 20, 1, 2, 3);
		hvlog_emit_sch_context_switch(st, 30, 1, 2, 3);
	}
	hvlog_writer_close(w, &err);
}
END_TEST

/* hvlog_emit() checks the event it is given against the stream's slots:
 * slot + nparams in 32 bits wrapped for a slot near 2^32 and let it write
 * 32 GiB past them. */
START_TEST(test_emit_foreign_event_slots)
{
	hvlog_writer_config cfg = { .nstreams = 1 };
	hvlog_event ev = hvlog_schema_builtin()->events[0];
	const uint64_t v[HVLOG_MAX_PARAMS] = { 1 };
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_error err;

	tu_path(path, sizeof path, dir, "foreign.hvl");
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_OK);
	ev.nparams = 1;
	ev.params = hvlog_schema_builtin()->events[0].params;
	for (uint32_t slot = UINT32_MAX - HVLOG_MAX_PARAMS; slot != 0; slot++) {
		ev.slot = slot;
		ck_assert_int_eq(hvlog_emit(hvlog_writer_stream(w, 0), 5, &ev, v), HVLOG_INVALID);
	}
	ev.slot = hvlog_schema_builtin()->nslots;
	ck_assert_int_eq(hvlog_emit(hvlog_writer_stream(w, 0), 5, &ev, v), HVLOG_INVALID);
	ev.slot = hvlog_schema_builtin()->nslots - 1;
	ck_assert_int_eq(hvlog_emit(hvlog_writer_stream(w, 0), 5, &ev, v), HVLOG_OK);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_OK);
}
END_TEST

/* A metadata block listing no stream: refused at the open, at the
 * metadata's offset, with a message that says why. */
START_TEST(test_zero_stream_trace_refused)
{
	char path[PATH_MAX];
	hvlog_error err;
	size_t len;
	uint8_t *t = hx_zero_streams(&len);

	save(path, "nostreams.hvl", t, len);
	free(t);
	open_refused(path, HVLOG_MALFORMED, &err);
	ck_assert_uint_eq(err.offset, WIRE_FILE_HEADER_SIZE);
	ck_assert_msg(strstr(err.msg, "streams is empty"), "message: %s", err.msg);
}
END_TEST

/* ---- 2: CBOR floats where the metadata has integers or text ------------- */

/* libcbor asserts when a float is asked for a simple value (null, a
 * bool): the metadata's decoder must look at an item's type first.  A
 * float anywhere an integer or a text is expected is refused as
 * malformed metadata, or (epoch_ns, which may be left out) taken as
 * absent; never an abort. */
START_TEST(test_float_in_metadata)
{
	static const char *const keys[] = { "format", "producer", "name", "hz", "epoch_ns", "id", "partition",
					    "vp", "version", "mask", "number", "group", "type", "coding", "value" };
	char path[PATH_MAX];
	hvlog_reader *r;
	hvlog_error err;
	const hvlog_item *it;
	hvlog_status st;
	size_t len;
	uint8_t *t = hx_float_field(keys[_i], &len);

	ck_assert_msg(t != NULL, "no entry %s in the metadata", keys[_i]);
	save(path, "float.hvl", t, len);
	free(t);
	st = hvlog_reader_open_path(&r, path, &err);
	if (st != HVLOG_OK) {
		ck_assert_msg(st == HVLOG_MALFORMED, "%s: %s (%s)", keys[_i], hvlog_status_str(st), err.msg);
		ck_assert_uint_eq(err.offset, WIRE_FILE_HEADER_SIZE);
		return;
	}
	ck_assert_msg(!strcmp(keys[_i], "epoch_ns"), "a float %s was accepted", keys[_i]);
	ck_assert_int_eq(hvlog_reader_meta(r)->clock_epoch_ns, 0);
	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK)
		;
	ck_assert_int_eq(st, HVLOG_END);
	hvlog_reader_close(r);
}
END_TEST

/* ---- 5: an endless input that is not a trace ------------------------------ */

/* /dev/zero cannot seek, so it would be spooled: the magic is checked on
 * the first bytes, before anything is written.  The test process may
 * write at most 1 MiB to a file, so spooling would fail otherwise. */
START_TEST(test_endless_garbage_not_spooled)
{
	const struct rlimit fsize = { 1 << 20, 1 << 20 };
	int fd = open("/dev/zero", O_RDONLY);
	hvlog_reader *r = NULL;
	hvlog_error err;

	ck_assert_int_ge(fd, 0);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &fsize), 0);
	setenv("TMPDIR", dir, 1);
	ck_assert_int_eq(hvlog_reader_open_fd(&r, fd, &err), HVLOG_MALFORMED);
	ck_assert_uint_eq(err.offset, 0);
	ck_assert_msg(strstr(err.msg, "bad magic"), "message: %s", err.msg);
	close(fd);
}
END_TEST

/* ---- 9b: a map declaring 2^63 pairs ----------------------------------------- */

/* Twice the count wraps to 0 in 64 bits: the structural pass must still
 * refuse it, with its own message, not leave it to libcbor. */
START_TEST(test_huge_map_refused)
{
	static const uint64_t pairs[] = { 1ull << 63, UINT64_MAX, (1ull << 63) + 3, 1ull << 62, 1u << 20 };
	char path[PATH_MAX];
	hvlog_error err;
	size_t len;
	uint8_t *t = hx_huge_map(pairs[_i], &len);

	save(path, "huge-map.hvl", t, len);
	free(t);
	open_refused(path, HVLOG_MALFORMED, &err);
	ck_assert_msg(strstr(err.msg, "declares more entries than there are bytes"), "pairs %llu: %s",
		      (unsigned long long)pairs[_i], err.msg);
	ck_assert_uint_ge(err.offset, WIRE_FILE_HEADER_SIZE);
}
END_TEST

/* hvlog_cbor_shape on its own: where an item ends, that one cut short
 * goes on, and where a refused value begins. */
START_TEST(test_cbor_shape)
{
	static const uint8_t two[] = { 0x82, 0x01, 0xa1, 0x61, 'k', 0x02, 0x00 }; /* [1, {"k": 2}] 0 */
	static const uint8_t big[] = { 0x81, 0x9a, 0x04, 0x00, 0x00, 0x00 };     /* [[2^26 entries]] */
	static const uint8_t tag[] = { 0x82, 0x00, 0xc1, 0x00 };                   /* [0, 1(0)] */
	const char *why;
	size_t len;

	ck_assert_int_eq(hvlog_cbor_shape(two, sizeof two, sizeof two, 100, &len, &why), HVLOG_OK);
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(hvlog_cbor_shape(two, 4, 1000, 100, &len, &why), HVLOG_TRUNCATED);
	ck_assert_int_eq(hvlog_cbor_shape(two, sizeof two, sizeof two, 2, &len, &why), HVLOG_LIMIT);
	ck_assert_str_eq(why, "more values in one item than the metadata of a trace can have");
	ck_assert_int_eq(hvlog_cbor_shape(big, sizeof big, sizeof big, 100, &len, &why), HVLOG_MALFORMED);
	ck_assert_str_eq(why, "declares more entries than there are bytes");
	ck_assert_uint_eq(len, 1);
	ck_assert_int_eq(hvlog_cbor_shape(tag, sizeof tag, sizeof tag, 100, &len, &why), HVLOG_MALFORMED);
	ck_assert_str_eq(why, "uses a CBOR tag");
	ck_assert_uint_eq(len, 2);
}
END_TEST

/* ---- 3: sibling readers share one open ------------------------------------ */

enum { NSIB = 4 };

struct share {
	hvlog_reader *r;
	uint64_t events, items;
	hvlog_status end;
};

static void *count_all(void *arg)
{
	struct share *c = arg;
	const hvlog_item *it;
	hvlog_error err;

	while ((c->end = hvlog_reader_next(c->r, &it, &err)) == HVLOG_OK) {
		c->items++;
		c->events += it->kind == HVLOG_ITEM_EVENT;
	}
	return NULL;
}

/* Siblings of base, each taking a share of the chunks on its own thread
 * while base reads everything on this one and is closed first: together
 * they hand out every event once, and base's close frees nothing they
 * use.  One sibling is a sibling's, and has a group mask of its own. */
static void check_siblings(hvlog_reader *base, uint64_t want)
{
	struct share sh[NSIB + 1] = { { base, 0, 0, HVLOG_OK } };
	pthread_t t[NSIB];
	hvlog_error err;
	uint64_t sum = 0;

	for (int i = 0; i < NSIB; i++) {
		const hvlog_reader *from = i == NSIB - 1 ? sh[1].r : base;
		ck_assert_int_eq(hvlog_reader_open_sibling(&sh[i + 1].r, from, &err), HVLOG_OK);
		ck_assert_ptr_eq(hvlog_reader_meta(sh[i + 1].r)->schema, hvlog_reader_meta(base)->schema);
		hvlog_reader_set_partition(sh[i + 1].r, (uint32_t)i, NSIB);
		hvlog_reader_set_ordered(sh[i + 1].r, i & 1);
	}
	hvlog_reader_set_group_mask(base, 1); /* a sibling keeps its own mask */
	hvlog_reader_set_group_mask(base, 0);
	for (int i = 0; i < NSIB; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, count_all, &sh[i + 1]), 0);
	count_all(&sh[0]);
	hvlog_reader_close(base);
	for (int i = 0; i < NSIB; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(sh[i + 1].end, HVLOG_END);
		sum += sh[i + 1].events;
		hvlog_reader_close(sh[i + 1].r);
	}
	ck_assert_int_eq(sh[0].end, HVLOG_END);
	ck_assert_uint_eq(sh[0].events, want);
	ck_assert_uint_eq(sum, want);
}

START_TEST(test_siblings_on_a_file)
{
	char path[PATH_MAX];
	hvlog_reader *base;
	hvlog_error err;
	size_t len;
	uint8_t *t = hx_plain(100000, 4096, &len);

	save(path, "plain.hvl", t, len);
	free(t);
	ck_assert_int_eq(hvlog_reader_open_path(&base, path, &err), HVLOG_OK);
	check_siblings(base, 100000);
	ck_assert_int_eq(hvlog_reader_open_sibling(&base, NULL, &err), HVLOG_INVALID);
}
END_TEST

struct feed {
	int fd;
	const uint8_t *buf;
	size_t len;
};

static void *feed_pipe(void *arg)
{
	struct feed *f = arg;

	for (size_t done = 0; done < f->len;) {
		ssize_t n = write(f->fd, f->buf + done, f->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(f->fd);
	return NULL;
}

/* A pipe is spooled once, by the base's open; the siblings read the spool
 * (re-reading the pipe would find it empty or elsewhere). */
START_TEST(test_siblings_on_a_pipe)
{
	int p[2];
	pthread_t w;
	hvlog_reader *base;
	hvlog_error err;
	struct feed f;

	f.buf = hx_plain(50000, 1024, &f.len);
	ck_assert_ptr_nonnull(f.buf);
	ck_assert_int_eq(pipe(p), 0);
	f.fd = p[1];
	setenv("TMPDIR", dir, 1);
	ck_assert_int_eq(pthread_create(&w, NULL, feed_pipe, &f), 0);
	ck_assert_int_eq(hvlog_reader_open_fd(&base, p[0], &err), HVLOG_OK);
	pthread_join(w, NULL);
	check_siblings(base, 50000);
	close(p[0]);
	free((void *)f.buf);
}
END_TEST

/* ---- 7b: counts checked against the caps before allocating -------------- */

/* The process may map at most 512 MiB: an allocation sized by the count
 * (65 536 streams x 64 KiB is 4 GiB) would fail as out of memory instead
 * of the refusal wanted.  Not under AddressSanitizer, whose shadow memory
 * needs more address space than that. */
static void limit_address_space(void)
{
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	const struct rlimit as = { 512u << 20, 512u << 20 };
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &as), 0);
#endif
}

static hvlog_status open_writer(const hvlog_writer_config *cfg, hvlog_error *err)
{
	char path[PATH_MAX];
	hvlog_writer *w = NULL;
	hvlog_status st;

	tu_path(path, sizeof path, dir, "w.hvl");
	st = hvlog_writer_open_path(&w, path, cfg, err);
	if (st == HVLOG_OK)
		hvlog_writer_close(w, err);
	return st;
}

START_TEST(test_writer_counts_refused)
{
	const hvlog_schema *b = hvlog_schema_builtin();
	hvlog_schema many_events = *b, many_valtabs = *b;
	hvlog_writer_config cfg = { .nstreams = 1 };
	hvlog_error err;
	const char *want;

	many_events.nevents = 70000; /* more entries than the array has: never read past the cap */
	many_valtabs.nvaltabs = 300;
	switch (_i) {
	case 0: cfg.nstreams = 65536, want = "65536 streams"; break;
	case 1: cfg.nstreams = 40330, want = "40330 streams"; break;
	case 2: cfg.schema = &many_events, want = "70000 schema events"; break;
	default: cfg.schema = &many_valtabs, want = "300 schema value tables"; break;
	}
	limit_address_space();
	ck_assert_int_eq(open_writer(&cfg, &err), HVLOG_INVALID);
	ck_assert_msg(strstr(err.msg, want) && strstr(err.msg, "at most"), "message: %s", err.msg);
}
END_TEST

/* Streams that pass the count but not the metadata cap: refused (limit)
 * before their buffers are allocated. */
START_TEST(test_writer_meta_checked_before_buffers)
{
	hvlog_writer_config cfg = { .nstreams = 30000 };
	hvlog_error err;

	limit_address_space();
	ck_assert_int_eq(open_writer(&cfg, &err), HVLOG_LIMIT);
	ck_assert_msg(strstr(err.msg, "exceeds the 1048576-byte cap"), "message: %s", err.msg);
	cfg.nstreams = 19731; /* the most that fit with the built-in schema (FORMAT.md §8.1) */
	cfg.chunk_size = HVLOG_CHUNK_MIN;
	ck_assert_int_eq(open_writer(&cfg, &err), HVLOG_OK);
}
END_TEST

/* hvlog_meta_streams_size is what the streams take in the metadata the
 * writer writes: the first chunk moves by the difference of two sizes. */
static uint64_t data_offset_of(const hvlog_writer_config *cfg)
{
	char path[PATH_MAX];
	hvlog_reader *r = NULL;
	hvlog_error err;
	uint64_t off;

	ck_assert_int_eq(open_writer(cfg, &err), HVLOG_OK);
	tu_path(path, sizeof path, dir, "w.hvl");
	ck_assert_int_eq(hvlog_reader_open_path(&r, path, &err), HVLOG_OK);
	off = hvlog_reader_meta(r)->data_offset;
	hvlog_reader_close(r);
	return off;
}

START_TEST(test_meta_streams_size)
{
	const hvlog_stream_info st[3] = { { "vp0", 0, 0 }, { NULL, 1ull << 40, 70000 }, { "a-longer-name", 7, UINT32_MAX } };
	hvlog_writer_config one = { .nstreams = 1 }, three = { .nstreams = 3, .streams = st };

	/* [{"id":0,"name":"stream0","partition":0,"vp":4294967295}], the
	 * integers at their C widths (id and vp 5 bytes, partition 9) */
	ck_assert_uint_eq(hvlog_meta_streams_size(NULL, 1), 50);
	ck_assert_uint_eq(hvlog_meta_streams_size(NULL, 0), 1);
	ck_assert_uint_eq(data_offset_of(&three) - data_offset_of(&one),
			  hvlog_meta_streams_size(st, 3) - hvlog_meta_streams_size(NULL, 1));
}
END_TEST

/* ---- 8: a failed write hides no later chunk --------------------------------- */

enum { NWRITE = 200000 };

/* Emit NWRITE events over 4 streams of w; after_fail (if not NULL) runs
 * once, as soon as an event has been counted lost (the sink failed). */
static void emit_until_done(hvlog_writer *w, void (*after_fail)(void))
{
	int failed = 0;

	for (uint64_t i = 0; i < NWRITE; i++) {
		hvlog_stream *st = hvlog_writer_stream(w, (uint32_t)(i & 3));
		hvlog_emit_im_msr_read(st, 1000 + i, 0x1000 + (i & 0xff), 0x10, i);
		if (after_fail && !failed && hvlog_stream_lost_total(st)) {
			failed = 1;
			after_fail();
		}
	}
}

/* Every event the writer did not count as lost decodes, and the lost ones
 * are reported: no chunk after the failure was swallowed. */
static void check_nothing_hidden(const char *path, size_t max_damage, uint64_t max_lost)
{
	tu_trace t;

	tu_read_path(path, 0, &t);
	ck_assert_int_eq(t.end, HVLOG_END);
	ck_assert_msg(t.ev.n + t.stats.lost_events == NWRITE, "%zu events decoded + %llu reported lost of %d (%s)",
		      t.ev.n, (unsigned long long)t.stats.lost_events, NWRITE, tu_damage_summary(&t));
	ck_assert_msg(t.stats.lost_events > 0 && t.stats.lost_events <= max_lost, "%llu lost",
		      (unsigned long long)t.stats.lost_events);
	ck_assert_msg(t.ndmg <= max_damage, "%zu damage items: %s", t.ndmg, tu_damage_summary(&t));
	tu_trace_free(&t);
}

/* A sink that, once, takes half of a chunk and fails. */
struct flaky {
	struct {
		uint8_t *p;
		size_t n, cap;
	} out;
	unsigned calls, fail_at;
};

static int flaky_sink(void *user, const void *buf, size_t len)
{
	struct flaky *f = user;
	size_t take = ++f->calls == f->fail_at ? len / 2 : len;

	if (f->out.n + take > f->out.cap) {
		f->out.cap = 2 * (f->out.n + take);
		ck_assert_ptr_nonnull(f->out.p = realloc(f->out.p, f->out.cap));
	}
	memcpy(f->out.p + f->out.n, buf, take);
	f->out.n += take;
	return take == len ? 0 : EIO;
}

/* A callback cannot take bytes back: the writer pads with zeros. */
START_TEST(test_sink_fails_mid_chunk)
{
	hvlog_writer_config cfg = { .nstreams = 4, .chunk_size = 4096, .nonblocking = _i };
	struct flaky f = { .fail_at = 10 };
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_error err;

	ck_assert_int_eq(hvlog_writer_open_sink(&w, flaky_sink, &f, &cfg, &err), HVLOG_OK);
	emit_until_done(w, NULL);
	/* the writer's statistics say what was dropped, before close */
	hvlog_writer_stats ws;
	hvlog_stream_flush(hvlog_writer_stream(w, 0));
	hvlog_writer_stats_get(w, &ws);
	/* non-blocking: the writer's thread may still be writing the chunk
	 * that fails, or the ones after it (at most 10 s) */
	for (int i = 0; _i && (!ws.write_errors || ws.chunks <= 10) && i < 1000; i++) {
		usleep(10000);
		hvlog_writer_stats_get(w, &ws);
	}
	ck_assert_uint_eq(ws.write_errors, 1);
	ck_assert_uint_eq(ws.chunks_dropped, 1);
	ck_assert_uint_gt(ws.events_dropped, 0);
	ck_assert_uint_gt(ws.chunks, 10);
	uint64_t lost = 0;
	for (uint32_t i = 0; i < 4; i++)
		lost += hvlog_stream_lost_total(hvlog_writer_stream(w, i));
	if (!_i) /* non-blocking: the producer counts them when it next takes a buffer */
		ck_assert_uint_ge(lost, ws.events_dropped);
	ck_assert_msg(hvlog_writer_close(w, &err) == HVLOG_IO, "close OK after %u calls", f.calls); /* still reported */
	ck_assert_int_eq(err.sys_errno, EIO);
	ck_assert_uint_gt(f.calls, f.fail_at);
	save(path, "flaky.hvl", f.out.p, f.out.n);
	free(f.out.p);
	/* the torn chunk, the zeros, its missing sequence number; in non-
	 * blocking mode, events dropped when the flusher falls behind too */
	check_nothing_hidden(path, 3, _i ? NWRITE : 2000);
}
END_TEST

static void lift_file_size_limit(void)
{
	const struct rlimit none = { RLIM_INFINITY, RLIM_INFINITY };
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &none), 0);
}

/* A file can be cut back: the torn chunk leaves no byte behind.  The
 * file-size limit makes one write short and the next fail (EFBIG), then
 * is lifted. */
START_TEST(test_file_write_fails_mid_chunk)
{
	const struct rlimit fsize = { 200000, RLIM_INFINITY };
	hvlog_writer_config cfg = { .nstreams = 4, .chunk_size = 4096 };
	char path[PATH_MAX];
	hvlog_writer *w;
	hvlog_error err;

	tu_path(path, sizeof path, dir, "efbig.hvl");
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(hvlog_writer_open_path(&w, path, &cfg, &err), HVLOG_OK);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &fsize), 0);
	emit_until_done(w, lift_file_size_limit);
	ck_assert_int_eq(hvlog_writer_close(w, &err), HVLOG_IO);
	ck_assert_int_eq(err.sys_errno, EFBIG);
	check_nothing_hidden(path, 1, 2000); /* the dropped chunk's sequence number is missing */
}
END_TEST

struct slow_reader {
	int fd;
	uint8_t *p;
	size_t n, cap;
};

static void *read_slowly(void *arg)
{
	struct slow_reader *r = arg;

	for (;;) {
		if (r->n + 4096 > r->cap) {
			r->cap = 2 * (r->n + 4096);
			if (!(r->p = realloc(r->p, r->cap)))
				abort();
		}
		ssize_t k = read(r->fd, r->p + r->n, 4096);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return NULL;
		r->n += (size_t)k;
		usleep(50);
	}
}

/* A non-blocking descriptor that is full says EAGAIN: the writer waits,
 * it does not drop the chunk. */
START_TEST(test_nonblocking_fd_full)
{
	hvlog_writer_config cfg = { .nstreams = 4, .chunk_size = 4096 };
	struct slow_reader rd = { 0 };
	char path[PATH_MAX];
	pthread_t t;
	hvlog_writer *w;
	hvlog_error err;
	tu_trace tr;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	ck_assert_int_eq(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	rd.fd = p[0];
	ck_assert_int_eq(pthread_create(&t, NULL, read_slowly, &rd), 0);
	ck_assert_int_eq(hvlog_writer_open_fd(&w, p[1], &cfg, &err), HVLOG_OK);
	emit_until_done(w, NULL);
	ck_assert_msg(hvlog_writer_close(w, &err) == HVLOG_OK, "close: %s", err.msg);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	save(path, "pipe.hvl", rd.p, rd.n);
	free(rd.p);
	tu_read_path(path, 0, &tr);
	ck_assert_uint_eq(tr.ev.n, NWRITE);
	ck_assert_uint_eq(tr.ndmg, 0);
	tu_trace_free(&tr);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("writer and metadata");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_writer_zero_streams_list_not_read);
	tcase_add_loop_test(tc, test_writer_config_arrays_not_overread, 0, 8);
	tcase_add_test(tc, test_builtin_emitters_on_a_small_schema);
	tcase_add_test(tc, test_emit_foreign_event_slots);
	tcase_add_test(tc, test_zero_stream_trace_refused);
	tcase_add_loop_test(tc, test_float_in_metadata, 0, 15);
	tcase_add_test(tc, test_endless_garbage_not_spooled);
	tcase_add_loop_test(tc, test_huge_map_refused, 0, 5);
	tcase_add_loop_test(tc, test_writer_counts_refused, 0, 4);
	tcase_add_test(tc, test_writer_meta_checked_before_buffers);
	tcase_add_test(tc, test_meta_streams_size);
	tcase_add_test(tc, test_cbor_shape);
	suite_add_tcase(s, tc);
	tc = tcase_create("write failures");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_sink_fails_mid_chunk, 0, 2);
	tcase_add_test(tc, test_file_write_fails_mid_chunk);
	tcase_add_test(tc, test_nonblocking_fd_full);
	suite_add_tcase(s, tc);
	tc = tcase_create("siblings");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_siblings_on_a_file);
	tcase_add_test(tc, test_siblings_on_a_pipe);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hostile_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
