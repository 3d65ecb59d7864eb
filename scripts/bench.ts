/**
 * `deno task bench`: this library against BullMQ and bee-queue on the same
 * Redis, in the same run.
 *
 *   deno run -A scripts/bench.ts            # full run (3 repetitions) -> bench/results.{md,json}
 *   deno run -A scripts/bench.ts --quick    # one-minute smoke run -> .tmp/bench/results.{md,json}
 *
 * Options: `--reps N` (default 3; 1 with --quick), `--runtime deno|node|bun`
 * (the runtime of our side; default deno), `--only w1,w3` (some workloads),
 * `--out DIR` (where results go).
 *
 * It installs the peers (bench/package.json -> bench/node_modules), starts
 * its own redis-server on a spare loopback port with persistence off, and
 * runs every measurement in a fresh child process: ours with bench/ours.ts
 * (Deno by default), the peers with bench/peers.mjs under Node 24. For each
 * workload the repetitions are interleaved (rep 1 of every system, then
 * rep 2 of every system, ... with the order rotated each time), Redis is
 * flushed and SQLite gets a fresh file before every measurement. The
 * redis-server is stopped at the end, also on failure or Ctrl-C.
 *
 * Exits non-zero when a measurement crashed (CI runs `--quick` for that),
 * never because of a figure.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { cpus, release, totalmem } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startRedisServer } from "../tests/redis_server.ts";
import type { RedisServer } from "../tests/redis_server.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH = join(ROOT, "bench");

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    runtime: { type: "string", default: "deno" },
    only: { type: "string" },
    out: { type: "string" },
    render: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  console.log(
    "Usage: deno run -A scripts/bench.ts [--quick] [--reps N] [--runtime deno|node|bun] [--only w1,w2,...] [--out DIR]\n" +
      "       deno run -A scripts/bench.ts --render bench/results.json   (rewrite a run's report)",
  );
  process.exit(0);
}

const quick = flags.quick;
const reps = Number(flags.reps ?? (quick ? 1 : 3));
const runtime = flags.runtime as "deno" | "node" | "bun";
if (!["deno", "node", "bun"].includes(runtime)) {
  throw new Error(`--runtime: deno, node or bun`);
}
if (!Number.isInteger(reps) || reps < 1) {
  throw new Error(`--reps must be an integer >= 1`);
}
const outDir = resolve(
  flags.out ?? (quick ? join(ROOT, ".tmp", "bench") : BENCH),
);
const only = flags.only ? new Set(flags.only.split(",").map((w) => w.trim().toLowerCase())) : null;
const TMP = join(ROOT, ".tmp", "bench");

/** Sizes: the issue's in a full run, smaller ones for the smoke run. */
const SIZE = quick
  ? {
    w1: 2000,
    w2: 2000,
    w3: 200,
    w4: 640,
    w5: 2000,
    warmup: 20,
    settle: 300,
    timeout: 60,
  }
  : {
    w1: 10_000,
    w2: 10_000,
    w3: 1000,
    w4: 2000,
    w5: 10_000,
    warmup: 20,
    settle: 1000,
    timeout: 300,
  };
/** Our Redis consumer rows, the ones held to the W2 and W3 targets. */
const REDIS_CONSUMERS = [
  "redis/async",
  "redis/worker",
  "priority-redis/async",
  "priority-redis/worker",
];
const W4_CONCURRENCY = 64;
const W4_SLEEP_MS = 50;

// -- tools --------------------------------------------------------------------

function run(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): string {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    cwd: options.cwd ?? ROOT,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status}): ${result.stderr}`,
    );
  }
  return result.stdout.trim();
}

function nodeMajor(node: string): number {
  try {
    return Number(run(node, ["-p", "process.versions.node.split('.')[0]"]));
  } catch {
    return 0;
  }
}

/** Node 24 for the peers (and for `--runtime node`): $NODE24, `node` if it is 24+, or npx. */
function findNode24(): string {
  const candidates = [process.env.NODE24, "node"].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    if (nodeMajor(candidate) >= 24) return candidate;
  }
  console.error("bench: fetching Node 24 through npx...");
  return run("npx", ["-y", "node@24", "-p", "process.execPath"]);
}

/** Install bench/package.json's peers into bench/node_modules when missing or stale. */
function installPeers(): void {
  const manifest = join(BENCH, "package.json");
  const marker = join(BENCH, "node_modules", ".package-lock.json");
  const wanted = ["bullmq", "bee-queue", "ioredis"];
  const present = wanted.every((name) =>
    existsSync(join(BENCH, "node_modules", name, "package.json"))
  );
  if (
    present && existsSync(marker) &&
    statSync(marker).mtimeMs >= statSync(manifest).mtimeMs
  ) {
    return;
  }
  console.error(
    "bench: npm install --prefix bench (bullmq, ioredis, bee-queue)...",
  );
  const result = spawnSync("npm", [
    "install",
    "--prefix",
    "bench",
    "--no-audit",
    "--no-fund",
  ], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (result.status !== 0) throw new Error("npm install --prefix bench failed");
}

/** Our npm dependency (@redis/client) in ./node_modules, for Node and Bun children. */
function installOurs(): void {
  if (
    runtime === "deno" ||
    existsSync(join(ROOT, "node_modules", "@redis", "client"))
  ) return;
  console.error("bench: deno install...");
  run(Deno.execPath(), ["install"]);
}

function packageVersion(dir: string): string {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

/** FLUSHALL on the benchmark's server, over a plain socket. */
function flushRedis(port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("FLUSHALL timed out"));
    }, 5000);
    socket.on("connect", () => socket.write("FLUSHALL\r\n"));
    socket.on("data", (chunk) => {
      clearTimeout(timer);
      socket.destroy();
      if (chunk.toString().startsWith("+OK")) resolvePromise();
      else reject(new Error(`FLUSHALL: ${chunk}`));
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

// -- what to run ----------------------------------------------------------------

type Workload = "w1" | "w1b" | "w2c1" | "w2c8" | "w3" | "w4" | "w5";
type Kind = "ours" | "peer" | "floor";

interface Case {
  workload: Workload;
  /** Stable key, e.g. `redis/async`, `bullmq`, `floor/node-redis`. */
  system: string;
  /** Row label in the tables. */
  label: string;
  kind: Kind;
  command: "ours" | "peers";
  args: string[];
  env: Record<string, string>;
  /** Needs a fresh SQLite file. */
  sqlite?: boolean;
}

const OUR_STORAGES = [
  { storage: "memory", label: "MemoryHuey" },
  { storage: "sqlite", label: "SqliteHuey" },
  { storage: "redis", label: "RedisHuey" },
  { storage: "priority-redis", label: "PriorityRedisHuey" },
] as const;

const WORKLOAD_TITLES: Record<Workload, string> = {
  w1: `W1 enqueue ${SIZE.w1} no-op tasks, one at a time (tasks/s)`,
  w1b: `W1b enqueue ${SIZE.w1} no-op tasks in one bulk call (tasks/s)`,
  w2c1: `W2 drain ${SIZE.w2} pre-enqueued no-op tasks, concurrency 1 (tasks/s)`,
  w2c8: `W2 drain ${SIZE.w2} pre-enqueued no-op tasks, concurrency 8 (tasks/s)`,
  w3:
    `W3 round trip add(i, 2) + blocking get, ${SIZE.w3} sequential after ${SIZE.warmup} warm-up (ms)`,
  w4:
    `W4 ${SIZE.w4} tasks sleeping ${W4_SLEEP_MS} ms at concurrency ${W4_CONCURRENCY} (wall s; % of ideal ${
      (SIZE.w4 * W4_SLEEP_MS / 1000 / W4_CONCURRENCY).toFixed(4)
    } s)`,
  w5: `W5 consumer RSS (MB): idle, and after draining ${SIZE.w5} no-op tasks at concurrency 8`,
};

function buildCases(): Case[] {
  const cases: Case[] = [];
  const ours = (
    workload: Workload,
    storage: string,
    label: string,
    pool: "async" | "worker",
    args: string[],
  ) => {
    cases.push({
      workload,
      system: workload === "w1" || workload === "w1b" ? storage : `${storage}/${pool}`,
      label: workload === "w1" || workload === "w1b" ? label : `${label} (${pool})`,
      kind: "ours",
      command: "ours",
      args: [...args, "--pool", pool, "--timeout", String(SIZE.timeout)],
      env: { BENCH_STORAGE: storage },
      sqlite: storage === "sqlite",
    });
  };
  const peers = (workload: Workload, args: string[]) => {
    for (
      const [system, label] of [["bullmq", "BullMQ"], ["bee", "bee-queue"]]
    ) {
      cases.push({
        workload,
        system,
        label,
        kind: "peer",
        command: "peers",
        args: ["--system", system, ...args, "--timeout", String(SIZE.timeout)],
        env: {},
      });
    }
  };
  const floors = (workload: Workload, floor: string) => {
    const ourClient = runtime === "bun" ? "Bun RedisClient" : "node-redis";
    cases.push({
      workload,
      system: "floor/ours",
      label: `floor: raw ${ourClient} (${runtime}), ${floor}`,
      kind: "floor",
      command: "ours",
      args: [
        "--workload",
        `floor-${floor}`,
        ...sizeArgs(workload),
        "--timeout",
        "120",
      ],
      env: {},
    });
    cases.push({
      workload,
      system: "floor/ioredis",
      label: `floor: raw ioredis (node), ${floor}`,
      kind: "floor",
      command: "peers",
      args: [
        "--system",
        "ioredis",
        "--workload",
        `floor-${floor}`,
        ...sizeArgs(workload),
      ],
      env: {},
    });
  };
  function sizeArgs(workload: Workload): string[] {
    switch (workload) {
      case "w1":
      case "w1b":
        return ["--n", String(SIZE.w1)];
      case "w2c1":
        return [
          "--workload",
          "w2",
          "--n",
          String(SIZE.w2),
          "--concurrency",
          "1",
        ];
      case "w2c8":
        return [
          "--workload",
          "w2",
          "--n",
          String(SIZE.w2),
          "--concurrency",
          "8",
        ];
      case "w3":
        return ["--n", String(SIZE.w3), "--warmup", String(SIZE.warmup)];
      case "w4":
        return [
          "--workload",
          "w4",
          "--n",
          String(SIZE.w4),
          "--concurrency",
          String(W4_CONCURRENCY),
          "--sleep",
          String(W4_SLEEP_MS),
        ];
      case "w5":
        return [
          "--workload",
          "w5",
          "--n",
          String(SIZE.w5),
          "--concurrency",
          "8",
          "--settle",
          String(SIZE.settle),
        ];
    }
  }
  const argsOf = (workload: Workload) => {
    const size = sizeArgs(workload);
    return size[0] === "--workload" ? size : ["--workload", workload, ...size];
  };

  for (const workload of ["w1", "w1b"] as const) {
    for (const { storage, label } of OUR_STORAGES) {
      ours(workload, storage, label, "async", argsOf(workload));
    }
    peers(workload, argsOf(workload));
  }
  floors("w1", "lpush");
  // The worker pool (threads) applies to the consumer workloads. W4 is
  // IO-bound: 64 sleeping tasks are the async pool's job, not 64 threads'.
  for (const workload of ["w2c1", "w2c8", "w3", "w5"] as const) {
    for (const { storage, label } of OUR_STORAGES) {
      ours(workload, storage, label, "async", argsOf(workload));
      if (storage !== "memory") {
        ours(workload, storage, label, "worker", argsOf(workload));
      }
    }
    peers(workload, argsOf(workload));
    if (workload === "w3") floors("w3", "pingpong");
  }
  // The cost of trackStatus (status records of running and complete, two writes per task).
  for (
    const { storage, label } of OUR_STORAGES.filter((s) => ["sqlite", "redis"].includes(s.storage))
  ) {
    ours("w2c8", storage, `${label} trackStatus`, "async", argsOf("w2c8"));
    const tracked = cases[cases.length - 1];
    tracked.system = `${storage}/async+status`;
    tracked.env = { ...tracked.env, BENCH_TRACK_STATUS: "1" };
  }
  for (const { storage, label } of OUR_STORAGES) {
    ours("w4", storage, label, "async", argsOf("w4"));
  }
  peers("w4", argsOf("w4"));
  const order: Workload[] = ["w1", "w1b", "w2c1", "w2c8", "w3", "w4", "w5"];
  return cases
    .filter((c) => !only || only.has(c.workload) || only.has(c.workload.replace(/c\d+$/, "")))
    .sort((a, b) => order.indexOf(a.workload) - order.indexOf(b.workload));
}

// -- running ----------------------------------------------------------------------

type Metrics = Record<string, number>;

interface Outcome {
  ok: boolean;
  metrics?: Metrics;
  error?: string;
  wallSeconds: number;
}

let node24 = "";

function commandFor(c: Case): { command: string; args: string[] } {
  if (c.command === "peers") {
    return { command: node24, args: [join(BENCH, "peers.mjs"), ...c.args] };
  }
  const script = join(BENCH, "ours.ts");
  if (runtime === "deno") {
    return { command: Deno.execPath(), args: ["run", "-A", script, ...c.args] };
  }
  if (runtime === "bun") return { command: "bun", args: [script, ...c.args] };
  return { command: node24, args: [script, ...c.args] };
}

function runCase(c: Case, redis: RedisServer, rep: number): Promise<Outcome> {
  const { command, args } = commandFor(c);
  const dbFile = join(TMP, `run-${process.pid}-${rep}.db`);
  const env: Record<string, string> = {
    ...process.env as Record<string, string>,
    ...c.env,
    BENCH_REDIS_URL: redis.url,
    BENCH_SQLITE_FILE: dbFile,
  };
  const started = performance.now();
  const limitMs = (SIZE.timeout + 60) * 1000;
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, {
      cwd: BENCH,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on(
      "data",
      (chunk) => (stderr = (stderr + chunk).slice(-4000)),
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    const finish = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      for (const suffix of ["", "-wal", "-shm"]) {
        rmSync(dbFile + suffix, { force: true });
      }
      const wallSeconds = (performance.now() - started) / 1000;
      const line = stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      let parsed:
        | { ok: boolean; error?: string; [key: string]: unknown }
        | undefined;
      try {
        parsed = line ? JSON.parse(line.slice("BENCH_RESULT ".length)) : undefined;
      } catch {
        parsed = undefined;
      }
      if (parsed?.ok && code === 0) {
        const metrics: Metrics = {};
        for (const [key, value] of Object.entries(parsed)) {
          if (typeof value === "number") metrics[key] = value;
        }
        resolvePromise({ ok: true, metrics, wallSeconds });
        return;
      }
      const why = parsed?.error ??
        `exit ${code ?? signal}${code === null ? " (killed after the time limit)" : ""}: ${
          stderr.trim().split("\n").slice(-8).join("\n")
        }`;
      resolvePromise({ ok: false, error: String(why), wallSeconds });
    };
    child.on("error", (error) => finish(null, String(error)));
    child.on("exit", finish);
  });
}

// -- statistics and reports ---------------------------------------------------------

interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

function stat(values: number[]): Stat | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1)!, n: sorted.length };
}

interface CaseResult {
  workload: Workload;
  system: string;
  label: string;
  kind: Kind;
  args: string[];
  runs: Outcome[];
  stats: Record<string, Stat>;
}

/** The figure of each workload, and whether higher is better. */
const PRIMARY: Record<
  Workload,
  { metric: string; higher: boolean; unit: string }
> = {
  w1: { metric: "rate", higher: true, unit: "tasks/s" },
  w1b: { metric: "rate", higher: true, unit: "tasks/s" },
  w2c1: { metric: "rate", higher: true, unit: "tasks/s" },
  w2c8: { metric: "rate", higher: true, unit: "tasks/s" },
  w3: { metric: "p50", higher: false, unit: "ms" },
  w4: { metric: "seconds", higher: false, unit: "s" },
  w5: { metric: "afterMB", higher: false, unit: "MB" },
};

function fmt(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function cell(s: Stat | undefined): string {
  if (!s) return "failed";
  if (s.n === 1) return fmt(s.median);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/** ours vs peer, > 1 = ours better (throughput: ours/peer; time, latency, memory: peer/ours). */
function ratio(
  ours: Stat | undefined,
  peer: Stat | undefined,
  higher: boolean,
): number | undefined {
  if (!ours || !peer || !ours.median || !peer.median) return undefined;
  return higher ? ours.median / peer.median : peer.median / ours.median;
}

function ratioCell(value: number | undefined): string {
  return value === undefined ? "–" : `${value.toFixed(2)}×`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length), 3));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(header),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

function find(
  results: CaseResult[],
  workload: Workload,
  system: string,
): CaseResult | undefined {
  return results.find((r) => r.workload === workload && r.system === system);
}

interface Target {
  target: string;
  measured: string;
  met: boolean | undefined;
}

function targets(results: CaseResult[]): Target[] {
  const out: Target[] = [];
  const s = (w: Workload, system: string, metric: string) =>
    find(results, w, system)?.stats[metric];
  const add = (
    target: string,
    value: number | undefined,
    goal: number,
    show: string,
  ) =>
    out.push({
      target,
      measured: value === undefined ? "not measured" : show,
      met: value === undefined ? undefined : value >= goal,
    });
  for (const redis of ["redis", "priority-redis"]) {
    const name = redis === "redis" ? "RedisHuey" : "PriorityRedisHuey";
    const w1 = s("w1", redis, "rate");
    const r1 = ratio(w1, s("w1", "bullmq", "rate"), true);
    add(`W1 ${name} ≥ 1.3× BullMQ`, r1, 1.3, ratioCell(r1));
    const f1 = ratio(w1, s("w1", "floor/ours", "rate"), true);
    add(
      `W1 ${name} ≥ 80% of the raw-client LPUSH floor`,
      f1,
      0.8,
      f1 === undefined ? "" : `${(f1 * 100).toFixed(0)}%`,
    );
  }
  for (const { storage, label } of OUR_STORAGES) {
    const b = ratio(s("w1b", storage, "rate"), s("w1", storage, "rate"), true);
    if (storage === "memory") {
      // In process there is no round trip for a bulk call to save.
      out.push({
        target: `W1b ${label} ≥ 5× W1`,
        measured: `${ratioCell(b)} (n/a)`,
        met: undefined,
      });
    } else add(`W1b ${label} ≥ 5× W1`, b, 5, ratioCell(b));
  }
  for (const system of REDIS_CONSUMERS) {
    const w2 = s("w2c8", system, "rate");
    const label = find(results, "w2c8", system)?.label ?? system;
    const bee = ratio(w2, s("w2c8", "bee", "rate"), true);
    add(`W2 c8 ${label} ≥ 1.0× bee-queue`, bee, 1.0, ratioCell(bee));
    const bull = ratio(w2, s("w2c8", "bullmq", "rate"), true);
    add(`W2 c8 ${label} ≥ 1.3× BullMQ`, bull, 1.3, ratioCell(bull));
  }
  for (const system of ["sqlite/async", "sqlite/worker"]) {
    for (const w of ["w2c1", "w2c8"] as const) {
      const rate = s(w, system, "rate")?.median;
      add(
        `W2 ${w.slice(2)} ${find(results, w, system)?.label ?? system} ≥ 10,000 tasks/s`,
        rate === undefined ? undefined : rate / 10_000,
        1,
        `${fmt(rate)} tasks/s`,
      );
    }
  }
  for (const system of REDIS_CONSUMERS) {
    const p50 = s("w3", system, "p50");
    const label = find(results, "w3", system)?.label ?? system;
    const bull = ratio(p50, s("w3", "bullmq", "p50"), false);
    add(`W3 ${label} p50 ≤ BullMQ's p50`, bull, 1, ratioCell(bull));
    add(
      `W3 ${label} p50 ≤ 0.5 ms`,
      p50 === undefined ? undefined : 0.5 / p50.median,
      1,
      `${fmt(p50?.median)} ms`,
    );
  }
  for (const system of ["sqlite/async", "sqlite/worker"]) {
    const p50 = s("w3", system, "p50");
    add(
      `W3 ${find(results, "w3", system)?.label ?? system} p50 ≤ 2 ms`,
      p50 === undefined ? undefined : 2 / p50.median,
      1,
      `${fmt(p50?.median)} ms`,
    );
  }
  for (const { storage, label } of OUR_STORAGES) {
    const e = s("w4", `${storage}/async`, "efficiency");
    add(
      `W4 ${label} (async) ≥ 95% of ideal`,
      e === undefined ? undefined : e.median / 0.95,
      1,
      e === undefined ? "" : `${(e.median * 100).toFixed(1)}%`,
    );
  }
  return out;
}

function markdown(
  results: CaseResult[],
  meta: Record<string, unknown>,
): string {
  const parts: string[] = [];
  const m = meta as {
    command: string;
    date: string;
    machine: string;
    versions: Record<string, string>;
    reps: number;
    wallMinutes: number;
  };
  parts.push("# Benchmark results", "");
  parts.push(
    `Produced by \`${m.command}\` on ${m.date} (${m.wallMinutes.toFixed(1)} min), ${m.machine}.`,
    "",
    `Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    `Each figure: median of ${m.reps} repetition(s)${
      m.reps > 1 ? ", (min–max) after it" : ""
    }, every repetition in a fresh process; repetitions interleaved across systems. ` +
      "Ratios: ours against the peer measured in this same run, > 1× means ours is better " +
      "(throughput: ours/peer; time, latency and memory: peer/ours).",
    "",
  );
  const targetRows = targets(results);
  parts.push("## Targets", "");
  parts.push(table(
    ["target", "measured", "status"],
    targetRows.map((t) => [
      t.target,
      t.measured,
      t.met === undefined
        ? (t.measured.endsWith("(n/a)") ? "n/a" : "not run")
        : t.met
        ? "met"
        : "**missed**",
    ]),
  ));
  parts.push("");
  const workloads = [...new Set(results.map((r) => r.workload))];
  for (const workload of workloads) {
    const rows = results.filter((r) => r.workload === workload);
    const { metric, higher } = PRIMARY[workload];
    const bull = find(results, workload, "bullmq")?.stats[metric];
    const bee = find(results, workload, "bee")?.stats[metric];
    parts.push(`## ${WORKLOAD_TITLES[workload]}`, "");
    let header: string[];
    let body: string[][];
    if (workload === "w3") {
      header = [
        "system",
        "p50",
        "p90",
        "p99",
        "p50 × BullMQ",
        "p50 × bee-queue",
      ];
      body = rows.map((r) => [
        r.label,
        cell(r.stats.p50),
        cell(r.stats.p90),
        cell(r.stats.p99),
        r.kind === "ours" ? ratioCell(ratio(r.stats.p50, bull, false)) : "",
        r.kind === "ours" ? ratioCell(ratio(r.stats.p50, bee, false)) : "",
      ]);
    } else if (workload === "w4") {
      header = ["system", "wall s", "% of ideal", "× BullMQ", "× bee-queue"];
      body = rows.map((r) => [
        r.label,
        cell(r.stats.seconds),
        r.stats.efficiency ? `${(r.stats.efficiency.median * 100).toFixed(1)}%` : "failed",
        r.kind === "ours" ? ratioCell(ratio(r.stats.seconds, bull, false)) : "",
        r.kind === "ours" ? ratioCell(ratio(r.stats.seconds, bee, false)) : "",
      ]);
    } else if (workload === "w5") {
      header = [
        "system",
        "idle MB",
        "after MB",
        "after × BullMQ",
        "after × bee-queue",
      ];
      body = rows.map((r) => [
        r.label,
        cell(r.stats.idleMB),
        cell(r.stats.afterMB),
        r.kind === "ours" ? ratioCell(ratio(r.stats.afterMB, bull, false)) : "",
        r.kind === "ours" ? ratioCell(ratio(r.stats.afterMB, bee, false)) : "",
      ]);
    } else {
      const floor = find(results, workload, "floor/ours")?.stats.rate;
      header = ["system", "tasks/s", "× BullMQ", "× bee-queue"];
      if (floor) header.push("% of raw floor");
      body = rows.map((r) => {
        const row = [
          r.label,
          cell(r.stats[metric]),
          r.kind === "ours" ? ratioCell(ratio(r.stats[metric], bull, higher)) : "",
          r.kind === "ours" ? ratioCell(ratio(r.stats[metric], bee, higher)) : "",
        ];
        if (floor) {
          const f = ratio(r.stats[metric], floor, true);
          row.push(
            r.kind === "ours" && f !== undefined ? `${(f * 100).toFixed(0)}%` : "",
          );
        }
        return row;
      });
    }
    parts.push(table(header, body), "");
    const failed = rows.flatMap((r) =>
      r.runs.filter((o) => !o.ok).map((o) => `- ${r.label}: ${o.error?.split("\n")[0]}`)
    );
    if (failed.length) parts.push("Failures:", "", ...failed, "");
  }
  parts.push(
    "## How each system is measured",
    "",
    "- Ours: `bench/ours.ts` with `bench/app.ts` (the `worker` pool imports the same module in each thread). " +
      'The consumer is the in-process `Consumer` class with `logLevel: "warn"` and `periodic: false`; ' +
      "SQLite polls tightly (`initialDelay: 0.001`, `maxDelay: 0.01`), memory and Redis block. " +
      "One Huey per process does the producing and the consuming, as one bee-queue `Queue` does both.",
    "- W2/W4 time runs from consumer start to the last result stored (async pool: `complete` signals, sent after the result is stored; " +
      "worker pool: the main thread polls the last task's result, then the result count, every 2 ms). " +
      "The tasks are enqueued in bulk before the clock starts.",
    "- W3: one consumer worker; `await add(i, 2)` then `get({ blocking: true })`, which waits on the storage " +
      "(Redis: pub/sub on the result key; memory: in-process wake-up; SQLite: an in-process wake-up when the same " +
      "storage instance stores the result, else polling of the result row, 1 ms at first). The SQLite `worker` rows " +
      "are the cross-connection case: each thread has its own connection, so the consumer polls the queue and the " +
      "`get()` polls the result.",
    "- W5: `rss()` from `lib/runtime.ts` in the consumer's own process (8 workers), after `--settle` (1 s) idle, then after the same process " +
      "has enqueued the tasks in bulk and they have all completed, plus the same settle time. The `worker` pool's threads count in the process's RSS.",
    "- BullMQ: `Queue.add` / `addBulk`, a `Worker` (concurrency as given) whose processor returns 1, results kept (`returnvalue`); " +
      "W3 waits with `job.waitUntilFinished(queueEvents)`.",
    "- bee-queue: `createJob().save()` / `saveAll`, `queue.process(concurrency, ...)`, W3 waits for the job's `succeeded` event.",
    "- Floors: the raw client with no queue around it, connected with the options our storages use " +
      "(node-redis: `disableOfflineQueue`, no per-command timeout): sequential `LPUSH` of a message the size of ours; " +
      "LPUSH→BRPOP→LPUSH→BRPOP ping-pong between two connections (W3's floor). The ioredis rows are the same under BullMQ's client.",
    "- W4 runs the `async` pool only: 64 sleeping tasks are what it is for; the `worker` pool (one thread per worker) is for CPU-bound tasks.",
    "- Deno's timers fire no sooner than about 2 ms (`setTimeout(fn, 0)` and `setTimeout(fn, 1)` both take ~2.1 ms here; Node and Bun ~1.1 ms): " +
      "it bounds every polling wait on Deno (the SQLite consumer's queue polling and a blocking `get()` on SQLite " +
      "across connections) and makes every 50 ms sleep of W4 late.",
    "",
  );
  return parts.join("\n");
}

// -- main ---------------------------------------------------------------------------

async function main(): Promise<number> {
  mkdirSync(TMP, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  installPeers();
  installOurs();
  node24 = findNode24();
  const cases = buildCases();
  const versions: Record<string, string> = {
    deno: Deno.version.deno,
    node: run(node24, ["--version"]).replace(/^v/, ""),
    "redis-server": (/v=(\S+)/.exec(run("redis-server", ["--version"])) ?? [])[1] ?? "?",
    "@redis/client": packageVersion(
      join(ROOT, "node_modules", "@redis", "client"),
    ),
    bullmq: packageVersion(join(BENCH, "node_modules", "bullmq")),
    ioredis: packageVersion(join(BENCH, "node_modules", "ioredis")),
    "bee-queue": packageVersion(join(BENCH, "node_modules", "bee-queue")),
  };
  if (runtime === "bun") versions.bun = run("bun", ["--version"]);
  const cpu = cpus();
  const machine = `${cpu.length} cores (${cpu[0]?.model.trim() ?? "?"}), ${
    Math.round(totalmem() / 2 ** 30)
  } GiB, Linux ${release()}; ours on ${runtime}, peers on Node`;
  const command = `deno task bench${quick ? " --quick" : ""}${flags.reps ? ` --reps ${reps}` : ""}${
    runtime !== "deno" ? ` --runtime ${runtime}` : ""
  }${flags.only ? ` --only ${flags.only}` : ""}`;

  const redis = await startRedisServer();
  const offs: (() => void)[] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const handler = () => {
      console.error(`bench: ${sig}, stopping redis-server`);
      redis.stop().finally(() => process.exit(130));
    };
    process.on(sig, handler);
    offs.push(() => process.off(sig, handler));
  }
  const startedAt = performance.now();
  const results: CaseResult[] = cases.map((c) => ({
    workload: c.workload,
    system: c.system,
    label: c.label,
    kind: c.kind,
    args: c.args,
    runs: [],
    stats: {},
  }));
  let crashes = 0;
  try {
    console.error(
      `bench: ${cases.length} measurements x ${reps} rep(s), redis-server at ${redis.url}, ours on ${runtime}`,
    );
    const workloads = [...new Set(cases.map((c) => c.workload))];
    for (const workload of workloads) {
      const group = cases.map((c, i) => ({ c, result: results[i] })).filter((
        x,
      ) => x.c.workload === workload);
      for (let rep = 0; rep < reps; rep++) {
        const shift = rep % group.length;
        const order = [...group.slice(shift), ...group.slice(0, shift)];
        for (const { c, result } of order) {
          await flushRedis(redis.port);
          const outcome = await runCase(c, redis, rep);
          result.runs.push(outcome);
          const { metric } = PRIMARY[c.workload];
          const shown = c.workload === "w3" ? "p50" : c.workload === "w5" ? "afterMB" : metric;
          if (!outcome.ok) crashes++;
          console.error(
            `  ${c.workload.padEnd(5)} rep ${rep + 1}/${reps} ${c.label.padEnd(48)} ${
              outcome.ok
                ? `${shown}=${fmt(outcome.metrics![shown])}`
                : `FAILED: ${outcome.error?.split("\n")[0]}`
            } (${outcome.wallSeconds.toFixed(1)} s)`,
          );
        }
      }
    }
  } finally {
    for (const off of offs) off();
    await redis.stop();
  }
  for (const result of results) {
    const keys = new Set(
      result.runs.flatMap((r) => Object.keys(r.metrics ?? {})),
    );
    for (const key of keys) {
      const values = result.runs.flatMap((
        r,
      ) => (r.metrics?.[key] !== undefined ? [r.metrics[key]] : []));
      const s = stat(values);
      if (s) result.stats[key] = s;
    }
  }
  const meta = {
    command,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    machine,
    versions,
    reps,
    quick,
    runtime,
    sizes: { ...SIZE, w4Concurrency: W4_CONCURRENCY, w4SleepMs: W4_SLEEP_MS },
    wallMinutes: (performance.now() - startedAt) / 60_000,
  };
  writeResults(outDir, meta, results);
  const md = join(outDir, "results.md");
  console.error(
    `bench: wrote ${relative(ROOT, md)} and ${relative(ROOT, join(outDir, "results.json"))}`,
  );
  const written = readFileSync(md, "utf8");
  const start = written.indexOf("## Targets");
  console.log(written.slice(start, written.indexOf("\n## ", start + 1)).trim());
  if (crashes) console.error(`bench: ${crashes} measurement(s) failed`);
  return crashes ? 1 : 0;
}

/** Write `dir`/results.json (targets recomputed) and results.md. */
function writeResults(dir: string, meta: Record<string, unknown>, results: CaseResult[]): void {
  const json = join(dir, "results.json");
  const md = join(dir, "results.md");
  writeFileSync(
    json,
    JSON.stringify({ ...meta, targets: targets(results), results }, null, 2) + "\n",
  );
  writeFileSync(md, markdown(results, meta));
  // Keep the files as `deno fmt --check` wants them.
  spawnSync(Deno.execPath(), ["fmt", "--quiet", "--config", join(ROOT, "deno.json"), md, json], {
    cwd: ROOT,
    stdio: "ignore",
  });
}

if (flags.render) {
  // Rewrite the report of an earlier run (e.g. after a change to the report's format).
  const { targets: _old, results, ...meta } = JSON.parse(readFileSync(flags.render, "utf8"));
  writeResults(dirname(resolve(flags.render)), meta, results);
  console.error(`bench: rewrote the results next to ${flags.render}`);
} else {
  process.exitCode = await main();
}
