#!/usr/bin/env bash
# Store trials with the release binary (figures for issue 16; not part of CI):
#   concurrency: P processes recording acceptance observations for T seconds → ok / failed / lost
#   kills:       K imports SIGKILLed at random moments → partial versions / integrity failures
# Usage: scripts/store-trials.sh [P=7] [T=30] [K=60]
set -euo pipefail
P=${1:-7}; T=${2:-30}; K=${3:-60}
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=$PWD/target/release/overlap
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
"$BIN" demo --dir d >/dev/null
export OVERLAP_DB=d/overlap.db OVERLAP_ACTOR=trials

echo "== concurrency: $P writers for $T s"
end=$(( $(date +%s) + T ))
for p in $(seq 1 "$P"); do
  ( ok=0; failed=0
    while [ "$(date +%s)" -lt "$end" ]; do
      if "$BIN" intervention acceptance shorten --bucket trials --attempts 2 --accepted 1 >/dev/null 2>>"err.$p"; then
        ok=$((ok + 1)); else failed=$((failed + 1)); fi
    done
    echo "$ok $failed" > "count.$p" ) &
done
wait
ok=$(cat count.* | awk '{s+=$1} END {print s}')
failed=$(cat count.* | awk '{s+=$2} END {print s}')
stored=$("$BIN" intervention show shorten --format json | python3 -c 'import json,sys; print(sum(b["attempts"] for b in json.load(sys.stdin)["acceptance"] if b["bucket"]=="trials")//2)')
echo "operations $((ok + failed)), failed $failed, lost $((ok - stored))"
"$BIN" registry verify

echo "== kills: $K imports"
python3 - <<'PY'
rows = []
for i in range(30000):
    rows.append('{"id":"k%d","bucket":"b%d","label":%d,"delta":{"len":%s,"tone":%s}}'
                % (i, i % 3, i % 2, float(i % 17) - 8.0, float(i % 5) - 2.0))
open("big.jsonl", "w").write("\n".join(rows) + "\n")
PY
start=$(date +%s%N); "$BIN" dataset import probe big.jsonl >/dev/null; full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
partial=0; broken=0
for k in $(seq 1 "$K"); do
  "$BIN" dataset import "big$k" big.jsonl >/dev/null 2>&1 &
  pid=$!
  sleep "$(python3 -c "import random; print(random.uniform(0, $full_ms / 1000 * 1.2))")"
  kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  n=$("$BIN" dataset list --format json | python3 -c "import json,sys; print(next((d['latest']['n'] for d in json.load(sys.stdin) if d['name']=='big$k'), 'none'))")
  if [ "$n" != none ] && [ "$n" != 30000 ]; then partial=$((partial + 1)); fi
  "$BIN" store verify >/dev/null || broken=$((broken + 1))
done
echo "kills $K (a full import takes $full_ms ms), partial versions $partial, store verify failures $broken"
