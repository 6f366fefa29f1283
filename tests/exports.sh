#!/bin/sh
# The library exports exactly the names of shim/exports.map, nothing
# internal.
set -u
lib=${GOSHIM_LIBRARY:?}
map=${top_srcdir:?}/shim/exports.map
[ -f "$lib" ] || { echo "no library $lib"; exit 99; }

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
sed -n '/global:/,/local:/p' "$map" | grep -o '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;' |
	tr -d ' \t;' | sort >"$tmp/want"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TWiDBV]$/ { print $3 }' |
	grep -vx -e _init -e _fini | sort >"$tmp/have"
[ -s "$tmp/want" ] || { echo "no names read from $map"; exit 99; }
if ! diff -u "$tmp/want" "$tmp/have"; then
	echo "FAIL: exported symbols differ from shim/exports.map (- expected, + exported)"
	exit 1
fi
echo "PASS: $(wc -l <"$tmp/have") exported names, as listed"
