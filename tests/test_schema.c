/*
 * test_schema.c - the built-in schema equals the source table it was
 * transcribed from (schema/source/hyperv_event_log_entries.txt), up to the
 * normalisations listed below; and the schema look-ups.
 *
 * The source table is parsed at run time:
 *   - lines starting with '#' and blank lines (also lines holding only
 *     whitespace or non-breaking spaces) are skipped;
 *   - a group is a name line followed by a mask line, "0x" + 16 hex digits;
 *   - an event is a line starting with "HV_TR_", then its number line
 *     ("0x.." or "0X.."), then a description line, then parameter lines up
 *     to the next event or group; parameters are separated by commas,
 *     possibly several on a line, with trailing commas.  A missing
 *     description (next line is an event, a group, or the end) is "".
 */
#include <check.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "testutil.h"

#define SOURCE_TABLE HVLOG_SOURCE_DIR "/schema/source/hyperv_event_log_entries.txt"
#define ANY_EVENT UINT32_MAX

/* ---- the documented normalisations: seed spelling -> schema spelling ---- */

static const struct {
	const char *seed, *schema;
} symbol_fixes[] = {
	{ "HV_TR_IM_ CR_READ", "HV_TR_IM_CR_READ" },
	{ "HV_TR_IM_ INTERRUPT_PENDING", "HV_TR_IM_INTERRUPT_PENDING" },
	{ "HV_TR_IM_ DR_ACCESS", "HV_TR_IM_DR_ACCESS" },
	{ "HV_TR_IM_REFLECTED EXCEPTION", "HV_TR_IM_REFLECTED_EXCEPTION" },
};

static const struct {
	const char *seed, *schema;
} group_fixes[] = {
	{ "Virtual Abstruaction Layer", "Virtual Abstraction Layer" },
};

static const struct {
	uint32_t number;
	const char *seed, *schema;
} description_fixes[] = {
	{ 0x46, "Parition Reference Time", "Partition Reference Time" },
	{ 0x72, "FlushVirtual TLB", "Flush Virtual TLB" },
	{ 0xF0, "Context Switch", "Profiler Sample" },
	{ 0xF1, "", "Profiler Hypervisor Module" },
};

/* seed NULL: the event has no parameters in the table. */
static const struct {
	uint32_t number;
	const char *seed;
	const char *schema[2];
} param_fixes[] = {
	{ ANY_EVENT, "Value (0 if unsuccessful)", { "Value" } },
	{ ANY_EVENT, "TscOffset", { "TSC Offset" } },
	{ ANY_EVENT, "ReferenceTimeOffset", { "Reference Time Offset" } },
	{ 0x36, "GPA Intercept Type", { "GPA", "Intercept Type" } },
	{ 0xF1, NULL, { "Image Base", "Image Size" } },
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the parsed table ------------------------------------------------ */

typedef struct seed_group {
	char name[256];
	uint64_t mask;
	int line;
} seed_group;

typedef struct seed_event {
	char symbol[256];
	uint32_t number;
	char description[256];
	int group;  /* index into the groups, -1 if before any group */
	char params[HVLOG_MAX_PARAMS * 2][256];
	int nparams;
	int line;
} seed_event;

typedef struct seed_table {
	seed_group groups[64];
	int ngroups;
	seed_event events[128];
	int nevents;
} seed_table;

typedef struct line {
	char text[256];
	int no;
} line;

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	for (;;) {
		if (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) {
			s[--n] = 0;
		} else if (n >= 2 && (uint8_t)s[n - 2] == 0xC2 && (uint8_t)s[n - 1] == 0xA0) {
			n -= 2;
			s[n] = 0;
		} else {
			break;
		}
	}
	for (;;) {
		if (s[i] == ' ' || s[i] == '\t')
			i++;
		else if ((uint8_t)s[i] == 0xC2 && (uint8_t)s[i + 1] == 0xA0)
			i += 2;
		else
			break;
	}
	memmove(s, s + i, n - i + 1);
}

static int is_mask(const char *s)
{
	if (strncmp(s, "0x", 2) && strncmp(s, "0X", 2))
		return 0;
	for (int i = 2; i < 18; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[18] == 0;
}

static int is_event_line(const char *s)
{
	return !strncmp(s, "HV_TR_", 6);
}

static int parse_number(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (strncmp(s, "0x", 2) && strncmp(s, "0X", 2))
		return 0;
	if (!isxdigit((unsigned char)s[2]))
		return 0;
	v = strtoul(s + 2, &end, 16);
	if (*end || v > HVLOG_MAX_EVENT_NUMBER)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

/* The non-blank, non-comment lines of the file. */
static line *read_lines(const char *path, int *n)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	line *v = NULL;
	int cap = 0, no = 0;

	ck_assert_msg(f != NULL, "cannot open the source table %s", path);
	*n = 0;
	while (fgets(buf, sizeof buf, f)) {
		no++;
		ck_assert_msg(strchr(buf, '\n') || feof(f), "%s:%d: line too long", path, no);
		if (buf[0] == '#')
			continue;
		trim(buf);
		if (!buf[0])
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 256;
			v = realloc(v, (size_t)cap * sizeof *v);
			ck_assert_ptr_nonnull(v);
		}
		ck_assert_msg(strlen(buf) < sizeof v[0].text, "%s:%d: line too long", path, no);
		strcpy(v[*n].text, buf);
		v[*n].no = no;
		(*n)++;
	}
	fclose(f);
	return v;
}

static int group_starts(const line *l, int n, int i)
{
	return i + 1 < n && !is_event_line(l[i].text) && is_mask(l[i + 1].text);
}

static void add_params(seed_event *e, const char *text, int no)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof buf, "%s", text);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		trim(tok);
		if (!*tok)
			continue;
		ck_assert_msg(e->nparams < (int)NELEMS(e->params), "line %d: too many parameters for %s", no,
			      e->symbol);
		snprintf(e->params[e->nparams++], sizeof e->params[0], "%s", tok);
	}
}

static void reset_fix_counts(void);

static void parse_table(const char *path, seed_table *t)
{
	int n, i = 0;
	line *l = read_lines(path, &n);

	memset(t, 0, sizeof *t);
	reset_fix_counts();
	while (i < n) {
		if (group_starts(l, n, i)) {
			seed_group *g = &t->groups[t->ngroups];
			ck_assert_msg(t->ngroups < (int)NELEMS(t->groups), "too many groups");
			snprintf(g->name, sizeof g->name, "%s", l[i].text);
			g->mask = strtoull(l[i + 1].text + 2, NULL, 16);
			g->line = l[i].no;
			t->ngroups++;
			i += 2;
		} else if (is_event_line(l[i].text)) {
			seed_event *e = &t->events[t->nevents];
			ck_assert_msg(t->nevents < (int)NELEMS(t->events), "too many events");
			snprintf(e->symbol, sizeof e->symbol, "%s", l[i].text);
			e->line = l[i].no;
			e->group = t->ngroups - 1;
			ck_assert_msg(i + 1 < n && parse_number(l[i + 1].text, &e->number),
				      "%s:%d: event %s is not followed by a number line (0x..)", path, l[i].no,
				      l[i].text);
			i += 2;
			if (i < n && !is_event_line(l[i].text) && !group_starts(l, n, i))
				snprintf(e->description, sizeof e->description, "%s", l[i++].text);
			while (i < n && !is_event_line(l[i].text) && !group_starts(l, n, i)) {
				add_params(e, l[i].text, l[i].no);
				i++;
			}
			t->nevents++;
		} else {
			ck_abort_msg("%s:%d: line is neither a group, a mask nor an event: \"%s\"", path, l[i].no,
				     l[i].text);
		}
	}
	free(l);
}

/* ---- applying the normalisations ------------------------------------- */

static int used_symbol[NELEMS(symbol_fixes)], used_group[NELEMS(group_fixes)];
static int used_description[NELEMS(description_fixes)], used_param[NELEMS(param_fixes)];

static void reset_fix_counts(void)
{
	memset(used_symbol, 0, sizeof used_symbol);
	memset(used_group, 0, sizeof used_group);
	memset(used_description, 0, sizeof used_description);
	memset(used_param, 0, sizeof used_param);
}

static const char *fix_symbol(const char *s)
{
	for (size_t i = 0; i < NELEMS(symbol_fixes); i++)
		if (!strcmp(s, symbol_fixes[i].seed)) {
			used_symbol[i]++;
			return symbol_fixes[i].schema;
		}
	return s;
}

static const char *fix_group(const char *s)
{
	for (size_t i = 0; i < NELEMS(group_fixes); i++)
		if (!strcmp(s, group_fixes[i].seed)) {
			used_group[i]++;
			return group_fixes[i].schema;
		}
	return s;
}

static const char *fix_description(uint32_t number, const char *s)
{
	for (size_t i = 0; i < NELEMS(description_fixes); i++)
		if (description_fixes[i].number == number && !strcmp(s, description_fixes[i].seed)) {
			used_description[i]++;
			return description_fixes[i].schema;
		}
	return s;
}

/* The seed parameter list of e after the fixes, into out; returns the count. */
static int fix_params(const seed_event *e, const char *out[HVLOG_MAX_PARAMS * 2])
{
	int n = 0;

	if (e->nparams == 0)
		for (size_t i = 0; i < NELEMS(param_fixes); i++)
			if (param_fixes[i].number == e->number && !param_fixes[i].seed) {
				used_param[i]++;
				for (int k = 0; k < 2 && param_fixes[i].schema[k]; k++)
					out[n++] = param_fixes[i].schema[k];
				return n;
			}
	for (int j = 0; j < e->nparams; j++) {
		size_t i;
		for (i = 0; i < NELEMS(param_fixes); i++)
			if ((param_fixes[i].number == ANY_EVENT || param_fixes[i].number == e->number) &&
			    param_fixes[i].seed && !strcmp(param_fixes[i].seed, e->params[j]))
				break;
		if (i == NELEMS(param_fixes)) {
			out[n++] = e->params[j];
			continue;
		}
		used_param[i]++;
		for (int k = 0; k < 2 && param_fixes[i].schema[k]; k++)
			out[n++] = param_fixes[i].schema[k];
	}
	return n;
}

/* ---- tests ------------------------------------------------------------ */

START_TEST(test_source_table_parses)
{
	seed_table *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	parse_table(SOURCE_TABLE, t);
	ck_assert_msg(t->ngroups == 20, "source table: %d groups, expected 20", t->ngroups);
	ck_assert_msg(t->nevents == 40, "source table: %d events, expected 40", t->nevents);
	/* spot checks of the parser itself */
	ck_assert_str_eq(t->groups[0].name, "Boot Manager");
	ck_assert_uint_eq(t->groups[0].mask, 0x0000010000000000ull);
	ck_assert_str_eq(t->events[0].symbol, "HV_TR_HC_HYPERCALL");
	ck_assert_uint_eq(t->events[0].number, 0x1A);
	ck_assert_int_eq(t->events[0].nparams, 2);
	for (int i = 0; i < t->nevents; i++) {
		const seed_event *e = &t->events[i];
		if (e->number == 0x46) { /* "TscOffset, ReferenceTimeOffset" on one line */
			ck_assert_int_eq(e->nparams, 2);
			ck_assert_str_eq(e->params[1], "ReferenceTimeOffset");
		}
		if (e->number == 0xF0) /* three on one line */
			ck_assert_int_eq(e->nparams, 3);
		if (e->number == 0xF1) {
			ck_assert_str_eq(e->description, "");
			ck_assert_int_eq(e->nparams, 0);
		}
		ck_assert_msg(e->group >= 0, "line %d: event %s before any group", e->line, e->symbol);
	}
	free(t);
}
END_TEST

START_TEST(test_groups_match_source)
{
	const hvlog_schema *s = hvlog_schema_builtin();
	seed_table *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	parse_table(SOURCE_TABLE, t);
	ck_assert_msg(s->ngroups == (uint32_t)t->ngroups, "schema has %u groups, the source table %d", s->ngroups,
		      t->ngroups);
	ck_assert_uint_eq(s->ngroups, 20);
	for (int i = 0; i < t->ngroups; i++) {
		const char *want = fix_group(t->groups[i].name);
		ck_assert_msg(!strcmp(s->groups[i].name, want), "group %d (line %d): schema \"%s\", source \"%s\"", i,
			      t->groups[i].line, s->groups[i].name, want);
		ck_assert_msg(s->groups[i].mask == t->groups[i].mask,
			      "group \"%s\": schema mask 0x%016" PRIx64 ", source 0x%016" PRIx64, want,
			      s->groups[i].mask, t->groups[i].mask);
	}
	for (size_t i = 0; i < NELEMS(group_fixes); i++)
		ck_assert_msg(used_group[i] == 1, "group normalisation \"%s\" applied %d times (stale table?)",
			      group_fixes[i].seed, used_group[i]);
	/* masks: one bit each, all different; aliases lowercase and unique */
	for (uint32_t i = 0; i < s->ngroups; i++) {
		uint64_t m = s->groups[i].mask;
		ck_assert_msg(m && !(m & (m - 1)), "group %s: mask 0x%" PRIx64 " is not one bit", s->groups[i].name,
			      m);
		for (const char *p = s->groups[i].alias; *p; p++)
			ck_assert_msg(islower((unsigned char)*p) || *p == '_', "group alias \"%s\" not lowercase",
				      s->groups[i].alias);
		for (uint32_t j = 0; j < i; j++) {
			ck_assert_msg(s->groups[j].mask != m, "groups %s and %s share a mask", s->groups[j].name,
				      s->groups[i].name);
			ck_assert_msg(strcmp(s->groups[j].alias, s->groups[i].alias), "alias %s twice",
				      s->groups[i].alias);
		}
	}
	free(t);
}
END_TEST

START_TEST(test_events_match_source)
{
	const hvlog_schema *s = hvlog_schema_builtin();
	seed_table *t = malloc(sizeof *t);

	ck_assert_ptr_nonnull(t);
	parse_table(SOURCE_TABLE, t);
	ck_assert_msg(s->nevents == (uint32_t)t->nevents, "schema has %u events, the source table %d", s->nevents,
		      t->nevents);
	for (int i = 0; i < t->nevents; i++) {
		const seed_event *e = &t->events[i];
		const hvlog_event *ev = hvlog_schema_find_event(s, e->number);
		const char *params[HVLOG_MAX_PARAMS * 2];
		const char *sym, *desc, *grp;
		int np;

		ck_assert_msg(ev != NULL, "line %d: event 0x%X (%s) is not in the schema", e->line, e->number,
			      e->symbol);
		sym = fix_symbol(e->symbol);
		ck_assert_msg(!strcmp(ev->symbol, sym), "event 0x%X (line %d): schema symbol \"%s\", source \"%s\"",
			      e->number, e->line, ev->symbol, sym);
		grp = fix_group(t->groups[e->group].name);
		ck_assert_msg(ev->group < s->ngroups && !strcmp(s->groups[ev->group].name, grp),
			      "event %s: schema group \"%s\", source \"%s\"", sym,
			      ev->group < s->ngroups ? s->groups[ev->group].name : "(out of range)", grp);
		desc = fix_description(e->number, e->description);
		ck_assert_msg(!strcmp(ev->description, desc), "event %s: schema description \"%s\", source \"%s\"",
			      sym, ev->description, desc);
		np = fix_params(e, params);
		for (int k = 0; k < np && k < (int)ev->nparams; k++)
			ck_assert_msg(!strcmp(ev->params[k].name, params[k]),
				      "event %s parameter %d: schema \"%s\", source \"%s\"", sym, k, ev->params[k].name,
				      params[k]);
		ck_assert_msg((int)ev->nparams == np, "event %s: schema has %u parameters, source %d", sym,
			      ev->nparams, np);
	}
	/* every normalisation was needed exactly where documented */
	for (size_t i = 0; i < NELEMS(symbol_fixes); i++)
		ck_assert_msg(used_symbol[i] == 1, "symbol normalisation \"%s\" applied %d times", symbol_fixes[i].seed,
			      used_symbol[i]);
	for (size_t i = 0; i < NELEMS(description_fixes); i++)
		ck_assert_msg(used_description[i] == 1, "description normalisation 0x%X \"%s\" applied %d times",
			      description_fixes[i].number, description_fixes[i].seed, used_description[i]);
	ck_assert_msg(used_param[0] == 3, "\"Value (0 if unsuccessful)\" replaced %d times, expected 3 (0x21 0x23 0x28)",
		      used_param[0]);
	for (size_t i = 1; i < NELEMS(param_fixes); i++)
		ck_assert_msg(used_param[i] == 1, "parameter normalisation \"%s\" of 0x%X applied %d times",
			      param_fixes[i].seed ? param_fixes[i].seed : "(none)", param_fixes[i].number,
			      used_param[i]);
	free(t);
}
END_TEST

static const hvlog_param *param_named(const hvlog_event *ev, const char *name)
{
	for (uint32_t k = 0; k < ev->nparams; k++)
		if (!strcmp(ev->params[k].name, name))
			return &ev->params[k];
	return NULL;
}

START_TEST(test_parameter_types)
{
	const hvlog_schema *s = hvlog_schema_builtin();
	static const struct {
		const char *name;
		hvlog_type type;
	} by_name[] = {
		{ "Guest RIP", HVLOG_TYPE_U64 },    { "Port", HVLOG_TYPE_U16 },
		{ "Entering Guest", HVLOG_TYPE_BOOL }, { "Partition ID", HVLOG_TYPE_U64 },
		{ "Hv Status", HVLOG_TYPE_U16 },    { "Thread ID", HVLOG_TYPE_U32 },
		{ "Vector", HVLOG_TYPE_U8 },        { "Guest VA", HVLOG_TYPE_U64 },
		{ "GPA", HVLOG_TYPE_U64 },
	};
	int seen[NELEMS(by_name)] = { 0 };
	uint32_t slot = 0;

	for (uint32_t i = 0; i < s->nevents; i++) {
		const hvlog_event *ev = &s->events[i];
		ck_assert_msg(ev->slot == slot, "%s: first slot %u, expected %u", ev->symbol, ev->slot, slot);
		ck_assert_msg(ev->nparams <= HVLOG_MAX_PARAMS, "%s: %u parameters", ev->symbol, ev->nparams);
		slot += ev->nparams;
		for (uint32_t j = 0; j < i; j++)
			ck_assert_msg(s->events[j].number != ev->number, "number 0x%X used twice", ev->number);
		for (uint32_t k = 0; k < ev->nparams; k++) {
			const hvlog_param *p = &ev->params[k];
			ck_assert_msg(p->type < HVLOG_TYPE_COUNT_ && p->display < HVLOG_DISPLAY_COUNT_ &&
					      p->coding < HVLOG_CODING_COUNT_,
				      "%s.%s: bad type/display/coding", ev->symbol, p->name);
			ck_assert_msg((p->display == HVLOG_DISPLAY_ENUM) == (p->values != NULL),
				      "%s.%s: ENUM display iff a value table", ev->symbol, p->name);
			ck_assert_msg((p->type == HVLOG_TYPE_BOOL) == (p->display == HVLOG_DISPLAY_BOOL),
				      "%s.%s: BOOL type iff BOOL display", ev->symbol, p->name);
			for (const char *c = p->key; *c; c++)
				ck_assert_msg(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_',
					      "%s: key \"%s\" is not a lowercase identifier", ev->symbol, p->key);
			for (uint32_t j = 0; j < k; j++)
				ck_assert_msg(strcmp(ev->params[j].key, p->key), "%s: key %s twice", ev->symbol, p->key);
			/* every named value must fit the parameter */
			for (uint32_t j = 0; p->values && j < p->values->nvalues; j++)
				ck_assert_msg(p->values->values[j].value <= hvlog_type_max(p->type),
					      "%s.%s: value %s does not fit %s", ev->symbol, p->name,
					      p->values->values[j].name, hvlog_type_name(p->type));
			for (size_t n = 0; n < NELEMS(by_name); n++)
				if (!strcmp(p->name, by_name[n].name)) {
					seen[n]++;
					ck_assert_msg(p->type == by_name[n].type, "%s.%s is %s, expected %s", ev->symbol,
						      p->name, hvlog_type_name(p->type), hvlog_type_name(by_name[n].type));
				}
		}
	}
	ck_assert_msg(s->nslots == slot, "schema nslots %u, sum of parameters %u", s->nslots, slot);
	for (size_t n = 0; n < NELEMS(by_name); n++)
		ck_assert_msg(seen[n] > 0, "no parameter named \"%s\"", by_name[n].name);

	/* MSR and CR indexes, exception types */
	static const struct {
		const char *event, *param;
		hvlog_type type;
		const char *valtab;
	} specific[] = {
		{ "HV_TR_IM_MSR_READ", "Index", HVLOG_TYPE_U32, "msr" },
		{ "HV_TR_IM_MSR_WRITE", "Index", HVLOG_TYPE_U32, "msr" },
		{ "HV_TR_IM_MSR_READ", "Value", HVLOG_TYPE_U64, NULL },
		{ "HV_TR_IM_CR_READ", "Index", HVLOG_TYPE_U8, "cr" },
		{ "HV_TR_IM_CR_WRITE", "Index", HVLOG_TYPE_U8, "cr" },
		{ "HV_TR_IM_IO_PORT_READ", "Value", HVLOG_TYPE_U32, NULL },
		{ "HV_TR_IM_GUEST_EXCEPTION", "Type", HVLOG_TYPE_U8, "exception" },
		{ "HV_TR_IM_MEMORY_INTERCEPT", "Intercept Type", HVLOG_TYPE_U8, "access" },
		{ "HV_TR_OB_CREATE_PARTITION", "Hv Status", HVLOG_TYPE_U16, "hv_status" },
		{ "HV_TR_KE_OVERRUN500", "Entering Guest", HVLOG_TYPE_BOOL, NULL },
	};
	for (size_t i = 0; i < NELEMS(specific); i++) {
		const hvlog_event *ev = hvlog_schema_lookup_event(s, specific[i].event);
		const hvlog_param *p;
		ck_assert_msg(ev != NULL, "no event %s", specific[i].event);
		p = param_named(ev, specific[i].param);
		ck_assert_msg(p != NULL, "%s has no parameter %s", specific[i].event, specific[i].param);
		ck_assert_msg(p->type == specific[i].type, "%s.%s is %s, expected %s", specific[i].event,
			      specific[i].param, hvlog_type_name(p->type), hvlog_type_name(specific[i].type));
		if (specific[i].valtab)
			ck_assert_msg(p->values && !strcmp(p->values->alias, specific[i].valtab),
				      "%s.%s: value table %s, expected %s", specific[i].event, specific[i].param,
				      p->values ? p->values->alias : "(none)", specific[i].valtab);
	}
}
END_TEST

START_TEST(test_lookup_event)
{
	const hvlog_schema *s = hvlog_schema_builtin();
	static const struct {
		const char *name;
		uint32_t number;
	} ok[] = {
		{ "HV_TR_IM_MSR_READ", 0x21 },
		{ "im_msr_read", 0x21 },
		{ "IM_MSR_READ", 0x21 },
		{ "hv_tr_im_msr_read", 0x21 },
		{ "0x21", 0x21 },
		{ "33", 0x21 },
		{ "0x1A", 0x1A },
		{ "0xf1", 0xF1 },
		{ "HV_TR_IM_ CR_READ", 0x23 },
		{ "IM_ CR_READ", 0x23 },
		{ "HV_TR_IM_ INTERRUPT_PENDING", 0x2B },
		{ "HV_TR_IM_ DR_ACCESS", 0x33 },
		{ "HV_TR_IM_REFLECTED EXCEPTION", 0x37 },
		{ "hv_tr_im_reflected exception", 0x37 },
	};
	static const char *const unknown[] = {
		"", "HV_TR_", "HV_TR_IM_MSR", "IM_MSR_READX", "msr read", "0x99", "0x10", "65536",
		"99999999999999999999", "0x", "-33", " 33", "HV_TR_IM_ MSR_READ", "HV_TR_NO_SUCH_EVENT",
	};

	for (size_t i = 0; i < NELEMS(ok); i++) {
		const hvlog_event *ev = hvlog_schema_lookup_event(s, ok[i].name);
		ck_assert_msg(ev != NULL, "lookup_event(\"%s\") returned NULL", ok[i].name);
		ck_assert_msg(ev->number == ok[i].number, "lookup_event(\"%s\") gave 0x%X, expected 0x%X", ok[i].name,
			      ev->number, ok[i].number);
	}
	for (size_t i = 0; i < NELEMS(unknown); i++) {
		const hvlog_event *ev = hvlog_schema_lookup_event(s, unknown[i]);
		ck_assert_msg(ev == NULL, "lookup_event(\"%s\") should be NULL, gave %s", unknown[i], ev->symbol);
	}
	ck_assert_ptr_null(hvlog_schema_lookup_event(s, NULL));
	/* every event by its symbol, its short lowercase name and its number */
	for (uint32_t i = 0; i < s->nevents; i++) {
		const hvlog_event *ev = &s->events[i];
		char lower[HVLOG_MAX_NAME + 1], num[16];
		size_t k;
		for (k = 0; ev->symbol[6 + k] && k < HVLOG_MAX_NAME; k++)
			lower[k] = (char)tolower((unsigned char)ev->symbol[6 + k]);
		lower[k] = 0;
		snprintf(num, sizeof num, "%u", ev->number);
		ck_assert_msg(!strncmp(ev->symbol, "HV_TR_", 6), "symbol %s lacks HV_TR_", ev->symbol);
		ck_assert_ptr_eq(hvlog_schema_lookup_event(s, ev->symbol), ev);
		ck_assert_msg(hvlog_schema_lookup_event(s, lower) == ev, "lookup_event(\"%s\")", lower);
		ck_assert_msg(hvlog_schema_lookup_event(s, num) == ev, "lookup_event(\"%s\")", num);
		ck_assert_ptr_eq(hvlog_schema_find_event(s, ev->number), ev);
	}
	ck_assert_ptr_null(hvlog_schema_find_event(s, 0x99));
	ck_assert_ptr_null(hvlog_schema_find_event(s, 0));
}
END_TEST

START_TEST(test_lookup_group)
{
	const hvlog_schema *s = hvlog_schema_builtin();
	static const struct {
		const char *name;
		uint64_t mask;
	} ok[] = {
		{ "interrupt", 0x800 },
		{ "Interrupt Manager", 0x800 },
		{ "INTERRUPT MANAGER", 0x800 },
		{ "INTERRUPT", 0x800 },
		{ "Virtual Abstruaction Layer", 0x100000 },
		{ "virtual abstruaction layer", 0x100000 },
		{ "Virtual Abstraction Layer", 0x100000 },
		{ "val", 0x100000 },
		{ "Address Manager - Guest Virtual Addresses", 0x40000 },
		{ "Address Manager", 0x80000 },
		{ "boot", 0x0000010000000000ull },
		{ "profiler", 0x8000000 },
	};
	static const char *const unknown[] = { "", "interrupts", "Interrupt Mgr", "Manager", "Virtual",
					       "nope", "0x800", "Interrupt  Manager" };

	for (size_t i = 0; i < NELEMS(ok); i++) {
		const hvlog_group *g = hvlog_schema_lookup_group(s, ok[i].name);
		ck_assert_msg(g != NULL, "lookup_group(\"%s\") returned NULL", ok[i].name);
		ck_assert_msg(g->mask == ok[i].mask, "lookup_group(\"%s\") gave %s (0x%" PRIx64 ")", ok[i].name,
			      g->name, g->mask);
	}
	for (size_t i = 0; i < NELEMS(unknown); i++) {
		const hvlog_group *g = hvlog_schema_lookup_group(s, unknown[i]);
		ck_assert_msg(g == NULL, "lookup_group(\"%s\") should be NULL, gave %s", unknown[i], g->name);
	}
	ck_assert_ptr_null(hvlog_schema_lookup_group(s, NULL));
	for (uint32_t i = 0; i < s->ngroups; i++) {
		ck_assert_ptr_eq(hvlog_schema_lookup_group(s, s->groups[i].alias), &s->groups[i]);
		ck_assert_ptr_eq(hvlog_schema_lookup_group(s, s->groups[i].name), &s->groups[i]);
	}
}
END_TEST

static const hvlog_valtab *valtab(const hvlog_schema *s, const char *alias)
{
	for (uint32_t i = 0; i < s->nvaltabs; i++)
		if (!strcmp(s->valtabs[i].alias, alias))
			return &s->valtabs[i];
	return NULL;
}

START_TEST(test_valtabs)
{
	const hvlog_schema *s = hvlog_schema_builtin();
	const hvlog_valtab *msr = valtab(s, "msr"), *st = valtab(s, "hv_status"), *ex = valtab(s, "exception");
	const hvlog_valtab *cr = valtab(s, "cr");

	ck_assert_msg(msr && st && ex && cr, "value tables msr, hv_status, exception, cr expected");
	ck_assert_str_eq(hvlog_valtab_name(msr, 0x1b), "IA32_APIC_BASE");
	ck_assert_str_eq(hvlog_valtab_name(msr, 0xC0000080), "IA32_EFER");
	ck_assert_str_eq(hvlog_valtab_name(msr, 0x10), "IA32_TIME_STAMP_COUNTER"); /* first entry */
	ck_assert_str_eq(hvlog_valtab_name(msr, 0xC0000102), "IA32_KERNEL_GS_BASE"); /* last entry */
	ck_assert_ptr_null(hvlog_valtab_name(msr, 0x1c));
	ck_assert_ptr_null(hvlog_valtab_name(msr, 0));
	ck_assert_ptr_null(hvlog_valtab_name(msr, UINT64_MAX));
	ck_assert_ptr_null(hvlog_valtab_name(msr, 0x1b + (1ull << 32)));
	ck_assert_str_eq(hvlog_valtab_name(st, 0), "HV_STATUS_SUCCESS");
	ck_assert_str_eq(hvlog_valtab_name(st, 0x1E), "HV_STATUS_FEATURE_UNAVAILABLE");
	ck_assert_ptr_null(hvlog_valtab_name(st, 1));
	ck_assert_str_eq(hvlog_valtab_name(ex, 14), "#PF");
	ck_assert_ptr_null(hvlog_valtab_name(ex, 9));
	ck_assert_str_eq(hvlog_valtab_name(cr, 8), "CR8");
	ck_assert_ptr_null(hvlog_valtab_name(NULL, 0));
	/* binary search needs every table strictly sorted; every entry findable */
	for (uint32_t i = 0; i < s->nvaltabs; i++) {
		const hvlog_valtab *t = &s->valtabs[i];
		ck_assert_msg(t->nvalues > 0, "value table %s is empty", t->alias);
		for (uint32_t j = 0; j < t->nvalues; j++) {
			ck_assert_msg(j == 0 || t->values[j - 1].value < t->values[j].value,
				      "value table %s not strictly sorted at %s", t->alias, t->values[j].name);
			ck_assert_msg(hvlog_valtab_name(t, t->values[j].value) == t->values[j].name,
				      "value table %s: %s not found", t->alias, t->values[j].name);
		}
	}
	ck_assert_uint_eq(hvlog_type_max(HVLOG_TYPE_U8), 0xFF);
	ck_assert_uint_eq(hvlog_type_max(HVLOG_TYPE_U16), 0xFFFF);
	ck_assert_uint_eq(hvlog_type_max(HVLOG_TYPE_U32), 0xFFFFFFFFu);
	ck_assert_uint_eq(hvlog_type_max(HVLOG_TYPE_U64), UINT64_MAX);
	ck_assert_uint_eq(hvlog_type_max(HVLOG_TYPE_BOOL), 1);
	ck_assert_str_eq(hvlog_type_name(HVLOG_TYPE_U16), "u16");
	ck_assert_str_eq(hvlog_display_name(HVLOG_DISPLAY_ENUM), "enum");
	ck_assert_str_eq(hvlog_coding_name(HVLOG_CODING_DELTA), "delta");
}
END_TEST

/* ---- hvlog_schema_from_doc: a schema from any document tree ------------- */

/* A small tree: maps, arrays, unsigned integers and text. */
struct dnode {
	char kind; /* 'm', 'a', 'u', 's' */
	uint64_t u;
	const char *s;
	size_t n;
	const char *keys[8];
	const struct dnode *kids[8];
};
static struct dnode pool[128];
static size_t npool;
static void *blocks[64];
static size_t nblocks;

static struct dnode *dn(char kind)
{
	ck_assert_uint_lt(npool, sizeof pool / sizeof pool[0]);
	pool[npool] = (struct dnode){ .kind = kind };
	return &pool[npool++];
}
static const struct dnode *U(uint64_t v)
{
	struct dnode *d = dn('u');
	d->u = v;
	return d;
}
static const struct dnode *S(const char *v)
{
	struct dnode *d = dn('s');
	d->s = v;
	return d;
}
/* ARR(n, kid...) and MAP(n, key, value...) */
static const struct dnode *ARR(size_t n, ...)
{
	struct dnode *d = dn('a');
	va_list ap;

	va_start(ap, n);
	for (d->n = 0; d->n < n; d->n++)
		d->kids[d->n] = va_arg(ap, const struct dnode *);
	va_end(ap);
	return d;
}
static const struct dnode *MAP(size_t n, ...)
{
	struct dnode *d = dn('m');
	va_list ap;

	va_start(ap, n);
	for (d->n = 0; d->n < n; d->n++) {
		d->keys[d->n] = va_arg(ap, const char *);
		d->kids[d->n] = va_arg(ap, const struct dnode *);
	}
	va_end(ap);
	return d;
}

static const void *d_get(void *ctx, const void *n, const char *k)
{
	const struct dnode *d = n;
	(void)ctx;
	for (size_t i = 0; d->kind == 'm' && i < d->n; i++)
		if (!strcmp(d->keys[i], k))
			return d->kids[i];
	return NULL;
}
static long d_len(void *ctx, const void *n)
{
	(void)ctx;
	return ((const struct dnode *)n)->kind == 'a' ? (long)((const struct dnode *)n)->n : -1;
}
static const void *d_at(void *ctx, const void *n, size_t i)
{
	(void)ctx;
	return ((const struct dnode *)n)->kids[i];
}
static int d_uint(void *ctx, const void *n, uint64_t *v)
{
	(void)ctx;
	if (((const struct dnode *)n)->kind != 'u')
		return -1;
	*v = ((const struct dnode *)n)->u;
	return 0;
}
static long d_str(void *ctx, const void *n, char *buf, size_t cap)
{
	const struct dnode *d = n;
	size_t len;
	(void)ctx;
	if (d->kind != 's')
		return -1;
	len = strlen(d->s);
	if (len < cap)
		memcpy(buf, d->s, len + 1);
	return (long)len;
}
static void *d_alloc(void *ctx, size_t size)
{
	(void)ctx;
	ck_assert_uint_lt(nblocks, sizeof blocks / sizeof blocks[0]);
	return blocks[nblocks++] = calloc(1, size ? size : 1);
}
static const hvlog_doc_ops doc_ops = { d_get, d_len, d_at, d_uint, d_str, d_alloc, NULL, NULL, NULL };

static void doc_free(void)
{
	while (nblocks)
		free(blocks[--nblocks]);
	npool = 0;
}

/* A schema of one group, one value table and one event of one enum
 * parameter; mask, symbol, coding and the second event's number (0: no
 * second event) as given. */
static const struct dnode *doc(uint64_t mask, const char *symbol, const char *coding, uint64_t second)
{
	const struct dnode *param = MAP(6, "key", S("k"), "name", S("K"), "type", S("u8"), "display", S("enum"),
					"coding", S(coding), "values", U(0));
	const struct dnode *ev = MAP(5, "number", U(0x10), "symbol", S(symbol), "description", S("d"), "group", U(0),
				     "params", ARR(1, param));
	const struct dnode *ev2 = MAP(5, "number", U(second), "symbol", S("F"), "description", S("f"), "group", U(0),
				      "params", ARR(0));
	return MAP(5, "name", S("test"), "version", U(3),
		   "groups", ARR(1, MAP(3, "alias", S("g"), "name", S("Group"), "mask", U(mask))),
		   "valtabs", ARR(1, MAP(2, "alias", S("v"), "values",
					   ARR(2, ARR(2, U(2), S("two")), ARR(2, U(1), S("one"))))),
		   "events", second ? ARR(2, ev, ev2) : ARR(1, ev));
}

START_TEST(test_schema_from_doc)
{
	hvlog_schema s;
	hvlog_error err = { 0 };
	char long_name[HVLOG_MAX_NAME + 2];

	ck_assert_int_eq(hvlog_schema_from_doc(&s, &doc_ops, NULL, doc(1, "E", "varint", 0), &err), HVLOG_OK);
	ck_assert_str_eq(s.name, "test");
	ck_assert_uint_eq(s.version, 3);
	ck_assert_uint_eq(s.ngroups, 1);
	ck_assert_uint_eq(s.nevents, 1);
	ck_assert_uint_eq(s.nslots, 1);
	ck_assert_ptr_eq(s.events[0].params[0].values, &s.valtabs[0]);
	ck_assert_int_eq(s.events[0].params[0].display, HVLOG_DISPLAY_ENUM);
	ck_assert_str_eq(hvlog_valtab_name(&s.valtabs[0], 1), "one"); /* sorted by value */
	ck_assert_ptr_eq(hvlog_schema_find_event(&s, 0x10), &s.events[0]);
	doc_free();

	/* what the reader refuses in a file, refused here too */
	ck_assert_int_eq(hvlog_schema_from_doc(&s, &doc_ops, NULL, doc(0, "E", "varint", 0), &err), HVLOG_MALFORMED);
	ck_assert_msg(strstr(err.msg, "group 0 has mask 0"), "%s", err.msg);
	doc_free();
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = 0;
	ck_assert_int_eq(hvlog_schema_from_doc(&s, &doc_ops, NULL, doc(1, long_name, "varint", 0), &err), HVLOG_LIMIT);
	ck_assert_str_eq(err.msg, "metadata: symbol is too long");
	doc_free();
	ck_assert_int_eq(hvlog_schema_from_doc(&s, &doc_ops, NULL, doc(1, "E", "keyed", 0), &err), HVLOG_MALFORMED);
	ck_assert_msg(strstr(err.msg, "keyed on a first parameter"), "%s", err.msg);
	doc_free();
	ck_assert_int_eq(hvlog_schema_from_doc(&s, &doc_ops, NULL, doc(1, "E", "varint", 0x10), &err), HVLOG_MALFORMED);
	ck_assert_str_eq(err.msg, "metadata: events has a duplicate number");
	doc_free();
	ck_assert_int_eq(hvlog_schema_from_doc(&s, &doc_ops, NULL, U(1), &err), HVLOG_MALFORMED);
	ck_assert_str_eq(err.msg, "metadata: name is missing");
	doc_free();
}
END_TEST

/* hvlog_meta_from_doc: the whole metadata, strict as in a file or with
 * the documented defaults (what `convert --from` reads) */
START_TEST(test_meta_from_doc)
{
	hvlog_meta m;
	hvlog_error err = { 0 };
	const struct dnode *stream = MAP(4, "id", U(0), "name", S("vp0"), "partition", U(7), "vp", U(0));
	const struct dnode *full = MAP(5, "format", S("hvlog"), "producer", S("p"),
				       "clock", MAP(2, "name", S("tsc"), "hz", U(1000)), "streams", ARR(1, stream),
				       "schema", doc(1, "E", "varint", 0));

	ck_assert_int_eq(hvlog_meta_from_doc(&m, &doc_ops, NULL, full, 0, &err), HVLOG_OK);
	ck_assert_str_eq(m.producer, "p");
	ck_assert_str_eq(m.clock_name, "tsc");
	ck_assert_uint_eq(m.clock_hz, 1000);
	ck_assert_uint_eq(m.nstreams, 1);
	ck_assert_str_eq(m.streams[0].name, "vp0");
	ck_assert_uint_eq(m.streams[0].partition_id, 7);
	ck_assert_str_eq(m.schema->name, "test");
	doc_free();

	/* nothing at all: every default */
	ck_assert_int_eq(hvlog_meta_from_doc(&m, &doc_ops, NULL, MAP(0), HVLOG_DOC_DEFAULTS, &err), HVLOG_OK);
	ck_assert_ptr_null(m.producer);
	ck_assert_uint_eq(m.clock_hz, 1000000000u);
	ck_assert_uint_eq(m.nstreams, 0);
	ck_assert_ptr_eq(m.schema, hvlog_schema_builtin());
	/* ... which a file's metadata may not leave out */
	ck_assert_int_eq(hvlog_meta_from_doc(&m, &doc_ops, NULL, MAP(0), 0, &err), HVLOG_MALFORMED);
	ck_assert_str_eq(err.msg, "metadata: format is missing");
	doc_free();

	/* a stream with only a name; the caps are the reader's either way */
	ck_assert_int_eq(hvlog_meta_from_doc(&m, &doc_ops, NULL, MAP(1, "streams", ARR(1, MAP(1, "name", S("s")))),
					     HVLOG_DOC_DEFAULTS, &err),
			 HVLOG_OK);
	ck_assert_uint_eq(m.nstreams, 1);
	ck_assert_uint_eq(m.streams[0].partition_id, 0);
	ck_assert_uint_eq(m.streams[0].vp_index, UINT32_MAX);
	ck_assert_int_eq(hvlog_meta_from_doc(&m, &doc_ops, NULL, MAP(1, "streams", ARR(0)), HVLOG_DOC_DEFAULTS, &err),
			 HVLOG_MALFORMED);
	ck_assert_str_eq(err.msg, "metadata: streams is empty (a trace has at least one stream)");
	ck_assert_int_eq(hvlog_meta_from_doc(&m, &doc_ops, NULL, MAP(1, "clock", MAP(2, "name", S("c"), "hz", U(0))),
					     HVLOG_DOC_DEFAULTS, &err),
			 HVLOG_MALFORMED);
	ck_assert_str_eq(err.msg, "metadata: clock hz is zero");
	ck_assert_int_eq(hvlog_meta_from_doc(&m, &doc_ops, NULL, MAP(1, "schema", doc(0, "E", "varint", 0)),
					     HVLOG_DOC_DEFAULTS, &err),
			 HVLOG_MALFORMED);
	ck_assert_msg(strstr(err.msg, "group 0 has mask 0"), "%s", err.msg);
	doc_free();
}
END_TEST

static Suite *schema_suite(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("source");

	tcase_add_test(tc, test_source_table_parses);
	tcase_add_test(tc, test_groups_match_source);
	tcase_add_test(tc, test_events_match_source);
	suite_add_tcase(s, tc);
	tc = tcase_create("api");
	tcase_add_test(tc, test_parameter_types);
	tcase_add_test(tc, test_lookup_event);
	tcase_add_test(tc, test_lookup_group);
	tcase_add_test(tc, test_valtabs);
	tcase_add_test(tc, test_schema_from_doc);
	tcase_add_test(tc, test_meta_from_doc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(schema_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
