#!/usr/bin/env bash
# test_watchdog.sh KVSTRESS - the watchdog's negative tests: a thread that spins
# with a raw lock held and irqs off must be reported as stuck, with the lock it
# holds (and, in the flood's part, as a flooder still running), in hang.txt and
# report.json, and the run must end with exit code 3 well before its
# duration; so must a checkpoint whose flooders cannot pause because nothing
# is freed any more, and, with no checkpoints, a flood that neither calls nor
# frees; an RCU reader that never ends must be reported when the run outlives
# its duration, whether the flood left objects for the final barrier to wait
# for (a hang in the quiesce) or none (a hang in stopping the environment's
# threads).  TAP output.
set -u
kvstress=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

start=$(date +%s)
"$kvstress" --scenario bug-stall --cpus 2 --duration 30 --watchdog 1 --seed 3 \
	--report "$dir/r" --quiet >"$dir/log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 3 ] && ok "exit code 3 (watchdog)" || { not_ok "exit code 3 (watchdog), got $rc"; sed 's/^/# /' "$dir/log"; }
[ "$took" -lt 20 ] && ok "ended in ${took}s, long before its 30 s duration" || not_ok "ended in ${took}s"
grep -q 'stayed atomic without a scheduling point' "$dir/r/hang.txt" 2>/dev/null &&
	ok "hang.txt says why" || not_ok "hang.txt says why"
grep -q '^bug-stall .* (moved [0-9]\{4,\} ms ago; since: on a CPU [0-9]\{3,\} ms, waiting for one [0-9]* ms; state R)$' "$dir/r/hang.txt" 2>/dev/null &&
	ok "hang.txt says the stuck thread reached no scheduling point for a second or more, on a CPU (stuck, not starved)" ||
	{ not_ok "hang.txt says how long ago the stuck thread moved"
	  grep '^bug-stall ' "$dir/r/hang.txt" 2>/dev/null | sed 's/^/# /'; }
grep -A1 '^bug-stall ' "$dir/r/hang.txt" 2>/dev/null | grep -q 'holds bug_lock' &&
	ok "hang.txt names the stuck thread and the lock it holds" || not_ok "hang.txt names the stuck thread and its lock"
sed -n '/^--- the flood ---$/,$p' "$dir/r/hang.txt" 2>/dev/null | grep -q '^bug-stall  *running$' &&
	ok "hang.txt's flood part shows the stuck flooder running, not parked" ||
	not_ok "hang.txt's flood part shows the stuck flooder running"
grep -q '^reproduce: .*--seed 3' "$dir/r/hang.txt" 2>/dev/null &&
	ok "hang.txt gives the command that reproduces it" || not_ok "hang.txt gives the reproducing command"
grep -q '"hang"' "$dir/r/report.json" 2>/dev/null && ok "report.json records the hang" || not_ok "report.json records the hang"

# An RCU reader left in a work half a second in: from then on nothing is
# freed and the barrier flooders never return, so the next checkpoint
# cannot pause them.  It must say so --watchdog seconds after the last free,
# not wait for the run's end, and show them running.  Where every barrier
# flooder was between calls when the pause came (a loaded host, now and
# then), they park, and the checkpoint stops at its next step instead: the
# kworker left in the reader never reaches the hold, and the report must
# show that kworker inside its read-side section.
rm -rf "$dir/r"
start=$(date +%s)
timeout 60 "$kvstress" --scenario syscall,barrier,bug-gp-stall --cpus 2 --duration 30 \
	--watchdog 2 --checkpoint-ms 300 --seed 3 --report "$dir/r" --quiet >"$dir/log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -eq 3 ] && ok "bug-gp-stall: exit code 3 (watchdog)" ||
	{ not_ok "bug-gp-stall: exit code 3 (watchdog), got $rc"; sed 's/^/# /' "$dir/log"; }
[ "$took" -lt 20 ] && ok "bug-gp-stall: ended in ${took}s, long before its 30 s duration" ||
	not_ok "bug-gp-stall: ended in ${took}s"
why=$(head -1 "$dir/r/hang.txt" 2>/dev/null)
case $why in
"WATCHDOG: checkpoint: the flooders did not pause"*" while nothing was freed for 2 s")
	ok "bug-gp-stall: hang.txt says why (the flooders did not pause)"
	sed -n '/^--- the flood ---$/,$p' "$dir/r/hang.txt" | grep -q '^barrier[0-9]  *running (slow)$' &&
		ok "bug-gp-stall: hang.txt's flood part shows a barrier flooder still running" ||
		{ not_ok "bug-gp-stall: hang.txt's flood part shows a barrier flooder still running"
		  sed -n '/^--- the flood ---$/,$p' "$dir/r/hang.txt" | sed 's/^/# /'; } ;;
"WATCHDOG: checkpoint: not every kworker reached the hold while nothing was freed for 2 s")
	ok "bug-gp-stall: hang.txt says why (a kworker did not reach the hold)"
	sed -n '/^--- threads/,/^held up by the host/p' "$dir/r/hang.txt" |
		grep -q '^cpu[0-9]*/kworker  *cpu=[0-9]* ctx=[a-z]* irqs=on preempt=0 bh=0 rcu=1 ' &&
		ok "bug-gp-stall: hang.txt's threads part shows the kworker in its read-side section" ||
		{ not_ok "bug-gp-stall: hang.txt's threads part shows the kworker in its read-side section"
		  sed -n '/^--- threads/,/^held up by the host/p' "$dir/r/hang.txt" | sed 's/^/# /'; } ;;
*)
	not_ok "bug-gp-stall: hang.txt says why"; head -3 "$dir/r/hang.txt" 2>/dev/null | sed 's/^/# /'
	not_ok "bug-gp-stall: hang.txt names what is stuck" ;;
esac
grep -q '"stopped_in": "checkpoint"' "$dir/r/report.json" 2>/dev/null &&
	ok "bug-gp-stall: report.json records the hang, stopped in checkpoint" ||
	not_ok "bug-gp-stall: report.json records the hang, stopped in checkpoint"

# The same stall with no checkpoints: the watchdog must find the flood
# stalled (no call, nothing freed) --watchdog seconds after it stops, not at
# the run's end.  Its standard error is a pipe with no reader (the run's
# writes there fail): the exit must still be the watchdog's, and the report
# on disk, whole.
rm -rf "$dir/r"
start=$(date +%s)
timeout 60 "$kvstress" --scenario syscall,barrier,bug-gp-stall --cpus 2 --duration 30 \
	--watchdog 2 --checkpoint-ms 0 --seed 3 --report "$dir/r" 2>&1 >/dev/null | true
rc=${PIPESTATUS[0]}
took=$(( $(date +%s) - start ))
[ "$rc" -eq 3 ] && ok "flood stall: exit code 3 (watchdog)" || not_ok "flood stall: exit code 3 (watchdog), got $rc"
[ "$took" -lt 20 ] && ok "flood stall: ended in ${took}s, long before its 30 s duration" ||
	not_ok "flood stall: ended in ${took}s"
grep -q '^WATCHDOG: the flood stalled: no call to kvfree_rcu() and nothing freed for 2 s' \
	"$dir/r/hang.txt" 2>/dev/null && ok "flood stall: hang.txt says why" ||
	{ not_ok "flood stall: hang.txt says why"; head -3 "$dir/r/hang.txt" 2>/dev/null | sed 's/^/# /'; }
sed -n '/^--- the flood ---$/,$p' "$dir/r/hang.txt" 2>/dev/null |
	grep -q '^user[0-9.]*  *waits for frees' &&
	ok "flood stall: hang.txt, written whole with standard error closed, shows the flooders waiting for frees" ||
	{ not_ok "flood stall: hang.txt shows the flooders waiting for frees"
	  sed -n '/^--- the flood ---$/,$p' "$dir/r/hang.txt" 2>/dev/null | sed 's/^/# /'; }
grep -q '"status": "hang"' "$dir/r/report.json" 2>/dev/null &&
	grep -q '"stopped_in": "flood"' "$dir/r/report.json" &&
	ok "flood stall: report.json records the hang, stopped in flood" ||
	not_ok "flood stall: report.json records the hang, stopped in flood"

# An RCU reader left in a work: the run cannot end.  hang.txt and report.json
# must be whole (under TSan too: the report reads the stopped run racily) and
# the exit must be the watchdog's.  The watchdog's 5 s leave a loaded TSan run
# the time to reach its quiesce.
for sc in syscall,bug-reader-stall bug-reader-stall; do
	rm -rf "$dir/r"
	# timeout's 124 if the run never ends: exit 3 is the watchdog's.
	timeout 60 "$kvstress" --scenario "$sc" --cpus 2 --duration 1 --watchdog 5 --seed 3 \
		--report "$dir/r" --quiet >"$dir/log" 2>&1
	rc=$?
	[ "$rc" -eq 3 ] && ok "$sc: exit code 3 (watchdog)" ||
		{ not_ok "$sc: exit code 3 (watchdog), got $rc"; sed 's/^/# /' "$dir/log"; }
	grep -q 'the run did not end within its duration + 5 s, and nothing was freed for 5 s' \
		"$dir/r/hang.txt" 2>/dev/null &&
		ok "$sc: hang.txt says why" || not_ok "$sc: hang.txt says why"
	grep -q '^cpu[0-9]/kworker .* rcu=1 ' "$dir/r/hang.txt" 2>/dev/null &&
		ok "$sc: hang.txt shows the kworker inside its reader" ||
		{ not_ok "$sc: hang.txt shows the kworker inside its reader"
		  sed 's/^/# /' "$dir/r/hang.txt" 2>/dev/null; }
	case $sc in
	syscall,*) where=quiesce ;;
	*) where=done ;;
	esac
	grep -q '"status": "hang"' "$dir/r/report.json" 2>/dev/null &&
		grep -q "\"stopped_in\": \"$where\"" "$dir/r/report.json" &&
		ok "$sc: report.json records the hang, stopped in $where" ||
		not_ok "$sc: report.json records the hang, stopped in $where"
done
echo "1..$n"
[ "$fails" -eq 0 ]
