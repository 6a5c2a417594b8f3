# Shared helpers of the shell tests: `. tests/testlib.sh` after setting tmp
# (a scratch directory).  Counts into pass and fail; end with testlib_done.
pass=0 fail=0
# expect CODE DESCRIPTION CMD...: runs CMD, checks its exit code
expect() {
	want=$1 what=$2
	shift 2
	"$@" > "$tmp/out" 2> "$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $what: exit $got, expected $want"
		head -5 "$tmp/err"
	fi
}

# has FILE PATTERN DESCRIPTION: FILE (out or err) matches the regex
has() {
	if grep -Eq -- "$2" "$tmp/$1"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $3: no /$2/ in std$1:"
		head -5 "$tmp/$1"
	fi
}

# same A B DESCRIPTION: files A and B are identical
same() {
	if cmp -s "$1" "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $3"; fi
}

# testlib_done NAME: the summary line; the exit status says whether all passed
testlib_done() {
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
