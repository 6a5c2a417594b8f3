/*
 * hvlog/hvlog.h - libhvlog, the hypervisor event log codec.
 *
 * Include this one header.  Writing: hvlog/writer.h and the typed emitters
 * of hvlog/events.h (built from the schema).  Reading: hvlog/reader.h,
 * hvlog/select.h (which items, from the strings users type) and
 * hvlog/format.h; statistics, their comparison and time bins:
 * hvlog/stats.h, hvlog/diff.h, hvlog/timeline.h.  The wire format is in
 * docs/FORMAT.md.
 */
#ifndef HVLOG_HVLOG_H
#define HVLOG_HVLOG_H

#define HVLOG_VERSION_MAJOR 0
#define HVLOG_VERSION_MINOR 1
#define HVLOG_VERSION_PATCH 0
#define HVLOG_VERSION_STRING "0.1.0"

/* The trace format this library writes (and the newest major it reads). */
#define HVLOG_FORMAT_MAJOR 1
#define HVLOG_FORMAT_MINOR 0

#include "hvlog/export.h"
#include "hvlog/status.h"
#include "hvlog/schema.h"
#include "hvlog/emit.h"
#include "hvlog/events.h"
#include "hvlog/writer.h"
#include "hvlog/reader.h"
#include "hvlog/format.h"
#include "hvlog/select.h"
#include "hvlog/stats.h"
#include "hvlog/diff.h"
#include "hvlog/timeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "0.1.0" (may differ from HVLOG_VERSION_STRING
 * when a program runs against another build of the shared library). */
HVLOG_API const char *hvlog_version(void);

#ifdef __cplusplus
}
#endif
#endif /* HVLOG_HVLOG_H */
