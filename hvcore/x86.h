/*
 * x86.h - the x86-64 architecture as hvcore uses it, in one place: the
 * register numbering (the encoding's: what ModRM, SIB and REX name), the
 * RFLAGS, CR0, CR4, EFER and page-table bits, and the instruction decoding
 * both backends use (prefixes, ModRM, SIB: the sim to execute, kvm to find
 * which instruction an MMIO exit came from).  MSR indexes and exception vectors are the schema's
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

/* ---- instruction decoding, as far as both backends need it ----------- */

/* Inlined always: the sim's interpreter decodes every instruction with
 * these, and as calls they cost it a quarter more instructions. */
#define X86_INLINE static inline __attribute__((always_inline))

/* REX (40-4F): operand size 64, and the fourth bit of ModRM.reg, SIB.index
 * and ModRM.rm / SIB.base / an opcode's register. */
#define REX_W 8u
#define REX_R 4u
#define REX_X 2u
#define REX_B 1u

/* Operand size of an instruction with 16, 32 and 64-bit forms. */
X86_INLINE unsigned x86_opsize(unsigned rex, unsigned opsize16)
{
	return (rex & REX_W) ? 8 : opsize16 ? 2 : 4;
}

/* The register in an opcode's low bits (50+r PUSH, B8+r MOV...). */
X86_INLINE unsigned x86_opreg(unsigned op, unsigned rex)
{
	return (op & 7) | ((rex & REX_B) << 3);
}

/* Legacy prefixes and REX, 64-bit mode. */
enum x86_prefix_kind {
	X86_PX_NONE,      /* not a prefix: the opcode */
	X86_PX_REX,       /* 40-4F */
	X86_PX_OPSIZE,    /* 66 */
	X86_PX_ADDRSIZE,  /* 67 */
	X86_PX_REP,       /* F2 F3 */
	X86_PX_SEG,       /* 26 2E 36 3E: no effect in 64-bit mode */
	X86_PX_FSGS,      /* 64 65 */
	X86_PX_LOCK,      /* F0 */
};

X86_INLINE unsigned x86_prefix_kind(uint8_t b)
{
	static const uint8_t kind[256] = {
		[0x40 ... 0x4f] = X86_PX_REX,
		[0x66] = X86_PX_OPSIZE, [0x67] = X86_PX_ADDRSIZE,
		[0xf2] = X86_PX_REP, [0xf3] = X86_PX_REP,
		[0x26] = X86_PX_SEG, [0x2e] = X86_PX_SEG, [0x36] = X86_PX_SEG, [0x3e] = X86_PX_SEG,
		[0x64] = X86_PX_FSGS, [0x65] = X86_PX_FSGS,
		[0xf0] = X86_PX_LOCK,
	};
	return kind[b];
}

struct x86_prefixes {
	uint8_t rex;       /* the REX byte (W R X B = 8 4 2 1), 0: none */
	uint8_t kinds;     /* X86_PX_BIT(kind) of each legacy prefix present */
	uint8_t rep;       /* F2, F3 or 0 */
	uint8_t seg;       /* 64 (FS), 65 (GS) or 0 */
};

#define X86_PX_BIT(kind) (1u << (kind))

/* The prefixes of the instruction at p[0..n): returns the offset of its
 * opcode, n when prefixes fill p[0..n).  A REX counts only right before
 * the opcode (hardware ignores one that a legacy prefix follows).  No
 * prefix, or a REX alone, is the common case and kept short. */
X86_INLINE size_t x86_prefixes(const uint8_t *p, size_t n, struct x86_prefixes *px)
{
	unsigned rex = 0, kinds = 0, rep = 0, seg = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned b = p[i], k = x86_prefix_kind((uint8_t)b);
		if (__builtin_expect(k == X86_PX_NONE, 1))
			break;
		if (k == X86_PX_REX) {
			rex = b;
			continue;
		}
		rex = 0;
		kinds |= X86_PX_BIT(k);
		if (k == X86_PX_REP)
			rep = b;
		else if (k == X86_PX_FSGS)
			seg = b;
	}
	px->rex = (uint8_t)rex;
	px->kinds = (uint8_t)kinds;
	px->rep = (uint8_t)rep;
	px->seg = (uint8_t)seg;
	return i;
}

/* A ModRM byte with its SIB and displacement. */
struct x86_modrm {
	uint8_t modrm;                   /* the byte itself */
	uint8_t mod, reg, rm;            /* reg with REX.R, rm with REX.B */
	uint8_t has_sib, scale, index, base; /* index 4: none; base with REX.B */
	uint8_t riprel;                  /* mod 0, rm 5: RIP-relative disp32 */
	uint8_t no_base;                 /* SIB base 5 with mod 0: disp32 alone */
	uint8_t len;                     /* bytes: ModRM, SIB, displacement */
	int32_t disp;
};

/* Decode ModRM, SIB and displacement at p[0..n) under REX bits `rex`;
 * returns the bytes they take, 0 when p[0..n) is too short. */
X86_INLINE size_t x86_modrm(const uint8_t *p, size_t n, unsigned rex, struct x86_modrm *m)
{
	size_t i = 1, dsz = 0;

	if (n < 1)
		return 0;
	m->modrm = p[0];
	m->mod = p[0] >> 6;
	m->reg = (uint8_t)(((p[0] >> 3) & 7) | ((rex & REX_R) << 1));
	m->rm = (uint8_t)((p[0] & 7) | ((rex & REX_B) << 3));
	m->has_sib = m->riprel = m->no_base = 0;
	m->scale = m->base = 0;
	m->index = 4;
	m->disp = 0;
	if (m->mod != 3) {
		if ((p[0] & 7) == 4) {
			if (n < 2)
				return 0;
			m->has_sib = 1;
			m->scale = p[1] >> 6;
			m->index = (uint8_t)(((p[1] >> 3) & 7) | ((rex & REX_X) << 2));
			m->base = (uint8_t)((p[1] & 7) | ((rex & REX_B) << 3));
			i = 2;
			if ((p[1] & 7) == 5 && m->mod == 0) {
				m->no_base = 1;
				dsz = 4;
			}
		} else if ((p[0] & 7) == 5 && m->mod == 0) {
			m->riprel = 1;
			dsz = 4;
		}
		if (m->mod == 1)
			dsz = 1;
		else if (m->mod == 2)
			dsz = 4;
		if (n - i < dsz)
			return 0;
		if (dsz == 1)
			m->disp = (int8_t)p[i];
		else if (dsz == 4)
			m->disp = (int32_t)((uint32_t)p[i] | (uint32_t)p[i + 1] << 8 | (uint32_t)p[i + 2] << 16 |
					    (uint32_t)p[i + 3] << 24);
		i += dsz;
	}
	m->len = (uint8_t)i;
	return i;
}

/* The memory operand's address from the registers (by enum x86_reg); a
 * RIP-relative one is its displacement: the caller adds the address of
 * the next instruction, known only when the whole instruction is. */
X86_INLINE uint64_t x86_ea(const struct x86_modrm *m, const uint64_t *gpr)
{
	uint64_t ea = (uint64_t)(int64_t)m->disp;

	if (m->riprel)
		return ea;
	if (!m->has_sib)
		return ea + gpr[m->rm];
	if (m->index != 4)
		ea += gpr[m->index] << m->scale;
	if (!m->no_base)
		ea += gpr[m->base];
	return ea;
}

#endif
