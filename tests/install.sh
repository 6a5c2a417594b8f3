#!/bin/sh
# Install into a temporary prefix and use what was installed, as an
# embedder would:
#   - the files (shared library with its SONAME, static library, headers
#     with the generated events.h and the schema, hvlog.pc, the CMake
#     package, the programs, the man pages, the bash completion);
#   - only the public API is exported from libhvlog.so;
#   - examples/ built twice against the installed package, with pkg-config
#     and with find_package, run, and their traces decoded by the installed
#     hvlog (the custom events by name);
#   - the bash completion (complete -p and scripted completion calls);
#   - the man pages lint clean (groff -ww -z, or mandoc -Tlint);
#   - colour in `hvlog decode`: none in a pipe, --color=always|never.
#
#   tests/install.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 src=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check DESCRIPTION CMD...: CMD exits 0
	what=$1
	shift
	if "$@" > "$tmp/out" 2> "$tmp/err"; then ok; else bad "$what"; head -20 "$tmp/out" "$tmp/err"; fi
}
has() { # has FILE REGEX DESCRIPTION
	if grep -Eq -- "$2" "$1"; then ok; else bad "$3: no /$2/ in $1:"; head -10 "$1"; fi
}

# The build's compiler and flags (sanitizer builds need them to link).
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
cc=$(cache CMAKE_C_COMPILER)
cflags=$(cache CMAKE_C_FLAGS)
[ -n "$cc" ] || cc=cc

if ! cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	echo "FAIL: cmake --install"
	exit 1
fi

# ---- the installed files ----------------------------------------------------
libso=$(find "$prefix" -name 'libhvlog.so.*.*.*' | head -n 1)
libdir=$(dirname "${libso:-$prefix/lib/x}")
for f in "$libdir/libhvlog.so" "$libdir/libhvlog.so.0" "$libdir/libhvlog.a" \
	"$libdir/pkgconfig/hvlog.pc" "$libdir/cmake/hvlog/hvlogConfig.cmake" \
	"$libdir/cmake/hvlog/hvlogConfigVersion.cmake" "$libdir/cmake/hvlog/hvlogTargets.cmake" \
	"$prefix/include/hvlog/hvlog.h" "$prefix/include/hvlog/events.h" "$prefix/include/hvlog/export.h" \
	"$prefix/include/hvlog/hvlog_schema.def" \
	"$libdir/libhvlog-perfetto.a" "$libdir/pkgconfig/hvlog-perfetto.pc" "$prefix/include/hvlog/perfetto.h" \
	"$prefix/bin/hvlog" "$prefix/bin/hvcore" \
	"$prefix/share/man/man1/hvlog.1" "$prefix/share/man/man1/hvcore.1" "$prefix/share/man/man3/libhvlog.3" \
	"$prefix/share/bash-completion/completions/hvlog"; do
	if [ -e "$f" ]; then ok; else bad "not installed: ${f#"$prefix"/}"; fi
done
[ -n "$libso" ] || { echo "FAIL: no libhvlog.so.X.Y.Z installed"; exit 1; }
case $libso in
*/libhvlog.so.0.*) ok ;;
*) bad "shared library file name $libso" ;;
esac
check "readelf" readelf -d "$libso"
has "$tmp/out" 'SONAME.*\[libhvlog\.so\.0\]' "SONAME libhvlog.so.0"
hvlog=$prefix/bin/hvlog
check "installed hvlog --version" "$hvlog" --version
has "$tmp/out" "^hvlog [0-9]" "hvlog --version"

# ---- only the public API is exported -----------------------------------------
# (hvlog/perfetto.h is libhvlog-perfetto's, not libhvlog.so's)
pubh=$(ls "$prefix"/include/hvlog/*.h | grep -v '/perfetto\.h$')
# Every function declared in the headers carries HVLOG_API ...
# shellcheck disable=SC2086 # a list of files
grep -hE '^(const )?[a-z_0-9]+ \*?[a-z_0-9]+\(' $pubh |
	grep -v '^static' > "$tmp/unmarked"
if [ -s "$tmp/unmarked" ]; then
	bad "declarations without HVLOG_API (hidden in libhvlog.so):"
	cat "$tmp/unmarked"
else
	ok
fi
# ... and the library exports exactly those (hvlog__stream_full included:
# the inline emitters call it).
# shellcheck disable=SC2086 # a list of files
grep -h '^HVLOG_API' $pubh | grep -o 'hvlog_[a-z0-9_]*(' | tr -d '(' | sort -u \
	> "$tmp/declared"
nm -D --defined-only "$libso" | awk '$2 == "T" || $2 == "D" || $2 == "B" || $2 == "R" { print $3 }' |
	grep -v '^_' | sort -u > "$tmp/exported"
if cmp -s "$tmp/declared" "$tmp/exported"; then ok; else
	bad "exported symbols differ from the HVLOG_API declarations (< declared, > exported):"
	diff "$tmp/declared" "$tmp/exported" | grep '^[<>]'
fi
has "$tmp/exported" '^hvlog__stream_full$' "hvlog__stream_full exported"

# ---- examples with pkg-config ---------------------------------------------------
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
check "pkg-config hvlog" pkg-config --exists --print-errors hvlog
check "pkg-config --modversion" pkg-config --modversion hvlog
has "$tmp/out" '^0\.1\.' "hvlog.pc version"
pcflags=$(pkg-config --cflags --libs hvlog)
mkdir -p "$tmp/pc" "$tmp/run-pc" "$tmp/run-cm"
for ex in producer consumer custom_events where_json; do
	# shellcheck disable=SC2086 # flags are lists
	check "pkg-config build of $ex" "$cc" $cflags -std=c17 -Wall -Wextra -Werror -o "$tmp/pc/$ex" \
		"$src/examples/$ex/$ex.c" $pcflags -Wl,-rpath,"$libdir"
done
# the static library alone, with its private dependencies
# shellcheck disable=SC2086,SC2046
check "static pkg-config build of producer" "$cc" $cflags -o "$tmp/pc/producer-static" \
	"$src/examples/producer/producer.c" $(pkg-config --cflags hvlog) "$libdir/libhvlog.a" \
	$(pkg-config --static --libs-only-l hvlog | sed 's/-lhvlog//') $(pkg-config --static --libs-only-L hvlog)
if [ -x "$tmp/pc/producer-static" ]; then
	if readelf -d "$tmp/pc/producer-static" | grep -q 'libhvlog\.so'; then
		bad "the static build depends on libhvlog.so"
	else ok; fi
fi

# libhvlog-perfetto: a program that calls it links with what its .pc says
cat > "$tmp/pf.c" <<'C'
#include <hvlog/hvlog.h>
#include <hvlog/perfetto.h>
int main(void)
{
	hvlog_perfetto *w = NULL;
	hvlog_error err = { 0 };
	/* no metadata: refused, through the installed library */
	return hvlog_perfetto_open(&w, NULL, NULL, NULL, NULL, &err) != HVLOG_INVALID;
}
C
# shellcheck disable=SC2046
check "pkg-config build with hvlog-perfetto" "$cc" $cflags -o "$tmp/pc/pf" "$tmp/pf.c" \
	$(pkg-config --cflags --static --libs hvlog-perfetto) -Wl,-rpath,"$libdir"
check "a program with libhvlog-perfetto runs" "$tmp/pc/pf"

# run_examples DIR BINDIR: run the examples, decode what they wrote
run_examples() {
	d=$1 bin=$2
	check "$d: producer" "$bin/producer" "$tmp/$d/p.hvlog"
	check "$d: consumer" "$bin/consumer" "$tmp/$d/p.hvlog"
	cp "$tmp/out" "$tmp/$d/consumer.out"
	has "$tmp/$d/consumer.out" '^0 HV_TR_IM_MSR_READ$' "$d: consumer prints time and symbol"
	if [ "$(wc -l < "$tmp/$d/consumer.out")" -eq 4 ]; then ok; else bad "$d: consumer: not 4 events"; fi
	check "$d: hvlog decode of the producer's trace" "$hvlog" decode "$tmp/$d/p.hvlog"
	has "$tmp/out" 'vp1 +interrupt +IM_IO_PORT_WRITE +guest_rip=0xfffff80000002000 port=0x3f8 value=0x68' \
		"$d: producer events decoded"
	check "$d: custom_events" "$bin/custom_events" "$tmp/$d/c.hvlog"
	check "$d: hvlog decode of the custom events" "$hvlog" decode "$tmp/$d/c.hvlog"
	cp "$tmp/out" "$tmp/$d/custom.txt"
	has "$tmp/$d/custom.txt" 'mytool +MYTOOL_CACHE_MISS +addr=0x7f0000001040 level=3' "$d: custom event 0x100 by name"
	has "$tmp/$d/custom.txt" 'mytool +MYTOOL_PHASE +phase=2 warm=true' "$d: custom event 0x101 by name"
	has "$tmp/$d/custom.txt" 'interrupt +IM_CPUID_INSTRUCTION' "$d: built-in event beside them"
	check "$d: hvlog events of the custom trace" "$hvlog" events "$tmp/$d/c.hvlog"
	has "$tmp/out" '^0x100 +MYTOOL_' "$d: events lists the trace's own events"
	has "$tmp/out" '^mytool ' "$d: events lists the trace's own group"
	check "$d: decode --group mytool" "$hvlog" decode --group mytool "$tmp/$d/c.hvlog"
	if [ "$(wc -l < "$tmp/out")" -eq 4 ] && ! grep -q CPUID "$tmp/out"; then ok; else
		bad "$d: --group mytool"; cat "$tmp/out"
	fi
	check "$d: decode --format json" "$hvlog" decode --format json "$tmp/$d/c.hvlog"
	has "$tmp/out" '"event":"MYTOOL_CACHE_MISS","number":256,' "$d: custom event in JSON"
	# where_json: a --where filter through hvlog/select.h, the events as decode prints them
	check "$d: where_json" "$bin/where_json" "$tmp/$d/p.hvlog" 'port == 0x3f8 && value != 0'
	cp "$tmp/out" "$tmp/$d/where.json"
	check "$d: decode --where as JSON" "$hvlog" decode --format json --where 'port == 0x3f8 && value != 0' "$tmp/$d/p.hvlog"
	grep -v '"type":"lost"' "$tmp/out" > "$tmp/$d/where.want"
	if [ -s "$tmp/$d/where.json" ] && cmp -s "$tmp/$d/where.json" "$tmp/$d/where.want"; then ok; else
		bad "$d: where_json differs from decode --where"; diff "$tmp/$d/where.json" "$tmp/$d/where.want" | head -5
	fi
	"$bin/where_json" "$tmp/$d/p.hvlog" 'port == 0x3f8 && prot != 0' > "$tmp/out" 2> "$tmp/err"
	if [ $? -eq 2 ] && grep -q "column 18: unknown parameter 'prot'.*did you mean 'port'" "$tmp/err"; then ok; else
		bad "$d: where_json bad expression: $(cat "$tmp/err")"
	fi
	check "$d: where_json on the custom schema" "$bin/where_json" "$tmp/$d/c.hvlog" 'level >= 2'
	has "$tmp/out" '"event":"MYTOOL_CACHE_MISS"' "$d: where_json by a custom parameter"
}
run_examples run-pc "$tmp/pc"
if [ -x "$tmp/pc/producer-static" ]; then
	check "static producer" "$tmp/pc/producer-static" "$tmp/run-pc/static.hvlog"
	if cmp -s "$tmp/run-pc/static.hvlog" "$tmp/run-pc/p.hvlog"; then ok; else bad "static and shared producers differ"; fi
fi

# ---- examples with find_package ---------------------------------------------------
unset PKG_CONFIG_PATH
if cmake -S "$src/examples" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_C_FLAGS="$cflags -Wall -Wextra -Werror" -DCMAKE_EXE_LINKER_FLAGS="$cflags" \
	> "$tmp/cm.log" 2>&1 && cmake --build "$tmp/cm" >> "$tmp/cm.log" 2>&1; then
	ok
	mkdir -p "$tmp/cm/bin"
	for ex in producer consumer custom_events where_json; do cp "$tmp/cm/$ex/$ex" "$tmp/cm/bin/"; done
	run_examples run-cm "$tmp/cm/bin"
	if cmp -s "$tmp/run-pc/consumer.out" "$tmp/run-cm/consumer.out" && cmp -s "$tmp/run-pc/custom.txt" "$tmp/run-cm/custom.txt"
	then ok; else bad "pkg-config and find_package builds behave differently"; fi
else
	bad "find_package build of examples/"
	tail -30 "$tmp/cm.log"
fi
# the version file: 0.1 is this package, 0.2 is not (0.x minors may break)
mkdir -p "$tmp/ver"
cat > "$tmp/ver/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(v LANGUAGES C)
find_package(hvlog 0.2 CONFIG QUIET)
if(hvlog_FOUND)
  message(FATAL_ERROR "hvlog 0.2 found")
endif()
find_package(hvlog 0.1 CONFIG REQUIRED)
if(NOT TARGET hvlog::hvlog OR NOT TARGET hvlog::hvlog_static OR NOT TARGET hvlog::hvlog_perfetto)
  message(FATAL_ERROR "no hvlog::hvlog, hvlog::hvlog_static or hvlog::hvlog_perfetto")
endif()
CM
check "find_package versions and targets" cmake -S "$tmp/ver" -B "$tmp/ver/b" -DCMAKE_PREFIX_PATH="$prefix"

# ---- bash completion --------------------------------------------------------------
comp=$prefix/share/bash-completion/completions/hvlog
# shellcheck disable=SC2016
check "complete -p hvlog" bash -c 'source "$1" && complete -p hvlog' sh "$comp"
has "$tmp/out" '^complete -F _hvlog hvlog$' "complete -p output"
# complete WORDS...: COMPREPLY for the last word, one per line, in $tmp/out
complete_words() {
	PATH=$prefix/bin:$PATH bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_hvlog hvlog "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 1
		printf "%s\n" "${COMPREPLY[@]}"' sh "$comp" "$@" > "$tmp/out" 2> "$tmp/err"
}
complete_words hvlog de
has "$tmp/out" '^decode$' "completion: hvlog de -> decode"
complete_words hvlog ""
has "$tmp/out" '^events$' "completion: commands"
complete_words hvlog decode --group in
has "$tmp/out" '^interrupt$' "completion: hvlog decode --group in -> interrupt"
complete_words hvlog decode -g ""
has "$tmp/out" '^hypercall$' "completion: -g lists the groups"
complete_words hvlog decode --
has "$tmp/out" '^--format=$' "completion: decode options"
has "$tmp/out" '^--color=$' "completion: decode --color"
complete_words hvlog decode --format ""
has "$tmp/out" '^json$' "completion: --format values"
complete_words hvlog decode --color=al
has "$tmp/out" '^--color=always$' "completion: --color=al"
complete_words hvlog events --format m
has "$tmp/out" '^markdown$' "completion: events --format"
complete_words hvlog convert --to ""
has "$tmp/out" '^cbor$' "completion: convert --to values"
has "$tmp/out" '^ctf$' "completion: convert --to ctf"
complete_words hvlog convert -t c
if grep -qx csv "$tmp/out" && grep -qx chrome "$tmp/out" && ! grep -qx json "$tmp/out"; then ok; else
	bad "completion: convert -t c: $(tr '\n' ' ' < "$tmp/out")"; fi
complete_words hvlog convert --from ""
if [ "$(sort "$tmp/out" | tr '\n' ' ')" = "cbor json " ]; then ok; else
	bad "completion: convert --from: $(tr '\n' ' ' < "$tmp/out")"; fi
complete_words hvlog decode --where "port == 0x3f8 && val"
has "$tmp/out" '^port == 0x3f8 && value$' "completion: a parameter name in --where"
complete_words hvlog decode -w gues
has "$tmp/out" '^guest_rip$' "completion: -w gues"
: > "$tmp/trace-for-completion.hvlog"
complete_words hvlog decode "$tmp/trace-for-c"
has "$tmp/out" 'trace-for-completion\.hvlog$' "completion: file names"
if PATH=$prefix/bin:$PATH bash -c 'source "$1"; _hvlog_events hvlog' sh "$comp" | grep -q '^IM_MSR_READ$'
then ok; else bad "completion: event names"; fi
if "$hvlog" decode --help | grep -q -- '--event='; then
	complete_words hvlog decode --event IM_MSR_R
	has "$tmp/out" '^IM_MSR_READ$' "completion: --event IM_MSR_R"
fi

# ---- man pages -----------------------------------------------------------------
for page in "$prefix"/share/man/man1/hvlog.1 "$prefix"/share/man/man1/hvcore.1 "$prefix"/share/man/man3/libhvlog.3; do
	if command -v mandoc > /dev/null 2>&1; then
		mandoc -Tlint -Wwarning "$page" > "$tmp/lint" 2>&1
	elif command -v groff > /dev/null 2>&1; then
		groff -ww -z -man "$page" > "$tmp/lint" 2>&1
	else
		bad "neither mandoc nor groff to lint the man pages (scripts/deps.sh installs groff-base)"
		break
	fi
	if [ -s "$tmp/lint" ]; then bad "man page ${page##*/} has warnings:"; cat "$tmp/lint"; else ok; fi
done
# every command and option of hvlog is in hvlog(1)
cmds=$("$hvlog" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\).*/\1/p')
if echo "$cmds" | grep -qx decode && echo "$cmds" | grep -qx events; then ok; else
	bad "commands in hvlog --help: $cmds"
fi
for c in $cmds; do
	has "$prefix/share/man/man1/hvlog.1" "^\.B[RI]? \"?$c" "hvlog(1) documents $c"
	"$hvlog" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u | grep -vx -- '--help\|--usage\|--version' |
		while read -r opt; do
			esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
			grep -q -- "$esc" "$prefix/share/man/man1/hvlog.1" || echo "hvlog(1) lacks $c $opt"
		done > "$tmp/missing"
	if [ -s "$tmp/missing" ]; then bad "$(cat "$tmp/missing")"; else ok; fi
done

# ---- colour ---------------------------------------------------------------------
check "producer trace for colour" "$tmp/pc/producer" "$tmp/col.hvlog"
esc=$(printf '\033')
"$hvlog" decode "$tmp/col.hvlog" > "$tmp/plain.txt"
if grep -q "$esc" "$tmp/plain.txt"; then bad "colour in a pipe"; else ok; fi
"$hvlog" decode --color=never "$tmp/col.hvlog" > "$tmp/never.txt"
if cmp -s "$tmp/plain.txt" "$tmp/never.txt"; then ok; else bad "--color=never"; fi
NO_COLOR=1 "$hvlog" decode --color=always "$tmp/col.hvlog" > "$tmp/always.txt"
if grep -q "${esc}\[36minterrupt${esc}\[0m" "$tmp/always.txt"; then ok; else bad "--color=always colours the group"; fi
if sed "s/${esc}\[[0-9;]*m//g" "$tmp/always.txt" | cmp -s - "$tmp/plain.txt"; then ok; else
	bad "coloured text differs from the plain text"
fi
"$hvlog" decode --color=always --format json "$tmp/col.hvlog" > "$tmp/json.txt"
if grep -q "$esc" "$tmp/json.txt"; then bad "colour in JSON"; else ok; fi
"$hvlog" decode --color=sometimes "$tmp/col.hvlog" > /dev/null 2>&1
if [ $? -eq 2 ]; then ok; else bad "--color=sometimes: not exit 2"; fi
if command -v script > /dev/null 2>&1; then # a terminal: colour, unless NO_COLOR
	TERM=xterm script -qec "'$hvlog' decode '$tmp/col.hvlog'" /dev/null > "$tmp/tty.txt" 2>&1 < /dev/null
	if grep -q "$esc\[" "$tmp/tty.txt"; then ok; else bad "no colour on a terminal"; fi
	NO_COLOR=1 TERM=xterm script -qec "'$hvlog' decode '$tmp/col.hvlog'" /dev/null > "$tmp/tty.txt" 2>&1 < /dev/null
	if grep -q "$esc\[" "$tmp/tty.txt"; then bad "colour on a terminal with NO_COLOR"; else ok; fi
fi

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
