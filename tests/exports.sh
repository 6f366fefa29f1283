#!/bin/sh
# The library exports exactly the names listed in shim/exports.map (those
# between "global:" and "local:"), nothing internal.
set -u
lib=${GOSHIM_LIBRARY:?}
map=${top_srcdir:?}/shim/exports.map
[ -f "$lib" ] || { echo "no library $lib"; exit 99; }
[ -f "$map" ] || { echo "no version script $map"; exit 99; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm"; exit 77; }

tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
# The names between "global:" and "local:", comments dropped.
awk '{ text = text $0 "\n" }
	END {
		while ((i = index(text, "/*")) > 0) {
			rest = substr(text, i + 2)
			j = index(rest, "*/")
			text = substr(text, 1, i - 1) " " (j ? substr(rest, j + 2) : "")
		}
		gsub(/#[^\n]*/, " ", text)
		if (!(i = index(text, "global:"))) exit
		text = substr(text, i + 7)
		if ((i = index(text, "local:"))) text = substr(text, 1, i - 1)
		n = split(text, names, /[;[:space:]]+/)
		for (k = 1; k <= n; k++)
			if (names[k] ~ /^[A-Za-z_][A-Za-z0-9_]*$/) print names[k]
	}' "$map" | sort -u >"$tmp/want"
[ -s "$tmp/want" ] || { echo "no names read from $map"; exit 99; }
# Code, weak, indirect and data symbols; _init and _fini come from crti.o.
nm -D --defined-only "$lib" | awk '$2 ~ /^[TWiDBV]$/ { print $3 }' |
	sed 's/@.*//' | grep -vx -e _init -e _fini | sort -u >"$tmp/have"
if ! diff -u "$tmp/want" "$tmp/have" >"$tmp/diff"; then
	echo "FAIL: exported symbols differ from shim/exports.map"
	echo "(- listed but not exported, + exported but not listed)"
	tail -n +3 "$tmp/diff"
	exit 1
fi
echo "PASS: $(wc -l <"$tmp/have") exported names, as listed"
