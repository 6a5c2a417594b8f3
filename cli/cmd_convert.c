/*
 * hvlog convert --to json|csv|cbor|ctf|chrome|perfetto [-o OUT] [FILE|-]
 * hvlog convert --from json|cbor [FILE|-] -o OUT.hvlog
 *
 * Streams one item at a time from the reader to a format writer
 * (convert.h), or from JSON Lines / CBOR back to an hvlog file.
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "convert.h"
#include "output.h"

static const cv_format *const formats[] = {
	&cv_format_json, &cv_format_csv, &cv_format_cbor, &cv_format_ctf, &cv_format_chrome,
	&cv_format_perfetto, /* convert_perfetto.c */
};

struct convert_opts {
	struct cli_io io;
	const cv_format *to;
	const char *from;
	hvsel sel;
	int progress; /* -1 auto, 0 never, 1 always (on a terminal) */
	int force;    /* replace a non-empty ctf directory */
	int json_ints; /* --json-integers */
};

enum { OPT_NO_PROGRESS = 0x100, OPT_FORCE, OPT_JSON_INTEGERS };

static const struct argp_option options[] = {
	{ "to", 't', "FORMAT", 0, "write FORMAT: json (JSON Lines), csv, cbor (CBOR sequence), ctf (CTF 1.8 "
				   "directory, needs -o), chrome (Trace Event Format JSON), perfetto (Perfetto's protobuf trace)", 0 },
	{ "from", 'F', "FORMAT", 0, "read FORMAT (json or cbor, as written by --to) and write an hvlog trace", 0 },
	{ "no-progress", OPT_NO_PROGRESS, NULL, 0, "no progress bar on stderr (shown on a terminal by default)", 0 },
	{ "force", OPT_FORCE, NULL, 0, "with --to ctf, replace a directory that is not empty (whole)", 0 },
	{ "json-integers", OPT_JSON_INTEGERS, NULL, 0,
	  "with --to json, every integer as a JSON number: exact in the text, but rounded above 2^53 by readers "
	  "that use doubles (jq 1.6, JavaScript); by default hex parameters are \"0x..\" strings and other "
	  "integers above 2^53 decimal strings", 0 },
	{ 0 }
};

/* The selection options without --count (a conversion writes every
 * selected item; decode --count counts them): sel_argp's own parser, with
 * a copy of its options in which --count is hidden.  Given anyway, it is
 * refused (parse, ARGP_KEY_END). */
static struct argp_option sel_options[64];
static struct argp sel_argp_convert;

static const struct argp *selection_argp(void)
{
	size_t n = 0;

	while (sel_argp.options[n].name || sel_argp.options[n].key || sel_argp.options[n].doc)
		n++;
	if (n >= sizeof sel_options / sizeof sel_options[0])
		return &sel_argp; /* (a longer list keeps --count listed) */
	memcpy(sel_options, sel_argp.options, (n + 1) * sizeof *sel_options);
	for (size_t i = 0; i < n; i++)
		if (sel_options[i].name && !strcmp(sel_options[i].name, "count"))
			sel_options[i].flags |= OPTION_HIDDEN;
	sel_argp_convert = sel_argp;
	sel_argp_convert.options = sel_options;
	return &sel_argp_convert;
}

static const struct argp_option io_options[] = {
	CLI_OUTPUT_OPTION("OUT", "write to OUT (a directory for ctf); default standard output"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);

static struct argp_child children[] = {
	{ NULL, 0, "Selection, for --to (lost events and damage are always converted):", 0 },
	{ &io_argp, 0, NULL, 0 },
	CLI_SCHEMA_CHILD,
	{ &cli_follow_long_argp, 0, NULL, 0 },
	{ 0 }
};

/* Whether any selection option was given. */
static int sel_given(const hvsel *s)
{
	return s->groups.n || s->xgroups.n || s->events.n || s->xevents.n || s->streams.n || s->vps.n ||
	       s->partitions.n || s->wheres.n || s->since || s->until || s->limit != UINT64_MAX || s->count;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct convert_opts *o = state->input;

	if (key == ARGP_KEY_INIT)
		return cli_inputs(state, &o->sel, &o->io);
	switch (key) {
	case 't':
		o->to = NULL;
		for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
			if (!strcmp(arg, formats[i]->name))
				o->to = formats[i];
		if (!o->to)
			argp_error(state, "unknown format '%s' (json, csv, cbor, ctf, chrome or perfetto)", arg);
		return 0;
	case 'F':
		if (strcmp(arg, "json") && strcmp(arg, "cbor"))
			argp_error(state, "cannot read '%s' (json or cbor)", arg);
		o->from = arg;
		return 0;
	case OPT_NO_PROGRESS:
		o->progress = 0;
		return 0;
	case OPT_FORCE:
		o->force = 1;
		return 0;
	case OPT_JSON_INTEGERS:
		o->json_ints = 1;
		return 0;
	case ARGP_KEY_END:
		if (!o->to == !o->from)
			argp_error(state, "give one of --to FORMAT or --from FORMAT");
		if (o->from && sel_given(&o->sel))
			argp_error(state, "the selection options apply to --to only");
		if (o->json_ints && o->to != &cv_format_json)
			argp_error(state, "--json-integers applies to --to json only");
		if (o->sel.count)
			argp_error(state, "--count does not apply to convert (see decode --count)");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static int convert_from(struct convert_opts *o)
{
	const char *shown = cli_shown(o->io.file);
	FILE *in = strcmp(o->io.file, "-") ? fopen(o->io.file, "rb") : stdin;
	struct stat st;
	uint64_t size = 0;
	cli_output out;
	int code;

	if (!in) {
		cli_error(o->io.file, UINT64_MAX, "cannot open: %s", strerror(errno));
		return EXIT_IO;
	}
	/* an input of another format is named, not parsed into a puzzling error */
	const char *like = cli_sniff_path(o->io.file);
	if (like && strncmp(like, o->from[0] == 'j' ? "JSON" : "CBOR", 4)) {
		cli_error(shown, UINT64_MAX, "not %s: it looks like %s", o->from[0] == 'j' ? "JSON Lines" : "a CBOR sequence",
			  like);
		fclose(in);
		return EXIT_DATA;
	}
	if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	if (!o->io.out && isatty(STDOUT_FILENO)) {
		cli_error(NULL, UINT64_MAX, "an hvlog trace is binary: give -o OUT.hvlog or redirect the output");
		if (in != stdin)
			fclose(in);
		return EXIT_USAGE;
	}
	if (o->progress == 0)
		size = 0;
	if ((code = cli_output_open(&out, o->io.out, &o->io.file, 1)) == 0) {
		const char *out_shown = o->io.out && strcmp(o->io.out, "-") ? o->io.out : "(stdout)";
		if (!strcmp(o->from, "json"))
			code = cv_from_json(in, shown, out.fd, out_shown, size);
		else
			code = cv_from_cbor(in, shown, out.fd, out_shown, size);
		if (cli_output_close(&out, code == 0) != 0)
			code = EXIT_IO;
	}
	if (in != stdin)
		fclose(in);
	return code;
}

/* One conversion under way: the writer, and the progress bar moved every
 * 4096 items (where a failed write also stops it). */
struct conversion {
	const cv_format *to;
	cv_ctx *c;
	cv_progress prog;
	uint64_t n;
	int wcode; /* the writer's exit code */
};

static int convert_step(void *ctx, const hvlog_item *it)
{
	struct conversion *v = ctx;

	if ((v->wcode = v->to->item(v->c, it)) != 0)
		return 1;
	if (!(++v->n & 0xfff)) {
		cv_progress_update(&v->prog, it->offset, v->n);
		return v->c->out.failed;
	}
	return 0;
}

/* A message clears the bar first. */
static void convert_message(void *ctx)
{
	cv_progress_end(&((struct conversion *)ctx)->prog);
}

static int convert_to(struct convert_opts *o)
{
	const char *shown = cli_shown(o->io.file);
	cv_ctx c = { .in_shown = shown, .out_path = o->io.out };
	hvlog_reader *r;
	hvlog_reader_stats stats;
	struct conversion v = { .to = o->to, .c = &c };
	struct cli_run run = { .shown = shown, .sel = &o->sel, .step = convert_step, .before_message = convert_message,
			       .ctx = &v };
	cli_output out = { .fd = -1 };
	FILE *f = NULL;
	int code = EXIT_OK, wcode = 0, whole = 0;

	if (o->to->binary && !o->io.out && isatty(STDOUT_FILENO)) {
		cli_error(NULL, UINT64_MAX, "%s is binary: give -o OUT or redirect the output", o->to->name);
		return EXIT_USAGE;
	}
	if (!(r = cli_open_selected(o->io.file, &o->sel, &c.t0, &code)))
		return code;
	c.m = hvlog_reader_meta(r);
	c.ev_ok = o->sel.all_events ? NULL : o->sel.ev_ok; /* for CSV's columns */
	hvlog_reader_stats_get(r, &stats);

	if (o->to->needs_dir) {
		if (o->io.out && strcmp(o->io.out, "-")) {
			if ((code = cli_output_open_dir(&out, o->io.out, o->force, &o->io.file, 1)) != 0)
				goto out;
			c.out_path = out.tmp;
			c.out_shown = o->io.out;
		}
	} else {
		if ((code = cli_output_open(&out, o->io.out, &o->io.file, 1)) != 0)
			goto out;
		if (out.fd == STDOUT_FILENO) {
			f = stdout;
		} else if ((f = fdopen(out.fd, "wb"))) {
			out.fd = -1; /* fclose closes it */
		} else {
			cli_error(o->io.out, UINT64_MAX, "cannot create: %s", strerror(errno));
			code = EXIT_IO;
			goto out;
		}
		if (cv_out_init(&c.out, f, 1u << 20) != 0) {
			cli_error(NULL, UINT64_MAX, "out of memory");
			code = EXIT_IO;
			goto out;
		}
		c.json_ints = o->json_ints;
	}
	if ((wcode = o->to->begin(&c)) != 0) {
		code = wcode;
		goto end;
	}
	cv_progress_start(&v.prog, "converting", o->progress ? stats.file_size : 0);
	code = cli_run(r, &run);
	cv_progress_end(&v.prog);
	if ((wcode = v.wcode) != 0)
		code = wcode;
	/* whole: every item was read and written (damage is reported, and
	 * has no other form in most formats) */
	whole = !wcode && !c.out.failed && !run.read_failed;
end:
	if ((wcode = o->to->end(&c)) != 0) {
		whole = 0;
		if (code != EXIT_IO)
			code = wcode;
	}
	if (f) {
		cv_out_flush(&c.out);
		if (!c.out.failed && fflush(f) != 0) {
			c.out.failed = 1;
			c.out.err = errno;
		}
		if (f != stdout && fclose(f) != 0 && !c.out.failed) {
			c.out.failed = 1;
			c.out.err = errno;
		}
		if (c.out.failed) {
			cli_error(o->io.out && strcmp(o->io.out, "-") ? o->io.out : NULL, UINT64_MAX, "writing the output failed: %s",
				  strerror(c.out.err));
			code = EXIT_IO;
			whole = 0;
		}
		cv_out_free(&c.out);
	}
out:
	if (cli_output_close(&out, whole) != 0)
		code = EXIT_IO;
	hvlog_reader_close(r);
	return code;
}

int cmd_convert(int argc, char **argv)
{
	static const char doc[] =
		"Convert a trace to JSON Lines, CSV, CBOR, CTF or Chrome's Trace Event Format, or JSON Lines and "
		"CBOR (as written by --to) back to an hvlog trace.\v"
		"Examples:\n"
		"  hvlog convert --to json trace.hvlog > trace.jsonl\n"
		"  hvlog convert --to csv -g interrupt -w 'port == 0x3f8' t.hvlog -o t.csv\n"
		"  hvlog convert --to cbor trace.hvlog -o trace.cbor\n"
		"  hvlog convert --to ctf trace.hvlog -o trace-ctf; babeltrace2 trace-ctf\n"
		"  hvlog convert --to chrome trace.hvlog -o trace.json  # ui.perfetto.dev\n"
		"  hvlog convert --to perfetto trace.hvlog -o trace.pftrace  # natively\n"
		"  hvlog convert --from json trace.jsonl -o again.hvlog\n"
		"\n"
		"Output is streamed: memory does not grow with the trace. Every name comes from the trace's "
		"embedded schema. Damage in the input is reported on stderr and gives exit status 1; "
		"everything intact is still converted.";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct convert_opts o = { .progress = -1 };
	int code;

	sel_init(&o.sel);
	children[0].argp = selection_argp();
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0) {
		sel_free(&o.sel);
		return EXIT_USAGE;
	}
	code = o.from ? convert_from(&o) : convert_to(&o);
	sel_free(&o.sel);
	return code;
}
