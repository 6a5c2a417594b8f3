/*
 * core.h - the tracing hypervisor core: partitions, virtual processors on
 * their own threads, a scheduler, devices, and the events they emit.
 */
#ifndef HVCORE_CORE_H
#define HVCORE_CORE_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "guest.h"
#include "linux.h"

struct hvcore_config {
	const struct hv_backend *backend;
	enum workload workload;
	unsigned partitions;      /* >= 1 */
	unsigned vps;             /* per partition, >= 1 */
	uint64_t events;          /* stop after about this many events produced; 0: no limit */
	double duration;          /* stop after this many seconds; 0: no limit */
	uint64_t seed;
	uint64_t group_mask;      /* groups recorded; 0: all */
	const char *output;       /* trace file; NULL: do not trace */
	uint64_t flush_interval_ms; /* 0: flush only when chunks fill */
	int block;                /* wait for a slow trace reader instead of dropping (counted) events */
	const char *control;      /* on SIGUSR1, the new group list or mask is read from this file; NULL: none */
	unsigned lps;             /* logical processors the VPs share (kvm) */
	int serial_echo;          /* print guest serial output on stderr */
	const char *serial_input; /* what each VP's COM1 receives; NULL: nothing */
	const struct linux_boot *kernel; /* the linux workload: the kernel to boot (one VP) */
	int progress;             /* a progress line on stderr */
};

struct hvcore_result {
	uint64_t exits;
	uint64_t events;          /* recorded: what the trace file holds */
	uint64_t produced;        /* made by the core, recorded or not (--events) */
	uint64_t lost;
	/* Writes to the trace that failed (FORMAT.md 4.5: the writer drops the
	 * chunk, counts its events as lost and goes on; so does the run). */
	uint64_t write_errors, chunks_dropped, events_dropped;
	char write_error[256];    /* the first, as the writer reported it at close */
	unsigned vps;             /* VPs created, over all partitions (the others were refused) */
	int vps_uneven;           /* the partitions did not all get the same number */
	uint64_t trace_bytes;
	double seconds;
	unsigned vps_failed;      /* VPs that stopped on a backend error */
};

/* Run the configured guests to the end; 0, or -1 with a message in err. */
int hvcore_run(const struct hvcore_config *cfg, struct hvcore_result *res, char *err, size_t errlen);

/* Where `event` comes from on backend `be` ("observed", "reported",
 * "core", "core model") and how; 0, or -1 if hvcore does not know it. */
int hvcore_provenance(const struct hv_backend *be, uint32_t event, const char **source, const char **how);
/* The table of every schema event, as Markdown; -1 if one is missing. */
int hvcore_print_provenance(FILE *f);

#endif
