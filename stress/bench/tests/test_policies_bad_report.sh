#!/usr/bin/env bash
# test_policies_bad_report.sh KVBENCH - `kvbench policies` refuses a
# report.json it cannot read: exit 2, naming the file and the line, instead of
# comparing zeros.  A stand-in for kvstress writes a truncated report.  TAP.
set -u
kvbench=${1:?usage: test_policies_bad_report.sh KVBENCH}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The stand-in: finds --report DIR among its options and leaves half a report there.
cat > "$tmp/kvstress" <<'STUB'
#!/usr/bin/env bash
while [ $# -gt 0 ]; do
	if [ "$1" = --report ]; then dir=$2; fi
	shift
done
printf '{\n  "tool": "kvtorture stress",\n  "status": "pass",\n  "per_cpu": [\n    {"cpu": 0, "calls": 12' > "$dir/report.json"
STUB
chmod +x "$tmp/kvstress"

echo "1..3"
"$kvbench" policies --kvstress "$tmp/kvstress" --scenarios syscall --policy kernel --seconds 1 \
	--no-plots --out "$tmp/out" > "$tmp/stdout" 2> "$tmp/stderr"
rc=$?
report="$tmp/out/stress-syscall-kernel-0/report.json"
if [ $rc -eq 2 ]; then echo "ok 1 - exit 2 on a truncated report.json"; else echo "not ok 1 - exit 2 on a truncated report.json (got $rc)"; fi
if grep -q "$report:5:" "$tmp/stderr"; then echo "ok 2 - the message names the file and the line"
else echo "not ok 2 - the message names the file and the line"; sed 's/^/# /' "$tmp/stderr"; fi
if [ ! -e "$tmp/out/policies.json" ]; then echo "ok 3 - no comparison is written from it"
else echo "not ok 3 - no comparison is written from it"; fi
