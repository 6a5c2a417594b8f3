/*
 * hvlog/perfetto.h - a trace as Perfetto's native protobuf trace format.
 *
 * libhvlog-perfetto (a library of its own, so that libhvlog needs only
 * libcbor; this one adds libprotobuf-c) turns the items of a reader into
 * the packets of a Perfetto Trace (protos/perfetto/trace/trace.proto),
 * which ui.perfetto.dev and trace_processor open natively:
 *
 *   - each partition a process track ("partition N"), each stream with a
 *     partition a thread track under it (named by the stream, "vp0"),
 *     streams without one under a track "hypervisor";
 *   - each event an instant on its stream's track, named by its symbol
 *     without "HV_TR_", its group as the category, its parameters as
 *     debug annotations (hex ones as pointers, decimal ones as unsigned,
 *     booleans as bools, named values as "NAME (0x..)" strings);
 *   - lost events an instant "LOST" (category "hvlog") on the stream's
 *     track, damage an instant "DAMAGE" on a track "damage";
 *   - counter tracks: exits/s of each stream (events/s for a stream that
 *     is not a virtual processor) and events/s of each group, one value
 *     per bin of `bin_ns` nanoseconds;
 *   - one packet sequence per stream (trusted_packet_sequence_id 2 + the
 *     stream's index; 1 for the descriptors, the group counters and
 *     damage), each with its own incremental state: event names,
 *     categories and parameter names are interned the first time a
 *     sequence uses them, and the stream's track is the sequence's default
 *     (TracePacketDefaults), so an event carries neither.
 *
 * Timestamps are nanoseconds since tick t0 (as `hvlog decode` counts).
 * The writer streams: memory is sized by the metadata, never by the trace.
 * perfetto/perfetto_trace.proto declares every message and field written.
 */
#ifndef HVLOG_PERFETTO_H
#define HVLOG_PERFETTO_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/reader.h"
#include "hvlog/status.h"
#include "hvlog/writer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hvlog_perfetto hvlog_perfetto;

/* Zero means the default for every field. */
typedef struct hvlog_perfetto_config {
	uint64_t t0;      /* the tick that is time 0 (the reader's first event) */
	uint64_t bin_ns;  /* width of a counter bin; 0: 1 ms */
	/* Pack every packet with protobuf-c's generic packer, not only those
	 * the writer's own packer does not cover (instants and counters): the
	 * same bytes, several times slower; for tests. */
	int reference_packer;
} hvlog_perfetto_config;

/* A writer for the trace whose metadata is m (kept until close), writing
 * through sink (hvlog/writer.h: 0 or an errno value).  The descriptors
 * are written here. */
HVLOG_API hvlog_status hvlog_perfetto_open(hvlog_perfetto **out, const hvlog_meta *m, const hvlog_perfetto_config *cfg,
					   hvlog_sink_fn sink, void *user, hvlog_error *err);

/* One item of the reader (an event, lost events or damage). */
HVLOG_API hvlog_status hvlog_perfetto_item(hvlog_perfetto *w, const hvlog_item *it, hvlog_error *err);

/* Writes the last counter values and everything buffered, and frees the
 * writer (also after an error); the first error of the writer's life. */
HVLOG_API hvlog_status hvlog_perfetto_close(hvlog_perfetto *w, hvlog_error *err);

/* Bytes and packets written so far (for a summary or a bench). */
HVLOG_API void hvlog_perfetto_counts(const hvlog_perfetto *w, uint64_t *bytes, uint64_t *packets);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_PERFETTO_H */
