/*
 * kvm.c - the KVM backend: real guests under /dev/kvm.
 *
 * One KVM VM per hv_vm (guest RAM = the core's buffer in memory slot 0 at
 * guest-physical 0), one KVM vCPU per hv_vcpu, no in-kernel irqchip: HLT
 * exits to us and interrupts are injected with KVM_INTERRUPT.  Nothing here
 * is global or mutable: a VM is read-only once created, and a vCPU's state
 * is touched only by the thread that runs it.
 *
 * Exits we see (`native`): IN/OUT, MMIO, HLT, RDMSR/WRMSR, triple fault and
 * the interrupt window, and the core's kick.  CPUID, CR and DR accesses, INVLPG
 * and INVD are handled inside KVM and never reach user space, so the core
 * takes those from the guest's reports.  MONITOR and MWAIT: KVM on VMX/SVM
 * runs them in the kernel (MWAIT as a NOP when the guest's CPUID has no
 * MONITOR, ours has none), the guest's report is used; kvm_pvm fails to
 * emulate them (KVM_EXIT_INTERNAL_ERROR, emulation failure, RIP at the
 * instruction; measured on this machine), and the backend completes them
 * itself: HV_EXIT_MONITOR and HV_EXIT_MWAIT exits, both done as NOPs by
 * stepping RIP over the 3 bytes.  The core skips a report of an exit it
 * saw (not in `native`: it depends on the host).
 *
 * MSRs.  KVM_CAP_X86_USER_SPACE_MSR is enabled for all three reasons
 * (FILTER, UNKNOWN, INVAL) and the MSR filter denies every MSR by default,
 * so each guest RDMSR/WRMSR exits as KVM_EXIT_X86_RDMSR/WRMSR.  No allow
 * range is needed: the filter applies only to guest-initiated accesses
 * (the instructions, and KVM's emulator executing them); the MSRs the CPU
 * itself needs in long mode (EFER, the segment bases, SYSCALL MSRs...) are
 * loaded by KVM from the state we set with KVM_SET_SREGS, not filtered.
 * KVM rejects a default-deny filter with no ranges (EINVAL, checked on
 * 6.18), so we pass one range whose bitmap allows nothing.  The x2APIC
 * range 0x800-0x8ff cannot be filtered (KVM ignores filters there), but
 * without an in-kernel APIC KVM cannot handle those MSRs either and they
 * exit with reason INVAL.  Checked on this machine (6.18.44, kvm_pvm): all
 * of 0x10 0x17 0x1b 0x3a 0x8b 0xe7 0xe8 0xfe 0x174 0x176 0x1a0 0x1d9 0x277
 * 0x2ff 0x6e0 0x800 0x80b 0x830 0x8ff 0x40000000 0x40000001 0x400000ff
 * 0xc0000080-0xc0000084 0xc0000100-0xc0000103 0x12345 exit, read and write.
 *
 * Where the exiting instruction is.  When KVM exits to user space for an
 * instruction it has either not executed it yet (KVM finishes it on the
 * next KVM_RUN) or already executed it, and which depends on the path:
 *   IN, MMIO load, RDMSR, WRMSR   RIP at the instruction (every path);
 *   HLT, MMIO store               RIP after it (every path);
 *   OUT                           at it on VMX/SVM hardware (fast PIO,
 *                                 except port 0x7e with the old quirk),
 *                                 after it when KVM's instruction emulator
 *                                 ran it (measured on this machine's
 *                                 kvm_pvm, which emulates such guests).
 * So we do not trust a rule: we read the instruction bytes (page-walking
 * the guest's own page tables) and check which of "at RIP" and "ending at
 * RIP" is an instruction that does exactly what the exit says (direction,
 * size, port, MSR opcode; for MMIO, that the operand's address translates
 * to the exit's guest-physical address, its size and stored value).  The
 * expected side wins when both match.  For an OUT that matches both ways
 * (two identical OUTs in a row) we let KVM finish the instruction without
 * entering the guest (immediate_exit) and see whether RIP moves.
 * exit->rip is that instruction's address; get_regs() during a pending
 * exit also shows RIP there (the state just before the instruction).
 * Limits: a redundant prefix (3E, 2E, 67 with a low address...) in front
 * of an MMIO store is not counted, the shortest instruction that fits
 * wins; an instruction we cannot decode (EVEX) leaves RIP as KVM gave it.
 * HV_EXIT_IRQ_WINDOW and HV_EXIT_SHUTDOWN carry RIP as KVM gives it (the
 * next instruction; the one that triple-faulted).
 *
 * MMIO.  Every guest-physical address outside guest RAM exits, so the core
 * also sees accesses to [mem_size, HV_MMIO_BASE).  KVM hands us at most 8
 * bytes per exit: a 16-byte SSE access comes as two exits with one RIP, a
 * read-modify-write (ADD [mmio], 1) as a read and then a write.
 *
 * TSC.  exit->tsc is the host TSC right after KVM_RUN returns, and every
 * vCPU's TSC offset is the core's (KVM_VCPU_TSC_OFFSET, else IA32_TSC), so
 * guest RDTSC = exit->tsc + offset, the relation the trace announces.
 * kvm_pvm ignores the offset (measured), so the core uses 0.
 *
 * What the guest sees.  KVM_SET_CPUID2 gets exactly the core's CPUID
 * table, KVM_SET_SREGS its EFER, KVM_SET_MSRS its APIC base; cpu_msr()
 * reads EFER and APIC_BASE back from KVM.  Measured on kvm_pvm: CPUID leaf
 * 1 ECX is not the table's in the guest (0xf7f81203), the other leaves are.
 *
 * The kick.  kick_at() arms a POSIX timer (CLOCK_MONOTONIC) that sends
 * SIGRTMIN to the VP's thread; the handler sets kicked and the run area's
 * immediate_exit, so KVM_RUN returns EINTR whether the signal lands inside
 * it or just before it, and run() reports HV_EXIT_KICK.
 *
 * Completing an exit.  The next run() reads the core's answer (data,
 * fault) from the hv_exit it is passed, which must be the one the previous
 * run() filled (or a copy).  fault on RDMSR/WRMSR: KVM injects #GP(0).
 * fault on IN/OUT/MMIO: we let KVM finish the pending access without
 * running the guest, put the registers back as they were at the exit with
 * RIP at the instruction, and inject #GP(0) ourselves (an IN or a load
 * leaves its destination register unchanged).  fault on HLT, SHUTDOWN and
 * IRQ_WINDOW is ignored: there is no instruction to fault.
 *
 * Interrupts.  inject_irq() delivers (returns 1) when KVM said it can
 * inject (ready_for_interrupt_injection: IF=1, no STI/MOV SS shadow, no
 * event in flight) and no other vector went in since the last exit;
 * otherwise it sets request_interrupt_window and returns 0, and the core
 * retries on HV_EXIT_IRQ_WINDOW.  While an IN/OUT/MMIO/MSR exit is pending
 * the KVM_INTERRUPT is issued in run() once the core's answer is known:
 * if the core faults the instruction the #GP goes first and the vector
 * waits for the next window (taken by us, not reported).
 * inject_irq() must be called from the VP's thread, between run()s.
 * The window: kvm_pvm's own KVM_EXIT_IRQ_WINDOW_OPEN comes ~1000 guest
 * instructions late (its pvm_emul_batch is 1024), and never if the guest
 * exits to us more often than that (measured).  So while a vector waits
 * we (1) check at each run() whether the window is open right after the
 * instruction that exited, and (2) single-step the guest (plus a hardware
 * breakpoint after an IRET, whose step trap kvm_pvm loses) and report the
 * window at the first boundary where KVM says it can inject.  Measured:
 * reported after STI;NOP at the instruction after the NOP, after IRETQ at
 * the return address, as the sim does.  On VMX/SVM the hardware window
 * exit comes at that same boundary anyway.
 *
 * Measured on this machine (kernel 6.18.44-fc, kvm_pvm nested in a
 * Firecracker VM, no VMX/SVM in /proc/cpuinfo): a guest doing nothing but
 * OUT makes 0.8-1.2e5 exits/s on one vCPU (the same as a bare KVM_RUN
 * loop), and ordinary guest instructions cost ~0.6 us each: kvm_pvm runs
 * this kind of guest through KVM's instruction emulator.  Two vCPUs on
 * the two host CPUs: about 1e5 exits/s each (it varies with host load, as
 * low as 2e4 when the machine is busy).  INT n is not emulated there
 * (KVM_EXIT_INTERNAL_ERROR, emulation failure); everything the guest
 * programs use (LIDT, MOV CRn, INVLPG, INVD, CPUID, RDTSC, PAUSE, CALL,
 * IRETQ, STI/CLI...) is.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <linux/kvm.h>

#include "backend.h"

#define TSS_ADDR 0xfffbd000ul /* 3 pages below 4 GiB, far above guest RAM */


struct hv_vm {
	int fd;
	uint8_t *mem;
	uint64_t mem_size;
	size_t run_size;
	uint32_t sync_fields;     /* KVM_SYNC_X86_* we ask for */
};

/* What the next run() must finish. */
enum pending {
	P_NONE,
	P_IN,
	P_OUT,
	P_OUT_DONE,       /* OUT already finished by KVM (immediate_exit) */
	P_MMIO_READ,
	P_MMIO_WRITE,
	P_RDMSR,
	P_WRMSR,
};

struct hv_vcpu {
	struct hv_vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	uint32_t sync_fields;
	enum pending pending;
	uint8_t size;         /* IN / MMIO load size */
	uint64_t insn_rip;    /* the exiting instruction */
	int shut_down;
	int irq_deferred;     /* vector accepted during a pending exit, -1: none */
	int irq_internal;     /* vector we owe the guest at the next window, -1: none */
	int irq_injected;     /* a KVM_INTERRUPT went in since the last exit */
	int core_wants_window;
	int stepping;         /* single-stepping while waiting for a window */
	uint64_t step_bp;     /* and a breakpoint where an IRETQ returns (0: none) */
	int cannot_step;      /* KVM_SET_GUEST_DEBUG refused */
	/* The core's timer: a POSIX timer that signals this vCPU's thread
	 * (created at the first kick_at, on that thread). */
	int have_timer;
	timer_t timer;
	volatile sig_atomic_t kicked;
	/* Register caches when KVM does not sync them in kvm_run, or when
	 * the synced copy may be stale (after a KVM_RUN with immediate_exit
	 * or our own KVM_SET_REGS). */
	int sync_stale;
	int have_regs, have_sregs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- probe ----------------------------------------------------------- */

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR" },
	{ KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
};

static int open_kvm(char *err, size_t errlen)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		seterr(err, errlen, "/dev/kvm: %s", strerror(errno));
		return -1;
	}
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		seterr(err, errlen, "/dev/kvm: API version %d, need %d", api, KVM_API_VERSION);
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < sizeof required_caps / sizeof required_caps[0]; i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			seterr(err, errlen, "KVM lacks %s", required_caps[i].name);
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int kvm_probe(char *err, size_t errlen)
{
	int fd = open_kvm(err, errlen);
	if (fd < 0)
		return -1;
	int vm = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		seterr(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(vm);
	close(fd);
	return 0;
}

/* ---- VM -------------------------------------------------------------- */

static void kvm_vm_destroy(struct hv_vm *vm)
{
	if (!vm)
		return;
	if (vm->fd >= 0)
		close(vm->fd);
	free(vm);
}

static int kvm_vm_create(struct hv_vm **out, void *mem, uint64_t mem_size, char *err, size_t errlen)
{
	*out = NULL;
	if (!mem || ((uintptr_t)mem & 0xfff) || !mem_size || (mem_size & 0xfff)) {
		seterr(err, errlen, "guest memory must be page aligned and a whole number of pages");
		return -1;
	}
	if (mem_size > HV_MMIO_BASE) {
		seterr(err, errlen, "guest memory (%#llx bytes) overlaps device memory at %#llx",
		       (unsigned long long)mem_size, HV_MMIO_BASE);
		return -1;
	}
	int kvm = open_kvm(err, errlen);
	if (kvm < 0)
		return -1;
	struct hv_vm *vm = calloc(1, sizeof *vm);
	if (!vm) {
		seterr(err, errlen, "out of memory");
		close(kvm);
		return -1;
	}
	vm->mem = mem;
	vm->mem_size = mem_size;
	vm->fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		seterr(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	int sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		seterr(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", sz < 0 ? strerror(errno) : "too small");
		goto fail;
	}
	vm->run_size = (size_t)sz;
	int sync = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (sync > 0)
		vm->sync_fields = (uint32_t)sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
	/* Only needed for real mode on VMX without unrestricted guest; we
	 * start in long mode, so a kernel that refuses it is fine. */
	(void)ioctl(vm->fd, KVM_SET_TSS_ADDR, TSS_ADDR);
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = mem_size,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		seterr(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		goto fail;
	}
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args = { KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_INVAL },
	};
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0) {
		seterr(err, errlen, "KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR): %s", strerror(errno));
		goto fail;
	}
	uint8_t deny_bitmap[8] = { 0 }; /* KVM copies it */
	struct kvm_msr_filter filter = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };
	filter.ranges[0] = (struct kvm_msr_filter_range){
		.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		.nmsrs = 64,
		.base = 0,
		.bitmap = deny_bitmap,
	};
	if (ioctl(vm->fd, KVM_X86_SET_MSR_FILTER, &filter) < 0) {
		seterr(err, errlen, "KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
		goto fail;
	}
	close(kvm);
	*out = vm;
	return 0;
fail:
	close(kvm);
	kvm_vm_destroy(vm);
	return -1;
}

/* ---- vCPU ------------------------------------------------------------ */

static void flat_segment(struct kvm_segment *s, uint16_t selector, int code)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = code ? 11 : 3, /* execute/read accessed : read/write accessed */
		.present = 1,
		.dpl = 0,
		.db = code ? 0 : 1,
		.s = 1,
		.l = code ? 1 : 0,
		.g = 1,
	};
}

/* The core's CPUID answers, exactly: the guest reads what the sim's guest
 * reads and what a trace of CPUID would show (a leaf not listed reads 0). */
static int set_cpuid(struct hv_vcpu *v, const struct hv_vcpu_init *init, char *err, size_t errlen)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof *c + init->ncpuid * sizeof c->entries[0]);
	if (!c) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	c->nent = init->ncpuid;
	for (unsigned i = 0; i < init->ncpuid; i++) {
		const struct hv_cpuid_leaf *l = &init->cpuid[i];
		c->entries[i] = (struct kvm_cpuid_entry2){
			.function = l->leaf, .index = l->sub,
			.flags = l->leaf == 0xb || l->leaf == 0xd ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = l->r[0], .ebx = l->r[1], .ecx = l->r[2], .edx = l->r[3],
		};
	}
	int r = ioctl(v->fd, KVM_SET_CPUID2, c);
	int e = errno;
	free(c);
	if (r < 0) {
		seterr(err, errlen, "KVM_SET_CPUID2: %s", strerror(e));
		return -1;
	}
	return 0;
}

/* One MSR of KVM's vCPU state (KVM_GET_MSRS / KVM_SET_MSRS): 0 or -1. */
static int msr_access(struct hv_vcpu *v, unsigned long req, uint32_t index, uint64_t *value)
{
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;
	memset(&m, 0, sizeof m);
	m.h.nmsrs = 1;
	m.h.entries[0].index = index;
	m.h.entries[0].data = *value;
	if (ioctl(v->fd, req, &m) != 1)
		return -1;
	*value = m.h.entries[0].data;
	return 0;
}

/* Guest TSC = host TSC + the partition's offset, so that what the guest
 * reads with RDTSC (a TSC deadline it programs, say) is exit->tsc + offset,
 * the relation the trace announces.  A new KVM vCPU starts its TSC at 0. */
static int set_tsc_offset(struct hv_vcpu *v, uint64_t offset, char *err, size_t errlen)
{
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uintptr_t)&offset,
	};
	if (ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &attr) == 0 && ioctl(v->fd, KVM_SET_DEVICE_ATTR, &attr) == 0)
		return 0;
	/* Older kernels: write IA32_TSC (a few cycles off). */
	uint64_t tsc = __rdtsc() + offset;
	if (msr_access(v, KVM_SET_MSRS, HVLOG_MSR_IA32_TIME_STAMP_COUNTER, &tsc) == 0)
		return 0;
	seterr(err, errlen, "cannot set the guest TSC (KVM_VCPU_TSC_OFFSET, KVM_SET_MSRS): %s", strerror(errno));
	return -1;
}

static void kvm_vcpu_destroy(struct hv_vcpu *v)
{
	if (!v)
		return;
	if (v->have_timer)
		timer_delete(v->timer);
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}

static int kvm_vcpu_create(struct hv_vm *vm, unsigned index, const struct hv_vcpu_init *init,
			   struct hv_vcpu **out, char *err, size_t errlen)
{
	*out = NULL;
	struct hv_vcpu *v = calloc(1, sizeof *v);
	if (!v) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	v->vm = vm;
	v->index = index;
	v->run_size = vm->run_size;
	v->irq_deferred = -1;
	v->irq_internal = -1;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		seterr(err, errlen, "KVM_CREATE_VCPU %u: %s", index, strerror(errno));
		goto fail;
	}
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		seterr(err, errlen, "mmap kvm_run: %s", strerror(errno));
		goto fail;
	}
	if (set_cpuid(v, init, err, errlen))
		goto fail;
	/* The APIC base the core gives this VP (the BSP bit only on VP 0);
	 * with no in-kernel APIC KVM keeps it as state, and derives CPUID's
	 * APIC bit from it. */
	uint64_t apic_base = init->apic_base;
	if (msr_access(v, KVM_SET_MSRS, HVLOG_MSR_IA32_APIC_BASE, &apic_base)) {
		seterr(err, errlen, "KVM_SET_MSRS(IA32_APIC_BASE %#llx): %s", (unsigned long long)init->apic_base,
		       strerror(errno));
		goto fail;
	}

	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		seterr(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
		goto fail;
	}
	flat_segment(&s.cs, init->cs ? init->cs : 8, 1);
	flat_segment(&s.ds, init->ds ? init->ds : 16, 0);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.gdt.base = init->gdt_base;
	s.gdt.limit = init->gdt_limit ? init->gdt_limit : 23;
	s.idt.base = init->idt_base;
	s.idt.limit = init->idt_limit;
	/* What the sim reports too.  No OSFXSR: the guest programs use no
	 * SSE (it would #UD). */
	s.cr0 = HV_GUEST_CR0;
	s.cr3 = init->cr3;
	s.cr4 = HV_GUEST_CR4;
	s.efer = init->efer;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0) {
		seterr(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
		goto fail;
	}
	struct kvm_regs r = { .rip = init->rip, .rsp = init->rsp, .rdi = init->rdi, .rsi = init->rsi, .rflags = RFLAGS_FIXED };
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0) {
		seterr(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		goto fail;
	}
	if (set_tsc_offset(v, init->tsc_offset, err, errlen))
		goto fail;
	v->sync_fields = vm->sync_fields;
	v->run->kvm_valid_regs = v->sync_fields;
	v->run->kvm_dirty_regs = 0;
	*out = v;
	return 0;
fail:
	kvm_vcpu_destroy(v);
	return -1;
}

/* ---- guest state at an exit ------------------------------------------ */

/* A register set of the exit: the copy KVM synced into the run area when
 * it is there and current, else *buf read with ioctl `get` once an exit
 * (*have says it was); NULL when the ioctl fails. */
static void *state_of(struct hv_vcpu *v, uint32_t sync, void *synced, unsigned long get, void *buf, int *have)
{
	if ((v->sync_fields & sync) && !v->sync_stale)
		return synced;
	if (!*have) {
		if (ioctl(v->fd, get, buf) < 0)
			return NULL;
		*have = 1;
	}
	return buf;
}

static struct kvm_regs *regs_of(struct hv_vcpu *v)
{
	return state_of(v, KVM_SYNC_X86_REGS, &v->run->s.regs.regs, KVM_GET_REGS, &v->regs, &v->have_regs);
}

static struct kvm_sregs *sregs_of(struct hv_vcpu *v)
{
	return state_of(v, KVM_SYNC_X86_SREGS, &v->run->s.regs.sregs, KVM_GET_SREGS, &v->sregs, &v->have_sregs);
}

/* Where each register of enum x86_reg is in struct kvm_regs. */
static const size_t gpr_offset[X86_NGPR] = {
	[RAX] = offsetof(struct kvm_regs, rax), [RCX] = offsetof(struct kvm_regs, rcx),
	[RDX] = offsetof(struct kvm_regs, rdx), [RBX] = offsetof(struct kvm_regs, rbx),
	[RSP] = offsetof(struct kvm_regs, rsp), [RBP] = offsetof(struct kvm_regs, rbp),
	[RSI] = offsetof(struct kvm_regs, rsi), [RDI] = offsetof(struct kvm_regs, rdi),
	[R8] = offsetof(struct kvm_regs, r8), [R9] = offsetof(struct kvm_regs, r9),
	[R10] = offsetof(struct kvm_regs, r10), [R11] = offsetof(struct kvm_regs, r11),
	[R12] = offsetof(struct kvm_regs, r12), [R13] = offsetof(struct kvm_regs, r13),
	[R14] = offsetof(struct kvm_regs, r14), [R15] = offsetof(struct kvm_regs, r15),
};

static uint64_t gpr(const struct kvm_regs *r, unsigned n)
{
	uint64_t x;
	memcpy(&x, (const uint8_t *)r + gpr_offset[n & 15], sizeof x);
	return x;
}

/* Guest virtual to guest physical through the guest's page tables. */
static int translate(struct hv_vcpu *v, uint64_t gva, uint64_t *gpa)
{
	const struct kvm_sregs *s = sregs_of(v);
	if (!s)
		return -1;
	if (!(s->cr0 & CR0_PG)) {
		*gpa = gva & 0xffffffffull;
		return 0;
	}
	if (!(s->efer & EFER_LMA))
		return -1; /* 32-bit paging: not our guest model */
	int levels = (s->cr4 & CR4_LA57) ? 5 : 4;
	uint64_t table = s->cr3 & PTE_ADDR;
	for (int level = levels; level >= 1; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t at = table + ((gva >> shift) & 511) * 8;
		if (at + 8 > v->vm->mem_size)
			return -1;
		uint64_t pte;
		memcpy(&pte, v->vm->mem + at, 8);
		if (!(pte & PTE_P))
			return -1;
		if (level == 1 || ((level == 2 || level == 3) && (pte & PTE_PS))) {
			uint64_t mask = (1ull << shift) - 1;
			*gpa = ((pte & PTE_ADDR) & ~mask) | (gva & mask);
			return 0;
		}
		table = pte & PTE_ADDR;
	}
	return -1;
}

/* Up to n bytes of guest virtual memory at gva; returns how many could be
 * read (stops at the first unmapped or non-RAM byte). */
static size_t read_guest(struct hv_vcpu *v, uint64_t gva, uint8_t *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		uint64_t gpa;
		if (translate(v, gva + done, &gpa))
			break;
		size_t chunk = 4096 - (size_t)(gpa & 0xfff);
		if (chunk > n - done)
			chunk = n - done;
		if (gpa >= v->vm->mem_size || v->vm->mem_size - gpa < chunk)
			break;
		memcpy(buf + done, v->vm->mem + gpa, chunk);
		done += chunk;
	}
	return done;
}

/* ---- instruction decoding -------------------------------------------- */

/* Just enough of x86-64 decoding to find instruction boundaries and memory
 * operands: legacy prefixes, REX, the 1-byte, 0F, 0F38 and 0F3A maps and
 * VEX (prefixes, ModRM and SIB as x86.h decodes them for the sim too).
 * EVEX (0x62) and 3DNow!/XOP are not decoded. */
struct insn {
	uint8_t len;
	uint8_t map; /* 0: one byte, 1: 0F, 2: 0F38, 3: 0F3A */
	uint8_t op;
	uint8_t rex; /* REX bits (W R X B = 8 4 2 1), from REX or VEX */
	uint8_t has_rex;
	uint8_t opsize16, addr32, rep, seg;
	uint8_t has_modrm, moffs;
	struct x86_modrm m;
	uint64_t imm;
	uint8_t imm_size;
};

enum { IMM_NONE, IMM_B, IMM_W, IMM_Z, IMM_V, IMM_D, IMM_WB, IMM_MOFFS, IMM_BAD };

static void map0_info(uint8_t op, int *modrm, int *imm)
{
	*modrm = 0;
	*imm = IMM_NONE;
	if (op < 0x40) {
		switch (op & 7) {
		case 0: case 1: case 2: case 3: *modrm = 1; return;
		case 4: *imm = IMM_B; return;
		case 5: *imm = IMM_Z; return;
		default: *imm = IMM_BAD; return; /* invalid in 64-bit mode (or a prefix) */
		}
	}
	if (op >= 0x70 && op <= 0x7f) { *imm = IMM_B; return; }
	if (op >= 0x84 && op <= 0x8f) { *modrm = 1; return; }
	if (op >= 0xb0 && op <= 0xb7) { *imm = IMM_B; return; }
	if (op >= 0xb8 && op <= 0xbf) { *imm = IMM_V; return; }
	if (op >= 0xd8 && op <= 0xdf) { *modrm = 1; return; }
	if (op >= 0xe0 && op <= 0xe7) { *imm = IMM_B; return; }
	switch (op) {
	case 0x63: case 0xd0: case 0xd1: case 0xd2: case 0xd3: case 0xf6: case 0xf7: case 0xfe: case 0xff:
		*modrm = 1; return;
	case 0x69: case 0x81: case 0xc7: *modrm = 1; *imm = IMM_Z; return;
	case 0x6b: case 0x80: case 0x83: case 0xc0: case 0xc1: case 0xc6: *modrm = 1; *imm = IMM_B; return;
	case 0x68: case 0xa9: *imm = IMM_Z; return;
	case 0x6a: case 0xa8: case 0xcd: case 0xeb: *imm = IMM_B; return;
	case 0xe8: case 0xe9: *imm = IMM_D; return;
	case 0xc2: case 0xca: *imm = IMM_W; return;
	case 0xc8: *imm = IMM_WB; return;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: *imm = IMM_MOFFS; return;
	case 0x60: case 0x61: case 0x62: case 0x82: case 0x9a: case 0xce: case 0xd4: case 0xd5: case 0xd6: case 0xea:
		*imm = IMM_BAD; return;
	default: return; /* 50-5f 6c-6f 90-9f a4-a7 aa-af c3 c9 cb cc cf d7 ec-ef f1 f4 f5 f8-fd */
	}
}

static void map1_info(uint8_t op, int *modrm, int *imm)
{
	*modrm = 1;
	*imm = IMM_NONE;
	if ((op >= 0x80 && op <= 0x8f)) { *modrm = 0; *imm = IMM_D; return; }
	if (op >= 0xc8 && op <= 0xcf) { *modrm = 0; return; }
	if (op >= 0x30 && op <= 0x37) { *modrm = 0; return; }
	switch (op) {
	case 0x05: case 0x06: case 0x07: case 0x08: case 0x09: case 0x0b: case 0x0e: case 0x77:
	case 0xa0: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xaa:
		*modrm = 0; return;
	case 0x70: case 0x71: case 0x72: case 0x73: case 0xa4: case 0xac: case 0xba:
	case 0xc2: case 0xc4: case 0xc5: case 0xc6:
		*imm = IMM_B; return;
	case 0x04: case 0x0a: case 0x0c: case 0x0f: case 0x24: case 0x25: case 0x26: case 0x27:
	case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c: case 0x3d: case 0x3e: case 0x3f:
		*modrm = 0; *imm = IMM_BAD; return;
	default: return;
	}
}

/* Decode the instruction at p[0..n); 0 if it is not one we can decode. */
static int decode(const uint8_t *p, size_t n, struct insn *d)
{
	struct x86_prefixes px;
	memset(d, 0, sizeof *d);
	size_t i = x86_prefixes(p, n < 15 ? n : 15, &px);
	if (i >= n || i >= 15)
		return 0;
	d->rex = px.rex & 15;
	d->has_rex = px.rex != 0;
	d->opsize16 = (px.kinds >> X86_PX_OPSIZE) & 1;
	d->addr32 = (px.kinds >> X86_PX_ADDRSIZE) & 1;
	d->rep = px.rep;
	d->seg = px.seg;
	int modrm, imm;
	uint8_t b = p[i++];
	if (b == 0xc4 || b == 0xc5) { /* VEX */
		if (d->has_rex || d->opsize16 || d->rep || i + (b == 0xc4 ? 2u : 1u) >= n)
			return 0;
		uint8_t b1 = p[i++];
		d->rex = (uint8_t)((b1 & 0x80) ? 0 : REX_R); /* VEX keeps R X B inverted */
		if (b == 0xc4) {
			d->rex |= (uint8_t)(((b1 & 0x40) ? 0 : REX_X) | ((b1 & 0x20) ? 0 : REX_B));
			d->map = b1 & 0x1f;
			uint8_t b2 = p[i++];
			d->rex |= (uint8_t)((b2 & 0x80) ? REX_W : 0);
			if (d->map < 1 || d->map > 3)
				return 0;
		} else {
			d->map = 1;
		}
		if (i >= n)
			return 0;
		d->op = p[i++];
		modrm = !(d->map == 1 && d->op == 0x77);
		imm = d->map == 3 ? IMM_B : IMM_NONE;
		if (d->map == 1 && (d->op == 0x70 || d->op == 0x71 || d->op == 0x72 || d->op == 0x73 ||
				    d->op == 0xc2 || d->op == 0xc4 || d->op == 0xc5 || d->op == 0xc6))
			imm = IMM_B;
	} else if (b == 0x0f) {
		if (i >= n)
			return 0;
		uint8_t b1 = p[i++];
		if (b1 == 0x38 || b1 == 0x3a) {
			if (i >= n)
				return 0;
			d->map = b1 == 0x38 ? 2 : 3;
			d->op = p[i++];
			modrm = 1;
			imm = d->map == 3 ? IMM_B : IMM_NONE;
		} else {
			d->map = 1;
			d->op = b1;
			map1_info(b1, &modrm, &imm);
		}
	} else {
		d->map = 0;
		d->op = b;
		map0_info(b, &modrm, &imm);
	}
	if (imm == IMM_BAD)
		return 0;
	if (modrm) {
		size_t len = x86_modrm(p + i, n - i, d->rex, &d->m);
		if (!len)
			return 0;
		d->has_modrm = 1;
		i += len;
		if (d->map == 0 && (d->op == 0xf6 || d->op == 0xf7) && (d->m.reg & 7) < 2)
			imm = d->op == 0xf6 ? IMM_B : IMM_Z;
	}
	size_t isz = 0;
	switch (imm) {
	case IMM_B: isz = 1; break;
	case IMM_W: isz = 2; break;
	case IMM_Z: isz = d->opsize16 ? 2 : 4; break;
	case IMM_V: isz = x86_opsize(d->rex, d->opsize16); break;
	case IMM_D: isz = 4; break;
	case IMM_WB: isz = 3; break;
	case IMM_MOFFS: isz = d->addr32 ? 4 : 8; d->moffs = 1; break;
	default: break;
	}
	if (i + isz > n || i + isz > 15)
		return 0;
	for (size_t k = 0; k < isz; k++)
		d->imm |= (uint64_t)p[i + k] << (8 * k);
	d->imm_size = (uint8_t)isz;
	i += isz;
	d->len = (uint8_t)i;
	return (int)i;
}

/* Operand size of an integer instruction with a 16/32/64-bit form. */
static unsigned opsize(const struct insn *d)
{
	return x86_opsize(d->rex, d->opsize16);
}

/* ---- which instruction exited ---------------------------------------- */

struct want {
	enum hv_exit_kind kind;
	int write;
	uint16_t port;
	unsigned size;
	uint64_t addr;  /* MMIO guest-physical address */
	uint64_t data;  /* stored value (MMIO write) */
};

static int mmio_ea_matches(struct hv_vcpu *v, const struct want *w, uint64_t ea)
{
	if (ea >> 47 && ea >> 47 != 0x1ffff)
		return 0; /* not canonical */
	uint64_t gpa;
	if (translate(v, ea, &gpa))
		return 0;
	/* KVM splits an access that crosses a page into fragments. */
	return w->addr - gpa < 64;
}

/* Does the instruction d at `at` do what the exit says? */
static int insn_matches(struct hv_vcpu *v, const struct insn *d, uint64_t at, const struct want *w)
{
	const struct kvm_regs *r = regs_of(v);
	if (!r)
		return 0;
	switch (w->kind) {
	case HV_EXIT_IO: {
		if (d->map != 0 || d->op < 0xe4 || (d->op > 0xe7 && d->op < 0xec) || d->op > 0xef)
			return 0;
		int out = (d->op & 2) != 0;
		unsigned size = (d->op & 1) ? (d->opsize16 ? 2 : 4) : 1;
		uint16_t port = d->op < 0xec ? (uint16_t)d->imm : (uint16_t)r->rdx;
		return out == w->write && size == w->size && port == w->port;
	}
	case HV_EXIT_HLT:
		return d->map == 0 && d->op == 0xf4;
	case HV_EXIT_MSR_READ:
		return d->map == 1 && d->op == 0x32;
	case HV_EXIT_MSR_WRITE:
		return d->map == 1 && d->op == 0x30;
	case HV_EXIT_MMIO:
		break;
	default:
		return 0;
	}
	/* MMIO: string instructions first (no ModRM). */
	if (d->map == 0 && ((d->op >= 0xa4 && d->op <= 0xa7) || (d->op >= 0xaa && d->op <= 0xaf))) {
		unsigned size = (d->op & 1) ? opsize(d) : 1;
		int stores = d->op == 0xa4 || d->op == 0xa5 || d->op == 0xaa || d->op == 0xab;
		int loads = !(d->op == 0xaa || d->op == 0xab);
		if (w->write ? !stores : !loads)
			return 0;
		uint64_t base = w->write ? r->rdi : r->rsi;
		if (d->addr32)
			base &= 0xffffffffull;
		/* RDI/RSI before or after the instruction moved it. */
		uint64_t step = (r->rflags & RFLAGS_DF) ? (uint64_t)-(int64_t)size : size;
		return mmio_ea_matches(v, w, base) || mmio_ea_matches(v, w, base - step);
	}
	uint64_t ea;
	if (d->moffs) {
		if (!(d->map == 0 && (d->op == 0xa2 || d->op == 0xa3) ? w->write : !w->write))
			return 0;
		ea = d->imm;
	} else {
		if (!d->has_modrm || d->m.mod == 3)
			return 0;
		uint64_t g[X86_NGPR];
		for (unsigned k = 0; k < X86_NGPR; k++)
			g[k] = gpr(r, k);
		ea = x86_ea(&d->m, g) + (d->m.riprel ? at + d->len : 0);
	}
	if (d->addr32)
		ea &= 0xffffffffull;
	if (d->seg) {
		const struct kvm_sregs *s = sregs_of(v);
		if (!s)
			return 0;
		ea += d->seg == 0x64 ? s->fs.base : s->gs.base;
	}
	if (!mmio_ea_matches(v, w, ea))
		return 0;
	/* Size, direction and stored value where the opcode tells them. */
	if (d->map == 0) {
		unsigned size = 0;  /* 0: not checked */
		int access = 3;     /* 1 load, 2 store, 3 either (read-modify-write) */
		uint8_t op = d->op, sub = d->m.reg & 7;
		if (op < 0x40) { /* ALU r/m,r and r,r/m */
			size = (op & 1) ? opsize(d) : 1;
			access = (op & 2) || (op & 0xf8) == 0x38 ? 1 : 3;
		} else if (op == 0x80 || op == 0x81 || op == 0x83) {
			size = op == 0x80 ? 1 : opsize(d);
			access = sub == 7 ? 1 : 3;
		} else if (op == 0x84 || op == 0x85 || op == 0x8a || op == 0x8b) {
			size = (op & 1) ? opsize(d) : 1;
			access = 1;
		} else if (op == 0x86 || op == 0x87) {
			size = (op & 1) ? opsize(d) : 1;
		} else if (op == 0x88 || op == 0x89 || op == 0xc6 || op == 0xc7) {
			size = (op & 1) ? opsize(d) : 1;
			access = 2;
		} else if (op == 0xa0 || op == 0xa1 || op == 0xa2 || op == 0xa3) {
			size = (op & 1) ? opsize(d) : 1;
			access = op >= 0xa2 ? 2 : 1;
		} else if (op == 0x8c || op == 0x8e) {
			size = 2;
			access = op == 0x8c ? 2 : 1;
		} else if (op == 0x8d) {
			return 0; /* LEA does not access memory */
		} else if (op == 0x8f) {
			size = d->opsize16 ? 2 : 8;
			access = 2;
		} else if (op == 0x63) {
			size = 4;
			access = 1;
		} else if (op == 0x69 || op == 0x6b) {
			size = opsize(d);
			access = 1;
		} else if (op == 0xc0 || op == 0xc1 || (op >= 0xd0 && op <= 0xd3) || op == 0xf6 || op == 0xf7 || op == 0xfe) {
			size = (op & 1) ? opsize(d) : 1;
			access = (op == 0xf6 || op == 0xf7) && sub != 2 && sub != 3 ? 1 : 3;
		} else if (op == 0xff) {
			if (sub == 7)
				return 0;
			size = sub < 2 ? opsize(d) : sub == 3 || sub == 5 ? 0 : d->opsize16 ? 2 : 8;
			access = sub < 2 ? 3 : 1;
		}
		if (!(access & (w->write ? 2 : 1)) || (size && size != w->size))
			return 0;
		if (w->write && (d->op == 0x88 || d->op == 0x89 || d->op == 0xc6 || d->op == 0xc7)) {
			uint64_t val;
			if (d->op == 0xc6 || d->op == 0xc7)
				val = (uint64_t)(int64_t)(int32_t)(uint32_t)d->imm;
			else if (size == 1 && !d->has_rex && d->m.reg >= 4 && d->m.reg < 8)
				val = gpr(r, d->m.reg - 4u) >> 8; /* AH CH DH BH */
			else
				val = gpr(r, d->m.reg);
			uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
			if ((val & mask) != (w->data & mask))
				return 0;
		}
	} else if (d->map == 1 && (d->op == 0xb6 || d->op == 0xbe || d->op == 0xb7 || d->op == 0xbf)) {
		if (w->write || w->size != ((d->op & 1) ? 2u : 1u))
			return 0;
	}
	return 1;
}

/* The instruction that starts at `at`, if it matches. */
static int match_at(struct hv_vcpu *v, uint64_t at, const struct want *w)
{
	uint8_t buf[15];
	size_t n = read_guest(v, at, buf, sizeof buf);
	struct insn d;
	return n && decode(buf, n, &d) && insn_matches(v, &d, at, w);
}

/* The shortest matching instruction that ends right at `end`: 0 if none. */
static unsigned match_before(struct hv_vcpu *v, uint64_t end, const struct want *w)
{
	uint8_t buf[15];
	unsigned have = 0;
	/* Read what we can of the 15 bytes before end (the start may be
	 * unmapped while the instruction itself is not). */
	for (unsigned k = 15; k >= 1; k--) {
		if (read_guest(v, end - k, buf + 15 - k, k) == k) {
			have = k;
			break;
		}
	}
	for (unsigned len = 1; len <= have; len++) {
		struct insn d;
		if (decode(buf + 15 - len, len, &d) == (int)len && insn_matches(v, &d, end - len, w))
			return len;
	}
	return 0;
}

/* ---- running --------------------------------------------------------- */

/* Finish what KVM holds pending for the last exit without running the
 * guest.  Further MMIO fragments are answered with zeros: only used when
 * the instruction will be undone anyway (or cannot have any). */
static int complete_now(struct hv_vcpu *v, char *err, size_t errlen)
{
	struct kvm_run *r = v->run;
	for (int tries = 0; tries < 16; tries++) {
		r->immediate_exit = 1;
		int rc = ioctl(v->fd, KVM_RUN, 0);
		int e = errno;
		r->immediate_exit = (uint8_t)v->kicked; /* a kick that came meanwhile: the next KVM_RUN */
		v->have_regs = v->have_sregs = 0;
		v->sync_stale = 1;
		if (rc < 0 && e == EINTR)
			return 0;
		if (rc < 0) {
			seterr(err, errlen, "KVM_RUN (completing an exit): %s", strerror(e));
			return -1;
		}
		if (r->exit_reason == KVM_EXIT_MMIO) {
			if (!r->mmio.is_write)
				memset(r->mmio.data, 0, sizeof r->mmio.data);
			continue;
		}
		if (r->exit_reason == KVM_EXIT_DEBUG && v->stepping)
			return 0; /* the single-step trap of the finished instruction */
		seterr(err, errlen, "KVM_RUN (completing an exit): unexpected exit %u", r->exit_reason);
		return -1;
	}
	seterr(err, errlen, "KVM_RUN (completing an exit): does not finish");
	return -1;
}

/* The core faulted an IN/OUT/MMIO exit: #GP(0) at the instruction, with
 * the registers as they were at the exit. */
static int fault_insn(struct hv_vcpu *v, char *err, size_t errlen)
{
	struct kvm_regs *cur = regs_of(v);
	if (!cur) {
		seterr(err, errlen, "KVM_GET_REGS: %s", strerror(errno));
		return -1;
	}
	struct kvm_regs saved = *cur;
	if (v->pending != P_OUT_DONE && complete_now(v, err, errlen))
		return -1;
	saved.rip = v->insn_rip;
	if (ioctl(v->fd, KVM_SET_REGS, &saved) < 0) {
		seterr(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	struct kvm_vcpu_events ev;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
		seterr(err, errlen, "KVM_GET_VCPU_EVENTS: %s", strerror(errno));
		return -1;
	}
	ev.exception.injected = 1;
	ev.exception.pending = 0;
	ev.exception.nr = HVLOG_EXCEPTION_GP;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0;
	ev.flags &= ~(uint32_t)KVM_VCPUEVENT_VALID_PAYLOAD;
	ev.exception_has_payload = 0;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
		seterr(err, errlen, "KVM_SET_VCPU_EVENTS (#GP): %s", strerror(errno));
		return -1;
	}
	v->have_regs = v->have_sregs = 0;
	v->sync_stale = 1;
	return 0;
}

static int interrupt(struct hv_vcpu *v, int vector)
{
	struct kvm_interrupt irq = { .irq = (uint32_t)vector };
	return ioctl(v->fd, KVM_INTERRUPT, &irq);
}

/* Give KVM the core's answer to the last exit: 0, 1 if the instruction
 * is faulted (a #GP is on its way), -1 on error. */
static int complete(struct hv_vcpu *v, const struct hv_exit *exit, char *err, size_t errlen)
{
	struct kvm_run *r = v->run;
	enum pending p = v->pending;
	int fault = exit->fault != 0;
	v->pending = P_NONE;
	switch (p) {
	case P_NONE:
		break;
	case P_RDMSR:
		r->msr.data = exit->data;
		r->msr.error = (uint8_t)fault;
		break;
	case P_WRMSR:
		r->msr.error = (uint8_t)fault;
		break;
	case P_IN:
	case P_OUT:
	case P_OUT_DONE:
	case P_MMIO_READ:
	case P_MMIO_WRITE:
		if (fault) {
			v->pending = p;
			int rc = fault_insn(v, err, errlen);
			v->pending = P_NONE;
			if (rc)
				return -1;
		} else if (p == P_IN) {
			memcpy((uint8_t *)r + r->io.data_offset, &exit->data, v->size);
		} else if (p == P_MMIO_READ) {
			memcpy(r->mmio.data, &exit->data, v->size);
		}
		break;
	}
	if (v->irq_deferred >= 0) {
		int vec = v->irq_deferred;
		v->irq_deferred = -1;
		if (fault && p != P_NONE) {
			/* The #GP goes first; the vector at the next window. */
			v->irq_internal = vec;
			r->request_interrupt_window = 1;
		} else if (interrupt(v, vec) < 0) {
			seterr(err, errlen, "KVM_INTERRUPT %#x: %s", vec, strerror(errno));
			return -1;
		}
	}
	return fault && p != P_NONE;
}

static int waiting_for_window(const struct hv_vcpu *v)
{
	return v->core_wants_window || v->irq_internal >= 0;
}

/* Single-step the guest while we wait for an interrupt window, so that we
 * see the window open at the exact instruction boundary.  Needed under
 * kvm_pvm, whose window exit comes ~1000 instructions late, or never when
 * the guest exits to user space more often than that; harmless on
 * VMX/SVM, whose window exit comes at the same boundary.  kvm_pvm loses
 * the single-step trap of IRET, so when the next instruction is an IRET
 * we also set a hardware breakpoint where it returns to.  Without
 * KVM_SET_GUEST_DEBUG we still find the window at the next exit (run()
 * checks it before entering the guest).  Call with nothing pending. */
static int set_stepping(struct hv_vcpu *v, int on, char *err, size_t errlen)
{
	if (on && v->cannot_step)
		return 0;
	uint64_t bp = 0;
	if (on) {
		struct kvm_regs now;
		uint8_t insn[2];
		if (ioctl(v->fd, KVM_GET_REGS, &now) < 0) {
			seterr(err, errlen, "vp %u: KVM_GET_REGS: %s", v->index, strerror(errno));
			return -1;
		}
		size_t n = read_guest(v, now.rip, insn, 2);
		if (n >= 1 && insn[0] == 0xcf) { /* IRETD: 4-byte frame */
			uint32_t ret32;
			if (read_guest(v, now.rsp, (uint8_t *)&ret32, 4) == 4)
				bp = ret32;
		} else if (n == 2 && insn[0] == 0x48 && insn[1] == 0xcf) { /* IRETQ */
			if (read_guest(v, now.rsp, (uint8_t *)&bp, 8) != 8)
				bp = 0;
		}
	}
	if (on == v->stepping && bp == v->step_bp)
		return 0;
	struct kvm_guest_debug dbg = { .control = 0 };
	if (on) {
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
		if (bp) {
			dbg.control |= KVM_GUESTDBG_USE_HW_BP;
			dbg.arch.debugreg[0] = bp;
			dbg.arch.debugreg[7] = 0x1; /* L0: break on executing bp */
		}
	}
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		if (on && !v->stepping) {
			v->cannot_step = 1;
			return 0;
		}
		seterr(err, errlen, "vp %u: KVM_SET_GUEST_DEBUG: %s", v->index, strerror(errno));
		return -1;
	}
	v->stepping = on;
	v->step_bp = bp;
	return 0;
}

/* An exit at an instruction boundary (nothing pending): RIP is the next
 * instruction, from KVM itself.  0 or -1. */
static int boundary_exit(struct hv_vcpu *v, struct hv_exit *exit, enum hv_exit_kind kind, uint64_t tsc,
			 char *err, size_t errlen)
{
	struct kvm_regs now;
	if (ioctl(v->fd, KVM_GET_REGS, &now) < 0) {
		seterr(err, errlen, "vp %u: KVM_GET_REGS: %s", v->index, strerror(errno));
		return -1;
	}
	memset(exit, 0, sizeof *exit);
	exit->kind = kind;
	exit->tsc = tsc;
	exit->rip = now.rip;
	v->pending = P_NONE;
	v->insn_rip = now.rip;
	return 0;
}

/* The interrupt window is open: give the guest the vector we owe it
 * (returns 0: go on running), or report the window to the core (1). */
static int window_open(struct hv_vcpu *v, struct hv_exit *exit, uint64_t tsc, char *err, size_t errlen)
{
	struct kvm_run *r = v->run;
	if (v->irq_internal >= 0) {
		int vec = v->irq_internal;
		v->irq_internal = -1;
		r->request_interrupt_window = (uint8_t)v->core_wants_window;
		if (interrupt(v, vec) < 0) {
			seterr(err, errlen, "vp %u: KVM_INTERRUPT %#x: %s", v->index, vec, strerror(errno));
			return -1;
		}
		v->irq_injected = 1;
		return 0;
	}
	r->request_interrupt_window = 0;
	if (!v->core_wants_window)
		return 0;
	v->core_wants_window = 0;
	return boundary_exit(v, exit, HV_EXIT_IRQ_WINDOW, tsc, err, errlen) ? -1 : 1;
}

static void internal_error(struct hv_vcpu *v, char *err, size_t errlen)
{
	struct kvm_run *r = v->run;
	char extra[160] = "";
	size_t used = 0;
	unsigned nd = r->internal.ndata < 4 ? r->internal.ndata : 4;
	for (unsigned i = 0; i < nd && used < sizeof extra; i++)
		used += (size_t)snprintf(extra + used, sizeof extra - used, " %#llx",
					 (unsigned long long)r->internal.data[i]);
	const struct kvm_regs *rg = regs_of(v);
	uint64_t rip = rg ? rg->rip : 0;
	uint8_t bytes[8];
	size_t n = rg ? read_guest(v, rip, bytes, sizeof bytes) : 0;
	char hex[3 * sizeof bytes + 1] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 3 * i, sizeof hex - 3 * i, " %02x", bytes[i]);
	const char *what = r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (instruction emulation failed)"
			 : r->internal.suberror == KVM_INTERNAL_ERROR_SIMUL_EX ? " (exception while delivering an exception)"
			 : r->internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV ? " (exit while delivering an event)"
			 : "";
	seterr(err, errlen, "vp %u: KVM_EXIT_INTERNAL_ERROR suberror %u%s, data%s; rip %#llx:%s", v->index,
	       r->internal.suberror, what, nd ? extra : " none", (unsigned long long)rip, n ? hex : " (unreadable)");
}

/* An emulation failure at MONITOR or MWAIT (kvm_pvm's): complete it here,
 * stepped over.  1: *exit filled: MONITOR (RAX; it arms nothing the guest
 * can see: no store ever wakes an MWAIT that does not wait) or MWAIT (EAX
 * hints, ECX extensions); 2: another failure; -1: error. */
static int monitor_mwait(struct hv_vcpu *v, struct hv_exit *exit, char *err, size_t errlen)
{
	struct kvm_regs *rg = regs_of(v);
	uint8_t b[3];

	if (v->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION || !rg ||
	    read_guest(v, rg->rip, b, sizeof b) != sizeof b || b[0] != 0x0f || b[1] != 0x01 ||
	    (b[2] != 0xc8 && b[2] != 0xc9))
		return 2;
	struct kvm_regs next = *rg;
	next.rip += 3;
	if (ioctl(v->fd, KVM_SET_REGS, &next) < 0) {
		seterr(err, errlen, "vp %u: KVM_SET_REGS (after MONITOR/MWAIT): %s", v->index, strerror(errno));
		return -1;
	}
	v->have_regs = v->have_sregs = 0;
	v->sync_stale = 1;
	if (b[2] == 0xc8) {
		exit->kind = HV_EXIT_MONITOR;
		exit->addr = next.rax;
		return 1;
	}
	exit->kind = HV_EXIT_MWAIT;
	exit->cpuid[0] = (uint32_t)next.rax;
	exit->cpuid[2] = (uint32_t)next.rcx;
	return 1;
}

/* Locate the exiting instruction: `after` is what KVM normally does for
 * this kind of exit (RIP already past the instruction). */
static uint64_t locate(struct hv_vcpu *v, uint64_t rip, int after, const struct want *w)
{
	unsigned len = match_before(v, rip, w);
	int at = match_at(v, rip, w);
	if (len && (after || !at))
		return rip - len;
	return rip; /* at it, or nothing matched (then RIP is our best guess) */
}

static int kvm_backend_run(struct hv_vcpu *v, struct hv_exit *exit, char *err, size_t errlen)
{
	struct kvm_run *r = v->run;
	if (v->shut_down) {
		seterr(err, errlen, "vp %u is shut down (triple fault)", v->index);
		return -1;
	}
	int faulted = complete(v, exit, err, errlen);
	if (faulted < 0)
		return -1;
	if (waiting_for_window(v) || v->stepping) {
		/* Finish the last instruction without entering the guest: the
		 * window may be open right after it, and guest debug is best
		 * changed with nothing pending. */
		if (complete_now(v, err, errlen))
			return -1;
		if (!faulted && waiting_for_window(v) && r->ready_for_interrupt_injection && r->if_flag) {
			int rc = window_open(v, exit, __rdtsc(), err, errlen);
			if (rc)
				return rc < 0 ? -1 : 0;
		}
		if ((waiting_for_window(v) || v->stepping) && set_stepping(v, waiting_for_window(v), err, errlen))
			return -1;
	}
	for (;;) {
		r->kvm_dirty_regs = 0;
		int rc = ioctl(v->fd, KVM_RUN, 0);
		uint64_t tsc = __rdtsc();
		v->have_regs = v->have_sregs = 0;
		v->sync_stale = 0;
		v->irq_injected = 0;
		if (rc < 0) {
			if ((errno == EINTR || errno == EAGAIN) && v->kicked) {
				v->kicked = 0; /* the core's timer */
				r->immediate_exit = 0;
				return boundary_exit(v, exit, HV_EXIT_KICK, tsc, err, errlen);
			}
			if (errno == EINTR || errno == EAGAIN)
				continue;
			seterr(err, errlen, "vp %u: KVM_RUN: %s", v->index, strerror(errno));
			return -1;
		}
		const struct kvm_regs *rg = regs_of(v);
		if (!rg) {
			seterr(err, errlen, "vp %u: KVM_GET_REGS: %s", v->index, strerror(errno));
			return -1;
		}
		uint64_t rip = rg->rip;
		struct want w = { 0 };
		memset(exit, 0, sizeof *exit);
		exit->tsc = tsc;
		exit->rip = rip;
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			if (r->io.count != 1 || (r->io.size != 1 && r->io.size != 2 && r->io.size != 4)) {
				seterr(err, errlen, "vp %u: string I/O on port %#x (count %u size %u) is not supported",
				       v->index, r->io.port, r->io.count, r->io.size);
				return -1;
			}
			exit->kind = HV_EXIT_IO;
			exit->port = r->io.port;
			exit->size = r->io.size;
			exit->write = r->io.direction == KVM_EXIT_IO_OUT;
			if (exit->write)
				memcpy(&exit->data, (uint8_t *)r + r->io.data_offset, r->io.size);
			w = (struct want){ .kind = HV_EXIT_IO, .write = exit->write, .port = exit->port, .size = exit->size };
			if (exit->write) {
				unsigned len = match_before(v, rip, &w);
				int at = match_at(v, rip, &w);
				v->pending = P_OUT;
				if (len && at) {
					/* Both readings fit: let KVM finish the OUT
					 * and see whether RIP moves. */
					if (complete_now(v, err, errlen))
						return -1;
					v->pending = P_OUT_DONE;
					struct kvm_regs now; /* from KVM itself, not the sync area */
					if (ioctl(v->fd, KVM_GET_REGS, &now) < 0) {
						seterr(err, errlen, "vp %u: KVM_GET_REGS: %s", v->index, strerror(errno));
						return -1;
					}
					if (now.rip == rip)
						exit->rip = rip - len;
				} else if (len) {
					exit->rip = rip - len;
				}
			} else {
				v->pending = P_IN;
				v->size = r->io.size;
				exit->rip = locate(v, rip, 0, &w);
			}
			break;
		case KVM_EXIT_MMIO:
			if (r->mmio.len == 0 || r->mmio.len > 8) {
				seterr(err, errlen, "vp %u: MMIO access of %u bytes at %#llx", v->index, r->mmio.len,
				       (unsigned long long)r->mmio.phys_addr);
				return -1;
			}
			exit->kind = HV_EXIT_MMIO;
			exit->addr = r->mmio.phys_addr;
			exit->size = (uint8_t)r->mmio.len;
			exit->write = r->mmio.is_write;
			if (exit->write)
				memcpy(&exit->data, r->mmio.data, r->mmio.len);
			w = (struct want){ .kind = HV_EXIT_MMIO, .write = exit->write, .size = exit->size,
					   .addr = exit->addr, .data = exit->data };
			v->pending = exit->write ? P_MMIO_WRITE : P_MMIO_READ;
			v->size = exit->size;
			exit->rip = locate(v, rip, exit->write, &w);
			break;
		case KVM_EXIT_HLT:
			exit->kind = HV_EXIT_HLT;
			w.kind = HV_EXIT_HLT;
			exit->rip = locate(v, rip, 1, &w);
			break;
		case KVM_EXIT_X86_RDMSR:
		case KVM_EXIT_X86_WRMSR:
			exit->kind = r->exit_reason == KVM_EXIT_X86_RDMSR ? HV_EXIT_MSR_READ : HV_EXIT_MSR_WRITE;
			exit->addr = r->msr.index;
			if (exit->kind == HV_EXIT_MSR_WRITE)
				exit->data = r->msr.data;
			v->pending = exit->kind == HV_EXIT_MSR_READ ? P_RDMSR : P_WRMSR;
			w.kind = exit->kind;
			exit->rip = locate(v, rip, 0, &w);
			break;
		case KVM_EXIT_SHUTDOWN:
			exit->kind = HV_EXIT_SHUTDOWN;
			v->shut_down = 1;
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_DEBUG:
			if (r->exit_reason == KVM_EXIT_DEBUG && !v->stepping) {
				seterr(err, errlen, "vp %u: unexpected KVM_EXIT_DEBUG at rip %#llx", v->index,
				       (unsigned long long)rip);
				return -1;
			}
			if (r->ready_for_interrupt_injection && r->if_flag) {
				int opened = window_open(v, exit, tsc, err, errlen);
				if (opened)
					return opened < 0 ? -1 : 0;
			}
			if (v->stepping && set_stepping(v, waiting_for_window(v), err, errlen))
				return -1;
			continue;
		case KVM_EXIT_INTR:
			continue;
		case KVM_EXIT_FAIL_ENTRY:
			seterr(err, errlen, "vp %u: KVM_EXIT_FAIL_ENTRY: hardware entry failure reason %#llx (cpu %u)",
			       v->index, (unsigned long long)r->fail_entry.hardware_entry_failure_reason,
			       r->fail_entry.cpu);
			return -1;
		case KVM_EXIT_INTERNAL_ERROR: {
			int m = monitor_mwait(v, exit, err, errlen);
			if (m < 0)
				return -1;
			if (m == 2) {
				internal_error(v, err, errlen);
				return -1;
			}
			break;
		}
		case KVM_EXIT_UNKNOWN:
			seterr(err, errlen, "vp %u: KVM_EXIT_UNKNOWN: hardware exit reason %#llx", v->index,
			       (unsigned long long)r->hw.hardware_exit_reason);
			return -1;
		default:
			seterr(err, errlen, "vp %u: unexpected KVM exit reason %u at rip %#llx", v->index,
			       r->exit_reason, (unsigned long long)rip);
			return -1;
		}
		v->insn_rip = exit->rip;
		return 0;
	}
}

static int kvm_get_regs(struct hv_vcpu *v, struct hv_regs *out)
{
	const struct kvm_regs *r = regs_of(v);
	if (!r)
		return -1;
	for (unsigned n = 0; n < X86_NGPR; n++)
		out->gpr[n] = gpr(r, n);
	out->rip = r->rip;
	out->rflags = r->rflags;
	/* During a pending exit: the state just before the instruction. */
	if (v->pending != P_NONE)
		out->rip = v->insn_rip;
	return 0;
}

static int kvm_inject_irq(struct hv_vcpu *v, uint8_t vector)
{
	struct kvm_run *r = v->run;
	if (!v->shut_down && r->ready_for_interrupt_injection && r->if_flag && !v->irq_injected &&
	    v->irq_deferred < 0 && v->irq_internal < 0) {
		if (v->pending != P_NONE)
			v->irq_deferred = vector; /* the core may still fault the instruction: run() decides */
		else if (interrupt(v, vector) < 0)
			goto hold;
		v->irq_injected = 1;
		v->core_wants_window = 0;
		r->request_interrupt_window = 0;
		return 1;
	}
hold:
	v->core_wants_window = 1;
	r->request_interrupt_window = 1;
	return 0;
}

/* KVM_NMI: well defined without an in-kernel irqchip, as here; KVM takes
 * it at the next entry, after completing the pending exit. */
static int kvm_inject_nmi(struct hv_vcpu *v)
{
	return v->shut_down || ioctl(v->fd, KVM_NMI) < 0 ? -1 : 0;
}

/* ---- time ------------------------------------------------------------ */

static int kvm_cpu_msr(struct hv_vcpu *v, uint32_t index, uint64_t *value)
{
	if (index == HVLOG_MSR_IA32_EFER) {
		const struct kvm_sregs *sr = sregs_of(v);
		if (!sr)
			return -1;
		*value = sr->efer;
		return 0;
	}
	if (index == HVLOG_MSR_IA32_APIC_BASE)
		return msr_access(v, KVM_GET_MSRS, index, value);
	return -1;
}

/* The vCPU whose thread this is, for the kick's signal handler. */
static __thread struct hv_vcpu *kick_target;

static void kick_handler(int sig)
{
	(void)sig;
	struct hv_vcpu *v = kick_target;
	if (v) {
		v->kicked = 1;
		v->run->immediate_exit = 1; /* KVM_RUN returns EINTR, now or at its next call */
	}
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_install(void)
{
	struct sigaction sa = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
}

static int kvm_kick_at(struct hv_vcpu *v, uint64_t when, uint64_t in_ns)
{
	if (!v->have_timer) {
		if (!when)
			return 0;
		pthread_once(&kick_once, kick_install);
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGRTMIN };
		sev._sigev_un._tid = gettid();
		if (timer_create(CLOCK_MONOTONIC, &sev, &v->timer) != 0)
			return -1;
		v->have_timer = 1;
		kick_target = v;
	}
	struct itimerspec its = { .it_value = { 0, 0 } };
	if (when) {
		if (!in_ns)
			in_ns = 1; /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(in_ns / 1000000000u);
		its.it_value.tv_nsec = (long)(in_ns % 1000000000u);
	}
	return timer_settime(v->timer, 0, &its, NULL);
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t kvm_now(void)
{
	return __rdtsc();
}

extern char __executable_start[], etext[];

/* The host TSC, its rate measured against CLOCK_MONOTONIC over 50 ms; the
 * hypervisor image is this program's own text.  The timestamps are raw TSC
 * counts, so the epoch (the Unix time of tick 0) is the wall clock now less
 * the TSC's count so far at that rate: the host's uptime, roughly. */
static void kvm_clock_info(struct hv_clock_info *out)
{
	uint64_t t0 = mono_ns(), c0 = __rdtsc();
	struct timespec d = { 0, 50000000 }, wall;
	nanosleep(&d, NULL);
	uint64_t t1 = mono_ns(), c1 = __rdtsc();
	clock_gettime(CLOCK_REALTIME, &wall);
	uint64_t hz = (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0));
	uint64_t since_tick0 = hz ? (uint64_t)((unsigned __int128)c1 * 1000000000u / hz) : 0;
	*out = (struct hv_clock_info){
		.clock_name = "tsc",
		.hz = hz,
		.epoch_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec - (int64_t)since_tick0,
		.module_base = (uint64_t)(uintptr_t)__executable_start,
		.module_size = (uint32_t)(etext - __executable_start),
	};
}

const struct hv_backend hv_backend_kvm = {
	.name = "kvm",
	.native = UINT64_C(1) << HV_EXIT_IO | UINT64_C(1) << HV_EXIT_MMIO | UINT64_C(1) << HV_EXIT_HLT |
		  UINT64_C(1) << HV_EXIT_MSR_READ | UINT64_C(1) << HV_EXIT_MSR_WRITE |
		  UINT64_C(1) << HV_EXIT_SHUTDOWN | UINT64_C(1) << HV_EXIT_IRQ_WINDOW,
	.sometimes = UINT64_C(1) << HV_EXIT_MWAIT | UINT64_C(1) << HV_EXIT_MONITOR, /* kvm_pvm: emulation failures */
	.probe = kvm_probe,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.run = kvm_backend_run,
	.get_regs = kvm_get_regs,
	.inject_irq = kvm_inject_irq,
	.inject_nmi = kvm_inject_nmi,
	.cpu_msr = kvm_cpu_msr,
	.kick_at = kvm_kick_at,
	.clock_info = kvm_clock_info,
	.now = kvm_now,
	.quantum = 2000,
};
