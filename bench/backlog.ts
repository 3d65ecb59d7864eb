/**
 * A queue's cost must not grow with its backlog: W6 and W7, on RedisHuey,
 * PriorityRedisHuey and SqliteHuey (and BullMQ's Redis memory per waiting
 * job beside ours), each measurement in a fresh process, repetitions
 * interleaved, medians with min–max.
 *
 *   deno task bench:backlog            # W6 with 1,000,000 queued; W7 with 100,000 scheduled; 3 reps
 *   deno task bench:backlog --quick    # 50,000 queued, 20,000 scheduled, 1 rep
 *
 * - W6: enqueue a backlog (10,000, then 1,000,000) with `map()` in chunks,
 *   note the storage's memory (Redis `used_memory`) or file size per queued
 *   task, then drain the first 10,000 at concurrency 8: the rate with the
 *   big backlog against the small one (target ≥ 0.9×).
 * - W7: with 100,000 tasks scheduled an hour ahead (and without), W1
 *   (10,000 awaited enqueues) and W2 (drain them at concurrency 8), then
 *   1,000 tasks due in 2 s: how long after their eta the last one started
 *   (target: within one scheduler interval, 1 s).
 *
 * It starts its own redis-server on a spare loopback port (persistence off)
 * and stops it at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Consumer, SIGNAL_COMPLETE, SIGNAL_EXECUTING } from "../mod.ts";
import type { Huey } from "../mod.ts";
import { args as commandLine, env, exit, scriptCommand } from "../lib/runtime.ts";
import { rawCommand, startRedisServer } from "../tests/redis_server.ts";

const argv = commandLine();
const quick = argv.includes("--quick");
const caseIndex = argv.indexOf("--case");
const DRAIN = 10_000;
const BIG = quick ? 50_000 : 1_000_000;
const SCHEDULED = quick ? 20_000 : 100_000;
const DUE = 1000;
const CHUNK = 10_000;

interface Case {
  workload: "w6" | "w7" | "bullmq-memory";
  storage: "redis" | "priority-redis" | "sqlite" | "bullmq";
  /** W6: tasks queued before the drain; W7: tasks scheduled an hour ahead. */
  size: number;
}

// -- one measurement (a child process) ------------------------------------------

function result(metrics: Record<string, number>): never {
  console.log("BENCH_RESULT " + JSON.stringify(metrics));
  exit(0);
}

async function storageBytes(huey: Huey): Promise<number> {
  const file = env("BENCH_SQLITE_FILE");
  if (env("BENCH_STORAGE") === "sqlite" && file) {
    return [file, `${file}-wal`].reduce(
      (sum, f) => sum + (existsSync(f) ? statSync(f).size : 0),
      0,
    );
  }
  void huey;
  // One line back (rawCommand reads one): the server picks used_memory out of INFO.
  const script = "return tonumber(string.match(redis.call('INFO', 'memory'), 'used_memory:(%d+)'))";
  const reply = await rawCommand(env("BENCH_REDIS_URL")!, ["EVAL", script, "0"]);
  return Number(reply.slice(1));
}

/** Start a consumer at concurrency 8 and resolve once `count` tasks completed. */
async function drain(huey: Huey, count: number): Promise<number> {
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((resolve) => (finished = resolve));
  const tick = () => {
    if (++done === count) finished();
  };
  huey.signal(tick, SIGNAL_COMPLETE);
  const consumer = new Consumer(huey, {
    workers: 8,
    periodic: false,
    logLevel: "warn",
    ...(env("BENCH_STORAGE") === "sqlite" ? { initialDelay: 0.001, maxDelay: 0.01 } : {}),
  });
  const start = performance.now();
  await consumer.start();
  await all;
  const seconds = (performance.now() - start) / 1000;
  await consumer.stop();
  huey.disconnectSignal(tick, SIGNAL_COMPLETE);
  return count / seconds;
}

async function w6(size: number): Promise<never> {
  const { huey, noop } = await import("./app.ts");
  await huey.flush();
  const before = await storageBytes(huey);
  for (let queued = 0; queued < size; queued += CHUNK) {
    await noop.map(
      Array.from({ length: Math.min(CHUNK, size - queued) }, () => [] as []),
    );
  }
  const bytesPerTask = (await storageBytes(huey) - before) / size;
  const rate = await drain(huey, DRAIN);
  await huey.flush();
  await huey.close();
  return result({ rate, bytesPerTask });
}

async function w7(size: number): Promise<never> {
  const { huey, noop } = await import("./app.ts");
  await huey.flush();
  for (let scheduled = 0; scheduled < size; scheduled += 100) {
    const batch = Math.min(100, size - scheduled);
    await Promise.all(
      Array.from({ length: batch }, () => noop.schedule([], { delay: 3600 })),
    );
  }
  const start = performance.now();
  for (let i = 0; i < DRAIN; i++) await noop();
  const enqueueRate = DRAIN / ((performance.now() - start) / 1000);
  const drainRate = await drain(huey, DRAIN);
  // Due tasks: the consumer's scheduler (every second) moves them to the queue.
  const eta = Date.now() + 2000;
  for (let i = 0; i < DUE; i += 100) {
    await Promise.all(
      Array.from(
        { length: 100 },
        () => noop.schedule([], { eta: new Date(eta) }),
      ),
    );
  }
  let lastStart = 0;
  let started = 0;
  let allStarted!: () => void;
  const all = new Promise<void>((resolve) => (allStarted = resolve));
  const onStart = () => {
    lastStart = Date.now();
    if (++started === DUE) allStarted();
  };
  huey.signal(onStart, SIGNAL_EXECUTING);
  const consumer = new Consumer(huey, {
    workers: 8,
    periodic: false,
    logLevel: "warn",
  });
  await consumer.start();
  await all;
  await consumer.stop();
  await huey.flush();
  await huey.close();
  return result({
    enqueueRate,
    drainRate,
    dueLagSeconds: (lastStart - eta) / 1000,
  });
}

if (caseIndex >= 0) {
  const c = JSON.parse(argv[caseIndex + 1]) as Case;
  try {
    if (c.workload === "w6") await w6(c.size);
    else await w7(c.size);
  } catch (error) {
    console.log(
      "BENCH_RESULT " +
        JSON.stringify({ error: String((error as Error).stack) }),
    );
    exit(1);
  }
}

// -- the run (the parent) -----------------------------------------------------------

function runChild(
  command: string,
  args: string[],
  extraEnv: Record<string, string>,
): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...extraEnv },
    });
    let output = "";
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.on("close", () => {
      const line = output.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      const parsed = line ? JSON.parse(line.slice("BENCH_RESULT ".length)) : { error: output };
      if (parsed.error) reject(new Error(parsed.error));
      else resolve(parsed);
    });
  });
}

/** Node 24 for BullMQ: $NODE24, or through npx. */
function node24(): string {
  if (process.env.NODE24) return process.env.NODE24;
  const found = spawnSync("npx", ["-y", "node@24", "-p", "process.execPath"], {
    encoding: "utf8",
  });
  return found.stdout.trim();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const cell = (values: number[], digits = 0) =>
  `${median(values).toFixed(digits)} (${Math.min(...values).toFixed(digits)}–${
    Math.max(...values).toFixed(digits)
  })`;

async function main(): Promise<void> {
  const reps = Number(argv[argv.indexOf("--reps") + 1]) || (quick ? 1 : 3);
  const redis = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), "huey-backlog-"));
  const self = fileURLToPath(import.meta.url);
  const cases: Case[] = [];
  for (const storage of ["redis", "priority-redis", "sqlite"] as const) {
    for (const size of [DRAIN, BIG]) {
      cases.push({ workload: "w6", storage, size });
    }
    for (const size of [0, SCHEDULED]) {
      cases.push({ workload: "w7", storage, size });
    }
  }
  cases.push({ workload: "bullmq-memory", storage: "bullmq", size: 100_000 });
  const results = new Map<string, Record<string, number>[]>();
  const keyOf = (c: Case) => `${c.workload} ${c.storage} ${c.size}`;
  const nodePath = node24();
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order = cases.map((_, i) => cases[(i + rep) % cases.length]);
      for (const c of order) {
        await rawCommand(redis.url, ["FLUSHALL"]);
        const file = join(
          dir,
          `${rep}-${c.workload}-${c.storage}-${c.size}.db`,
        );
        const metrics = c.workload === "bullmq-memory"
          ? await runChild(nodePath, [
            join(self, "..", "bullmq_memory.mjs"),
            redis.url,
            String(c.size),
          ], {})
          : await (() => {
            const { command, args } = scriptCommand(self, [
              "--case",
              JSON.stringify(c),
            ]);
            return runChild(command, args, {
              BENCH_STORAGE: c.storage,
              BENCH_REDIS_URL: redis.url,
              BENCH_SQLITE_FILE: file,
            });
          })();
        rmSync(file, { force: true });
        rmSync(`${file}-wal`, { force: true });
        rmSync(`${file}-shm`, { force: true });
        results.set(keyOf(c), [...(results.get(keyOf(c)) ?? []), metrics]);
        console.error(
          `backlog: rep ${rep + 1}/${reps} ${keyOf(c)} ${JSON.stringify(metrics)}`,
        );
      }
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const of = (
    workload: string,
    storage: string,
    size: number,
    metric: string,
  ) => (results.get(`${workload} ${storage} ${size}`) ?? []).map((m) => m[metric]);
  const labels = {
    redis: "RedisHuey",
    "priority-redis": "PriorityRedisHuey",
    sqlite: "SqliteHuey",
  };
  console.log(
    `\n### W6: drain ${DRAIN} at concurrency 8 with ${DRAIN} vs ${BIG} queued (tasks/s; median (min–max) of ${reps})\n`,
  );
  console.log(
    `| storage | ${DRAIN} queued | ${BIG} queued | ratio | bytes per queued task |`,
  );
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const [storage, label] of Object.entries(labels)) {
    const small = of("w6", storage, DRAIN, "rate");
    const big = of("w6", storage, BIG, "rate");
    const bytes = of("w6", storage, BIG, "bytesPerTask");
    console.log(
      `| ${label} | ${cell(small)} | ${cell(big)} | ${
        (median(big) / median(small)).toFixed(2)
      }× | ${cell(bytes)} ${storage === "sqlite" ? "(file)" : "(used_memory)"} |`,
    );
  }
  const bull = of("bullmq-memory", "bullmq", 100_000, "bytesPerJob");
  console.log(
    `| BullMQ (waiting jobs, same payload) | | | | ${cell(bull)} (used_memory) |`,
  );
  console.log(
    `\n### W7: ${SCHEDULED} tasks scheduled an hour ahead vs none (median (min–max) of ${reps})\n`,
  );
  console.log(
    `| storage | W1 enqueue/s, none | W1 with schedule | ratio | W2 c8 drain/s, none | W2 with schedule | ratio | last of ${DUE} due started after eta (s) |`,
  );
  console.log(`| --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const [storage, label] of Object.entries(labels)) {
    const e0 = of("w7", storage, 0, "enqueueRate");
    const e1 = of("w7", storage, SCHEDULED, "enqueueRate");
    const d0 = of("w7", storage, 0, "drainRate");
    const d1 = of("w7", storage, SCHEDULED, "drainRate");
    const lag = of("w7", storage, SCHEDULED, "dueLagSeconds");
    console.log(
      `| ${label} | ${cell(e0)} | ${cell(e1)} | ${(median(e1) / median(e0)).toFixed(2)}× | ${
        cell(d0)
      } | ${cell(d1)} | ${(median(d1) / median(d0)).toFixed(2)}× | ${cell(lag, 2)} |`,
    );
  }
}

if (caseIndex < 0) await main();
