/*
 * convert_from_json.c - `hvlog convert --from json`: JSON Lines (as
 * written by `convert --to json`, or by hand) back to an hvlog trace.
 *
 * Parsed with json-c, one line at a time (memory is one line's object).
 * json-c keeps integers up to 2^64 - 1 exact (it stores unsigned 64-bit
 * values as such), so every u64 parameter survives; jansson, the other
 * Debian JSON library, stops at INT64_MAX.  Blank lines are skipped.
 * The input must be UTF-8 (json-c checks it) without NUL bytes, in lines
 * of at most CV_JSON_LINE_MAX bytes: the metadata line of the largest
 * schema the format allows is a few MiB, an event's under 64 KiB, so a
 * longer line (/dev/zero, a file without newlines) is refused rather
 * than read into ever more memory.  json-c's tree takes some 70 bytes per
 * value, so a line's values (keys included) are counted in its text
 * before it is parsed: more than CV_JSON_VALUES_MAX (2^20, more than the
 * 1 MiB of metadata a trace may have can hold, each of its values taking
 * a byte or more) is refused, which bounds the tree to some 75 MB.
 */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convert.h"

#define CV_JSON_VALUES_MAX (1u << 20)

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
		/* as j_str: a NUL in it (\u0000) would end the number early */
		if (memchr(json_object_get_string(J(n)), 0, (size_t)json_object_get_string_len(J(n))))
			return -1;
		return cv_parse_uint(json_object_get_string(J(n)), v);
	default:
		return -1;
	}
}

static int j_sint(cv_node *n, int64_t *v)
{
	const char *t;
	char *end;

	if (n && json_object_is_type(J(n), json_type_string)) {
		/* a decimal string, as --to json writes beyond 2^53 */
		t = json_object_get_string(J(n));
		if (!(isdigit((unsigned char)t[0]) || (t[0] == '-' && isdigit((unsigned char)t[1]))))
			return -1;
		errno = 0;
		*v = strtoll(t, &end, 10);
		return errno || *end ? -1 : 0;
	}
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

static int j_entry(cv_node *n, size_t i, char *key, size_t cap, cv_node **value)
{
	size_t k = 0;

	if (!n || !json_object_is_type(J(n), json_type_object))
		return 0;
	json_object_object_foreach(J(n), name, v) { /* (a map of the meta item: a few hundred entries) */
		if (k++ != i)
			continue;
		if (strlen(name) >= cap)
			return -1;
		strcpy(key, name);
		*value = (cv_node *)v;
		return 1;
	}
	return 0;
}

static const cv_node_ops json_ops = { j_get, j_len, j_at, j_uint, j_sint, j_str, j_is_null, j_entry };

/* ---- lines, at most CV_JSON_LINE_MAX bytes each ---------------------------- */
struct lines {
	FILE *f;
	char *buf;
	size_t cap, start, end; /* buf[start..end) is read, not yet returned */
	uint64_t consumed;      /* input bytes before buf[start] */
	int eof;
	int err;                /* errno of a failed read */
};

enum { LINE_OK, LINE_END, LINE_LONG, LINE_NOMEM, LINE_ERROR };

/* The next line (its newline included, if any) in *line, *len bytes. */
static int next_line(struct lines *l, char **line, size_t *len)
{
	size_t scanned = 0;

	for (;;) {
		size_t unscanned = l->end - l->start - scanned;
		char *nl = unscanned ? memchr(l->buf + l->start + scanned, '\n', unscanned) : NULL;
		size_t got;
		if (nl || (l->eof && l->end > l->start)) {
			*line = l->buf + l->start;
			*len = nl ? (size_t)(nl - *line) + 1 : l->end - l->start;
			l->start += *len;
			l->consumed += *len;
			return *len > CV_JSON_LINE_MAX ? LINE_LONG : LINE_OK;
		}
		if (l->eof)
			return LINE_END;
		scanned = l->end - l->start;
		if (scanned > CV_JSON_LINE_MAX)
			return LINE_LONG;
		if (scanned)
			memmove(l->buf, l->buf + l->start, scanned);
		l->end = scanned;
		l->start = 0;
		if (l->cap - l->end < 65536) {
			size_t ncap = l->cap ? l->cap * 2 : 1u << 20;
			char *nb = realloc(l->buf, ncap);
			if (!nb)
				return LINE_NOMEM;
			l->buf = nb;
			l->cap = ncap;
		}
		got = fread(l->buf + l->end, 1, l->cap - l->end, l->f);
		l->end += got;
		if (!got) {
			if (ferror(l->f))
				return l->err = errno, LINE_ERROR;
			l->eof = 1;
		}
	}
}

/* A line's text checked before json-c parses it.  json-c keeps an
 * integer beyond 64 bits as UINT64_MAX or INT64_MIN without a word: an
 * integer above 2^64 - 1 or below -2^63 is refused with the key it is the
 * value of (or is in an array of).  And its values are counted: every
 * '[', '{', ',' and ':' outside strings begins one more (a key or a
 * value), at most CV_JSON_VALUES_MAX.  0, or -1 reported. */
static int check_line(const char *line, size_t len, const char *shown, uint64_t lineno)
{
	const char *p = line, *end = line + len, *key = "", *str = NULL;
	size_t keylen = 0, strlen_ = 0;
	uint64_t values = 1;

	while (p < end) {
		if ((*p == '[' || *p == '{' || *p == ',' || *p == ':') && ++values > CV_JSON_VALUES_MAX) {
			cli_error(shown, lineno, "more than %u values in one line (more than the metadata of a trace "
				  "can have)", CV_JSON_VALUES_MAX);
			return -1;
		}
		if (*p == '"') {
			str = ++p;
			while (p < end && *p != '"')
				p += *p == '\\' ? 2 : 1;
			strlen_ = (size_t)(p - str);
			p++;
			continue;
		}
		if (*p == ':' && str) {
			key = str;
			keylen = strlen_ < HVLOG_MAX_NAME ? strlen_ : HVLOG_MAX_NAME;
			str = NULL;
		}
		if (*p == '-' || (*p >= '0' && *p <= '9')) {
			const char *num = p, *digits = p + (*p == '-');
			int integer = 1;
			size_t nd;
			while (p < end && strchr("0123456789+-.eE", *p) && *p) {
				integer &= !strchr(".eE", *p);
				p++;
			}
			while (digits + 1 < p && *digits == '0') /* (not JSON, but json-c may take it) */
				digits++;
			nd = (size_t)(p - digits);
			if (integer && nd >= 19) {
				const char *max = *num == '-' ? "9223372036854775808" : "18446744073709551615";
				size_t nmax = strlen(max);
				if (nd > nmax || (nd == nmax && memcmp(digits, max, nmax) > 0)) {
					size_t shown_len = (size_t)(p - num) < 40 ? (size_t)(p - num) : 40;
					cli_error(shown, lineno, "'%.*s': %.*s is out of range (%s)", (int)keylen, key,
						  (int)shown_len, num, *num == '-' ? "below -2^63" : "above 2^64 - 1");
					return -1;
				}
			}
			continue;
		}
		p++;
	}
	return 0;
}

/* Whether the line (not NUL-terminated) is only white space. */
static int blank(const char *line, size_t len)
{
	while (len && strchr(" \t\r\n", *line) && *line)
		line++, len--;
	return !len;
}

/* Parse one line; NULL with a message on error. */
static json_object *parse_line(json_tokener *tok, const char *shown, uint64_t lineno, const char *line, size_t len)
{
	json_object *o;
	size_t used;
	const char *nul = memchr(line, 0, len);

	if (nul) {
		cli_error(shown, lineno, "not JSON: a NUL byte at column %zu", (size_t)(nul - line) + 1);
		return NULL;
	}
	if (check_line(line, len, shown, lineno) != 0)
		return NULL;
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
	struct lines lines = { .f = in };
	cv_rebuild *b = NULL;
	char *line;
	size_t len;
	uint64_t lineno = 0;
	cv_progress prog;
	int code = 0, got;

	if (!tok) {
		cli_error(NULL, UINT64_MAX, "out of memory");
		return EXIT_IO;
	}
	/* JSON is UTF-8 (RFC 8259); names that are not would make metadata
	 * the reader rejects (CBOR text must be UTF-8) */
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	cv_progress_start(&prog, "converting", in_size);
	while ((got = next_line(&lines, &line, &len)) == LINE_OK) {
		json_object *o;
		lineno++;
		if (blank(line, len))
			continue;
		if (!(o = parse_line(tok, shown, lineno, line, len))) {
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
			cv_progress_update(&prog, lines.consumed, lineno);
	}
	cv_progress_end(&prog);
	if (!code && got != LINE_END) {
		/* at the line being read */
		if (got == LINE_LONG)
			cli_error(shown, lineno + 1, "a line longer than %u bytes: not JSON Lines", CV_JSON_LINE_MAX);
		else if (got == LINE_NOMEM)
			cli_error(shown, lineno + 1, "out of memory for a line of over %zu bytes", lines.end);
		else
			cli_error(shown, lineno + 1, "read error: %s", strerror(lines.err));
		code = got == LINE_LONG ? EXIT_DATA : EXIT_IO;
	}
	if (!b && !code) {
		/* no metadata and no item: not what --to json writes */
		cli_error(shown, UINT64_MAX, "no items: not JSON Lines of a trace (even an empty one has a meta line)");
		code = EXIT_DATA;
	}
	if (b)
		code = cv_rebuild_close(b, code);
	free(lines.buf);
	json_tokener_free(tok);
	return code;
}
