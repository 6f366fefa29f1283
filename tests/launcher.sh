#!/bin/sh
# The launcher: options, the environment it passes on, and env(1)-like exit
# statuses.  Needs GOSHIM_LAUNCHER and GOSHIM_LIBRARY (make check sets them).
# shellcheck disable=SC2016 # 'echo $VAR' is expanded by the launched shell
set -u
g=${GOSHIM_LAUNCHER:?}
lib=${GOSHIM_LIBRARY:?}
[ -x "$g" ] || { echo "no launcher $g"; exit 99; }
[ -f "$lib" ] || { echo "no library $lib"; exit 99; }
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
expect() { # DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: want '$2', got '$3'"; fi
}
# has DESCRIPTION FILE PATTERN: FILE contains a line matching PATTERN.
has() {
	if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in: $(cat "$2")"; fi
}

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT

# Information.
"$g" --version >"$tmp/out" 2>&1
expect "--version exits 0" 0 $?
has "--version prints the version" "$tmp/out" '^goshim [0-9][0-9.]*$'
"$g" -V >"$tmp/out" 2>&1
expect "-V exits 0" 0 $?
"$g" --help >"$tmp/out" 2>&1
expect "--help exits 0" 0 $?
has "--help prints the usage" "$tmp/out" '^Usage: goshim '
"$g" -h >/dev/null 2>&1
expect "-h exits 0" 0 $?

# goshim's own errors: 125, a message on stderr, nothing run.
"$g" >"$tmp/out" 2>"$tmp/err"
expect "no program exits 125" 125 $?
has "no program prints the usage hint" "$tmp/err" "goshim --help"
"$g" --bogus true 2>"$tmp/err"
expect "unknown option exits 125" 125 $?
has "unknown option is named" "$tmp/err" "'--bogus'"
for v in 0 x -1 1.5 ''; do
	"$g" -p "$v" true 2>"$tmp/err"
	expect "-p '$v' exits 125" 125 $?
done
"$g" -p 2>/dev/null
expect "-p without a value exits 125" 125 $?
"$g" --schedtrace abc true 2>/dev/null
expect "--schedtrace abc exits 125" 125 $?
GOSHIM_LIBRARY=$tmp/no-such-lib.so "$g" true 2>"$tmp/err"
expect "missing library exits 125" 125 $?

# The program: 127 not found, 126 cannot run, else its own status.
"$g" ./no-such-program-here 2>"$tmp/err"
expect "missing program exits 127" 127 $?
has "missing program message" "$tmp/err" \
	"^goshim: './no-such-program-here': No such file or directory$"
"$g" no-such-command-here 2>"$tmp/err"
expect "missing command exits 127" 127 $?
has "missing command message" "$tmp/err" "'no-such-command-here': No such file"
: >"$tmp/plain"
chmod 644 "$tmp/plain"
"$g" "$tmp/plain" 2>"$tmp/err"
expect "non-executable file exits 126" 126 $?
has "non-executable message" "$tmp/err" "Permission denied"
"$g" "$tmp" 2>"$tmp/err"
expect "directory exits 126" 126 $?
(PATH=$tmp "$g" plain 2>"$tmp/err")
expect "non-executable file found in PATH exits 126" 126 $?
"$g" sh -c 'exit 7'
expect "the program's exit status" 7 $?
# Names that are also shell builtins run the program of that name.
"$g" true
expect "true runs" 0 $?
got=$("$g" echo hello)
expect "echo runs" hello "$got"
got=$("$g" -- printf '%s' -p)
expect "arguments after -- are the program's" -p "$got"

# The environment it passes on.
got=$("$g" -p 3 -- sh -c 'echo $GOMAXPROCS')
expect "-p 3 sets GOMAXPROCS" 3 "$got"
got=$("$g" -p4 sh -c 'echo $GOMAXPROCS')
expect "-p4 sets GOMAXPROCS" 4 "$got"
got=$("$g" --procs=5 sh -c 'echo $GOMAXPROCS')
expect "--procs=5 sets GOMAXPROCS" 5 "$got"
got=$(GOMAXPROCS=7 "$g" sh -c 'echo $GOMAXPROCS')
expect "without -p, GOMAXPROCS is kept" 7 "$got"
got=$(env -u GODEBUG "$g" --schedtrace 500 sh -c 'echo $GODEBUG')
expect "--schedtrace 500 sets GODEBUG" schedtrace=500 "$got"
got=$(GODEBUG=foo=1 "$g" --schedtrace=500 sh -c 'echo $GODEBUG')
expect "--schedtrace keeps GODEBUG" foo=1,schedtrace=500 "$got"
env -u LD_PRELOAD "$g" env >"$tmp/out"
has "LD_PRELOAD is the library" "$tmp/out" "^LD_PRELOAD=$lib\$"
# An existing entry that loads cleanly: the library itself.
LD_PRELOAD="$lib $lib" "$g" env >"$tmp/out"
has "LD_PRELOAD: the library first, then what was there" "$tmp/out" \
	"^LD_PRELOAD=$lib $lib $lib\$"

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "PASS: launcher"
