# tap.sh - TAP helpers for the command-line tests, sourced by them: a
# scratch folder $tmp (removed on exit), the counters, and the checks.
# tap_done prints the plan and is the script's exit status.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
# expect CODE DESC CMD...: run CMD, require exit CODE; stderr kept in $tmp/err.
expect() {
	local code=$1 desc=$2 rc
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$code" ]; then ok "$desc"; else not_ok "$desc (exit $rc, wanted $code)"; sed 's/^/# /' "$tmp/err"; fi
}
# grep_err PATTERN DESC: the last command's stderr matches PATTERN.
grep_err() {
	if grep -qE -- "$1" "$tmp/err"; then ok "$2"; else not_ok "$2"; sed 's/^/# /' "$tmp/err"; fi
}
tap_done() {
	echo "1..$n"
	[ "$fails" -eq 0 ]
}
