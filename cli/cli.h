/*
 * cli.h - shared pieces of the hvlog command line.
 */
#ifndef HVLOG_CLI_H
#define HVLOG_CLI_H

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

/* s for a terminal: a copy with control characters (an escape sequence a
 * hostile trace could carry in a name) shown as '?'.  Eight results may be
 * in use at once (several in one printf); NULL gives "". */
const char *cli_tty(const char *s);

/* Report a failed library call with its context; returns the exit code. */
int cli_fail(const char *file, const hvlog_error *err);

/* Open a trace for reading, reporting failure; NULL on failure with *code set. */
hvlog_reader *cli_open(const char *file, int *code);

/* How diagnostics name a FILE argument ("-" is "(stdin)"). */
static inline const char *cli_shown(const char *file)
{
	return strcmp(file, "-") ? file : "(stdin)";
}

/* "text" or "json"; 0 or -1. */
int cli_parse_format(const char *arg, hvlog_format_kind *kind);

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

#endif
