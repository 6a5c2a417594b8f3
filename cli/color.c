/*
 * color.c - the --color option of `hvlog decode`: whether to colour.  The
 * colours themselves are put in by the library's text formatter
 * (HVLOG_FMT_COLOR), column by column as it writes the line.  Also
 * --time, the formatter's time mode (HVLOG_FMT_TIME).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "color.h"

enum { WHEN_AUTO, WHEN_ALWAYS, WHEN_NEVER };
static int when = WHEN_AUTO;

int cli_color_set(const char *arg)
{
	static const struct {
		const char *name;
		int when;
	} names[] = {
		{ "auto", WHEN_AUTO },	   { "tty", WHEN_AUTO },    { "if-tty", WHEN_AUTO },
		{ "always", WHEN_ALWAYS }, { "yes", WHEN_ALWAYS },  { "force", WHEN_ALWAYS },
		{ "never", WHEN_NEVER },   { "no", WHEN_NEVER },    { "none", WHEN_NEVER },
	};

	if (!arg) {
		when = WHEN_ALWAYS;
		return 0;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcasecmp(arg, names[i].name)) {
			when = names[i].when;
			return 0;
		}
	return -1;
}

int cli_color_on(FILE *f)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	if (when != WHEN_AUTO)
		return when == WHEN_ALWAYS;
	if (no && *no)
		return 0;
	if (term && !strcmp(term, "dumb"))
		return 0;
	return isatty(fileno(f));
}

static hvlog_time_mode time_mode = HVLOG_TIME_RELATIVE;

int cli_time_set(const char *arg)
{
	/* in the order of hvlog_time_mode */
	static const char *const names[] = { "relative", "absolute", "ticks", "delta" };

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(arg, names[i])) {
			time_mode = (hvlog_time_mode)i;
			return 0;
		}
	return -1;
}

int cli_formatter(FILE *f, const hvlog_meta *m, hvlog_format_kind kind, uint64_t t0, hvlog_formatter **out)
{
	hvlog_formatter_config cfg = { kind, HVLOG_FMT_TIME(time_mode), t0, NULL };
	hvlog_error err = { 0 };

	if (kind == HVLOG_FORMAT_TEXT && cli_color_on(f))
		cfg.flags |= HVLOG_FMT_COLOR;
	if (hvlog_formatter_create(out, m, &cfg, &err) != HVLOG_OK)
		return cli_fail(NULL, &err);
	return 0;
}
