/*
 * color.c - colour for `hvlog decode` text lines on a terminal.
 *
 * The line comes from hvlog_format_item() unchanged; colours are put
 * around its columns, found by position: time, stream, group, event, then
 * " key=value" pairs.  The text between the escapes is byte for byte what
 * the uncoloured output holds.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "color.h"

enum { WHEN_AUTO, WHEN_ALWAYS, WHEN_NEVER };
static int when = WHEN_AUTO;

#define SGR_RESET "\033[0m"
#define SGR_TIME "\033[2m"       /* dim */
#define SGR_GROUP "\033[36m"     /* cyan */
#define SGR_EVENT "\033[1m"      /* bold */
#define SGR_VALUE "\033[32m"     /* green */
#define SGR_LOST "\033[33m"      /* yellow */
#define SGR_DAMAGE "\033[1;31m"  /* bold red */

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

/* Length of the run of c (spaces) or of non-c at s, within [s, end). */
static size_t span(const char *s, const char *end, int spaces)
{
	const char *p = s;

	while (p < end && (*p == ' ') == spaces)
		p++;
	return (size_t)(p - s);
}

static void put(FILE *f, const char *sgr, const char *s, size_t n)
{
	if (!n)
		return;
	if (sgr)
		fputs(sgr, f);
	fwrite(s, 1, n, f);
	if (sgr)
		fputs(SGR_RESET, f);
}

void cli_color_write(FILE *f, const char *line, size_t n, const hvlog_item *it)
{
	const char *p = line, *end = line + n;
	size_t k;

	if (n && end[-1] == '\n')
		end--;
	/* leading blanks, time, blanks, stream, blanks */
	put(f, NULL, p, k = span(p, end, 1)), p += k;
	put(f, SGR_TIME, p, k = span(p, end, 0)), p += k;
	put(f, NULL, p, k = span(p, end, 1)), p += k;
	put(f, NULL, p, k = span(p, end, 0)), p += k;
	put(f, NULL, p, k = span(p, end, 1)), p += k;
	if (it->kind != HVLOG_ITEM_EVENT) {
		put(f, it->kind == HVLOG_ITEM_LOST ? SGR_LOST : SGR_DAMAGE, p, (size_t)(end - p));
	} else {
		put(f, SGR_GROUP, p, k = span(p, end, 0)), p += k;
		put(f, NULL, p, k = span(p, end, 1)), p += k;
		put(f, SGR_EVENT, p, k = span(p, end, 0)), p += k;
		/* " key=value" pairs: the value runs to the next " key=" */
		while (p < end) {
			const char *eq = memchr(p, '=', (size_t)(end - p)), *v, *next = end, *sp;
			if (!eq) {
				put(f, NULL, p, (size_t)(end - p));
				break;
			}
			put(f, NULL, p, (size_t)(eq + 1 - p));
			v = eq + 1;
			for (sp = v; sp < end && (sp = memchr(sp, ' ', (size_t)(end - sp))); sp++) {
				const char *t = sp + 1;
				while (t < end && *t != ' ' && *t != '=')
					t++;
				if (t < end && *t == '=') {
					next = sp;
					break;
				}
			}
			put(f, SGR_VALUE, v, (size_t)(next - v));
			p = next;
		}
	}
	fwrite(end, 1, (size_t)(line + n - end), f);
}
