/*
 * hvlog events [FILE|-]: the built-in schema, or the one a trace embeds, as
 * tables (groups, events, value tables), JSON Lines or Markdown.
 */
#include <argp.h>
#include <string.h>

#include "cli.h"

enum { OUT_TEXT, OUT_JSON, OUT_MARKDOWN };

struct events_opts {
	struct cli_io io; /* io.file NULL: the built-in schema */
	const char *group;
};

static const struct argp_option io_options[] = {
	CLI_FORMAT_OPTION("text (default), json (one object per event) or markdown"),
	{ 0 }
};
static const struct argp io_argp = CLI_IO_ARGP(io_options);
static const struct argp_child children[] = { { &io_argp, 0, NULL, 0 }, { 0 } };
static const char *const formats[] = { [OUT_TEXT] = "text", [OUT_JSON] = "json", [OUT_MARKDOWN] = "markdown", NULL };

static const struct argp_option options[] = {
	{ "group", 'g', "GROUP", 0, "only the events of GROUP (alias or full name)", 0 },
	{ 0 }
};

CLI_PARSE_ONE_ARG(parse, struct events_opts, 'g', group)

/* What the walk prints: one format, and the group it is limited to. */
struct lister {
	const hvlog_schema *s;
	const hvlog_group *only;
	int format;
	int skip;        /* the current event is not listed */
	int valtab_rows; /* value-table rows so far (the text header goes once) */
};

static int group_listed(const struct lister *l, const hvlog_group *g)
{
	return !l->only || l->only == g;
}

static void on_group(void *ctx, uint32_t i, const hvlog_group *g)
{
	const struct lister *l = ctx;

	(void)i;
	if (!group_listed(l, g))
		return;
	if (l->format == OUT_MARKDOWN)
		printf("| `%s` | %s | `0x%016llx` |\n", cli_tty(g->alias), cli_tty(g->name), (unsigned long long)g->mask);
	else
		printf("%-15s 0x%016llx  %s\n", cli_tty(g->alias), (unsigned long long)g->mask, cli_tty(g->name));
}

static void on_event(void *ctx, uint32_t i, const hvlog_event *e)
{
	struct lister *l = ctx;
	const hvlog_group *g = &l->s->groups[e->group];

	(void)i;
	if ((l->skip = !group_listed(l, g)))
		return;
	if (l->format == OUT_JSON) {
		printf("{\"number\":%u,\"symbol\":", e->number);
		cli_json_str(e->symbol);
		printf(",\"description\":");
		cli_json_str(e->description);
		printf(",\"group\":");
		cli_json_str(g->alias);
		printf(",\"group_name\":");
		cli_json_str(g->name);
		printf(",\"group_mask\":\"0x%016llx\",\"params\":[", (unsigned long long)g->mask);
	} else if (l->format == OUT_MARKDOWN) {
		printf("| `0x%02X` | `%s` | `%s` | %s | ", e->number, cli_tty(e->symbol), cli_tty(g->alias),
		       cli_tty(e->description));
	} else {
		printf("0x%02X   %-32s %-10s %-30s ", e->number, cli_tty(e->symbol), cli_tty(g->alias),
		       cli_tty(e->description));
	}
}

static void on_param(void *ctx, const hvlog_event *e, uint32_t i, const hvlog_param *p)
{
	const struct lister *l = ctx;

	(void)e;
	if (l->skip)
		return;
	if (l->format == OUT_JSON) {
		printf("%s{\"key\":\"%s\",\"name\":", i ? "," : "", p->key);
		cli_json_str(p->name);
		printf(",\"type\":\"%s\",\"display\":\"%s\",\"coding\":\"%s\"", hvlog_type_name(p->type),
		       hvlog_display_name(p->display), hvlog_coding_name(p->coding));
		if (p->values)
			printf(",\"values\":\"%s\"", p->values->alias);
		putchar('}');
		return;
	}
	printf("%s%s %s (%s", i ? ", " : "", cli_tty(p->key), hvlog_type_name(p->type), hvlog_display_name(p->display));
	if (p->values)
		printf(" %s", cli_tty(p->values->alias));
	printf(")");
}

static void on_event_end(void *ctx, const hvlog_event *e)
{
	const struct lister *l = ctx;

	if (l->skip)
		return;
	if (l->format == OUT_JSON) {
		puts("]}");
		return;
	}
	if (!e->nparams)
		printf(l->format == OUT_MARKDOWN ? "none" : "-");
	puts(l->format == OUT_MARKDOWN ? " |" : "");
}

/* Whether value table t is listed: all of them for the whole schema, those
 * its events use for one group. */
static int valtab_shown(const struct lister *l, const hvlog_valtab *t)
{
	const hvlog_schema *s = l->s;

	if (!l->only)
		return 1;
	for (uint32_t i = 0; i < s->nevents; i++)
		for (uint32_t k = 0; k < s->events[i].nparams; k++)
			if (&s->groups[s->events[i].group] == l->only && s->events[i].params[k].values == t)
				return 1;
	return 0;
}

static void on_valtab(void *ctx, uint32_t i, const hvlog_valtab *t)
{
	struct lister *l = ctx;

	(void)i;
	if ((l->skip = !valtab_shown(l, t)))
		return;
	if (l->format == OUT_MARKDOWN)
		printf("### `%s`\n\n| value | name |\n|---|---|\n", cli_tty(t->alias));
	else if (!l->valtab_rows++)
		printf("\n%-15s %-18s  %s\n", "VALUE TABLE", "VALUE", "NAME");
}

static void on_value(void *ctx, const hvlog_valtab *t, const hvlog_value_name *v)
{
	const struct lister *l = ctx;

	if (l->skip)
		return;
	if (l->format == OUT_MARKDOWN)
		printf("| `0x%llx` | `%s` |\n", (unsigned long long)v->value, cli_tty(v->name));
	else
		printf("%-15s 0x%-16llx  %s\n", cli_tty(t->alias), (unsigned long long)v->value, cli_tty(v->name));
}

static void on_valtab_end(void *ctx, const hvlog_valtab *t)
{
	const struct lister *l = ctx;

	(void)t;
	if (!l->skip && l->format == OUT_MARKDOWN)
		putchar('\n');
}

static const hvlog_meta_visitor lister_visitor = {
	.group = on_group,
	.valtab = on_valtab,
	.value = on_value,
	.valtab_end = on_valtab_end,
	.event = on_event,
	.param = on_param,
	.event_end = on_event_end,
};

int cmd_events(int argc, char **argv)
{
	static const char doc[] = "List a schema: every group with its mask, every event with its number, group "
				  "and parameters (key, type, display format, value table), and the value tables. "
				  "The built-in schema, or with FILE the one the trace embeds ('-': standard input).";
	static const struct argp argp = { options, parse, "[FILE|-]", doc, children, NULL, NULL };
	struct events_opts o = { .io = { .formats = formats, .more = "unexpected argument '%s'", .optional = 1 } };
	const hvlog_schema *s = hvlog_schema_builtin();
	const hvlog_group *only = NULL;
	hvlog_reader *r = NULL;
	int code = EXIT_OK;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	if (o.io.file) {
		if (!(r = cli_open(o.io.file, &code)))
			return code;
		s = hvlog_reader_meta(r)->schema;
	}
	if (o.group && !(only = hvlog_schema_lookup_group(s, o.group))) {
		cli_error(o.io.file ? cli_shown(o.io.file) : NULL, UINT64_MAX, "unknown group '%s'", o.group);
		hvlog_reader_close(r);
		return EXIT_USAGE;
	}
	struct lister l = { s, only, o.io.format, 0, 0 };
	if (o.io.format == OUT_MARKDOWN) {
		printf("# The hvlog schema\n\nGenerated by `hvlog events --format markdown` from "
		       "`schema/hvlog_schema.def`; do not edit.\n\n## Groups\n\n| alias | name | mask |\n|---|---|---|\n");
		hvlog_meta_walk(NULL, s, HVLOG_LIST_GROUPS, &lister_visitor, &l);
		printf("\n## Events\n\nParameters: key, type (display, value table).\n\n"
		       "| number | symbol | group | description | parameters |\n|---|---|---|---|---|\n");
	} else if (o.io.format == OUT_TEXT) {
		printf("%-15s %-18s  %s\n", "GROUP", "MASK", "NAME");
		hvlog_meta_walk(NULL, s, HVLOG_LIST_GROUPS, &lister_visitor, &l);
		printf("\n%-6s %-32s %-10s %-30s %s\n", "NUMBER", "SYMBOL", "GROUP", "DESCRIPTION", "PARAMETERS");
	}
	hvlog_meta_walk(NULL, s, HVLOG_LIST_EVENTS, &lister_visitor, &l);
	if (o.io.format == OUT_MARKDOWN)
		printf("\n## Value tables\n\n");
	if (o.io.format != OUT_JSON)
		hvlog_meta_walk(NULL, s, HVLOG_LIST_VALTABS, &lister_visitor, &l);
	hvlog_reader_close(r);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}
