#!/bin/sh
# The launcher: options, environment it passes on, and env(1)-like exits.
set -u
g=${GOSHIM_LAUNCHER:?}
lib=${GOSHIM_LIBRARY:?}
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
expect() { # DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: want '$2', got '$3'"; fi
}

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

"$g" --version >"$tmp/out" 2>&1; expect "--version exits 0" 0 $?
grep -q '^goshim [0-9]' "$tmp/out" && ok "--version prints it" || bad "--version: $(cat "$tmp/out")"
"$g" --help >"$tmp/out" 2>&1; expect "--help exits 0" 0 $?
grep -q 'Usage: goshim' "$tmp/out" && ok "--help prints usage" || bad "--help output"

"$g" 2>"$tmp/err"; expect "no program exits 125" 125 $?
"$g" --bogus true 2>"$tmp/err"; expect "unknown option exits 125" 125 $?
"$g" -p 0 true 2>"$tmp/err"; expect "-p 0 exits 125" 125 $?
"$g" -p x true 2>"$tmp/err"; expect "-p x exits 125" 125 $?

"$g" ./no-such-program-here 2>"$tmp/err"; expect "missing program exits 127" 127 $?
grep -q "'./no-such-program-here': No such file or directory" "$tmp/err" &&
	ok "missing program message" || bad "missing program message: $(cat "$tmp/err")"
"$g" no-such-command-here 2>"$tmp/err"; expect "missing command exits 127" 127 $?
: >"$tmp/plain"
chmod -x "$tmp/plain"
"$g" "$tmp/plain" 2>"$tmp/err"; expect "non-executable exits 126" 126 $?
grep -q "Permission denied" "$tmp/err" && ok "non-executable message" || bad "non-executable message"

got=$("$g" -p 3 -- sh -c 'echo $GOMAXPROCS'); expect "-p 3 sets GOMAXPROCS" 3 "$got"
got=$("$g" --procs=5 sh -c 'echo $GOMAXPROCS'); expect "--procs=5 sets GOMAXPROCS" 5 "$got"
got=$(env -u GODEBUG "$g" --schedtrace 500 sh -c 'echo $GODEBUG')
expect "--schedtrace sets GODEBUG" schedtrace=500 "$got"
got=$(GODEBUG=foo=1 "$g" --schedtrace 500 sh -c 'echo $GODEBUG')
expect "--schedtrace keeps GODEBUG" foo=1,schedtrace=500 "$got"
got=$(env -u LD_PRELOAD "$g" sh -c 'echo "$LD_PRELOAD"')
expect "LD_PRELOAD is the library" "$lib" "$got"
got=$(LD_PRELOAD="$lib" "$g" sh -c 'echo "$LD_PRELOAD"')
expect "LD_PRELOAD keeps what was there, after the library" "$lib $lib" "$got"
"$g" sh -c 'exit 7'; expect "exit status 7" 7 $?

[ $fails -eq 0 ] || exit 1
