/*
 * hvlog filter [FILE|-]: the selected events as a new trace.
 *
 * The output has the input's metadata: its embedded schema, streams,
 * clock and producer, so it decodes like the input with the other events
 * left out (copy_step).  Damage cannot be written: it is reported on
 * stderr (exit status 1) and the output is a valid trace of every intact
 * selected event.
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

enum { OUT_BINARY, OUT_TEXT, OUT_JSON };
enum { OPT_FORCE = 0x2000 };

struct filter_opts {
	struct cli_io io;
	int force;
	hvsel sel;
};

static const struct argp_option io_options[] = {
	CLI_OUTPUT_OPTION("FILE", "write to FILE (default: standard output; '-' too)"),
	CLI_FORMAT_OPTION("binary (default: an hvlog trace), or text or json to print instead"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);
static const char *const formats[] = { [OUT_BINARY] = "binary", [OUT_TEXT] = "text", [OUT_JSON] = "json", NULL };

static const struct argp_option options[] = {
	{ "force", OPT_FORCE, NULL, 0, "write a binary trace even to a terminal", 0 },
	{ 0 }
};

static const struct argp_child children[] =
	CLI_SELECTION_CHILDREN("Selection (lost-event records are kept; see also --help of decode):", io_argp);

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct filter_opts *o = state->input;

	(void)arg;
	if (key == ARGP_KEY_INIT)
		return cli_inputs(state, &o->sel, &o->io);
	switch (key) {
	case OPT_FORCE:
		o->force = 1;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

struct copier {
	hvlog_writer *w;
	int wfail; /* a write failed */
};

/* Each selected event re-encoded into its stream; a lost-events record
 * carried over and the stream flushed, so it lands after the stream's
 * previous selected event.  Damage cannot be written (cli_run reports
 * it), but the events it is known to have cost a stream are: a LOST
 * record of that count at the damage's time, so the new trace does not
 * look whole. */
static int copy_step(void *ctx, const hvlog_item *it)
{
	struct copier *c = ctx;
	hvlog_stream *s;

	switch (it->kind) {
	case HVLOG_ITEM_EVENT:
		if (hvlog_emit(hvlog_writer_stream(c->w, it->stream), it->ts, it->event, it->values) != HVLOG_OK)
			c->wfail = 1;
		break;
	case HVLOG_ITEM_LOST:
	case HVLOG_ITEM_DAMAGE:
		if (!(s = hvlog_writer_stream(c->w, it->stream)))
			break; /* damage of no known stream */
		if (it->kind == HVLOG_ITEM_LOST)
			hvlog_stream_note_lost(s, it->lost_count, it->lost_first_ts, it->lost_last_ts);
		else if (it->damage_events)
			hvlog_stream_note_lost(s, it->damage_events, it->ts, it->ts);
		else
			break;
		if (hvlog_stream_flush(s) != HVLOG_OK)
			c->wfail = 1;
		break;
	}
	return 0;
}

/* The selected items as a trace on out->fd; *whole says whether every
 * item was read (damage is reported and left out: the trace is still
 * whole), so the output may replace what was there. */
static int write_selected(hvlog_reader *r, const char *shown, const struct filter_opts *o, int fd, int *whole)
{
	hvlog_writer_config cfg = hvlog_writer_config_from_meta(hvlog_reader_meta(r));
	const char *outname = o->io.out && strcmp(o->io.out, "-") ? o->io.out : "(stdout)";
	struct copier c = { NULL, 0 };
	struct cli_run run = { .shown = shown, .sel = &o->sel, .step = copy_step, .ctx = &c };
	hvlog_error werr = { 0 };
	int code;

	*whole = 0;
	if (hvlog_writer_open_fd(&c.w, fd, &cfg, &werr) != HVLOG_OK)
		return cli_fail(outname, &werr);
	code = cli_run(r, &run);
	*whole = !run.read_failed;
	if (hvlog_writer_close(c.w, &werr) != HVLOG_OK || c.wfail) {
		if (werr.status == HVLOG_OK)
			snprintf(werr.msg, sizeof werr.msg, "writing the output failed");
		werr.status = HVLOG_IO;
		code = cli_fail(outname, &werr);
		*whole = 0;
	}
	return code;
}

int cmd_filter(int argc, char **argv)
{
	static const char doc[] =
		"Write the selected events of a trace as a new trace (same metadata, schema and streams; "
		"lost-event records kept), or print them with --format text|json.\v"
		"Examples:\n"
		"  hvlog filter --group interrupt -o irq.hvlog trace.hvlog\n"
		"  hvlog filter --event 'IM_MSR_*' --where 'index == 0xc0000080' trace.hvlog | hvlog decode\n"
		"  hvlog filter --vp 1 --since 2s --until 2.5s --count trace.hvlog";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct filter_opts o = { .io.formats = formats };
	hvlog_reader *r;
	cli_output out;
	uint64_t t0;
	int code = EXIT_OK, whole = 0;

	sel_init(&o.sel);
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0) {
		sel_free(&o.sel);
		return EXIT_USAGE;
	}
	if (o.io.format == OUT_BINARY && !o.sel.count) {
		if ((!o.io.out || !strcmp(o.io.out, "-")) && isatty(STDOUT_FILENO) && !o.force) {
			cli_error(NULL, UINT64_MAX,
				  "not writing a binary trace to a terminal: use -o FILE, a pipe, --format text, "
				  "or --force");
			sel_free(&o.sel);
			return EXIT_USAGE;
		}
	}
	if ((code = cli_output_open(&out, o.io.out, &o.io.file, 1)) != 0) {
		sel_free(&o.sel);
		return code;
	}
	if ((r = cli_open_selected(o.io.file, &o.sel, &t0, &code))) {
		if (o.io.format == OUT_BINARY && !o.sel.count) {
			code = write_selected(r, cli_shown(o.io.file), &o, out.fd, &whole);
		} else if (fflush(stdout) != 0 || (out.fd != STDOUT_FILENO && dup2(out.fd, STDOUT_FILENO) < 0)) {
			code = (cli_error(o.io.out, UINT64_MAX, "cannot write: %s", strerror(errno)), EXIT_IO);
		} else {
			code = cli_print_selected(r, cli_shown(o.io.file), &o.sel,
						  o.io.format == OUT_JSON ? HVLOG_FORMAT_JSON : HVLOG_FORMAT_TEXT, t0);
			whole = code == EXIT_OK || code == EXIT_DATA; /* damage is reported, not printed */
		}
		hvlog_reader_close(r);
	}
	if (cli_output_close(&out, whole) != 0)
		code = EXIT_IO;
	sel_free(&o.sel);
	return code;
}
