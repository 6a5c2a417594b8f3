/*
 * where_json - the events of a trace that satisfy a --where expression,
 * as JSON Lines: a filter through the library's selection (hvlog/select.h)
 * and its JSON formatter (hvlog/format.h).
 *
 *   ./where_json trace.hvlog 'port == 0x3f8 && value != 0'
 *
 * The same as `hvlog decode --format json --where EXPR trace.hvlog`
 * (the meta line, then the events), without lost-event records.  A bad expression is an error with its
 * column; damage in the trace is reported and makes the exit status 1.
 */
#include <inttypes.h>
#include <stdio.h>

#include <hvlog/hvlog.h>

int main(int argc, char **argv)
{
	static char line[HVLOG_FORMAT_MAX];
	hvlog_reader *r;
	hvlog_select *s = NULL;
	hvlog_formatter *f = NULL;
	const char *head;
	size_t n;
	const hvlog_item *it;
	hvlog_reader_stats st;
	hvlog_error err;
	hvlog_status rc;
	int bad = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: where_json TRACE EXPR\n");
		return 2;
	}
	if (hvlog_reader_open_path(&r, argv[1], &err) != HVLOG_OK) {
		fprintf(stderr, "where_json: %s: %s\n", argv[1], err.msg);
		return 1;
	}
	const hvlog_meta *m = hvlog_reader_meta(r);
	hvlog_reader_stats_get(r, &st); /* times count from the first event */
	/* compiled against the file's own schema: its names, its parameters */
	if (hvlog_select_create(&s, m, st.first_ts, &err) != HVLOG_OK ||
	    hvlog_select_add(s, HVLOG_SEL_WHERE, argv[2], &err) != HVLOG_OK) {
		if (err.offset != UINT64_MAX)
			fprintf(stderr, "where_json: column %" PRIu64 ": %s\n", err.offset + 1, err.msg);
		else
			fprintf(stderr, "where_json: %s\n", err.msg);
		hvlog_select_free(s);
		hvlog_reader_close(r);
		return 2;
	}
	hvlog_select_apply(s, r); /* the reader skips the groups no event can match */
	/* JSON Lines in the dialect of hvlog decode and convert: a meta line first */
	hvlog_formatter_config cfg = { .kind = HVLOG_FORMAT_JSON, .t0 = st.first_ts };
	if (hvlog_formatter_create(&f, m, &cfg, &err) != HVLOG_OK) {
		fprintf(stderr, "where_json: %s\n", err.msg);
		hvlog_select_free(s);
		hvlog_reader_close(r);
		return 1;
	}
	head = hvlog_formatter_header(f, &n);
	fwrite(head, 1, n, stdout);
	while ((rc = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		if (!hvlog_select_match(s, it))
			continue;
		if (it->kind == HVLOG_ITEM_EVENT) {
			fwrite(line, 1, hvlog_formatter_item(f, it, line, sizeof line), stdout);
		} else if (it->kind == HVLOG_ITEM_DAMAGE) {
			fprintf(stderr, "where_json: %s:%" PRIu64 ": %s\n", argv[1], it->offset, it->damage_msg);
			bad = 1;
		}
	}
	if (rc != HVLOG_END) {
		fprintf(stderr, "where_json: %s: %s\n", argv[1], err.msg);
		bad = 1;
	}
	hvlog_formatter_free(f);
	hvlog_select_free(s);
	hvlog_reader_close(r);
	return bad;
}
