# Checks shared by tests/hvcore.sh (sim) and tests/hvcore_kvm.sh (kvm),
# sourced; they use ok/bad and $here from the test that sources them.

# guest_state TRACE.jsonl WHAT: what the guest saw equals what the trace says.
# The `boot` body echoes to the POST port (0x80) CPUID 0's EAX, CPUID
# 0x40000000's EBX and the EFER it read; only VP 0 has the BSP bit.  `all`
# reads DR7 (and writes it back) and echoes it: 0x400, its reset value;
# and sends itself an NMI (x2APIC ICR), whose handler writes POST 0x02
# and reports the IRETQ that ends it: on every VP the NMI event is
# followed by that write and that IRET (the NMI came, its handler ran).
guest_state() {
	f=$1 what=$2
	post=$(jq -r 'select(.event == "HV_TR_IM_IO_PORT_WRITE" and .params.port == "0x80") | .params.value' < "$f" | sort -u | tr '\n' ' ')
	case " $post" in *" 0xd "*) ok ;; *) bad "$what: CPUID 0 EAX seen by the guest is not 0xd: $post" ;; esac
	case " $post" in *" 0x7263694d "*) ok ;; *) bad "$what: CPUID 0x40000000 EBX seen by the guest is not \"Micr\": $post" ;; esac
	efer=$(jq -r 'select(.event == "HV_TR_IM_MSR_READ" and .params.index == 3221225600) | .params.value' < "$f" | sort -u | tr '\n' ' ')
	[ "$efer" = "0x500 " ] && ok || bad "$what: traced EFER is $efer, not 0x500 (LME|LMA)"
	case " $post" in *" 0x500 "*) ok ;; *) bad "$what: the EFER the guest read is not the traced 0x500: $post" ;; esac
	case " $post" in *" 0x400 "*) ok ;; *) bad "$what: the DR7 the guest read is not 0x400: $post" ;; esac
	# per VP stream: [NMI events, those the handler's POST 0x02 and IRET follow]
	# (time-driven events may come between: a context switch, a profiler
	# sample, a timer interrupt and its EOI on a loaded host; left out)
	nmi=$(jq -s -r '[.[] | select(.type == "event" and .stream > 0)
		| select(.event | test("CONTEXT_SWITCH|PROFILER|OVERRUN|EXTERNAL_INTERRUPT|INTERRUPT_PENDING") | not)
		| select(.event == "HV_TR_IM_MSR_WRITE" and .params.index == 2059 | not)] | group_by(.stream)
		| map([.[] | [.event, .params.port, .params.value]] as $e
		      | [range(0; $e | length) | select($e[.][0] == "HV_TR_IM_NMI_INTERRUPT")]
		      | [length, map(select($e[. + 1] == ["HV_TR_IM_IO_PORT_WRITE", "0x80", "0x2"]
		                           and $e[. + 2][0] == "HV_TR_IM_IRET_INSTRUCTION")) | length])
		| map(tostring) | join(" ")' < "$f")
	[ -n "$nmi" ] && [ -z "$(echo "$nmi" | tr ' ' '\n' | grep -v '^\[1,1\]$')" ] && ok ||
		bad "$what: NMIs per VP stream (events, followed by the handler's POST 0x02 and IRET): $nmi"
	apic=$(jq -r 'select(.event == "HV_TR_IM_MSR_READ" and .params.index == 27) | "\(.stream_name | test("/vp0$")) \(.params.value)"' < "$f" | sort -u | tr '\n' ' ')
	[ "$apic" = "false 0xfee00c00 true 0xfee00d00 " ] && ok || bad "$what: APIC_BASE (BSP bit on VP 0 only): $apic"
}

# timer_gaps TRACE.jsonl WHAT MAX_MEDIAN_US: every timer interrupt after a
# programmed TSC deadline comes at or after it, the median within MAX us.
# An early one was a core bug: the stop at the end of a run woke a halted
# VP before its deadline and the core reported the timer anyway (seen up
# to 284 us early, in 4 of 6 runs under TSan).
timer_gaps() {
	f=$1 what=$2 max=$3
	jq -s -f "$here/hvcore_gaps.jq" < "$f" | sort -g > "$tmp/gaps.txt"
	n=$(wc -l < "$tmp/gaps.txt")
	[ "$n" -ge 10 ] || { bad "$what: only $n interrupts after a deadline"; return; }
	min=$(head -1 "$tmp/gaps.txt")
	med=$(sed -n "$(( (n + 1) / 2 ))p" "$tmp/gaps.txt")
	awk -v m="$min" 'BEGIN { exit !(m >= 0) }' && ok || bad "$what: a timer interrupt came $min us before its deadline"
	awk -v m="$med" -v x="$max" 'BEGIN { exit !(m <= x) }' && ok || bad "$what: median lateness $med us (at most $x)"
	echo "$what: $n deadline interrupts, lateness min $min us, median $med us, max $(tail -1 "$tmp/gaps.txt") us"
}

# reference_time TRACE.jsonl HZ WHAT: every HV_X64_MSR_TIME_REF_COUNT the
# guest read is its partition's reference time in 100 ns units: the trace
# time (ticks of HZ, the guest's TSC: the offset is 0) scaled to 10 MHz,
# plus the reference-time offset HV_TR_PT_REFERENCE_TIME announced for
# that partition (the n-th such event is partition n's).  Sets ref_span
# to the reads' span in seconds of reference time.
reference_time() {
	f=$1 hz=$2 what=$3
	jq -s -r --argjson hz "$hz" '
		def hex: ltrimstr("0x") | explode
			| reduce .[] as $c (0; . * 16 + ($c | if . >= 97 then . - 87 elif . >= 65 then . - 55 else . - 48 end));
		([.[] | select(.event == "HV_TR_PT_REFERENCE_TIME") | .params.reference_time_offset | hex]) as $off
		| [.[] | select(.event == "HV_TR_IM_MSR_READ" and .params.index == 1073741856)
		   | { p: (.stream_name | capture("^p(?<p>[0-9]+)/").p | tonumber), ts, v: (.params.value | hex) }
		   | . + { want: ((.ts / $hz * 1e7 | floor) + $off[.p - 1]) }] as $r
		| ($r | map(select((.v - .want) | fabs > 1)) | length) as $wrong
		| "\($r | length) \($wrong) \(if ($r | length) > 1 then (($r[-1].v - $r[0].v) / 1e7) else 0 end) \($r[0] // {} | tojson)"' < "$f" > "$tmp/ref.txt"
	read -r n wrong span first < "$tmp/ref.txt"
	[ "$n" -ge 2 ] && ok || bad "$what: $n reads of HV_X64_MSR_TIME_REF_COUNT"
	[ "$wrong" -eq 0 ] && ok || bad "$what: $wrong of $n TIME_REF_COUNT reads are not the reference time (first read: $first)"
	ref_span=$span
}

# thread_ids TRACE.jsonl N WHAT: N VP creations, each with its own thread
# id, refused or not; the thread id of a VP's context switches is the one
# its creation announced in its partition.
thread_ids() {
	f=$1 n=$2 what=$3
	jq -s -r '[.[] | select(.event == "HV_TR_VP_CREATE_VP") | .params] as $c
		| ([.[] | select(.event == "HV_TR_SCH_CONTEXT_SWITCH") | .params | [.partition_id, .thread_id]] | unique) as $sw
		| [$c | length, ($c | map(.thread_id) | unique | length),
		   ($sw - [$c[] | select(.hv_status == 0) | [.partition_id, .thread_id]] | length)] | join(" ")' < "$f" > "$tmp/ids.txt"
	read -r made uniq stray < "$tmp/ids.txt"
	[ "$made" -eq "$n" ] && [ "$uniq" -eq "$n" ] && ok || bad "$what: $made VP creations, $uniq thread ids (want $n of each)"
	[ "$stray" -eq 0 ] && ok || bad "$what: $stray context-switch thread ids no successful creation announced"
}

# com1_irq TRACE.jsonl WHAT INPUT: the `c` guest's serial driver runs on
# COM1's interrupt (IRQ 4, vector 0x24), not by polling.  On every VP
# stream each byte written to THR (after the divisor) is the answer to an
# interrupt: the external interrupt with vector 0x24, then the IIR read
# that says THRE (0xc2), then the write; the bytes received are INPUT,
# read after an interrupt whose IIR says receive data (0xc4).
com1_irq() {
	f=$1 what=$2 input=$3
	jq -s -r '[.[] | select(.type == "event" and .stream > 0)
		| select((.event | test("IO_PORT")) and (.params.port | test("^0x3f[89a-f]$"))
		         or .event == "HV_TR_IM_EXTERNAL_INTERRUPT")
		| [.stream, (.event | sub("HV_TR_IM_"; "")), .params.port, (.params.value // .params.vector)]]
		| group_by(.[0]) | map(map(.[1:])) | map(. as $e
		| [range(1; $e | length) | select($e[.] == ["IO_PORT_WRITE", "0x3f8", $e[.][2]] and $e[. - 1] != ["IO_PORT_WRITE", "0x3fb", "0x80"])] as $thr
		| ($thr | map(select($e[. - 1] != ["IO_PORT_READ", "0x3fa", "0xc2"] or $e[. - 2] != ["EXTERNAL_INTERRUPT", null, "0x24"])) | length) as $bad
		| ([range(2; $e | length) | select($e[.][0:2] == ["IO_PORT_READ", "0x3fa"] and $e[.][2] == "0xc4"
		                                    and $e[. - 1] == ["EXTERNAL_INTERRUPT", null, "0x24"])] | length) as $rxint
		| ([$e[] | select(.[0:2] == ["IO_PORT_READ", "0x3f8"]) | .[2] | ltrimstr("0x")
		    | explode | reduce .[] as $c (0; . * 16 + ($c | if . >= 97 then . - 87 else . - 48 end))] | implode | @json) as $rx
		| "\($thr | length) \($bad) \($rxint) \([$e[] | select(. == ["EXTERNAL_INTERRUPT", null, "0x24"])] | length) \($rx)")
		| .[]' < "$f" > "$tmp/com1.txt"
	want=$(printf '%s' "$input" | jq -R -s .)
	[ -s "$tmp/com1.txt" ] || bad "$what: no COM1 activity"
	while read -r thr wrong rxint ints rx; do
		[ "$thr" -ge 50 ] && [ "$wrong" -eq 0 ] && [ "$ints" -gt "$thr" ] && ok ||
			bad "$what: $thr bytes sent, $wrong not right after a THRE interrupt (0x24, IIR 0xc2), $ints interrupts 0x24"
		[ "$rx" = "$want" ] && [ "$rxint" -ge 1 ] && ok || bad "$what: the guest received $rx after $rxint receive interrupts (sent $want)"
	done < "$tmp/com1.txt"
}

# provenance_props TRACE BACKEND WORKLOAD: the trace's metadata says where
# each event comes from (props hvcore.provenance.SYMBOL) as the BACKEND
# column of docs/HVCORE.md's table does (which tests/hvcore.sh also
# compares with `hvcore --provenance`); every event the trace holds has
# its entry; hvcore.backend and hvcore.workload name the run.
provenance_props() {
	f=$1 be=$2 wl=$3
	col=$([ "$be" = sim ] && echo 2 || echo 3)
	"$hvlog" info --format json "$f" > "$tmp/info.json"
	jq -r '.props | to_entries[] | select(.key | startswith("hvcore.provenance.")) | "\(.key[18:]) \(.value)"' \
		< "$tmp/info.json" | sort > "$tmp/prov-meta.txt"
	sed -n '/^<!-- provenance:/,/^<!-- end of provenance/p' "$here/../docs/HVCORE.md" | awk -F' [|] ' -v c="$col" '/^[|] `HV_TR_/ { e = $1; gsub(/[|` ]/, "", e); print e, $c }' |
		sort > "$tmp/prov-col.txt"
	if [ -s "$tmp/prov-meta.txt" ] && cmp -s "$tmp/prov-meta.txt" "$tmp/prov-col.txt"; then ok; else
		bad "$f: the trace's provenance props differ from docs/HVCORE.md's $be column:"
		diff "$tmp/prov-col.txt" "$tmp/prov-meta.txt" | head
	fi
	"$hvlog" decode --format json "$f" | jq -r 'select(.type == "event") | .event' | sort -u > "$tmp/prov-seen.txt"
	missing=$(cut -d' ' -f1 "$tmp/prov-meta.txt" | comm -13 - "$tmp/prov-seen.txt")
	[ -z "$missing" ] && ok || bad "$f: events without a provenance prop: $missing"
	[ "$(jq -r '.props["hvcore.backend"] + "/" + .props["hvcore.workload"]' < "$tmp/info.json")" = "$be/$wl" ] &&
		ok || bad "$f: the trace's props do not name its backend and workload ($be/$wl)"
}
