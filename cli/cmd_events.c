/*
 * hvlog events [FILE|-]: the built-in schema, or the one a trace embeds, as
 * tables (groups, events, value tables), JSON Lines or Markdown.
 */
#include <argp.h>
#include <string.h>

#include "cli.h"

enum { OUT_TEXT, OUT_JSON, OUT_MARKDOWN };

struct events_opts {
	int format;
	const char *group;
	const char *file; /* NULL: the built-in schema */
};

static const struct argp_option options[] = {
	{ "format", 'f', "FORMAT", 0, "text (default), json (one object per event) or markdown", 0 },
	{ "group", 'g', "GROUP", 0, "only the events of GROUP (alias or full name)", 0 },
	{ 0 }
};

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct events_opts *o = state->input;

	switch (key) {
	case 'f':
		if (!strcmp(arg, "text"))
			o->format = OUT_TEXT;
		else if (!strcmp(arg, "json"))
			o->format = OUT_JSON;
		else if (!strcmp(arg, "markdown"))
			o->format = OUT_MARKDOWN;
		else
			argp_error(state, "unknown format '%s' (text, json or markdown)", arg);
		return 0;
	case 'g':
		o->group = arg;
		return 0;
	case ARGP_KEY_ARG:
		if (o->file)
			argp_error(state, "unexpected argument '%s'", arg);
		o->file = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static void print_json(const hvlog_schema *s, const hvlog_event *e)
{
	const hvlog_group *g = &s->groups[e->group];

	printf("{\"number\":%u,\"symbol\":", e->number);
	cli_json_str(e->symbol);
	printf(",\"description\":");
	cli_json_str(e->description);
	printf(",\"group\":");
	cli_json_str(g->alias);
	printf(",\"group_name\":");
	cli_json_str(g->name);
	printf(",\"group_mask\":\"0x%016llx\",\"params\":[", (unsigned long long)g->mask);
	for (uint32_t i = 0; i < e->nparams; i++) {
		const hvlog_param *p = &e->params[i];
		printf("%s{\"key\":\"%s\",\"name\":", i ? "," : "", p->key);
		cli_json_str(p->name);
		printf(",\"type\":\"%s\",\"display\":\"%s\",\"coding\":\"%s\"", hvlog_type_name(p->type),
		       hvlog_display_name(p->display), hvlog_coding_name(p->coding));
		if (p->values)
			printf(",\"values\":\"%s\"", p->values->alias);
		putchar('}');
	}
	puts("]}");
}

static void print_params(const hvlog_event *e, int markdown)
{
	for (uint32_t i = 0; i < e->nparams; i++) {
		const hvlog_param *p = &e->params[i];
		printf("%s%s %s (%s", i ? ", " : "", cli_tty(p->key), hvlog_type_name(p->type),
		       hvlog_display_name(p->display));
		if (p->values)
			printf(" %s", cli_tty(p->values->alias));
		printf(")");
	}
	if (!e->nparams)
		printf(markdown ? "none" : "-");
}

/* Whether value table t is listed: all of them for the whole schema, those
 * its events use for one group. */
static int valtab_shown(const hvlog_schema *s, const hvlog_group *only, const hvlog_valtab *t)
{
	if (!only)
		return 1;
	for (uint32_t i = 0; i < s->nevents; i++)
		for (uint32_t k = 0; k < s->events[i].nparams; k++)
			if (&s->groups[s->events[i].group] == only && s->events[i].params[k].values == t)
				return 1;
	return 0;
}

/* The groups and the value tables, in the text or Markdown layout. */
static void print_groups(const hvlog_schema *s, const hvlog_group *only, int markdown)
{
	if (markdown)
		printf("| alias | name | mask |\n|---|---|---|\n");
	else
		printf("%-15s %-18s  %s\n", "GROUP", "MASK", "NAME");
	for (uint32_t i = 0; i < s->ngroups; i++) {
		const hvlog_group *g = &s->groups[i];
		if (only && only != g)
			continue;
		if (markdown)
			printf("| `%s` | %s | `0x%016llx` |\n", cli_tty(g->alias), cli_tty(g->name),
			       (unsigned long long)g->mask);
		else
			printf("%-15s 0x%016llx  %s\n", cli_tty(g->alias), (unsigned long long)g->mask, cli_tty(g->name));
	}
}

static void print_valtabs(const hvlog_schema *s, const hvlog_group *only, int markdown)
{
	int header = 0;

	for (uint32_t t = 0; t < s->nvaltabs; t++) {
		const hvlog_valtab *vt = &s->valtabs[t];
		if (!valtab_shown(s, only, vt))
			continue;
		if (markdown)
			printf("### `%s`\n\n| value | name |\n|---|---|\n", cli_tty(vt->alias));
		else if (!header++)
			printf("\n%-15s %-18s  %s\n", "VALUE TABLE", "VALUE", "NAME");
		for (uint32_t v = 0; v < vt->nvalues; v++)
			if (markdown)
				printf("| `0x%llx` | `%s` |\n", (unsigned long long)vt->values[v].value,
				       cli_tty(vt->values[v].name));
			else
				printf("%-15s 0x%-16llx  %s\n", cli_tty(vt->alias), (unsigned long long)vt->values[v].value,
				       cli_tty(vt->values[v].name));
		if (markdown)
			putchar('\n');
	}
}

int cmd_events(int argc, char **argv)
{
	static const char doc[] = "List a schema: every group with its mask, every event with its number, group "
				  "and parameters (key, type, display format, value table), and the value tables. "
				  "The built-in schema, or with FILE the one the trace embeds ('-': standard input).";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, NULL, NULL, NULL };
	struct events_opts o = { OUT_TEXT, NULL, NULL };
	const hvlog_schema *s = hvlog_schema_builtin();
	const hvlog_group *only = NULL;
	hvlog_reader *r = NULL;
	int code = EXIT_OK;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	if (o.file) {
		if (!(r = cli_open(o.file, &code)))
			return code;
		s = hvlog_reader_meta(r)->schema;
	}
	if (o.group && !(only = hvlog_schema_lookup_group(s, o.group))) {
		cli_error(o.file ? cli_shown(o.file) : NULL, UINT64_MAX, "unknown group '%s'", o.group);
		hvlog_reader_close(r);
		return EXIT_USAGE;
	}
	if (o.format == OUT_MARKDOWN) {
		printf("# The hvlog schema\n\nGenerated by `hvlog events --format markdown` from "
		       "`schema/hvlog_schema.def`; do not edit.\n\n## Groups\n\n");
		print_groups(s, only, 1);
		printf("\n## Events\n\nParameters: key, type (display, value table).\n\n"
		       "| number | symbol | group | description | parameters |\n|---|---|---|---|---|\n");
	} else if (o.format == OUT_TEXT) {
		print_groups(s, only, 0);
		printf("\n%-6s %-32s %-10s %-30s %s\n", "NUMBER", "SYMBOL", "GROUP", "DESCRIPTION", "PARAMETERS");
	}
	for (uint32_t i = 0; i < s->nevents; i++) {
		const hvlog_event *e = &s->events[i];
		if (only && only != &s->groups[e->group])
			continue;
		if (o.format == OUT_JSON) {
			print_json(s, e);
			continue;
		}
		if (o.format == OUT_MARKDOWN)
			printf("| `0x%02X` | `%s` | `%s` | %s | ", e->number, cli_tty(e->symbol),
			       cli_tty(s->groups[e->group].alias), cli_tty(e->description));
		else
			printf("0x%02X   %-32s %-10s %-30s ", e->number, cli_tty(e->symbol),
			       cli_tty(s->groups[e->group].alias), cli_tty(e->description));
		print_params(e, o.format == OUT_MARKDOWN);
		puts(o.format == OUT_MARKDOWN ? " |" : "");
	}
	if (o.format == OUT_MARKDOWN)
		printf("\n## Value tables\n\n");
	if (o.format != OUT_JSON)
		print_valtabs(s, only, o.format == OUT_MARKDOWN);
	hvlog_reader_close(r);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}
