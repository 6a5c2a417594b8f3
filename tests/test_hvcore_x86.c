/*
 * test_hvcore_x86.c - hvcore's shared x86 decoding (hvcore/x86.h: the sim
 * executes with it, kvm matches MMIO exits with it) on the cases that
 * differ by one bit, and the schema's value constants it uses.
 */
#include <check.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "x86.h"

#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static size_t prefixes(struct x86_prefixes *px, const uint8_t *p, size_t n)
{
	return x86_prefixes(p, n, px);
}

START_TEST(prefix_scan)
{
	struct x86_prefixes px;

	ck_assert_uint_eq(prefixes(&px, BYTES(0x89, 0xc0)), 0);
	ck_assert_uint_eq(px.rex, 0);
	/* REX right before the opcode counts, with 66 before it */
	ck_assert_uint_eq(prefixes(&px, BYTES(0x66, 0x48, 0x89, 0xc0)), 2);
	ck_assert_uint_eq(px.rex, 0x48);
	ck_assert_uint_eq(px.kinds, X86_PX_BIT(X86_PX_OPSIZE));
	/* a REX a legacy prefix follows is ignored */
	ck_assert_uint_eq(prefixes(&px, BYTES(0x48, 0x66, 0x89, 0xc0)), 2);
	ck_assert_uint_eq(px.rex, 0);
	ck_assert_uint_eq(px.kinds, X86_PX_BIT(X86_PX_OPSIZE));
	/* REX 0x40: present, no bits (SPL..DIL instead of AH..BH) */
	ck_assert_uint_eq(prefixes(&px, BYTES(0x40, 0x88, 0xe0)), 1);
	ck_assert_uint_eq(px.rex, 0x40);
	ck_assert_uint_eq(prefixes(&px, BYTES(0xf0, 0x65, 0x67, 0xf3, 0x2e, 0x90)), 5);
	ck_assert_uint_eq(px.kinds, X86_PX_BIT(X86_PX_LOCK) | X86_PX_BIT(X86_PX_FSGS) | X86_PX_BIT(X86_PX_ADDRSIZE) |
					    X86_PX_BIT(X86_PX_REP) | X86_PX_BIT(X86_PX_SEG));
	ck_assert_uint_eq(px.seg, 0x65);
	ck_assert_uint_eq(px.rep, 0xf3);
	/* prefixes up to the end: n */
	ck_assert_uint_eq(prefixes(&px, BYTES(0x66, 0x66, 0x66)), 3);
}
END_TEST

START_TEST(modrm_forms)
{
	struct x86_modrm m;
	uint64_t g[X86_NGPR];

	for (unsigned i = 0; i < X86_NGPR; i++)
		g[i] = 0x1000u * (i + 1);

	/* mod 3: registers, no memory; REX.R and REX.B extend reg and rm */
	ck_assert_uint_eq(x86_modrm(BYTES(0xc8), 0x45, &m), 1);
	ck_assert_uint_eq(m.mod, 3);
	ck_assert_uint_eq(m.reg, R9);
	ck_assert_uint_eq(m.rm, R8);

	/* [rsp + 8]: SIB with no index */
	ck_assert_uint_eq(x86_modrm(BYTES(0x44, 0x24, 0x08), 0, &m), 3);
	ck_assert(m.has_sib && m.index == 4 && m.base == RSP && m.disp == 8);
	ck_assert_uint_eq(x86_ea(&m, g), g[RSP] + 8);
	/* REX.X: index 4 becomes R12, a real index */
	ck_assert_uint_eq(x86_modrm(BYTES(0x44, 0x24, 0x08), 0x42, &m), 3);
	ck_assert_uint_eq(m.index, R12);
	ck_assert_uint_eq(x86_ea(&m, g), g[RSP] + g[R12] + 8);

	/* [rax + rcx * 8 + 0x12345678] */
	ck_assert_uint_eq(x86_modrm(BYTES(0x84, 0xc8, 0x78, 0x56, 0x34, 0x12), 0, &m), 6);
	ck_assert_uint_eq(x86_ea(&m, g), g[RAX] + (g[RCX] << 3) + 0x12345678u);

	/* mod 0, rm 5: RIP-relative, also with REX.B (not R13) */
	ck_assert_uint_eq(x86_modrm(BYTES(0x05, 0xf0, 0xff, 0xff, 0xff), 0x41, &m), 5);
	ck_assert(m.riprel && !m.has_sib);
	ck_assert_uint_eq(x86_ea(&m, g), (uint64_t)-16);

	/* SIB base 5 with mod 0: disp32 alone, also with REX.B */
	ck_assert_uint_eq(x86_modrm(BYTES(0x04, 0x25, 0x00, 0x10, 0x00, 0x00), 0x41, &m), 6);
	ck_assert(m.no_base && m.index == 4);
	ck_assert_uint_eq(x86_ea(&m, g), 0x1000);
	/* ... but with mod 1 it is RBP (R13 with REX.B) + disp8 */
	ck_assert_uint_eq(x86_modrm(BYTES(0x44, 0x25, 0xff), 0x41, &m), 3);
	ck_assert(!m.no_base && m.base == R13);
	ck_assert_uint_eq(x86_ea(&m, g), g[R13] - 1);

	/* too short: 0, at every cut */
	ck_assert_uint_eq(x86_modrm(BYTES(0x84, 0xc8, 0x78, 0x56, 0x34), 0, &m), 0);
	ck_assert_uint_eq(x86_modrm(BYTES(0x84), 0, &m), 0);
	ck_assert_uint_eq(x86_modrm(BYTES(0x05, 0, 0), 0, &m), 0);
	ck_assert_uint_eq(x86_modrm((const uint8_t *)"", 0, 0, &m), 0);
}
END_TEST

static const char *schema_name(const char *alias, uint64_t value)
{
	const hvlog_schema *s = hvlog_schema_builtin();

	for (uint32_t i = 0; i < s->nvaltabs; i++)
		if (!strcmp(s->valtabs[i].alias, alias))
			return hvlog_valtab_name(&s->valtabs[i], value);
	return NULL;
}

/* The constants hvcore writes stand for the values the schema names so. */
START_TEST(value_constants)
{
	ck_assert_str_eq(schema_name("hv_status", HVLOG_HV_STATUS_SUCCESS), "HV_STATUS_SUCCESS");
	ck_assert_str_eq(schema_name("hv_status", HVLOG_HV_STATUS_INVALID_VP_INDEX), "HV_STATUS_INVALID_VP_INDEX");
	ck_assert_str_eq(schema_name("exception", HVLOG_EXCEPTION_GP), "#GP");
	ck_assert_str_eq(schema_name("exception", HVLOG_EXCEPTION_NMI), "NMI");
	ck_assert_str_eq(schema_name("msr", HVLOG_MSR_IA32_EFER), "IA32_EFER");
	ck_assert_str_eq(schema_name("msr", HVLOG_MSR_HV_X64_MSR_HYPERCALL), "HV_X64_MSR_HYPERCALL");
	ck_assert_str_eq(schema_name("cr", HVLOG_CR_CR3), "CR3");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hvcore_x86");
	TCase *tc = tcase_create("decode");
	tcase_add_test(tc, prefix_scan);
	tcase_add_test(tc, modrm_forms);
	tcase_add_test(tc, value_constants);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
