/*
 * x86.h - the x86-64 architecture as hvcore uses it, in one place: the
 * register numbering (the encoding's: what ModRM, SIB and REX name), the
 * RFLAGS, CR0, CR4, EFER and page-table bits, and the instruction decoding
 * the backends share.  MSR indexes and exception vectors are the schema's
 * (HVLOG_MSR_*, HVLOG_EXCEPTION_* in hvlog/events.h), so a trace and the
 * code that made it cannot disagree on them.
 */
#ifndef HVCORE_X86_H
#define HVCORE_X86_H

#include <stddef.h>
#include <stdint.h>

#include "hvlog/events.h"

/* General-purpose registers by their encoding (ModRM.reg/rm, SIB, REX). */
enum x86_reg { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15, X86_NGPR };

/* RFLAGS */
#define RFLAGS_CF 0x0001ull
#define RFLAGS_FIXED 0x0002ull  /* bit 1 reads as 1 */
#define RFLAGS_PF 0x0004ull
#define RFLAGS_AF 0x0010ull
#define RFLAGS_ZF 0x0040ull
#define RFLAGS_SF 0x0080ull
#define RFLAGS_TF 0x0100ull
#define RFLAGS_IF 0x0200ull
#define RFLAGS_DF 0x0400ull
#define RFLAGS_OF 0x0800ull
#define RFLAGS_IOPL 0x3000ull
#define RFLAGS_NT 0x4000ull
#define RFLAGS_AC 0x40000ull
#define RFLAGS_ID 0x200000ull
#define RFLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)
/* what IRETQ and POPF may load at CPL 0 */
#define RFLAGS_LOADABLE (RFLAGS_ARITH | RFLAGS_IF | RFLAGS_DF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID)

/* Control registers and EFER */
#define CR0_PE 0x1ull
#define CR0_MP 0x2ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_WP 0x10000ull
#define CR0_AM 0x40000ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define CR4_LA57 0x1000ull
#define EFER_SCE 0x1ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define EFER_NXE 0x800ull

/* Page-table entries */
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

/* IDT gates (the type byte of a 64-bit gate) */
#define IDT_PRESENT 0x80u
#define IDT_INTERRUPT_GATE 0xeu  /* clears IF */
#define IDT_TRAP_GATE 0xfu       /* keeps IF */

/* Segment selectors of the GDT the core writes (backend.h) */
#define SEL_CODE64 0x8u
#define SEL_DATA 0x10u

#endif
