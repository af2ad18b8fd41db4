#!/bin/sh
# bench/forward-tcp-ab.sh [COMMIT] [ROUNDS]: TCP upload throughput through wifibox-forward as it is
# now, as it was at COMMIT (default 2e6f344, before issue 15 changed it) and through socat, in
# pairs on loopback: the relays pinned to CPU 1, the client and a socat sink to /dev/null on CPU 0;
# each round one 128 MiB upload to each, the order rotating (the machine's speed drifts over
# seconds). Prints each round, then the medians and the per-round ratios. Run from the repository
# after `npm run bench` (or node bundle/build.mjs) has built dist/. NOW_FLAGS replaces the node flags
# of the agent as it is now (default --expose-gc, as its wrapper has them besides the heap sizes).
set -eu
old=${1:-2e6f344}
rounds=${2:-9}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The old agent, bundled from its own sources with today's dependencies.
mkdir "$work/src"
git -C "$repo" archive "$old" agents | tar -x -C "$work/src"
NODE_PATH="$repo/node_modules" "$repo/node_modules/.bin/esbuild" "$work/src/agents/forward/main.ts" \
	--bundle --platform=node --target=node20 --outfile="$work/old-forward.js" --log-level=warning

cat >"$work/up.js" <<'JS'
// Uploads MiB through PORT; prints MB/s once the far end has closed (everything delivered).
const net = require('node:net');
const [port, mib] = process.argv.slice(2).map(Number);
const total = mib * 2 ** 20, chunk = Buffer.alloc(65536, 97);
let sent = 0;
const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
  const t0 = process.hrtime.bigint();
  const go = () => { while (sent < total) { sent += chunk.length; if (!c.write(chunk)) return void c.once('drain', go); } c.end(); };
  c.on('close', () => console.log(Math.round(total / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9))));
  c.resume();
  go();
});
JS

line() { echo "TCP4-LISTEN:$1,bind=127.0.0.1,fork,reuseaddr TCP4:127.0.0.1:32002" >"$work/$2.conf"; }
line 31002 new
line 31012 old
flags="--max-semi-space-size=1 --max-old-space-size=16"
taskset -c 0 socat -u TCP4-LISTEN:32002,bind=127.0.0.1,fork,reuseaddr OPEN:/dev/null &
pids="$pids $!"
# shellcheck disable=SC2086 # the node flags are words
taskset -c 1 node $flags ${NOW_FLAGS---expose-gc} "$repo/dist/wifibox-forward.js" --config "$work/new.conf" --run-dir '' \
	--status-socket "$work/new.sock" --user nobody --loglevel error &
pids="$pids $!"
# shellcheck disable=SC2086
taskset -c 1 node $flags "$work/old-forward.js" --config "$work/old.conf" --status-socket "$work/old.sock" --loglevel error &
pids="$pids $!"
taskset -c 1 socat TCP4-LISTEN:31022,bind=127.0.0.1,fork,reuseaddr TCP4:127.0.0.1:32002 &
pids="$pids $!"
sleep 2

: >"$work/rounds"
i=1
while [ "$i" -le "$rounds" ]; do
	case $((i % 3)) in
	0) order="31002 31012 31022" ;;
	1) order="31012 31022 31002" ;;
	*) order="31022 31002 31012" ;;
	esac
	out=""
	for port in $order; do out="$out $port=$(taskset -c 0 node "$work/up.js" "$port" 128)"; done
	echo "round $i:$out" | sed 's/31002=/now=/; s/31012=/old=/; s/31022=/socat=/' | tee -a "$work/rounds"
	i=$((i + 1))
done

# shellcheck disable=SC2016 # JavaScript, not shell, in the quotes
node -e '
const rounds = require("node:fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) =>
  Object.fromEntries([...l.matchAll(/(now|old|socat)=(\d+)/g)].map((m) => [m[1], Number(m[2])])));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const col = (k) => rounds.map((r) => r[k]);
const ratio = (a, b) => med(rounds.map((r) => r[a] / r[b])).toFixed(2);
console.log(`medians, MB/s: now ${med(col("now"))}, old (${process.argv[2]}) ${med(col("old"))}, socat ${med(col("socat"))}`);
console.log(`per-round ratios, median: now/socat ${ratio("now", "socat")}, old/socat ${ratio("old", "socat")}, now/old ${ratio("now", "old")}`);
' "$work/rounds" "$old"
