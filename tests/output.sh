#!/bin/sh
# How the commands that write create their output (cli/output.c): never
# over one of their inputs (the same path, a symlink, a hard link), always
# through a temporary renamed into place, so that a failed or interrupted
# run leaves the old file (or none) and no temporary behind.
#   tests/output.sh HVLOG TRACEGEN
set -u
hvlog=$1 gen=$2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/checks.sh"

same() { # same A B DESCRIPTION: files A and B are byte-identical
	if cmp -s "$1" "$2"; then ok; else ko "$3"; fi
}
# no_tmp DIR DESCRIPTION: no temporary (.NAME.XXXXXX) is left in DIR
no_tmp() {
	if ls -A "$1" | grep -q '^\..*\.[A-Za-z0-9]\{6\}$'; then ko "$2: a temporary was left: $(ls -A "$1" | tr '\n' ' ')"; else ok; fi
}

d="$tmp/d"
mkdir "$d"
"$gen" mix 20000 "$tmp/mix.bin" || { echo "tracegen failed"; exit 1; }
"$hvlog" convert --to json "$tmp/mix.bin" -o "$tmp/mix.jsonl" || ko "convert --to json"
"$hvlog" convert --to cbor "$tmp/mix.bin" -o "$tmp/mix.cbor" || ko "convert --to cbor"

# ---- an output that is an input is refused, the input untouched -----------
# run_self NAME CMD...: CMD's -o names $d/NAME, which is its input
for f in mix.bin mix.jsonl mix.cbor; do
	cp "$tmp/$f" "$d/$f"
	ln -sf "$f" "$d/link-$f"
	ln -f "$d/$f" "$d/hard-$f"
done
for out in mix.bin link-mix.bin hard-mix.bin; do
	for to in json csv cbor chrome; do
		expect 2 "convert --to $to -o $out (its input)" "$hvlog" convert --to $to "$d/mix.bin" -o "$d/$out"
		has err "would overwrite the input" "convert --to $to over its input: message"
	done
	expect 2 "filter -o $out (its input)" "$hvlog" filter "$d/mix.bin" -o "$d/$out"
	expect 2 "filter --format text -o $out (its input)" "$hvlog" filter --format text "$d/mix.bin" -o "$d/$out"
	has err "would overwrite the input" "filter over its input: message"
	same "$tmp/mix.bin" "$d/mix.bin" "the input survives -o $out"
done
for from in json cbor; do
	for out in mix.$from link-mix.$from hard-mix.$from; do
		[ $from = json ] && in=mix.jsonl || in=mix.cbor
		[ $from = json ] && out=$(echo $out | sed 's/json$/jsonl/')
		expect 2 "convert --from $from -o $out (its input)" "$hvlog" convert --from $from "$d/$in" -o "$d/$out"
		has err "would overwrite the input" "convert --from $from over its input: message"
		same "$tmp/$in" "$d/$in" "the input survives --from $from -o $out"
	done
done
# the trace --schema-from names is an input too
for out in mix.bin link-mix.bin hard-mix.bin; do
	expect 2 "filter --schema-from X -o X ($out)" "$hvlog" filter --schema-from "$d/mix.bin" "$tmp/mix.bin" -o "$d/$out"
	has err "would overwrite the input" "filter -o its --schema-from: message"
	expect 2 "convert --schema-from X -o X ($out)" "$hvlog" convert --to json --schema-from "$d/mix.bin" "$tmp/mix.bin" -o "$d/$out"
	same "$tmp/mix.bin" "$d/mix.bin" "the --schema-from trace survives -o $out"
done
# standard input and output
expect 2 "convert --to json - >> its input" sh -c "'$hvlog' convert --to json - < '$d/mix.bin' >> '$d/mix.bin'"
same "$tmp/mix.bin" "$d/mix.bin" "the input survives >> itself"
# the input given on standard input
expect 2 "convert --from json - -o its input" sh -c "'$hvlog' convert --from json -o '$d/mix.jsonl' < '$d/mix.jsonl'"
same "$tmp/mix.jsonl" "$d/mix.jsonl" "the input survives given on stdin"
no_tmp "$d" "refusals"

# ---- a failed run leaves the old file, or none ----------------------------
{ head -n 5000 "$tmp/mix.jsonl"; echo '{"type":"event","number":"nonsense"}'; } > "$tmp/bad.jsonl"
echo old > "$d/old.hvlog"
expect 1 "convert --from json, a bad line midway" "$hvlog" convert --from json "$tmp/bad.jsonl" -o "$d/old.hvlog"
[ "$(cat "$d/old.hvlog")" = old ] && ok || ko "a failed --from json replaced the old file"
expect 1 "convert --from json, a bad line midway, new file" "$hvlog" convert --from json "$tmp/bad.jsonl" -o "$d/new.hvlog"
[ -e "$d/new.hvlog" ] && ko "a failed --from json left a file" || ok
# a CBOR sequence cut short
head -c 100000 "$tmp/mix.cbor" > "$tmp/cut.cbor"
expect 1 "convert --from cbor, cut short" "$hvlog" convert --from cbor "$tmp/cut.cbor" -o "$d/old.hvlog"
[ "$(cat "$d/old.hvlog")" = old ] && ok || ko "a failed --from cbor replaced the old file"
# an input that is not a trace
expect 1 "convert --to json, not a trace" "$hvlog" convert --to json "$tmp/mix.jsonl" -o "$d/old.hvlog"
[ "$(cat "$d/old.hvlog")" = old ] && ok || ko "a failed --to json replaced the old file"
# an output device is written as it is
expect 0 "convert --to json -o /dev/null" "$hvlog" convert --to json "$tmp/mix.bin" -o /dev/null
[ -c /dev/null ] && ok || ko "/dev/null is no longer a device"
no_tmp "$d" "failed runs"

# ---- success replaces the file whole, mode as a plain create -------------
expect 0 "convert --from json over an old file" "$hvlog" convert --from json "$tmp/mix.jsonl" -o "$d/old.hvlog"
"$hvlog" decode "$d/old.hvlog" > "$tmp/a.txt" && "$hvlog" decode "$tmp/mix.bin" > "$tmp/b.txt"
same "$tmp/a.txt" "$tmp/b.txt" "--from json over an old file: the new trace"
chmod 640 "$d/old.hvlog"
expect 0 "filter over an old file" "$hvlog" filter "$tmp/mix.bin" -o "$d/old.hvlog"
[ "$(stat -c %a "$d/old.hvlog")" = 640 ] && ok || ko "an existing file's mode was not kept: $(stat -c %a "$d/old.hvlog")"
(umask 027 && "$hvlog" convert --to csv "$tmp/mix.bin" -o "$d/new.csv") || ko "convert --to csv"
[ "$(stat -c %a "$d/new.csv")" = 640 ] && ok || ko "a new file's mode ignores the umask: $(stat -c %a "$d/new.csv")"
# through a symlink: the link stays, its target is written
ln -s new.csv "$d/link.csv"
expect 0 "convert -o a symlink" "$hvlog" convert --to json "$tmp/mix.bin" -o "$d/link.csv"
[ -L "$d/link.csv" ] && ok || ko "writing through a symlink replaced the link"
same "$tmp/mix.jsonl" "$d/new.csv" "writing through a symlink writes its target"
# through a dangling symlink: the link stays, its target is created
# (a relative target from the link's directory, not the working one)
mkdir "$d/sub"
ln -s sub/made.csv "$d/dangling.csv"
expect 0 "convert -o a dangling symlink" "$hvlog" convert --to json "$tmp/mix.bin" -o "$d/dangling.csv"
[ -L "$d/dangling.csv" ] && ok || ko "writing through a dangling symlink replaced the link"
same "$tmp/mix.jsonl" "$d/sub/made.csv" "writing through a dangling symlink creates its target"
ln -s "$d/sub/abs.hvlog" "$d/dangling-abs.hvlog"
ln -s dangling-abs.hvlog "$d/chain.hvlog"
expect 0 "filter -o a symlink to a dangling symlink" "$hvlog" filter "$tmp/mix.bin" -o "$d/chain.hvlog"
[ -L "$d/chain.hvlog" ] && [ -L "$d/dangling-abs.hvlog" ] && ok || ko "writing through a chain of symlinks replaced a link"
same "$tmp/mix.bin" "$d/sub/abs.hvlog" "writing through a chain of symlinks creates the last target"
[ "$(stat -c %a "$d/sub/abs.hvlog")" = "$(cd "$d" && touch plain && stat -c %a plain)" ] && ok ||
	ko "a target created through a dangling symlink has mode $(stat -c %a "$d/sub/abs.hvlog")"
rm -f "$d/plain"
no_tmp "$d/sub" "through dangling symlinks"
no_tmp "$d" "successful runs"

# ---- a name of an open descriptor is written through it -------------------
# /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N name a descriptor the
# shell opened: written where it is (appended after >>), as -o - writes
# standard output, never a new file renamed over the one it is open on
"$hvlog" filter "$tmp/mix.bin" > "$tmp/mix.flt"
"$hvlog" convert --to csv "$tmp/mix.bin" > "$tmp/mix.csv"
"$hvlog" report "$tmp/mix.bin" > "$tmp/mix.html"
# appended NAME DESCRIPTION WANT: $d/keep.txt is 'kept', WANT after it, on its first inode
appended() {
	{ echo kept; cat "$3"; } > "$tmp/want"
	same "$tmp/want" "$d/keep.txt" "$2: not appended after what was there"
	[ "$(stat -c %i "$d/keep.txt")" = "$1" ] && ok || ko "$2: the file was replaced by another"
}
for name in /dev/stdout /proc/self/fd/1 /dev/fd/1; do
	echo kept > "$d/keep.txt"
	ino=$(stat -c %i "$d/keep.txt")
	expect 0 "filter -o $name >> FILE" sh -c "'$hvlog' filter '$tmp/mix.bin' -o $name >> '$d/keep.txt'"
	appended "$ino" "filter -o $name >> FILE" "$tmp/mix.flt"
done
echo kept > "$d/keep.txt"
ino=$(stat -c %i "$d/keep.txt")
expect 0 "convert -o /dev/stdout in a group >> FILE" sh -c \
	"{ echo header; '$hvlog' convert --to csv '$tmp/mix.bin' -o /dev/stdout; echo footer; } >> '$d/keep.txt'"
{ echo header; cat "$tmp/mix.csv"; echo footer; } > "$tmp/group"
appended "$ino" "convert -o /dev/stdout in a group" "$tmp/group"
echo kept > "$d/keep.txt"
ino=$(stat -c %i "$d/keep.txt")
expect 0 "convert -o /dev/stderr 2>> FILE" sh -c "'$hvlog' convert --to csv '$tmp/mix.bin' -o /dev/stderr 2>> '$d/keep.txt'"
appended "$ino" "convert -o /dev/stderr 2>> FILE" "$tmp/mix.csv"
echo kept > "$d/keep.txt"
ino=$(stat -c %i "$d/keep.txt")
expect 0 "filter --format text -o /dev/fd/3 3>> FILE" sh -c \
	"'$hvlog' filter --format text '$tmp/mix.bin' -o /dev/fd/3 3>> '$d/keep.txt'"
"$hvlog" filter --format text "$tmp/mix.bin" > "$tmp/mix.txt"
appended "$ino" "filter --format text -o /dev/fd/3" "$tmp/mix.txt"
echo kept > "$d/keep.txt"
ino=$(stat -c %i "$d/keep.txt")
expect 0 "report -o /proc/self/fd/4 4>> FILE" sh -c "'$hvlog' report '$tmp/mix.bin' -o /proc/self/fd/4 4>> '$d/keep.txt'"
appended "$ino" "report -o /proc/self/fd/4" "$tmp/mix.html"
echo kept > "$d/keep.txt"
ino=$(stat -c %i "$d/keep.txt")
expect 0 "convert --from json -o /dev/fd/3 3>> FILE" sh -c \
	"'$hvlog' convert --from json '$tmp/mix.jsonl' -o /dev/fd/3 3>> '$d/keep.txt'"
"$hvlog" convert --from json "$tmp/mix.jsonl" > "$tmp/mix.rt"
appended "$ino" "convert --from json -o /dev/fd/3" "$tmp/mix.rt"
# a symlink to a descriptor's name is that descriptor too
ln -s /dev/stdout "$d/to-stdout"
echo kept > "$d/keep.txt"
ino=$(stat -c %i "$d/keep.txt")
expect 0 "filter -o a symlink to /dev/stdout" sh -c "'$hvlog' filter '$tmp/mix.bin' -o '$d/to-stdout' >> '$d/keep.txt'"
appended "$ino" "filter -o a symlink to /dev/stdout" "$tmp/mix.flt"
[ -L "$d/to-stdout" ] && ok || ko "a symlink to /dev/stdout was replaced"
# a descriptor that is not open, or open for reading only: an error, nothing created
expect 3 "filter -o /dev/fd/7, not open" sh -c "'$hvlog' filter '$tmp/mix.bin' -o /dev/fd/7 7>&-"
has err "/dev/fd/7: cannot open" "-o a descriptor not open: message"
expect 3 "filter -o /dev/fd/3, open for reading" sh -c "'$hvlog' filter '$tmp/mix.bin' -o /dev/fd/3 3< '$d/keep.txt'"
appended "$ino" "-o a descriptor open for reading" "$tmp/mix.flt"
# --to ctf writes a directory: a descriptor cannot take it
expect 2 "--to ctf -o /dev/stdout" sh -c "'$hvlog' convert --to ctf '$tmp/mix.bin' -o /dev/stdout >> '$d/keep.txt'"
appended "$ino" "--to ctf -o /dev/stdout" "$tmp/mix.flt"
# the descriptor open on an input is still refused
cp "$tmp/mix.bin" "$d/in.bin"
for name in /dev/fd/3 /proc/self/fd/3; do
	expect 2 "filter -o $name, fd 3 its input" sh -c "'$hvlog' filter '$d/in.bin' -o $name 3>> '$d/in.bin'"
	has err "would overwrite the input" "-o $name onto the input: message"
	expect 2 "convert -o $name, fd 3 its input" sh -c "'$hvlog' convert --to csv '$d/in.bin' -o $name 3>> '$d/in.bin'"
done
expect 2 "filter /dev/fd/3 -o /dev/stdout, both the input" sh -c "'$hvlog' filter /dev/fd/3 -o /dev/stdout 3< '$d/in.bin' >> '$d/in.bin'"
same "$tmp/mix.bin" "$d/in.bin" "the input open on the output descriptor survives"
no_tmp "$d" "descriptor outputs"

# ---- SIGTERM and SIGINT remove the temporary ------------------------------
# ---- convert --to ctf: a directory replaced whole, or not at all ----------
"$gen" all "$tmp/all.bin" || ko "tracegen all"
n_all=$("$hvlog" decode --count "$tmp/all.bin")
expect 0 "--to ctf into a new directory" "$hvlog" convert --to ctf "$tmp/mix.bin" -o "$d/ctf"
ls "$d/ctf" > "$tmp/mix.ls"
expect 2 "--to ctf into a non-empty directory" "$hvlog" convert --to ctf "$tmp/all.bin" -o "$d/ctf"
has err "not empty: give --force" "--to ctf into a non-empty directory: message"
ls "$d/ctf" > "$tmp/now.ls"
same "$tmp/mix.ls" "$tmp/now.ls" "a refused --to ctf left the directory as it was"
touch "$d/ctf/user-file"
expect 0 "--to ctf --force over a directory" "$hvlog" convert --to ctf --force "$tmp/all.bin" -o "$d/ctf"
[ -e "$d/ctf/user-file" ] && ko "--force kept a file of the old directory" || ok
[ "$(ls "$d/ctf" | grep -c '^stream_')" -le 2 ] && ok || ko "--force kept stale stream files: $(ls "$d/ctf" | tr '\n' ' ')"
if command -v babeltrace2 > /dev/null 2>&1; then
	n=$(babeltrace2 "$d/ctf" 2>/dev/null | grep -vc 'discarded')
	[ "$n" = "$n_all" ] && ok || ko "babeltrace2 reads $n events from a $n_all-event trace converted over another"
else
	echo "SKIP: babeltrace2 is not installed"
fi
mkdir "$d/empty"
expect 0 "--to ctf into an empty directory" "$hvlog" convert --to ctf "$tmp/all.bin" -o "$d/empty"
[ -e "$d/empty/metadata" ] && ok || ko "--to ctf into an empty directory: no metadata"
expect 2 "--to ctf over a file" "$hvlog" convert --to ctf "$tmp/all.bin" -o "$d/new.csv"
has err "not a directory" "--to ctf over a file: message"
# a failed conversion (not a trace) leaves the old directory and no temporary
expect 1 "--to ctf --force, not a trace" "$hvlog" convert --to ctf --force "$tmp/mix.jsonl" -o "$d/ctf"
[ -e "$d/ctf/metadata" ] && ok || ko "a failed --to ctf --force removed the old directory"
no_tmp "$d" "--to ctf"
# --force never replaces a directory that holds an input, at any depth
mkdir -p "$d/keep/sub"
cp "$tmp/mix.bin" "$d/keep/sub/in.bin"
ln -sf "$d/keep/sub/in.bin" "$tmp/link-in.bin"
for dir in "$d/keep" "$d/keep/sub" "$d/keep/sub/../sub"; do
	expect 2 "--to ctf --force -o a directory of its input" "$hvlog" convert --to ctf --force "$d/keep/sub/in.bin" -o "$dir"
	has err "is in the output directory" "--to ctf --force over its input's directory: message"
done
expect 2 "--to ctf --force -o the directory of its input, by a symlink" "$hvlog" convert --to ctf --force "$tmp/link-in.bin" -o "$d/keep"
expect 2 "--to ctf --force -o the directory of its input, on stdin" sh -c "'$hvlog' convert --to ctf --force - -o '$d/keep' < '$d/keep/sub/in.bin'"
expect 2 "--to ctf --force -o the directory of --schema-from" "$hvlog" convert --to ctf --force --schema-from "$d/keep/sub/in.bin" "$tmp/mix.bin" -o "$d/keep"
same "$tmp/mix.bin" "$d/keep/sub/in.bin" "the input in the output directory survives"

mkfifo "$tmp/fifo"
for sig in TERM INT; do
	rm -f "$d/sig.hvlog"
	# a background job starts with SIGINT ignored, which hvlog keeps
	env --default-signal=$sig "$hvlog" convert --from json "$tmp/fifo" -o "$d/sig.hvlog" 2>/dev/null &
	pid=$!
	exec 3> "$tmp/fifo"
	head -n 1000 "$tmp/mix.jsonl" >&3
	i=0
	while ! ls -A "$d" | grep -q '^\.sig\.hvlog\.' && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	ls -A "$d" | grep -q '^\.sig\.hvlog\.' && ok || ko "SIG$sig: no temporary while converting"
	kill -$sig $pid
	wait $pid 2>/dev/null
	got=$?
	exec 3>&-
	[ $got -gt 128 ] && ok || ko "SIG$sig: exit status $got, not death by the signal"
	[ -e "$d/sig.hvlog" ] && ko "SIG$sig: an interrupted run left its output" || ok
	no_tmp "$d" "SIG$sig"
done

echo "output: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
