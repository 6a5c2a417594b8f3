# checks.sh - the counters and checks the shell tests share; sourced after
# $tmp is set (a scratch directory).  Each check counts into pass or fail.
pass=0 fail=0

ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE DESCRIPTION CMD...: runs CMD (stdout in $tmp/out, stderr in $tmp/err), checks its exit code
expect() {
	want=$1 what=$2
	shift 2
	"$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then ok; else ko "$what: exit $got, expected $want"; head -5 "$tmp/err"; fi
}

# has FILE PATTERN DESCRIPTION: $tmp/FILE matches the extended regex
has() {
	if grep -Eq -- "$2" "$tmp/$1"; then ok; else ko "$3: no /$2/ in $1:"; head -5 "$tmp/$1"; fi
}

eq() { # eq A B DESCRIPTION
	if [ "$1" = "$2" ]; then ok; else ko "$3: '$1' != '$2'"; fi
}
