/*
 * sim.c - the `sim` backend: a deterministic interpreter of a small x86-64
 * subset, with a virtual TSC.
 *
 * Machine model
 *   - 64-bit long mode, CPL 0, flat segments; paging is ignored: guest
 *     "virtual" = guest-physical = offset into the core's `mem`.
 *   - [0, mem_size) is RAM.  [HV_MMIO_BASE, HV_MMIO_END) is device memory:
 *     every data load/store there is an HV_EXIT_MMIO.  Any other access
 *     (and any instruction fetch outside RAM) is a #PF (vector 14, error
 *     code 0, CR2 = the address).
 *   - Virtual TSC: starts at 0, +1 for every instruction started (one that
 *     faults or exits counts too), +HV_SIM_EXIT_COST for every exit; the
 *     core sets it (set_clock) to the machine's clock at a switch-in, an
 *     idle HLT and after each exit's modelled cost.  RDTSC reads it plus
 *     the partition's TSC offset (EDX:EAX); exit->tsc is the value
 *     at the exiting instruction (for IRQ_WINDOW: at the boundary; for a
 *     SHUTDOWN caused by the #GP of a faulted completion: at that run()).
 *     So an instruction at T that exits is followed by one at T + 1 + 400.
 *     Delivering an exception or interrupt costs nothing by itself.
 *   - run() returns at an exit, or HV_EXIT_KICK at the first instruction
 *     boundary at or after the core's kick_at() time (never between an
 *     MMIO load and its re-execution): a guest that loops without exiting
 *     still gets its timer.
 *   - Exceptions and interrupts go through the IDT (64-bit gates, type 0xE
 *     interrupt gate clears IF, 0xF trap gate keeps it; IST and the gate's
 *     selector are ignored).  The frame is pushed on the current stack,
 *     aligned down to 16 bytes like hardware: SS=0x10, RSP, RFLAGS, CS=0x8,
 *     RIP (+ error code 0 for #GP and #PF).  A missing/short IDT, a
 *     non-present or non-gate entry, or a frame outside RAM is a triple
 *     fault: HV_EXIT_SHUTDOWN, and every later run() says SHUTDOWN again.
 *
 * Completions: an exit leaves the VP "pending" on the exiting instruction
 * (RIP unchanged); the next run() applies the core's answer (or delivers
 * #GP(0) at that RIP when exit->fault is set) and moves on.  An MMIO load
 * is completed by re-executing the instruction with the loaded value
 * substituted for the device access (so read-modify-write instructions
 * on MMIO exit twice: the load, then the store); the re-execution is not
 * counted again by the TSC and is never preceded by an interrupt.
 *
 * Interrupts: inject_irq() with IF=1 accepts the vector (returns 1); it is
 * delivered at the first instruction boundary of the next run(), after the
 * previous exit is completed.  With IF=0 (or while another accepted vector
 * is still undelivered) the vector is held (one slot, a newer one replaces
 * it) and the first boundary with IF=1 (after STI's one-instruction shadow;
 * IRETQ/POPF take effect at once) exits HV_EXIT_IRQ_WINDOW with rip = the
 * next instruction; the held vector is dropped then - the core injects it
 * again.  (If the completion of the previous exit clears IF - #GP through
 * an interrupt gate - an accepted vector waits, without exiting, until IF
 * is 1 again.)
 *
 * 8-bit registers: without REX, register numbers 4-7 are AH, CH, DH, BH;
 * with any REX prefix they are SPL, BPL, SIL, DIL (as on hardware).
 *
 * Instruction subset (64-bit mode; ModRM with SIB, disp8/disp32 and
 * RIP-relative everywhere; 66 = 16-bit operands where it makes sense;
 * F2/F3, CS/DS/ES/SS overrides are ignored; FS/GS overrides, 67 and LOCK
 * are #UD):
 *   ALU 00-3D (ADD OR ADC SBB AND SUB XOR CMP, all forms and sizes),
 *   80/81/83 group 1, 84/85/A8/A9 TEST, 88/89/8A/8B/C6/C7/B0-BF MOV,
 *   8D LEA, 63 MOVSXD, 0F B6/B7/BE/BF MOVZX/MOVSX, 0F 40-4F CMOVcc,
 *   0F 90-9F SETcc, 0F AF / 69 / 6B IMUL, 98/99 CBW..CQO, 90+r XCHG/NOP,
 *   F3 90 PAUSE, 0F 18-1F hint NOPs (incl. NOP r/m, ENDBR64),
 *   C0/C1/D0-D3 SHL/SHR/SAR, F6/F7 TEST/NOT/NEG, FE/FF INC/DEC,
 *   FF /2 CALL, /4 JMP, /6 PUSH r/m64, 50-5F PUSH/POP, 68/6A PUSH imm,
 *   9C/9D PUSHF/POPF, C9 LEAVE, E8 CALL, C3/C2 RET, E9/EB JMP,
 *   70-7F/0F 80-8F Jcc (all 16 conditions), E0/E1/E2 LOOPNE/LOOPE/LOOP,
 *   E3 JRCXZ,
 *   F5/F8/F9/FC/FD CMC/CLC/STC/CLD/STD, FA CLI, FB STI, F4 HLT,
 *   CC INT3, CD INT n, 48 CF IRETQ, 0F 0B UD2, 0F 31 RDTSC,
 *   E4-E7/EC-EF IN/OUT, 0F 30/32 WRMSR/RDMSR, 0F A2 CPUID, 0F 20/22 MOV
 *   CRn (0, 2, 3, 4, 8; the mod bits are ignored, as on hardware),
 *   0F 21/23 MOV DRn (0-7; DR6 and DR7 start at their reset values),
 *   0F 01 /0 /1 /2 /3 SGDT/SIDT/LGDT/LIDT, /7 INVLPG,
 *   0F 01 C8/C9 MONITOR/MWAIT, 0F 08/09 INVD/WBINVD.
 * Everything else is #UD (notably MUL/DIV, rotates, string instructions,
 * XCHG with memory, SYSCALL, segment loads).  Stack accesses and the
 * LIDT/LGDT/SIDT/SGDT operands must be in RAM (#PF otherwise, never
 * MMIO); so must the IDT (else SHUTDOWN).  Flags an instruction computes
 * before an MMIO store stay set if the core faults that store.
 */
#include "backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HV_SIM_EXIT_COST 400

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* lazy flags: the last flag-setting operation */
enum { LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC,
       LF_SHL, LF_SHR, LF_SAR, LF_MUL };

#define PEND_NONE (-1)

struct hv_vm {
	uint8_t *mem;
	uint64_t mem_size;
};

struct hv_vcpu {
	uint64_t r[X86_NGPR];   /* by enum x86_reg */
	uint64_t rip;
	/* Non-arithmetic RFLAGS bits always; the arithmetic ones only while
	 * lf_op == LF_NONE, else they follow from lf_*. */
	uint64_t rflags;
	uint64_t lf_res, lf_a, lf_b; /* operands and result, masked to size */
	uint8_t lf_op, lf_sb, lf_cin; /* op, sign bit index, carry in / CF / OF */

	uint8_t ev;             /* boundary work: replay | shadow | IF && irq */
	uint8_t shadow;         /* STI shadow: block at the next boundary */
	uint8_t replay;         /* re-executing an MMIO load: no boundary check */
	uint8_t acc_valid, acc_vec;   /* accepted: deliver when IF=1 */
	uint8_t held_valid, held_vec; /* held: IRQ_WINDOW when IF=1 */
	uint8_t nmi;            /* an NMI to deliver at the next boundary, IF or not */
	uint8_t shutdown;

	uint64_t tsc;
	uint64_t tsc_offset;    /* the guest's RDTSC reads tsc + tsc_offset */
	uint64_t kick;          /* HV_EXIT_KICK at the first boundary at or after it */
	uint64_t efer, apic_base;
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t cr[16];
	uint64_t dr[8];         /* DR4/DR5 are their own registers here (CR4.DE is not modelled) */
	uint64_t idt_base, gdt_base;
	uint16_t idt_limit, gdt_limit;
	unsigned index;

	/* the exit the core is handling */
	int pend_kind;          /* enum hv_exit_kind or PEND_NONE */
	uint8_t pend_write, pend_size, pend_reg;
	uint64_t pend_rip, pend_next, pend_addr;

	/* a completed MMIO load, for the re-executed instruction */
	uint8_t mmio_valid, mmio_size;
	uint64_t mmio_rip, mmio_addr, mmio_val;

	uint64_t sd_rip, sd_tsc; /* the SHUTDOWN exit, repeated */
};

/* ---- little helpers ----------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define LE16(x) __builtin_bswap16(x)
#define LE32(x) __builtin_bswap32(x)
#define LE64(x) __builtin_bswap64(x)
#else
#define LE16(x) (x)
#define LE32(x) (x)
#define LE64(x) (x)
#endif

static inline uint64_t ld16(const uint8_t *p) { uint16_t x; memcpy(&x, p, 2); return LE16(x); }
static inline uint64_t ld32(const uint8_t *p) { uint32_t x; memcpy(&x, p, 4); return LE32(x); }
static inline uint64_t ld64(const uint8_t *p) { uint64_t x; memcpy(&x, p, 8); return LE64(x); }
static inline void st16(uint8_t *p, uint64_t v) { uint16_t x = LE16((uint16_t)v); memcpy(p, &x, 2); }
static inline void st32(uint8_t *p, uint64_t v) { uint32_t x = LE32((uint32_t)v); memcpy(p, &x, 4); }
static inline void st64(uint8_t *p, uint64_t v) { uint64_t x = LE64(v); memcpy(p, &x, 8); }

static inline uint64_t ldn(const uint8_t *p, unsigned sz)
{
	switch (sz) {
	case 1: return *p;
	case 2: return ld16(p);
	case 4: return ld32(p);
	default: return ld64(p);
	}
}

static inline void stn(uint8_t *p, unsigned sz, uint64_t v)
{
	switch (sz) {
	case 1: *p = (uint8_t)v; break;
	case 2: st16(p, v); break;
	case 4: st32(p, v); break;
	default: st64(p, v); break;
	}
}

static inline uint64_t mask_of(unsigned sz)
{
	return sz >= 8 ? ~0ull : (1ull << (sz * 8)) - 1;
}

static inline uint64_t sext(uint64_t x, unsigned sz)
{
	switch (sz) {
	case 1: return (uint64_t)(int64_t)(int8_t)x;
	case 2: return (uint64_t)(int64_t)(int16_t)x;
	case 4: return (uint64_t)(int64_t)(int32_t)x;
	default: return x;
	}
}

static inline int ram_ok(const struct hv_vcpu *v, uint64_t a, uint64_t n)
{
	return a < v->mem_size && v->mem_size - a >= n;
}

static inline int mmio_ok(uint64_t a, uint64_t n)
{
	return a >= HV_MMIO_BASE && a < HV_MMIO_END && HV_MMIO_END - a >= n;
}

/* register n (0-15) at size sz; 8-bit AH..BH without REX */
static inline uint64_t rdr(const uint64_t *R, unsigned n, unsigned sz, unsigned rex)
{
	switch (sz) {
	case 8: return R[n];
	case 4: return (uint32_t)R[n];
	case 2: return (uint16_t)R[n];
	default:
		if (!rex && n >= 4 && n < 8)
			return (R[n - 4] >> 8) & 0xff;
		return R[n] & 0xff;
	}
}

static inline void wrr(uint64_t *R, unsigned n, unsigned sz, unsigned rex, uint64_t val)
{
	switch (sz) {
	case 8: R[n] = val; break;
	case 4: R[n] = (uint32_t)val; break;
	case 2: R[n] = (R[n] & ~0xffffull) | (val & 0xffff); break;
	default:
		if (!rex && n >= 4 && n < 8)
			R[n - 4] = (R[n - 4] & ~0xff00ull) | ((val & 0xff) << 8);
		else
			R[n] = (R[n] & ~0xffull) | (val & 0xff);
		break;
	}
}

/* ---- flags ---------------------------------------------------------------- */

static inline void setlf(struct hv_vcpu *v, unsigned op, unsigned sz, uint64_t a, uint64_t b,
			 uint64_t res, unsigned cin)
{
	v->lf_op = (uint8_t)op;
	v->lf_sb = (uint8_t)(sz * 8 - 1);
	v->lf_a = a;
	v->lf_b = b;
	v->lf_res = res;
	v->lf_cin = (uint8_t)cin;
}

static inline __attribute__((always_inline)) unsigned get_cf(const struct hv_vcpu *v)
{
	unsigned bits;

	switch (v->lf_op) {
	case LF_NONE: return (unsigned)(v->rflags & RFLAGS_CF);
	case LF_ADD: return v->lf_res < v->lf_a;
	case LF_ADC: return v->lf_cin ? v->lf_res <= v->lf_a : v->lf_res < v->lf_a;
	case LF_SUB: return v->lf_a < v->lf_b;
	case LF_SBB: return v->lf_cin ? v->lf_a <= v->lf_b : v->lf_a < v->lf_b;
	case LF_INC: case LF_DEC: case LF_MUL: return v->lf_cin;
	case LF_SHL:
		bits = v->lf_sb + 1u;
		return v->lf_b <= bits ? (unsigned)(v->lf_a >> (bits - v->lf_b)) & 1 : 0;
	case LF_SHR: return (unsigned)(v->lf_a >> (v->lf_b - 1)) & 1;
	case LF_SAR: return (unsigned)((int64_t)sext(v->lf_a, (v->lf_sb + 1u) / 8) >> (v->lf_b - 1)) & 1;
	default: return 0;
	}
}

static inline unsigned get_zf(const struct hv_vcpu *v)
{
	if (v->lf_op == LF_NONE)
		return (v->rflags & RFLAGS_ZF) != 0;
	return v->lf_res == 0;
}

static inline unsigned get_sf(const struct hv_vcpu *v)
{
	if (v->lf_op == LF_NONE)
		return (v->rflags & RFLAGS_SF) != 0;
	return (unsigned)(v->lf_res >> v->lf_sb) & 1;
}

static inline unsigned get_of(const struct hv_vcpu *v)
{
	switch (v->lf_op) {
	case LF_NONE: return (v->rflags & RFLAGS_OF) != 0;
	case LF_ADD: case LF_ADC: case LF_INC:
		return (unsigned)(((v->lf_a ^ v->lf_res) & (v->lf_b ^ v->lf_res)) >> v->lf_sb) & 1;
	case LF_SUB: case LF_SBB: case LF_DEC:
		return (unsigned)(((v->lf_a ^ v->lf_b) & (v->lf_a ^ v->lf_res)) >> v->lf_sb) & 1;
	case LF_SHL: return ((unsigned)(v->lf_res >> v->lf_sb) & 1) ^ get_cf(v);
	case LF_SHR: return (unsigned)(v->lf_a >> v->lf_sb) & 1;
	case LF_MUL: return v->lf_cin;
	default: return 0;
	}
}

static inline unsigned get_pf(const struct hv_vcpu *v)
{
	if (v->lf_op == LF_NONE)
		return (v->rflags & RFLAGS_PF) != 0;
	return !__builtin_parityll(v->lf_res & 0xff);
}

static inline unsigned get_af(const struct hv_vcpu *v)
{
	switch (v->lf_op) {
	case LF_NONE: return (v->rflags & RFLAGS_AF) != 0;
	case LF_ADD: case LF_ADC: case LF_SUB: case LF_SBB: case LF_INC: case LF_DEC:
		return (unsigned)((v->lf_a ^ v->lf_b ^ v->lf_res) >> 4) & 1;
	default: return 0;
	}
}

static uint64_t flags_get(const struct hv_vcpu *v)
{
	uint64_t f;

	if (v->lf_op == LF_NONE)
		return v->rflags;
	f = v->rflags & ~RFLAGS_ARITH;
	f |= get_cf(v) ? RFLAGS_CF : 0;
	f |= get_pf(v) ? RFLAGS_PF : 0;
	f |= get_af(v) ? RFLAGS_AF : 0;
	f |= get_zf(v) ? RFLAGS_ZF : 0;
	f |= get_sf(v) ? RFLAGS_SF : 0;
	f |= get_of(v) ? RFLAGS_OF : 0;
	return f;
}

static inline void flags_commit(struct hv_vcpu *v)
{
	v->rflags = flags_get(v);
	v->lf_op = LF_NONE;
}

static inline __attribute__((always_inline)) int cond(const struct hv_vcpu *v, unsigned cc)
{
	unsigned r;

	switch (cc >> 1) {
	case 0: r = get_of(v); break;
	case 1: r = get_cf(v); break;
	case 2: r = get_zf(v); break;
	case 3: r = get_cf(v) | get_zf(v); break;
	case 4: r = get_sf(v); break;
	case 5: r = get_pf(v); break;
	case 6: r = get_sf(v) ^ get_of(v); break;
	default: r = get_zf(v) | (get_sf(v) ^ get_of(v)); break;
	}
	return (int)(r ^ (cc & 1));
}

/* ADD OR ADC SBB AND SUB XOR CMP on masked operands; result masked */
static inline uint64_t alu(struct hv_vcpu *v, unsigned op, unsigned sz, uint64_t a, uint64_t b)
{
	uint64_t m = mask_of(sz), r;
	unsigned cin;

	switch (op & 7) {
	case 0: r = (a + b) & m; setlf(v, LF_ADD, sz, a, b, r, 0); break;
	case 1: r = a | b; setlf(v, LF_LOGIC, sz, a, b, r, 0); break;
	case 2: cin = get_cf(v); r = (a + b + cin) & m; setlf(v, LF_ADC, sz, a, b, r, cin); break;
	case 3: cin = get_cf(v); r = (a - b - cin) & m; setlf(v, LF_SBB, sz, a, b, r, cin); break;
	case 4: r = a & b; setlf(v, LF_LOGIC, sz, a, b, r, 0); break;
	case 6: r = a ^ b; setlf(v, LF_LOGIC, sz, a, b, r, 0); break;
	default: r = (a - b) & m; setlf(v, LF_SUB, sz, a, b, r, 0); break; /* SUB, CMP */
	}
	return r;
}

/* ---- interrupts ------------------------------------------------------------ */

static inline void update_ev(struct hv_vcpu *v)
{
	v->ev = (uint8_t)(v->replay | v->shadow | v->nmi |
			  ((v->rflags & RFLAGS_IF) && (v->acc_valid | v->held_valid)));
}

/* Deliver `vec` through the IDT with return address ret_rip.  0, or -1 on a
 * fault during delivery (the caller shuts the VP down). */
static int deliver(struct hv_vcpu *v, unsigned vec, int has_err, uint64_t ret_rip)
{
	uint64_t off = (uint64_t)vec * 16, ga, handler, fl, old_rsp, sp;
	unsigned frame = has_err ? 48 : 40;
	const uint8_t *g;
	uint8_t *s;
	uint8_t type;

	if (off + 15 > v->idt_limit)
		return -1;
	ga = v->idt_base + off;
	if (!ram_ok(v, ga, 16))
		return -1;
	g = v->mem + ga;
	type = g[5];
	if (!(type & IDT_PRESENT) || ((type & 0xf) != IDT_INTERRUPT_GATE && (type & 0xf) != IDT_TRAP_GATE))
		return -1;
	handler = ld16(g) | ld16(g + 6) << 16 | ld32(g + 8) << 32;

	fl = flags_get(v);
	old_rsp = v->r[RSP];
	sp = (old_rsp & ~0xfull) - frame;
	if (!ram_ok(v, sp, frame))
		return -1;
	s = v->mem + sp;
	if (has_err) {
		st64(s, 0);
		s += 8;
	}
	st64(s, ret_rip);
	st64(s + 8, SEL_CODE64);
	st64(s + 16, fl);
	st64(s + 24, old_rsp);
	st64(s + 32, SEL_DATA);

	v->r[RSP] = sp;
	fl &= ~(RFLAGS_TF | RFLAGS_NT);
	if ((type & 0xf) == IDT_INTERRUPT_GATE)
		fl &= ~RFLAGS_IF;
	v->rflags = fl | RFLAGS_FIXED;
	v->lf_op = LF_NONE;
	v->shadow = 0;
	v->mmio_valid = 0;
	v->rip = handler;
	update_ev(v);
	return 0;
}

static void fill_exit(struct hv_exit *ex, enum hv_exit_kind kind, uint64_t rip, uint64_t tsc)
{
	memset(ex, 0, sizeof(*ex));
	ex->kind = kind;
	ex->rip = rip;
	ex->tsc = tsc;
}

/* Triple fault at `rip` (TSC `tsc` at that point). */
static void go_shutdown(struct hv_vcpu *v, struct hv_exit *ex, uint64_t rip, uint64_t tsc)
{
	v->shutdown = 1;
	v->sd_rip = rip;
	v->sd_tsc = tsc;
	v->pend_kind = PEND_NONE;
	v->rip = rip;
	v->tsc = tsc + HV_SIM_EXIT_COST;
	fill_exit(ex, HV_EXIT_SHUTDOWN, rip, tsc);
}

/* Work at an instruction boundary (only when v->ev).  0: execute the next
 * instruction; 1: an interrupt was delivered, check again; -1: exit filled. */
static int boundary(struct hv_vcpu *v, struct hv_exit *ex, uint64_t *rip, uint64_t *tsc)
{
	if (v->replay) {
		v->replay = 0;
		update_ev(v);
		return 0;
	}
	if (v->shadow) {
		v->shadow = 0;
		update_ev(v);
		return 0;
	}
	if (v->nmi) { /* not masked by IF (NMI blocking until IRET is not modelled) */
		v->nmi = 0;
		if (deliver(v, HVLOG_EXCEPTION_NMI, 0, *rip) < 0) {
			go_shutdown(v, ex, *rip, *tsc);
			*tsc = v->tsc;
			return -1;
		}
		*rip = v->rip;
		return 1;
	}
	if (v->rflags & RFLAGS_IF) {
		if (v->acc_valid) {
			v->acc_valid = 0;
			if (deliver(v, v->acc_vec, 0, *rip) < 0) {
				go_shutdown(v, ex, *rip, *tsc);
				*tsc = v->tsc;
				return -1;
			}
			*rip = v->rip;
			return 1;
		}
		if (v->held_valid) {
			v->held_valid = 0;
			update_ev(v);
			fill_exit(ex, HV_EXIT_IRQ_WINDOW, *rip, *tsc);
			v->pend_kind = HV_EXIT_IRQ_WINDOW;
			v->pend_rip = v->pend_next = *rip;
			*tsc += HV_SIM_EXIT_COST;
			return -1;
		}
	}
	update_ev(v);
	return 0;
}

/* ---- the interpreter -------------------------------------------------------- */

/* fetch: never past min(RAM end, instruction start + 15) */
#define FB() ({ if (unlikely(p >= pe)) goto fetch_fault; *p++; })
#define FN(T) ({ T x_; if (unlikely((size_t)(pe - p) < sizeof(T))) { p = pe; goto fetch_fault; } \
		 memcpy(&x_, p, sizeof(T)); p += sizeof(T); x_; })
#define F16() ((uint64_t)LE16(FN(uint16_t)))
#define F32() ((uint64_t)LE32(FN(uint32_t)))
#define F64() ((uint64_t)LE64(FN(uint64_t)))
#define S8() ((uint64_t)(int64_t)(int8_t)FB())
#define S32() ((uint64_t)(int64_t)(int32_t)F32())
/* immediate of operand size sz (imm32 sign-extended for 64) */
#define IMMZ(sz) ((sz) == 1 ? (uint64_t)FB() : (sz) == 2 ? F16() : (sz) == 4 ? F32() : S32())

#define END() (irip + (uint64_t)(p - ib))

#define MODRM() do {								\
	struct x86_modrm m_;							\
	size_t n_ = x86_modrm(p, (size_t)(pe - p), rex, &m_);			\
	if (unlikely(!n_)) {							\
		p = pe;								\
		goto fetch_fault;						\
	}									\
	p += n_;								\
	modrm = m_.modrm;							\
	mod = m_.mod;								\
	reg = m_.reg;								\
	rmreg = m_.rm;								\
	riprel = m_.riprel;							\
	if (mod != 3)								\
		ea = x86_ea(&m_, R);						\
} while (0)

/* the effective address: only after the whole instruction is fetched */
#define EA() (riprel ? ea + END() : ea)

#define RAM(a, n) ((a) < msz && msz - (a) >= (n))

#define MREAD(addr, sz, out) do {						\
	uint64_t ra_ = (addr);							\
	unsigned rn_ = (sz);							\
	if (likely(RAM(ra_, rn_))) {						\
		(out) = ldn(mem + ra_, rn_);					\
	} else if (mmio_ok(ra_, rn_)) {						\
		if (v->mmio_valid && v->mmio_rip == irip &&			\
		    v->mmio_addr == ra_ && v->mmio_size == rn_) {		\
			(out) = v->mmio_val;					\
			v->mmio_valid = 0;					\
		} else {							\
			x_addr = ra_;						\
			x_size = rn_;						\
			goto mmio_read;						\
		}								\
	} else {								\
		fault_addr = ra_;						\
		goto pf;							\
	}									\
} while (0)

/* a memory write is always the last effect of an instruction */
#define MWRITE(addr, sz, val) do {						\
	uint64_t wa_ = (addr), wv_ = (val);					\
	unsigned wn_ = (sz);							\
	if (likely(RAM(wa_, wn_))) {						\
		stn(mem + wa_, wn_, wv_);					\
	} else if (mmio_ok(wa_, wn_)) {						\
		x_addr = wa_;							\
		x_size = wn_;							\
		x_data = wv_;							\
		goto mmio_write;						\
	} else {								\
		fault_addr = wa_;						\
		goto pf;							\
	}									\
} while (0)

#define RM_READ(sz, out) do {							\
	if (mod == 3)								\
		(out) = rdr(R, rmreg, (sz), rex);				\
	else									\
		MREAD(EA(), (sz), (out));					\
} while (0)

#define RM_WRITE(sz, val) do {							\
	if (mod == 3)								\
		wrr(R, rmreg, (sz), rex, (val));				\
	else									\
		MWRITE(EA(), (sz), (val));					\
} while (0)

#define PUSH64(val) do {							\
	uint64_t ps_ = R[RSP] - 8, pv_ = (val);				\
	if (unlikely(!RAM(ps_, 8))) {						\
		fault_addr = ps_;						\
		goto pf;							\
	}									\
	st64(mem + ps_, pv_);							\
	R[RSP] = ps_;								\
} while (0)

#define POP64(out) do {								\
	uint64_t pp_ = R[RSP];							\
	if (unlikely(!RAM(pp_, 8))) {						\
		fault_addr = pp_;						\
		goto pf;							\
	}									\
	R[RSP] = pp_ + 8;							\
	(out) = ld64(mem + pp_);						\
} while (0)

static void interp(struct hv_vcpu *v, struct hv_exit *ex)
{
	uint64_t *const R = v->r;
	uint8_t *const mem = v->mem;
	const uint64_t msz = v->mem_size;
	uint64_t rip = v->rip, tsc = v->tsc;

	for (;;) {
		uint64_t irip, ea = 0, a = 0, c = 0, res, fault_addr = 0, x_addr = 0, x_data = 0, ret;
		const uint8_t *ib, *p, *pe;
		unsigned b, rex = 0, o16 = 0, osz, modrm = 0, mod = 0, reg = 0, rmreg = 0;
		unsigned riprel = 0, x_size = 0, x_write, vec, has_err, sz;

		/* the core's timer, for a guest that runs without exiting (never
		 * between an MMIO load and its re-execution) */
		if (unlikely(tsc >= v->kick) && !v->replay) {
			v->kick = UINT64_MAX;
			fill_exit(ex, HV_EXIT_KICK, rip, tsc);
			goto out;
		}
		if (unlikely(v->ev)) {
			int r = boundary(v, ex, &rip, &tsc);
			if (r < 0)
				goto out;
			if (r > 0)
				continue;
		}

		irip = rip;
		tsc++;
		if (unlikely(irip >= msz)) {
			fault_addr = irip;
			goto pf;
		}
		ib = p = mem + irip;
		pe = ib + (msz - irip < 15 ? msz - irip : 15);

		b = FB();
		if (unlikely(x86_prefix_kind((uint8_t)b) != X86_PX_NONE)) {
			/* F2/F3 are ignored; FS/GS, 67 and LOCK are #UD (even
			 * when the instruction then runs past what may be fetched) */
			struct x86_prefixes px;
			p += x86_prefixes(p - 1, (size_t)(pe - p + 1), &px) - 1;
			if (unlikely(px.kinds & (X86_PX_BIT(X86_PX_FSGS) | X86_PX_BIT(X86_PX_ADDRSIZE) |
						 X86_PX_BIT(X86_PX_LOCK))))
				goto ud;
			rex = px.rex;
			o16 = (px.kinds >> X86_PX_OPSIZE) & 1;
			b = FB();
		}
		osz = x86_opsize(rex, o16);

		switch (b) {
		/* ---- ALU ---- */
		case 0x00 ... 0x05: case 0x08 ... 0x0d: case 0x10 ... 0x15: case 0x18 ... 0x1d:
		case 0x20 ... 0x25: case 0x28 ... 0x2d: case 0x30 ... 0x35: case 0x38 ... 0x3d: {
			unsigned op = b >> 3, form = b & 7;
			uint64_t bv;

			sz = (form & 1) ? osz : 1;
			switch (form) {
			case 0: case 1: case 2: case 3: {
				/* forms 0-1: r/m op= reg; forms 2-3: reg op= r/m */
				uint64_t rm, rg;

				MODRM();
				RM_READ(sz, rm);
				rg = rdr(R, reg, sz, rex);
				a = form & 2 ? rg : rm;
				bv = form & 2 ? rm : rg;
				res = alu(v, op, sz, a, bv);
				if (op == 7)
					break;
				if (form & 2)
					wrr(R, reg, sz, rex, res);
				else
					RM_WRITE(sz, res);
				break;
			}
			default:
				bv = IMMZ(sz) & mask_of(sz);
				a = rdr(R, RAX, sz, rex);
				res = alu(v, op, sz, a, bv);
				if (op != 7)
					wrr(R, RAX, sz, rex, res);
				break;
			}
			goto next;
		}
		case 0x80: case 0x81: case 0x83: {
			uint64_t bv;

			sz = b == 0x80 ? 1 : osz;
			MODRM();
			bv = (b == 0x83 ? S8() : IMMZ(sz)) & mask_of(sz);
			RM_READ(sz, a);
			res = alu(v, (modrm >> 3) & 7, sz, a, bv);
			if (((modrm >> 3) & 7) != 7)
				RM_WRITE(sz, res);
			goto next;
		}
		case 0x84: case 0x85:
			sz = b == 0x84 ? 1 : osz;
			MODRM();
			RM_READ(sz, a);
			c = rdr(R, reg, sz, rex);
			setlf(v, LF_LOGIC, sz, a, c, a & c, 0);
			goto next;
		case 0xa8: case 0xa9:
			sz = b == 0xa8 ? 1 : osz;
			c = IMMZ(sz) & mask_of(sz);
			a = rdr(R, RAX, sz, rex);
			setlf(v, LF_LOGIC, sz, a, c, a & c, 0);
			goto next;

		/* ---- moves ---- */
		case 0x88: case 0x89:
			sz = b == 0x88 ? 1 : osz;
			MODRM();
			RM_WRITE(sz, rdr(R, reg, sz, rex));
			goto next;
		case 0x8a: case 0x8b:
			sz = b == 0x8a ? 1 : osz;
			MODRM();
			RM_READ(sz, a);
			wrr(R, reg, sz, rex, a);
			goto next;
		case 0xc6: case 0xc7:
			sz = b == 0xc6 ? 1 : osz;
			MODRM();
			if (((modrm >> 3) & 7) != 0)
				goto ud;
			c = IMMZ(sz);
			RM_WRITE(sz, c);
			goto next;
		case 0xb0 ... 0xb7:
			c = FB();
			wrr(R, x86_opreg(b, rex), 1, rex, c);
			goto next;
		case 0xb8 ... 0xbf:
			c = osz == 8 ? F64() : osz == 4 ? F32() : F16();
			wrr(R, x86_opreg(b, rex), osz, rex, c);
			goto next;
		case 0x8d:
			MODRM();
			if (mod == 3)
				goto ud;
			wrr(R, reg, osz, rex, EA());
			goto next;
		case 0x63:
			MODRM();
			RM_READ(4, a);
			wrr(R, reg, osz, rex, osz == 8 ? sext(a, 4) : a);
			goto next;
		case 0x90 ... 0x97: {
			unsigned n = x86_opreg(b, rex);

			if (n != 0) { /* XCHG rAX, r */
				c = rdr(R, n, osz, rex);
				wrr(R, n, osz, rex, rdr(R, RAX, osz, rex));
				wrr(R, RAX, osz, rex, c);
			}
			goto next; /* NOP, PAUSE */
		}
		case 0x98:
			if (osz == 8)
				R[RAX] = sext((uint32_t)R[RAX], 4);
			else if (osz == 4)
				R[RAX] = (uint32_t)sext((uint16_t)R[RAX], 2);
			else
				wrr(R, RAX, 2, rex, sext(R[RAX] & 0xff, 1));
			goto next;
		case 0x99:
			c = (uint64_t)((int64_t)sext(rdr(R, RAX, osz, rex), osz) >> 63);
			wrr(R, RDX, osz, rex, c);
			goto next;

		/* ---- shifts, group 3, inc/dec ---- */
		case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
			unsigned op, cnt;

			sz = (b & 1) ? osz : 1;
			MODRM();
			op = (modrm >> 3) & 7;
			if (op < 4)
				goto ud; /* rotates */
			if (b <= 0xc1)
				cnt = FB();
			else if (b <= 0xd1)
				cnt = 1;
			else
				cnt = (unsigned)R[RCX] & 0xff;
			cnt &= sz == 8 ? 63 : 31;
			RM_READ(sz, a);
			if (cnt == 0) {
				if (mod == 3)
					wrr(R, rmreg, sz, rex, a);
				goto next;
			}
			if (op == 5) {
				res = a >> cnt;
				setlf(v, LF_SHR, sz, a, cnt, res, 0);
			} else if (op == 7) {
				res = (uint64_t)((int64_t)sext(a, sz) >> cnt) & mask_of(sz);
				setlf(v, LF_SAR, sz, a, cnt, res, 0);
			} else { /* 4 SHL, 6 SAL */
				res = cnt < 64 ? (a << cnt) & mask_of(sz) : 0;
				setlf(v, LF_SHL, sz, a, cnt, res, 0);
			}
			RM_WRITE(sz, res);
			goto next;
		}
		case 0xf6: case 0xf7: {
			unsigned op;
			uint64_t m;

			sz = b == 0xf6 ? 1 : osz;
			m = mask_of(sz);
			MODRM();
			op = (modrm >> 3) & 7;
			if (op <= 1) {
				c = IMMZ(sz) & m;
				RM_READ(sz, a);
				setlf(v, LF_LOGIC, sz, a, c, a & c, 0);
				goto next;
			}
			if (op > 3)
				goto ud; /* MUL IMUL DIV IDIV */
			RM_READ(sz, a);
			if (op == 2) {
				res = ~a & m;
			} else {
				res = (0 - a) & m;
				setlf(v, LF_SUB, sz, 0, a, res, 0);
			}
			RM_WRITE(sz, res);
			goto next;
		}
		case 0xfe: case 0xff: {
			unsigned op, cin;

			sz = b == 0xfe ? 1 : osz;
			MODRM();
			op = (modrm >> 3) & 7;
			if (op <= 1) {
				RM_READ(sz, a);
				cin = get_cf(v);
				if (op == 0) {
					res = (a + 1) & mask_of(sz);
					setlf(v, LF_INC, sz, a, 1, res, cin);
				} else {
					res = (a - 1) & mask_of(sz);
					setlf(v, LF_DEC, sz, a, 1, res, cin);
				}
				RM_WRITE(sz, res);
				goto next;
			}
			if (b == 0xfe)
				goto ud;
			if (op == 2 || op == 4) { /* CALL / JMP r/m64 */
				RM_READ(8, c);
				if (op == 2)
					PUSH64(END());
				rip = c;
				continue;
			}
			if (op == 6) { /* PUSH r/m64 */
				RM_READ(8, c);
				PUSH64(c);
				goto next;
			}
			goto ud;
		}

		/* ---- stack ---- */
		case 0x50 ... 0x57:
			if (o16)
				goto ud;
			PUSH64(R[x86_opreg(b, rex)]);
			goto next;
		case 0x58 ... 0x5f:
			if (o16)
				goto ud;
			POP64(c);
			R[x86_opreg(b, rex)] = c;
			goto next;
		case 0x68:
			c = S32();
			PUSH64(c);
			goto next;
		case 0x6a:
			c = S8();
			PUSH64(c);
			goto next;
		case 0xc9: { /* LEAVE */
			uint64_t fp = R[RBP];

			if (unlikely(!RAM(fp, 8))) {
				fault_addr = fp;
				goto pf;
			}
			R[RSP] = fp + 8;
			R[RBP] = ld64(mem + fp);
			goto next;
		}
		case 0x9c:
			PUSH64(flags_get(v));
			goto next;
		case 0x9d:
			POP64(c);
			v->rflags = (c & RFLAGS_LOADABLE) | RFLAGS_FIXED;
			v->lf_op = LF_NONE;
			update_ev(v);
			goto next;

		/* ---- multiply ---- */
		case 0x69: case 0x6b: {
			__int128 full;

			MODRM();
			c = b == 0x6b ? S8() : IMMZ(osz == 8 ? 8 : osz);
			RM_READ(osz, a);
			goto imul;
		imul:
			full = (__int128)(int64_t)sext(a, osz) * (int64_t)sext(c & mask_of(osz), osz);
			res = (uint64_t)full & mask_of(osz);
			setlf(v, LF_MUL, osz, a, c, res, (__int128)(int64_t)sext(res, osz) != full);
			wrr(R, reg, osz, rex, res);
			goto next;
		}

		/* ---- control flow ---- */
		case 0x70 ... 0x7f:
			c = S8();
			rip = cond(v, b & 15) ? END() + c : END();
			continue;
		case 0xe0: case 0xe1: case 0xe2: { /* LOOPNE LOOPE LOOP */
			int take;

			c = S8();
			R[RCX]--;
			take = R[RCX] != 0;
			if (b == 0xe0)
				take = take && !get_zf(v);
			else if (b == 0xe1)
				take = take && get_zf(v);
			rip = take ? END() + c : END();
			continue;
		}
		case 0xe3:
			c = S8();
			rip = R[RCX] == 0 ? END() + c : END();
			continue;
		case 0xe8:
			c = S32();
			PUSH64(END());
			rip = END() + c;
			continue;
		case 0xe9:
			c = S32();
			rip = END() + c;
			continue;
		case 0xeb:
			c = S8();
			rip = END() + c;
			continue;
		case 0xc3:
			POP64(rip);
			continue;
		case 0xc2:
			c = F16();
			POP64(a);
			R[RSP] += c;
			rip = a;
			continue;
		case 0xcc:
			vec = HVLOG_EXCEPTION_BP;
			goto soft_int;
		case 0xcd:
			vec = FB();
			goto soft_int;
		case 0xcf: { /* IRETQ */
			uint64_t sp = R[RSP];

			if (!(rex & REX_W))
				goto ud;
			if (!RAM(sp, 40)) {
				fault_addr = sp;
				goto pf;
			}
			rip = ld64(mem + sp);
			v->rflags = (ld64(mem + sp + 16) & RFLAGS_LOADABLE) | RFLAGS_FIXED;
			v->lf_op = LF_NONE;
			R[RSP] = ld64(mem + sp + 24);
			update_ev(v);
			continue;
		}

		/* ---- flags ---- */
		case 0xf5:
			flags_commit(v);
			v->rflags ^= RFLAGS_CF;
			goto next;
		case 0xf8: case 0xf9:
			flags_commit(v);
			v->rflags = (v->rflags & ~RFLAGS_CF) | (b & 1);
			goto next;
		case 0xfc:
			v->rflags &= ~RFLAGS_DF;
			goto next;
		case 0xfd:
			v->rflags |= RFLAGS_DF;
			goto next;
		case 0xfa:
			v->rflags &= ~RFLAGS_IF;
			update_ev(v);
			goto next;
		case 0xfb:
			if (!(v->rflags & RFLAGS_IF)) {
				v->rflags |= RFLAGS_IF;
				v->shadow = 1;
				update_ev(v);
			}
			goto next;

		/* ---- exits ---- */
		case 0xf4:
			fill_exit(ex, HV_EXIT_HLT, irip, tsc - 1);
			goto insn_exit;
		case 0xe4: case 0xe5: case 0xec: case 0xed:
		case 0xe6: case 0xe7: case 0xee: case 0xef: {
			unsigned port = (b & 8) ? (uint16_t)R[RDX] : FB();

			sz = (b & 1) ? (o16 ? 2 : 4) : 1;
			fill_exit(ex, HV_EXIT_IO, irip, tsc - 1);
			ex->port = (uint16_t)port;
			ex->size = (uint8_t)sz;
			ex->write = (b & 2) != 0;
			if (ex->write)
				ex->data = rdr(R, RAX, sz, rex);
			v->pend_write = ex->write;
			v->pend_size = (uint8_t)sz;
			goto insn_exit;
		}

		case 0x0f:
			b = FB();
			switch (b) {
			case 0x01:
				MODRM();
				if (mod == 3) {
					if (modrm == 0xc8) { /* MONITOR */
						fill_exit(ex, HV_EXIT_MONITOR, irip, tsc - 1);
						ex->addr = R[RAX];
						goto insn_exit;
					}
					if (modrm == 0xc9) { /* MWAIT */
						fill_exit(ex, HV_EXIT_MWAIT, irip, tsc - 1);
						ex->cpuid[0] = (uint32_t)R[RAX];
						ex->cpuid[2] = (uint32_t)R[RCX];
						goto insn_exit;
					}
					goto ud;
				}
				switch ((modrm >> 3) & 7) {
				case 0: case 1: /* SGDT SIDT */
					a = EA();
					if (!RAM(a, 10)) {
						fault_addr = a;
						goto pf;
					}
					st16(mem + a, (modrm & 0x08) ? v->idt_limit : v->gdt_limit);
					st64(mem + a + 2, (modrm & 0x08) ? v->idt_base : v->gdt_base);
					goto next;
				case 2: case 3: /* LGDT LIDT */
					a = EA();
					if (!RAM(a, 10)) {
						fault_addr = a;
						goto pf;
					}
					if (modrm & 0x08) {
						v->idt_limit = (uint16_t)ld16(mem + a);
						v->idt_base = ld64(mem + a + 2);
					} else {
						v->gdt_limit = (uint16_t)ld16(mem + a);
						v->gdt_base = ld64(mem + a + 2);
					}
					goto next;
				case 7: /* INVLPG */
					fill_exit(ex, HV_EXIT_INVLPG, irip, tsc - 1);
					ex->addr = EA();
					goto insn_exit;
				default:
					goto ud;
				}
			case 0x08:
				fill_exit(ex, HV_EXIT_INVD, irip, tsc - 1);
				goto insn_exit;
			case 0x09: /* WBINVD */
				goto next;
			case 0x18 ... 0x1f: /* hint NOPs: NOP r/m, ENDBR64, PREFETCH */
				MODRM();
				goto next;
			case 0x20: case 0x22: {
				unsigned crn;

				/* the mod bits are ignored, as on hardware */
				MODRM();
				crn = reg;
				if (crn != HVLOG_CR_CR0 && crn != HVLOG_CR_CR2 && crn != HVLOG_CR_CR3 && crn != HVLOG_CR_CR4 &&
				    crn != HVLOG_CR_CR8)
					goto ud;
				fill_exit(ex, b == 0x20 ? HV_EXIT_CR_READ : HV_EXIT_CR_WRITE, irip, tsc - 1);
				ex->addr = crn;
				ex->data = b == 0x20 ? v->cr[crn] : R[rmreg];
				v->pend_addr = crn;
				v->pend_reg = (uint8_t)rmreg;
				goto insn_exit;
			}
			case 0x21: case 0x23: /* MOV r, DRn / MOV DRn, r */
				MODRM();
				if (reg > 7)
					goto ud;
				fill_exit(ex, HV_EXIT_DR, irip, tsc - 1);
				ex->addr = reg;
				ex->write = b == 0x23;
				ex->data = b == 0x21 ? v->dr[reg] : R[rmreg];
				v->pend_addr = reg;
				v->pend_reg = (uint8_t)rmreg;
				goto insn_exit;
			case 0x30:
				fill_exit(ex, HV_EXIT_MSR_WRITE, irip, tsc - 1);
				ex->addr = (uint32_t)R[RCX];
				ex->data = (R[RDX] << 32) | (uint32_t)R[RAX];
				goto insn_exit;
			case 0x31:
				R[RAX] = (uint32_t)(tsc - 1 + v->tsc_offset);
				R[RDX] = (tsc - 1 + v->tsc_offset) >> 32;
				goto next;
			case 0x32:
				fill_exit(ex, HV_EXIT_MSR_READ, irip, tsc - 1);
				ex->addr = (uint32_t)R[RCX];
				goto insn_exit;
			case 0x0b:
				goto ud;
			case 0x40 ... 0x4f:
				MODRM();
				RM_READ(osz, a);
				if (cond(v, b & 15))
					wrr(R, reg, osz, rex, a);
				else if (osz == 4)
					R[reg] = (uint32_t)R[reg];
				goto next;
			case 0x80 ... 0x8f:
				c = S32();
				rip = cond(v, b & 15) ? END() + c : END();
				continue;
			case 0x90 ... 0x9f:
				MODRM();
				RM_WRITE(1, (uint64_t)cond(v, b & 15));
				goto next;
			case 0xa2:
				fill_exit(ex, HV_EXIT_CPUID, irip, tsc - 1);
				ex->cpuid[0] = (uint32_t)R[RAX];
				ex->cpuid[2] = (uint32_t)R[RCX];
				goto insn_exit;
			case 0xaf:
				MODRM();
				RM_READ(osz, a);
				c = rdr(R, reg, osz, rex);
				goto imul;
			case 0xb6: case 0xb7: case 0xbe: case 0xbf:
				sz = (b & 1) ? 2 : 1;
				MODRM();
				RM_READ(sz, a);
				if (b & 8)
					a = sext(a, sz);
				wrr(R, reg, osz, rex, a);
				goto next;
			default:
				goto ud;
			}

		default:
			goto ud;
		}

	next:
		rip = END();
		continue;

	insn_exit:
		/* ex is filled; the instruction completes in the next run() */
		v->pend_kind = (int)ex->kind;
		v->pend_rip = irip;
		v->pend_next = END();
		tsc += HV_SIM_EXIT_COST;
		rip = irip;
		goto out;

	mmio_read:
		x_write = 0;
		goto mmio;
	mmio_write:
		x_write = 1;
	mmio:
		fill_exit(ex, HV_EXIT_MMIO, irip, tsc - 1);
		ex->addr = x_addr;
		ex->size = (uint8_t)x_size;
		ex->write = (uint8_t)x_write;
		ex->data = x_write ? x_data : 0;
		v->pend_kind = HV_EXIT_MMIO;
		v->pend_write = (uint8_t)x_write;
		v->pend_size = (uint8_t)x_size;
		v->pend_addr = x_addr;
		v->pend_rip = irip;
		/* a load is re-executed with the value, not counted again by
		 * the TSC; a store is done */
		v->pend_next = x_write ? END() : irip;
		tsc += x_write ? HV_SIM_EXIT_COST : HV_SIM_EXIT_COST - 1;
		rip = irip;
		goto out;

	fetch_fault:
		if (irip + (uint64_t)(pe - ib) < msz)
			goto gp; /* longer than 15 bytes */
		fault_addr = irip + (uint64_t)(pe - ib);
		goto pf;
	ud:
		vec = HVLOG_EXCEPTION_UD;
		has_err = 0;
		ret = irip;
		goto exception;
	gp:
		vec = HVLOG_EXCEPTION_GP;
		has_err = 1;
		ret = irip;
		goto exception;
	pf:
		v->cr[2] = fault_addr;
		vec = HVLOG_EXCEPTION_PF;
		has_err = 1;
		ret = irip;
		goto exception;
	soft_int:
		has_err = 0;
		ret = END();
		goto exception;
	exception:
		if (deliver(v, vec, (int)has_err, ret) < 0) {
			go_shutdown(v, ex, irip, tsc - 1);
			rip = v->rip;
			tsc = v->tsc;
			goto out;
		}
		rip = v->rip;
		continue;
	}
out:
	v->rip = rip;
	v->tsc = tsc;
}

/* Apply the core's answer to the pending exit.  0, or -1 after a shutdown. */
static int complete(struct hv_vcpu *v, struct hv_exit *ex)
{
	int kind = v->pend_kind;
	uint64_t *R = v->r;

	v->pend_kind = PEND_NONE;
	if (kind == PEND_NONE || kind == HV_EXIT_IRQ_WINDOW)
		return 0;
	if (ex->fault) {
		v->rip = v->pend_rip;
		v->mmio_valid = 0;
		if (deliver(v, HVLOG_EXCEPTION_GP, 1, v->pend_rip) < 0) {
			go_shutdown(v, ex, v->pend_rip, v->tsc);
			return -1;
		}
		return 0;
	}
	switch (kind) {
	case HV_EXIT_IO:
		if (!v->pend_write)
			wrr(R, RAX, v->pend_size, 0, ex->data);
		break;
	case HV_EXIT_MMIO:
		if (!v->pend_write) {
			v->mmio_valid = 1;
			v->mmio_rip = v->pend_rip;
			v->mmio_addr = v->pend_addr;
			v->mmio_size = v->pend_size;
			v->mmio_val = ex->data & mask_of(v->pend_size);
			v->replay = 1;
			update_ev(v);
		}
		break;
	case HV_EXIT_MSR_READ:
		R[RAX] = (uint32_t)ex->data;
		R[RDX] = ex->data >> 32;
		break;
	case HV_EXIT_CPUID:
		R[RAX] = ex->cpuid[0];
		R[RBX] = ex->cpuid[1];
		R[RCX] = ex->cpuid[2];
		R[RDX] = ex->cpuid[3];
		break;
	case HV_EXIT_CR_READ:
		R[v->pend_reg] = ex->data;
		break;
	case HV_EXIT_CR_WRITE:
		v->cr[v->pend_addr & 15] = ex->data;
		break;
	case HV_EXIT_DR:
		if (ex->write)
			v->dr[v->pend_addr & 7] = ex->data;
		else
			R[v->pend_reg] = ex->data;
		break;
	default: /* HLT MSR_WRITE INVLPG MWAIT INVD */
		break;
	}
	v->rip = v->pend_next;
	return 0;
}

/* ---- the backend interface ---------------------------------------------------- */

static int sim_probe(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	return 0;
}

static int sim_vm_create(struct hv_vm **out, void *mem, uint64_t mem_size, char *err, size_t errlen)
{
	struct hv_vm *vm;

	if (!out || !mem || !mem_size) {
		seterr(err, errlen, "sim: no guest memory");
		return -1;
	}
	if (mem_size > HV_MMIO_BASE) {
		seterr(err, errlen, "sim: guest memory (%llu bytes) overlaps device memory at %#llx",
		       (unsigned long long)mem_size, (unsigned long long)HV_MMIO_BASE);
		return -1;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		seterr(err, errlen, "sim: out of memory");
		return -1;
	}
	vm->mem = mem;
	vm->mem_size = mem_size;
	*out = vm;
	return 0;
}

static void sim_vm_destroy(struct hv_vm *vm)
{
	free(vm);
}

static int sim_vcpu_create(struct hv_vm *vm, unsigned index, const struct hv_vcpu_init *init,
			   struct hv_vcpu **out, char *err, size_t errlen)
{
	struct hv_vcpu *v;

	if (!vm || !init || !out) {
		seterr(err, errlen, "sim: vcpu_create: missing argument");
		return -1;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		seterr(err, errlen, "sim: out of memory");
		return -1;
	}
	v->mem = vm->mem;
	v->mem_size = vm->mem_size;
	v->index = index;
	v->rip = init->rip;
	v->r[RSP] = init->rsp;
	v->r[RDI] = init->rdi;
	v->r[RSI] = init->rsi;
	v->rflags = RFLAGS_FIXED;
	v->lf_op = LF_NONE;
	v->cr[0] = HV_GUEST_CR0;
	v->cr[3] = init->cr3;
	v->dr[6] = 0xffff0ff0;
	v->dr[7] = 0x400;
	v->cr[4] = HV_GUEST_CR4;
	v->efer = init->efer;
	v->apic_base = init->apic_base;
	v->tsc_offset = init->tsc_offset;
	v->kick = UINT64_MAX;
	v->idt_base = init->idt_base;
	v->idt_limit = init->idt_limit;
	v->gdt_base = init->gdt_base;
	v->gdt_limit = !init->gdt_base ? 0 : init->gdt_limit ? init->gdt_limit : 23;
	v->pend_kind = PEND_NONE;
	*out = v;
	return 0;
}

static void sim_vcpu_destroy(struct hv_vcpu *v)
{
	free(v);
}

static int sim_run(struct hv_vcpu *v, struct hv_exit *exit, char *err, size_t errlen)
{
	if (!v || !exit) {
		seterr(err, errlen, "sim: run: missing argument");
		return -1;
	}
	if (v->shutdown) {
		fill_exit(exit, HV_EXIT_SHUTDOWN, v->sd_rip, v->sd_tsc);
		return 0;
	}
	if (complete(v, exit) < 0)
		return 0;
	interp(v, exit);
	return 0;
}

static int sim_get_regs(struct hv_vcpu *v, struct hv_regs *regs)
{
	memcpy(regs->gpr, v->r, sizeof regs->gpr);
	regs->rip = v->rip;
	regs->rflags = flags_get(v);
	return 0;
}

static int sim_inject_irq(struct hv_vcpu *v, uint8_t vector)
{
	if (v->shutdown)
		return 0;
	if ((v->rflags & RFLAGS_IF) && !v->shadow && !v->acc_valid) {
		v->acc_valid = 1;
		v->acc_vec = vector;
		update_ev(v);
		return 1;
	}
	v->held_valid = 1;
	v->held_vec = vector;
	update_ev(v);
	return 0;
}

static int sim_inject_nmi(struct hv_vcpu *v)
{
	if (v->shutdown)
		return -1;
	v->nmi = 1;
	update_ev(v);
	return 0;
}

static int sim_cpu_msr(struct hv_vcpu *v, uint32_t index, uint64_t *value)
{
	if (index != HVLOG_MSR_IA32_EFER && index != HVLOG_MSR_IA32_APIC_BASE)
		return -1;
	*value = index == HVLOG_MSR_IA32_EFER ? v->efer : v->apic_base;
	return 0;
}

static int sim_kick_at(struct hv_vcpu *v, uint64_t when, uint64_t in_ns)
{
	(void)in_ns;
	v->kick = when ? when : UINT64_MAX;
	return 0;
}

static void sim_set_clock(struct hv_vcpu *v, uint64_t tsc)
{
	v->tsc = tsc;
}

#define HV_SIM_HZ 1000000000ull /* the virtual clock: 1 GHz */

/* Nothing host-dependent: no wall time, a fixed hypervisor image. */
static void sim_clock_info(struct hv_clock_info *out)
{
	*out = (struct hv_clock_info){
		.clock_name = "sim", .hz = HV_SIM_HZ, .epoch_ns = 0,
		.module_base = 0xfffff80000200000ull, .module_size = 0x180000u,
	};
}

const struct hv_backend hv_backend_sim = {
	.name = "sim",
	.native = (1ull << HV_EXIT_COUNT) - 1, /* it sees every exit itself */
	.probe = sim_probe,
	.vm_create = sim_vm_create,
	.vm_destroy = sim_vm_destroy,
	.vcpu_create = sim_vcpu_create,
	.vcpu_destroy = sim_vcpu_destroy,
	.run = sim_run,
	.get_regs = sim_get_regs,
	.inject_irq = sim_inject_irq,
	.inject_nmi = sim_inject_nmi,
	.cpu_msr = sim_cpu_msr,
	.kick_at = sim_kick_at,
	.set_clock = sim_set_clock,
	.clock_info = sim_clock_info,
	.now = NULL,               /* virtual: lock-stepped VPs */
	.exit_cost_ns = 300,
	.quantum = 20,
	.quantum_spread = 200,
};
