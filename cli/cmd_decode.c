/*
 * hvlog decode [FILE|-]: every selected item of a trace in time order.
 *
 * Also home of the pieces the other selecting commands share: opening a
 * trace with a compiled selection, and printing the selected items.
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "color.h"

struct decode_opts {
	const char *file;
	hvlog_format_kind format;
	hvsel sel;
};

static const struct argp_option options[] = {
	{ "format", 'f', "FORMAT", 0, "text (default) or json (JSON Lines, one object per item)", 0 },
	CLI_COLOR_OPTION,
	{ 0 }
};

static const struct argp_child children[] = {
	{ &sel_argp, 0, "Selection (lost events and damage are always shown):", 0 },
	{ 0 }
};

int cli_parse_format(const char *arg, hvlog_format_kind *kind)
{
	if (!strcmp(arg, "text"))
		*kind = HVLOG_FORMAT_TEXT;
	else if (!strcmp(arg, "json"))
		*kind = HVLOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct decode_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &o->sel;
		return 0;
	case 'f':
		if (cli_parse_format(arg, &o->format) != 0)
			argp_error(state, "unknown format '%s' (text or json)", arg);
		return 0;
	case CLI_COLOR_KEY:
		if (cli_color_set(arg) != 0)
			argp_error(state, "unknown --color '%s' (auto, always or never)", arg);
		return 0;
	case ARGP_KEY_ARG:
		if (o->file)
			argp_error(state, "more than one FILE given");
		o->file = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
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
	if (sel_compile(sel, hvlog_reader_meta(r), *t0, msg, sizeof msg) != 0) {
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

static int rawout_flush(struct rawout *o)
{
	size_t done = 0;

	while (done < o->len && !o->failed) {
		ssize_t k = write(o->fd, o->buf + done, o->len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			o->failed = errno;
		else
			done += (size_t)k;
	}
	o->len = 0;
	return o->failed;
}

int cli_print_selected(hvlog_reader *r, const char *shown, const hvsel *sel, hvlog_format_kind format,
		       uint64_t t0)
{
	static char outbuf[1 << 16];
	static struct rawout raw;
	char line[HVLOG_FORMAT_MAX];
	const hvlog_meta *m = hvlog_reader_meta(r);
	const hvlog_item *it;
	hvlog_error err = { 0 };
	hvlog_status st = HVLOG_END;
	uint64_t n = 0;
	int code = EXIT_OK;
	int color = format == HVLOG_FORMAT_TEXT && !sel->count && cli_color_on(stdout);

	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	fflush(stdout);
	raw.fd = fileno(stdout);
	raw.len = 0;
	while (n < sel->limit && (st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		if (!sel_match(sel, it))
			continue;
		if (it->kind == HVLOG_ITEM_EVENT)
			n++;
		else if (it->kind == HVLOG_ITEM_DAMAGE) {
			rawout_flush(&raw); /* the message goes after what came before */
			cli_error(shown, it->offset, "%s", it->damage_msg);
			code = EXIT_DATA;
		}
		if (sel->count) {
			continue;
		} else if (color) {
			size_t len = hvlog_format_item(m, it, format, t0, line, sizeof line);
			cli_color_write(stdout, line, len, it);
		} else {
			if (sizeof raw.buf - raw.len < HVLOG_FORMAT_MAX && rawout_flush(&raw))
				break;
			raw.len += hvlog_format_item(m, it, format, t0, raw.buf + raw.len, sizeof raw.buf - raw.len);
		}
	}
	if (rawout_flush(&raw)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(raw.failed));
		return EXIT_IO;
	}
	if (n < sel->limit && st != HVLOG_END)
		code = cli_fail(shown, &err);
	if (sel->count)
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
	struct decode_opts o = { 0 };
	hvlog_reader *r;
	uint64_t t0;
	int code = EXIT_OK;

	sel_init(&o.sel);
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0) {
		sel_free(&o.sel);
		return EXIT_USAGE;
	}
	if (!o.file)
		o.file = "-";
	if ((r = cli_open_selected(o.file, &o.sel, &t0, &code))) {
		code = cli_print_selected(r, cli_shown(o.file), &o.sel, o.format, t0);
		hvlog_reader_close(r);
	}
	sel_free(&o.sel);
	return code;
}
