/*
 * cli.h - shared pieces of the hvlog command line.
 */
#ifndef HVLOG_CLI_H
#define HVLOG_CLI_H

#include <argp.h>
#include <stdio.h>

#include <string.h>

#include "hvlog/hvlog.h"
#include "select.h"

/* Exit codes (documented in README.md and `hvlog --help`). */
enum {
	EXIT_OK = 0,
	EXIT_DATA = 1,  /* the trace is damaged or not a trace */
	EXIT_USAGE = 2, /* bad command line */
	EXIT_IO = 3,    /* cannot read or write a file, out of memory */
};

/* "hvlog: FILE:OFFSET: msg" on stderr (OFFSET left out when unknown). */
void cli_error(const char *file, uint64_t offset, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* s as a JSON string on stdout: quotes, backslashes and control
 * characters escaped; NULL prints "". */
void cli_json_str(const char *s);

/* Stream s of m as the JSON members "stream":S,"name":...,"partition":...,
 * "vp":... (null when the stream is not a virtual processor's). */
void cli_json_stream(const hvlog_meta *m, uint32_t s);

/* A stream's virtual processor for a table cell: its index, or "-". */
void cli_vp_cell(char *buf, size_t size, uint32_t vp_index);

/* s for a terminal: a copy with control characters (an escape sequence a
 * hostile trace could carry in a name) shown as '?'.  Eight results may be
 * in use at once (several in one printf); NULL gives "". */
const char *cli_tty(const char *s);

/* Terminal columns of s (UTF-8: a wide character takes 2, a combining
 * mark none), and cli_tty(s) padded with spaces to `width` columns: table
 * cells that line up whatever the names are made of. */
size_t cli_width(const char *s);
const char *cli_pad(const char *s, size_t width);

/* Report a failed library call with its context; returns the exit code. */
int cli_fail(const char *file, const hvlog_error *err);

/* Open a trace for reading, reporting failure; NULL on failure with *code set. */
hvlog_reader *cli_open(const char *file, int *code);

/* --schema builtin, --schema-from FILE: a child of every command that
 * reads a trace; cli_open and cli_open_path pass them to the reader (cli_open
 * opens the --schema-from trace first, reporting its errors as its own). */
extern const struct argp cli_schema_argp;
/* The FILE of --schema-from, an input too; NULL if not given. */
const char *cli_schema_from(void);
hvlog_status cli_open_path(hvlog_reader **r, const char *file, hvlog_error *err);

/* -F, --follow (cli_follow_long_argp: --follow alone, for convert, whose
 * -F is --from): a child of the commands that read a trace as it is
 * written; with it, cli_open reads pipes as they arrive (no spool) and,
 * with --follow, a file a writer still appends to.  cli_following():
 * --follow was given. */
extern const struct argp cli_follow_argp, cli_follow_long_argp;
int cli_following(void);
void cli_follow_always(void); /* as if --follow was given (top) */
#define CLI_FOLLOW_CHILD { &cli_follow_argp, 0, NULL, 0 }

/* How diagnostics name a FILE argument ("-" is "(stdin)"). */
static inline const char *cli_shown(const char *file)
{
	return strcmp(file, "-") ? file : "(stdin)";
}

/* ---- the item pipeline (pipeline.c) -------------------------------------
 * A command's pass over a trace: the items sel passes (NULL: all, no
 * limit), up to --limit events, each handed to step (which returns
 * nonzero to stop; NULL: only counted); damage reported on stderr as "hvlog: FILE:OFFSET: msg"
 * (after before_message, which flushes what the command wrote before it)
 * unless quiet_damage; a read error reported.  cli_run returns EXIT_OK,
 * EXIT_DATA (damage reported) or the read error's exit code. */
struct cli_run {
	const char *shown;             /* the input, as messages name it */
	const hvsel *sel;
	int (*step)(void *ctx, const hvlog_item *it);
	void (*before_message)(void *ctx); /* NULL: nothing to flush */
	void *ctx;
	int quiet_damage;
	hvlog_stats *stats;            /* every item passed is added (hvlog_stats_run) */
	/* results */
	hvlog_run_counts n;            /* what passed */
	int damaged;                   /* damage was reported */
	int read_failed;               /* reading failed (reported) */
	int complete;                  /* read to the end, or to the limit */
};
int cli_run(hvlog_reader *r, struct cli_run *run);

/* An option's argument that must be one of names (NULL-terminated): its
 * index, else argp_error "unknown WHAT 'ARG' (a, b or c)". */
int cli_choice_arg(struct argp_state *state, const char *what, const char *arg, const char *const *names);
/* What the first n bytes of a file look like ("gzip-compressed data",
 * "JSON ...", "an hvlog trace"...), to name a wrong input's format; NULL
 * if nothing known.  _path reads them from a file (NULL for "-"). */
#define CLI_SNIFF_TRACE "an hvlog trace"
const char *cli_sniff(const unsigned char *b, size_t n);
const char *cli_sniff_path(const char *path);

/* The argp child of every command that reads one trace: the FILE argument
 * (at most one; none is "-", standard input).  Its input is a const char **
 * (state->child_inputs[i] = &o->file in the parent's ARGP_KEY_INIT). */
extern const struct argp cli_file_argp;
#define CLI_SCHEMA_CHILD { &cli_schema_argp, 0, "A trace whose metadata is lost:", 0 }
#define CLI_FILE_CHILD { &cli_file_argp, 0, NULL, 0 }
/* The children of a command that selects: the selection under `header`,
 * then FILE; and its ARGP_KEY_INIT, which hands each its input (sel NULL:
 * FILE alone).  Returns 0. */
#define CLI_SELECTION_CHILDREN(header, io) \
	{ { &sel_argp, 0, header, 0 }, { &(io), 0, NULL, 0 }, CLI_SCHEMA_CHILD, CLI_FOLLOW_CHILD, { 0 } }
/* file: the input of the FILE child (const char **) or of an io child
 * (struct cli_io *). */
error_t cli_inputs(struct argp_state *state, hvsel *sel, void *file);

/* The argp parser `name` of a command whose options struct `type` has
 * its inputs in ->io and one option, `key`, whose argument goes to
 * ->field. */
#define CLI_PARSE_ONE_ARG(name, type, key, field)				\
	static error_t name(int key_, char *arg, struct argp_state *state)	\
	{									\
		type *o_ = state->input;					\
		if (key_ == ARGP_KEY_INIT)					\
			return cli_inputs(state, NULL, &o_->io);		\
		if (key_ != (key))						\
			return ARGP_ERR_UNKNOWN;				\
		o_->field = arg;						\
		return 0;							\
	}

/* The argp child a command's FILE, --format and -o/--output come through
 * (the same parser everywhere; each command gives the options it has, with
 * its own help): CLI_IO_ARGP(options) with CLI_FORMAT_OPTION(doc) and
 * CLI_OUTPUT_OPTION(arg, doc) in them.  Its input is a struct cli_io, whose
 * formats the command sets before parsing (--format's choices: format is
 * the index of the one given, 0 by default); own_file: the command takes
 * its FILE arguments itself, else FILE is as cli_file_argp's but for what
 * more, none and optional say. */
struct cli_io {
	const char *file;
	const char *out;            /* -o; NULL: not given */
	int format;
	const char *const *formats;
	int own_file;
	const char *more;           /* argp_error format (with the FILE) for a second one */
	const char *none;           /* argp_error for no FILE; NULL: none is "-" ... */
	int optional;               /* ... or with optional, file stays NULL */
};
error_t cli_io_parse(int key, char *arg, struct argp_state *state);
#define CLI_FORMAT_OPTION(doc) { "format", 'f', "FORMAT", 0, doc, 0 }
#define CLI_OUTPUT_OPTION(arg, doc) { "output", 'o', arg, 0, doc, 0 }
#define CLI_IO_ARGP(options) { options, cli_io_parse, NULL, NULL, NULL, NULL, NULL }

/* -j N (decode --count, stats): N into *n, else argp_error. */
void cli_threads_arg(struct argp_state *state, const char *arg, unsigned *n);

/* { "text", "json" }: --format of decode, info and stats, in that order. */
extern const char *const cli_text_json[];

/* Open a trace and compile the selection against it (reporting a bad
 * selection, *code EXIT_USAGE), then let the reader skip what it can.
 * *t0 is the tick times are shown relative to.  NULL on failure. */
hvlog_reader *cli_open_selected(const char *file, hvsel *sel, uint64_t *t0, int *code);

/* Print the selected items of r (or with --count only their number);
 * honours --limit; damage also goes to stderr.  Returns the exit code. */
int cli_print_selected(hvlog_reader *r, const char *shown, const hvsel *sel, hvlog_format_kind format,
		       uint64_t t0);

/* Damage items kept to be listed later (info --verify, decode --count on
 * threads): the first CLI_DAMAGE_KEEP in offset order (ties: the order
 * they were added), the others only counted in `more`.  Zero-initialise;
 * add, sort (into offset order), free. */
enum { CLI_DAMAGE_KEEP = 1000 };
struct cli_damage {
	uint64_t offset, len, events, chunk_seq;
	uint64_t order;         /* when it was added */
	uint32_t stream;
	char msg[160];
};
struct cli_damage_list {
	struct cli_damage *v;
	size_t n, cap;
	uint64_t seen;          /* entries added */
	uint64_t more;          /* added but not kept */
	int nomem;              /* some were not kept for want of memory (counted in more) */
};
void cli_damage_add(struct cli_damage_list *l, const hvlog_item *it);
void cli_damage_sort(struct cli_damage_list *l);
void cli_damage_free(struct cli_damage_list *l);

int cmd_decode(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_filter(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_diff(int argc, char **argv);   /* cmd_diff.c */
int cmd_report(int argc, char **argv); /* cmd_report.c */
int cmd_top(int argc, char **argv);    /* cmd_top.c */

#endif
