/*
 * guest.h - guest memory layout and the guest programs, assembled by the
 * core as x86-64 machine code (a small assembler in guest.c).
 *
 * Every workload is one program that all VPs of a partition run; RDI holds
 * the VP index on entry.  What the guest does that a backend may not see
 * (CPUID under KVM, CR accesses, INVLPG...) it also reports: OUT to
 * HV_PORT_REPORT with EAX = event number, RBX = RIP of the instruction,
 * RSI/R8/R9/R10 = parameters.  The core uses a report only when the backend
 * did not stop on that instruction itself (backend.h, `native`).
 */
#ifndef HVCORE_GUEST_H
#define HVCORE_GUEST_H

#include <stddef.h>
#include <stdint.h>

/* Guest-physical layout of a partition (identity-mapped). */
#define G_GDT 0x0500ull
#define G_PML4 0x1000ull
#define G_PDPT 0x2000ull
#define G_PD 0x3000ull
#define G_IDT 0x4000ull           /* 256 gates, loaded by the guest */
#define G_HYPERCALL_PAGE 0x5000ull /* filled when the guest enables it */
#define G_DATA 0x8000ull          /* scratch for the guest (IDT pointer...) */
#define G_CODE 0x10000ull
#define G_CODE_MAX 0x10000ull
#define G_MSGS (G_DATA + 0x100) /* 64 x 32 bytes: each VP's hello */
#define G_STACKS 0x100000ull      /* VP i's stack top: G_STACKS + (i + 1) * G_STACK_SIZE */
#define G_STACK_SIZE 0x8000ull
#define G_MEM_SIZE (4ull << 20)
#define G_MAX_VPS 64

/* Devices the guest programs use. */
#define HV_PORT_COM1 0x3f8
#define HV_PORT_POST 0x80          /* POST codes; the guest also echoes values it read there */
#define HV_PORT_REPORT 0x0ca0      /* guest reports an event (see above) */
#define HV_PORT_HYPERCALL 0xec     /* hypercall page doorbell: IN EAX, 0xEC */
#define HV_PORT_DONE 0x0ca4        /* OUT: the program finished its work */
#define HV_MMIO_NIC 0x30000000ull  /* a device register block (MMIO) */
#define HV_TIMER_VECTOR 0x20
#define HV_COM1_VECTOR 0x24       /* COM1's IRQ 4, routed as ISA IRQ n to vector 0x20 + n */

enum workload {
	WL_BOOT, WL_SERIAL, WL_HYPERCALL, WL_IDLE, WL_MM, WL_MIXED, WL_ALL,
	WL_HALT,    /* VP 0 halts for long, the others run mixed */
	WL_C,       /* cguest.c, compiled: not assembled here */
	WL_LINUX,   /* a Linux kernel (--kernel, linux.c): not built here */
	WL_COUNT
};

extern const char *const workload_names[WL_COUNT];

/* Write page tables, GDT and the program for `wl` into guest memory `mem`
 * (G_MEM_SIZE bytes); returns the entry point, or 0 if the program does not
 * fit.  `iterations` bounds the main loop (0: forever). */
uint64_t guest_build(uint8_t *mem, enum workload wl, uint64_t iterations);

/* Write the page tables (the identity-mapped first GiB at G_PML4) and the
 * GDT at G_GDT: what every guest starts with. */
void guest_tables(uint8_t *mem);

/* Write the hypercall page at gpa (when the guest enables it). */
void guest_hypercall_page(uint8_t *mem, uint64_t gpa);

#endif
