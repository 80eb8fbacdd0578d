#!/usr/bin/env bash
# test_cli.sh KVTORTURE SRCDIR - the command line's contract on bad input:
# exit code 2, a message naming the file and line, nothing overwritten; and
# the round trips of decode/encode.  TAP output.
set -u
kvt=$1
src=$2
. "$(dirname "$0")/tap.sh"

seed=$src/corpus/seeds/kernel-fill-pages.kvt
cfg=$(grep '^config ' "$seed")

printf 'kvtorture-repro 1\n%s\nqueue cpu=0 ctx=task form=head ch=slab\nfrobnicate cpu=0\n' "$cfg" >"$tmp/bad-op.kvt"
expect 2 "an unknown op is bad input" "$kvt" replay "$tmp/bad-op.kvt"
grep_err "bad-op.kvt:4: " "the message names the file and line 4"

printf 'kvtorture-repro 1\n%s\nqueue cpu=9 ctx=task form=head ch=slab\n' "$cfg" >"$tmp/bad-cpu.kvt"
expect 2 "a CPU out of range is bad input" "$kvt" replay "$tmp/bad-cpu.kvt"
grep_err "bad-cpu.kvt:3: " "the message names line 3"

printf 'kvtorture-repro 1\n' >"$tmp/truncated.kvt"
expect 2 "a reproducer cut before its config line is bad input" "$kvt" replay "$tmp/truncated.kvt"
grep_err "truncated.kvt:" "the message names the truncated file"

printf 'kvtorture-repro 7\n%s\n' "$cfg" >"$tmp/version.kvt"
expect 2 "an unknown format version is bad input" "$kvt" replay "$tmp/version.kvt"
grep_err "version.kvt:1: " "the message names line 1"

expect 2 "a missing file is bad input" "$kvt" replay "$tmp/no-such-file.kvt"
grep_err "no-such-file.kvt" "the message names the missing file"
expect 2 "an unknown command" "$kvt" frobnicate
expect 2 "a bad option value" "$kvt" sim --seed banana
expect 2 "an unknown option" "$kvt" replay --frobnicate "$seed"

# Bad input overwrites nothing: minimize's output file keeps its content.
echo "precious" >"$tmp/out.kvt"
expect 2 "minimize refuses bad input" "$kvt" minimize "$tmp/bad-op.kvt" -o "$tmp/out.kvt"
if [ "$(cat "$tmp/out.kvt")" = precious ]; then ok "its output file is untouched"; else not_ok "its output file is untouched"; fi
expect 2 "minimize refuses a passing reproducer" "$kvt" minimize "$seed" -o "$tmp/out.kvt"
if [ "$(cat "$tmp/out.kvt")" = precious ]; then ok "and leaves the output file alone"; else not_ok "and leaves the output file alone"; fi

# Round trips: text -> binary -> text gives the same program.
expect 0 "encode a seed" sh -c "'$kvt' encode '$seed' > '$tmp/seed.bin'"
expect 0 "decode it back" sh -c "'$kvt' decode '$tmp/seed.bin' > '$tmp/seed.txt'"
expect 0 "decode the text form too" sh -c "'$kvt' decode '$seed' > '$tmp/seed.canon'"
if cmp -s "$tmp/seed.txt" "$tmp/seed.canon"; then ok "binary and text decode to the same text"; else not_ok "binary and text decode to the same text"; fi
expect 0 "the decoded text replays" "$kvt" replay "$tmp/seed.txt"

tap_done
