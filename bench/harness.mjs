/**
 * What every benchmark measurement process shares, ours (`bench/ours.ts`,
 * on Deno, Node or Bun) and the peers' (`bench/peers.mjs`, on Node): the
 * command line, the message size, the result line `scripts/bench.ts` reads,
 * latency percentiles, the completion counter and the round-trip loop.
 * Plain JavaScript, so Node runs it without a build step.
 *
 * @module
 */
import { parseArgs } from "node:util";

/**
 * Parse the options every measurement takes, plus `extra` ones.
 *
 * @param {string[]} args the command line after the script
 * @param {Record<string, { type: "string", default?: string }>} extra
 */
export function benchArgs(args, extra = {}) {
  const { values } = parseArgs({
    args,
    options: {
      workload: { type: "string" },
      n: { type: "string", default: "10000" },
      concurrency: { type: "string", default: "1" },
      warmup: { type: "string", default: "20" },
      sleep: { type: "string", default: "50" },
      settle: { type: "string", default: "1000" },
      timeout: { type: "string", default: "300" },
      ...extra,
    },
  });
  return {
    values,
    workload: String(values.workload ?? ""),
    n: Number(values.n),
    concurrency: Number(values.concurrency),
    warmup: Number(values.warmup),
    sleepMs: Number(values.sleep),
    settleMs: Number(values.settle),
    /** Longest a measurement may take (performance.now() ms): every wait is bounded by it. */
    deadline: performance.now() + Number(values.timeout) * 1000,
  };
}

/** The size of a no-op task message (`{"v":1,"id":"<uuid>","name":"noop",...}`). */
export const PAYLOAD = JSON.stringify({
  v: 1,
  id: crypto.randomUUID(),
  name: "noop",
  args: [],
  retries: 0,
  retryDelay: 0,
  priority: 0,
});

/** @param {number} ms */
export const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Print the one line `scripts/bench.ts` reads.
 *
 * @param {string} runtime
 * @param {Record<string, unknown>} metrics
 */
export function report(runtime, metrics) {
  console.log(
    "BENCH_RESULT " + JSON.stringify({ ok: true, runtime, ...metrics }),
  );
}

/**
 * @param {boolean} condition
 * @param {string} message
 */
export function check(condition, message) {
  if (!condition) throw new Error(`Benchmark check failed: ${message}`);
}

/**
 * @param {number[]} sorted
 * @param {number} p
 */
function percentile(sorted, p) {
  const i = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil((p / 100) * sorted.length) - 1),
  );
  return sorted[i];
}

/** @param {number[]} samples latencies in ms */
export function latencyMetrics(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

/**
 * Counts completions: `done()` resolves at the `target`-th `tick()`, or
 * rejects at the deadline.
 *
 * @param {number} target
 * @param {number} deadline performance.now() ms
 * @param {string} what what is counted, for the error
 */
export function counter(target, deadline, what = "jobs") {
  let seen = 0;
  /** @type {() => void} */
  let finish = () => {};
  const all = new Promise((resolve) => (finish = () => resolve(undefined)));
  return {
    tick() {
      if (++seen === target) finish();
    },
    async done() {
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(`only ${seen} of ${target} ${what} completed in time`),
            ),
          Math.max(0, deadline - performance.now()),
        );
      });
      try {
        await Promise.race([all, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * W3: `warmup + n` sequential round trips `call(i)`, each checked to return
 * `i + 2`; the latencies of the last `n`, in ms.
 *
 * @param {{ n: number, warmup: number, deadline: number }} size
 * @param {(i: number) => Promise<unknown>} call
 */
export async function roundTrips(size, call) {
  const samples = [];
  for (let i = 0; i < size.warmup + size.n; i++) {
    const start = performance.now();
    const value = await call(i);
    const ms = performance.now() - start;
    check(value === i + 2, `round trip ${i} returned ${value}`);
    if (i >= size.warmup) samples.push(ms);
    check(performance.now() < size.deadline, "W3 took too long");
  }
  return samples;
}
