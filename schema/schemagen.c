/*
 * schemagen - turn schema/hvlog_schema.def into C.
 *
 *   schemagen header OUT.h   typed emitters and constants: group masks,
 *                            event numbers, named values (hvlog/events.h)
 *   schemagen tables OUT.c   the built-in schema tables of libhvlog
 *   schemagen replay OUT.h   a replay table for bench/: one function per
 *                            event calling its typed emitter with the
 *                            values of a decoded item
 *
 * It checks the schema first and fails the build on a duplicate event
 * number, symbol, group mask or alias, a parameter that names no event or
 * is separated from its event, too many parameters, or a name too long.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/schema.h" /* the lists of types and displays */

/* T_U8..., F_HEX...: the library's lists, in its order */
#define T_ENUM(name, str, max, size, ctype) T_##name,
#define F_ENUM(name, str) F_##name,
enum { HVLOG_TYPE_LIST(T_ENUM) };
enum { HVLOG_DISPLAY_LIST(F_ENUM) };
enum { C_VARINT, C_DELTA, C_KEYED };
enum { R_NONE, R_PARTITION_ID, R_THREAD_ID, R_GUEST_RIP };

struct group { const char *id, *alias, *name; uint64_t mask; };
struct valtab { const char *id, *alias; };
struct value { const char *tab; uint64_t value; const char *name; };
struct event { const char *sym, *group, *desc; unsigned number; };
struct param { const char *sym, *key, *name, *valtab; int type, format, coding, role; };

static const struct group groups[] = {
#define HVLOG_GROUP(id, mask, alias, name) { #id, #alias, name, mask },
#include "hvlog_schema.def"
};
static const struct valtab valtabs[] = {
#define HVLOG_VALTAB(id, alias) { #id, #alias },
#include "hvlog_schema.def"
};
static const struct value values[] = {
#define HVLOG_VALUE(id, value, name) { #id, value, name },
#include "hvlog_schema.def"
};
/* Events and parameters in file order, to check that parameters follow
 * their event. */
struct row { int is_event; unsigned idx; };
static const struct event events[] = {
#define HVLOG_EVENT(sym, number, group, desc) { #sym, #group, desc, number },
#include "hvlog_schema.def"
};
static const struct param params[] = {
#define HVLOG_PARAM(sym, key, name, type, format, valtab, coding, role) \
	{ #sym, #key, name, #valtab, T_##type, F_##format, C_##coding, R_##role },
#include "hvlog_schema.def"
};
static const int order[] = {
#define HVLOG_EVENT(sym, number, group, desc) 1,
#define HVLOG_PARAM(sym, key, name, type, format, valtab, coding, role) 0,
#include "hvlog_schema.def"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_PARAMS 16
#define MAX_NAME 64

#define T_CTYPE(name, str, max, size, ctype) #ctype,
#define T_NAME(name, str, max, size, ctype) "HVLOG_TYPE_" #name,
#define F_NAME(name, str) "HVLOG_DISPLAY_" #name,
static const char *const ctype[] = { HVLOG_TYPE_LIST(T_CTYPE) };
static const char *const type_enum[] = { HVLOG_TYPE_LIST(T_NAME) };
static const char *const fmt_enum[] = { HVLOG_DISPLAY_LIST(F_NAME) };
static const char *const coding_enum[] = { "HVLOG_CODING_VARINT", "HVLOG_CODING_DELTA", "HVLOG_CODING_KEYED" };
static const char *const role_enum[] = { "HVLOG_ROLE_NONE", "HVLOG_ROLE_PARTITION_ID", "HVLOG_ROLE_THREAD_ID",
					 "HVLOG_ROLE_GUEST_RIP" };

static int failed;

static void fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "schemagen: hvlog_schema.def: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	failed = 1;
}

static void lower(char *dst, const char *src)
{
	while (*src)
		*dst++ = (char)tolower((unsigned char)*src++);
	*dst = 0;
}

static int group_index(const char *id)
{
	for (size_t i = 0; i < N(groups); i++)
		if (!strcmp(groups[i].id, id))
			return (int)i;
	return -1;
}

static int valtab_index(const char *id)
{
	for (size_t i = 0; i < N(valtabs); i++)
		if (!strcmp(valtabs[i].id, id))
			return (int)i;
	return -1;
}

static unsigned nparams_of(size_t e)
{
	unsigned n = 0;
	for (size_t p = 0; p < N(params); p++)
		n += !strcmp(params[p].sym, events[e].sym);
	return n;
}

static void check(void)
{
	for (size_t i = 0; i < N(groups); i++) {
		if (groups[i].mask == 0 || (groups[i].mask & (groups[i].mask - 1)))
			fail("group %s: mask is not a single bit%s", groups[i].id, "");
		for (size_t j = 0; j < i; j++) {
			if (groups[i].mask == groups[j].mask)
				fail("groups %s and %s have the same mask", groups[i].id, groups[j].id);
			if (!strcmp(groups[i].alias, groups[j].alias) || !strcmp(groups[i].id, groups[j].id))
				fail("groups %s and %s have the same name", groups[i].id, groups[j].id);
		}
	}
	for (size_t i = 0; i < N(events); i++) {
		if (group_index(events[i].group) < 0)
			fail("event %s: unknown group %s", events[i].sym, events[i].group);
		if (events[i].number > 0xFFFF)
			fail("event %s: number above 0xFFFF%s", events[i].sym, "");
		if (nparams_of(i) > MAX_PARAMS)
			fail("event %s: more than 16 parameters%s", events[i].sym, "");
		if (strlen(events[i].sym) + 6 > MAX_NAME || strlen(events[i].desc) > MAX_NAME)
			fail("event %s: name or description over 64 bytes%s", events[i].sym, "");
		for (size_t j = 0; j < i; j++) {
			if (events[i].number == events[j].number)
				fail("events %s and %s have the same number", events[i].sym, events[j].sym);
			if (!strcmp(events[i].sym, events[j].sym))
				fail("event %s defined twice%s", events[i].sym, "");
		}
	}
	/* Parameters follow their event directly. */
	const char *cur = NULL;
	size_t e = 0, p = 0;
	for (size_t k = 0; k < N(order); k++) {
		if (order[k]) {
			cur = events[e++].sym;
		} else {
			if (!cur || strcmp(cur, params[p].sym))
				fail("parameter %s.%s does not follow its event", params[p].sym, params[p].key);
			if (params[p].format == F_ENUM && valtab_index(params[p].valtab) < 0)
				fail("parameter %s.%s: ENUM without a value table", params[p].sym, params[p].key);
			if (params[p].format != F_ENUM && strcmp(params[p].valtab, "NONE"))
				fail("parameter %s.%s: value table without ENUM", params[p].sym, params[p].key);
			if (params[p].coding == C_KEYED && order[k - 1])
				fail("parameter %s.%s: KEYED needs a parameter before it (its key)", params[p].sym,
				     params[p].key);
			for (size_t q = 0; q < p; q++)
				if (!strcmp(params[q].sym, params[p].sym) && !strcmp(params[q].key, params[p].key))
					fail("parameter %s.%s defined twice", params[p].sym, params[p].key);
				else if (!strcmp(params[q].sym, params[p].sym) && params[p].role != R_NONE &&
					 params[q].role == params[p].role)
					fail("parameter %s.%s: its role is another parameter's already", params[p].sym,
					     params[p].key);
			p++;
		}
	}
	for (size_t v = 0; v < N(values); v++) {
		if (valtab_index(values[v].tab) < 0)
			fail("value %s: unknown table %s", values[v].name, values[v].tab);
		for (size_t w = 0; w < v; w++)
			if (!strcmp(values[v].tab, values[w].tab) && values[v].value == values[w].value)
				fail("value %s duplicates %s", values[v].name, values[w].name);
	}
}

/* The C name of a named value: HVLOG_<table>_<name>, the name upper-cased
 * with each run of other characters made one '_' ("#GP" in EXCEPTION:
 * HVLOG_EXCEPTION_GP), the table's id not repeated when the name starts
 * with it (HVLOG_HV_STATUS_SUCCESS). */
static void value_ident(char *out, size_t n, const struct value *v)
{
	size_t tl = strlen(v->tab), o;
	const char *s = v->name;
	int sep = 1;

	o = (size_t)snprintf(out, n, "HVLOG_%s", v->tab);
	if (!strncmp(s, v->tab, tl) && s[tl] == '_')
		s += tl + 1;
	for (; *s && o + 2 < n; s++) {
		if (isalnum((unsigned char)*s)) {
			if (sep)
				out[o++] = '_';
			out[o++] = (char)toupper((unsigned char)*s);
			sep = 0;
		} else {
			sep = 1;
		}
	}
	out[o] = 0;
}

/* One constant per named value, so that producers write the schema's
 * numbers by name.  Two values of one name would be a redefinition. */
static void value_constants(FILE *f)
{
	char id[160], other[160];

	fputs("\n/* Named values (HVLOG_VALUE rows). */\n", f);
	for (size_t v = 0; v < N(values); v++) {
		value_ident(id, sizeof id, &values[v]);
		for (size_t w = 0; w < v; w++) {
			value_ident(other, sizeof other, &values[w]);
			if (!strcmp(id, other))
				fail("values %s and %s have the same C name", values[v].name, values[w].name);
		}
		fprintf(f, "#define %s 0x%" PRIX64 "u /* %s */\n", id, values[v].value, values[v].name);
	}
}

static void header(FILE *f)
{
	char low[128];
	size_t p = 0;
	unsigned slot = 0;

	fputs("/* hvlog/events.h - generated by schemagen from schema/hvlog_schema.def.\n"
	      " * Do not edit: edit the schema.\n"
	      " *\n"
	      " * Constants for the built-in schema and one typed emitter per event:\n"
	      " *   hvlog_emit_<symbol>(stream, timestamp, parameters...)\n"
	      " * Each returns HVLOG_OK when the event was recorded or its group is\n"
	      " * not, and HVLOG_FULL when it was dropped (counted as lost). They\n"
	      " * allocate nothing and call no libc function. */\n"
	      "#ifndef HVLOG_EVENTS_H\n#define HVLOG_EVENTS_H\n\n"
	      "#include \"hvlog/emit.h\"\n\n"
	      "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", f);
	fputs("/* Group masks. */\n", f);
	for (size_t i = 0; i < N(groups); i++)
		fprintf(f, "#define HVLOG_GROUP_%s 0x%016" PRIX64 "ull /* %s */\n",
			groups[i].id, groups[i].mask, groups[i].name);
	value_constants(f);
	fputs("\n/* Event numbers. */\nenum hvlog_event_number {\n", f);
	for (size_t i = 0; i < N(events); i++)
		fprintf(f, "\tHVLOG_EV_%s = 0x%02X,\n", events[i].sym, events[i].number);
	fputs("};\n\n/* First DELTA predictor slot of each event (docs/FORMAT.md). */\nenum hvlog_event_slot {\n", f);
	for (size_t i = 0; i < N(events); i++) {
		fprintf(f, "\tHVLOG_SLOT_%s = %u,\n", events[i].sym, slot);
		slot += nparams_of(i);
	}
	fprintf(f, "\tHVLOG_BUILTIN_NSLOTS = %u\n};\n\n", slot);

	for (size_t i = 0; i < N(events); i++) {
		const struct event *e = &events[i];
		const struct group *g = &groups[group_index(e->group)];
		unsigned np = nparams_of(i), k;

		lower(low, e->sym);
		fprintf(f, "/* HV_TR_%s (0x%02X, %s): %s */\n", e->sym, e->number, g->name, e->desc);
		fprintf(f, "static inline hvlog_status hvlog_emit_%s(hvlog_stream *s, uint64_t ts", low);
		for (k = 0; k < np; k++)
			fprintf(f, ",\n\t\t%s %s", ctype[params[p + k].type], params[p + k].key);
		fputs(")\n{\n\tuint8_t *p;\n\n", f);
		fprintf(f, "\tif (!hvlog_stream_wants(s, HVLOG_GROUP_%s))\n\t\treturn HVLOG_OK;\n", e->group);
		fprintf(f, "\tif (!(p = hvlog__begin(s, ts, HVLOG_EV_%s)))\n\t\treturn HVLOG_FULL;\n", e->sym);
		for (k = 0; k < np; k++) {
			const struct param *pp = &params[p + k];
			const char *v = pp->type == T_BOOL ? "(uint64_t)(%s != 0)" : "%s";
			char expr[96], key[96];
			snprintf(expr, sizeof expr, v, pp->key);
			if (pp->coding == C_DELTA && pp->role == R_GUEST_RIP)
				fprintf(f, "\tp = hvlog__put_rip(p, s, &s->slots[HVLOG_SLOT_%s + %u], %s);\n",
					e->sym, k, expr);
			else if (pp->coding == C_DELTA)
				fprintf(f, "\tp = hvlog__put_delta(p, &s->slots[HVLOG_SLOT_%s + %u], %s);\n",
					e->sym, k, expr);
			else if (pp->coding == C_KEYED) {
				/* keyed by the parameter before, as it was encoded */
				snprintf(key, sizeof key, params[p + k - 1].type == T_BOOL ? "(uint64_t)(%s != 0)" : "%s",
					 params[p + k - 1].key);
				fprintf(f, "\tp = hvlog__put_keyed(p, s, HVLOG_SLOT_%s + %u, %s, %s);\n", e->sym, k,
					key, expr);
			} else
				fprintf(f, "\tp = hvlog__put_varint(p, %s);\n", expr);
		}
		fputs("\thvlog__commit(s, p);\n\treturn HVLOG_OK;\n}\n\n", f);
		p += np;
	}
	fputs("#ifdef __cplusplus\n}\n#endif\n#endif /* HVLOG_EVENTS_H */\n", f);
}

static void cstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int cmp_value(const void *a, const void *b)
{
	const struct value *x = a, *y = b;
	int t = strcmp(x->tab, y->tab);
	if (t)
		return t;
	return (x->value > y->value) - (x->value < y->value);
}

static void tables(FILE *f)
{
	struct value sorted[N(values)];
	size_t p = 0;
	unsigned slot = 0;

	memcpy(sorted, values, sizeof values);
	qsort(sorted, N(values), sizeof sorted[0], cmp_value);

	fputs("/* Generated by schemagen from schema/hvlog_schema.def. Do not edit. */\n"
	      "#include \"hvlog/schema.h\"\n#include \"hvlog/events.h\"\n\n", f);
	/* A duplicate number is a duplicate case label: the build fails here
	 * too, even if schemagen's own check were bypassed. */
	fputs("static inline int hvlog__unique_numbers(unsigned n)\n{\n\tswitch (n) {\n", f);
	for (size_t i = 0; i < N(events); i++)
		fprintf(f, "\tcase HVLOG_EV_%s:\n", events[i].sym);
	fputs("\t\treturn 1;\n\t}\n\treturn 0;\n}\n\n", f);
	fputs("static inline int hvlog__unique_masks(unsigned long long m)\n{\n\tswitch (m) {\n", f);
	for (size_t i = 0; i < N(groups); i++)
		fprintf(f, "\tcase HVLOG_GROUP_%s:\n", groups[i].id);
	fputs("\t\treturn 1;\n\t}\n\treturn 0;\n}\n\n", f);

	for (size_t t = 0; t < N(valtabs); t++) {
		fprintf(f, "static const hvlog_value_name values_%s[] = {\n", valtabs[t].id);
		for (size_t v = 0; v < N(values); v++)
			if (!strcmp(sorted[v].tab, valtabs[t].id)) {
				fprintf(f, "\t{ 0x%" PRIX64 "u, ", sorted[v].value);
				cstr(f, sorted[v].name);
				fputs(" },\n", f);
			}
		fputs("};\n", f);
	}
	fputs("\nstatic const hvlog_valtab valtabs[] = {\n", f);
	for (size_t t = 0; t < N(valtabs); t++)
		fprintf(f, "\t{ \"%s\", values_%s, sizeof values_%s / sizeof values_%s[0] },\n",
			valtabs[t].alias, valtabs[t].id, valtabs[t].id, valtabs[t].id);
	fputs("};\n\n", f);

	for (size_t i = 0; i < N(events); i++) {
		unsigned np = nparams_of(i);
		if (!np)
			continue;
		fprintf(f, "static const hvlog_param params_%s[] = {\n", events[i].sym);
		for (unsigned k = 0; k < np; k++) {
			const struct param *pp = &params[p + k];
			int vt = valtab_index(pp->valtab);
			fprintf(f, "\t{ \"%s\", ", pp->key);
			cstr(f, pp->name);
			fprintf(f, ", %s, %s, %s, ", type_enum[pp->type], fmt_enum[pp->format],
				coding_enum[pp->coding]);
			if (vt >= 0)
				fprintf(f, "&valtabs[%d], ", vt);
			else
				fputs("NULL, ", f);
			fprintf(f, "%s },\n", role_enum[pp->role]);
		}
		fputs("};\n", f);
		p += np;
	}
	fputs("\nstatic const hvlog_group groups[] = {\n", f);
	for (size_t i = 0; i < N(groups); i++) {
		fprintf(f, "\t{ \"%s\", ", groups[i].alias);
		cstr(f, groups[i].name);
		fprintf(f, ", HVLOG_GROUP_%s },\n", groups[i].id);
	}
	fputs("};\n\nstatic const hvlog_event events[] = {\n", f);
	for (size_t i = 0; i < N(events); i++) {
		unsigned np = nparams_of(i);
		fprintf(f, "\t{ HVLOG_EV_%s, \"HV_TR_%s\", ", events[i].sym, events[i].sym);
		cstr(f, events[i].desc);
		fprintf(f, ", %d, %s%s, %u, %u },\n", group_index(events[i].group),
			np ? "params_" : "NULL", np ? events[i].sym : "", np, slot);
		slot += np;
	}
	fputs("};\n\n", f);
	fprintf(f, "static const hvlog_schema builtin = {\n"
		"\t\"hyperv\", 1, groups, %zu, events, %zu, valtabs, %zu, %u\n};\n\n",
		N(groups), N(events), N(valtabs), slot);
	fprintf(f, "_Static_assert(HVLOG_BUILTIN_NSLOTS == %u, \"slot count\");\n\n", slot);
	fputs("const hvlog_schema *hvlog_schema_builtin(void)\n{\n"
	      "\t(void)hvlog__unique_numbers;\n\t(void)hvlog__unique_masks;\n"
	      "\treturn &builtin;\n}\n", f);
}

/* The replay table: bench/ re-encodes a decoded trace through the typed
 * emitters, the path a hypervisor takes.  A decoded item gives an event
 * index and its values as uint64_t; calling the emitter from it would take
 * a hand-written switch of every event, which would drift from the schema.
 * So for each event a small function takes the values as an array and
 * calls hvlog_emit_<sym>() with each one cast to its parameter's type, and
 * a table holds them in schema order (the index of the event in
 * hvlog_schema_builtin()->events).  Static: the header is for one program. */
static void replay(FILE *f)
{
	char low[128];
	size_t p = 0;

	fputs("/* hvlog_replay.h - generated by schemagen from schema/hvlog_schema.def.\n"
	      " * Do not edit: edit the schema.\n"
	      " *\n"
	      " * For bench/: replay a decoded event through its typed emitter.\n"
	      " *   hvlog_replay[index].emit(stream, ts, values)\n"
	      " * calls hvlog_emit_<symbol>(stream, ts, values[0], ...) with each value\n"
	      " * cast to its parameter's type; index is the event's position in the\n"
	      " * built-in schema (hvlog_schema_builtin()->events). */\n"
	      "#ifndef HVLOG_REPLAY_H\n#define HVLOG_REPLAY_H\n\n"
	      "#include \"hvlog/events.h\"\n\n"
	      "typedef hvlog_status (*hvlog_replay_fn)(hvlog_stream *s, uint64_t ts, const uint64_t *v);\n\n", f);
	fprintf(f, "#define HVLOG_REPLAY_NEVENTS %zu\n\n", N(events));
	for (size_t i = 0; i < N(events); i++) {
		unsigned np = nparams_of(i);

		lower(low, events[i].sym);
		fprintf(f, "static hvlog_status replay_%s(hvlog_stream *s, uint64_t ts, const uint64_t *v)\n{\n", low);
		if (!np)
			fputs("\t(void)v;\n", f);
		fprintf(f, "\treturn hvlog_emit_%s(s, ts", low);
		for (unsigned k = 0; k < np; k++) {
			if (params[p + k].type == T_BOOL)
				fprintf(f, ", v[%u] != 0", k);
			else if (params[p + k].type == T_U64)
				fprintf(f, ", v[%u]", k);
			else
				fprintf(f, ", (%s)v[%u]", ctype[params[p + k].type], k);
		}
		fputs(");\n}\n\n", f);
		p += np;
	}
	fputs("/* By event index; the number is checked against the schema's. */\n"
	      "static const struct hvlog_replay_entry {\n"
	      "\tuint32_t number;\n\tuint32_t nparams;\n\thvlog_replay_fn emit;\n"
	      "} hvlog_replay[HVLOG_REPLAY_NEVENTS] = {\n", f);
	for (size_t i = 0; i < N(events); i++) {
		lower(low, events[i].sym);
		fprintf(f, "\t{ HVLOG_EV_%s, %u, replay_%s },\n", events[i].sym, nparams_of(i), low);
	}
	fputs("};\n\n#endif /* HVLOG_REPLAY_H */\n", f);
}

int main(int argc, char **argv)
{
	FILE *f;

	if (argc != 3 || (strcmp(argv[1], "header") && strcmp(argv[1], "tables") && strcmp(argv[1], "replay"))) {
		fprintf(stderr, "usage: schemagen header|tables|replay OUT\n");
		return 2;
	}
	check();
	if (failed)
		return 1;
	f = fopen(argv[2], "w");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	if (!strcmp(argv[1], "header"))
		header(f);
	else if (!strcmp(argv[1], "replay"))
		replay(f);
	else
		tables(f);
	if (fclose(f) != 0) {
		perror(argv[2]);
		return 1;
	}
	return 0;
}
