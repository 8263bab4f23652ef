#!/usr/bin/env bash
# The explorer's browser test on a real model.
#
#   tests/browser/run.sh TRANSFORMER MODEL_DIR [--serve] [--screenshots DIR] [--sentence TEXT] [--beam N] [--prefix TEXT] [--compare DIR2]
#
# 1. `TRANSFORMER explain --html PAGE --model MODEL_DIR SENTENCE` writes the
#    offline page; explorer.test.mjs checks it in headless chromium.
# 2. With --serve, also: `TRANSFORMER serve --model MODEL_DIR --port PORT` on a
#    free port, wait for GET /healthz, and run the same test against
#    http://127.0.0.1:PORT/ (the sentence typed into the page's form).
# Needs: node, npm, /usr/bin/chromium (or $CHROMIUM); playwright-core is
# installed from package-lock.json on first use. Exit code non-zero on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { echo "usage: $0 TRANSFORMER MODEL_DIR [--serve] [--screenshots DIR] [--sentence TEXT] [--beam N] [--prefix TEXT] [--compare DIR2]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
bin="$(realpath "$1")"; model="$(realpath "$2")"; shift 2
prefix_args=()  # the translation's forced beginning, typed into the served page's form (the offline page has none: both are checked)
serve=0; shots=""; compare_dir=""; sentence="Ein Mann fährt mit dem Fahrrad über die Straße."; beam=4
while [[ $# -gt 0 ]]; do
  case "$1" in
    --serve) serve=1; shift ;;
    --screenshots) shots="$(realpath -m "$2")"; shift 2 ;;
    --sentence) sentence="$2"; shift 2 ;;
    --beam) beam="$2"; shift 2 ;;
    --prefix) prefix_args=(--prefix "$2"); shift 2 ;;
    --compare) compare_dir="$(realpath "$2")"; shift 2 ;;
    *) usage ;;
  esac
done
[[ -x "$bin" ]] || { echo "$0: $bin is not an executable" >&2; exit 2; }
[[ -d "$model" ]] || { echo "$0: $model is not a model directory" >&2; exit 2; }

if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

metrics_args=()   # the model's own training log, when it has one, for the training-curves view
[[ -f "$model/metrics.jsonl" ]] && metrics_args=(--metrics "$model/metrics.jsonl")
example_args=()  # the model's examples.txt (train writes it): the served sentence box starts with its first line
[[ -s "$model/examples.txt" ]] && example_args=(--example "$(head -1 "$model/examples.txt" | tr -d '\r')")
snapshot_args=()  # train --probe's snapshots: the "watch it learn" slider shows them
[[ -s "$model/probes.jsonl" ]] && snapshot_args=(--snapshots "$(grep -c . "$model/probes.jsonl")")
shot_args=()
[[ -n "$shots" ]] && shot_args=(--screenshots "$shots")

compare_args=(); compare_test=()   # side by side with a second model (the offline page only)
[[ -n "$compare_dir" ]] && compare_args=(--compare "$compare_dir") && compare_test=(--compare)

echo "== offline page: $bin explain --html --beam $beam ${compare_args[*]}"
"$bin" explain --html "$tmp/page.html" --beam "$beam" --model "$model" "${compare_args[@]}" "$sentence"
node "$here/explorer.test.mjs" "$tmp/page.html" "${shot_args[@]}" "${metrics_args[@]}" "${snapshot_args[@]}" "${compare_test[@]}"

if [[ $serve -eq 1 ]]; then
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  echo "== served page: $bin serve --port $port"
  "$bin" serve --model "$model" --port "$port" >"$tmp/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then echo "$0: the server exited:" >&2; cat "$tmp/serve.log" >&2; exit 1; fi
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "$0: no /healthz after 60 s" >&2; cat "$tmp/serve.log" >&2; exit 1; }
  # Screenshots come from the offline page; the served run only checks.
  node "$here/explorer.test.mjs" "http://127.0.0.1:$port/" --sentence "$sentence" --beam "$beam" "${prefix_args[@]}" \
    "${metrics_args[@]}" "${example_args[@]}" "${snapshot_args[@]}" 2>&1 | sed 's/^/[serve] /'
  test "${PIPESTATUS[0]}" -eq 0
fi
