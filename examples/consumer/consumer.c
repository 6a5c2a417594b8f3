/*
 * consumer - the smallest libhvlog reader: every event of a trace in time
 * order, printed as two fields: nanoseconds since the first event and the
 * event's symbol.  Lost events and damage are items of their own.
 *
 *   ./consumer trace.hvlog
 */
#include <inttypes.h>
#include <stdio.h>

#include <hvlog/hvlog.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "-";
	hvlog_reader *r;
	const hvlog_item *it;
	hvlog_reader_stats st;
	hvlog_error err;
	hvlog_status s;
	int damaged = 0;

	if (hvlog_reader_open_path(&r, path, &err) != HVLOG_OK) {
		fprintf(stderr, "consumer: %s: %s\n", path, err.msg);
		return 1;
	}
	const hvlog_meta *m = hvlog_reader_meta(r);
	hvlog_reader_stats_get(r, &st); /* st.first_ts: the first event's tick */
	while ((s = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		uint64_t ns = hvlog_ticks_to_ns(it->ts, st.first_ts, m->clock_hz);
		if (it->kind == HVLOG_ITEM_EVENT)
			printf("%" PRIu64 " %s\n", ns, it->event->symbol);
		else if (it->kind == HVLOG_ITEM_LOST)
			printf("%" PRIu64 " LOST %" PRIu64 "\n", ns, it->lost_count);
		else
			damaged = 1;
	}
	if (s != HVLOG_END)
		fprintf(stderr, "consumer: %s: %s\n", path, err.msg);
	hvlog_reader_close(r);
	return s != HVLOG_END || damaged;
}
