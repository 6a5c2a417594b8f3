/*
 * convert_perfetto.c - `hvlog convert --to perfetto`: glue between the
 * conversion loop and libhvlog-perfetto (hvlog/perfetto.h), which does
 * all the work; its bytes go through the conversion's output buffer.
 */
#include <stdlib.h>

#include "cli.h"
#include "convert.h"
#include "hvlog/perfetto.h"

static int sink(void *user, const void *buf, size_t len)
{
	cv_out *o = user;
	const char *p = buf;

	while (len && !o->failed) {
		size_t n = len < CV_ITEM_MAX ? len : CV_ITEM_MAX;
		cv_reserve(o, n);
		cv_mem(o, p, n);
		p += n;
		len -= n;
	}
	return o->failed ? o->err : 0;
}

static int report(hvlog_status st, const hvlog_error *err)
{
	cli_error(NULL, UINT64_MAX, "%s", err->msg);
	return st == HVLOG_IO ? EXIT_IO : EXIT_DATA;
}

static int perfetto_begin(cv_ctx *c)
{
	hvlog_perfetto_config cfg = { .t0 = c->t0 };
	hvlog_perfetto *w;
	hvlog_error err;
	hvlog_status st = hvlog_perfetto_open(&w, c->m, &cfg, sink, &c->out, &err);

	if (st != HVLOG_OK)
		return report(st, &err);
	c->priv = w;
	return 0;
}

static int perfetto_item(cv_ctx *c, const hvlog_item *it)
{
	hvlog_error err;
	hvlog_status st = hvlog_perfetto_item(c->priv, it, &err);

	return st == HVLOG_OK ? 0 : report(st, &err);
}

static int perfetto_end(cv_ctx *c)
{
	hvlog_error err;
	hvlog_status st = hvlog_perfetto_close(c->priv, &err);

	c->priv = NULL;
	return st == HVLOG_OK ? 0 : report(st, &err);
}

const cv_format cv_format_perfetto = { "perfetto", 0, 1, perfetto_begin, perfetto_item, perfetto_end };
