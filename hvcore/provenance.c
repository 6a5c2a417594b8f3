/*
 * provenance.c - where each event of the schema comes from, on each
 * backend: the backend observed it (an exit it stopped on), the guest
 * reported it (an OUT to HV_PORT_REPORT after it did something), the
 * guest announced it (the same OUT, for something that never happens:
 * not an observation), or the core made it (its own decisions: creation,
 * scheduling, injection, models).
 *
 * For events tied to an exit the answer is computed from the backend's
 * `native` mask, the same test report() makes, so the table cannot drift
 * from what the core does.  `hvcore --provenance` prints it;
 * docs/HVCORE.md carries the same table (tests/hvcore.sh compares them).
 * Once the trace format has a custom-metadata field, a writer can store
 * hvcore_provenance() for each event of a trace.
 */
#include <stdio.h>

#include "core.h"
#include "hvlog/events.h"
#include "hvlog/hvlog.h"

struct source {
	uint32_t event;
	int exit;            /* HV_EXIT_*: observed when native, maybe when `sometimes`, else reported; -1: `fixed` */
	const char *fixed;
	const char *how;
};

static const struct source sources[] = {
	{ HVLOG_EV_HC_HYPERCALL, HV_EXIT_IO, NULL, "hypercall page doorbell (IN from port 0xec)" },
	{ HVLOG_EV_IM_GUEST_EXCEPTION, -1, "reported", "the guest's #GP handler, after a real #GP" },
	{ HVLOG_EV_IM_MSR_READ, HV_EXIT_MSR_READ, NULL, "RDMSR exit (kvm: MSR filter)" },
	{ HVLOG_EV_IM_MSR_WRITE, HV_EXIT_MSR_WRITE, NULL, "WRMSR exit (kvm: MSR filter)" },
	{ HVLOG_EV_IM_CR_READ, HV_EXIT_CR_READ, NULL, "MOV from CR (kvm handles it in the kernel)" },
	{ HVLOG_EV_IM_CR_WRITE, HV_EXIT_CR_WRITE, NULL, "MOV to CR (kvm handles it in the kernel)" },
	{ HVLOG_EV_IM_HLT_INSTRUCTION, HV_EXIT_HLT, NULL, "HLT exit" },
	{ HVLOG_EV_IM_MWAIT_INSTRUCTION, HV_EXIT_MWAIT, NULL,
	  "MONITOR/MWAIT executed (`all`); kvm: observed where KVM cannot emulate them (kvm_pvm), else run in the kernel" },
	{ HVLOG_EV_IM_CPUID_INSTRUCTION, HV_EXIT_CPUID, NULL, "CPUID exit (kvm answers in the kernel, from the core's table)" },
	{ HVLOG_EV_IM_IO_PORT_READ, HV_EXIT_IO, NULL, "IN exit" },
	{ HVLOG_EV_IM_IO_PORT_WRITE, HV_EXIT_IO, NULL, "OUT exit" },
	{ HVLOG_EV_IM_EXTERNAL_INTERRUPT, -1, "core", "the core injected it: its timer (0x20, at the guest's TSC deadline) or COM1's IRQ 4 (0x24); the vector injected" },
	{ HVLOG_EV_IM_INTERRUPT_PENDING, HV_EXIT_IRQ_WINDOW, NULL, "interrupt-window exit" },
	{ HVLOG_EV_IM_GUEST_SHUTDOWN, HV_EXIT_SHUTDOWN, NULL, "triple-fault exit" },
	{ HVLOG_EV_IM_EMULATED_INSTRUCTION, HV_EXIT_MONITOR, NULL,
	  "MONITOR (`all`), emulated as a NOP: kvm observes it where KVM cannot emulate it (kvm_pvm), else KVM does" },
	{ HVLOG_EV_IM_NMI_INTERRUPT, -1, "core", "the NMI the core injects for a self NMI through the x2APIC ICR (kvm: KVM_NMI)" },
	{ HVLOG_EV_IM_INVLPG_INSTRUCTION, HV_EXIT_INVLPG, NULL, "INVLPG (kvm handles it in the kernel)" },
	{ HVLOG_EV_IM_IRET_INSTRUCTION, -1, "reported", "the IRETQ ending the guest's NMI handler, reported just before it runs" },
	{ HVLOG_EV_IM_TASK_SWITCH, -1, "announced", "`all` only; no task switch happens" },
	{ HVLOG_EV_IM_INVD_INSTRUCTION, HV_EXIT_INVD, NULL, "INVD (kvm handles it in the kernel)" },
	{ HVLOG_EV_IM_DR_ACCESS, HV_EXIT_DR, NULL, "MOV from and to DR7 (`all`; kvm handles it in the kernel)" },
	{ HVLOG_EV_IM_FERR_FREEZE, -1, "announced", "`all` only; nothing freezes" },
	{ HVLOG_EV_IM_REAL_MODE_INTERRUPT, -1, "announced", "`all` only; the guest never runs in real mode" },
	{ HVLOG_EV_IM_MEMORY_INTERCEPT, HV_EXIT_MMIO, NULL, "MMIO exit" },
	{ HVLOG_EV_IM_REFLECTED_EXCEPTION, -1, "core", "#GP the core injects for an unknown MSR (`all` also reports a #UD)" },
	{ HVLOG_EV_OB_CREATE_PARTITION, -1, "core", "the VM is created" },
	{ HVLOG_EV_OB_DELETE_PARTITION, -1, "core", "the VM is destroyed; an unknown id is refused" },
	{ HVLOG_EV_PT_REFERENCE_TIME, -1, "core", "the partition's TSC offset (0) and reference-time offset" },
	{ HVLOG_EV_VP_CREATE_VP, -1, "core", "the vCPU is created: status from the core's limit or the backend's error" },
	{ HVLOG_EV_VP_DELETE_VP, -1, "core", "the vCPU is destroyed" },
	{ HVLOG_EV_AM_GVA_GROW_VIRTUAL_TLB, -1, "core model", "a counter model of a virtual TLB fed by INVLPG and MMIO" },
	{ HVLOG_EV_AM_GVA_SHRINK_VIRTUAL_TLB, -1, "core model", "the same model, at a CR3 write" },
	{ HVLOG_EV_AM_GVA_FLUSH_VIRTUAL_TLB, -1, "core model", "the same model, at a CR3 write" },
	{ HVLOG_EV_SCH_CONTEXT_SWITCH, -1, "core", "the core's scheduler gives the VP a logical processor" },
	{ HVLOG_EV_KE_OVERRUN, -1, "core", "handling time: measured on kvm, modelled on sim" },
	{ HVLOG_EV_KE_OVERRUN_PARAMS, -1, "core", "with HV_TR_KE_OVERRUN" },
	{ HVLOG_EV_KE_OVERRUN500, -1, "core", "handling time: measured on kvm, modelled on sim" },
	{ HVLOG_EV_KE_OVERRUN500_PARAMS, -1, "core", "with HV_TR_KE_OVERRUN500" },
	{ HVLOG_EV_SCH_PROFILER_SAMPLE, -1, "core model", "every 1 ms of trace time; samples nothing" },
	{ HVLOG_EV_PROFILER_HV_MODULE, -1, "core", "the hypervisor image (kvm: hvcore's own text)" },
};

int hvcore_provenance(const struct hv_backend *be, uint32_t event, const char **source, const char **how)
{
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		const struct source *s = &sources[i];
		if (s->event != event)
			continue;
		*source = s->exit < 0			    ? s->fixed
			  : (be->native >> s->exit & 1)	    ? "observed"
			  : (be->sometimes >> s->exit & 1) ? "observed or reported"
							    : "reported";
		*how = s->how;
		return 0;
	}
	return -1;
}

int hvcore_print_provenance(FILE *f)
{
	const hvlog_schema *schema = hvlog_schema_builtin();
	int missing = 0;

	fprintf(f, "| event | sim | kvm | how |\n|---|---|---|---|\n");
	for (size_t i = 0; i < schema->nevents; i++) {
		const hvlog_event *ev = &schema->events[i];
		const char *sim, *kvm, *how;
		if (hvcore_provenance(&hv_backend_sim, ev->number, &sim, &how) != 0 ||
		    hvcore_provenance(&hv_backend_kvm, ev->number, &kvm, &how) != 0) {
			fprintf(f, "| `%s` | ? | ? | not in hvcore's table |\n", ev->symbol);
			missing++;
			continue;
		}
		fprintf(f, "| `%s` | %s | %s | %s |\n", ev->symbol, sim, kvm, how);
	}
	return missing ? -1 : 0;
}
