#!/usr/bin/env bash
# Run the whole test suite under Deno, Node 24 and Bun (or the runtimes named
# as arguments) and print one total line: "N passed, N failed".
# Exits non-zero when any runtime fails or runs no test.
set -u
cd "$(dirname "$0")/.."
runtimes=("$@")
[ ${#runtimes[@]} -eq 0 ] && runtimes=(deno node bun)
mkdir -p .tmp
tests=(tests/*_test.ts)
# npm dependencies (node_modules/) for Node and Bun, from deno.json.
deno install >/dev/null
total_pass=0
total_fail=0
status=0

node24() {
  if [ -z "${NODE24:-}" ]; then
    if node -e 'process.exit(+process.versions.node.split(".")[0] >= 24 ? 0 : 1)' 2>/dev/null; then
      NODE24=$(command -v node)
    else
      NODE24=$(npx -y node@24 -p process.execPath)
    fi
  fi
  "$NODE24" "$@"
}

# Bun is fetched from npm when missing (the package ships its binary).
ensure_bun() {
  command -v bun >/dev/null 2>&1 && return
  echo "installing bun from npm..." >&2
  npm i -g bun >&2 || npm i -g --allow-scripts=bun bun >&2
}

count() { # runtime passed failed exit-code
  echo "$1: $2 passed, $3 failed"
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  if [ "$4" -ne 0 ] || [ "$3" -ne 0 ] || [ "$2" -eq 0 ]; then status=1; fi
}

for runtime in "${runtimes[@]}"; do
  log=".tmp/test-$runtime.log"
  echo "::: $runtime"
  case "$runtime" in
  deno)
    deno test -A --junit-path=.tmp/deno-junit.xml "${tests[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    # Count leaf tests (it() cases), not describe() groups.
    read -r pass fail < <(node scripts/junit_count.mjs .tmp/deno-junit.xml)
    ;;
  node)
    node24 --test --test-reporter=spec "${tests[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    pass=$(sed -n 's/^ℹ pass \([0-9]*\).*/\1/p' "$log" | tail -1)
    fail=$(sed -n 's/^ℹ fail \([0-9]*\).*/\1/p' "$log" | tail -1)
    ;;
  bun)
    ensure_bun
    bun test --timeout 120000 "${tests[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    pass=$(sed -n 's/^ *\([0-9]*\) pass$/\1/p' "$log" | tail -1)
    fail=$(sed -n 's/^ *\([0-9]*\) fail$/\1/p' "$log" | tail -1)
    ;;
  *)
    echo "unknown runtime: $runtime (expected deno, node or bun)" >&2
    exit 2
    ;;
  esac
  count "$runtime" "${pass:-0}" "${fail:-0}" "$code"
done

echo
echo "${total_pass} passed, ${total_fail} failed"
exit $status
