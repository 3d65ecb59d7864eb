/**
 * One benchmark measurement of a peer queue, in a fresh Node process:
 * BullMQ (on ioredis), bee-queue (on node-redis 3), the raw ioredis
 * client (the floor under BullMQ), or pg-boss (on PostgreSQL at
 * `BENCH_POSTGRES_URL`). Started by `scripts/bench.ts`, which
 * reads the one `BENCH_RESULT {json}` line this prints. The peers are
 * installed in bench/node_modules from bench/package.json.
 *
 *   node bench/peers.mjs --system bullmq --workload w2 --n 10000 --concurrency 8
 *
 * Each workload does what `bench/ours.ts` does for our storages: the same
 * task counts, the same no-op task (returns 1), the same sequential
 * round trip `add(i, 2)` with a blocking wait for its result.
 */
import process from "node:process";
import {
  benchArgs,
  check,
  counter as countTo,
  latencyMetrics,
  pause,
  PAYLOAD,
  report as reportLine,
  roundTrips,
} from "./harness.mjs";

const size = benchArgs(process.argv.slice(2), { system: { type: "string" } });
const { workload, n, warmup, concurrency, sleepMs, settleMs, deadline } = size;
const system = String(size.values.system ?? "");
const url = new URL(process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379");
const redis = { host: url.hostname, port: Number(url.port || 6379) };
const QUEUE = "bench";

/** @param {Record<string, unknown>} metrics */
const report = (metrics) => reportLine("node", metrics);
/** @param {number} target */
const counter = (target) => countTo(target, deadline);

// -- BullMQ ---------------------------------------------------------------------

async function bullmq() {
  const { Queue, Worker, QueueEvents } = await import("bullmq");
  const connection = { ...redis, maxRetriesPerRequest: null };
  const queue = new Queue(QUEUE, { connection });
  await queue.waitUntilReady();
  await queue.obliterate({ force: true });
  const closing = [];
  const close = async () => {
    for (const item of closing.reverse()) await item.close();
    await queue.close();
  };
  const worker = (processor, workers, onCompleted) => {
    const w = new Worker(QUEUE, processor, {
      connection,
      concurrency: workers,
    });
    w.on("completed", onCompleted);
    w.on("error", () => {});
    closing.push(w);
    return w;
  };
  const bulk = async (name, data) => {
    for (let i = 0; i < n; i += 1000) {
      await queue.addBulk(
        Array.from({ length: Math.min(1000, n - i) }, () => ({ name, data })),
      );
    }
  };
  const counts = async () => await queue.getJobCounts("wait", "completed");

  switch (workload) {
    case "w1": {
      const start = performance.now();
      for (let i = 0; i < n; i++) await queue.add("noop", {});
      const seconds = (performance.now() - start) / 1000;
      check((await counts()).wait === n, "waiting jobs after W1");
      await close();
      return report({ seconds, rate: n / seconds });
    }
    case "w1b": {
      const jobs = Array.from(
        { length: n },
        () => ({ name: "noop", data: {} }),
      );
      const start = performance.now();
      await queue.addBulk(jobs);
      const seconds = (performance.now() - start) / 1000;
      check((await counts()).wait === n, "waiting jobs after W1b");
      await close();
      return report({ seconds, rate: n / seconds });
    }
    case "w2":
    case "w4": {
      const nap = workload === "w4";
      await bulk(nap ? "nap" : "noop", nap ? { ms: sleepMs } : {});
      check((await counts()).wait === n, "waiting jobs before draining");
      const done = counter(n);
      const processor = nap
        ? async (job) => {
          await pause(job.data.ms);
          return 1;
        }
        : async () => 1;
      const start = performance.now();
      worker(processor, concurrency, () => done.tick());
      await done.done();
      const seconds = (performance.now() - start) / 1000;
      check((await counts()).completed === n, "completed jobs");
      await close();
      if (!nap) return report({ seconds, rate: n / seconds });
      const ideal = (n * sleepMs) / 1000 / concurrency;
      return report({ seconds, ideal, efficiency: ideal / seconds });
    }
    case "w3": {
      const events = new QueueEvents(QUEUE, { connection });
      closing.push(events);
      await events.waitUntilReady();
      const w = worker(async (job) => job.data.a + job.data.b, 1, () => {});
      await w.waitUntilReady();
      const samples = await roundTrips(size, async (i) => {
        const job = await queue.add("add", { a: i, b: 2 });
        return await job.waitUntilFinished(events, 10_000);
      });
      await close();
      return report(latencyMetrics(samples));
    }
    case "w5": {
      const done = counter(n);
      const w = worker(async () => 1, concurrency, () => done.tick());
      await w.waitUntilReady();
      await pause(settleMs);
      const idle = process.memoryUsage().rss;
      await bulk("noop", {});
      await done.done();
      await pause(settleMs);
      const after = process.memoryUsage().rss;
      await close();
      return report({ idleMB: idle / 2 ** 20, afterMB: after / 2 ** 20 });
    }
  }
  throw new Error(`unknown workload for bullmq: ${workload}`);
}

// -- bee-queue ------------------------------------------------------------------

async function beeQueue() {
  const { default: Queue } = await import("bee-queue");
  const queue = new Queue(QUEUE, { redis, removeOnSuccess: false });
  await queue.ready();
  await queue.destroy();
  const close = () => queue.close(10_000);
  const saveAll = async (data) => {
    for (let i = 0; i < n; i += 1000) {
      const jobs = Array.from(
        { length: Math.min(1000, n - i) },
        () => queue.createJob(data),
      );
      const errors = await queue.saveAll(jobs);
      check(errors.size === 0, "saveAll errors");
    }
  };
  const waiting = async () => (await queue.checkHealth()).waiting;

  switch (workload) {
    case "w1": {
      const start = performance.now();
      for (let i = 0; i < n; i++) await queue.createJob({}).save();
      const seconds = (performance.now() - start) / 1000;
      check((await waiting()) === n, "waiting jobs after W1");
      await close();
      return report({ seconds, rate: n / seconds });
    }
    case "w1b": {
      const jobs = Array.from({ length: n }, () => queue.createJob({}));
      const start = performance.now();
      const errors = await queue.saveAll(jobs);
      const seconds = (performance.now() - start) / 1000;
      check(
        errors.size === 0 && (await waiting()) === n,
        "waiting jobs after W1b",
      );
      await close();
      return report({ seconds, rate: n / seconds });
    }
    case "w2":
    case "w4": {
      const nap = workload === "w4";
      await saveAll(nap ? { ms: sleepMs } : {});
      check((await waiting()) === n, "waiting jobs before draining");
      const done = counter(n);
      queue.on("succeeded", () => done.tick());
      const start = performance.now();
      queue.process(
        concurrency,
        nap
          ? async (job) => {
            await pause(job.data.ms);
            return 1;
          }
          : async () => 1,
      );
      await done.done();
      const seconds = (performance.now() - start) / 1000;
      check((await queue.checkHealth()).succeeded === n, "succeeded jobs");
      await close();
      if (!nap) return report({ seconds, rate: n / seconds });
      const ideal = (n * sleepMs) / 1000 / concurrency;
      return report({ seconds, ideal, efficiency: ideal / seconds });
    }
    case "w3": {
      queue.process(1, async (job) => job.data.a + job.data.b);
      const samples = await roundTrips(size, async (i) => {
        const job = queue.createJob({ a: i, b: 2 });
        const finished = new Promise((resolve, reject) => {
          job.on("succeeded", resolve);
          job.on("failed", reject);
        });
        await job.save();
        return await finished;
      });
      await close();
      return report(latencyMetrics(samples));
    }
    case "w5": {
      const done = counter(n);
      queue.on("succeeded", () => done.tick());
      queue.process(concurrency, async () => 1);
      await pause(settleMs);
      const idle = process.memoryUsage().rss;
      await saveAll({});
      await done.done();
      await pause(settleMs);
      const after = process.memoryUsage().rss;
      await close();
      return report({ idleMB: idle / 2 ** 20, afterMB: after / 2 ** 20 });
    }
  }
  throw new Error(`unknown workload for bee-queue: ${workload}`);
}

// -- raw ioredis (BullMQ's client) -------------------------------------------------

async function ioredis() {
  const { default: Redis } = await import("ioredis");
  const a = new Redis(redis);
  switch (workload) {
    case "floor-lpush": {
      await a.del("floor");
      const start = performance.now();
      for (let i = 0; i < n; i++) await a.lpush("floor", PAYLOAD);
      const seconds = (performance.now() - start) / 1000;
      check((await a.llen("floor")) === n, "floor list length");
      a.disconnect();
      return report({ seconds, rate: n / seconds });
    }
    case "floor-pingpong": {
      const b = new Redis(redis);
      await a.del("ping", "pong");
      const echo = (async () => {
        for (let i = 0; i < warmup + n; i++) {
          const reply = await b.brpop("ping", 10);
          check(reply !== null, "echo timed out");
          await b.lpush("pong", reply[1]);
        }
      })();
      const samples = [];
      for (let i = 0; i < warmup + n; i++) {
        const start = performance.now();
        await a.lpush("ping", PAYLOAD);
        check((await a.brpop("pong", 10)) !== null, "ping-pong timed out");
        if (i >= warmup) samples.push(performance.now() - start);
      }
      await echo;
      a.disconnect();
      b.disconnect();
      return report(latencyMetrics(samples));
    }
  }
  throw new Error(`unknown workload for ioredis: ${workload}`);
}

// -- pg-boss --------------------------------------------------------------------

/**
 * pg-boss set up for throughput as its docs describe: LISTEN/NOTIFY on
 * (`useListenNotify` and a `notify` queue, so an idle worker wakes at
 * once instead of polling), `localConcurrency` workers, and for W2 10 jobs
 * a fetch, fetching again at once while batches come back full
 * (`burstWhenBatchFull`): with one job a fetch a worker waits out its
 * polling interval (at least 0.5 s) between jobs. Scheduling and
 * supervision are off for the measurement. W3 has no blocking wait for a
 * job's output in pg-boss: it reads the job every millisecond until it is
 * completed.
 */
async function pgBoss() {
  const { PgBoss } = await import("pg-boss");
  const boss = new PgBoss({
    connectionString: process.env.BENCH_POSTGRES_URL ??
      "postgres://postgres@127.0.0.1:5432/postgres",
    useListenNotify: true,
    schedule: false,
    supervise: false,
    max: Math.max(10, concurrency + 2),
  });
  boss.on("error", () => {});
  boss.on("warning", () => {});
  await boss.start();
  await boss.deleteQueue(QUEUE).catch(() => {});
  await boss.createQueue(QUEUE, { notify: true });
  const close = () => boss.stop({ graceful: false, timeout: 1000 });
  const db = boss.getDb();
  /** @param {string} state */
  const count = async (state) => {
    const { rows } = await db.executeSql(
      "SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = $2",
      [QUEUE, state],
    );
    return rows[0].n;
  };
  const work = { localConcurrency: concurrency, pollingIntervalSeconds: 0.5 };
  const batched = { batchSize: 10, burstWhenBatchFull: true };

  switch (workload) {
    case "w1": {
      const start = performance.now();
      for (let i = 0; i < n; i++) await boss.send(QUEUE, {});
      const seconds = (performance.now() - start) / 1000;
      check((await count("created")) === n, "created jobs after W1");
      await close();
      return report({ seconds, rate: n / seconds });
    }
    case "w2": {
      for (let i = 0; i < n; i += 1000) {
        await boss.insert(
          QUEUE,
          Array.from({ length: Math.min(1000, n - i) }, () => ({ data: {} })),
        );
      }
      check((await count("created")) === n, "created jobs before draining");
      const done = counter(n);
      const start = performance.now();
      await boss.work(QUEUE, { ...work, ...batched }, async (jobs) => {
        for (const _ of jobs) done.tick();
        return { value: 1 };
      });
      await done.done();
      // Counted once the jobs are stored as completed (the handler returns first).
      while ((await count("completed")) < n) {
        check(performance.now() < deadline, "W2 took too long");
        await pause(2);
      }
      const seconds = (performance.now() - start) / 1000;
      await close();
      return report({ seconds, rate: n / seconds });
    }
    case "w3": {
      await boss.work(QUEUE, work, async ([job]) => job.data.a + job.data.b);
      const samples = await roundTrips(size, async (i) => {
        const id = await boss.send(QUEUE, { a: i, b: 2 });
        for (;;) {
          const job = await boss.getJobById(QUEUE, id);
          if (job?.state === "completed") {
            return job.output?.value ?? job.output;
          }
          check(performance.now() < deadline, "W3 took too long");
          await pause(1);
        }
      });
      await close();
      return report(latencyMetrics(samples));
    }
  }
  throw new Error(`unknown workload for pg-boss: ${workload}`);
}

const systems = {
  bullmq,
  bee: beeQueue,
  ioredis,
  pgboss: pgBoss,
};

try {
  const run = systems[system];
  if (!run) throw new Error(`unknown system: ${system}`);
  await run();
  process.exit(0);
} catch (error) {
  console.log(
    "BENCH_RESULT " +
      JSON.stringify({
        ok: false,
        error: error instanceof Error ? error.stack : String(error),
      }),
  );
  process.exit(1);
}
