/*
 * custom_events - a tool that records events of its own beside the
 * built-in (Hyper-V) schema.
 *
 * A trace embeds the schema it was written with, so `hvlog decode` prints
 * these events by name without knowing anything about this tool:
 *
 *   ./custom_events custom.hvlog && hvlog decode custom.hvlog
 *   hvlog decode --group mytool custom.hvlog
 *
 * The schema below is the built-in one plus a group "mytool" and two events
 * numbered 0x100 and 0x101: numbers above 0xFE are written with the escape
 * tag (docs/FORMAT.md), any number up to 0xFFFF that the built-in schema
 * does not use is fine.
 */
#include <stdio.h>
#include <string.h>

#include <hvlog/hvlog.h>

#define MYTOOL_GROUP_MASK (1ull << 48) /* a bit no built-in group uses */

static const hvlog_param cache_miss_params[] = {
	/* key, display name, type, display, coding, value table, role */
	{ "addr", "Address", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_DELTA, NULL, HVLOG_ROLE_NONE },
	{ "level", "Cache Level", HVLOG_TYPE_U8, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
};
static const hvlog_param phase_params[] = {
	{ "phase", "Phase", HVLOG_TYPE_U32, HVLOG_DISPLAY_DEC, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
	{ "warm", "Warm", HVLOG_TYPE_BOOL, HVLOG_DISPLAY_BOOL, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
};

enum { MAX_GROUPS = 64, MAX_EVENTS = 512 };
static hvlog_group groups[MAX_GROUPS];
static hvlog_event events[MAX_EVENTS];
static hvlog_schema schema;
static const hvlog_event *ev_cache_miss, *ev_phase;

/* The built-in groups and events, copied, then ours appended. */
static int build_schema(void)
{
	const hvlog_schema *b = hvlog_schema_builtin();
	uint32_t slot = b->nslots;

	if (b->ngroups + 1 > MAX_GROUPS || b->nevents + 2 > MAX_EVENTS)
		return -1;
	memcpy(groups, b->groups, b->ngroups * sizeof *groups);
	memcpy(events, b->events, b->nevents * sizeof *events);
	groups[b->ngroups] = (hvlog_group){ "mytool", "My Tool", MYTOOL_GROUP_MASK };
	/* Each event's DELTA predictors take nparams slots after all the
	 * built-in ones, so the built-in typed emitters keep working. */
	events[b->nevents] = (hvlog_event){ 0x100, "MYTOOL_CACHE_MISS", "Cache Miss", b->ngroups,
					    cache_miss_params, 2, slot };
	slot += 2;
	events[b->nevents + 1] = (hvlog_event){ 0x101, "MYTOOL_PHASE", "Phase Change", b->ngroups,
						phase_params, 2, slot };
	slot += 2;
	schema = (hvlog_schema){
		.name = "mytool", .version = 1,
		.groups = groups, .ngroups = b->ngroups + 1,
		.events = events, .nevents = b->nevents + 2,
		/* The value tables stay the built-in array itself: parameters
		 * refer to their table by its place in the schema's array. */
		.valtabs = b->valtabs, .nvaltabs = b->nvaltabs,
		.nslots = slot,
	};
	ev_cache_miss = &events[b->nevents];
	ev_phase = &events[b->nevents + 1];
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "custom.hvlog";
	hvlog_writer_config cfg = { .schema = &schema, .producer = "examples/custom_events" };
	hvlog_writer *w;
	hvlog_error err;

	if (build_schema() != 0) {
		fprintf(stderr, "custom_events: the built-in schema is larger than expected\n");
		return 1;
	}
	if (hvlog_writer_open_path(&w, path, &cfg, &err) != HVLOG_OK) {
		fprintf(stderr, "custom_events: %s: %s\n", path, err.msg);
		return 1;
	}
	hvlog_stream *s = hvlog_writer_stream(w, 0);
	/* Our events go through the generic, table-driven emitter... */
	hvlog_emit(s, 100, ev_phase, (const uint64_t[]){ 1, 0 });
	hvlog_emit(s, 200, ev_cache_miss, (const uint64_t[]){ 0x7f0000001000, 2 });
	hvlog_emit(s, 300, ev_cache_miss, (const uint64_t[]){ 0x7f0000001040, 3 });
	/* ...and the built-in ones still through their typed emitters. */
	hvlog_emit_im_cpuid_instruction(s, 400, 0xfffff80000003000, 0x40000000, 0);
	hvlog_emit(s, 500, ev_phase, (const uint64_t[]){ 2, 1 });
	if (hvlog_writer_close(w, &err) != HVLOG_OK) {
		fprintf(stderr, "custom_events: %s: %s\n", path, err.msg);
		return 1;
	}
	return 0;
}
