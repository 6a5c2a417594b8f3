/*
 * convert_fmt.c - `hvlog convert --to json|csv|cbor`: the library's
 * formatter (hvlog/format.h), the same that writes `hvlog decode --format
 * json`, so the JSON of the two commands is one dialect.
 *
 *   json  JSON Lines: the meta item ({"type":"meta", ...}, so that
 *         `convert --from json` can rebuild the file), then one object per
 *         item; hex parameters "0x..." strings, bools true/false, other
 *         integers above 2^53 decimal strings (--json-integers: every
 *         integer a number, bools 0/1);
 *   csv   RFC 4180 rows after a header row, one column per parameter key
 *         of the selected events (and KEY_name for a value's name);
 *   cbor  an RFC 8742 CBOR sequence: the meta map, then one map per item
 *         with the keys of the JSON objects, every integer exact.
 * Times count from tick t0 (the meta item's "t0", the first event), as
 * `hvlog decode` does.
 */
#include <stdlib.h>

#include "cli.h"
#include "convert.h"

static int fmt_begin(cv_ctx *c, hvlog_format_kind kind)
{
	hvlog_formatter_config cfg = { kind, c->json_ints ? HVLOG_FMT_JSON_INTEGERS : 0, c->t0, c->ev_ok };
	hvlog_formatter *f;
	hvlog_error err = { 0 };
	const char *h;
	size_t n;

	if (hvlog_formatter_create(&f, c->m, &cfg, &err) != HVLOG_OK)
		return cli_fail(c->in_shown, &err);
	if (cv_out_room(&c->out, hvlog_formatter_item_max(f)) != 0) {
		hvlog_formatter_free(f);
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	c->priv = f;
	c->item_max = hvlog_formatter_item_max(f);
	h = hvlog_formatter_header(f, &n);
	cv_put_big(&c->out, h, n);
	return 0;
}

static int json_begin(cv_ctx *c)
{
	return fmt_begin(c, HVLOG_FORMAT_JSON);
}

static int csv_begin(cv_ctx *c)
{
	return fmt_begin(c, HVLOG_FORMAT_CSV);
}

static int cbor_begin(cv_ctx *c)
{
	return fmt_begin(c, HVLOG_FORMAT_CBOR);
}

static int fmt_item(cv_ctx *c, const hvlog_item *it)
{
	const hvlog_formatter *f = c->priv;
	cv_out *o = &c->out;

	cv_reserve(o, c->item_max);
	o->p += hvlog_formatter_item(f, it, o->p, (size_t)(o->end - o->p));
	return 0;
}

static int fmt_end(cv_ctx *c)
{
	hvlog_formatter_free(c->priv);
	c->priv = NULL;
	return 0;
}

const cv_format cv_format_json = { "json", 0, 0, json_begin, fmt_item, fmt_end };
const cv_format cv_format_csv = { "csv", 0, 0, csv_begin, fmt_item, fmt_end };
const cv_format cv_format_cbor = { "cbor", 0, 1, cbor_begin, fmt_item, fmt_end };
