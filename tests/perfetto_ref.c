/*
 * perfetto_ref.c TRACE... - libhvlog-perfetto's own packer of instants and
 * counters against protobuf-c's generic one: each trace is converted
 * twice, once with hvlog_perfetto_config.reference_packer, and the two
 * outputs must be the same bytes.  Damage in a trace is converted like
 * any item.  Exit 0 if every trace agrees, 1 otherwise.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "hvlog/perfetto.h"

typedef struct mem {
	unsigned char *p;
	size_t len, cap;
} mem;

static int put(void *user, const void *buf, size_t len)
{
	mem *m = user;

	if (m->len + len > m->cap) {
		size_t cap = (m->len + len) * 2;
		unsigned char *p = realloc(m->p, cap);
		if (!p)
			return 12; /* ENOMEM */
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

/* Converts path with the given packer; -1 if the writer failed. */
static int convert(const char *path, int reference, mem *out, uint64_t *items)
{
	hvlog_reader *r;
	hvlog_perfetto *w;
	hvlog_error err;
	const hvlog_item *it;
	const hvlog_item *first;
	uint64_t t0 = 0;
	hvlog_status st;

	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		return -1;
	}
	/* t0: the first item's tick (any tick will do: both runs use it) */
	if (hvlog_reader_next(r, &first, &err) == HVLOG_OK)
		t0 = first->ts;
	hvlog_reader_close(r);
	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK)
		return -1;
	hvlog_perfetto_config cfg = { .t0 = t0, .reference_packer = reference };
	if (hvlog_perfetto_open(&w, hvlog_reader_meta(r), &cfg, put, out, &err) != HVLOG_OK) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		hvlog_reader_close(r);
		return -1;
	}
	*items = 0;
	while (hvlog_reader_next(r, &it, &err) == HVLOG_OK) {
		if (hvlog_perfetto_item(w, it, &err) != HVLOG_OK) {
			fprintf(stderr, "%s: %s\n", path, err.msg);
			break;
		}
		++*items;
	}
	st = hvlog_perfetto_close(w, &err);
	hvlog_reader_close(r);
	return st == HVLOG_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		mem fast = { 0 }, ref = { 0 };
		uint64_t n1 = 0, n2 = 0;
		if (convert(argv[i], 0, &fast, &n1) != 0 || convert(argv[i], 1, &ref, &n2) != 0) {
			printf("FAIL: %s: the conversion failed\n", argv[i]);
			bad = 1;
		} else if (fast.len != ref.len || memcmp(fast.p, ref.p, fast.len)) {
			size_t k = 0;
			while (k < fast.len && k < ref.len && fast.p[k] == ref.p[k])
				k++;
			printf("FAIL: %s: %zu bytes, reference %zu; first difference at byte %zu\n", argv[i], fast.len,
			       ref.len, k);
			bad = 1;
		} else if (n1 == 0) {
			printf("FAIL: %s: no items\n", argv[i]);
			bad = 1;
		} else {
			printf("ok: %s: %" PRIu64 " items, %zu bytes, the same with protobuf-c's packer\n", argv[i], n1,
			       fast.len);
		}
		free(fast.p);
		free(ref.p);
	}
	return bad;
}
