/*
 * fuzz_from_json.c - libFuzzer target: `hvlog convert --from json`, the
 * JSON Lines reader (cli/convert_from_json.c, json-c) and the rebuild of
 * a trace from its items (cli/convert_from.c): metadata item, schema,
 * streams, events, lost records.
 *
 * The input is the JSON Lines text, read through a memory FILE by
 * cv_from_json (convert.h) exactly as the command reads a file; the trace
 * it writes goes to a memory file (a memfd, emptied before each input).
 * Besides not crashing or leaking:
 *   - the exit code is one the command documents (0 to 3);
 *   - whatever it accepted (exit 0) is a trace that reads back whole:
 *     it opens, and every item is an event or a lost record, never
 *     damage, with no error before the end.
 * Its messages go to /dev/null (the C stream stderr only: sanitizer
 * reports still reach descriptor 2); set HVLOG_FUZZ_VERBOSE to see them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int out_fd = -1;

static void setup(void)
{
	if ((out_fd = memfd_create("hvlog-fuzz-out", MFD_CLOEXEC)) < 0) {
		perror("memfd_create");
		abort();
	}
	if (!getenv("HVLOG_FUZZ_VERBOSE")) {
		FILE *null = fopen("/dev/null", "w");
		if (!null) {
			perror("/dev/null");
			abort();
		}
		stderr = null;
	}
}

/* The trace written to the memfd reads back whole. */
static void check_output(uint64_t max_items)
{
	hvlog_reader *r = NULL;
	hvlog_error err;
	const hvlog_item *it;
	hvlog_status st;
	uint64_t n = 0;

	if (hvlog_reader_open_fd(&r, out_fd, &err) != HVLOG_OK)
		abort(); /* convert said it wrote a trace */
	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		if (it->kind != HVLOG_ITEM_EVENT && it->kind != HVLOG_ITEM_LOST)
			abort(); /* damage in a trace we just wrote */
		if (++n > max_items)
			abort(); /* more items than input lines */
	}
	if (st != HVLOG_END)
		abort();
	hvlog_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	FILE *in;
	uint64_t lines = 1;
	int code;

	if (len > (1u << 20))
		return 0;
	if (out_fd < 0)
		setup();
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n';
	/* fmemopen(3) wants a size of at least 1 on older C libraries */
	in = len ? fmemopen((void *)data, len, "r") : fopen("/dev/null", "r");
	if (!in)
		abort();
	if (ftruncate(out_fd, 0) != 0 || lseek(out_fd, 0, SEEK_SET) != 0)
		abort();
	code = cv_from_json(in, "fuzz", out_fd, "(memfd)", 0);
	fclose(in);
	if (code < 0 || code > EXIT_IO)
		abort();
	if (code == 0)
		check_output(lines);
	return 0;
}
