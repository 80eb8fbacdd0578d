#!/usr/bin/env bash
# test_bad_usage.sh PROGRAM ARGS TEXT [ARGS TEXT]... - bad usage of PROGRAM
# exits 2 and says what is wrong: for each pair, PROGRAM run with ARGS (split
# at spaces) must exit 2 with TEXT in its standard error.  TAP output.
set -u
prog=$1
shift
n=0 fails=0
while [ $# -ge 2 ]; do
	read -r -a args <<<"$1"
	want=$2
	shift 2
	n=$((n + 1))
	err=$("$prog" "${args[@]}" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -eq 2 ] && [[ $err == *"$want"* ]]; then
		echo "ok $n - ${args[*]}: exit 2, \"$want\""
	else
		fails=$((fails + 1))
		echo "not ok $n - ${args[*]}: want exit 2 and \"$want\", got exit $rc"
		printf '%s\n' "$err" | sed 's/^/# /'
	fi
done
echo "1..$n"
[ "$fails" -eq 0 ]
