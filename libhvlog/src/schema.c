/*
 * schema.c - look-ups over any schema (built-in or read from a file).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hvlog/schema.h"
#include "internal.h"

const hvlog_event *hvlog_schema_find_event(const hvlog_schema *s, uint32_t number)
{
	for (uint32_t i = 0; i < s->nevents; i++)
		if (s->events[i].number == number)
			return &s->events[i];
	return NULL;
}

/* Spellings of the source table that the schema normalised
 * (schema/README.md); users may still type them. */
static const struct {
	const char *seed, *symbol;
} seed_spellings[] = {
	{ "HV_TR_IM_ CR_READ", "HV_TR_IM_CR_READ" },
	{ "HV_TR_IM_ INTERRUPT_PENDING", "HV_TR_IM_INTERRUPT_PENDING" },
	{ "HV_TR_IM_ DR_ACCESS", "HV_TR_IM_DR_ACCESS" },
	{ "HV_TR_IM_REFLECTED EXCEPTION", "HV_TR_IM_REFLECTED_EXCEPTION" },
};

static int parse_number(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)s[0]))
		return 0;
	v = strtoul(s, &end, 0);
	if (*end || v > HVLOG_MAX_EVENT_NUMBER)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

const hvlog_event *hvlog_schema_lookup_event(const hvlog_schema *s, const char *name)
{
	uint32_t number;

	if (!name)
		return NULL;
	if (parse_number(name, &number))
		return hvlog_schema_find_event(s, number);
	for (size_t i = 0; i < sizeof seed_spellings / sizeof seed_spellings[0]; i++) {
		const char *seed = seed_spellings[i].seed;
		if (!strcasecmp(name, seed) || !strcasecmp(name, seed + 6))
			name = seed_spellings[i].symbol;
	}
	for (uint32_t i = 0; i < s->nevents; i++) {
		const char *sym = s->events[i].symbol;
		if (!strcasecmp(name, sym) || (!strncmp(sym, "HV_TR_", 6) && !strcasecmp(name, sym + 6)))
			return &s->events[i];
	}
	return NULL;
}

const hvlog_group *hvlog_schema_lookup_group(const hvlog_schema *s, const char *name)
{
	if (!name)
		return NULL;
	for (uint32_t i = 0; i < s->ngroups; i++)
		if (!strcasecmp(name, s->groups[i].alias) || !strcasecmp(name, s->groups[i].name))
			return &s->groups[i];
	/* The source table's spelling of the Virtual Abstraction Layer. */
	if (!strcasecmp(name, "Virtual Abstruaction Layer"))
		return hvlog_schema_lookup_group(s, "val");
	return NULL;
}

long hvlog__valtab_index(const hvlog_valtab *t, uint64_t value)
{
	uint32_t lo = 0, hi;

	if (!t)
		return -1;
	hi = t->nvalues;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->values[mid].value < value)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nvalues && t->values[lo].value == value ? (long)lo : -1;
}

const char *hvlog_valtab_name(const hvlog_valtab *t, uint64_t value)
{
	long k = hvlog__valtab_index(t, value);
	return k >= 0 ? t->values[k].name : NULL;
}

#define TYPE_NAME(name, str, max, size, ctype) [HVLOG_TYPE_##name] = str,
static const char *const type_names[HVLOG_TYPE_COUNT_] = { HVLOG_TYPE_LIST(TYPE_NAME) };
#undef TYPE_NAME
#define DISPLAY_NAME(name, str) [HVLOG_DISPLAY_##name] = str,
static const char *const display_names[HVLOG_DISPLAY_COUNT_] = { HVLOG_DISPLAY_LIST(DISPLAY_NAME) };
#undef DISPLAY_NAME
static const char *const coding_names[HVLOG_CODING_COUNT_] = { "varint", "delta", "keyed" };
static const char *const role_names[HVLOG_ROLE_COUNT_] = { "none", "partition_id", "thread_id", "guest_rip" };

const char *hvlog_type_name(hvlog_type t)
{
	return (unsigned)t < HVLOG_TYPE_COUNT_ ? type_names[t] : "?";
}

const char *hvlog_display_name(hvlog_display d)
{
	return (unsigned)d < HVLOG_DISPLAY_COUNT_ ? display_names[d] : "?";
}

const char *hvlog_coding_name(hvlog_coding c)
{
	return (unsigned)c < HVLOG_CODING_COUNT_ ? coding_names[c] : "?";
}

const char *hvlog_role_name(hvlog_role r)
{
	return (unsigned)r < HVLOG_ROLE_COUNT_ ? role_names[r] : "?";
}

/* The role of parameter i of ev: its own, else the built-in schema's. */
static hvlog_role param_role(const hvlog_event *ev, uint32_t i)
{
	const hvlog_event *b;

	if (ev->params[i].role != HVLOG_ROLE_NONE)
		return ev->params[i].role;
	if (!(b = hvlog_schema_find_event(hvlog_schema_builtin(), ev->number)))
		return HVLOG_ROLE_NONE;
	for (uint32_t k = 0; k < b->nparams; k++)
		if (ev->params[i].key && !strcmp(b->params[k].key, ev->params[i].key))
			return b->params[k].role;
	return HVLOG_ROLE_NONE;
}

int hvlog_event_param_by_role(const hvlog_event *ev, hvlog_role role)
{
	if (!ev || role == HVLOG_ROLE_NONE)
		return -1;
	for (uint32_t i = 0; i < ev->nparams; i++)
		if (param_role(ev, i) == role)
			return (int)i;
	return -1;
}

int hvlog__name_index(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

const char *const *hvlog__type_names(void) { return type_names; }
const char *const *hvlog__display_names(void) { return display_names; }
const char *const *hvlog__coding_names(void) { return coding_names; }
const char *const *hvlog__role_names(void) { return role_names; }
