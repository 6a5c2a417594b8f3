/*
 * test_hostile.c - the hostile-input campaign at the library level: each
 * test is one class of input a caller or a file's author may hand the
 * library to make it read out of bounds, allocate without bound or lose
 * data (docs/SECURITY.md).  Run under ASan and UBSan by scripts/test.sh.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
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

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("writer and metadata");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_writer_zero_streams_list_not_read);
	tcase_add_test(tc, test_zero_stream_trace_refused);
	tcase_add_test(tc, test_endless_garbage_not_spooled);
	tcase_add_loop_test(tc, test_huge_map_refused, 0, 5);
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
