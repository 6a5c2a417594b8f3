/*
 * hvlog decode [FILE|-]: every selected item of a trace in time order.
 *
 * Also home of the pieces the other selecting commands share: opening a
 * trace with a compiled selection, and printing the selected items.
 */
#include <argp.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "color.h"
#include "threads.h"

struct decode_opts {
	struct cli_io io;      /* io.format: the choices in the order of hvlog_format_kind */
	unsigned threads;      /* for --count; 0: the online CPUs */
	hvsel sel;
};

static const struct argp_option io_options[] = {
	CLI_FORMAT_OPTION("text (default) or json (JSON Lines, one object per item)"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);

static const struct argp_option options[] = {
	CLI_COLOR_OPTION,
	CLI_TIME_OPTION,
	{ "threads", 'j', "N", 0,
	  "with --count (only): count on N threads, each a share of the chunks (default: one per CPU; the "
	  "count is the same)", 0 },
	{ 0 }
};

static const struct argp_child children[] = CLI_SELECTION_CHILDREN("Selection (lost events and damage are always shown):",
								   io_argp);

void cli_threads_arg(struct argp_state *state, const char *arg, unsigned *n)
{
	if (cli_parse_threads(arg, n) != 0)
		argp_error(state, "--threads wants a number from 1 to %d, not '%s'", CLI_MAX_THREADS, arg);
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct decode_opts *o = state->input;

	if (key == ARGP_KEY_INIT)
		return cli_inputs(state, &o->sel, &o->io);
	switch (key) {
	case CLI_COLOR_KEY:
		if (cli_color_set(arg) != 0)
			argp_error(state, "unknown --color '%s' (auto, always or never)", arg);
		return 0;
	case CLI_TIME_KEY:
		if (cli_time_set(arg) != 0)
			argp_error(state, "unknown --time '%s' (relative, absolute, ticks or delta)", arg);
		return 0;
	case 'j':
		cli_threads_arg(state, arg, &o->threads);
		return 0;
	case ARGP_KEY_END:
		/* printing is in time order, one item after another: no share of it
		 * runs on another thread, and a -j that did nothing would mislead */
		if (o->threads && !o->sel.count)
			argp_error(state, "--threads applies to --count only (the items print in time order, on one "
					  "thread)");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* A time window that selects nothing whatever the trace: --since after
 * --until.  Its message (into msg), or 0 if the window may hold events.
 * A window is never judged against the chunk headers' first and last
 * times: time may go back (a valid trace's events may lie before the
 * first chunk's first_ts), and a damaged header with a consistent
 * checksum may lie.  The reader's time range skips only the chunks it
 * can prove to be outside; the rest decodes and the items, and any
 * damage, speak.  An empty result is a result. */
static int window_empty(const hvsel *sel, char *msg, size_t cap)
{
	if (sel->since && sel->until && sel->lo > sel->hi) {
		snprintf(msg, cap, "--since %s is after --until %s: the time window is empty", sel->since, sel->until);
		return 1;
	}
	return 0;
}

hvlog_reader *cli_open_selected(const char *file, hvsel *sel, uint64_t *t0, int *code)
{
	hvlog_reader_stats st;
	hvlog_reader *r;
	char msg[1024];

	if (!(r = cli_open(file, code)))
		return NULL;
	hvlog_reader_stats_get(r, &st);
	*t0 = st.first_ts;
	/* a live input has no index to give t0 at open: a relative time and
	 * an @ one cannot be compared yet */
	if (sel_compile(sel, hvlog_reader_meta(r), *t0, msg, sizeof msg) != 0 ||
	    (!hvlog_reader_is_live(r) && window_empty(sel, msg, sizeof msg))) {
		cli_error(NULL, UINT64_MAX, "%s", msg);
		hvlog_reader_close(r);
		*code = EXIT_USAGE;
		return NULL;
	}
	sel_apply(sel, r);
	return r;
}

/* Plain output: lines are formatted straight into one large buffer that
 * goes out with write(2), without a copy through stdio per line. */
struct rawout {
	int fd;
	int failed;
	size_t len;
	char buf[1 << 20];
};

/* Write s[0..n) unless a write failed before (o->failed: its errno). */
static void rawout_write(struct rawout *o, const char *s, size_t n)
{
	while (n && !o->failed) {
		ssize_t k = write(o->fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			o->failed = errno;
		else
			s += k, n -= (size_t)k;
	}
}

static int rawout_flush(struct rawout *o)
{
	rawout_write(o, o->buf, o->len);
	o->len = 0;
	return o->failed;
}

/* n bytes, of any size (a meta item), after what the buffer holds. */
static void rawout_put(struct rawout *o, const char *s, size_t n)
{
	if (n > sizeof o->buf - o->len) {
		rawout_flush(o);
		rawout_write(o, s, n);
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

struct printer {
	const hvlog_formatter *fmt;
	struct rawout *raw;
	uint64_t prev; /* the tick of the line before (--time=delta) */
};

/* The buffer is full: out of line, so that the step per item saves no
 * registers for it. */
static __attribute__((noinline, cold)) int print_full(struct rawout *raw)
{
	return rawout_flush(raw);
}

static int print_step(void *ctx, const hvlog_item *it)
{
	struct printer *p = ctx;
	struct rawout *raw = p->raw;

	if (sizeof raw->buf - raw->len < HVLOG_FORMAT_MAX && print_full(raw))
		return 1;
	raw->len += hvlog_formatter_item_since(p->fmt, it, p->prev, raw->buf + raw->len, sizeof raw->buf - raw->len);
	p->prev = it->ts;
	return 0;
}

/* A message goes after the lines that came before it. */
static void print_flush(void *ctx)
{
	rawout_flush(((struct printer *)ctx)->raw);
}

int cli_print_selected(hvlog_reader *r, const char *shown, const hvsel *sel, hvlog_format_kind format,
		       uint64_t t0)
{
	static char outbuf[1 << 16];
	static struct rawout raw;
	hvlog_formatter *fmt = NULL;
	struct printer p = { NULL, &raw, t0 };
	/* (--count: no step, the run counts) */
	struct cli_run run = { .shown = shown, .sel = sel, .step = sel->count ? NULL : print_step,
			       .before_message = print_flush, .ctx = &p };
	int code;

	if (!sel->count && (code = cli_formatter(stdout, hvlog_reader_meta(r), format, t0, &fmt)) != 0)
		return code;

	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	fflush(stdout);
	raw.fd = fileno(stdout);
	raw.len = 0;
	raw.failed = 0;
	if (fmt) {
		size_t hn;
		const char *h = hvlog_formatter_header(fmt, &hn);
		rawout_put(&raw, h, hn);
	}
	p.fmt = fmt;
	code = cli_run(r, &run);
	hvlog_formatter_free(fmt);
	if (rawout_flush(&raw)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(raw.failed));
		return EXIT_IO;
	}
	if (sel->count)
		printf("%llu\n", (unsigned long long)run.n.events);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
	}
	return code;
}

/* ---- --count on several threads ------------------------------------------
 *
 * A count needs no order, and chunks decode on their own: the file is
 * opened (and a pipe spooled) once, each thread opens a sibling of that
 * reader (sharing its metadata and chunk index, read-only), compiles the
 * selection against it and counts the chunks of its share
 * (hvlog_reader_set_partition).  Damage messages are
 * kept (the first CLI_DAMAGE_KEEP in file order of each share, the rest
 * counted) and printed after the threads end, in file order. */

struct counter {
	const hvlog_reader *base;
	const hvsel *given;
	uint32_t part, nparts;
	uint64_t n;
	hvlog_status st;        /* HVLOG_END, or what stopped it */
	hvlog_error err;
	char selmsg[1024];      /* sel_compile's message */
	struct cli_damage_list dmg;
};

/* Damage is kept to be listed in file order when the threads end. */
static int count_step(void *ctx, const hvlog_item *it)
{
	if (it->kind == HVLOG_ITEM_DAMAGE)
		cli_damage_add(ctx, it);
	return 0;
}

static void *count_share(void *arg)
{
	struct counter *c = arg;
	hvsel sel = sel_copy_given(c->given);
	hvlog_reader_stats st;
	hvlog_run_counts n = { 0 };
	hvlog_reader *r;

	if ((c->st = hvlog_reader_open_sibling(&r, c->base, &c->err)) != HVLOG_OK)
		return NULL;
	hvlog_reader_stats_get(r, &st);
	if (sel_compile(&sel, hvlog_reader_meta(r), st.first_ts, c->selmsg, sizeof c->selmsg) != 0) {
		c->st = HVLOG_INVALID;
		goto out;
	}
	sel_apply(&sel, r);
	hvlog_reader_set_partition(r, c->part, c->nparts);
	c->st = hvlog_select_run(r, sel.all_events ? NULL : sel.lib, UINT64_MAX, count_step, &c->dmg, &n, &c->err);
	c->n = n.events;
out:
	sel_free_compiled(&sel);
	hvlog_reader_close(r);
	return NULL;
}

static int count_threads(const hvlog_reader *base, const char *shown, const hvsel *sel, unsigned nthreads)
{
	struct counter c[CLI_MAX_THREADS];
	pthread_t t[CLI_MAX_THREADS];
	struct cli_damage_list all = { 0 };
	uint64_t n = 0, more = 0;
	unsigned started = 0;
	int code = EXIT_OK, complete = 1;

	for (unsigned i = 0; i < nthreads; i++) {
		c[i] = (struct counter){ .base = base, .given = sel, .part = i, .nparts = nthreads };
		if (pthread_create(&t[i], NULL, count_share, &c[i]) != 0)
			break;
		started++;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (started < nthreads) {
		cli_error(NULL, UINT64_MAX, "cannot start %u threads", nthreads);
		code = EXIT_IO;
		complete = 0;
	}
	for (unsigned i = 0; i < started; i++) {
		n += c[i].n;
		all.n += c[i].dmg.n;
		more += c[i].dmg.more;
	}
	/* the damage of all shares, in file order: each share kept its first
	 * CLI_DAMAGE_KEEP, so the first CLI_DAMAGE_KEEP of all are among them */
	if (all.n && !(all.v = malloc(all.n * sizeof *all.v))) {
		c[0].dmg.nomem = 1;
		more += all.n;
		all.n = 0;
	}
	for (unsigned i = 0, k = 0; all.v && i < started; k += c[i].dmg.n, i++)
		if (c[i].dmg.n)
			memcpy(all.v + k, c[i].dmg.v, c[i].dmg.n * sizeof *all.v);
	cli_damage_sort(&all);
	for (size_t i = 0; i < all.n && i < CLI_DAMAGE_KEEP; i++)
		cli_error(shown, all.v[i].offset, "%s", all.v[i].msg);
	if (all.n > CLI_DAMAGE_KEEP)
		more += all.n - CLI_DAMAGE_KEEP;
	if (more)
		cli_error(shown, UINT64_MAX, "... and %llu more damaged regions (not listed)", (unsigned long long)more);
	if (all.n || more)
		code = EXIT_DATA;
	for (unsigned i = 0; i < started; i++)
		if (c[i].dmg.nomem) {
			cli_error(shown, UINT64_MAX, "out of memory keeping the damage messages");
			code = EXIT_IO;
		}
	/* a failure to open, a bad selection or a read error: the first one
	 * (every thread meets the same), and no count */
	for (unsigned i = 0; i < started && complete; i++) {
		if (c[i].st == HVLOG_END)
			continue;
		complete = 0;
		if (c[i].selmsg[0]) {
			cli_error(NULL, UINT64_MAX, "%s", c[i].selmsg);
			code = EXIT_USAGE;
		} else {
			code = cli_fail(shown, &c[i].err);
		}
	}
	for (unsigned i = 0; i < started; i++)
		cli_damage_free(&c[i].dmg);
	cli_damage_free(&all);
	if (complete)
		printf("%llu\n", (unsigned long long)n);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
	}
	return code;
}

int cmd_decode(int argc, char **argv)
{
	static const char doc[] = "Print the events of a trace in time order, with lost events and damage "
				  "where they happened.";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct decode_opts o = { .io.formats = cli_text_json };
	hvlog_reader *r;
	uint64_t t0;
	int code = EXIT_OK;

	sel_init(&o.sel);
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0) {
		sel_free(&o.sel);
		return EXIT_USAGE;
	}
	if (!o.threads)
		o.threads = cli_default_threads();
	/* (compiled before the threads too, so a bad selection is reported
	 * once; each thread compiles its own copy) */
	if ((r = cli_open_selected(o.io.file, &o.sel, &t0, &code))) {
		/* a limit counts the first N in time order: on one thread, as
		 * does a live input (no index to share) */
		if (o.sel.count && o.sel.limit == UINT64_MAX && o.threads > 1 && !hvlog_reader_is_live(r))
			code = count_threads(r, cli_shown(o.io.file), &o.sel,
					     cli_threads_for(o.threads, hvlog_reader_meta(r)));
		else
			code = cli_print_selected(r, cli_shown(o.io.file), &o.sel, (hvlog_format_kind)o.io.format, t0);
		hvlog_reader_close(r);
	}
	sel_free(&o.sel);
	return code;
}
