/*
 * hvcore - a tiny tracing hypervisor: runs guest programs on partitions of
 * virtual processors, under KVM or a deterministic simulator, and records
 * what happens as an hvlog trace.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "hvlog/hvlog.h"

/* EXIT_PARTIAL: the run went to its end but writes to the trace failed;
 * the chunks they held are lost (and counted in the trace), the rest is
 * there. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3, EXIT_NOKVM = 4 };

struct opts {
	struct hvcore_config cfg;
	const char *backend;
	int no_trace;
	const char *kernel, *initrd, *cmdline; /* --kernel: boot Linux (linux.c) */
	uint64_t mem_mib;
	int vps_given;
};

enum { OPT_GROUP_MASK = 256, OPT_NO_TRACE, OPT_FLUSH, OPT_LPS, OPT_SERIAL, OPT_NO_PROGRESS, OPT_PROVENANCE, OPT_SERIAL_INPUT, OPT_KERNEL, OPT_INITRD, OPT_CMDLINE, OPT_MEM, OPT_BLOCK, OPT_CONTROL };

static const struct argp_option options[] = {
	{ "backend", 'b', "NAME", 0, "sim (default: deterministic, always available) or kvm (real guests, needs /dev/kvm)", 0 },
	{ "workload", 'w', "NAME", 0, "boot, serial, hypercall, idle, mm, mixed (default), all, halt or c (linux: see --kernel)", 0 },
	{ "partitions", 'p', "N", 0, "partitions to create (default 1)", 0 },
	{ "vps", 'v', "N", 0, "virtual processors per partition, each on its own thread (default 2; 1 to 1024: "
			      "a partition runs at most 64, the creation of the others is refused)", 0 },
	{ "events", 'n', "N", 0, "stop after about N events produced, recorded or not (default 100000; 0: no limit)",
	  0 },
	{ "duration", 'd', "SECONDS", 0, "stop after this long (wall clock)", 0 },
	{ "seed", 's', "N", 0, "seed of the sim scheduler (default 1)", 0 },
	{ "groups", 'g', "LIST", 0, "record only these groups: aliases or names, comma-separated", 0 },
	{ "group-mask", OPT_GROUP_MASK, "MASK", 0, "record only the groups in this 64-bit mask (0x400800)", 0 },
	{ "output", 'o', "FILE", 0, "trace file (default hvcore.hvlog; -: standard output, not a terminal)", 0 },
	{ "no-trace", OPT_NO_TRACE, 0, 0, "run without recording (to measure the tracing overhead)", 0 },
	{ "flush-interval", OPT_FLUSH, "MS", 0, "flush each stream at least this often, in trace time (default 100; 0: only full chunks)", 0 },
	{ "lps", OPT_LPS, "N", 0, "logical processors the VPs share (kvm; default: online CPUs)", 0 },
	{ "serial", OPT_SERIAL, 0, 0, "print what the guests write to COM1 on standard error (default for the serial workload)", 0 },
	{ "serial-input", OPT_SERIAL_INPUT, "TEXT", 0, "what each VP's COM1 receives (it arrives once the guest raises DTR)", 0 },
	{ "kernel", OPT_KERNEL, "BZIMAGE", 0, "boot this Linux kernel on one VP (the linux workload; kvm)", 0 },
	{ "initrd", OPT_INITRD, "FILE", 0, "with --kernel: its initial RAM disk", 0 },
	{ "cmdline", OPT_CMDLINE, "TEXT", 0, "with --kernel: its command line (default: " LINUX_DEFAULT_CMDLINE ")", 0 },
	{ "mem", OPT_MEM, "MIB", 0, "with --kernel: guest RAM in MiB (default 256; at most 768)", 0 },
	{ "no-progress", OPT_NO_PROGRESS, 0, 0, "no progress line, even on a terminal", 0 },
	{ "control", OPT_CONTROL, "FILE", 0, "on SIGUSR1, read a new group list or mask (as --groups or --group-mask) "
					    "from FILE and record those groups from then on", 0 },
	{ "block", OPT_BLOCK, 0, 0, "when the trace goes to a pipe or socket whose reader is slow, wait for it instead of "
				    "dropping events (they are counted as lost)", 0 },
	{ "provenance", OPT_PROVENANCE, 0, 0, "print where each event comes from on each backend (observed, reported by the guest, made by the core) and exit", 0 },
	{ 0 }
};

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || *s == '-' ? -1 : 0;
}

/* The options that keep their argument as given, and the flags. */
static error_t keep(const char **to, const char *arg)
{
	*to = arg;
	return 0;
}

static error_t set(int *flag)
{
	*flag = 1;
	return 0;
}

static error_t parse(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;
	struct hvcore_config *c = &o->cfg;
	uint64_t u;

	switch (key) {
	case 'b': return keep(&o->backend, arg);
	case 'w':
		for (int i = 0; i < WL_COUNT; i++)
			if (!strcmp(arg, workload_names[i])) {
				c->workload = (enum workload)i;
				return 0;
			}
		argp_error(state, "unknown workload '%s'", arg);
		return 0;
	case 'p':
	case 'v':
		if (parse_u64(arg, &u) || u == 0 || u > 1024)
			argp_error(state, "-%c wants a number from 1 to 1024", key);
		*(key == 'p' ? &c->partitions : &c->vps) = (unsigned)u;
		o->vps_given |= key == 'v';
		return 0;
	case 'n':
		if (parse_u64(arg, &c->events))
			argp_error(state, "--events wants a number");
		return 0;
	case 'd':
		c->duration = strtod(arg, NULL);
		if (c->duration <= 0)
			argp_error(state, "--duration wants a positive number of seconds");
		return 0;
	case 's':
		if (parse_u64(arg, &c->seed))
			argp_error(state, "--seed wants a number");
		return 0;
	case 'g': {
		/* the parser of `hvlog decode --group`, over a comma-separated list */
		hvlog_error e;
		if (hvlog_schema_parse_groups(hvlog_schema_builtin(), arg, &c->group_mask, &e) != HVLOG_OK)
			argp_error(state, "%s", e.msg);
		return 0;
	}
	case OPT_GROUP_MASK:
		if (parse_u64(arg, &u) || !u)
			argp_error(state, "--group-mask wants a non-zero number");
		c->group_mask |= u;
		return 0;
	case 'o': return keep(&c->output, arg);
	case OPT_NO_TRACE: return set(&o->no_trace);
	case OPT_FLUSH:
		if (parse_u64(arg, &c->flush_interval_ms))
			argp_error(state, "--flush-interval wants milliseconds");
		return 0;
	case OPT_LPS:
		if (parse_u64(arg, &u) || !u || u > 1024)
			argp_error(state, "--lps wants a number from 1 to 1024");
		c->lps = (unsigned)u;
		return 0;
	case OPT_SERIAL: return set(&c->serial_echo);
	case OPT_CONTROL: return keep(&c->control, arg);
	case OPT_BLOCK: return set(&c->block);
	case OPT_SERIAL_INPUT: return keep(&c->serial_input, arg);
	case OPT_KERNEL: return keep(&o->kernel, arg);
	case OPT_INITRD: return keep(&o->initrd, arg);
	case OPT_CMDLINE: return keep(&o->cmdline, arg);
	case OPT_MEM:
		if (parse_u64(arg, &o->mem_mib) || o->mem_mib < 2 || o->mem_mib > (HV_MMIO_BASE >> 20))
			argp_error(state, "--mem wants MiB from 2 to %llu", HV_MMIO_BASE >> 20);
		return 0;
	case OPT_NO_PROGRESS:
		c->progress = 0;
		return 0;
	case OPT_PROVENANCE:
		exit(hvcore_print_provenance(stdout) == 0 && fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL);
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static void print_version(FILE *f, struct argp_state *state)
{
	(void)state;
	fprintf(f, "hvcore %s (libhvlog %s, trace format %d.%d)\n", HVLOG_VERSION_STRING, hvlog_version(),
		HVLOG_FORMAT_MAJOR, HVLOG_FORMAT_MINOR);
}

void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;

int main(int argc, char **argv)
{
	static const char doc[] =
		"Run guest programs on partitions of virtual processors and record what the hypervisor "
		"does as an hvlog trace.\v"
		"Backends: sim interprets the guests deterministically (same options and seed, same "
		"trace file, byte for byte); kvm runs them under /dev/kvm.\n"
		"Exit status: 0 success; 1 the run failed; 2 bad command line; 4 the kvm backend is not "
		"available here.";
	static const struct argp argp = { options, parse, NULL, doc, NULL, NULL, NULL };
	struct opts o = { .cfg = { .backend = &hv_backend_sim, .workload = WL_MIXED, .partitions = 1, .vps = 2,
				   .events = 100000, .seed = 1, .output = "hvcore.hvlog",
				   .flush_interval_ms = 100, .progress = isatty(STDERR_FILENO) } };
	struct hvcore_result res;
	struct linux_boot lx;
	char err[512];

	argp_err_exit_status = EXIT_USAGE;
	if (argp_parse(&argp, argc, argv, 0, NULL, &o) != 0)
		return EXIT_USAGE;
	if (o.backend && !strcmp(o.backend, "kvm"))
		o.cfg.backend = &hv_backend_kvm;
	else if (o.backend && strcmp(o.backend, "sim")) {
		fprintf(stderr, "hvcore: unknown backend '%s' (sim or kvm)\n", o.backend);
		return EXIT_USAGE;
	}
	if (o.kernel) {
		/* a kernel boots on its BSP: nothing starts the other VPs */
		if (o.vps_given && o.cfg.vps != 1) {
			fprintf(stderr, "hvcore: --kernel boots on one VP (-v 1): nothing here starts a kernel's others\n");
			return EXIT_USAGE;
		}
		if (linux_open(&lx, o.kernel, o.initrd, o.cmdline, o.mem_mib ? o.mem_mib << 20 : LINUX_DEFAULT_MEM, err,
			       sizeof err) != 0) {
			fprintf(stderr, "hvcore: %s\n", err);
			return EXIT_FAIL;
		}
		if (o.cfg.backend == &hv_backend_sim) {
			fprintf(stderr, "hvcore: --kernel needs -b kvm: the sim interprets only the instructions of "
					"hvcore's own guests\n");
			linux_close(&lx);
			return EXIT_USAGE;
		}
		o.cfg.kernel = &lx;
		o.cfg.workload = WL_LINUX;
		o.cfg.vps = 1;
	} else if (o.cfg.workload == WL_LINUX || o.initrd || o.cmdline || o.mem_mib) {
		fprintf(stderr, "hvcore: the linux workload, --initrd, --cmdline and --mem go with --kernel\n");
		return EXIT_USAGE;
	}
	if (o.cfg.workload == WL_SERIAL || o.cfg.workload == WL_C || o.cfg.workload == WL_LINUX)
		o.cfg.serial_echo = 1;
	if ((o.cfg.workload == WL_ALL || o.cfg.workload == WL_C) && o.cfg.events == 100000)
		o.cfg.events = 0; /* `all` and `c` end by themselves */
	if (o.no_trace)
		o.cfg.output = NULL;
	else if (!strcmp(o.cfg.output, "-") && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "hvcore: not writing a binary trace to a terminal (redirect standard output)\n");
		return EXIT_USAGE;
	}
	if (!o.cfg.lps) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		o.cfg.lps = n > 0 ? (unsigned)n : 1;
	}
	if (o.cfg.backend->probe(err, sizeof err) != 0) {
		fprintf(stderr, "hvcore: the %s backend is not available here: %s\n", o.cfg.backend->name, err);
		return EXIT_NOKVM;
	}
	int run = hvcore_run(&o.cfg, &res, err, sizeof err);
	if (o.cfg.kernel)
		linux_close(&lx);
	if (run != 0) {
		fprintf(stderr, "hvcore: %s\n", err);
		return EXIT_FAIL;
	}
	/* The events the file holds; without a file, those the core produced. */
	uint64_t events = o.cfg.output ? res.events : res.produced;
	/* The VPs created: "P partitions x N VPs" when each got N, else the
	 * total; those asked for but not created are refused. */
	unsigned asked = o.cfg.partitions * o.cfg.vps, each = res.vps / o.cfg.partitions;
	fprintf(stderr, "hvcore: %s backend, %s workload, %u partition%s", o.cfg.backend->name,
		workload_names[o.cfg.workload], o.cfg.partitions, o.cfg.partitions == 1 ? "" : "s");
	if (res.vps_uneven)
		fprintf(stderr, ", %u VP%s in all", res.vps, res.vps == 1 ? "" : "s");
	else
		fprintf(stderr, " x %u VP%s", each, each == 1 ? "" : "s");
	if (res.vps < asked)
		fprintf(stderr, " (%u refused)", asked - res.vps);
	fprintf(stderr, ": %llu exits, %llu events %s in %.3f s (%.0f exits/s, %.0f events/s)",
		(unsigned long long)res.exits, (unsigned long long)events, o.cfg.output ? "recorded" : "produced",
		res.seconds, res.seconds > 0 ? (double)res.exits / res.seconds : 0.0,
		res.seconds > 0 ? (double)events / res.seconds : 0.0);
	if (o.cfg.output) {
		struct stat st;
		int out = strcmp(o.cfg.output, "-") != 0;
		if ((out ? stat(o.cfg.output, &st) : fstat(STDOUT_FILENO, &st)) == 0 && S_ISREG(st.st_mode))
			fprintf(stderr, "; %s: %lld bytes, %.2f bytes/event", out ? o.cfg.output : "standard output",
				(long long)st.st_size, res.events ? (double)st.st_size / (double)res.events : 0.0);
		if (res.lost)
			fprintf(stderr, "; %llu events lost", (unsigned long long)res.lost);
	}
	fputc('\n', stderr);
	if (res.write_errors) {
		fprintf(stderr,
			"hvcore: %s: %llu write%s failed (first: %s); %llu chunk%s with %llu events dropped, "
			"counted as lost in the trace; the rest of the run was traced\n",
			o.cfg.output, (unsigned long long)res.write_errors, res.write_errors == 1 ? "" : "s",
			res.write_error, (unsigned long long)res.chunks_dropped, res.chunks_dropped == 1 ? "" : "s",
			(unsigned long long)res.events_dropped);
		return EXIT_PARTIAL;
	}
	return EXIT_OK;
}
