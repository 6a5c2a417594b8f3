/*
 * asm.h - a tiny x86-64 assembler for the guest programs: just the
 * instructions the programs use (backend.h lists what the sim executes).
 */
#ifndef HVCORE_ASM_H
#define HVCORE_ASM_H

#include <stddef.h>
#include <stdint.h>

#include "x86.h"

enum cond { CC_B = 0x2, CC_AE = 0x3, CC_E = 0x4, CC_NE = 0x5, CC_BE = 0x6, CC_A = 0x7 };

#define AS_MAX_LABELS 128
#define AS_MAX_FIXUPS 512

struct as {
	uint8_t *buf;       /* where the code goes */
	uint64_t base;      /* its guest-physical address */
	size_t len, cap;
	int overflow;
	int64_t label[AS_MAX_LABELS];  /* position, -1 while unbound */
	int nlabels;
	struct { size_t at; int label; } fixup[AS_MAX_FIXUPS];
	int nfixups;
};

void as_init(struct as *a, uint8_t *buf, size_t cap, uint64_t base);
int as_label(struct as *a);                 /* a new unbound label */
void as_bind(struct as *a, int label);      /* bind it here */
int as_here(struct as *a);                  /* a new label bound here */
uint64_t as_addr(const struct as *a, int label);
int as_finish(struct as *a);                /* resolve fixups; 0 or -1 */

void as_mov_ri(struct as *a, enum x86_reg r, uint64_t imm);
void as_mov_rr(struct as *a, enum x86_reg dst, enum x86_reg src);
void as_alu_ri(struct as *a, int op, enum x86_reg r, int32_t imm); /* op: 0 add 4 and 5 sub 7 cmp */
void as_test_rr(struct as *a, enum x86_reg x, enum x86_reg y);
void as_add_rr(struct as *a, enum x86_reg dst, enum x86_reg src);
void as_shl_ri(struct as *a, enum x86_reg r, uint8_t count);
void as_shr_ri(struct as *a, enum x86_reg r, uint8_t count);
void as_inc(struct as *a, enum x86_reg r);
void as_dec(struct as *a, enum x86_reg r);
void as_load32(struct as *a, enum x86_reg dst, enum x86_reg base, int8_t disp);
void as_store32(struct as *a, enum x86_reg base, int8_t disp, enum x86_reg src);
void as_load64(struct as *a, enum x86_reg dst, enum x86_reg base, int8_t disp);
void as_store64(struct as *a, enum x86_reg base, int8_t disp, enum x86_reg src);
void as_add_mem64_i8(struct as *a, enum x86_reg base, int8_t disp, int8_t imm);
void as_push(struct as *a, enum x86_reg r);
void as_pop(struct as *a, enum x86_reg r);
void as_jmp(struct as *a, int label);
void as_jcc(struct as *a, enum cond cc, int label);
void as_call(struct as *a, int label);
void as_call_abs(struct as *a, uint64_t target);
void as_lea_rip(struct as *a, enum x86_reg r, int label);
void as_out_dx(struct as *a, int size);     /* OUT DX, AL/AX/EAX */
void as_in_dx(struct as *a, int size);      /* IN AL/AX/EAX, DX */
void as_mov_from_cr(struct as *a, enum x86_reg r, int cr);
void as_mov_from_dr(struct as *a, enum x86_reg r, int dr);
void as_mov_to_dr(struct as *a, int dr, enum x86_reg r);
void as_mov_to_cr(struct as *a, int cr, enum x86_reg r);
void as_invlpg(struct as *a, enum x86_reg r);
void as_lidt(struct as *a, enum x86_reg r);
void as_bytes(struct as *a, const void *p, size_t n);

#define AS_OP(a, ...) as_bytes(a, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))
#define as_rdmsr(a) AS_OP(a, 0x0f, 0x32)
#define as_wrmsr(a) AS_OP(a, 0x0f, 0x30)
#define as_cpuid(a) AS_OP(a, 0x0f, 0xa2)
#define as_hlt(a) AS_OP(a, 0xf4)
#define as_sti(a) AS_OP(a, 0xfb)
#define as_cli(a) AS_OP(a, 0xfa)
#define as_ret(a) AS_OP(a, 0xc3)
#define as_iretq(a) AS_OP(a, 0x48, 0xcf)
#define as_rdtsc(a) AS_OP(a, 0x0f, 0x31)
#define as_invd(a) AS_OP(a, 0x0f, 0x08)
#define as_ud2(a) AS_OP(a, 0x0f, 0x0b)
#define as_pause(a) AS_OP(a, 0xf3, 0x90)

#endif
