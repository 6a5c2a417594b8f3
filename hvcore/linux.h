/*
 * linux.h - a Linux loader: the x86 boot protocol's 64-bit entry
 * (Documentation/arch/x86/boot.rst), for `hvcore --kernel bzImage`.
 *
 * The bzImage's setup header is read and checked (each field the loader
 * relies on, an error naming its file offset when it is wrong); the
 * protected-mode kernel is copied to its preferred address, the zero page
 * (struct boot_params) gets the setup header, an e820 map of the guest's
 * RAM, the command line and the initrd; the VP starts in 64-bit mode at
 * the kernel's 64-bit entry (load address + 0x200) with RSI pointing at
 * the zero page, the identity-mapped first GiB the core's guests use, and
 * a GDT whose __BOOT_CS (0x10) and __BOOT_DS (0x18) are flat.
 */
#ifndef HVCORE_LINUX_H
#define HVCORE_LINUX_H

#include <stddef.h>
#include <stdint.h>

/* The setup header fields the loader uses (boot.rst names). */
struct linux_setup {
	uint16_t version;          /* boot protocol, 0x20c = 2.12 */
	unsigned setup_sects;      /* 0 in the file means 4 */
	uint32_t syssize;          /* protected-mode kernel, 16-byte units */
	uint8_t loadflags, relocatable;
	uint16_t xloadflags;
	uint32_t kernel_alignment, cmdline_size, initrd_addr_max, init_size;
	uint64_t pref_address;
	size_t header_end;         /* 0x202 + the byte at 0x201 */
	size_t kernel_offset;      /* (setup_sects + 1) * 512 */
	size_t kernel_size;        /* what follows the setup in the file */
};

/* Parse and check the setup header of the `n` bytes at `img`: 0, or -1
 * with a message that names the offset of the field at fault. */
int linux_parse(const uint8_t *img, size_t n, struct linux_setup *out, char *err, size_t errlen);

/* A kernel to boot: the files read, the header parsed. */
struct linux_boot {
	uint8_t *kernel, *initrd;
	size_t kernel_len, initrd_len;
	const char *kernel_path;
	char *cmdline;
	uint64_t mem_size;         /* guest RAM */
	struct linux_setup setup;
};

#define LINUX_DEFAULT_CMDLINE "console=ttyS0,115200 earlyprintk=serial,ttyS0,115200"
#define LINUX_DEFAULT_MEM (256ull << 20)

/* Read `kernel` (and `initrd`, may be NULL), parse and check the header,
 * check that the kernel, the command line (NULL: the default) and the
 * initrd fit in `mem_size` bytes of RAM.  0, or -1 with err set ("FILE:
 * offset 0x202: ..."); on success linux_close() frees. */
int linux_open(struct linux_boot *b, const char *kernel, const char *initrd, const char *cmdline,
	       uint64_t mem_size, char *err, size_t errlen);
void linux_close(struct linux_boot *b);

/* Where the VP starts. */
struct linux_entry {
	uint64_t rip, rsi, rsp;
	uint64_t gdt_base;
	uint16_t gdt_limit, cs, ds;
	uint64_t load_addr, initrd_addr;
};

/* Load `b` into guest memory `mem` (b->mem_size bytes, zeroed): page
 * tables, GDT, kernel, zero page, command line, initrd.  0, or -1 with
 * err set. */
int linux_load(const struct linux_boot *b, uint8_t *mem, struct linux_entry *out, char *err, size_t errlen);

#endif
