/*
 * linux.c - the Linux loader (linux.h): the bzImage's setup header, the
 * zero page, the 64-bit entry.  Offsets are those of boot.rst and
 * zero-page.rst; a field of the setup header sits at the same offset in
 * the file and in the zero page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "linux.h"

/* The setup header (offsets in the file and in boot_params). */
#define SH_SETUP_SECTS 0x1f1
#define SH_SYSSIZE 0x1f4
#define SH_VID_MODE 0x1fa
#define SH_BOOT_FLAG 0x1fe
#define SH_JUMP 0x200
#define SH_HEADER 0x202
#define SH_VERSION 0x206
#define SH_TYPE_OF_LOADER 0x210
#define SH_LOADFLAGS 0x211
#define SH_RAMDISK_IMAGE 0x218
#define SH_RAMDISK_SIZE 0x21c
#define SH_CMD_LINE_PTR 0x228
#define SH_INITRD_ADDR_MAX 0x22c
#define SH_KERNEL_ALIGNMENT 0x230
#define SH_RELOCATABLE 0x234
#define SH_XLOADFLAGS 0x236
#define SH_CMDLINE_SIZE 0x238
#define SH_PREF_ADDRESS 0x258
#define SH_INIT_SIZE 0x260
#define SH_MIN_END 0x264           /* what protocol 2.12 has (init_size included) */
/* The rest of the zero page. */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 0x1000

#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define MIN_VERSION 0x020c         /* 2.12: xloadflags, XLF_KERNEL_64 */

/* Guest-physical layout below the kernel (the page tables the core
 * writes are at 0x1000-0x3fff). */
#define LX_GDT 0x0600ull
#define LX_STACK 0x6ff0ull         /* until the kernel sets its own */
#define LX_BOOT_PARAMS 0x7000ull
#define LX_CMDLINE 0x20000ull
#define LX_CMDLINE_MAX 0x10000ull
#define LX_LOW_RAM_END 0x9fc00ull  /* then the EBDA, VGA, BIOS: reserved */
#define LX_HIGH_RAM 0x100000ull

#define E820_RAM 1
#define E820_RESERVED 2

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

int linux_parse(const uint8_t *img, size_t n, struct linux_setup *out, char *err, size_t errlen)
{
	struct linux_setup s = { 0 };

	if (n < SH_MIN_END) {
		snprintf(err, errlen, "%zu bytes: too short for a bzImage (its setup header ends at offset %#x at least)",
			 n, SH_MIN_END);
		return -1;
	}
	if (get16(img + SH_BOOT_FLAG) != 0xaa55) {
		snprintf(err, errlen, "offset %#x: boot flag %#06x, not 0xaa55: not a bzImage", SH_BOOT_FLAG,
			 get16(img + SH_BOOT_FLAG));
		return -1;
	}
	if (memcmp(img + SH_HEADER, "HdrS", 4)) {
		snprintf(err, errlen, "offset %#x: no \"HdrS\" signature: not a bzImage, or a kernel older than "
				      "boot protocol 2.00", SH_HEADER);
		return -1;
	}
	s.version = get16(img + SH_VERSION);
	if (s.version < MIN_VERSION) {
		snprintf(err, errlen, "offset %#x: boot protocol %u.%02u; the 64-bit entry needs 2.12 or later",
			 SH_VERSION, s.version >> 8, s.version & 0xff);
		return -1;
	}
	s.header_end = SH_HEADER + img[SH_JUMP + 1];
	if (s.header_end < SH_MIN_END || s.header_end > n) {
		snprintf(err, errlen, "offset %#x: the setup header ends at %#zx (0x202 + the jump's offset), "
				      "not between %#x and the end of the file (%#zx)", SH_JUMP + 1, s.header_end,
			 SH_MIN_END, n);
		return -1;
	}
	s.setup_sects = img[SH_SETUP_SECTS] ? img[SH_SETUP_SECTS] : 4;
	s.kernel_offset = ((size_t)s.setup_sects + 1) * 512;
	if (s.kernel_offset >= n) {
		snprintf(err, errlen, "offset %#x: %u setup sectors (%zu bytes) leave nothing of the %zu-byte file "
				      "for the kernel", SH_SETUP_SECTS, s.setup_sects, s.kernel_offset, n);
		return -1;
	}
	s.syssize = get32(img + SH_SYSSIZE);
	s.kernel_size = n - s.kernel_offset;
	if (s.syssize == 0 || (uint64_t)s.syssize * 16 > s.kernel_size) {
		snprintf(err, errlen, "offset %#x: syssize %#x (%llu bytes of kernel) does not fit the %zu bytes "
				      "after the setup", SH_SYSSIZE, s.syssize, (unsigned long long)s.syssize * 16,
			 s.kernel_size);
		return -1;
	}
	s.loadflags = img[SH_LOADFLAGS];
	if (!(s.loadflags & LOADED_HIGH)) {
		snprintf(err, errlen, "offset %#x: loadflags %#x without LOADED_HIGH: a zImage, loaded at 0x10000, "
				      "which this loader does not take", SH_LOADFLAGS, s.loadflags);
		return -1;
	}
	s.xloadflags = get16(img + SH_XLOADFLAGS);
	if (!(s.xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "offset %#x: xloadflags %#x without XLF_KERNEL_64: the kernel has no 64-bit "
				      "entry point", SH_XLOADFLAGS, s.xloadflags);
		return -1;
	}
	s.kernel_alignment = get32(img + SH_KERNEL_ALIGNMENT);
	s.relocatable = img[SH_RELOCATABLE];
	s.pref_address = get64(img + SH_PREF_ADDRESS);
	if (s.kernel_alignment & (s.kernel_alignment - 1)) {
		snprintf(err, errlen, "offset %#x: kernel_alignment %#x is not a power of two", SH_KERNEL_ALIGNMENT,
			 s.kernel_alignment);
		return -1;
	}
	if (s.pref_address < LX_HIGH_RAM || (s.kernel_alignment && !s.relocatable && s.pref_address % s.kernel_alignment)) {
		snprintf(err, errlen, "offset %#x: pref_address %#llx is %s", SH_PREF_ADDRESS,
			 (unsigned long long)s.pref_address,
			 s.pref_address < LX_HIGH_RAM ? "below 1 MiB" : "not aligned to kernel_alignment");
		return -1;
	}
	s.cmdline_size = get32(img + SH_CMDLINE_SIZE);
	s.initrd_addr_max = get32(img + SH_INITRD_ADDR_MAX);
	s.init_size = get32(img + SH_INIT_SIZE);
	if (s.init_size < s.kernel_size) {
		snprintf(err, errlen, "offset %#x: init_size %#x is smaller than the %zu-byte kernel", SH_INIT_SIZE,
			 s.init_size, s.kernel_size);
		return -1;
	}
	*out = s;
	return 0;
}

static int read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	*buf = NULL;
	if (!f || fstat(fileno(f), &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf || fread(*buf, 1, *len, f) != *len) {
		snprintf(err, errlen, "%s: %s", path, *buf ? "cannot read it" : "out of memory");
		fclose(f);
		free(*buf);
		*buf = NULL;
		return -1;
	}
	fclose(f);
	return 0;
}

void linux_close(struct linux_boot *b)
{
	free(b->kernel);
	free(b->initrd);
	free(b->cmdline);
	memset(b, 0, sizeof *b);
}

/* Where the initrd goes: as high as the kernel allows, page aligned, above
 * the kernel's init_size; 0 if it does not fit. */
static uint64_t initrd_addr(const struct linux_boot *b)
{
	uint64_t top = b->mem_size, kernel_end = b->setup.pref_address + b->setup.init_size;
	if (b->setup.initrd_addr_max && (uint64_t)b->setup.initrd_addr_max + 1 < top)
		top = (uint64_t)b->setup.initrd_addr_max + 1;
	if (b->initrd_len > top)
		return 0;
	uint64_t at = (top - b->initrd_len) & ~0xfffull;
	return at >= kernel_end ? at : 0;
}

int linux_open(struct linux_boot *b, const char *kernel, const char *initrd, const char *cmdline,
	       uint64_t mem_size, char *err, size_t errlen)
{
	char why[200];

	memset(b, 0, sizeof *b);
	b->kernel_path = kernel;
	b->mem_size = mem_size;
	if (read_file(kernel, &b->kernel, &b->kernel_len, err, errlen))
		goto fail;
	if (linux_parse(b->kernel, b->kernel_len, &b->setup, why, sizeof why)) {
		snprintf(err, errlen, "%s: %s", kernel, why);
		goto fail;
	}
	const struct linux_setup *s = &b->setup;
	if (s->pref_address + s->init_size > mem_size) {
		snprintf(err, errlen, "%s: the kernel needs RAM up to %#llx (pref_address %#llx + init_size %#x); "
				      "the guest has %llu MiB (--mem)", kernel,
			 (unsigned long long)(s->pref_address + s->init_size), (unsigned long long)s->pref_address,
			 s->init_size, (unsigned long long)(mem_size >> 20));
		goto fail;
	}
	b->cmdline = strdup(cmdline ? cmdline : LINUX_DEFAULT_CMDLINE);
	if (!b->cmdline) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	size_t cl = strlen(b->cmdline);
	if (cl >= LX_CMDLINE_MAX || (s->cmdline_size && cl > s->cmdline_size)) {
		snprintf(err, errlen, "--cmdline: %zu bytes; %s takes at most %u (cmdline_size, offset %#x)", cl, kernel,
			 s->cmdline_size && s->cmdline_size < LX_CMDLINE_MAX ? s->cmdline_size : (unsigned)LX_CMDLINE_MAX - 1,
			 SH_CMDLINE_SIZE);
		goto fail;
	}
	if (initrd) {
		if (read_file(initrd, &b->initrd, &b->initrd_len, err, errlen))
			goto fail;
		if (!initrd_addr(b)) {
			snprintf(err, errlen, "%s: %zu bytes do not fit between the kernel's end (%#llx) and %#llx "
					      "(initrd_addr_max, offset %#x, or the guest's RAM)", initrd, b->initrd_len,
				 (unsigned long long)(s->pref_address + s->init_size),
				 (unsigned long long)(s->initrd_addr_max ? s->initrd_addr_max : mem_size), SH_INITRD_ADDR_MAX);
			goto fail;
		}
	}
	return 0;
fail:
	linux_close(b);
	return -1;
}

static void e820(uint8_t *bp, unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t *e = bp + BP_E820_TABLE + 20 * i;
	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	bp[BP_E820_ENTRIES] = (uint8_t)(i + 1);
}

int linux_load(const struct linux_boot *b, uint8_t *mem, struct linux_entry *out, char *err, size_t errlen)
{
	const struct linux_setup *s = &b->setup;
	uint64_t load = s->pref_address;
	uint8_t *bp = mem + LX_BOOT_PARAMS;

	if (load + s->init_size > b->mem_size) {
		snprintf(err, errlen, "%s: the kernel does not fit in the guest's RAM", b->kernel_path);
		return -1;
	}
	memset(out, 0, sizeof *out);
	memcpy(mem + load, b->kernel + s->kernel_offset, s->kernel_size);

	/* The zero page: the setup header as the file has it, then what
	 * the loader says (boot.rst, "Details of header fields"). */
	memset(bp, 0, BP_SIZE);
	memcpy(bp + SH_SETUP_SECTS, b->kernel + SH_SETUP_SECTS, s->header_end - SH_SETUP_SECTS);
	put16(bp + SH_VID_MODE, 0xffff);       /* "normal" */
	bp[SH_TYPE_OF_LOADER] = 0xff;          /* no assigned loader id */
	bp[SH_LOADFLAGS] = (uint8_t)(s->loadflags & LOADED_HIGH); /* no heap, no quiet, keep segments */
	size_t cl = strlen(b->cmdline);
	memcpy(mem + LX_CMDLINE, b->cmdline, cl + 1);
	put32(bp + SH_CMD_LINE_PTR, (uint32_t)LX_CMDLINE);
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);
	if (b->initrd) {
		uint64_t at = initrd_addr(b);
		if (!at) {
			snprintf(err, errlen, "the initrd does not fit");
			return -1;
		}
		memcpy(mem + at, b->initrd, b->initrd_len);
		put32(bp + SH_RAMDISK_IMAGE, (uint32_t)at);
		put32(bp + SH_RAMDISK_SIZE, (uint32_t)b->initrd_len);
		put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(at >> 32));
		put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)b->initrd_len >> 32));
		out->initrd_addr = at;
	}
	/* RAM below the EBDA, the legacy hole (EBDA, VGA, option ROMs and
	 * BIOS: nothing there, but a PC's kernel expects it reserved), RAM
	 * from 1 MiB to the end. */
	e820(bp, 0, 0, LX_LOW_RAM_END, E820_RAM);
	e820(bp, 1, LX_LOW_RAM_END, LX_HIGH_RAM - LX_LOW_RAM_END, E820_RESERVED);
	e820(bp, 2, LX_HIGH_RAM, b->mem_size - LX_HIGH_RAM, E820_RAM);

	/* The GDT of the 64-bit boot protocol: __BOOT_CS 0x10, __BOOT_DS 0x18,
	 * flat (and 0x08, the core's code selector, as code too). */
	put64(mem + LX_GDT, 0);
	put64(mem + LX_GDT + 0x08, 0x00af9a000000ffffull);
	put64(mem + LX_GDT + 0x10, 0x00af9a000000ffffull);
	put64(mem + LX_GDT + 0x18, 0x00cf92000000ffffull);

	*out = (struct linux_entry){
		.rip = load + 0x200, .rsi = LX_BOOT_PARAMS, .rsp = LX_STACK, .gdt_base = LX_GDT, .gdt_limit = 0x1f,
		.cs = 0x10, .ds = 0x18, .load_addr = load, .initrd_addr = out->initrd_addr,
	};
	return 0;
}
