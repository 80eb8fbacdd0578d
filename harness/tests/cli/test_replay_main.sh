#!/usr/bin/env bash
# test_replay_main.sh FUZZ-OPS SRCDIR COUNT-TARGET - the replay main's
# contract (a build without a fuzzing engine): each input run -runs=N times
# with its whole bytes (COUNT-TARGET prints a line per call) and timed, bad
# options and missing inputs exit 2 naming the argument, -timeout's alarm
# names the input and exits 1.  TAP output.
set -u
exe=$1
src=$2
count=$3
. "$(dirname "$0")/tap.sh"

dir=$src/corpus/fuzz-ops
nfiles=$(find "$dir" -maxdepth 1 -type f ! -name '.*' | wc -l)
one=$dir/$(ls "$dir" | head -n1)

expect 0 "a folder, each input run 3 times" "$exe" -runs=3 "$dir"
got=$(grep -cE '^Executed .* in [0-9]+\.[0-9]+ us per run \(3 runs\)$' "$tmp/err")
[ "$got" -eq "$nfiles" ] && ok "an Executed line per input ($got of $nfiles)" ||
	not_ok "an Executed line per input ($got of $nfiles)"
got=$(grep -c '^Running: ' "$tmp/err")
[ "$got" -eq "$nfiles" ] && ok "a Running line per input" || not_ok "a Running line per input ($got)"

# The calls themselves: 3 per input, each with the file's length and bytes.
"$count" -runs=3 "$dir" >"$tmp/calls" 2>/dev/null
want=$(for f in $(LC_ALL=C ls "$dir"); do
	sum=$(od -An -v -tu1 "$dir/$f" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s + 0 }')
	for r in 1 2 3; do echo "call $(stat -c %s "$dir/$f") $sum"; done
done)
[ "$(cat "$tmp/calls")" = "$want" ] && ok "each input called 3 times with its whole bytes, in name order" ||
	not_ok "each input called 3 times with its whole bytes ($(wc -l <"$tmp/calls") calls, want $((3 * nfiles)))"
"$count" "$one" >"$tmp/calls" 2>/dev/null
[ "$(wc -l <"$tmp/calls")" -eq 1 ] && ok "one call by default" || not_ok "one call by default"
expect 0 "without options, one run" "$exe" "$one"
grep_err "^Executed $one in .* \(1 runs\)$" "one run by default"

expect 2 "-runs=0 is refused" "$exe" -runs=0 "$one"
grep_err "^argument 1: -runs takes a whole number in \[1, [0-9]+\], not '0'$" "the message names argument 1"
expect 2 "-runs=x is refused" "$exe" -timeout=5 -runs=x "$one"
grep_err "^argument 2: -runs takes a whole number" "the message names argument 2"
expect 2 "-runs=-1 is refused" "$exe" -runs=-1 "$one"
expect 2 "-runs= is refused" "$exe" -runs= "$one"
expect 2 "-timeout=1s is refused" "$exe" -timeout=1s "$one"
grep_err "^argument 1: -timeout takes a whole number in \[0, 86400\], not '1s'$" "the message names the value"
expect 2 "an unknown option is refused" "$exe" -max_len=64 "$one"
grep_err "^argument 1: unknown option '-max_len=64'" "the message names the option"
expect 2 "no input is a usage error" "$exe" -runs=2
grep_err "^usage: " "usage printed"
expect 2 "a missing input exits 2" "$exe" "$tmp/nonexistent"
grep_err "nonexistent: No such file or directory" "the message names the file"

# The alarm's handler: SIGALRM while an input runs names it and exits 1.
expect 1 "the timeout names the input and exits 1" \
	timeout --preserve-status -s ALRM 1 "$exe" -timeout=86400 -runs=100000000000 "$one"
grep_err "^timeout: the runs of $one took longer than -timeout allows$" "the message names the input"

tap_done
