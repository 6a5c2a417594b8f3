/*
 * guest.c - guest memory set-up and the workload programs.
 */
#include <stdio.h>
#include <string.h>

#include "asm.h"
#include "backend.h"
#include "cguest.h"
#include "guest.h"
#include "hvlog/events.h"

const char *const workload_names[WL_COUNT] = {
	[WL_BOOT] = "boot", [WL_SERIAL] = "serial", [WL_HYPERCALL] = "hypercall", [WL_IDLE] = "idle",
	[WL_MM] = "mm", [WL_MIXED] = "mixed", [WL_ALL] = "all", [WL_HALT] = "halt", [WL_C] = "c",
	[WL_LINUX] = "linux",
};

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Identity map [0, 1 GiB) with 2 MiB pages; a flat GDT. */
void guest_tables(uint8_t *mem)
{
	put64(mem + G_PML4, G_PDPT | 3);
	put64(mem + G_PDPT, G_PD | 3);
	for (uint64_t i = 0; i < 512; i++)
		put64(mem + G_PD + 8 * i, (i << 21) | PTE_P | PTE_W | PTE_PS); /* 2 MiB */
	put64(mem + G_GDT, 0);
	put64(mem + G_GDT + 8, 0x00af9a000000ffffull);  /* code64 */
	put64(mem + G_GDT + 16, 0x00cf92000000ffffull); /* data */
}

static void set_gate(uint8_t *mem, int vector, uint64_t handler)
{
	uint8_t *g = mem + G_IDT + 16 * vector;
	memset(g, 0, 16);
	g[0] = (uint8_t)handler;
	g[1] = (uint8_t)(handler >> 8);
	g[2] = 8; /* code selector */
	g[5] = IDT_PRESENT | IDT_INTERRUPT_GATE;
	g[6] = (uint8_t)(handler >> 16);
	g[7] = (uint8_t)(handler >> 24);
	memcpy(g + 8, (uint32_t[]){ (uint32_t)(handler >> 32) }, 4);
}

/* OUT to the report port: event `ev` of the instruction at `insn`, with
 * parameters already in RSI, R8, R9, R10.  Clobbers RAX, RBX, RDX. */
static void report(struct as *a, unsigned ev, int insn)
{
	as_lea_rip(a, RBX, insn);
	as_mov_ri(a, RAX, ev);
	as_mov_ri(a, RDX, HV_PORT_REPORT);
	as_out_dx(a, 4);
}

static void out_imm(struct as *a, uint16_t port, uint32_t value, int size)
{
	as_mov_ri(a, RDX, port);
	as_mov_ri(a, RAX, value);
	as_out_dx(a, size);
}

static void in_port(struct as *a, uint16_t port, int size)
{
	as_mov_ri(a, RDX, port);
	as_in_dx(a, size);
}

static void rdmsr(struct as *a, uint32_t index)
{
	as_mov_ri(a, RCX, index);
	as_rdmsr(a);
}

static void wrmsr(struct as *a, uint32_t index, uint64_t value)
{
	as_mov_ri(a, RCX, index);
	as_mov_ri(a, RAX, (uint32_t)value);
	as_mov_ri(a, RDX, value >> 32);
	as_wrmsr(a);
}

/* CPUID; with `echo` >= 0, then OUT the answer's register `echo` (EAX
 * .. EDX as 0..3) to the POST port, so that the trace shows what the guest
 * really got (under KVM the instruction never leaves the kernel). */
static void cpuid(struct as *a, uint32_t leaf, uint32_t sub, int echo)
{
	static const enum x86_reg regs[4] = { RAX, RBX, RCX, RDX };
	as_mov_ri(a, RSI, leaf);
	as_mov_ri(a, R8, sub);
	as_mov_rr(a, RAX, RSI);
	as_mov_rr(a, RCX, R8);
	int at = as_here(a);
	as_cpuid(a);
	if (echo >= 0)
		as_mov_rr(a, R12, regs[echo]);
	report(a, HVLOG_EV_IM_CPUID_INSTRUCTION, at);
	if (echo >= 0) {
		as_mov_rr(a, RAX, R12);
		as_mov_ri(a, RDX, HV_PORT_POST);
		as_out_dx(a, 4);
	}
}

/* The guest's TSC frequency into R14 (Hyper-V's HV_X64_MSR_TSC_FREQUENCY),
 * once: arm_deadline() counts in it. */
static void tsc_frequency(struct as *a)
{
	as_mov_ri(a, RCX, HVLOG_MSR_HV_X64_MSR_TSC_FREQUENCY);
	as_rdmsr(a);
	as_shl_ri(a, RDX, 32);
	as_add_rr(a, RAX, RDX);
	as_mov_rr(a, R14, RAX);
}

/* IA32_TSC_DEADLINE = RDTSC + 2^log2s seconds of the frequency. */
static void arm_deadline_log2(struct as *a, int log2s)
{
	as_rdtsc(a);
	as_shl_ri(a, RDX, 32);
	as_add_rr(a, RAX, RDX);
	as_mov_rr(a, R11, R14);
	if (log2s < 0)
		as_shr_ri(a, R11, (uint8_t)-log2s);
	else
		as_shl_ri(a, R11, (uint8_t)log2s);
	as_add_rr(a, RAX, R11);
	as_mov_rr(a, RDX, RAX);
	as_shr_ri(a, RDX, 32);
	as_mov_ri(a, RCX, HVLOG_MSR_IA32_TSC_DEADLINE);
	as_wrmsr(a);
}

/* IA32_TSC_DEADLINE = RDTSC + frequency >> shift (2^-shift seconds). */
static void arm_deadline(struct as *a, uint8_t shift)
{
	arm_deadline_log2(a, -(int)shift);
}

/* Read CRn and write it back, reporting both. */
static void cr_cycle(struct as *a, int cr)
{
	int at = as_here(a);
	as_mov_from_cr(a, R8, cr);
	as_mov_ri(a, RSI, (uint64_t)cr);
	as_push(a, R8);
	report(a, HVLOG_EV_IM_CR_READ, at);
	as_pop(a, R8);
	at = as_here(a);
	as_mov_to_cr(a, cr, R8);
	report(a, HVLOG_EV_IM_CR_WRITE, at);
}

/* Read DRn and write it back, reporting both accesses (KVM handles them
 * in the kernel); the value read is echoed to the POST port. */
static void dr_cycle(struct as *a, int dr)
{
	int at = as_here(a);
	as_mov_from_dr(a, R8, dr);
	as_push(a, R8);
	report(a, HVLOG_EV_IM_DR_ACCESS, at);
	as_pop(a, R8);
	at = as_here(a);
	as_mov_to_dr(a, dr, R8);
	as_push(a, R8);
	report(a, HVLOG_EV_IM_DR_ACCESS, at);
	as_pop(a, RAX);
	as_mov_ri(a, RDX, HV_PORT_POST);
	as_out_dx(a, 4);
}

static void invlpg(struct as *a, uint64_t va)
{
	as_mov_ri(a, RSI, va);
	int at = as_here(a);
	as_invlpg(a, RSI);
	report(a, HVLOG_EV_IM_INVLPG_INSTRUCTION, at);
}

/* Write a byte to COM1 once its transmitter is empty (polls the LSR). */
static void serial_putc_al_in_rcx(struct as *a)
{
	int poll = as_here(a);
	in_port(a, HV_PORT_COM1 + 5, 1);
	as_alu_ri(a, 4, RAX, 0x20);
	as_jcc(a, CC_E, poll);
	as_mov_rr(a, RAX, RCX);
	as_mov_ri(a, RDX, HV_PORT_COM1);
	as_out_dx(a, 1);
}

/* "Hello from VP n\n" through COM1: VP n's copy of the message is at
 * msg + 32 n (each VP its own, so concurrent VPs do not race). */
static void serial_hello(struct as *a, uint64_t msg)
{
	int next = as_label(a), done = as_label(a);
	as_mov_rr(a, R11, RDI);
	as_shl_ri(a, R11, 5);
	as_mov_ri(a, RAX, msg);
	as_add_rr(a, R11, RAX);
	as_bind(a, next);
	as_load32(a, RCX, R11, 0);
	as_alu_ri(a, 4, RCX, 0xff);
	as_jcc(a, CC_E, done);
	serial_putc_al_in_rcx(a);
	as_inc(a, R11);
	as_jmp(a, next);
	as_bind(a, done);
}

static void hypercall(struct as *a, uint64_t input)
{
	as_mov_ri(a, RCX, input);
	as_call_abs(a, G_HYPERCALL_PAGE);
}

static void pci_probe(struct as *a, unsigned dev)
{
	out_imm(a, 0xcf8, 0x80000000u | dev << 11, 4);
	in_port(a, 0xcfc, 4);
}

static void mmio_doorbell(struct as *a, uint32_t value)
{
	as_mov_ri(a, RSI, HV_MMIO_NIC);
	as_mov_ri(a, RAX, value);
	as_store32(a, RSI, 0x10, RAX);
	as_load32(a, RAX, RSI, 0);
}

static void report_only(struct as *a, unsigned ev, uint64_t p1, uint64_t p2)
{
	int at = as_here(a);
	as_mov_ri(a, RSI, p1);
	as_mov_ri(a, R8, p2);
	report(a, ev, at);
}

/* MONITOR the line at `line` (reported as the emulated instruction it
 * is: KVM runs it as a NOP), then MWAIT with extensions `ext` (ECX) and
 * hints `hint` (EAX), and report it (KVM runs MWAIT in the kernel: a NOP
 * unless the guest's CPUID offers MONITOR, which ours does not; the sim
 * stops on both).  The reports' parameters are the instructions'. */
static void mwait(struct as *a, uint64_t line, uint32_t ext, uint32_t hint)
{
	as_mov_ri(a, RAX, line);
	as_mov_ri(a, RCX, 0);
	as_mov_ri(a, RDX, 0);
	int at = as_here(a);
	AS_OP(a, 0x0f, 0x01, 0xc8); /* MONITOR */
	report(a, HVLOG_EV_IM_EMULATED_INSTRUCTION, at);
	as_mov_ri(a, RSI, ext);
	as_mov_ri(a, R8, hint);
	as_mov_rr(a, RCX, RSI);
	as_mov_rr(a, RAX, R8);
	at = as_here(a);
	AS_OP(a, 0x0f, 0x01, 0xc9); /* MWAIT */
	report(a, HVLOG_EV_IM_MWAIT_INSTRUCTION, at);
}

static void boot_body(struct as *a)
{
	cpuid(a, 0, 0, 0);          /* the highest leaf, 0xd */
	cpuid(a, 1, 0, -1);
	cpuid(a, 0x40000000, 0, 1); /* "Micr" */
	cpuid(a, 0x40000001, 0, -1);
	rdmsr(a, HVLOG_MSR_IA32_APIC_BASE);
	rdmsr(a, HVLOG_MSR_IA32_TIME_STAMP_COUNTER);
	rdmsr(a, HVLOG_MSR_HV_X64_MSR_TIME_REF_COUNT);
	rdmsr(a, HVLOG_MSR_IA32_EFER);
	as_mov_ri(a, RDX, HV_PORT_POST); /* what the guest got */
	as_out_dx(a, 4);
	rdmsr(a, HVLOG_MSR_IA32_PLATFORM_ID);
	wrmsr(a, HVLOG_MSR_HV_X64_MSR_GUEST_OS_ID, 0x0001040a00003839ull);
	wrmsr(a, HVLOG_MSR_HV_X64_MSR_HYPERCALL, G_HYPERCALL_PAGE | 1);
	out_imm(a, HV_PORT_POST, 0x11, 1); /* POST code */
	out_imm(a, 0x70, 0x0a, 1);
	in_port(a, 0x71, 1);
	for (unsigned dev = 0; dev < 4; dev++)
		pci_probe(a, dev);
	cr_cycle(a, 0);
	cr_cycle(a, 4);
	cr_cycle(a, 3);
}

/* Touch and invalidate many pages (the virtual TLB grows), flush; then
 * a few (after the flush it is mostly empty and shrinks). */
static void mm_body(struct as *a)
{
	for (unsigned i = 0; i < 24; i++) {
		uint64_t va = 0x200000 + 0x1000 * i;
		as_mov_ri(a, RSI, va);
		as_store32(a, RSI, 0, RDI);
		invlpg(a, va);
	}
	mmio_doorbell(a, 1);
	cr_cycle(a, 3);
	invlpg(a, 0x300000);
	cr_cycle(a, 3);
}

/* Halt until the TSC deadline (1/2048 s); spin without exiting until the
 * next one (the timer handler sets R13: only the core's kick gets the
 * interrupt in); then, with interrupts off, program the one-shot timer to
 * fire at once: the interrupt waits for STI (an interrupt window). */
static void idle_body(struct as *a)
{
	arm_deadline(a, 11);
	as_hlt(a);
	as_mov_ri(a, R13, 0);
	arm_deadline(a, 11);
	int spin = as_here(a);
	as_pause(a);
	as_test_rr(a, R13, R13);
	as_jcc(a, CC_E, spin);
	as_cli(a);
	out_imm(a, 0x40, 0, 1);
	out_imm(a, HV_PORT_POST, 0x1d, 1);
	as_sti(a);
	AS_OP(a, 0x90); /* STI's shadow: the window opens after this NOP */
	out_imm(a, HV_PORT_POST, 0x1e, 1);
}

static void mixed_body(struct as *a)
{
	/* a timer-driven guest: program the deadline (1/8192 s), do some
	 * I/O, halt */
	arm_deadline(a, 13);
	as_mov_ri(a, RCX, 'x');
	serial_putc_al_in_rcx(a);
	pci_probe(a, 1);
	rdmsr(a, HVLOG_MSR_IA32_APIC_BASE);
	hypercall(a, 0x5d);            /* HvCallSignalEvent */
	mmio_doorbell(a, 2);
	out_imm(a, HV_PORT_POST, 0x42, 1);
	as_hlt(a);
	hypercall(a, 0x1005c);         /* HvCallPostMessage, fast */
}

/* The NMI handler; returns its label.  It goes after the program, so that
 * the other workloads' code stays where it was. */
static int nmi_handler(struct as *a)
{
	/* NMI: POST code 0x02 (the handler ran), then report the IRETQ that
	 * ends it (no backend stops on an IRET: the report comes right
	 * before it runs, with its RIP), return. */
	int nmi = as_here(a), iret = as_label(a);
	as_push(a, RAX);
	as_push(a, RBX);
	as_push(a, RDX);
	out_imm(a, HV_PORT_POST, 0x02, 1);
	as_lea_rip(a, RBX, iret);
	as_mov_ri(a, RAX, HVLOG_EV_IM_IRET_INSTRUCTION);
	as_mov_ri(a, RDX, HV_PORT_REPORT);
	as_out_dx(a, 4);
	as_pop(a, RDX);
	as_pop(a, RBX);
	as_pop(a, RAX);
	as_bind(a, iret);
	as_iretq(a);
	return nmi;
}

/* Interrupt and exception handlers; their labels go to *timer_l, *gp_l. */
static void handlers(struct as *a, int *timer_l, int *gp_l)
{

	/* Timer: EOI through the x2APIC EOI MSR, R13 = 1 (it came), return. */
	int timer = as_here(a);
	as_mov_ri(a, R13, 1);
	as_push(a, RAX);
	as_push(a, RCX);
	as_push(a, RDX);
	as_mov_ri(a, RCX, HVLOG_MSR_IA32_X2APIC_EOI);
	as_mov_ri(a, RAX, 0);
	as_mov_ri(a, RDX, 0);
	as_wrmsr(a);
	as_pop(a, RDX);
	as_pop(a, RCX);
	as_pop(a, RAX);
	as_iretq(a);

	/* #GP: report the exception, skip the 2-byte RDMSR/WRMSR, return. */
	int gp = as_here(a);
	as_push(a, RBP);
	as_mov_rr(a, RBP, RSP);
	as_push(a, RAX);
	as_push(a, RBX);
	as_push(a, RDX);
	as_push(a, RSI);
	as_mov_ri(a, RSI, 13);
	as_load64(a, RBX, RBP, 16);
	as_mov_ri(a, RAX, HVLOG_EV_IM_GUEST_EXCEPTION);
	as_mov_ri(a, RDX, HV_PORT_REPORT);
	as_out_dx(a, 4);
	as_add_mem64_i8(a, RBP, 16, 2);
	as_pop(a, RSI);
	as_pop(a, RDX);
	as_pop(a, RBX);
	as_pop(a, RAX);
	as_pop(a, RBP);
	as_alu_ri(a, 0, RSP, 8); /* drop the error code */
	as_iretq(a);
	*timer_l = timer;
	*gp_l = gp;
}

uint64_t guest_build(uint8_t *mem, enum workload wl, uint64_t iterations)
{
	struct as a;
	uint64_t msg = G_MSGS;
	int loop, exit_label;

	if (wl == WL_LINUX)
		return 0; /* linux.c loads it */
	memset(mem, 0, G_CODE + G_CODE_MAX);
	guest_tables(mem);
	if (wl == WL_C) { /* linked at G_CODE, entered at its first byte (_start) */
		if (sizeof cguest_bin > G_CODE_MAX)
			return 0;
		memcpy(mem + G_CODE, cguest_bin, sizeof cguest_bin);
		return G_CODE;
	}
	for (unsigned i = 0; i < G_MAX_VPS; i++)
		snprintf((char *)mem + msg + 32 * i, 32, "Hello from VP %u\n", i);
	/* IDT pointer for LIDT: limit, base */
	memcpy(mem + G_DATA, (uint16_t[]){ 0xfff }, 2);
	put64(mem + G_DATA + 2, G_IDT);

	as_init(&a, mem + G_CODE, G_CODE_MAX, G_CODE);
	int entry = as_label(&a), main_label = as_label(&a), timer, gp, nmi;
	as_jmp(&a, entry);
	handlers(&a, &timer, &gp);
	as_bind(&a, entry);
	as_mov_ri(&a, RAX, G_DATA);
	as_lidt(&a, RAX);
	as_mov_ri(&a, R15, iterations);
	as_jmp(&a, main_label);
	as_bind(&a, main_label);
	if (wl == WL_HYPERCALL || wl == WL_MIXED || wl == WL_ALL || wl == WL_HALT)
		wrmsr(&a, HVLOG_MSR_HV_X64_MSR_HYPERCALL, G_HYPERCALL_PAGE | 1);
	if (wl == WL_IDLE || wl == WL_MIXED || wl == WL_ALL || wl == WL_HALT) {
		tsc_frequency(&a);
		as_sti(&a);
	}

	loop = as_here(&a);
	exit_label = as_label(&a);
	switch (wl) {
	case WL_BOOT:
		boot_body(&a);
		break;
	case WL_SERIAL:
		serial_hello(&a, msg);
		break;
	case WL_HYPERCALL:
		hypercall(&a, 0x5c);
		hypercall(&a, 0x5d);
		hypercall(&a, 0x0002 | (3ull << 32)); /* flush address space, rep count 3 */
		hypercall(&a, 0x7777);               /* not a hypercall: fails */
		break;
	case WL_IDLE:
		idle_body(&a);
		break;
	case WL_MM:
		mm_body(&a);
		break;
	case WL_MIXED:
		mixed_body(&a);
		break;
	case WL_HALT: { /* VP 0: one round, POST 0xa1, HLT for 2^12 s, POST 0xa2, the end */
		int others = as_label(&a);
		as_test_rr(&a, RDI, RDI);
		as_jcc(&a, CC_NE, others);
		mixed_body(&a);
		out_imm(&a, HV_PORT_POST, 0xa1, 1);
		arm_deadline_log2(&a, 12);
		as_hlt(&a);
		out_imm(&a, HV_PORT_POST, 0xa2, 1);
		as_jmp(&a, exit_label);
		as_bind(&a, others);
		mixed_body(&a);
		break;
	}
	case WL_ALL:
		boot_body(&a);
		serial_hello(&a, msg);
		hypercall(&a, 0x5c);
		hypercall(&a, 0x7777);
		hypercall(&a, 0x0002 | (3ull << 32));  /* rep flush: an overrun */
		hypercall(&a, 0x0003 | (30ull << 32)); /* a longer one: over 500 us */
		idle_body(&a);
		mm_body(&a);
		rdmsr(&a, 0x12345); /* no such MSR: #GP, reflected, reported by the handler */
		{
			int at = as_here(&a);
			as_invd(&a);
			report(&a, HVLOG_EV_IM_INVD_INSTRUCTION, at);
		}
		mwait(&a, G_DATA + 0x40, 0, 0x20);
		wrmsr(&a, HVLOG_MSR_IA32_X2APIC_ICR, 1u << 18 | 4u << 8); /* an NMI to itself */
		report_only(&a, HVLOG_EV_IM_TASK_SWITCH, 0, 0);
		dr_cycle(&a, 7);
		report_only(&a, HVLOG_EV_IM_FERR_FREEZE, 0, 0);
		report_only(&a, HVLOG_EV_IM_REAL_MODE_INTERRUPT, 0, 0);
		report_only(&a, HVLOG_EV_IM_REFLECTED_EXCEPTION, 6, 0);
		as_jmp(&a, exit_label);
		break;
	default:
		return 0;
	}
	/* count iterations in R15 when bounded */
	if (iterations) {
		as_dec(&a, R15);
		as_jcc(&a, CC_E, exit_label);
	}
	as_jmp(&a, loop);
	as_bind(&a, exit_label);
	/* VP 0 of `all` ends with a triple fault: an empty IDT, then #UD */
	if (wl == WL_ALL) {
		int done = as_label(&a);
		as_test_rr(&a, RDI, RDI);
		as_jcc(&a, CC_NE, done);
		as_mov_ri(&a, RAX, G_DATA + 0x80); /* limit 0 IDT pointer (zeroed memory) */
		as_lidt(&a, RAX);
		as_ud2(&a);
		as_bind(&a, done);
	}
	out_imm(&a, HV_PORT_DONE, 0, 1);
	int park = as_here(&a);
	as_cli(&a);
	as_hlt(&a);
	as_jmp(&a, park);
	nmi = nmi_handler(&a);
	if (as_finish(&a) != 0)
		return 0;
	set_gate(mem, HV_TIMER_VECTOR, as_addr(&a, timer));
	set_gate(mem, 13, as_addr(&a, gp));
	set_gate(mem, HVLOG_EXCEPTION_NMI, as_addr(&a, nmi));
	return as_addr(&a, entry);
}

void guest_hypercall_page(uint8_t *mem, uint64_t gpa)
{
	/* IN EAX, HV_PORT_HYPERCALL; RET.  The input value is in RCX (the
	 * Hyper-V calling convention); the status comes back in RAX. */
	static const uint8_t code[] = { 0xe5, HV_PORT_HYPERCALL, 0xc3 };

	if (gpa + sizeof code <= G_MEM_SIZE)
		memcpy(mem + gpa, code, sizeof code);
}
