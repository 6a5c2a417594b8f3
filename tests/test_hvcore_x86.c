/*
 * test_hvcore_x86.c - hvcore's shared x86 decoding (hvcore/x86.h: the sim
 * executes with it, kvm matches MMIO exits with it) on the cases that
 * differ by one bit, and the schema's value constants it uses; and its
 * 8250/16550A model (hvcore/uart.c), the register behaviour drivers rely
 * on: the interrupt identification and its priority, one IRQ edge per
 * byte sent, OUT2 gating the line, loopback (Linux's probe), the divisor
 * latch, receiving once DTR is up; and its Linux loader (hvcore/linux.c)
 * on synthetic bzImages: the setup header parsed, each bad field
 * rejected with its offset, the zero page the kernel finds.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hvlog/hvlog.h"
#include "linux.h"
#include "uart.h"
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

/* ---- the UART -------------------------------------------------------- */

static uint8_t rd(struct uart *u, unsigned reg, int *rose)
{
	uint8_t v;
	int r = uart_read(u, reg, &v);
	if (rose)
		*rose = r;
	return v;
}

static int wr(struct uart *u, unsigned reg, uint8_t v)
{
	int sent;
	return uart_write(u, reg, v, &sent);
}

START_TEST(reset_state)
{
	struct uart u;
	uart_init(&u, NULL, 0);
	ck_assert_uint_eq(rd(&u, UART_LSR, NULL), 0x60);
	ck_assert_uint_eq(rd(&u, UART_IIR, NULL), UART_IIR_NONE);
	ck_assert_uint_eq(rd(&u, UART_IER, NULL), 0);
	/* the scratch register keeps what is written (the 8250 has none) */
	wr(&u, UART_SCR, 0xa5);
	ck_assert_uint_eq(rd(&u, UART_SCR, NULL), 0xa5);
	/* FIFOs on: IIR's top bits say 16550A */
	wr(&u, UART_IIR, 0x07);
	ck_assert_uint_eq(rd(&u, UART_IIR, NULL), 0xc1);
}
END_TEST

START_TEST(divisor_latch)
{
	struct uart u;
	int sent;
	uart_init(&u, NULL, 0);
	wr(&u, UART_LCR, 0x83);
	ck_assert_int_eq(uart_write(&u, UART_RBR, 0x0c, &sent), 0);
	ck_assert_int_eq(sent, -1); /* DLL, not THR: nothing sent */
	wr(&u, UART_IER, 0x00);
	ck_assert_uint_eq(rd(&u, UART_RBR, NULL), 0x0c);
	wr(&u, UART_LCR, 0x03);
	ck_assert_uint_eq(rd(&u, UART_IER, NULL), 0);
	uart_write(&u, UART_RBR, 'A', &sent);
	ck_assert_int_eq(sent, 'A');
}
END_TEST

/* THRE: enabling it with THR empty raises the line; reading IIR clears
 * it; each byte written is a new edge; OUT2 gates the line. */
START_TEST(thre_edges)
{
	struct uart u;
	int rose;
	uart_init(&u, NULL, 0);
	ck_assert_int_eq(wr(&u, UART_IER, UART_IER_THRI), 0); /* no OUT2: no IRQ */
	ck_assert_uint_eq(rd(&u, UART_IIR, NULL), UART_IIR_THRI);
	ck_assert_uint_eq(rd(&u, UART_IIR, NULL), UART_IIR_NONE); /* cleared by the read */
	wr(&u, UART_IER, 0);
	ck_assert_int_eq(wr(&u, UART_MCR, UART_MCR_OUT2), 0);
	ck_assert_int_eq(wr(&u, UART_IER, UART_IER_THRI), 1);
	ck_assert_int_eq(wr(&u, UART_IER, UART_IER_THRI), 0); /* still high: no new edge */
	rd(&u, UART_IIR, &rose);
	ck_assert_int_eq(rose, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(wr(&u, UART_RBR, 'x'), 1);
	/* disabling the interrupt drops the line; enabling again with THRE: an edge */
	ck_assert_int_eq(wr(&u, UART_IER, 0), 0);
	ck_assert_int_eq(wr(&u, UART_IER, UART_IER_THRI), 1);
}
END_TEST

/* Receive: nothing before DTR; then data, and its interrupt before THRE. */
START_TEST(receive)
{
	static const uint8_t in[20] = "0123456789abcdefghij";
	struct uart u;
	uart_init(&u, in, sizeof in);
	ck_assert_uint_eq(rd(&u, UART_LSR, NULL) & UART_LSR_DR, 0);
	wr(&u, UART_IER, UART_IER_RDI | UART_IER_THRI);
	ck_assert_int_eq(wr(&u, UART_MCR, UART_MCR_OUT2 | 0x01), 1);
	ck_assert_uint_eq(rd(&u, UART_LSR, NULL), 0x61);
	ck_assert_uint_eq(rd(&u, UART_IIR, NULL), UART_IIR_RDI);
	for (unsigned i = 0; i < sizeof in; i++) {
		ck_assert_uint_eq(rd(&u, UART_LSR, NULL) & UART_LSR_DR, 1);
		ck_assert_uint_eq(rd(&u, UART_RBR, NULL), in[i]); /* the FIFO refills from the input */
	}
	ck_assert_uint_eq(rd(&u, UART_LSR, NULL) & UART_LSR_DR, 0);
	ck_assert_uint_eq(rd(&u, UART_IIR, NULL), UART_IIR_THRI);
}
END_TEST

/* Loopback: MCR's outputs read back in MSR (Linux writes 0x1a and wants
 * 0x90 in MSR's top nibble), THR goes to RBR, no IRQ, overrun past the
 * FIFO. */
START_TEST(loopback)
{
	struct uart u;
	int sent;
	uart_init(&u, NULL, 0);
	ck_assert_uint_eq(rd(&u, UART_MSR, NULL), 0xb0);
	wr(&u, UART_MCR, UART_MCR_LOOP | 0x0a);
	ck_assert_uint_eq(rd(&u, UART_MSR, NULL) & 0xf0, 0x90);
	wr(&u, UART_IER, UART_IER_RDI);
	ck_assert_int_eq(uart_write(&u, UART_RBR, 'L', &sent), 0);
	ck_assert_int_eq(sent, -1);
	ck_assert_uint_eq(rd(&u, UART_IIR, NULL), UART_IIR_RDI);
	ck_assert_uint_eq(rd(&u, UART_RBR, NULL), 'L');
	for (int i = 0; i <= UART_FIFO; i++)
		wr(&u, UART_RBR, (uint8_t)i);
	ck_assert_uint_eq(rd(&u, UART_LSR, NULL), 0x63);
	ck_assert_uint_eq(rd(&u, UART_LSR, NULL), 0x61); /* the overrun is reported once */
}
END_TEST

/* ---- the Linux loader -------------------------------------------------- */

#define IMG_SETUP_SECTS 3
#define IMG_KERNEL 4096
#define IMG_SIZE ((IMG_SETUP_SECTS + 1) * 512 + IMG_KERNEL)

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> 8 * i);
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A synthetic bzImage of boot protocol 2.15: a 4 KiB "kernel" of 0xcc
 * bytes after 3 setup sectors; each test spoils one field. */
static void image(uint8_t *img)
{
	memset(img, 0, IMG_SIZE);
	img[0x1f1] = IMG_SETUP_SECTS;
	put_le(img + 0x1f4, IMG_KERNEL / 16, 4);
	put_le(img + 0x1fe, 0xaa55, 2);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a; /* the header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put_le(img + 0x206, 0x020f, 2);
	img[0x211] = 0x01;                         /* LOADED_HIGH */
	put_le(img + 0x22c, 0x7fffffff, 4);        /* initrd_addr_max */
	put_le(img + 0x230, 0x200000, 4);          /* kernel_alignment */
	img[0x234] = 1;                            /* relocatable */
	put_le(img + 0x236, 0x7f, 2);              /* xloadflags: XLF_KERNEL_64... */
	put_le(img + 0x238, 2047, 4);              /* cmdline_size */
	put_le(img + 0x258, 0x1000000, 8);         /* pref_address */
	put_le(img + 0x260, 0x100000, 4);          /* init_size */
	memset(img + (IMG_SETUP_SECTS + 1) * 512, 0xcc, IMG_KERNEL);
}

/* The message for `img` cut to `n` bytes, "" if it parses. */
static const char *parse_error(const uint8_t *img, size_t n)
{
	static char err[256];
	struct linux_setup s;
	if (linux_parse(img, n, &s, err, sizeof err) == 0)
		return "";
	return err;
}

START_TEST(linux_header)
{
	static uint8_t img[IMG_SIZE];
	struct linux_setup s;
	char err[256];

	image(img);
	ck_assert_int_eq(linux_parse(img, IMG_SIZE, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.version, 0x020f);
	ck_assert_uint_eq(s.kernel_offset, 2048);
	ck_assert_uint_eq(s.kernel_size, IMG_KERNEL);
	ck_assert_uint_eq(s.header_end, 0x26c);
	ck_assert_uint_eq(s.pref_address, 0x1000000);
	ck_assert_uint_eq(s.init_size, 0x100000);
	ck_assert_uint_eq(s.cmdline_size, 2047);
	/* setup_sects 0 means 4 (one sector more: 512 bytes less kernel) */
	img[0x1f1] = 0;
	put_le(img + 0x1f4, (IMG_KERNEL - 512) / 16, 4);
	ck_assert_int_eq(linux_parse(img, IMG_SIZE, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.kernel_offset, 2560);
}
END_TEST

/* Every check names the offset of the field at fault. */
START_TEST(linux_rejects)
{
	static uint8_t img[IMG_SIZE];
	static const struct {
		unsigned off, len;
		uint64_t value;
		const char *msg;
	} bad[] = {
		{ 0x1fe, 2, 0x1234, "offset 0x1fe: boot flag 0x1234, not 0xaa55: not a bzImage" },
		{ 0x202, 4, 0x53726447, "offset 0x202: no \"HdrS\" signature" },
		{ 0x206, 2, 0x020b, "offset 0x206: boot protocol 2.11; the 64-bit entry needs 2.12 or later" },
		{ 0x201, 1, 0x10, "offset 0x201: the setup header ends at 0x212" },
		{ 0x1f1, 1, 40, "offset 0x1f1: 40 setup sectors (20992 bytes) leave nothing" },
		{ 0x1f4, 4, IMG_KERNEL / 16 + 1, "offset 0x1f4: syssize 0x101 (4112 bytes of kernel) does not fit the 4096 bytes" },
		{ 0x1f4, 4, 0, "offset 0x1f4: syssize 0 " },
		{ 0x211, 1, 0x80, "offset 0x211: loadflags 0x80 without LOADED_HIGH: a zImage" },
		{ 0x236, 2, 0x7e, "offset 0x236: xloadflags 0x7e without XLF_KERNEL_64" },
		{ 0x230, 4, 0x300000, "offset 0x230: kernel_alignment 0x300000 is not a power of two" },
		{ 0x258, 8, 0x80000, "offset 0x258: pref_address 0x80000 is below 1 MiB" },
		{ 0x260, 4, 0x800, "offset 0x260: init_size 0x800 is smaller than the 4096-byte kernel" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		image(img);
		put_le(img + bad[i].off, bad[i].value, (int)bad[i].len);
		const char *e = parse_error(img, IMG_SIZE);
		ck_assert_msg(strstr(e, bad[i].msg) == e, "case %zu: \"%s\", want \"%s...\"", i, e, bad[i].msg);
	}
	image(img);
	ck_assert_ptr_nonnull(strstr(parse_error(img, 0x263), "too short for a bzImage"));
	ck_assert_str_eq(parse_error(img, IMG_SIZE), "");
	/* a non-relocatable kernel must sit at an aligned address */
	img[0x234] = 0;
	put_le(img + 0x258, 0x1100000, 8);
	ck_assert_ptr_nonnull(strstr(parse_error(img, IMG_SIZE), "offset 0x258: pref_address 0x1100000 is not aligned"));
}
END_TEST

/* What the kernel finds: itself at pref_address, the zero page with the
 * setup header and the loader's fields, e820, the command line, the
 * initrd at the top, the entry and the boot GDT. */
START_TEST(linux_zero_page)
{
	static uint8_t img[IMG_SIZE];
	static uint8_t initrd[5000];
	const uint64_t mem_size = 64ull << 20;
	uint8_t *mem = calloc(1, mem_size);
	struct linux_boot b = { 0 };
	struct linux_entry e;
	char err[256];

	image(img);
	memset(initrd, 0x5a, sizeof initrd);
	b = (struct linux_boot){ .kernel = img, .kernel_len = IMG_SIZE, .initrd = initrd, .initrd_len = sizeof initrd,
				 .kernel_path = "img", .cmdline = "console=ttyS0", .mem_size = mem_size };
	ck_assert_int_eq(linux_parse(img, IMG_SIZE, &b.setup, err, sizeof err), 0);
	ck_assert_int_eq(linux_load(&b, mem, &e, err, sizeof err), 0);
	ck_assert_uint_eq(e.rip, 0x1000200);
	ck_assert_uint_eq(e.cs, 0x10);
	ck_assert_uint_eq(e.ds, 0x18);
	ck_assert_uint_eq(get_le(mem + e.gdt_base + 0x10, 8), 0x00af9a000000ffffull);
	ck_assert_uint_eq(get_le(mem + e.gdt_base + 0x18, 8), 0x00cf92000000ffffull);
	ck_assert_uint_eq(mem[0x1000000], 0xcc);
	ck_assert_uint_eq(mem[0x1000000 + IMG_KERNEL - 1], 0xcc);
	ck_assert_uint_eq(mem[0x1000000 + IMG_KERNEL], 0);
	const uint8_t *bp = mem + e.rsi;
	ck_assert_int_eq(memcmp(bp + 0x202, "HdrS", 4), 0);
	ck_assert_uint_eq(get_le(bp + 0x260, 4), 0x100000);
	ck_assert_uint_eq(bp[0x210], 0xff);
	ck_assert_str_eq((const char *)mem + get_le(bp + 0x228, 4), "console=ttyS0");
	ck_assert_uint_eq(get_le(bp + 0x21c, 4), sizeof initrd);
	uint64_t rd = get_le(bp + 0x218, 4);
	ck_assert_uint_eq(rd % 4096, 0);
	ck_assert_uint_ge(rd, 0x1000000 + 0x100000);
	ck_assert_uint_le(rd + sizeof initrd, mem_size);
	ck_assert_int_eq(memcmp(mem + rd, initrd, sizeof initrd), 0);
	ck_assert_uint_eq(bp[0x1e8], 3);
	ck_assert_uint_eq(get_le(bp + 0x2d0 + 40, 8), 0x100000);              /* entry 2: RAM from 1 MiB */
	ck_assert_uint_eq(get_le(bp + 0x2d0 + 48, 8), mem_size - 0x100000);
	ck_assert_uint_eq(get_le(bp + 0x2d0 + 56, 4), 1);
	ck_assert_uint_eq(get_le(bp + 0x2d0 + 36, 4), 2);                     /* the legacy hole is reserved */
	free(mem);
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
	tc = tcase_create("uart");
	tcase_add_test(tc, reset_state);
	tcase_add_test(tc, divisor_latch);
	tcase_add_test(tc, thre_edges);
	tcase_add_test(tc, receive);
	tcase_add_test(tc, loopback);
	suite_add_tcase(s, tc);
	tc = tcase_create("linux");
	tcase_add_test(tc, linux_header);
	tcase_add_test(tc, linux_rejects);
	tcase_add_test(tc, linux_zero_page);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
