#!/usr/bin/env bash
# Run the whole test suite: Deno on the sources (tests/*_test.ts); Node 24
# and Bun on the npm build (npm/tests/*_test.js against npm/mod.js and
# npm/lib/, written by `deno task build:npm` first), Node 22 on the part of
# it that differs between Node versions (see node22_files). Runtimes can be
# named as arguments: deno, node24 (or node), node22, bun. Prints one line per
# runtime and then the total, alone on the last line: "N passed, N failed".
# Exits non-zero when the build fails, or any runtime fails or runs no test.
set -u
cd "$(dirname "$0")/.."
runtimes=("$@")
[ ${#runtimes[@]} -eq 0 ] && runtimes=(deno node24 node22 bun)
mkdir -p .tmp
tests=(tests/*_test.ts)
# The same files, compiled by scripts/build_npm.ts.
built=()
for test in "${tests[@]}"; do built+=("./npm/${test%.ts}.js"); done
# Node 22 runs what differs between Node versions (node:sqlite, worker threads,
# child processes, the npm package and its bin, node:http), not the whole
# suite again: Node 24 runs all of it on the same build, and CI's time is
# bounded. HUEY_NODE22_ALL=1 runs every file on Node 22 too.
node22_files=(api task serializer storage_memory storage_file storage_sqlite sqlite_faults
  sqlite_wakeup consumer_process timeout_process npm_package import_modes dashboard ops_cli)
node22_built=()
if [ "${HUEY_NODE22_ALL:-}" = 1 ]; then
  node22_built=("${built[@]}")
else
  for name in "${node22_files[@]}"; do node22_built+=("./npm/tests/${name}_test.js"); done
fi
# npm dependencies (node_modules/) from deno.json: @redis/client, esbuild, typescript, @types/node.
deno install >/dev/null
total_pass=0
total_fail=0
status=0

# The Node binary of major version $1, fetched through npx when the system
# node is another version (cached after the first run); $NODE24 / $NODE22
# override it.
node_path() {
  local var="NODE$1"
  if [ -n "${!var:-}" ]; then
    echo "${!var}"
  elif node -e "process.exit(+process.versions.node.split('.')[0] === $1 ? 0 : 1)" 2>/dev/null; then
    command -v node
  else
    npx -y "node@$1" -p process.execPath 2>/dev/null
  fi
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

build=none
for runtime in "${runtimes[@]}"; do
  case "$runtime" in
  deno) ;;
  node | node24 | node22 | bun)
    if [ "$build" = none ]; then
      echo "::: build (deno task build:npm)"
      if deno task build:npm; then build=ok; else build=failed; fi
    fi
    ;;
  *)
    echo "unknown runtime: $runtime (expected deno, node24, node22 or bun)" >&2
    exit 2
    ;;
  esac
done

for runtime in "${runtimes[@]}"; do
  [ "$runtime" = node ] && runtime=node24
  log=".tmp/test-$runtime.log"
  echo "::: $runtime"
  pass=0 fail=0
  if [ "$runtime" != deno ] && [ "$build" != ok ]; then
    echo "not run: the npm build failed"
    count "$runtime" 0 0 1
    continue
  fi
  case "$runtime" in
  deno)
    deno test -A --junit-path=.tmp/deno-junit.xml "${tests[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    # Count leaf tests (it() cases), not describe() groups.
    read -r pass fail < <(node scripts/junit_count.mjs .tmp/deno-junit.xml)
    ;;
  node24 | node22)
    node_bin=$(node_path "${runtime#node}")
    echo "node $("$node_bin" --version)"
    files=("${built[@]}")
    [ "$runtime" = node22 ] && files=("${node22_built[@]}")
    "$node_bin" --test --test-reporter=spec "${files[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    pass=$(sed -n 's/^ℹ pass \([0-9]*\).*/\1/p' "$log" | tail -1)
    fail=$(sed -n 's/^ℹ fail \([0-9]*\).*/\1/p' "$log" | tail -1)
    ;;
  bun)
    ensure_bun
    bun test --timeout 120000 "${built[@]}" 2>&1 | tee "$log"
    code=${PIPESTATUS[0]}
    pass=$(sed -n 's/^ *\([0-9]*\) pass$/\1/p' "$log" | tail -1)
    fail=$(sed -n 's/^ *\([0-9]*\) fail$/\1/p' "$log" | tail -1)
    ;;
  esac
  count "$runtime" "${pass:-0}" "${fail:-0}" "$code"
done

echo
echo "${total_pass} passed, ${total_fail} failed"
exit $status
