/*
 * color.h - colour for text output on a terminal (`hvlog decode`).
 *
 * --color=auto (the default) colours only when standard output is a
 * terminal, NO_COLOR is unset or empty and TERM is not "dumb";
 * --color=always and --color=never decide alone.
 * Also decode's --time, the formatter's time mode.
 */
#ifndef HVLOG_CLI_COLOR_H
#define HVLOG_CLI_COLOR_H

#include <stddef.h>
#include <stdio.h>

#include "hvlog/hvlog.h"

/* argp key of the --color option, and its table entry. */
#define CLI_COLOR_KEY 0x434f
#define CLI_COLOR_OPTION                                                                      \
	{ "color", CLI_COLOR_KEY, "WHEN", OPTION_ARG_OPTIONAL,                                 \
	  "colour the text output: auto (default: on a terminal, unless NO_COLOR is set), "   \
	  "always or never; --color alone is always", 0 }

/* argp key of decode's --time option, and its table entry. */
#define CLI_TIME_KEY 0x5449
#define CLI_TIME_OPTION                                                                        \
	{ "time", CLI_TIME_KEY, "MODE", 0,                                                      \
	  "how times show: relative (default: seconds since the first event), absolute (UTC "  \
	  "wall-clock, when the trace's clock epoch is known), ticks (raw timestamps) or delta " \
	  "(seconds since the previous line); JSON adds time_utc or delta_ns", 0 }

/* Parse --time's argument: 0, or -1 if it is not one of relative,
 * absolute, ticks, delta. */
int cli_time_set(const char *mode);

/* Parse --color's argument (NULL: "always"); 0, or -1 if it is none of
 * auto, always, never (also accepted: yes/force, no/none, tty/if-tty). */
int cli_color_set(const char *when);

/* Whether to colour what goes to f, after the options were parsed. */
int cli_color_on(FILE *f);

/* The formatter of the lines of kind (text or JSON) that go to f, the
 * text coloured if colour is on (time, group, event, parameter values;
 * LOST and DAMAGE lines), JSON in the library's dialect (its meta item is
 * the formatter's header), times in --time's mode; 0, or an exit code if
 * it cannot be made (reported; EXIT_USAGE for --time=absolute on a trace
 * whose clock epoch is unknown). */
int cli_formatter(FILE *f, const hvlog_meta *m, hvlog_format_kind kind, uint64_t t0, hvlog_formatter **out);

#endif
