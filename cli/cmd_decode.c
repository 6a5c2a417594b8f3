/*
 * hvlog decode [FILE|-]: every item of a trace in time order.
 */
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct decode_opts {
	const char *file;
	hvlog_format_kind format;
	const char **groups;
	int ngroups;
};

static const struct argp_option options[] = {
	{ "format", 'f', "FORMAT", 0, "text (default) or json (JSON Lines, one object per item)", 0 },
	{ "group", 'g', "GROUP", 0, "only events of GROUP (alias, full name or mask); repeatable", 0 },
	{ 0 }
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct decode_opts *o = state->input;

	switch (key) {
	case 'f':
		if (!strcmp(arg, "text"))
			o->format = HVLOG_FORMAT_TEXT;
		else if (!strcmp(arg, "json"))
			o->format = HVLOG_FORMAT_JSON;
		else
			argp_error(state, "unknown format '%s' (text or json)", arg);
		return 0;
	case 'g':
		o->groups = realloc(o->groups, (size_t)(o->ngroups + 1) * sizeof *o->groups);
		if (!o->groups)
			argp_failure(state, EXIT_IO, ENOMEM, "options");
		o->groups[o->ngroups++] = arg;
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

/* A group given by alias, name or mask ("0x800", "0x400|0x800"). */
static int group_mask(const hvlog_schema *s, const char *arg, uint64_t *mask)
{
	const hvlog_group *g = hvlog_schema_lookup_group(s, arg);
	char *end;

	if (g) {
		*mask |= g->mask;
		return 0;
	}
	if (arg[0] >= '0' && arg[0] <= '9') {
		errno = 0;
		uint64_t m = strtoull(arg, &end, 0);
		if (!errno && !*end && m) {
			*mask |= m;
			return 0;
		}
	}
	return -1;
}

int cmd_decode(int argc, char **argv)
{
	static const char doc[] = "Print the events of a trace in time order, with lost events and damage "
				  "where they happened.";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, NULL, NULL, NULL };
	struct decode_opts o = { 0 };
	static char outbuf[1 << 16];
	char line[HVLOG_FORMAT_MAX];
	const char *shown;
	hvlog_reader *r;
	const hvlog_item *it;
	hvlog_error err = { 0 };
	hvlog_status st;
	uint64_t mask = 0, t0;
	hvlog_reader_stats stats;
	int code = EXIT_OK;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	if (!o.file)
		o.file = "-";
	shown = strcmp(o.file, "-") ? o.file : "(stdin)";
	if (!(r = cli_open(o.file, &code))) {
		free(o.groups);
		return code;
	}
	for (int i = 0; i < o.ngroups; i++)
		if (group_mask(hvlog_reader_meta(r)->schema, o.groups[i], &mask) != 0) {
			cli_error(NULL, UINT64_MAX, "unknown group '%s' (see `hvlog events`)", o.groups[i]);
			free(o.groups);
			hvlog_reader_close(r);
			return EXIT_USAGE;
		}
	free(o.groups);
	hvlog_reader_set_group_mask(r, mask);
	hvlog_reader_stats_get(r, &stats);
	t0 = stats.first_ts;

	setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
	while ((st = hvlog_reader_next(r, &it, &err)) == HVLOG_OK) {
		size_t n = hvlog_format_item(hvlog_reader_meta(r), it, o.format, t0, line, sizeof line);
		fwrite(line, 1, n, stdout);
		if (it->kind == HVLOG_ITEM_DAMAGE) {
			cli_error(shown, it->offset, "%s", it->damage_msg);
			code = EXIT_DATA;
		}
	}
	if (st != HVLOG_END)
		code = cli_fail(shown, &err);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error(NULL, UINT64_MAX, "writing the output failed: %s", strerror(errno));
		code = EXIT_IO;
	}
	hvlog_reader_close(r);
	return code;
}
