/*
 * convert_from_cbor.c - `hvlog convert --from cbor`: a CBOR sequence (as
 * written by `convert --to cbor`) back to an hvlog trace.
 *
 * Items are read one at a time from a buffer that holds at least the
 * current item.  Before libcbor builds an item's tree (cbor_load), the
 * library's pass over its bytes (hvlog_cbor_shape, as for the metadata
 * of a file) checks its shape: cbor_load allocates from declared sizes,
 * so an array header of a few bytes declaring 2^26 entries would make it
 * zero-fill half a gigabyte, nested ones gigabytes.  The pass refuses a
 * declared size larger than the bytes the item may still have (each entry
 * takes at least one), more than MAX_VALUES values, nesting deeper than
 * HVLOG_CBOR_MAX_DEPTH, indefinite lengths and tags (which --to cbor never
 * writes), and finds where the item ends; only a complete item is loaded,
 * so every entry cbor_load allocates for is there.  The buffer grows only for an item larger than
 * it, up to MAX_ITEM: memory is bounded by the largest item.
 */
#include <cbor.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

/* The metadata item is the largest: the file's metadata (at most 1 MiB,
 * docs/FORMAT.md section 8.1) in the same layout plus a few fields. */
#define MAX_ITEM (4u << 20)
#define MAX_VALUES (1u << 20) /* values in one item: each takes a byte or more */

static cbor_item_t *C(cv_node *n)
{
	return (cbor_item_t *)n;
}

/* Whether it is the simple value v (false, true, null, undefined).
 * libcbor's cbor_is_null(), cbor_is_bool() and cbor_ctrl_value() assert
 * that a major-type-7 item is not a float, so a float (1.5 in a field
 * that may be null) must be told apart by its width first. */
static int ctrl_is(const cbor_item_t *it, uint8_t v)
{
	return cbor_isa_float_ctrl(it) && cbor_float_get_width(it) == CBOR_FLOAT_0 && cbor_ctrl_value(it) == v;
}

static int is_nothing(const cbor_item_t *it)
{
	return ctrl_is(it, CBOR_CTRL_NULL) || ctrl_is(it, CBOR_CTRL_UNDEF);
}

static int str_eq(const cbor_item_t *s, const char *k)
{
	size_t n = strlen(k);

	return cbor_isa_string(s) && cbor_string_is_definite(s) && cbor_string_length(s) == n &&
	       !memcmp(cbor_string_handle(s), k, n);
}

static cv_node *c_get(cv_node *n, const char *k)
{
	struct cbor_pair *pairs;
	size_t np;

	if (!n || !cbor_isa_map(C(n)))
		return NULL;
	pairs = cbor_map_handle(C(n));
	np = cbor_map_size(C(n));
	for (size_t i = 0; i < np; i++)
		if (str_eq(pairs[i].key, k))
			return is_nothing(pairs[i].value) ? NULL : (cv_node *)pairs[i].value;
	return NULL;
}

static long c_len(cv_node *n)
{
	return n && cbor_isa_array(C(n)) && cbor_array_is_definite(C(n)) ? (long)cbor_array_size(C(n)) : -1;
}

static cv_node *c_at(cv_node *n, size_t i)
{
	return (cv_node *)cbor_array_handle(C(n))[i];
}

static int c_str(cv_node *n, char *buf, size_t cap)
{
	size_t len;

	if (!n || !cbor_isa_string(C(n)) || !cbor_string_is_definite(C(n)))
		return -1;
	len = cbor_string_length(C(n));
	if (len >= cap || memchr(cbor_string_handle(C(n)), 0, len))
		return -1;
	memcpy(buf, cbor_string_handle(C(n)), len);
	buf[len] = 0;
	return 0;
}

static int c_uint(cv_node *n, uint64_t *v)
{
	char buf[40];

	if (!n)
		return -1;
	if (cbor_isa_uint(C(n))) {
		*v = cbor_get_int(C(n));
		return 0;
	}
	if (ctrl_is(C(n), CBOR_CTRL_FALSE) || ctrl_is(C(n), CBOR_CTRL_TRUE)) {
		*v = ctrl_is(C(n), CBOR_CTRL_TRUE);
		return 0;
	}
	return c_str(n, buf, sizeof buf) == 0 ? cv_parse_uint(buf, v) : -1;
}

static int c_sint(cv_node *n, int64_t *v)
{
	uint64_t u;

	if (!n)
		return -1;
	if (cbor_isa_uint(C(n)) && (u = cbor_get_int(C(n))) <= INT64_MAX) {
		*v = (int64_t)u;
		return 0;
	}
	if (cbor_isa_negint(C(n)) && (u = cbor_get_int(C(n))) <= INT64_MAX) {
		*v = -1 - (int64_t)u;
		return 0;
	}
	return -1;
}

static int c_is_null(cv_node *n)
{
	return !n || is_nothing(C(n));
}

static int c_entry(cv_node *n, size_t i, char *key, size_t cap, cv_node **value)
{
	if (!n || !cbor_isa_map(C(n)) || i >= cbor_map_size(C(n)))
		return 0;
	struct cbor_pair *pair = &cbor_map_handle(C(n))[i];
	if (c_str((cv_node *)pair->key, key, cap) != 0)
		return -1;
	*value = is_nothing(pair->value) ? NULL : (cv_node *)pair->value;
	return 1;
}

static const cv_node_ops cbor_ops = { c_get, c_len, c_at, c_uint, c_sint, c_str, c_is_null, c_entry };

int cv_from_cbor(FILE *in, const char *shown, int out_fd, const char *out_shown, uint64_t in_size)
{
	size_t cap = 1u << 20, start = 0, end = 0;
	unsigned char *buf = malloc(cap);
	uint64_t offset = 0, n = 0; /* offset of buf[start] in the input */
	cv_rebuild *b = NULL;
	cv_progress prog;
	int code = 0, eof = 0;

	if (!buf) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	cv_progress_start(&prog, "converting", in_size);
	for (;;) {
		struct cbor_load_result res = { 0 };
		cbor_item_t *item = NULL;
		const char *why = NULL;
		size_t len = 0;
		/* (end - start <= MAX_ITEM) */
		hvlog_status shape = start < end ? hvlog_cbor_shape(buf + start, end - start, eof ? end - start : MAX_ITEM,
								    MAX_VALUES, &len, &why)
						 : HVLOG_TRUNCATED;

		if (shape == HVLOG_TRUNCATED) {
			size_t got;
			if (eof) {
				if (start < end) {
					cli_error(shown, offset, "the last CBOR item is cut short");
					code = EXIT_DATA;
				}
				break;
			}
			/* make room: move what is left to the front, grow if full */
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
			if (end == cap) {
				unsigned char *nb;
				if (cap >= MAX_ITEM || !(nb = realloc(buf, cap * 2))) {
					cli_error(shown, offset, "a CBOR item larger than %u bytes", MAX_ITEM);
					code = EXIT_DATA;
					break;
				}
				buf = nb;
				cap *= 2;
			}
			got = fread(buf + end, 1, cap - end, in);
			end += got;
			if (got == 0) {
				if (ferror(in)) {
					cli_error(shown, offset + (end - start), "read error: %s", strerror(errno));
					code = EXIT_IO;
					break;
				}
				eof = 1;
			}
			continue;
		}
		if (shape != HVLOG_OK) {
			cli_error(shown, offset + len, "a CBOR item %s", why ? why : "is not CBOR");
			code = EXIT_DATA;
			break;
		}
		if (!(item = cbor_load(buf + start, len, &res)) || res.read != len) {
			cli_error(shown, offset + res.error.position, "not a CBOR item (libcbor error %d)",
				  (int)res.error.code);
			if (item)
				cbor_decref(&item);
			code = res.error.code == CBOR_ERR_MEMERROR ? EXIT_IO : EXIT_DATA;
			break;
		}
		if (!b) {
			cv_node *t = c_get((cv_node *)item, "type");
			char type[8];
			int is_meta = t && c_str(t, type, sizeof type) == 0 && !strcmp(type, "meta");
			b = cv_rebuild_open(&cbor_ops, is_meta ? (cv_node *)item : NULL, out_fd, out_shown, shown, &code);
			if (!b || is_meta) {
				cbor_decref(&item);
				if (!b)
					break;
				start += res.read;
				offset += res.read;
				continue;
			}
		}
		if (!cbor_isa_map(item)) {
			cli_error(shown, offset, "each CBOR item must be a map");
			code = EXIT_DATA;
		} else {
			code = cv_rebuild_item(b, (cv_node *)item, offset);
		}
		cbor_decref(&item);
		if (code)
			break;
		start += res.read;
		offset += res.read;
		if (!(++n & 0xfff))
			cv_progress_update(&prog, offset, n);
	}
	cv_progress_end(&prog);
	if (!b && !code) {
		/* no metadata and no item: not what --to cbor writes */
		cli_error(shown, UINT64_MAX, "no items: not a CBOR sequence of a trace (even an empty one has its metadata)");
		code = EXIT_DATA;
	}
	if (b)
		code = cv_rebuild_close(b, code);
	free(buf);
	return code;
}
