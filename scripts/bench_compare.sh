#!/usr/bin/env bash
# bench_compare.sh — `make bench-compare REF=<git ref>`: the benchmarks of REF against those of
# the working tree, on this machine, in the same run.
#
# It builds each package's test binary at REF (in a temporary git worktree, removed at the end)
# and in the working tree, then runs them interleaved: ROUNDS rounds, each running every
# package's benchmarks once at REF and once in the working tree (which goes first alternates),
# so that a change of background load hits both sides alike. It prints the load average at the
# start and the end, and benchstat's tables (REF vs working tree: median, spread, p-value).
#
# Variables: REF (required), ROUNDS (5), BENCH (the -bench regexp, "."), PKG (package patterns,
# default every package with a Benchmark), BENCHTIME (-benchtime, go's default when empty).
# Raw results are kept in bench/compare-ref.txt and bench/compare-new.txt.
set -euo pipefail

usage() {
	echo "Usage: REF=<git ref> [ROUNDS=5] [BENCH=regexp] [PKG='./pkg/a ./pkg/b'] [BENCHTIME=1x] $0"
	echo "       (or: make bench-compare REF=<git ref> ...)"
}
case ${1:-} in
-h | --help) usage; exit 0 ;;
"") ;;
*) echo "unexpected argument: $1" >&2; usage >&2; exit 2 ;;
esac

: "${REF:?usage: make bench-compare REF=<git ref> [ROUNDS=5] [BENCH=regexp] [PKG=./pkg/...] [BENCHTIME=1x]}"
ROUNDS=${ROUNDS:-5}
BENCH=${BENCH:-.}
GO=${GO:-go}
root=$(git rev-parse --show-toplevel)
cd "$root"
rev=$(git rev-parse --verify "$REF^{commit}")

tmp=$(mktemp -d)
cleanup() {
	git worktree remove --force "$tmp/ref" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
git worktree add --detach "$tmp/ref" "$rev" >/dev/null

# The packages with benchmarks in the working tree (PKG narrows them).
read -ra patterns <<<"${PKG:-./...}"
mapfile -t pkgs < <($GO list -f '{{.ImportPath}} {{.Dir}}' "${patterns[@]}" | while read -r p dir; do
	grep -ql '^func Benchmark' "$dir"/*_test.go 2>/dev/null && echo "$p"
done)
[ ${#pkgs[@]} -gt 0 ] || { echo "no package with benchmarks in ${PKG:-./...}" >&2; exit 1; }

# build SIDE TREE: one test binary per package; a package missing at REF is skipped there.
build() {
	local side=$1 tree=$2 p
	mkdir -p "$tmp/$side"
	for p in "${pkgs[@]}"; do
		if (cd "$tree" && $GO test -c -o "$tmp/$side/${p//\//_}.test" "$p") >>"$tmp/$side.build.log" 2>&1; then
			echo "built $side $p"
		else
			echo "skip $side $p (does not build there)"
		fi
	done
}
build ref "$tmp/ref"
build new "$root"

# run SIDE TREE: every package's benchmarks once, in the package's directory (as go test does).
run() {
	local side=$1 tree=$2 p bin rel
	for p in "${pkgs[@]}"; do
		bin="$tmp/$side/${p//\//_}.test"
		[ -x "$bin" ] || continue
		rel=${p#"$($GO list -m)"}
		# A failing benchmark is reported, not hidden; a package where BENCH selects nothing is
		# said as such (make expands '$': write '$$' in BENCH, or run this script directly).
		if ! (cd "$tree/.${rel}" && "$bin" -test.run '^$' -test.bench "$BENCH" -test.benchmem -test.count 1 \
			${BENCHTIME:+-test.benchtime "$BENCHTIME"} -test.timeout 60m) >"$tmp/run.out" 2>&1; then
			echo "FAIL $side $p:" >&2
			grep -E -A5 '^(--- FAIL|panic|FAIL)' "$tmp/run.out" >&2 || tail -20 "$tmp/run.out" >&2
		fi
		grep -qE '^Benchmark' "$tmp/run.out" || echo "note: BENCH=$BENCH selects no benchmark in $p ($side)" >&2
		grep -E '^(Benchmark|goos|goarch|pkg|cpu)' "$tmp/run.out" >>"$tmp/$side.txt" || true
	done
}

start_load=$(uptime)
echo "load at start: $start_load"
for r in $(seq 1 "$ROUNDS"); do
	echo "round $r/$ROUNDS"
	if ((r % 2)); then run ref "$tmp/ref"; run new "$root"; else run new "$root"; run ref "$tmp/ref"; fi
done
end_load=$(uptime)

mkdir -p bench
cp "$tmp/ref.txt" bench/compare-ref.txt
cp "$tmp/new.txt" bench/compare-new.txt
echo
echo "REF = $REF ($rev), working tree = $(git describe --always --dirty), $ROUNDS interleaved rounds"
echo "load at start: $start_load"
echo "load at end:   $end_load"
(cd bench && $GO tool -modfile="$root/scripts/tools/go.mod" benchstat ref=compare-ref.txt new=compare-new.txt)
