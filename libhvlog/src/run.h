/*
 * run.h - the item loop of hvlog_select_run (hvlog/select.h), inlined
 * into the runs that give it a step known at compile time
 * (hvlog_stats_run), so that step costs no indirect call per item.
 */
#ifndef HVLOG_RUN_H
#define HVLOG_RUN_H

#include "hvlog/select.h"

/* Whether reader r, as set up, hands out only items that selection s
 * passes (select.c). */
int hvlog__select_done_by(const hvlog_select *s, const hvlog_reader *r);

static inline __attribute__((always_inline)) hvlog_status
hvlog__run(hvlog_reader *r, const hvlog_select *s, uint64_t limit, hvlog_item_fn fn, void *ctx,
	   hvlog_run_counts *counts, hvlog_error *err)
{
	hvlog_run_counts local = { 0 }, *n = counts ? counts : &local;
	uint64_t events = 0;
	const hvlog_item *it;
	hvlog_status st;

	if (s && hvlog__select_done_by(s, r))
		s = NULL; /* the reader's group mask does all the selecting: no test per item */
	while (events < limit) {
		if ((st = hvlog_reader_next(r, &it, err)) != HVLOG_OK)
			return st;
		if (s && !hvlog_select_match(s, it))
			continue;
		if (HVLOG_LIKELY(it->kind == HVLOG_ITEM_EVENT)) {
			n->events++;
			events++;
		} else if (it->kind == HVLOG_ITEM_LOST) {
			n->lost++;
		} else {
			n->damage++;
		}
		if (fn(ctx, it))
			return HVLOG_OK;
	}
	return HVLOG_END;
}

#endif
