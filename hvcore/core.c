/*
 * core.c - partitions, virtual processors, the scheduler, the devices, and
 * the events they emit through libhvlog's typed emitters.
 *
 * Every VP runs on its own thread and writes its own stream; stream 0
 * ("hv") belongs to the main thread, which creates and deletes partitions
 * and VPs.  Exits from either backend go through handle_exit(), so one
 * guest program gives the same events on both (but for time).
 *
 * Time and scheduling come from the backend (backend.h): with a host
 * clock (kvm: the TSC) the VPs run free and the core measures what an exit
 * costs; with a virtual clock (sim: one for the whole machine) the VPs run
 * one at a time in an order drawn from the seed, an exit costs what the
 * model says, and the same options give the same trace, byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "hvlog/hvlog.h"
#include "uart.h"

/* Whether the trace goes to a regular file (or a path that is not there
 * yet, which the writer creates), not a pipe, socket or terminal. */
static int output_is_file(const char *path)
{
	struct stat st;

	if (!strcmp(path, "-"))
		return fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	return stat(path, &st) != 0 || S_ISREG(st.st_mode);
}

#define TIMER_PERIOD_NS 20000ull        /* HLT with no deadline armed: the core's own timer */
#define SPIN_NS 1000000ull              /* idling on a host clock: sleep, then poll the last 1 ms */
#define OVERRUN_NS 50000ull             /* an intercept handled slower is an overrun */
#define OVERRUN500_NS 500000ull
#define PROFILE_NS 1000000ull           /* profiler sample interval */
#define IDLE_SLICE_NS 100000000ull      /* an idle VP looks at the stop and its flush at least this often */
#define VTLB_MIN 16u
#define VTLB_MAX 1024u
#define HV_MAX_VPS_PER_PARTITION G_MAX_VPS

struct core;
struct partition;

struct vp {
	struct core *c;
	struct partition *p;
	unsigned index;           /* in its partition */
	unsigned global;          /* over all partitions; its stream is global + 1 */
	uint32_t thread_id;
	struct hv_vcpu *vcpu;
	hvlog_stream *s;
	pthread_t thread;
	pthread_cond_t turn;      /* lock-stepped: signalled when this VP gets the baton */
	int started;
	/* devices */
	uint64_t timer_deadline;  /* trace ticks; 0: not armed */
	uint64_t kick_armed;      /* the deadline the backend's kick is set for; 0: none */
	uint64_t apic_base;
	struct hv_cpuid_leaf cpuid[8];
	unsigned ncpuid;
	int irq_held;             /* injected while IF=0, waiting for a window */
	unsigned irq_pending;     /* requested, not yet delivered: bit per IRQ_* source */
	struct uart com1;         /* this VP's COM1 (IRQ 4) */
	/* The RIP of the last exit of each kind, until a report of it: the
	 * report that follows an instruction the backend stopped on is not
	 * counted twice (whether it stops may depend on the host: MWAIT under
	 * kvm). */
	uint64_t seen_rip[HV_EXIT_COUNT];
	uint8_t seen[HV_EXIT_COUNT];
	uint8_t cmos_index;
	uint32_t pci_addr;
	char line[128];
	size_t linelen;
	/* virtual TLB model */
	unsigned vtlb_cap, vtlb_used;
	/* time */
	uint64_t now;             /* trace ticks of the last exit */
	uint64_t resume;          /* virtual clock: when the VP goes on after it */
	uint64_t next_profile, last_flush;
	unsigned mask_gen;         /* the group mask change it applied last */
	uint64_t exits, events, recorded;
	uint64_t counted;         /* of events, those added to the core's total */
	atomic_int done;          /* read by the main thread's progress line */
	int failed;
	char err[160];
};

struct partition {
	uint64_t id;
	uint8_t *mem;
	uint64_t mem_size;
	struct hv_vm *vm;
	uint64_t tsc_offset, ref_offset;
	unsigned nvps;
	struct vp *vps;
	/* VP creations that failed, announced with their status: the core's
	 * limit refused them, or the backend could not create the vCPU.
	 * deleted: the VM and its vCPUs are gone. */
	struct refused { unsigned index; uint16_t status; } *refused;
	unsigned nrefused;
	int deleted;
	/* Partition-wide MSRs: any of its VPs (threads) may access them. */
	pthread_mutex_t msr_lock;
	uint64_t guest_os_id, hypercall_msr;
};

struct core {
	const struct hvcore_config *cfg;
	const struct hv_backend *be;
	const struct sched *sched;
	int virt;                  /* the clock is virtual (be->now == NULL) */
	struct hv_clock_info clock;
	uint64_t hz;               /* trace ticks per second */
	hvlog_writer *w;
	hvlog_stream *hv;          /* stream 0, main thread only */
	hvlog_stream *null_streams;
	uint8_t *null_bufs;
	uint64_t *null_slots;
	struct partition *parts;
	unsigned nparts, nvps;
	struct vp **all;
	atomic_uint_fast64_t events, exits;
	uint64_t hv_recorded;      /* events recorded on stream 0 */
	atomic_int stop;
	uint64_t event_limit;
	uint64_t deadline_ns;      /* host CLOCK_MONOTONIC stop time; 0: none */
	uint64_t end_ticks;        /* host clock: the same in trace ticks (the VPs' last kick); 0: none */
	uint64_t flush_ticks;
	/* Flush in wall-clock time too (flush_wall_ns apart): every stream
	 * with buffered events goes out at least that often, whichever VP
	 * runs, so that a live reader is never kept waiting by an idle one.
	 * Off for the sim writing a regular file: its chunks then depend on
	 * the trace time only, so the file is the same byte for byte. */
	int wall_flush;
	uint64_t flush_wall_ns;
	uint64_t next_sweep_ns;    /* lock-stepped: the next sweep, read and set under the baton */
	/* --control: a group mask set while running, applied by each VP's own
	 * thread (its stream's owner) at its next exit */
	_Atomic uint64_t new_mask;
	atomic_uint mask_gen;
	/* --control: the trace's schema is the built-in one and the trace
	 * control event (HVCORE_EV_TRACE_CONTROL), which stream 0 records at
	 * each change whatever the mask */
	hvlog_group ctl_groups[64];
	hvlog_event ctl_events[512];
	hvlog_schema ctl_schema;
	uint64_t mask;             /* the groups recorded now (main thread) */
	/* scheduler */
	pthread_mutex_t lock;
	int current;               /* lock-stepped: the VP that may run, -1: none */
	uint64_t rng;
	uint64_t global_now;       /* virtual clock: the machine's */
	sem_t lps;                 /* free running: free logical processors */
	pthread_mutex_t serial_lock;
};

/* ---- helpers ------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* A cheap clock (a few ms resolution), read at every exit of the sim. */
static uint64_t coarse_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t ns_to_ticks(const struct core *c, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * c->hz / 1000000000u);
}

static uint64_t ticks_to_ns(const struct core *c, uint64_t ticks)
{
	return (uint64_t)((double)ticks * 1e9 / (double)c->hz);
}

/* The trace clock now, for events of stream 0. */
static uint64_t hv_clock(struct core *c)
{
	return c->virt ? c->global_now : c->be->now();
}

/* Every event goes through EMIT (a VP's stream) or HVEMIT (stream 0).
 * `events` counts what the core produced, recorded or not: what --events
 * limits.  `recorded` counts what the stream's group mask let in and the
 * writer took: what the trace file holds, and what the summary reports. */
#define RECORD(s, mask, counter, call) \
	(hvlog_stream_wants((s), (mask)) && (call) == HVLOG_OK ? (void)(counter)++ : (void)0)
#define EMIT(v, group, call) ((v)->events++, RECORD((v)->s, HVLOG_GROUP_##group, (v)->recorded, call))
#define HVEMIT(c, group, call) RECORD((c)->hv, HVLOG_GROUP_##group, (c)->hv_recorded, call)

static void check_limits(struct vp *v)
{
	struct core *c = v->c;
	uint64_t n = v->events - v->counted; /* the context switch before the exit too */
	uint64_t total = atomic_fetch_add(&c->events, n) + n;

	v->counted = v->events;

	atomic_fetch_add(&c->exits, 1);
	if (c->event_limit && total >= c->event_limit)
		atomic_store(&c->stop, 1);
}

/* ---- flushing ------------------------------------------------------------ */

/* Events in the stream's chunk not handed to the writer yet, or a loss
 * not reported yet. */
static int buffered(const hvlog_stream *s)
{
	return s->nrec != 0 || s->lost != 0;
}

/* A VP's own stream, from its own thread, at trace time t. */
static void flush_vp(struct vp *v, uint64_t t)
{
	hvlog_stream_flush(v->s);
	v->last_flush = t;
}

/* Host clock, from the VP's own thread while it does not run its guest
 * (idle at HLT, waiting for a logical processor): its stream goes out
 * once the flush interval has passed since the last flush, trace time
 * being wall-clock time.  Returns when the next flush is due (ticks), or
 * UINT64_MAX when nothing waits to go out. */
static uint64_t flush_idle(struct vp *v, uint64_t t)
{
	struct core *c = v->c;

	if (!c->wall_flush || !buffered(v->s))
		return UINT64_MAX;
	if (t - v->last_flush < c->flush_ticks)
		return v->last_flush + c->flush_ticks;
	flush_vp(v, t);
	return buffered(v->s) ? t + c->flush_ticks : UINT64_MAX; /* (a full ring: later) */
}

/* Lock-stepped, holding the baton: every other VP waits for it (or has
 * ended), so their streams are this thread's to write.  Once the flush
 * interval of wall-clock time has passed since the last sweep, each VP's
 * stream with buffered events goes out, however long its VP has not had
 * the machine. */
static void sweep(struct core *c)
{
	uint64_t t = coarse_ns();

	if (t < c->next_sweep_ns)
		return;
	c->next_sweep_ns = t + c->flush_wall_ns;
	for (unsigned i = 0; i < c->nvps; i++)
		if (buffered(c->all[i]->s))
			hvlog_stream_flush(c->all[i]->s);
}

/* ---- devices ------------------------------------------------------------- */

static void serial_out(struct vp *v, uint8_t ch)
{
	if (!v->c->cfg->serial_echo)
		return;
	if (ch != '\n' && v->linelen < sizeof v->line - 1) {
		v->line[v->linelen++] = (char)ch;
		return;
	}
	pthread_mutex_lock(&v->c->serial_lock);
	fprintf(stderr, "[p%llu/vp%u] %.*s\n", (unsigned long long)v->p->id, v->index, (int)v->linelen, v->line);
	pthread_mutex_unlock(&v->c->serial_lock);
	v->linelen = 0;
}

static uint32_t pci_read(uint32_t addr)
{
	unsigned dev = (addr >> 11) & 31, reg = addr & 0xfc;
	static const uint32_t ids[] = { 0x12378086, 0x70008086, 0x100e8086 }; /* host bridge, ISA, NIC */
	if (!(addr & 0x80000000u) || (addr >> 16 & 0xff) || dev >= 3)
		return 0xffffffffu;
	return reg == 0 ? ids[dev] : 0;
}

/* Interrupt sources, by priority: the higher vector first. */
enum { IRQ_TIMER, IRQ_COM1, IRQ_NSOURCES };
static const uint8_t irq_vector[IRQ_NSOURCES] = { HV_TIMER_VECTOR, HV_COM1_VECTOR };

static uint64_t port_read(struct vp *v, uint16_t port)
{
	if (port >= HV_PORT_COM1 && port < HV_PORT_COM1 + 8) {
		uint8_t b;
		if (uart_read(&v->com1, port - HV_PORT_COM1, &b))
			v->irq_pending |= 1u << IRQ_COM1;
		return b;
	}
	switch (port) {
	case 0x71:
		return v->cmos_index == 0x0a ? 0x26 : 0;
	case 0xcfc:
		return pci_read(v->pci_addr);
	default:
		return 0xffffffffu;
	}
}

static void port_write(struct vp *v, uint16_t port, uint64_t value)
{
	if (port >= HV_PORT_COM1 && port < HV_PORT_COM1 + 8) {
		int sent;
		if (uart_write(&v->com1, port - HV_PORT_COM1, (uint8_t)value, &sent))
			v->irq_pending |= 1u << IRQ_COM1;
		if (sent >= 0)
			serial_out(v, (uint8_t)sent);
		return;
	}
	switch (port) {
	case 0x70:
		v->cmos_index = (uint8_t)value;
		break;
	case 0xcf8:
		v->pci_addr = (uint32_t)value;
		break;
	case 0x40: /* one-shot timer: fire now */
		v->timer_deadline = v->now ? v->now : 1;
		break;
	}
}

/* Virtual TLB of the partition, as the events of the GVA group describe it:
 * it grows when full, shrinks on a flush when mostly empty. */
static void vtlb_add(struct vp *v)
{
	if (++v->vtlb_used <= v->vtlb_cap || v->vtlb_cap >= VTLB_MAX)
		return;
	EMIT(v, GVA, hvlog_emit_am_gva_grow_virtual_tlb(v->s, v->now, v->vtlb_cap, v->vtlb_cap * 2));
	v->vtlb_cap *= 2;
}

static void vtlb_flush(struct vp *v)
{
	EMIT(v, GVA, hvlog_emit_am_gva_flush_virtual_tlb(v->s, v->now, v->p->id));
	if (v->vtlb_cap > VTLB_MIN && v->vtlb_used < v->vtlb_cap / 4) {
		unsigned n = v->vtlb_cap / 2;
		EMIT(v, GVA, hvlog_emit_am_gva_shrink_virtual_tlb(v->s, v->now, v->vtlb_cap, n, n - v->vtlb_used));
		v->vtlb_cap = n;
	}
	v->vtlb_used = 0;
}

/* ---- MSRs and CPUID ------------------------------------------------------- */

/* The partition's reference time (HV_X64_MSR_TIME_REF_COUNT), in 100 ns
 * units, as Hyper-V's reference TSC page defines it: the guest's TSC
 * scaled by the TSC's rate (measured at start under kvm, the virtual
 * 1 GHz under sim), plus the partition's reference-time offset, the two
 * values HV_TR_PT_REFERENCE_TIME announces.  It was once the trace ticks
 * over 100: right only for a 1 GHz clock, 2.4 times too fast on a
 * 2.4 GHz TSC. */
static uint64_t reference_time(const struct vp *v)
{
	return (uint64_t)((unsigned __int128)(v->now + v->p->tsc_offset) * 10000000u / v->c->hz) + v->p->ref_offset;
}

/* 0 and *value, or -1: the MSR does not exist (#GP). */
static int msr_read(struct vp *v, uint32_t index, uint64_t *value)
{
	switch (index) {
	case HVLOG_MSR_IA32_TIME_STAMP_COUNTER: *value = v->now + v->p->tsc_offset; return 0; /* the guest's TSC */
	case HVLOG_MSR_IA32_PLATFORM_ID: *value = 0; return 0;
	case HVLOG_MSR_IA32_FEATURE_CONTROL: *value = 5; return 0; /* locked, VMX outside SMX */
	case HVLOG_MSR_IA32_TSC_DEADLINE:
		*value = v->timer_deadline ? v->timer_deadline + v->p->tsc_offset : 0;
		return 0;
	case HVLOG_MSR_IA32_APIC_BASE:
	case HVLOG_MSR_IA32_EFER: /* the CPU's own, else what the core gave it */
		if (v->c->be->cpu_msr(v->vcpu, index, value) != 0)
			*value = index == HVLOG_MSR_IA32_EFER ? HV_GUEST_EFER : v->apic_base;
		return 0;
	case HVLOG_MSR_HV_X64_MSR_TSC_FREQUENCY: *value = v->c->hz; return 0;
	case HVLOG_MSR_HV_X64_MSR_GUEST_OS_ID:
	case HVLOG_MSR_HV_X64_MSR_HYPERCALL:
		pthread_mutex_lock(&v->p->msr_lock);
		*value = index == HVLOG_MSR_HV_X64_MSR_GUEST_OS_ID ? v->p->guest_os_id : v->p->hypercall_msr;
		pthread_mutex_unlock(&v->p->msr_lock);
		return 0;
	case HVLOG_MSR_HV_X64_MSR_VP_INDEX: *value = v->index; return 0;
	case HVLOG_MSR_HV_X64_MSR_TIME_REF_COUNT: *value = reference_time(v); return 0;
	default: return -1;
	}
}

static int msr_write(struct vp *v, uint32_t index, uint64_t value)
{
	switch (index) {
	case HVLOG_MSR_IA32_APIC_BASE:
	case HVLOG_MSR_IA32_X2APIC_EOI:
	case HVLOG_MSR_IA32_X2APIC_ICR: /* IPIs: a self NMI is sent (handle_exit), others go nowhere */
		return 0;
	case HVLOG_MSR_IA32_TSC_DEADLINE: /* the guest's next timer, in its TSC; 0 disarms */
		v->timer_deadline = value ? value - v->p->tsc_offset : 0;
		if (value && !v->timer_deadline)
			v->timer_deadline = 1;
		return 0;
	case HVLOG_MSR_HV_X64_MSR_GUEST_OS_ID:
		pthread_mutex_lock(&v->p->msr_lock);
		v->p->guest_os_id = value;
		pthread_mutex_unlock(&v->p->msr_lock);
		return 0;
	case HVLOG_MSR_HV_X64_MSR_HYPERCALL:
		/* the hypercall page is the partition's: written once per change */
		pthread_mutex_lock(&v->p->msr_lock);
		if ((value & 1) && value != v->p->hypercall_msr)
			guest_hypercall_page(v->p->mem, value & ~0xfffull);
		v->p->hypercall_msr = value;
		pthread_mutex_unlock(&v->p->msr_lock);
		return 0;
	default:
		return -1;
	}
}

/* An x2APIC ICR value that sends an NMI (delivery mode 4) to the sender
 * itself (destination shorthand 1). */
static int is_self_nmi(uint64_t icr)
{
	return (icr >> 8 & 7) == 4 && (icr >> 18 & 3) == 1;
}

/* The machine's CPUID, the same on every backend (kvm gets it with
 * KVM_SET_CPUID2, the sim's CPUID exits are answered from it).  Leaf 1:
 * family 6 model 0x8e, the APIC ID (patched per VP), FPU TSC MSR PAE APIC,
 * x2APIC, TSC deadline, hypervisor present; 0x80000001: long mode. */
static const struct hv_cpuid_leaf machine_cpuid[] = {
	{ 0, 0, { 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 } },   /* GenuineIntel */
	{ 1, 0, { 0x806ec, 0, 1u << 31 | 1u << 24 | 1u << 21, 1u << 9 | 1u << 6 | 1u << 5 | 1u << 4 | 1u } },
	{ 0x40000000, 0, { 0x40000005, 0x7263694d, 0x666f736f, 0x76482074 } }, /* Microsoft Hv */
	{ 0x40000001, 0, { 0x31237648, 0, 0, 0 } },                          /* Hv#1 */
	{ 0x80000000, 0, { 0x80000001, 0, 0, 0 } },
	{ 0x80000001, 0, { 0, 0, 0, 1u << 29 } },
};

static void vp_cpuid(struct vp *v)
{
	v->ncpuid = sizeof machine_cpuid / sizeof machine_cpuid[0];
	memcpy(v->cpuid, machine_cpuid, sizeof machine_cpuid);
	for (unsigned i = 0; i < v->ncpuid; i++)
		if (v->cpuid[i].leaf == 1)
			v->cpuid[i].r[1] |= (v->index & 0xffu) << 24;
}

static void cpuid_answer(const struct vp *v, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	memset(out, 0, 16);
	for (unsigned i = 0; i < v->ncpuid; i++)
		if (v->cpuid[i].leaf == leaf && v->cpuid[i].sub == sub)
			memcpy(out, v->cpuid[i].r, 16);
}

/* ---- interrupts and time ------------------------------------------------- */

/* Deliver the pending interrupts, the highest vector first, as many as
 * the backend takes (one per entry: the rest wait for a window, which the
 * backend asks for).  The event carries the vector the backend injected.
 * Returns how many went in. */
static int deliver_irqs(struct vp *v)
{
	struct core *c = v->c;
	int n = 0;

	for (int src = IRQ_NSOURCES - 1; src >= 0; src--) {
		if (!(v->irq_pending >> src & 1))
			continue;
		if (!c->be->inject_irq(v->vcpu, irq_vector[src]))
			break;
		EMIT(v, INTERRUPT, hvlog_emit_im_external_interrupt(v->s, v->now, irq_vector[src]));
		v->irq_pending &= ~(1u << src);
		n++;
	}
	v->irq_held = v->irq_pending != 0;
	return n;
}

static void deliver_timer(struct vp *v)
{
	v->irq_pending |= 1u << IRQ_TIMER;
	deliver_irqs(v);
}

/* HLT: idle until the deadline.  A virtual clock jumps there; on a host
 * clock the thread sleeps, then polls the last SPIN_NS, like KVM's halt
 * polling: on a loaded host a sleeping thread's wake-up comes milliseconds
 * late (measured: median 0.5 ms, p90 7 ms at load 11 on 2 CPUs, against
 * 20 us for a running one).  Returns the ticks spent idle. */
static uint64_t idle_until(struct vp *v, uint64_t deadline)
{
	struct core *c = v->c;
	uint64_t from = v->now;

	if (deadline <= v->now)
		return 0;
	if (c->virt) {
		v->now = deadline;
		return deadline - from;
	}
	uint64_t spin = ns_to_ticks(c, SPIN_NS), t;
	while ((t = c->be->now()) < deadline && !atomic_load(&c->stop)) {
		/* Sleep to the last SPIN_NS, or to the stream's next flush (an
		 * idle VP's events still reach a live reader on time), and at
		 * most a slice, so that the end of the run (--duration) is
		 * noticed by a VP that idles for longer. */
		uint64_t wake = deadline - t > spin ? deadline - spin : t, due = flush_idle(v, t);
		if (c->end_ticks && t >= c->end_ticks) {
			atomic_store(&c->stop, 1);
			break;
		}
		if (due < wake)
			wake = due;
		if (wake > t) {
			uint64_t ns = ticks_to_ns(c, wake - t);
			if (ns > IDLE_SLICE_NS)
				ns = IDLE_SLICE_NS;
			struct timespec d = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
			nanosleep(&d, NULL);
		}
	}
	v->now = c->be->now();
	return v->now - from;
}

/* Keep the backend's kick on the armed deadline, so that a guest that runs
 * without exiting still gets its timer; and, on a host clock, on the end
 * of the run (--duration), so that it still stops (a kernel decompressing
 * itself runs for seconds without an exit). */
static void arm_kick(struct vp *v)
{
	struct core *c = v->c;
	uint64_t want = v->irq_held ? 0 : v->timer_deadline;

	if (c->end_ticks && (!want || c->end_ticks < want))
		want = c->end_ticks;
	/* and on the stream's next flush, when the guest runs past it
	 * without an exit (the flush after this exit moves it on) */
	if (c->wall_flush && !c->virt && buffered(v->s)) {
		uint64_t due = v->last_flush + c->flush_ticks;
		if (due <= v->now)
			due = v->now + c->flush_ticks;
		if (!want || due < want)
			want = due;
	}

	if (want == v->kick_armed)
		return;
	uint64_t in_ns = want > v->now ? ticks_to_ns(c, want - v->now) : 0;
	if (c->be->kick_at(v->vcpu, want, in_ns) == 0)
		v->kick_armed = want;
}

/* Handling an intercept took `cost` ns (measured on a host clock, modelled
 * on a virtual one); report it when over the thresholds. */
static void overrun_check(struct vp *v, const struct hv_exit *e, uint64_t cost_ns, uint32_t call_code)
{
	if (cost_ns < OVERRUN_NS)
		return;
	uint64_t ticks = ns_to_ticks(v->c, cost_ns);
	if (cost_ns >= OVERRUN500_NS) {
		EMIT(v, KERNEL, hvlog_emit_ke_overrun500(v->s, v->now, ticks, e->kind, 1, call_code));
		EMIT(v, KERNEL, hvlog_emit_ke_overrun500_params(v->s, v->now, e->rip, e->addr, e->data, e->port));
	} else {
		EMIT(v, KERNEL, hvlog_emit_ke_overrun(v->s, v->now, ticks, e->kind, 1, call_code));
		EMIT(v, KERNEL, hvlog_emit_ke_overrun_params(v->s, v->now, e->rip, e->addr, e->data, e->port));
	}
}

/* ---- exits --------------------------------------------------------------- */

/* Which exit a reported event stands for, so that a backend that saw the
 * exit itself does not count it twice. */
static int report_kind(unsigned event)
{
	switch (event) {
	case HVLOG_EV_IM_CPUID_INSTRUCTION: return HV_EXIT_CPUID;
	case HVLOG_EV_IM_CR_READ: return HV_EXIT_CR_READ;
	case HVLOG_EV_IM_CR_WRITE: return HV_EXIT_CR_WRITE;
	case HVLOG_EV_IM_INVLPG_INSTRUCTION: return HV_EXIT_INVLPG;
	case HVLOG_EV_IM_INVD_INSTRUCTION: return HV_EXIT_INVD;
	case HVLOG_EV_IM_MWAIT_INSTRUCTION: return HV_EXIT_MWAIT;
	case HVLOG_EV_IM_DR_ACCESS: return HV_EXIT_DR;
	case HVLOG_EV_IM_EMULATED_INSTRUCTION: return HV_EXIT_MONITOR;
	default: return -1;
	}
}

static void report(struct vp *v)
{
	const hvlog_schema *schema = hvlog_schema_builtin();
	struct hv_regs r;
	const hvlog_event *ev;
	int kind;

	if (v->c->be->get_regs(v->vcpu, &r) != 0)
		return;
	ev = hvlog_schema_find_event(schema, (uint32_t)r.gpr[RAX]);
	kind = report_kind((unsigned)r.gpr[RAX]);
	if (!ev)
		return;
	if (kind >= 0 && v->seen[kind] && v->seen_rip[kind] == r.gpr[RBX]) {
		v->seen[kind] = 0; /* the backend saw it: already an event */
		return;
	}
	uint64_t p[HVLOG_MAX_PARAMS] = { r.gpr[RBX], r.gpr[RSI], r.gpr[R8], r.gpr[R9], r.gpr[R10] };
	v->events++;
	RECORD(v->s, schema->groups[ev->group].mask, v->recorded, hvlog_emit(v->s, v->now, ev, p));
	/* what the reported instruction does to the core's state */
	if (ev->number == HVLOG_EV_IM_CR_WRITE && r.gpr[RSI] == HVLOG_CR_CR3)
		vtlb_flush(v);
	else if (ev->number == HVLOG_EV_IM_INVLPG_INSTRUCTION)
		vtlb_add(v);
}

static void hypercall(struct vp *v, struct hv_exit *e, uint64_t *cost_ns, uint32_t *code)
{
	static const uint16_t known[] = { 0x0002, 0x0003, 0x0008, 0x0013, 0x0014, 0x004e, 0x005c, 0x005d };
	struct hv_regs r;
	uint64_t input = 0;

	if (v->c->be->get_regs(v->vcpu, &r) == 0)
		input = r.gpr[RCX];
	*code = (uint16_t)input;
	e->data = HVLOG_HV_STATUS_INVALID_HYPERCALL_CODE;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (known[i] == *code)
			e->data = HVLOG_HV_STATUS_SUCCESS;
	/* a rep hypercall costs per element: flushing 3 address spaces takes long */
	*cost_ns += ((input >> 32) & 0xfff) * 20000;
	EMIT(v, HYPERCALL, hvlog_emit_hc_hypercall(v->s, v->now, e->rip, input));
}

/* Handle one exit: emulate, emit its events, decide what comes next.
 * Returns 0 to go on, 1 when the VP is finished. */
static int handle_exit(struct vp *v, struct hv_exit *e)
{
	struct core *c = v->c;
	uint64_t t0 = c->virt ? 0 : c->be->now();
	uint64_t cost_ns = c->be->exit_cost_ns; /* the model, on a virtual clock */
	uint32_t call_code = e->port;
	uint64_t value;

	v->now = e->tsc;
	v->seen[e->kind] = 1;
	v->seen_rip[e->kind] = e->rip;
	switch (e->kind) {
	case HV_EXIT_IO:
		if (e->port == HV_PORT_REPORT) {
			report(v);
			break;
		}
		if (e->port == HV_PORT_DONE)
			return 1;
		if (e->port == HV_PORT_HYPERCALL && !e->write) {
			hypercall(v, e, &cost_ns, &call_code);
			break;
		}
		if (e->write) {
			EMIT(v, INTERRUPT, hvlog_emit_im_io_port_write(v->s, v->now, e->rip, e->port, (uint32_t)e->data));
			port_write(v, e->port, e->data);
		} else {
			e->data = port_read(v, e->port) & (e->size == 4 ? 0xffffffffu : (1u << (8 * e->size)) - 1);
			EMIT(v, INTERRUPT, hvlog_emit_im_io_port_read(v->s, v->now, e->rip, e->port, (uint32_t)e->data));
			if (e->port == 0xcfc)
				cost_ns = 2000;
		}
		break;
	case HV_EXIT_MMIO:
		if (!e->write)
			e->data = 1; /* device status: ready */
		EMIT(v, INTERRUPT, hvlog_emit_im_memory_intercept(v->s, v->now, e->rip, e->addr, e->write ? 1 : 0));
		vtlb_add(v);
		break;
	case HV_EXIT_HLT:
		EMIT(v, INTERRUPT, hvlog_emit_im_hlt_instruction(v->s, v->now, e->rip));
		/* an interrupt already waiting ends the halt at once */
		if (v->irq_pending && deliver_irqs(v))
			break;
		/* idle until the guest's deadline, or the core's own timer */
		if (!v->timer_deadline)
			v->timer_deadline = v->now + ns_to_ticks(c, TIMER_PERIOD_NS);
		t0 += idle_until(v, v->timer_deadline); /* idling is not handling */
		/* A stop wakes the idle VP before its deadline: the timer has
		 * not fired, so no interrupt (one was once reported 284 us
		 * before the deadline the guest programmed). */
		if (v->now >= v->timer_deadline) {
			v->timer_deadline = 0;
			deliver_timer(v);
		}
		break;
	case HV_EXIT_MSR_READ:
		e->fault = msr_read(v, (uint32_t)e->addr, &value) != 0;
		e->data = e->fault ? 0 : value;
		EMIT(v, INTERRUPT, hvlog_emit_im_msr_read(v->s, v->now, e->rip, (uint32_t)e->addr, e->data));
		if (e->fault)
			EMIT(v, INTERRUPT, hvlog_emit_im_reflected_exception(v->s, v->now, e->rip, HVLOG_EXCEPTION_GP));
		break;
	case HV_EXIT_MSR_WRITE:
		EMIT(v, INTERRUPT, hvlog_emit_im_msr_write(v->s, v->now, e->rip, (uint32_t)e->addr, e->data));
		e->fault = msr_write(v, (uint32_t)e->addr, e->data) != 0;
		if (e->fault)
			EMIT(v, INTERRUPT, hvlog_emit_im_reflected_exception(v->s, v->now, e->rip, HVLOG_EXCEPTION_GP));
		else if (e->addr == HVLOG_MSR_IA32_X2APIC_ICR && is_self_nmi(e->data) && c->be->inject_nmi(v->vcpu) == 0)
			/* taken before the instruction after the WRMSR (2 bytes) */
			EMIT(v, INTERRUPT, hvlog_emit_im_nmi_interrupt(v->s, v->now, e->rip + 2));
		break;
	case HV_EXIT_CPUID:
		EMIT(v, INTERRUPT, hvlog_emit_im_cpuid_instruction(v->s, v->now, e->rip, e->cpuid[0], e->cpuid[2]));
		cpuid_answer(v, e->cpuid[0], e->cpuid[2], e->cpuid);
		break;
	case HV_EXIT_CR_READ:
		EMIT(v, INTERRUPT, hvlog_emit_im_cr_read(v->s, v->now, e->rip, (uint8_t)e->addr, e->data));
		break;
	case HV_EXIT_CR_WRITE:
		EMIT(v, INTERRUPT, hvlog_emit_im_cr_write(v->s, v->now, e->rip, (uint8_t)e->addr, e->data));
		if (e->addr == HVLOG_CR_CR3)
			vtlb_flush(v);
		break;
	case HV_EXIT_INVLPG:
		EMIT(v, INTERRUPT, hvlog_emit_im_invlpg_instruction(v->s, v->now, e->rip, e->addr));
		vtlb_add(v);
		break;
	case HV_EXIT_MWAIT:
		EMIT(v, INTERRUPT, hvlog_emit_im_mwait_instruction(v->s, v->now, e->rip, e->cpuid[2], e->cpuid[0]));
		break;
	case HV_EXIT_INVD:
		EMIT(v, INTERRUPT, hvlog_emit_im_invd_instruction(v->s, v->now, e->rip));
		break;
	case HV_EXIT_MONITOR: /* emulated: it arms nothing a guest of ours waits on */
		EMIT(v, INTERRUPT, hvlog_emit_im_emulated_instruction(v->s, v->now, e->rip));
		break;
	case HV_EXIT_DR: /* the value read or written stands */
		EMIT(v, INTERRUPT, hvlog_emit_im_dr_access(v->s, v->now, e->rip));
		break;
	case HV_EXIT_SHUTDOWN:
		EMIT(v, INTERRUPT, hvlog_emit_im_guest_shutdown(v->s, v->now, e->rip));
		return 1;
	case HV_EXIT_IRQ_WINDOW:
		EMIT(v, INTERRUPT, hvlog_emit_im_interrupt_pending(v->s, v->now, e->rip));
		deliver_irqs(v);
		break;
	case HV_EXIT_KICK: /* the timer below; nothing else happened */
		v->kick_armed = 0;
		break;
	default:
		break;
	}
	/* a timer that came due while the guest ran */
	if (v->timer_deadline && v->now >= v->timer_deadline && e->kind != HV_EXIT_HLT && !v->irq_held) {
		v->timer_deadline = 0;
		deliver_timer(v);
	}
	/* a device's request (COM1) during this exit */
	if (v->irq_pending && !v->irq_held)
		deliver_irqs(v);
	arm_kick(v);
	if (c->virt) {
		v->resume = v->now + 1 + ns_to_ticks(c, cost_ns);
		c->be->set_clock(v->vcpu, v->resume);
		overrun_check(v, e, cost_ns, call_code);
	} else {
		overrun_check(v, e, (uint64_t)((double)(c->be->now() - t0) * 1e9 / (double)c->hz), call_code);
	}
	return 0;
}

/* ---- scheduling ------------------------------------------------------------ */

static void switch_in(struct vp *v)
{
	struct core *c = v->c;

	if (c->virt) {
		v->now = c->global_now;
		c->be->set_clock(v->vcpu, v->now);
	} else {
		v->now = c->be->now();
	}
	arm_kick(v);
	EMIT(v, SCHEDULER, hvlog_emit_sch_context_switch(v->s, v->now, v->p->id, v->thread_id, v->p->tsc_offset));
}

/* Lock-stepped, under c->lock: wake the VP whose turn it is (only it, so a
 * hand-over costs one wake-up whatever the number of VPs), or all of them
 * to end. */
static void wake_turn(struct core *c)
{
	if (c->current >= 0)
		pthread_cond_signal(&c->all[c->current]->turn);
	else
		for (unsigned i = 0; i < c->nvps; i++)
			pthread_cond_signal(&c->all[i]->turn);
}

/* Two ways for VPs to share the machine: each turn begins with begin()
 * (0: the VP is to end) and ends with end(). */
struct sched {
	unsigned (*begin)(struct vp *v);
	void (*end)(struct vp *v);
};

/* Lock-stepped: pass the baton to a VP drawn from the seed (or end). */
static void lockstep_end(struct vp *v)
{
	struct core *c = v->c;
	unsigned runnable[G_MAX_VPS * 16], n = 0;

	pthread_mutex_lock(&c->lock);
	if (v->resume > c->global_now)
		c->global_now = v->resume;
	c->global_now += 500; /* the switch itself */
	for (unsigned i = 0; i < c->nvps && n < sizeof runnable / sizeof runnable[0]; i++)
		if (!atomic_load(&c->all[i]->done))
			runnable[n++] = i;
	c->current = n && !atomic_load(&c->stop) ? (int)runnable[rng_next(&c->rng) % n] : -1;
	wake_turn(c);
	pthread_mutex_unlock(&c->lock);
}

/* Wait for the baton; the quantum is drawn while holding it. */
static unsigned lockstep_begin(struct vp *v)
{
	struct core *c = v->c;

	pthread_mutex_lock(&c->lock);
	while (c->current != (int)v->global && c->current != -1)
		pthread_cond_wait(&v->turn, &c->lock);
	int mine = c->current == (int)v->global;
	pthread_mutex_unlock(&c->lock);
	if (!mine)
		return 0;
	if (!c->be->quantum_spread)
		return c->be->quantum;
	return c->be->quantum + (unsigned)(rng_next(&c->rng) % c->be->quantum_spread);
}

/* Free running: a logical processor from the pool for the quantum. */
static unsigned free_begin(struct vp *v)
{
	struct core *c = v->c;
	uint64_t t, due;

	/* waiting is idling: the stream goes out on time meanwhile */
	while ((due = flush_idle(v, t = c->be->now())) != UINT64_MAX) {
		struct timespec at;
		clock_gettime(CLOCK_REALTIME, &at); /* (sem_timedwait's clock) */
		uint64_t ns = (uint64_t)at.tv_nsec + ticks_to_ns(c, due - t);
		at.tv_sec += (time_t)(ns / 1000000000u);
		at.tv_nsec = (long)(ns % 1000000000u);
		if (sem_timedwait(&c->lps, &at) == 0)
			return c->be->quantum;
		if (errno != ETIMEDOUT && errno != EINTR)
			break;
	}
	while (sem_wait(&c->lps) != 0 && errno == EINTR)
		;
	return c->be->quantum;
}

static void free_end(struct vp *v)
{
	sem_post(&v->c->lps);
}

static const struct sched sched_lockstep = { lockstep_begin, lockstep_end };
static const struct sched sched_free = { free_begin, free_end };

static void *vp_thread(void *arg)
{
	struct vp *v = arg;
	struct core *c = v->c;
	struct hv_exit e;
	int finished = 0;

	while (!finished) {
		unsigned quantum = c->sched->begin(v);
		if (!quantum)
			break;
		if (atomic_load(&c->stop))
			finished = 1;
		else
			switch_in(v);
		for (unsigned q = 0; q < quantum && !finished; q++) {
			if (c->be->run(v->vcpu, &e, v->err, sizeof v->err) != 0) {
				v->failed = 1;
				finished = 1;
				break;
			}
			v->exits++;
			finished = handle_exit(v, &e);
			if (v->now >= v->next_profile) {
				EMIT(v, PROFILER, hvlog_emit_sch_profiler_sample(v->s, v->now, v->p->id, v->thread_id,
								      v->p->tsc_offset));
				v->next_profile = v->now + ns_to_ticks(c, PROFILE_NS);
			}
			if (c->w && v->mask_gen != atomic_load_explicit(&c->mask_gen, memory_order_acquire)) {
				/* what was recorded under the old mask goes out first:
				 * the change falls on a chunk boundary */
				v->mask_gen = atomic_load_explicit(&c->mask_gen, memory_order_acquire);
				hvlog_stream_flush(v->s);
				v->s->group_mask = atomic_load_explicit(&c->new_mask, memory_order_relaxed);
			}
			if (c->w && c->flush_ticks && v->now - v->last_flush >= c->flush_ticks)
				flush_vp(v, v->now);
			if (c->wall_flush && c->virt && (v->exits & 15) == 0)
				sweep(c);
			check_limits(v);
			if (atomic_load(&c->stop) ||
			    (c->deadline_ns && ((v->exits & 255) == 0 || e.kind == HV_EXIT_KICK) && mono_ns() >= c->deadline_ns)) {
				atomic_store(&c->stop, 1);
				finished = 1;
			}
		}
		if (finished) {
			atomic_store(&v->done, 1);
			/* its last events go out now, not at the end of the run
			 * (before the baton: the next VP may sweep the stream) */
			if (c->wall_flush)
				hvlog_stream_flush(v->s);
		}
		c->sched->end(v);
	}
	atomic_store(&v->done, 1);
	return NULL;
}

/* ---- set-up and teardown ------------------------------------------------- */

static hvlog_status discard(hvlog_stream *s)
{
	hvlog_chunk_restart(s);
	return HVLOG_OK;
}

/* The trace control event: hvcore's own, outside the built-in schema's
 * numbers and groups (docs/HVCORE.md), in the schema of a trace made with
 * --control only, so that any other trace keeps the built-in schema. */
#define HVCORE_EV_TRACE_CONTROL 0xff00u
#define HVCORE_GROUP_CONTROL (1ull << 63)

static const hvlog_param ctl_params[] = {
	{ "old_mask", "Old Mask", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
	{ "new_mask", "New Mask", HVLOG_TYPE_U64, HVLOG_DISPLAY_HEX, HVLOG_CODING_VARINT, NULL, HVLOG_ROLE_NONE },
};

/* The built-in schema and the trace control event; -1 if it cannot hold them. */
static int control_schema(struct core *c)
{
	const hvlog_schema *b = hvlog_schema_builtin();
	uint64_t used = 0;

	for (uint32_t i = 0; i < b->ngroups; i++)
		used |= b->groups[i].mask;
	if (b->ngroups >= 64 || b->nevents >= 512 || (used & HVCORE_GROUP_CONTROL) ||
	    hvlog_schema_find_event(b, HVCORE_EV_TRACE_CONTROL))
		return -1;
	memcpy(c->ctl_groups, b->groups, b->ngroups * sizeof *b->groups);
	c->ctl_groups[b->ngroups] = (hvlog_group){ "control", "hvcore Trace Control", HVCORE_GROUP_CONTROL };
	memcpy(c->ctl_events, b->events, b->nevents * sizeof *b->events);
	c->ctl_events[b->nevents] = (hvlog_event){ HVCORE_EV_TRACE_CONTROL, "HVCORE_TRACE_CONTROL",
						   "Trace Control (group mask changed)", b->ngroups, ctl_params, 2,
						   b->nslots };
	c->ctl_schema = *b;
	c->ctl_schema.groups = c->ctl_groups;
	c->ctl_schema.ngroups = b->ngroups + 1;
	c->ctl_schema.events = c->ctl_events;
	c->ctl_schema.nevents = b->nevents + 1;
	c->ctl_schema.nslots = b->nslots + 2;
	return 0;
}

static int make_streams(struct core *c, char *err, size_t errlen)
{
	const struct hvcore_config *cfg = c->cfg;
	hvlog_stream_info *info = calloc(c->nvps + 1, sizeof *info);
	char (*names)[32] = calloc(c->nvps + 1, sizeof *names);
	hvlog_error herr;
	int rc = -1;

	if (!info || !names)
		goto out;
	info[0] = (hvlog_stream_info){ "hv", 0, UINT32_MAX };
	for (unsigned i = 0; i < c->nvps; i++) {
		struct vp *v = c->all[i];
		snprintf(names[i + 1], sizeof names[i + 1], "p%llu/vp%u", (unsigned long long)v->p->id, v->index);
		info[i + 1] = (hvlog_stream_info){ names[i + 1], v->p->id, v->index };
	}
	if (cfg->output) {
		/* Provenance in the trace itself (FORMAT.md 3.2 props): the backend,
		 * the workload, and for each event of the schema where it comes from
		 * on this backend, as `hvcore --provenance` prints it. */
		const hvlog_schema *schema = hvlog_schema_builtin();
		hvlog_meta_prop *props = calloc(schema->nevents + 2, sizeof *props);
		char (*keys)[HVLOG_MAX_NAME + 1] = calloc(schema->nevents, sizeof *keys);
		uint32_t nprops = 0;
		if (!props || !keys) {
			free(props);
			free(keys);
			goto out;
		}
		props[nprops++] = (hvlog_meta_prop){ "hvcore.backend", c->be->name };
		props[nprops++] = (hvlog_meta_prop){ "hvcore.workload", workload_names[cfg->workload] };
		for (uint32_t i = 0; i < schema->nevents; i++) {
			const char *source, *how;
			if (hvcore_provenance(c->be, schema->events[i].number, &source, &how) != 0)
				continue;
			snprintf(keys[i], sizeof keys[i], "hvcore.provenance.%s", schema->events[i].symbol);
			props[nprops++] = (hvlog_meta_prop){ keys[i], source };
		}
		hvlog_writer_config wc = {
			.nstreams = c->nvps + 1, .streams = info, .clock_hz = c->hz,
			.clock_name = c->clock.clock_name, .producer = "hvcore " HVLOG_VERSION_STRING,
			.group_mask = cfg->group_mask, .clock_epoch_ns = c->clock.epoch_ns,
			.props = props, .nprops = nprops, .flush_interval_ns = cfg->flush_interval_ms * 1000000u,
			/* A reader at the other end of a pipe or socket that cannot
			 * keep up never makes the VPs wait (unless --block): their
			 * events are dropped, counted and reported as lost. */
			.nonblocking = !cfg->block && !output_is_file(cfg->output),
		};
		if (cfg->control) {
			if (control_schema(c) != 0) {
				free(props);
				free(keys);
				snprintf(err, errlen, "no room for the trace control event in the schema");
				goto out;
			}
			wc.schema = &c->ctl_schema;
		}
		hvlog_status st = strcmp(cfg->output, "-") ? hvlog_writer_open_path(&c->w, cfg->output, &wc, &herr)
							   : hvlog_writer_open_fd(&c->w, STDOUT_FILENO, &wc, &herr);
		free(props); /* (copied at open) */
		free(keys);
		if (st != HVLOG_OK) {
			snprintf(err, errlen, "%s: %s", cfg->output, herr.msg);
			goto out;
		}
		c->hv = hvlog_writer_stream(c->w, 0);
		if (cfg->control)
			c->hv->group_mask |= HVCORE_GROUP_CONTROL;
		for (unsigned i = 0; i < c->nvps; i++)
			c->all[i]->s = hvlog_writer_stream(c->w, i + 1);
	} else {
		/* Tracing off: streams that record no group, so every emit costs
		 * the one test a disabled group costs. */
		const hvlog_schema *s = hvlog_schema_builtin();
		c->null_streams = calloc(c->nvps + 1, sizeof *c->null_streams);
		c->null_bufs = malloc((size_t)(c->nvps + 1) * HVLOG_CHUNK_MIN);
		c->null_slots = calloc((size_t)(c->nvps + 1) * s->nslots, sizeof *c->null_slots);
		if (!c->null_streams || !c->null_bufs || !c->null_slots)
			goto out;
		for (unsigned i = 0; i <= c->nvps; i++)
			hvlog_stream_init(&c->null_streams[i], i, s, 0, c->null_bufs + (size_t)i * HVLOG_CHUNK_MIN,
					  HVLOG_CHUNK_MIN, c->null_slots + (size_t)i * s->nslots, discard, NULL);
		c->hv = &c->null_streams[0];
		for (unsigned i = 0; i < c->nvps; i++)
			c->all[i]->s = &c->null_streams[i + 1];
	}
	rc = 0;
out:
	if (rc && !*err)
		snprintf(err, errlen, "out of memory");
	free(info);
	free(names);
	return rc;
}

/* Whether a partition admits a VP of this index: Hyper-V's limit of VPs
 * per partition, the core's own.  Nothing is created when it refuses. */
static uint16_t vp_admit(unsigned index)
{
	return index < HV_MAX_VPS_PER_PARTITION ? HVLOG_HV_STATUS_SUCCESS : HVLOG_HV_STATUS_INVALID_VP_INDEX;
}

/* A VP's thread id in the trace, whether its creation succeeded or not:
 * partition p's VP i is 0x1000 + (p - 1) * 0x10000 + i, so the ids of one
 * partition (an index is at most 0xffff) never meet another's.  Created
 * VPs were once numbered by their order over all partitions and refused
 * ones by their index: partition 1's refused 65th VP and partition 2's
 * first were both 0x1040. */
static uint32_t vp_thread_id(const struct partition *p, unsigned index)
{
	return 0x1000u + (uint32_t)(p->id - 1) * 0x10000u + (index & 0xffffu);
}

static void vp_refuse(struct partition *p, unsigned index, uint16_t status)
{
	p->refused[p->nrefused++] = (struct refused){ index, status };
}

/* Partitions and VPs: memory, guest program, backend objects.  Their
 * creation events go to stream 0 afterwards (the streams need the VP list):
 * each status is the outcome of the attempt made here. */
static int create_machine(struct core *c, char *err, size_t errlen)
{
	const struct hvcore_config *cfg = c->cfg;
	unsigned vps = cfg->vps > HV_MAX_VPS_PER_PARTITION ? HV_MAX_VPS_PER_PARTITION : cfg->vps;
	uint64_t iterations = cfg->workload == WL_ALL ? 1 : 0;

	c->nparts = cfg->partitions;
	c->parts = calloc(c->nparts, sizeof *c->parts);
	c->all = calloc((size_t)c->nparts * vps, sizeof *c->all);
	if (!c->parts || !c->all)
		return snprintf(err, errlen, "out of memory"), -1;
	for (unsigned pi = 0; pi < c->nparts; pi++) {
		struct partition *p = &c->parts[pi];
		uint64_t entry;
		struct linux_entry lx = { 0 };

		p->id = pi + 1;
		pthread_mutex_init(&p->msr_lock, NULL);
		/* Guest TSC = trace clock: kvm_pvm ignores a vCPU's TSC offset
		 * (measured: a guest deadline computed from RDTSC came 2^32
		 * ticks late with an offset of -2^32), so the core claims none;
		 * both backends apply what is set here. */
		p->tsc_offset = 0;
		p->ref_offset = (uint64_t)(pi + 1) * 10000000ull;
		p->mem_size = cfg->kernel ? cfg->kernel->mem_size : G_MEM_SIZE;
		p->mem = mmap(NULL, p->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p->mem == MAP_FAILED) {
			p->mem = NULL;
			return snprintf(err, errlen, "guest memory: %s", strerror(errno)), -1;
		}
		if (cfg->kernel) { /* the kernel's boot protocol, not a program of ours */
			guest_tables(p->mem);
			if (linux_load(cfg->kernel, p->mem, &lx, err, errlen) != 0)
				return -1;
			entry = lx.rip;
		} else {
			entry = guest_build(p->mem, cfg->workload, iterations);
		}
		if (!entry)
			return snprintf(err, errlen, "the %s guest program does not fit", workload_names[cfg->workload]), -1;
		if (c->be->vm_create(&p->vm, p->mem, p->mem_size, err, errlen) != 0)
			return -1;
		p->vps = calloc(vps, sizeof *p->vps);
		p->refused = calloc(cfg->vps + 1, sizeof *p->refused);
		if (!p->vps || !p->refused)
			return snprintf(err, errlen, "out of memory"), -1;
		for (unsigned i = 0; i < cfg->vps; i++) {
			uint16_t st = vp_admit(i);
			if (st != HVLOG_HV_STATUS_SUCCESS) {
				vp_refuse(p, i, st);
				continue;
			}
			struct vp *v = &p->vps[p->nvps];
			*v = (struct vp){ .c = c, .p = p, .index = i, .global = c->nvps, .vtlb_cap = VTLB_MIN };
			v->thread_id = vp_thread_id(p, i);
			v->apic_base = HV_APIC_BASE_DEFAULT | HV_APIC_BASE_ENABLE | HV_APIC_BASE_EXTD |
				       (i == 0 ? HV_APIC_BASE_BSP : 0);
			vp_cpuid(v);
			uart_init(&v->com1, (const uint8_t *)cfg->serial_input, cfg->serial_input ? strlen(cfg->serial_input) : 0);
			struct hv_vcpu_init init = {
				.rip = entry, .rsp = G_STACKS + (i + 1) * G_STACK_SIZE, .cr3 = G_PML4,
				.gdt_base = G_GDT, .rdi = i, .efer = HV_GUEST_EFER, .apic_base = v->apic_base,
				.tsc_offset = p->tsc_offset, .cpuid = v->cpuid, .ncpuid = v->ncpuid,
			};
			if (cfg->kernel) {
				init.rsp = lx.rsp;
				init.rsi = lx.rsi;
				init.gdt_base = lx.gdt_base;
				init.gdt_limit = lx.gdt_limit;
				init.cs = lx.cs;
				init.ds = lx.ds;
			}
			if (c->be->vcpu_create(p->vm, i, &init, &v->vcpu, err, errlen) != 0) {
				/* the backend could not: that VP's creation failed, the others run */
				int e = errno;
				fprintf(stderr, "hvcore: p%llu VP %u not created: %s\n", (unsigned long long)p->id, i, err);
				*err = 0;
				vp_refuse(p, i, e == ENOMEM ? HVLOG_HV_STATUS_INSUFFICIENT_MEMORY : HVLOG_HV_STATUS_NO_RESOURCES);
				continue;
			}
			pthread_cond_init(&v->turn, NULL);
			p->nvps++;
			c->all[c->nvps++] = v;
		}
		/* `all` asks for a VP index no partition has */
		if (cfg->workload == WL_ALL && pi == 0 && vp_admit(0xffff) != HVLOG_HV_STATUS_SUCCESS)
			vp_refuse(p, 0xffff, vp_admit(0xffff));
	}
	return 0;
}

/* Delete a partition: its vCPUs and VM go; an unknown id is refused. */
static uint16_t partition_delete(struct core *c, uint64_t id)
{
	for (unsigned pi = 0; pi < c->nparts; pi++) {
		struct partition *p = &c->parts[pi];
		if (p->id != id || p->deleted)
			continue;
		for (unsigned i = 0; i < p->nvps; i++) {
			c->be->vcpu_destroy(p->vps[i].vcpu);
			p->vps[i].vcpu = NULL;
			HVEMIT(c, VP, hvlog_emit_vp_delete_vp(c->hv, hv_clock(c), p->id, p->vps[i].thread_id,
							      HVLOG_HV_STATUS_SUCCESS));
		}
		c->be->vm_destroy(p->vm);
		p->vm = NULL;
		p->deleted = 1;
		return HVLOG_HV_STATUS_SUCCESS;
	}
	return HVLOG_HV_STATUS_INVALID_PARTITION_ID;
}

static void announce(struct core *c)
{
	const struct hvcore_config *cfg = c->cfg;
	hvlog_stream *hv = c->hv;

	HVEMIT(c, PROFILER, hvlog_emit_profiler_hv_module(hv, hv_clock(c), c->clock.module_base, c->clock.module_size));
	for (unsigned pi = 0; pi < c->nparts; pi++) {
		struct partition *p = &c->parts[pi];
		HVEMIT(c, OBJECT, hvlog_emit_ob_create_partition(hv, hv_clock(c), p->id, HVLOG_HV_STATUS_SUCCESS));
		HVEMIT(c, PARTITION, hvlog_emit_pt_reference_time(hv, hv_clock(c), p->tsc_offset, p->ref_offset));
		for (unsigned i = 0; i < p->nvps; i++)
			HVEMIT(c, VP, hvlog_emit_vp_create_vp(hv, hv_clock(c), p->id, p->vps[i].thread_id, HVLOG_HV_STATUS_SUCCESS));
		/* more VPs than a partition may have: refused, like Hyper-V does */
		for (unsigned i = 0; i < p->nrefused; i++)
			HVEMIT(c, VP, hvlog_emit_vp_create_vp(hv, hv_clock(c), p->id, vp_thread_id(p, p->refused[i].index),
							      p->refused[i].status));
	}
	/* `all` deletes a partition that does not exist */
	if (cfg->workload == WL_ALL) {
		uint16_t st = partition_delete(c, 999); /* done whether or not OBJECT is recorded */
		HVEMIT(c, OBJECT, hvlog_emit_ob_delete_partition(hv, hv_clock(c), 999, st));
	}
}

static void retire(struct core *c)
{
	for (unsigned pi = 0; pi < c->nparts; pi++) {
		uint64_t id = c->parts[pi].id;
		uint16_t st = partition_delete(c, id); /* done whether or not OBJECT is recorded */
		HVEMIT(c, OBJECT, hvlog_emit_ob_delete_partition(c->hv, hv_clock(c), id, st));
	}
}

static void destroy_machine(struct core *c)
{
	for (unsigned pi = 0; c->parts && pi < c->nparts; pi++) {
		struct partition *p = &c->parts[pi];
		for (unsigned i = 0; p->vps && i < p->nvps; i++) {
			if (p->vps[i].vcpu)
				c->be->vcpu_destroy(p->vps[i].vcpu);
			pthread_cond_destroy(&p->vps[i].turn);
		}
		if (p->vm)
			c->be->vm_destroy(p->vm);
		if (p->mem)
			munmap(p->mem, p->mem_size);
		free(p->vps);
		free(p->refused);
		pthread_mutex_destroy(&p->msr_lock);
	}
	free(c->parts);
	free(c->all);
	free(c->null_streams);
	free(c->null_bufs);
	free(c->null_slots);
}

static void progress(struct core *c, uint64_t t0)
{
	double s = (double)(mono_ns() - t0) / 1e9;
	uint64_t ev = atomic_load(&c->events), ex = atomic_load(&c->exits);
	fprintf(stderr, "\rhvcore: %.1f s, %llu exits, %llu events (%.0f k events/s)   ", s,
		(unsigned long long)ex, (unsigned long long)ev, s > 0 ? (double)ev / s / 1e3 : 0.0);
}

/* --control: SIGUSR1 asks for the file to be read (by the main thread). */
static volatile sig_atomic_t control_requested;

static void on_usr1(int sig)
{
	(void)sig;
	control_requested = 1;
}

/* Read the control file: a group list (as --groups) or a mask (as
 * --group-mask); the VPs apply it at their next exit.  A bad file is
 * reported and changes nothing. */
static void apply_control(struct core *c)
{
	char line[1024] = "", *end;
	uint64_t mask;
	hvlog_error e;
	FILE *f = fopen(c->cfg->control, "r");

	if (!f || !fgets(line, sizeof line, f)) {
		fprintf(stderr, "hvcore: %s: %s\n", c->cfg->control, f ? "empty" : strerror(errno));
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = 0;
	mask = strtoull(line, &end, 0);
	if (*end || end == line || *line == '-') {
		if (hvlog_schema_parse_groups(hvlog_schema_builtin(), line, &mask, &e) != HVLOG_OK) {
			fprintf(stderr, "hvcore: %s: %s\n", c->cfg->control, e.msg);
			return;
		}
	}
	if (!mask) {
		fprintf(stderr, "hvcore: %s: a mask of no group\n", c->cfg->control);
		return;
	}
	if (c->w) { /* the hypervisor's own stream is the main thread's */
		const hvlog_event *ev = hvlog_schema_find_event(&c->ctl_schema, HVCORE_EV_TRACE_CONTROL);
		uint64_t p[HVLOG_MAX_PARAMS] = { c->mask, mask }, t;
		pthread_mutex_lock(&c->lock); /* (the sim's clock moves under it) */
		t = hv_clock(c);
		pthread_mutex_unlock(&c->lock);
		RECORD(c->hv, HVCORE_GROUP_CONTROL, c->hv_recorded, hvlog_emit(c->hv, t, ev, p));
		c->hv->group_mask = mask | HVCORE_GROUP_CONTROL;
		hvlog_stream_flush(c->hv); /* a live reader sees it now */
	}
	c->mask = mask;
	atomic_store_explicit(&c->new_mask, mask, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->mask_gen, 1, memory_order_release);
	fprintf(stderr, "hvcore: recording the groups of mask 0x%llx from each VP's next exit\n", (unsigned long long)mask);
}

int hvcore_run(const struct hvcore_config *cfg, struct hvcore_result *res, char *err, size_t errlen)
{
	struct core c = { .cfg = cfg, .be = cfg->backend, .current = -1 };
	uint64_t t0;
	int rc = -1, threads_started = 0;

	memset(res, 0, sizeof *res);
	*err = 0;
	if (cfg->control) { /* first, so that a SIGUSR1 soon after the start finds it */
		struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	c.virt = c.be->now == NULL;
	c.sched = c.virt ? &sched_lockstep : &sched_free;
	c.rng = cfg->seed;
	c.event_limit = cfg->events;
	c.mask = cfg->group_mask ? cfg->group_mask : UINT64_MAX;
	atomic_init(&c.events, 0);
	atomic_init(&c.exits, 0);
	atomic_init(&c.stop, 0);
	pthread_mutex_init(&c.lock, NULL);
	pthread_mutex_init(&c.serial_lock, NULL);
	sem_init(&c.lps, 0, cfg->lps ? cfg->lps : 1);

	if (c.be->probe(err, errlen) != 0)
		goto out;
	c.be->clock_info(&c.clock);
	c.hz = c.clock.hz;
	c.flush_ticks = ns_to_ticks(&c, cfg->flush_interval_ms * 1000000u);
	c.flush_wall_ns = cfg->flush_interval_ms * 1000000u;
	c.wall_flush = cfg->output && c.flush_ticks && !(c.virt && output_is_file(cfg->output));
	/* A descriptor kept for the trace file: when the process runs out of
	 * them, VP creation fails (and the trace says so), not the trace. */
	int spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int made = create_machine(&c, err, errlen);
	if (spare >= 0)
		close(spare);
	if (made != 0 || make_streams(&c, err, errlen) != 0)
		goto out;
	announce(&c);
	if (c.wall_flush) /* the announcements go out before any VP's event */
		hvlog_stream_flush(c.hv);
	for (unsigned i = 0; i < c.nvps; i++)
		c.all[i]->next_profile = 0;

	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (cfg->control) /* the main thread takes it; the VP threads (started with it blocked) are never interrupted */
		pthread_sigmask(SIG_BLOCK, &usr1, &old);
	t0 = mono_ns();
	if (cfg->duration > 0) {
		c.deadline_ns = t0 + (uint64_t)(cfg->duration * 1e9);
		if (!c.virt)
			c.end_ticks = c.be->now() + ns_to_ticks(&c, (uint64_t)(cfg->duration * 1e9));
	}
	if (c.virt && c.nvps)
		c.current = (int)(rng_next(&c.rng) % c.nvps);
	for (unsigned i = 0; i < c.nvps; i++) {
		if (pthread_create(&c.all[i]->thread, NULL, vp_thread, c.all[i]) != 0) {
			snprintf(err, errlen, "cannot start a VP thread: %s", strerror(errno));
			atomic_store(&c.stop, 1);
			pthread_mutex_lock(&c.lock);
			c.current = -1;
			wake_turn(&c);
			pthread_mutex_unlock(&c.lock);
			break;
		}
		c.all[i]->started = 1;
		threads_started++;
	}
	if (cfg->control)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (cfg->progress || cfg->control) {
		for (unsigned tick = 0;; tick++) {
			int running = 0;
			for (unsigned i = 0; i < c.nvps; i++)
				running |= c.all[i]->started && !atomic_load(&c.all[i]->done);
			if (!running)
				break;
			if (cfg->control && control_requested) {
				control_requested = 0;
				apply_control(&c);
			}
			if (cfg->progress && tick % 4 == 0)
				progress(&c, t0);
			struct timespec d = { 0, 50000000 };
			nanosleep(&d, NULL);
		}
	}
	for (unsigned i = 0; i < c.nvps; i++)
		if (c.all[i]->started)
			pthread_join(c.all[i]->thread, NULL);
	res->seconds = (double)(mono_ns() - t0) / 1e9;
	if (cfg->progress) {
		progress(&c, t0);
		fputc('\n', stderr);
	}
	if (threads_started == (int)c.nvps)
		rc = 0;
	for (unsigned i = 0; i < c.nvps; i++)
		if (c.all[i]->failed) {
			res->vps_failed++;
			if (!*err)
				snprintf(err, errlen, "p%llu/vp%u: %s", (unsigned long long)c.all[i]->p->id,
					 c.all[i]->index, c.all[i]->err);
			rc = -1;
		}
	if (c.virt)
		c.global_now += 1000;
	retire(&c);
	res->exits = atomic_load(&c.exits);
	res->produced = atomic_load(&c.events);
	res->events = c.hv_recorded;
	for (unsigned i = 0; i < c.nvps; i++)
		res->events += c.all[i]->recorded;
	for (unsigned pi = 0; pi < c.nparts; pi++) {
		res->vps += c.parts[pi].nvps;
		if (c.parts[pi].nvps != c.parts[0].nvps)
			res->vps_uneven = 1;
	}
out:
	if (c.w) {
		hvlog_error herr;
		for (unsigned i = 0; i < c.nvps; i++)
			res->lost += hvlog_stream_lost_total(c.all[i]->s);
		hvlog_writer_stats ws;
		hvlog_writer_stats_get(c.w, &ws);
		hvlog_status st = hvlog_writer_close(c.w, &herr);
		res->write_errors = ws.write_errors;
		res->chunks_dropped = ws.chunks_dropped;
		res->events_dropped = ws.events_dropped;
		if (st == HVLOG_IO && rc == 0) {
			/* A failed write cost its chunk, not the run: the rest of
			 * the workload was traced; the caller says what was lost. */
			if (!res->write_errors)
				res->write_errors = 1; /* (one at close itself) */
			snprintf(res->write_error, sizeof res->write_error, "%s", herr.msg);
		} else if (st != HVLOG_OK && rc == 0) {
			snprintf(err, errlen, "%s: %s", cfg->output, herr.msg);
			rc = -1;
		}
	}
	destroy_machine(&c);
	sem_destroy(&c.lps);
	pthread_mutex_destroy(&c.lock);
	pthread_mutex_destroy(&c.serial_lock);
	return rc;
}
