/*
 * hvlog/schema.h - event schemas: groups, events, parameters, value names.
 *
 * A schema says what each event number means and how its parameters are
 * coded and shown.  The built-in one is generated from schema/hvlog_schema.def;
 * a reader uses the schema embedded in the file it reads, so it decodes files
 * written with newer or custom schemas by their own names.
 */
#ifndef HVLOG_SCHEMA_H
#define HVLOG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/export.h"
#include "hvlog/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits every schema obeys (the reader refuses files beyond them). */
#define HVLOG_MAX_PARAMS 16        /* parameters of one event */
#define HVLOG_MAX_NAME 64          /* bytes in a name, symbol or key */
#define HVLOG_MAX_EVENT_NUMBER 0xFFFF

/* X(NAME, "name", largest value, bytes, C type) - the parameter types, in
 * their wire order (docs/FORMAT.md), expanded into the enum, the names of
 * hvlog_type_name, hvlog_type_max and wherever a table per type is
 * needed, so that a type is spelled once. */
#define HVLOG_TYPE_LIST(X)                                  \
	X(U8,   "u8",   0xFFu,                   1, uint8_t)  \
	X(U16,  "u16",  0xFFFFu,                 2, uint16_t) \
	X(U32,  "u32",  0xFFFFFFFFu,             4, uint32_t) \
	X(U64,  "u64",  0xFFFFFFFFFFFFFFFFull,   8, uint64_t) \
	X(BOOL, "bool", 1u,                      1, int)

typedef enum hvlog_type {
#define HVLOG_TYPE_ENUM_(name, str, max, size, ctype) HVLOG_TYPE_##name,
	HVLOG_TYPE_LIST(HVLOG_TYPE_ENUM_)
#undef HVLOG_TYPE_ENUM_
	HVLOG_TYPE_COUNT_
} hvlog_type;

/* X(NAME, "name") - how a value is shown. */
#define HVLOG_DISPLAY_LIST(X) X(HEX, "hex") X(DEC, "dec") X(BOOL, "bool") X(ENUM, "enum")

typedef enum hvlog_display {
#define HVLOG_DISPLAY_ENUM_(name, str) HVLOG_DISPLAY_##name,
	HVLOG_DISPLAY_LIST(HVLOG_DISPLAY_ENUM_)
#undef HVLOG_DISPLAY_ENUM_
	HVLOG_DISPLAY_COUNT_
} hvlog_display;

/* How a parameter is coded on the wire (docs/FORMAT.md, "Records"). */
typedef enum hvlog_coding {
	HVLOG_CODING_VARINT, /* prefix varint of the value */
	HVLOG_CODING_DELTA,  /* prefix varint of the zig-zag of value - previous value */
	HVLOG_CODING_KEYED,  /* as DELTA, but against the previous value that came with the
			      * same value of the parameter before it (an MSR's value by
			      * its index, a port's by the port); never the first parameter */
	HVLOG_CODING_COUNT_
} hvlog_coding;

/* What a parameter means to a tool, whatever its key or name: `hvlog
 * decode --partition` tests the PARTITION_ID parameter of an event, so a
 * custom schema may call it anything.  At most one parameter of an event
 * has a given role (other than NONE). */
typedef enum hvlog_role {
	HVLOG_ROLE_NONE,
	HVLOG_ROLE_PARTITION_ID, /* the partition the event is about */
	HVLOG_ROLE_THREAD_ID,    /* the hypervisor thread it is about */
	HVLOG_ROLE_GUEST_RIP,    /* the guest instruction pointer at the event */
	HVLOG_ROLE_COUNT_
} hvlog_role;

typedef struct hvlog_value_name {
	uint64_t value;
	const char *name;
} hvlog_value_name;

typedef struct hvlog_valtab {
	const char *alias;               /* "msr", "hv_status", ... */
	const hvlog_value_name *values;  /* sorted by value */
	uint32_t nvalues;
} hvlog_valtab;

typedef struct hvlog_param {
	const char *key;      /* lowercase identifier: "guest_rip" */
	const char *name;     /* display name: "Guest RIP" */
	hvlog_type type;
	hvlog_display display;
	hvlog_coding coding;
	const hvlog_valtab *values; /* for HVLOG_DISPLAY_ENUM, else NULL */
	hvlog_role role;
} hvlog_param;

typedef struct hvlog_event {
	uint32_t number;           /* wire number */
	const char *symbol;        /* "HV_TR_IM_MSR_READ" */
	const char *description;   /* "MSR Read" */
	uint32_t group;            /* index into hvlog_schema.groups */
	const hvlog_param *params;
	uint32_t nparams;
	uint32_t slot;             /* first predictor slot (sum of nparams before) */
} hvlog_event;

typedef struct hvlog_group {
	const char *alias;    /* "interrupt" */
	const char *name;     /* "Interrupt Manager" */
	uint64_t mask;        /* its bit in the group-source mask */
} hvlog_group;

typedef struct hvlog_schema {
	const char *name;          /* "hyperv" for the built-in one */
	uint32_t version;
	const hvlog_group *groups;
	uint32_t ngroups;
	const hvlog_event *events;
	uint32_t nevents;
	const hvlog_valtab *valtabs;
	uint32_t nvaltabs;
	uint32_t nslots;           /* total parameters over all events */
} hvlog_schema;

/* The built-in schema (static, never NULL). */
HVLOG_API const hvlog_schema *hvlog_schema_builtin(void);

/* The event with wire number `number`, or NULL. */
HVLOG_API const hvlog_event *hvlog_schema_find_event(const hvlog_schema *s, uint32_t number);

/* The event named `name`: its symbol with or without "HV_TR_", any case, or
 * a number ("0x21", "33").  Also accepts the spellings of the source table
 * that the schema normalised (schema/README.md).  NULL if none. */
HVLOG_API const hvlog_event *hvlog_schema_lookup_event(const hvlog_schema *s, const char *name);

/* The group named `name`: its alias or its full name, any case; NULL if none. */
HVLOG_API const hvlog_group *hvlog_schema_lookup_group(const hvlog_schema *s, const char *name);

/* The name of `value` in `t`, or NULL (also when t is NULL). */
HVLOG_API const char *hvlog_valtab_name(const hvlog_valtab *t, uint64_t value);

/* Largest value a parameter of type t holds. */
HVLOG_API uint64_t hvlog_type_max(hvlog_type t);

HVLOG_API const char *hvlog_type_name(hvlog_type t);       /* "u64", ... */
HVLOG_API const char *hvlog_display_name(hvlog_display d); /* "hex", ... */
HVLOG_API const char *hvlog_coding_name(hvlog_coding c);   /* "varint", ... */
HVLOG_API const char *hvlog_role_name(hvlog_role r);       /* "none", "partition_id", ... */

/* The index of the parameter of event ev with role `role`, or
 * -1.  A parameter without a role (HVLOG_ROLE_NONE) takes the one the
 * built-in schema gives the parameter with the same key of the event with
 * the same number: the metadata of a file does not carry roles, so this
 * is how the events of the built-in schema keep theirs when read back. */
HVLOG_API int hvlog_event_param_by_role(const hvlog_event *ev, hvlog_role role);

/* ---- a schema from a document ----------------------------------------------
 *
 * A schema as a document (the "schema" map of the metadata, docs/FORMAT.md
 * section 3: name, version, groups, valtabs, events), read from whatever
 * tree a parser made, through these callbacks.  The reader builds the
 * schema of a file's CBOR metadata with it, and `hvlog convert --from
 * json|cbor` the schema of a meta item, so both take the same documents,
 * with the same caps and checks.  ctx is the caller's, given to each. */
typedef struct hvlog_doc_ops {
	/* The value of key k of map n; NULL if n is not a map, has no such
	 * key or its value is null. */
	const void *(*get)(void *ctx, const void *n, const char *k);
	/* The entries of array n, or -1 if n is not an array. */
	long (*len)(void *ctx, const void *n);
	const void *(*at)(void *ctx, const void *n, size_t i);
	/* n as an unsigned integer: 0, or -1 if it is none. */
	int (*uint)(void *ctx, const void *n, uint64_t *v);
	/* Text n: its length in bytes, and, if that is below cap, the text
	 * NUL-terminated in buf; -1 if n is not text, -2 if it holds a NUL
	 * byte or is not valid UTF-8. */
	long (*str)(void *ctx, const void *n, char *buf, size_t cap);
	/* size bytes of zeroed memory that the schema lives in, for as long
	 * as the caller keeps it (freed by the caller); NULL: out of memory. */
	void *(*alloc)(void *ctx, size_t size);
	/* The rest is read by hvlog_meta_from_doc only, and may be NULL. */
	/* Entry i of map n: *v its value, its key's length returned (the key
	 * NUL-terminated in kbuf if that is below cap, as str does); 0 past
	 * the last entry, -1 if n is not a map or the key is not text, -2 if
	 * the key holds a NUL byte or is not UTF-8.  NULL: no props read. */
	long (*entry)(void *ctx, const void *n, size_t i, char *kbuf, size_t cap, const void **v);
	/* n as a signed integer: 0, or -1 if it is none.  NULL: no epoch read. */
	int (*sint)(void *ctx, const void *n, int64_t *v);
	/* Whether n is a null (read as absent with HVLOG_DOC_DEFAULTS). */
	int (*null)(void *ctx, const void *n);
} hvlog_doc_ops;

/* Build *s from schema document doc.  Errors (HVLOG_MALFORMED,
 * HVLOG_LIMIT, HVLOG_NOMEM) name the field: "metadata: groups has too
 * many entries".  What was allocated before an error is the caller's to
 * free. */
HVLOG_API hvlog_status hvlog_schema_from_doc(hvlog_schema *s, const hvlog_doc_ops *ops, void *ctx,
					     const void *doc, hvlog_error *err);

/* The shape of the CBOR item at p (n bytes of it at hand), checked
 * before a tree is built from it (libcbor's cbor_load allocates what the
 * lengths declare: a few hostile bytes could ask for gigabytes): no array
 * or map declares more entries than the bytes the item may still take
 * (room in all, from p; each entry takes one at least), the nesting stays
 * within HVLOG_CBOR_MAX_DEPTH, the item has at most max_values values, and
 * it uses no indefinite length and no tag.  The metadata reader checks its
 * block so; `hvlog convert --from cbor` each item.
 * HVLOG_OK: *len is the item's length.  HVLOG_TRUNCATED: it goes on past
 * n, *len is where the value that does begins.  HVLOG_MALFORMED or
 * HVLOG_LIMIT: *why says what ("declares more entries than there are
 * bytes"; NULL: the bytes are not CBOR) and *len where the value it is
 * about begins. */
#define HVLOG_CBOR_MAX_DEPTH 16
HVLOG_API hvlog_status hvlog_cbor_shape(const void *p, size_t n, uint64_t room, uint64_t max_values, size_t *len,
					const char **why);

struct hvlog_meta; /* hvlog/reader.h */

/* Flags of hvlog_meta_from_doc. */
enum {
	/* Fields may be absent (or null), with these defaults: format
	 * "hvlog"; producer and clock name NULL (a writer puts its own);
	 * clock hz 1000000000; schema the built-in one; streams none
	 * (nstreams 0: a writer's one default stream); a stream's id its
	 * index, partition 0, vp UINT32_MAX.  flush_ns is not read, and the
	 * cross checks a writer makes anyway (duplicate names, overall size)
	 * are left to it.  What `hvlog convert --from` reads; without the
	 * flag every field is required, as in a file. */
	HVLOG_DOC_DEFAULTS = 1u << 0,
};

/* Build *meta from metadata document doc (the whole metadata map,
 * docs/FORMAT.md section 3: format, producer, clock, streams, schema,
 * props, flush_ns), with the reader's caps and messages; the schema
 * through hvlog_schema_from_doc.  Everything lives in memory from
 * ops->alloc (the schema too), unless it is the built-in schema.
 * meta->internal, data_offset, version and source are left 0.  Errors as
 * hvlog_schema_from_doc's. */
HVLOG_API hvlog_status hvlog_meta_from_doc(struct hvlog_meta *meta, const hvlog_doc_ops *ops, void *ctx,
					   const void *doc, unsigned flags, hvlog_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_SCHEMA_H */
