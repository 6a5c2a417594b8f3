/*
 * cguest.c - the `c` workload: a guest that is a freestanding C program,
 * compiled by the project's compiler into a flat binary that the core
 * loads at G_CODE (hvcore/CMakeLists.txt; no libc, no runtime).  Entry:
 * _start(RDI = VP index), on the stack the core gives, interrupts off.
 *
 * It does what a small kernel's start-up does, through the same devices
 * the assembled workloads use: a serial driver on COM1's interrupt (IRQ 4,
 * vector 0x24: a transmit queue the THRE interrupt drains, one byte per
 * interrupt, and a receive handler that keeps the first line received),
 * PCI enumeration (configuration mechanism 1, every device of bus 0),
 * the Hyper-V interface (guest OS ID, the hypercall page, a hypercall
 * through it), a page-table update followed by INVLPG, and the TSC
 * frequency MSR.  Then a tiny scheduler: its own IDT, the TSC-deadline
 * timer every 1/8192 s, and at each timer interrupt the next of three
 * tasks (serial, PCI, hypercall) runs, round robin, six runs in all.
 * What KVM runs in the kernel (INVLPG) the guest reports on port 0xca0,
 * as the assembled guests do.
 *
 * The VPs share this program's memory: what is a VP's own (its tick
 * count, its TSC frequency) is in arrays indexed by the VP, which the
 * interrupt handler finds from its stack (the core gives VP i the stack
 * below STACKS + (i + 1) x STACK_SIZE).
 */
#include <stdint.h>

#define COM1 0x3f8
#define PORT_POST 0x80
#define PORT_REPORT 0xca0
#define PORT_DONE 0xca4
#define EV_INVLPG 0x2f            /* HV_TR_IM_INVLPG_INSTRUCTION (tests/hvcore.sh sees it) */
#define MSR_GUEST_OS_ID 0x40000000u
#define MSR_HYPERCALL 0x40000001u
#define MSR_TSC_FREQUENCY 0x40000022u
#define HYPERCALL_PAGE 0x5000u    /* G_HYPERCALL_PAGE */
#define PD 0x3000u                /* G_PD: 2 MiB pages of the first GiB */
#define IDT 0x4000u               /* G_IDT */
#define STACKS 0x100000u          /* G_STACKS */
#define STACK_SIZE 0x8000u        /* G_STACK_SIZE */
#define MAX_VPS 64
#define TIMER_VECTOR 0x20
#define COM1_VECTOR 0x24          /* IRQ 4 */
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_X2APIC_EOI 0x80bu
#define RUNS 6

/* What the interrupt handlers call: saves whatever registers it uses, as
 * an interrupt handler itself does (clang refuses a handler's call to a
 * function without it; gcc has the attribute too).  Inlined, it changes
 * nothing. */
#define ISR_CALLEE __attribute__((no_caller_saved_registers))

/* outb/inb, outl/inl: the operand's register (AL, EAX) gives the size. */
#define PORT_IO(sfx, type)                                                    \
	static inline ISR_CALLEE void out##sfx(uint16_t port, type v)         \
	{                                                                     \
		__asm__ volatile("out %0, %1" : : "a"(v), "Nd"(port));        \
	}                                                                     \
	static inline ISR_CALLEE type in##sfx(uint16_t port)                  \
	{                                                                     \
		type v;                                                       \
		__asm__ volatile("in %1, %0" : "=a"(v) : "Nd"(port));         \
		return v;                                                     \
	}
PORT_IO(b, uint8_t)
PORT_IO(l, uint32_t)

static inline uint64_t rdmsr(uint32_t index)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(index));
	return (uint64_t)hi << 32 | lo;
}

static inline ISR_CALLEE void wrmsr(uint32_t index, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(index), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline ISR_CALLEE uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* The Hyper-V calling convention: input value in RCX, status in RAX. */
static inline uint64_t hypercall(uint64_t input)
{
	uint64_t status;
	__asm__ volatile("call *%1" : "=a"(status) : "r"((uint64_t)HYPERCALL_PAGE), "c"(input) : "memory", "rdx");
	return status;
}

/* INVLPG, then its report (EAX = event, RBX = the instruction's RIP, RSI =
 * the address). */
static inline void invlpg(uint64_t va)
{
	__asm__ volatile("1: invlpg (%0)\n\t"
			 "lea 1b(%%rip), %%rbx\n\t"
			 "mov %0, %%rsi\n\t"
			 "outl %%eax, %%dx"
			 : : "r"(va), "a"(EV_INVLPG), "d"(PORT_REPORT) : "rbx", "rsi", "memory");
}

/* ---- the serial driver: COM1 on its interrupt ---------------------------- */

struct interrupt_frame;

#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define TXQ 64
#define RXLINE 32

static ISR_CALLEE unsigned this_vp(void)
{
	uintptr_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return (unsigned)((sp - STACKS) / STACK_SIZE);
}

/* Each VP's driver state (each VP has its own COM1). */
static struct {
	volatile uint8_t q[TXQ];
	volatile unsigned head, n;   /* the transmit queue */
	volatile uint8_t busy;       /* THRE interrupt on: the handler sends */
	volatile uint8_t ier;
	char rx[RXLINE];
	volatile unsigned rxn;
	volatile uint8_t rx_done;    /* a line ended (CR or LF) */
	volatile unsigned irqs;
} com1[MAX_VPS];

static inline ISR_CALLEE void eoi(void);

__attribute__((interrupt)) static void com1_interrupt(struct interrupt_frame *frame)
{
	unsigned vp = this_vp();
	(void)frame;
	com1[vp].irqs++;
	for (;;) {
		uint8_t id = inb(COM1 + UART_IIR) & 0x0f;
		if (id == IIR_RDI) {
			while (inb(COM1 + UART_LSR) & 1) {
				char ch = (char)inb(COM1);
				if (ch == '\r' || ch == '\n')
					com1[vp].rx_done = com1[vp].rxn > 0;
				else if (!com1[vp].rx_done && com1[vp].rxn < RXLINE - 1)
					com1[vp].rx[com1[vp].rxn++] = ch;
			}
			continue;
		}
		if (id == IIR_THRI) {
			if (com1[vp].n) {
				/* one byte: THR empties again, the next interrupt sends the next */
				outb(COM1, com1[vp].q[com1[vp].head]);
				com1[vp].head = (com1[vp].head + 1) % TXQ;
				com1[vp].n--;
			} else {
				com1[vp].busy = 0;
				com1[vp].ier &= (uint8_t)~IER_THRI;
				outb(COM1 + UART_IER, com1[vp].ier);
			}
		}
		break;
	}
	eoi();
}

/* 115200 8N1, FIFOs on, OUT2 (which gates IRQ 4 through), receive
 * interrupt on: what arrived before now interrupts at the STI. */
static void serial_init(unsigned vp)
{
	outb(COM1 + UART_LCR, 0x80);
	outb(COM1, 1);
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x03);
	outb(COM1 + UART_FCR, 0x07);
	outb(COM1 + UART_MCR, 0x0b);
	com1[vp].ier = IER_RDI;
	outb(COM1 + UART_IER, com1[vp].ier);
}

/* Queue bytes (halting while the queue is full); the first of a burst
 * turns the THRE interrupt on, which comes at once: THR is empty. */
static void serial_write(const char *s, unsigned n)
{
	unsigned vp = this_vp();
	while (n) {
		__asm__ volatile("cli" : : : "memory");
		if (com1[vp].n == TXQ) {
			__asm__ volatile("sti; hlt" : : : "memory");
			continue;
		}
		while (n && com1[vp].n < TXQ) {
			com1[vp].q[(com1[vp].head + com1[vp].n) % TXQ] = (uint8_t)*s++;
			com1[vp].n++;
			n--;
		}
		if (!com1[vp].busy) {
			com1[vp].busy = 1;
			com1[vp].ier |= IER_THRI;
			outb(COM1 + UART_IER, com1[vp].ier);
		}
		__asm__ volatile("sti" : : : "memory");
	}
}

static void serial_putc(char c)
{
	serial_write(&c, 1);
}

/* Halt until the handler has sent everything queued. */
static void serial_flush(unsigned vp)
{
	for (;;) {
		__asm__ volatile("cli" : : : "memory");
		if (!com1[vp].busy)
			break;
		__asm__ volatile("sti; hlt" : : : "memory");
	}
	__asm__ volatile("sti" : : : "memory");
}

static void serial_puts(const char *s)
{
	unsigned n = 0;
	while (s[n])
		n++;
	serial_write(s, n);
}

static void serial_putu(unsigned v)
{
	char b[10];
	int n = 0;
	do
		b[n++] = (char)('0' + v % 10);
	while (v /= 10);
	for (int i = 0; i < n / 2; i++) {
		char t = b[i];
		b[i] = b[n - 1 - i];
		b[n - 1 - i] = t;
	}
	serial_write(b, (unsigned)n);
}

/* Bus 0, every device, function 0: the vendor/device ID of those present. */
static unsigned pci_enumerate(void)
{
	unsigned found = 0;
	for (unsigned dev = 0; dev < 32; dev++) {
		outl(0xcf8, 0x80000000u | dev << 11);
		uint32_t id = inl(0xcfc);
		if (id == 0xffffffffu)
			continue;
		found++;
		outl(PORT_POST, id);
	}
	return found;
}

/* ---- the scheduler ---------------------------------------------------- */

static volatile unsigned ticks[MAX_VPS];
static uint64_t tsc_hz[MAX_VPS];

/* The next timer interrupt 1/8192 s from now (the TSC-deadline MSR). */
static ISR_CALLEE void arm_timer(unsigned vp)
{
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + (tsc_hz[vp] >> 13));
}

__attribute__((interrupt)) static void timer_interrupt(struct interrupt_frame *frame)
{
	unsigned vp = this_vp();
	(void)frame;
	ticks[vp]++;
	eoi();
	if (tsc_hz[vp])
		arm_timer(vp);
}

static inline ISR_CALLEE void eoi(void)
{
	wrmsr(MSR_X2APIC_EOI, 0);
}

/* An interrupt gate for `vector` (code selector 8), and LIDT of the IDT. */
static void idt_install(unsigned vector, void (*handler)(struct interrupt_frame *))
{
	volatile uint32_t *g = (volatile uint32_t *)(uintptr_t)(IDT + 16 * vector);
	uint64_t h = (uint64_t)(uintptr_t)handler;
	g[0] = (uint32_t)(h & 0xffff) | 8u << 16;
	g[1] = (uint32_t)(h & 0xffff0000u) | 0x8e00u; /* present, DPL 0, interrupt gate */
	g[2] = (uint32_t)(h >> 32);
	g[3] = 0;
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = { 256 * 16 - 1, IDT };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static unsigned task_runs[MAX_VPS];

static void task_serial(unsigned vp)
{
	(void)vp;
	serial_puts("task: serial\n");
}

static void task_pci(unsigned vp)
{
	outl(0xcf8, 0x80000000u | (task_runs[vp] & 3) << 11);
	outl(PORT_POST, inl(0xcfc));
}

static void task_hypercall(unsigned vp)
{
	(void)vp;
	outl(PORT_POST, (uint32_t)hypercall(0x5d));
}

static void (*const tasks[])(unsigned) = { task_serial, task_pci, task_hypercall };

/* Halt until the timer; at each new tick the next task runs. */
static void schedule(unsigned vp)
{
	unsigned seen = ticks[vp], next = 0;

	tsc_hz[vp] = rdmsr(MSR_TSC_FREQUENCY);
	arm_timer(vp);
	while (task_runs[vp] < RUNS) {
		__asm__ volatile("hlt" : : : "memory");
		if (ticks[vp] == seen)
			continue; /* not the timer */
		seen = ticks[vp];
		tasks[next](vp);
		next = (next + 1) % (sizeof tasks / sizeof tasks[0]);
		task_runs[vp]++;
	}
	wrmsr(MSR_TSC_DEADLINE, 0);
	serial_puts("scheduler: 6 runs\n");
}

/* .text.startup: the linker puts it before .text, at G_CODE itself. */
__attribute__((section(".text.startup"), noreturn)) void _start(uint64_t vp);

void _start(uint64_t vp)
{
	idt_install(TIMER_VECTOR, timer_interrupt);
	idt_install(COM1_VECTOR, com1_interrupt);
	serial_init((unsigned)vp);
	__asm__ volatile("sti" : : : "memory");
	serial_puts("Hello from C, VP ");
	serial_putu((unsigned)vp);
	serial_putc('\n');

	unsigned n = pci_enumerate();
	serial_puts("PCI: ");
	serial_putu(n);
	serial_puts(" devices\n");

	/* Hyper-V: who we are, the hypercall page, a signal-event call */
	wrmsr(MSR_GUEST_OS_ID, 0x0001040a00003839ull);
	wrmsr(MSR_HYPERCALL, HYPERCALL_PAGE | 1);
	outl(PORT_POST, (uint32_t)hypercall(0x5d));
	serial_puts("TSC: ");
	/* 10^6 = 2^6 x 15625: a 32-bit division, which the compiler makes an
	 * IMUL; a 64-bit one would be a MUL, which the sim does not run */
	serial_putu((uint32_t)(rdmsr(MSR_TSC_FREQUENCY) >> 6) / 15625u);
	serial_puts(" MHz\n");

	/* A page-table update: the last 2 MiB page of the first GiB (past
	 * the RAM: nothing uses it) loses its accessed and dirty bits. */
	volatile uint64_t *pde = (volatile uint64_t *)(uintptr_t)PD + 511;
	*pde &= ~(uint64_t)0x60;
	invlpg(511ull << 21);

	schedule((unsigned)vp);
	if (com1[vp].rx_done) {
		com1[vp].rx[com1[vp].rxn] = 0;
		serial_puts("serial in: ");
		serial_puts(com1[vp].rx);
		serial_putc('\n');
	}
	serial_puts("COM1 interrupts: ");
	serial_putu(com1[vp].irqs);
	serial_putc('\n');
	serial_flush((unsigned)vp);
	__asm__ volatile("cli" : : : "memory");

	outb(PORT_DONE, 0); /* the program is done: the VP ends here */
	for (;;)
		__asm__ volatile("cli; hlt");
}
