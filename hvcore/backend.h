/*
 * backend.h - what the core needs from a CPU: run a virtual processor until
 * it exits, tell why, resume with the core's answer.
 *
 * Two backends implement it: `kvm` (real guests under /dev/kvm) and `sim`
 * (a deterministic interpreter of the same x86-64 guest code, with a
 * virtual TSC).  The core turns exits into events the same way for both,
 * so the traces of one guest program agree (but for timestamps).
 *
 * Guest model shared by both: 64-bit long mode from the first instruction,
 * flat segments, guest-physical RAM [0, mem_size) identity-mapped by page
 * tables the core builds at `cr3` (the sim ignores paging), an IDT the
 * guest loads itself with LIDT or the core gives in hv_vcpu_init.
 * Guest-physical addresses at or above HV_MMIO_BASE are device memory:
 * every access there exits as HV_EXIT_MMIO.
 */
#ifndef HVCORE_BACKEND_H
#define HVCORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "x86.h"

#define HV_MMIO_BASE 0x30000000ull  /* 768 MiB: device memory starts here */
#define HV_MMIO_END 0x40000000ull   /* the page tables map [0, 1 GiB) */

/* What a VP starts with, on both backends (CR0 as Linux sets it). */
#define HV_GUEST_CR0 (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG)
#define HV_GUEST_CR4 CR4_PAE
#define HV_GUEST_EFER (EFER_LME | EFER_LMA)
/* x2APIC enabled at the default base; the BSP bit only on VP 0. */
#define HV_APIC_BASE_DEFAULT 0xfee00000ull
#define HV_APIC_BASE_ENABLE (1ull << 11)
#define HV_APIC_BASE_EXTD (1ull << 10)
#define HV_APIC_BASE_BSP (1ull << 8)

enum hv_exit_kind {
	HV_EXIT_IO,         /* IN/OUT: port, size 1/2/4, write; data (core fills it for IN) */
	HV_EXIT_MMIO,       /* load/store at addr >= HV_MMIO_BASE: size, write, data */
	HV_EXIT_HLT,        /* HLT; the guest resumes after it */
	HV_EXIT_MSR_READ,   /* RDMSR: addr = index; core fills data or sets fault */
	HV_EXIT_MSR_WRITE,  /* WRMSR: addr = index, data = EDX:EAX; core may set fault */
	HV_EXIT_CPUID,      /* CPUID: cpuid[0] = EAX in, cpuid[2] = ECX in; core fills cpuid[0..3] */
	HV_EXIT_CR_READ,    /* MOV r, CRn: addr = n; data = current value (core may change it) */
	HV_EXIT_CR_WRITE,   /* MOV CRn, r: addr = n, data = value written */
	HV_EXIT_INVLPG,     /* INVLPG: addr = guest virtual address */
	HV_EXIT_MWAIT,      /* MWAIT: cpuid[0] = EAX (hint), cpuid[2] = ECX (extensions) */
	HV_EXIT_INVD,       /* INVD */
	HV_EXIT_SHUTDOWN,   /* triple fault; the VP cannot run again */
	HV_EXIT_IRQ_WINDOW, /* the guest can take the interrupt the core is holding */
	HV_EXIT_KICK,       /* the kick the core asked for (kick_at) stopped the guest; no instruction */
	HV_EXIT_DR,         /* MOV to/from DRn: addr = n, write; data = the value (read: the core may change it) */
	HV_EXIT_MONITOR,    /* MONITOR, which the hypervisor emulates (it arms nothing here): addr = RAX */
	HV_EXIT_COUNT
};

/* One exit.  The backend fills it in run(); the core handles it and may
 * write data/cpuid/fault; the next run() completes the exiting instruction
 * with those (an IN's value into AL/AX/EAX, RDMSR's into EDX:EAX, CPUID's
 * four registers, a #GP(0) instead when fault is set) and goes on. */
struct hv_exit {
	enum hv_exit_kind kind;
	uint64_t rip;       /* guest RIP of the exiting instruction */
	uint64_t tsc;       /* when: host TSC (kvm) or virtual TSC (sim) */
	uint16_t port;
	uint8_t size;
	uint8_t write;
	uint64_t addr;
	uint64_t data;
	uint32_t cpuid[4];  /* EAX, EBX, ECX, EDX */
	int fault;          /* set by the core: inject #GP(0) into the guest */
};

struct hv_regs {
	uint64_t gpr[X86_NGPR];    /* by enum x86_reg */
	uint64_t rip, rflags;
};

/* One CPUID answer: leaf, subleaf, EAX..EDX. */
struct hv_cpuid_leaf {
	uint32_t leaf, sub;
	uint32_t r[4];
};

struct hv_vcpu_init {
	uint64_t rip, rsp;      /* entry point and stack */
	uint64_t cr3;           /* page tables (kvm) */
	uint64_t gdt_base;      /* a GDT the core wrote: 0 null, 8 code64, 16 data */
	uint16_t gdt_limit;     /* 0: 23 (those three) */
	uint16_t cs, ds;        /* selectors (ds for DS, ES, FS, GS, SS); 0: 8 and 16 */
	uint64_t idt_base;      /* 0: none until the guest's LIDT */
	uint16_t idt_limit;
	uint64_t rdi;           /* first argument: the VP index */
	uint64_t rsi;           /* second argument (a Linux kernel: its boot_params) */
	/* What the guest sees, set into the CPU so that it is what the core
	 * traces: EFER, the guest TSC = clock + tsc_offset (exit->tsc stays
	 * the clock), and every CPUID answer (a leaf not listed reads 0). */
	uint64_t efer, apic_base;
	uint64_t tsc_offset;
	const struct hv_cpuid_leaf *cpuid;
	unsigned ncpuid;
};

struct hv_vm;
struct hv_vcpu;

/* What a trace made on this backend says about its clock and producer. */
struct hv_clock_info {
	const char *clock_name;   /* the trace's clock: "tsc", "sim" */
	uint64_t hz;              /* trace ticks per second */
	int64_t epoch_ns;         /* wall time (Unix ns) of tick 0; 0: not tied to the wall */
	uint64_t module_base;     /* the hypervisor image the trace announces */
	uint32_t module_size;
};

struct hv_backend {
	const char *name;
	/* Exits this backend sees (bit 1 << HV_EXIT_*), and those it sees
	 * on some hosts only (kvm: MWAIT where KVM cannot emulate it).  The
	 * guest also reports what it did through the report port (guest.h);
	 * the core uses a report only when the backend did not stop on that
	 * instruction itself.  provenance.c reads these masks. */
	uint64_t native, sometimes;
	/* 0 if the backend can run here; else -1 with a reason in err. */
	int (*probe)(char *err, size_t errlen);
	/* A VM over the core's guest memory `mem` (page aligned, mem_size bytes). */
	int (*vm_create)(struct hv_vm **out, void *mem, uint64_t mem_size, char *err, size_t errlen);
	void (*vm_destroy)(struct hv_vm *vm);
	int (*vcpu_create)(struct hv_vm *vm, unsigned index, const struct hv_vcpu_init *init,
			   struct hv_vcpu **out, char *err, size_t errlen);
	void (*vcpu_destroy)(struct hv_vcpu *v);
	/* Complete the previous exit (if any), run until the next one. 0, or -1
	 * with err set on a backend failure (not a guest fault). */
	int (*run)(struct hv_vcpu *v, struct hv_exit *exit, char *err, size_t errlen);
	int (*get_regs)(struct hv_vcpu *v, struct hv_regs *regs);
	/* Deliver external interrupt `vector` before the next instruction if
	 * the guest has interrupts enabled (returns 1); otherwise hold it, ask
	 * for an HV_EXIT_IRQ_WINDOW exit, and return 0. */
	int (*inject_irq)(struct hv_vcpu *v, uint8_t vector);
	/* Deliver an NMI (vector 2, whatever IF says) before the next
	 * instruction: 0, or -1 if the backend cannot (kvm: KVM_NMI). */
	int (*inject_nmi)(struct hv_vcpu *v);
	/* The value of an MSR the CPU itself holds (EFER): 0, or -1 if the
	 * backend keeps no such register (the core answers from its model). */
	int (*cpu_msr)(struct hv_vcpu *v, uint32_t index, uint64_t *value);
	/* Stop the guest with HV_EXIT_KICK once the clock reaches `when`
	 * (trace ticks, `in_ns` from now; 0 disarms), even if it runs without exiting: the
	 * core's timer.  kvm: a POSIX timer signals the VP's thread, whose
	 * handler sets immediate_exit; sim: checked at every instruction
	 * boundary.  Call from the VP's thread, between run()s. */
	int (*kick_at)(struct hv_vcpu *v, uint64_t when, uint64_t in_ns);
	/* Virtual clock only: the VP's clock is now `tsc` (the machine's, at a
	 * switch-in, after an idle HLT or an exit's modelled cost). */
	void (*set_clock)(struct hv_vcpu *v, uint64_t tsc);

	/* ---- time and scheduling: what differs between backends, as data
	 * the core reads, so that it never asks which backend it runs on. */

	/* The clock and producer metadata (may take a while: kvm measures
	 * the TSC).  Called once, after probe(). */
	void (*clock_info)(struct hv_clock_info *out);
	/* The host clock in trace ticks, or NULL: the clock is virtual.
	 * With a host clock the VPs run free on their threads (sharing the
	 * configured logical processors), exit->tsc is trace time, and the
	 * core measures what handling an exit costs.  With a virtual clock the
	 * VPs run lock-stepped: one at a time, on a baton passed in an order
	 * drawn from the seed, on one machine clock that exit->tsc advances;
	 * handling an exit costs exit_cost_ns of it (plus what the device
	 * model adds) and a halted VP's time jumps to its timer.  Same seed,
	 * same options: same trace, byte for byte. */
	uint64_t (*now)(void);
	uint64_t exit_cost_ns;    /* virtual clock: the modelled cost of an intercept */
	/* Exits a VP runs per turn: quantum, plus (lock-stepped) a draw from
	 * the seed below quantum_spread. */
	unsigned quantum, quantum_spread;
};

extern const struct hv_backend hv_backend_sim;
extern const struct hv_backend hv_backend_kvm;

#endif
