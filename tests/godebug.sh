#!/bin/sh
# GOMAXPROCS and GODEBUG: schedtrace lines in Go's format, scheddetail's
# P, M and G lines, and one clear line for a bad value.
set -u
lib=${GOSHIM_LIBRARY:?}
prog=${top_builddir:?}/bench/sleepers
[ -x "$prog" ] || { echo "no $prog"; exit 99; }
fails=0
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# 100 threads sleeping 400 ms, a line every 50 ms.
LD_PRELOAD=$lib GOMAXPROCS=3 GODEBUG=schedtrace=50 "$prog" 100 400 >/dev/null 2>"$tmp/trace" ||
	bad "program failed under schedtrace"
n=$(grep -c '^SCHED' "$tmp/trace")
[ "$n" -ge 4 ] || bad "only $n SCHED lines in 400 ms at 50 ms"
line='^SCHED [0-9]+ms: gomaxprocs=3 idleprocs=[0-3] threads=[0-9]+ spinningthreads=[0-9]+ idlethreads=[0-9]+ runqueue=[0-9]+ \[[0-9]+ [0-9]+ [0-9]+\]$'
if grep '^SCHED' "$tmp/trace" | grep -vqE "$line"; then
	bad "a SCHED line not in Go's format:"
	grep '^SCHED' "$tmp/trace" | grep -vE "$line" | head -3
fi

LD_PRELOAD=$lib GOMAXPROCS=2 GODEBUG=foo=1,schedtrace=100,scheddetail=1 "$prog" 20 250 >/dev/null 2>"$tmp/detail" ||
	bad "program failed under scheddetail"
grep -qE '^SCHED [0-9]+ms: gomaxprocs=2 .* runqueue=[0-9]+ gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0$' "$tmp/detail" ||
	bad "no detailed SCHED line"
grep -qE '^  P1: status=[0-2] schedtick=[0-9]+ syscalltick=[0-9]+ m=-?[0-9]+ runqsize=[0-9]+ gfreecnt=[0-9]+ timerslen=[0-9]+$' "$tmp/detail" ||
	bad "no P line"
grep -qE '^  M0: p=-?[0-9]+ curg=-?[0-9]+ mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=(true|false) blocked=(true|false) lockedg=-1$' "$tmp/detail" ||
	bad "no M line"
grep -qE '^  G1: status=[0-9]+\([a-z_ ]*\) m=-?[0-9]+ lockedm=-1$' "$tmp/detail" ||
	bad "no G line"
grep -qE '^  G[0-9]+: status=4\(sleep\) ' "$tmp/detail" || bad "no sleeping G"

LD_PRELOAD=$lib GOMAXPROCS=abc "$prog" 2 10 >/dev/null 2>"$tmp/bad" || bad "program failed with a bad GOMAXPROCS"
[ "$(grep -c . "$tmp/bad")" -eq 1 ] && grep -q 'GOMAXPROCS value "abc" is not a positive integer; using [0-9]' "$tmp/bad" ||
	bad "bad GOMAXPROCS message: $(cat "$tmp/bad")"
LD_PRELOAD=$lib GODEBUG=schedtrace=-5 "$prog" 2 10 >/dev/null 2>"$tmp/bad2" || bad "program failed with a bad GODEBUG"
grep -q 'schedtrace value "-5"' "$tmp/bad2" || bad "bad GODEBUG message: $(cat "$tmp/bad2")"
grep -q '^SCHED' "$tmp/bad2" && bad "schedtrace on after a bad value"

[ $fails -eq 0 ] && echo "PASS: schedtrace, scheddetail, bad values"
[ $fails -eq 0 ]
