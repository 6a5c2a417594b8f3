/*
 * convert_from_json.c - `hvlog convert --from json`: JSON Lines (as
 * written by `convert --to json`, or by hand) back to an hvlog trace.
 *
 * Parsed with json-c, one line at a time (memory is one line's object).
 * json-c keeps integers up to 2^64 - 1 exact (it stores unsigned 64-bit
 * values as such), so every u64 parameter survives; jansson, the other
 * Debian JSON library, stops at INT64_MAX.  Blank lines are skipped.
 * The input must be UTF-8 (json-c checks it).
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

static json_object *J(cv_node *n)
{
	return (json_object *)n;
}

static cv_node *j_get(cv_node *n, const char *k)
{
	json_object *v = NULL;

	if (!n || !json_object_is_type(J(n), json_type_object) || !json_object_object_get_ex(J(n), k, &v))
		return NULL;
	return (cv_node *)v; /* NULL for a JSON null: as if missing */
}

static long j_len(cv_node *n)
{
	return n && json_object_is_type(J(n), json_type_array) ? (long)json_object_array_length(J(n)) : -1;
}

static cv_node *j_at(cv_node *n, size_t i)
{
	return (cv_node *)json_object_array_get_idx(J(n), i);
}

static int j_uint(cv_node *n, uint64_t *v)
{
	int64_t i;

	if (!n)
		return -1;
	switch (json_object_get_type(J(n))) {
	case json_type_int:
		i = json_object_get_int64(J(n));
		if (i < 0)
			return -1;
		/* json-c answers INT64_MAX for larger values as int64 */
		*v = i == INT64_MAX ? json_object_get_uint64(J(n)) : (uint64_t)i;
		return 0;
	case json_type_boolean:
		*v = json_object_get_boolean(J(n)) ? 1 : 0;
		return 0;
	case json_type_string:
		return cv_parse_uint(json_object_get_string(J(n)), v);
	default:
		return -1;
	}
}

static int j_sint(cv_node *n, int64_t *v)
{
	if (!n || !json_object_is_type(J(n), json_type_int))
		return -1;
	*v = json_object_get_int64(J(n));
	return 0;
}

static int j_str(cv_node *n, char *buf, size_t cap)
{
	int len;

	if (!n || !json_object_is_type(J(n), json_type_string))
		return -1;
	len = json_object_get_string_len(J(n));
	if ((size_t)len >= cap || memchr(json_object_get_string(J(n)), 0, (size_t)len))
		return -1;
	memcpy(buf, json_object_get_string(J(n)), (size_t)len + 1);
	return 0;
}

static int j_is_null(cv_node *n)
{
	return !n || json_object_is_type(J(n), json_type_null);
}

static const cv_node_ops json_ops = { j_get, j_len, j_at, j_uint, j_sint, j_str, j_is_null };

/* Parse one line; NULL with a message on error. */
static json_object *parse_line(json_tokener *tok, const char *shown, uint64_t lineno, const char *line, size_t len)
{
	json_object *o;
	size_t used;

	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		cli_error(shown, lineno, "not JSON: %s",
			  e == json_tokener_continue ? "the object is not complete" : json_tokener_error_desc(e));
		json_object_put(o);
		return NULL;
	}
	used = json_tokener_get_parse_end(tok);
	while (used < len && strchr(" \t\r\n", line[used]))
		used++;
	if (used < len || !json_object_is_type(o, json_type_object)) {
		cli_error(shown, lineno, "each line must hold one JSON object");
		json_object_put(o);
		return NULL;
	}
	return o;
}

int cv_from_json(FILE *in, const char *shown, int out_fd, const char *out_shown, uint64_t in_size)
{
	json_tokener *tok = json_tokener_new_ex(64);
	cv_rebuild *b = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t lineno = 0, events, lost, skipped;
	cv_progress prog;
	int code = 0;

	if (!tok) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	/* JSON is UTF-8 (RFC 8259); names that are not would make metadata
	 * the reader rejects (CBOR text must be UTF-8) */
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	cv_progress_start(&prog, "converting", in_size);
	while ((len = getline(&line, &cap, in)) > 0) {
		json_object *o;
		lineno++;
		if (!line[strspn(line, " \t\r\n")])
			continue;
		if (!(o = parse_line(tok, shown, lineno, line, (size_t)len))) {
			code = EXIT_DATA;
			break;
		}
		if (!b) {
			json_object *t = NULL;
			int is_meta = json_object_object_get_ex(o, "type", &t) && json_object_is_type(t, json_type_string) &&
				      !strcmp(json_object_get_string(t), "meta");
			b = cv_rebuild_open(&json_ops, is_meta ? (cv_node *)o : NULL, out_fd, out_shown, shown, &code);
			if (!b || is_meta) {
				json_object_put(o);
				if (!b)
					break;
				continue;
			}
		}
		code = cv_rebuild_item(b, (cv_node *)o, lineno);
		json_object_put(o);
		if (code)
			break;
		if (!(lineno & 0xfff))
			cv_progress_update(&prog, (uint64_t)ftello(in));
	}
	cv_progress_end(&prog);
	if (!code && ferror(in)) {
		cli_error(shown, UINT64_MAX, "read error");
		code = EXIT_IO;
	}
	if (!b && !code) /* empty input: an empty trace */
		b = cv_rebuild_open(&json_ops, NULL, out_fd, out_shown, shown, &code);
	if (b) {
		cv_rebuild_counts(b, &events, &lost, &skipped);
		code = cv_rebuild_close(b, code);
	}
	free(line);
	json_tokener_free(tok);
	return code;
}
