/**
 * One benchmark measurement of this library, in a fresh process (Deno by
 * default; Node 24 or Bun with `scripts/bench.ts --runtime`). Started by
 * `scripts/bench.ts`, which sets `BENCH_STORAGE`, `BENCH_REDIS_URL` and
 * `BENCH_SQLITE_FILE` for `bench/app.ts`, and reads the one
 * `BENCH_RESULT {json}` line this prints.
 *
 *   deno run -A bench/ours.ts --workload w2 --pool async --n 10000 --concurrency 8
 *
 * Workloads: w1, w1b, w2, w3, w4, w5, and the raw-client floors
 * floor-lpush and floor-pingpong (node-redis on Deno and Node, Bun's
 * RedisClient on Bun: the client our Redis storages use on that runtime).
 */
import { Consumer, SIGNAL_COMPLETE } from "../mod.ts";
import type { ConsumerOptions, Huey } from "../mod.ts";
import { args as commandLine, env, exit, rss, runtimeName } from "../lib/runtime.ts";
import {
  benchArgs,
  check,
  counter,
  latencyMetrics,
  pause,
  PAYLOAD,
  report as reportLine,
  roundTrips,
} from "./harness.mjs";

const size = benchArgs(commandLine(), {
  pool: { type: "string", default: "async" },
});
const { workload, n, warmup, concurrency, sleepMs, settleMs, deadline } = size;
const pool = (size.values as Record<string, unknown>).pool === "worker" ? "worker" : "async";
const storageKind = env("BENCH_STORAGE") ?? "memory";
const redisUrl = env("BENCH_REDIS_URL") ?? "redis://127.0.0.1:6379";
const pollMs = Number(env("BENCH_POLL_MS") ?? 2);
const appModule = new URL("./app.ts", import.meta.url).href;

const report = (metrics: Record<string, unknown>) => reportLine(runtimeName(), metrics);

function consumerOptions(workers: number): ConsumerOptions {
  const polling = storageKind === "sqlite"
    // SQLite cannot block: tight polling (1 ms, backing off to 10 ms when idle).
    ? { initialDelay: 0.001, maxDelay: 0.01 }
    : {};
  return {
    workers,
    workerType: pool,
    periodic: false,
    // Worker threads log through the consumer logger: keep per-task info lines out.
    logLevel: "warn",
    ...polling,
  };
}

function newConsumer(huey: Huey, workers: number): Consumer {
  return new Consumer(
    huey,
    consumerOptions(workers),
    pool === "worker" ? { app: { module: appModule } } : {},
  );
}

/**
 * Resolves once `count` more tasks have completed with their results stored.
 * Async pool: counts `complete` signals (sent after the result is stored).
 * Worker pool (tasks run in other threads): polls the result of the last
 * task enqueued, then the result count, every 2 ms.
 */
function completions(
  huey: Huey,
  count: number,
): { done(lastId?: string): Promise<void> } {
  if (pool === "async") {
    const completed = counter(count, deadline, "tasks");
    const handler = () => completed.tick();
    huey.signal(handler, SIGNAL_COMPLETE);
    return {
      done: async () => {
        try {
          await completed.done();
        } finally {
          huey.disconnectSignal(handler, SIGNAL_COMPLETE);
        }
      },
    };
  }
  return {
    done: async (lastId?: string) => {
      const storage = huey.storage;
      while (!(lastId && await storage.hasDataForKey(lastId))) {
        check(
          performance.now() < deadline,
          "the last task's result never arrived",
        );
        await pause(pollMs);
      }
      while ((await storage.resultStoreSize()) < count) {
        check(performance.now() < deadline, "not every result arrived");
        await pause(pollMs);
      }
    },
  };
}

async function loadApp() {
  return await import("./app.ts");
}

// -- workloads ------------------------------------------------------------------

async function w1(): Promise<void> {
  const { huey, noop } = await loadApp();
  await huey.flush();
  const start = performance.now();
  for (let i = 0; i < n; i++) await noop();
  const seconds = (performance.now() - start) / 1000;
  check((await huey.storage.queueSize()) === n, "queue size after W1");
  await huey.close();
  report({ seconds, rate: n / seconds });
}

async function w1b(): Promise<void> {
  const { huey, noop } = await loadApp();
  await huey.flush();
  const args = Array.from({ length: n }, () => [] as []);
  const start = performance.now();
  await noop.map(args);
  const seconds = (performance.now() - start) / 1000;
  check((await huey.storage.queueSize()) === n, "queue size after W1b");
  await huey.close();
  report({ seconds, rate: n / seconds });
}

/** W2 (no-op tasks) and W4 (50 ms naps): pre-enqueue, then consumer start -> all results stored. */
async function drain(kind: "noop" | "nap"): Promise<void> {
  const { huey, noop, nap } = await loadApp();
  await huey.flush();
  const group = kind === "noop"
    ? await noop.map(Array.from({ length: n }, () => [] as []))
    : await nap.map(Array.from({ length: n }, () => [sleepMs] as [number]));
  check((await huey.storage.queueSize()) === n, "queue size before draining");
  const lastId = group.at(-1)!.id;
  const counter = completions(huey, n);
  const start = performance.now();
  const consumer = newConsumer(huey, concurrency);
  await consumer.start();
  const startSeconds = (performance.now() - start) / 1000;
  await counter.done(lastId);
  const seconds = (performance.now() - start) / 1000;
  await consumer.stop();
  check((await huey.storage.resultStoreSize()) === n, "every result stored");
  await huey.close();
  if (kind === "noop") report({ seconds, rate: n / seconds, startSeconds });
  else {
    const ideal = (n * sleepMs) / 1000 / concurrency;
    report({ seconds, ideal, efficiency: ideal / seconds, startSeconds });
  }
}

async function w3(): Promise<void> {
  const { huey, add } = await loadApp();
  await huey.flush();
  const consumer = newConsumer(huey, 1);
  await consumer.start();
  const samples = await roundTrips(size, async (i) => {
    const result = await add(i, 2);
    return await result.get({ blocking: true, timeout: 10 });
  });
  await consumer.stop();
  await huey.close();
  report(latencyMetrics(samples));
}

/** W5: consumer RSS when idle, then after draining `n` no-op tasks enqueued in bulk. */
async function w5(): Promise<void> {
  const { huey, noop } = await loadApp();
  await huey.flush();
  const counter = completions(huey, n);
  const consumer = newConsumer(huey, concurrency);
  await consumer.start();
  await pause(settleMs);
  const idle = rss();
  const group = await noop.map(Array.from({ length: n }, () => [] as []));
  await counter.done(group.at(-1)!.id);
  await pause(settleMs);
  const after = rss();
  await consumer.stop();
  await huey.close();
  report({ idleMB: idle / 2 ** 20, afterMB: after / 2 ** 20 });
}

// -- raw-client floors ------------------------------------------------------------

interface RawClient {
  send(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

async function rawClient(): Promise<RawClient> {
  if (runtimeName() === "bun") {
    const bunModule = "bun";
    const { RedisClient } = await import(bunModule);
    const client = new RedisClient(redisUrl, {
      autoReconnect: false,
      enableOfflineQueue: false,
      enableAutoPipelining: true,
    });
    await client.connect();
    return {
      send: ([command, ...rest]) => client.send(command, rest),
      close: async () => client.close(),
    };
  }
  const { createClient } = await import("@redis/client");
  // The options our storages connect with (lib/storage/redis/node_redis.ts).
  const client = await createClient({
    url: redisUrl,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
  }).connect();
  return {
    send: (args) => client.sendCommand(args),
    close: async () => client.destroy(),
  };
}

async function floorLpush(): Promise<void> {
  const client = await rawClient();
  await client.send(["DEL", "floor"]);
  const start = performance.now();
  for (let i = 0; i < n; i++) await client.send(["LPUSH", "floor", PAYLOAD]);
  const seconds = (performance.now() - start) / 1000;
  check(
    Number(await client.send(["LLEN", "floor"])) === n,
    "floor list length",
  );
  await client.close();
  report({ seconds, rate: n / seconds });
}

/** LPUSH -> BRPOP -> LPUSH -> BRPOP between two connections: W3's floor. */
async function floorPingpong(): Promise<void> {
  const a = await rawClient();
  const b = await rawClient();
  await a.send(["DEL", "ping", "pong"]);
  const echo = (async () => {
    for (let i = 0; i < warmup + n; i++) {
      const reply = await b.send(["BRPOP", "ping", "10"]) as string[] | null;
      check(reply !== null, "echo timed out");
      await b.send(["LPUSH", "pong", reply![1]]);
    }
  })();
  const samples: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const start = performance.now();
    await a.send(["LPUSH", "ping", PAYLOAD]);
    const reply = await a.send(["BRPOP", "pong", "10"]);
    check(reply !== null, "ping-pong timed out");
    if (i >= warmup) samples.push(performance.now() - start);
  }
  await echo;
  await a.close();
  await b.close();
  report(latencyMetrics(samples));
}

const workloads: Record<string, () => Promise<void>> = {
  w1,
  w1b,
  w2: () => drain("noop"),
  w3,
  w4: () => drain("nap"),
  w5,
  "floor-lpush": floorLpush,
  "floor-pingpong": floorPingpong,
};

try {
  const run = workloads[workload];
  if (!run) throw new Error(`unknown workload: ${workload}`);
  await run();
  exit(0);
} catch (error) {
  console.log(
    "BENCH_RESULT " +
      JSON.stringify({
        ok: false,
        error: error instanceof Error ? error.stack : String(error),
      }),
  );
  exit(1);
}
