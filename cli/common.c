#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *file, uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("hvlog: ", stderr);
	if (file)
		fprintf(stderr, offset == UINT64_MAX ? "%s: " : "%s:%llu: ", file, (unsigned long long)offset);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void cli_json_stream(const hvlog_meta *m, uint32_t s)
{
	printf("\"stream\":%u,\"name\":", s);
	cli_json_str(m->streams[s].name);
	printf(",\"partition\":%llu,\"vp\":", (unsigned long long)m->streams[s].partition_id);
	if (m->streams[s].vp_index == UINT32_MAX)
		printf("null");
	else
		printf("%u", m->streams[s].vp_index);
}

void cli_vp_cell(char *buf, size_t size, uint32_t vp_index)
{
	if (vp_index == UINT32_MAX)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%u", vp_index);
}

const char *cli_tty(const char *s)
{
	static char bufs[8][HVLOG_MAX_NAME * 4 + 1];
	static unsigned next;
	char *b = bufs[next++ % 8];
	size_t i = 0;

	for (; s && *s && i < sizeof bufs[0] - 1; s++) {
		/* C1 controls (UTF-8 C2 80..C2 9F) too, as "??" */
		int c1 = (unsigned char)s[0] == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f;
		b[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f || c1) ? '?' : *s;
		if (c1 && i < sizeof bufs[0] - 1)
			b[i++] = '?', s++;
	}
	b[i] = 0;
	return b;
}

/* Columns of code point c on a terminal: 2 for the wide (East Asian,
 * emoji) ranges, 0 for combining marks, else 1. */
static unsigned cp_width(uint32_t c)
{
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f }, { 0x2e80, 0xa4cf }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
		{ 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
		{ 0x1f900, 0x1f9ff }, { 0x20000, 0x3fffd },
	};

	if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f))
		return 0;
	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
		if (c >= wide[i][0] && c <= wide[i][1])
			return 2;
	return 1;
}

size_t cli_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t w = 0;

	while (*p) {
		unsigned n = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 0;
		uint32_t c = n ? *p & (0x3f >> n) : *p;
		unsigned k = 0;
		while (k < n && (p[k + 1] & 0xc0) == 0x80)
			c = c << 6 | (p[++k] & 0x3f);
		if (k < n) /* not UTF-8: a byte is a column (as '?' or itself) */
			c = '?', k = 0;
		w += cp_width(c);
		p += k + 1;
	}
	return w;
}

const char *cli_pad(const char *s, size_t width)
{
	char *b = (char *)cli_tty(s);
	size_t n = strlen(b), w = cli_width(b);

	while (w++ < width && n < HVLOG_MAX_NAME * 4)
		b[n++] = ' ';
	b[n] = 0;
	return b;
}

int cli_fail(const char *file, const hvlog_error *err)
{
	cli_error(file, err->offset, "%s", err->msg);
	switch (err->status) {
	case HVLOG_IO:
	case HVLOG_NOMEM:
		return EXIT_IO;
	case HVLOG_INVALID:
		return EXIT_USAGE;
	default:
		return EXIT_DATA;
	}
}

/* ---- --schema, --schema-from: a fallback for a trace whose metadata is lost */

static struct {
	int builtin;
	const char *from;
	hvlog_reader *other; /* the trace --schema-from names, open for the process */
} fallback;

enum { OPT_SCHEMA = 0x5c01, OPT_SCHEMA_FROM };

static const struct argp_option schema_options[] = {
	{ "schema", OPT_SCHEMA, "builtin", 0,
	  "If the trace's metadata and every copy of it are damaged, decode the chunks written with the built-in "
	  "schema (and say so)", 0 },
	{ "schema-from", OPT_SCHEMA_FROM, "FILE", 0,
	  "Likewise with the schema and clock of the trace FILE", 0 },
	{ 0 }
};

static error_t schema_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_SCHEMA:
		if (strcmp(arg, "builtin"))
			argp_error(state, "--schema takes \"builtin\" (use --schema-from FILE for another trace's)");
		fallback.builtin = 1;
		return 0;
	case OPT_SCHEMA_FROM:
		fallback.from = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp cli_schema_argp = { schema_options, schema_parse, NULL, NULL, NULL, NULL, NULL };

const char *cli_schema_from(void)
{
	return fallback.from;
}

/* ---- live reading: pipes as they arrive, --follow ------------------------ */

static struct {
	int live;   /* the command reads a pipe as it arrives (it has the child) */
	int follow; /* -F, --follow */
} live;

/* Ctrl-C while following: the reader hands out what it has and ends. */
static volatile int interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

enum { OPT_FOLLOW = 0x5c10 };

static const struct argp_option follow_options[] = {
	{ "follow", 'F', NULL, 0,
	  "Follow a trace that is still being written: decode each chunk once it is complete, wait at the end, stop "
	  "at the writer's closing record or on Ctrl-C (standard input and pipes are always read as they arrive)",
	  0 },
	{ 0 }
};

static const struct argp_option follow_long_options[] = {
	{ "follow", OPT_FOLLOW, NULL, 0, "Follow a trace that is still being written (see decode --help)", 0 },
	{ 0 }
};

static error_t follow_parse(int key, char *arg, struct argp_state *state)
{
	(void)arg;
	(void)state;
	switch (key) {
	case ARGP_KEY_INIT:
		live.live = 1;
		return 0;
	case 'F':
	case OPT_FOLLOW:
		live.follow = 1;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp cli_follow_argp = { follow_options, follow_parse, NULL, NULL, NULL, NULL, NULL };
const struct argp cli_follow_long_argp = { follow_long_options, follow_parse, NULL, NULL, NULL, NULL, NULL };

int cli_following(void)
{
	return live.follow;
}

void cli_follow_always(void)
{
	live.follow = 1;
}

hvlog_status cli_open_path(hvlog_reader **r, const char *file, hvlog_error *err)
{
	hvlog_reader_options o = { .schema = fallback.builtin ? hvlog_schema_builtin() : NULL,
				   .live = live.live, .follow = live.follow };

	if (live.follow) {
		struct sigaction sa = { .sa_handler = on_interrupt }; /* no SA_RESTART: a wait returns */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		o.cancel = &interrupted;
	}
	o.meta = fallback.other ? hvlog_reader_meta(fallback.other) : NULL;
	return hvlog_reader_open_path_with(r, file, o.meta || o.schema || o.live || o.follow ? &o : NULL, err);
}

hvlog_reader *cli_open(const char *file, int *code)
{
	hvlog_reader *r = NULL;
	hvlog_error err = { 0 };

	/* the trace --schema-from names, first: its errors are its own (its
	 * name and offset), not the input's */
	if (fallback.from && !fallback.other && hvlog_reader_open_path(&fallback.other, fallback.from, &err) != HVLOG_OK) {
		*code = cli_fail(cli_shown(fallback.from), &err);
		return NULL;
	}
	if (cli_open_path(&r, file, &err) != HVLOG_OK) {
		const char *like = err.status == HVLOG_MALFORMED && err.offset == 0 ? cli_sniff_path(file) : NULL;
		/* (a trace whose header is damaged is still one; compressed data
		 * were decompressed by the reader, whose message says so) */
		if (like && strcmp(like, CLI_SNIFF_TRACE) && !strstr(like, "-compressed data"))
			snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg), ": it looks like %s", like);
		*code = cli_fail(cli_shown(file), &err);
		return NULL;
	}
	return r;
}

/* ---- what a file that is not the expected format looks like -------------- */

/* Magic numbers and first bytes, most specific first. */
static const struct sniff {
	const char *magic;
	unsigned char len;
	const char *name;
} sniffs[] = {
	{ "\x89HVL\r\n\x1a\n", 8, CLI_SNIFF_TRACE },
	{ "\x1f\x8b", 2, "gzip-compressed data (zcat FILE | hvlog ... - reads it)" },
	{ "\x28\xb5\x2f\xfd", 4, "zstd-compressed data (zstdcat FILE | hvlog ... - reads it)" },
	{ "\xfd" "7zXZ", 5, "xz-compressed data (xzcat FILE | hvlog ... - reads it)" },
	{ "BZh", 3, "bzip2-compressed data (bzcat FILE | hvlog ... - reads it)" },
	{ "\xc1\x1f\xfc\xc1", 4, "a CTF data stream (babeltrace2 reads its directory)" },
	{ "/* CTF", 6, "CTF metadata (babeltrace2 reads its directory)" },
	{ "\xd9\xd9\xf7", 3, "CBOR (hvlog convert --from cbor reads what convert --to cbor writes)" },
};

const char *cli_sniff(const unsigned char *b, size_t n)
{
	size_t i = 0;

	for (size_t k = 0; k < sizeof sniffs / sizeof sniffs[0]; k++)
		if (n >= sniffs[k].len && !memcmp(b, sniffs[k].magic, sniffs[k].len))
			return sniffs[k].name;
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	if (i < n && (b[i] == '{' || b[i] == '['))
		return "JSON (hvlog convert --from json reads what convert --to json writes)";
	/* a CBOR map of up to 23 pairs whose first key is a short text string:
	 * the head of a CBOR sequence of convert --to cbor */
	if (n >= 2 && b[0] >= 0xa1 && b[0] <= 0xb7 && b[1] >= 0x61 && b[1] <= 0x77)
		return "CBOR (hvlog convert --from cbor reads what convert --to cbor writes)";
	return NULL;
}

const char *cli_sniff_path(const char *path)
{
	unsigned char b[16];
	size_t n;
	FILE *f;

	if (!strcmp(path, "-") || !(f = fopen(path, "rb")))
		return NULL; /* (standard input is read once: its first bytes are gone) */
	n = fread(b, 1, sizeof b, f);
	fclose(f);
	return cli_sniff(b, n);
}

/* ---- damage kept for a listing ------------------------------------------
 *
 * A max-heap on (offset, order) while it fills up to CLI_DAMAGE_KEEP: once
 * full, an entry before the largest kept replaces it, so what is kept is
 * always the first CLI_DAMAGE_KEEP in offset order, whatever order the
 * items come in.  Items come nearly in offset order, so past the cap most
 * cost one comparison. */

static int dmg_after(const struct cli_damage *a, const struct cli_damage *b)
{
	return a->offset > b->offset || (a->offset == b->offset && a->order > b->order);
}

static void dmg_sift_down(struct cli_damage *h, size_t n, size_t i)
{
	struct cli_damage x = h[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && dmg_after(&h[c + 1], &h[c]))
			c++;
		if (!dmg_after(&h[c], &x))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
}

void cli_damage_add(struct cli_damage_list *l, const hvlog_item *it)
{
	struct cli_damage d = { it->offset, it->damage_len, it->damage_events, it->chunk_seq, l->seen++, it->stream,
				"" };
	size_t i;

	if (l->n == CLI_DAMAGE_KEEP) {
		l->more++;
		if (!dmg_after(&l->v[0], &d))
			return;
		snprintf(d.msg, sizeof d.msg, "%s", it->damage_msg);
		l->v[0] = d;
		dmg_sift_down(l->v, l->n, 0);
		return;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 16;
		struct cli_damage *nv = realloc(l->v, (nc < CLI_DAMAGE_KEEP ? nc : CLI_DAMAGE_KEEP) * sizeof *nv);
		if (!nv) {
			l->more++;
			l->nomem = 1;
			return;
		}
		l->v = nv;
		l->cap = nc < CLI_DAMAGE_KEEP ? nc : CLI_DAMAGE_KEEP;
	}
	snprintf(d.msg, sizeof d.msg, "%s", it->damage_msg);
	for (i = l->n++; i && dmg_after(&d, &l->v[(i - 1) / 2]); i = (i - 1) / 2) /* sift up */
		l->v[i] = l->v[(i - 1) / 2];
	l->v[i] = d;
}

static int cmp_damage(const void *a, const void *b)
{
	return dmg_after(a, b) - dmg_after(b, a);
}

void cli_damage_sort(struct cli_damage_list *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof *l->v, cmp_damage);
}

void cli_damage_free(struct cli_damage_list *l)
{
	free(l->v);
	*l = (struct cli_damage_list){ 0 };
}
