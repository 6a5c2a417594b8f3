/*
 * asm.c - encodings for asm.h.  ModRM memory operands are [base + disp8]
 * with base not RSP/R12 (which would need a SIB byte).
 */
#include <string.h>

#include "asm.h"

void as_init(struct as *a, uint8_t *buf, size_t cap, uint64_t base)
{
	memset(a, 0, sizeof *a);
	a->buf = buf;
	a->cap = cap;
	a->base = base;
}

void as_bytes(struct as *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(struct as *a, uint8_t b)
{
	as_bytes(a, &b, 1);
}

static void imm32(struct as *a, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	as_bytes(a, b, 4);
}

static void rex(struct as *a, int w, int reg, int rm)
{
	uint8_t r = (uint8_t)(0x40 | (w ? REX_W : 0) | ((reg & 8) ? REX_R : 0) | ((rm & 8) ? REX_B : 0));
	if (r != 0x40)
		byte(a, r);
}

static void modrm(struct as *a, int mod, int reg, int rm)
{
	byte(a, (uint8_t)(mod << 6 | (reg & 7) << 3 | (rm & 7)));
}

/* [base + disp8]: mod 01 always, so RBP/R13 bases work too. */
static void mem(struct as *a, int reg, enum x86_reg base, int8_t disp)
{
	modrm(a, 1, reg, base);
	byte(a, (uint8_t)disp);
}

int as_label(struct as *a)
{
	if (a->nlabels == AS_MAX_LABELS) {
		a->overflow = 1;
		return 0;
	}
	a->label[a->nlabels] = -1;
	return a->nlabels++;
}

void as_bind(struct as *a, int label)
{
	a->label[label] = (int64_t)a->len;
}

int as_here(struct as *a)
{
	int l = as_label(a);
	as_bind(a, l);
	return l;
}

uint64_t as_addr(const struct as *a, int label)
{
	return a->base + (uint64_t)a->label[label];
}

static void rel32(struct as *a, int label)
{
	if (a->nfixups == AS_MAX_FIXUPS) {
		a->overflow = 1;
		return;
	}
	a->fixup[a->nfixups].at = a->len;
	a->fixup[a->nfixups++].label = label;
	imm32(a, 0);
}

int as_finish(struct as *a)
{
	for (int i = 0; i < a->nfixups; i++) {
		size_t at = a->fixup[i].at;
		int64_t target = a->label[a->fixup[i].label];
		if (target < 0 || at + 4 > a->len)
			return -1;
		uint32_t d = (uint32_t)(target - (int64_t)(at + 4));
		memcpy(a->buf + at, &d, 4);
	}
	return a->overflow ? -1 : 0;
}

void as_mov_ri(struct as *a, enum x86_reg r, uint64_t imm)
{
	if (imm <= 0xffffffffu) {
		rex(a, 0, 0, r);
		byte(a, (uint8_t)(0xb8 + (r & 7)));
		imm32(a, (uint32_t)imm);
	} else {
		rex(a, 1, 0, r);
		byte(a, (uint8_t)(0xb8 + (r & 7)));
		imm32(a, (uint32_t)imm);
		imm32(a, (uint32_t)(imm >> 32));
	}
}

void as_mov_rr(struct as *a, enum x86_reg dst, enum x86_reg src)
{
	rex(a, 1, src, dst);
	byte(a, 0x89);
	modrm(a, 3, src, dst);
}

void as_alu_ri(struct as *a, int op, enum x86_reg r, int32_t imm)
{
	rex(a, 1, 0, r);
	byte(a, 0x81);
	modrm(a, 3, op, r);
	imm32(a, (uint32_t)imm);
}

void as_test_rr(struct as *a, enum x86_reg x, enum x86_reg y)
{
	rex(a, 1, y, x);
	byte(a, 0x85);
	modrm(a, 3, y, x);
}

void as_add_rr(struct as *a, enum x86_reg dst, enum x86_reg src)
{
	rex(a, 1, src, dst);
	byte(a, 0x01);
	modrm(a, 3, src, dst);
}

/* C1 /4 SHL, /5 SHR */
static void shift_ri(struct as *a, unsigned op, enum x86_reg r, uint8_t count)
{
	rex(a, 1, 0, r);
	byte(a, 0xc1);
	modrm(a, 3, op, r);
	byte(a, count);
}

void as_shl_ri(struct as *a, enum x86_reg r, uint8_t count)
{
	shift_ri(a, 4, r, count);
}

void as_shr_ri(struct as *a, enum x86_reg r, uint8_t count)
{
	shift_ri(a, 5, r, count);
}

void as_inc(struct as *a, enum x86_reg r)
{
	rex(a, 1, 0, r);
	byte(a, 0xff);
	modrm(a, 3, 0, r);
}

void as_dec(struct as *a, enum x86_reg r)
{
	rex(a, 1, 0, r);
	byte(a, 0xff);
	modrm(a, 3, 1, r);
}

/* MOV between a register and [base + disp8]: 8B loads, 89 stores. */
static void mov_mem(struct as *a, int w, uint8_t op, enum x86_reg r, enum x86_reg base, int8_t disp)
{
	rex(a, w, r, base);
	byte(a, op);
	mem(a, r, base, disp);
}

void as_load32(struct as *a, enum x86_reg dst, enum x86_reg base, int8_t disp)
{
	mov_mem(a, 0, 0x8b, dst, base, disp);
}

void as_store32(struct as *a, enum x86_reg base, int8_t disp, enum x86_reg src)
{
	mov_mem(a, 0, 0x89, src, base, disp);
}

void as_load64(struct as *a, enum x86_reg dst, enum x86_reg base, int8_t disp)
{
	mov_mem(a, 1, 0x8b, dst, base, disp);
}

void as_store64(struct as *a, enum x86_reg base, int8_t disp, enum x86_reg src)
{
	mov_mem(a, 1, 0x89, src, base, disp);
}

void as_add_mem64_i8(struct as *a, enum x86_reg base, int8_t disp, int8_t imm)
{
	rex(a, 1, 0, base);
	byte(a, 0x83);
	mem(a, 0, base, disp);
	byte(a, (uint8_t)imm);
}

void as_push(struct as *a, enum x86_reg r)
{
	rex(a, 0, 0, r);
	byte(a, (uint8_t)(0x50 + (r & 7)));
}

void as_pop(struct as *a, enum x86_reg r)
{
	rex(a, 0, 0, r);
	byte(a, (uint8_t)(0x58 + (r & 7)));
}

void as_jmp(struct as *a, int label)
{
	byte(a, 0xe9);
	rel32(a, label);
}

void as_jcc(struct as *a, enum cond cc, int label)
{
	byte(a, 0x0f);
	byte(a, (uint8_t)(0x80 | cc));
	rel32(a, label);
}

void as_call(struct as *a, int label)
{
	byte(a, 0xe8);
	rel32(a, label);
}

void as_call_abs(struct as *a, uint64_t target)
{
	/* E8 rel32 to an address outside this program */
	byte(a, 0xe8);
	imm32(a, (uint32_t)(target - (a->base + a->len + 4)));
}

void as_lea_rip(struct as *a, enum x86_reg r, int label)
{
	rex(a, 1, r, 0);
	byte(a, 0x8d);
	modrm(a, 0, r, 5);
	rel32(a, label);
}

void as_out_dx(struct as *a, int size)
{
	if (size == 2)
		byte(a, 0x66);
	byte(a, size == 1 ? 0xee : 0xef);
}

void as_in_dx(struct as *a, int size)
{
	if (size == 2)
		byte(a, 0x66);
	byte(a, size == 1 ? 0xec : 0xed);
}

/* MOV between a general register and a control (0F 20/22) or debug
 * (0F 21/23) register n. */
static void mov_special(struct as *a, uint8_t op, int n, enum x86_reg r)
{
	rex(a, 0, n, r);
	AS_OP(a, 0x0f, op);
	modrm(a, 3, n, r);
}

void as_mov_from_cr(struct as *a, enum x86_reg r, int cr)
{
	mov_special(a, 0x20, cr, r);
}

void as_mov_to_cr(struct as *a, int cr, enum x86_reg r)
{
	mov_special(a, 0x22, cr, r);
}

void as_mov_from_dr(struct as *a, enum x86_reg r, int dr)
{
	mov_special(a, 0x21, dr, r);
}

void as_mov_to_dr(struct as *a, int dr, enum x86_reg r)
{
	mov_special(a, 0x23, dr, r);
}

void as_invlpg(struct as *a, enum x86_reg r)
{
	rex(a, 0, 0, r);
	AS_OP(a, 0x0f, 0x01);
	modrm(a, 0, 7, r);
}

void as_lidt(struct as *a, enum x86_reg r)
{
	rex(a, 0, 0, r);
	AS_OP(a, 0x0f, 0x01);
	modrm(a, 0, 3, r);
}
