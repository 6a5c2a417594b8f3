# For tests/hvcore*.sh: how late each timer interrupt came after the TSC
# deadline the guest programmed (IA32_TSC_DEADLINE, 0x6e0), in
# microseconds of the guest's TSC (HV_X64_MSR_TSC_FREQUENCY, 0x40000022,
# read by the guest).  One number per interrupt that followed a deadline.
# Input: `hvlog decode --format json`, slurped (jq -s).
def hex: ltrimstr("0x") | explode | map(if . >= 97 then . - 87 else . - 48 end) | reduce .[] as $x (0; . * 16 + $x);
[ .[] | select(.type == "event" and .stream > 0) ] | group_by(.stream)[] |
reduce .[] as $e ({hz: null, d: null, out: []};
	if $e.event == "HV_TR_IM_MSR_READ" and $e.params.index == 1073741858 then .hz = ($e.params.value | hex)
	elif $e.event == "HV_TR_IM_MSR_WRITE" and $e.params.index == 1760 then .d = ($e.params.value | hex)
	elif $e.event == "HV_TR_IM_EXTERNAL_INTERRUPT" and .d != null and .hz != null then
		.out += [($e.ts - .d) * 1000000 / .hz] | .d = null
	else . end) | .out[]
