/**
 * Recording metrics in a consumer: each run's outcome and duration are
 * counted in memory (a few map updates, no storage operation on the task's
 * path), and every few seconds one flush adds them to the storage's
 * counters, where `huey.metrics()` in any process reads them. Once a minute
 * one consumer (the first to take that minute's sampler counter) also
 * samples the queue's sizes for the dashboard's chart.
 *
 * @module
 */
import { describeError } from "./_util.ts";
import type { ExecutionOutcome } from "./executor.ts";
import { OWN_KEYS } from "./keys.ts";
import type { Logger } from "./logger.ts";
import { unrefTimer } from "./runtime.ts";
import type { Storage } from "./storage/types.ts";

/** Upper bounds, in seconds, of the duration histogram's buckets (then `+Inf`). */
export const DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
];

/**
 * How one run of a task ended, as metrics count it: `retried` is a failed
 * attempt that runs again; `error`, `timeout`, `locked`, `rate-limited`
 * and `cancelled` are failures for good.
 */
export type MetricOutcome =
  | "complete"
  | "error"
  | "retried"
  | "timeout"
  | "revoked"
  | "expired"
  | "cancelled"
  | "locked"
  | "rate-limited"
  | "interrupted";

/** Every {@link MetricOutcome}, in the order snapshots list them. */
export const METRIC_OUTCOMES: readonly MetricOutcome[] = [
  "complete",
  "error",
  "retried",
  "timeout",
  "revoked",
  "expired",
  "cancelled",
  "locked",
  "rate-limited",
  "interrupted",
];

/** The per-minute chart series: runs done and failed, and the queue's sizes sampled once a minute. */
export type MetricSeries = "done" | "errors" | "queued" | "scheduled" | "running" | "results";

/** Every {@link MetricSeries}. */
export const METRIC_SERIES: readonly MetricSeries[] = [
  "done",
  "errors",
  "queued",
  "scheduled",
  "running",
  "results",
];

/** Seconds a minute's chart counters live: the last hour, and a little more. */
export const MINUTE_TTL = 65 * 60;

/** Seconds between a consumer's flushes of what it counted. */
export const FLUSH_INTERVAL = 5;

const MINUTE = 60_000;

/** What a recorder counted for one task and outcome since its last flush. */
interface Tally {
  count: number;
  /** Summed duration, microseconds. */
  sum: number;
  /** Bucket index -> runs. */
  buckets: Map<number, number>;
}

/** The outcome metrics count for an execution; undefined when it does not count (moved to the schedule). */
export function metricOutcome(outcome: ExecutionOutcome): MetricOutcome | "invalid" | undefined {
  const failed = outcome.status === "error" || outcome.status === "timeout" ||
    outcome.status === "locked" || outcome.status === "rate-limited" ||
    outcome.status === "canceled";
  if (failed && outcome.retrying) return "retried";
  switch (outcome.status) {
    case "scheduled":
      return undefined;
    case "canceled":
      return "cancelled";
    default:
      return outcome.status;
  }
}

/** What a recorder needs from its Huey: the storage now in use, its logger and clock. */
export interface MetricsRecorderHost {
  /** The storage the counters go to. */
  readonly storage: Storage;
  /** Where a failed flush is logged. */
  readonly logger: Logger;
  /** The current time, ms since the epoch. */
  now(): number;
}

/**
 * A consumer process's (or worker thread's) metrics, counted in memory
 * and flushed to the storage's counters.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * import { MetricsRecorder } from "./metrics_recorder.ts";
 * const huey = new MemoryHuey();
 * const recorder = new MetricsRecorder(huey);
 * recorder.record({ status: "complete", duration: 0.002 }, "add");
 * await recorder.flush();
 * console.log((await huey.metrics()).tasks); // [] (no task "add" is declared)
 * ```
 */
export class MetricsRecorder {
  readonly #host: MetricsRecorderHost;
  /** Task name -> outcome -> what was counted since the last flush (keys are built at flush). */
  #tallies = new Map<string, Map<MetricOutcome, Tally>>();
  /** Minute (ms) -> runs done and failed in it. */
  #minutes = new Map<number, { done: number; errors: number }>();
  #invalid = 0;
  /** Counter key -> amount of a flush the storage refused, added to the next one. */
  #carry = new Map<string, number>();
  #timer?: ReturnType<typeof setInterval>;
  #users = 0;
  #sampled = -1;
  #failing = false;

  /** A recorder for `host`'s storage. */
  constructor(host: MetricsRecorderHost) {
    this.#host = host;
  }

  /**
   * Count one execution of task `name` (its outcome and, when it ran, its
   * duration): a few map updates, about 100 ns; no storage operation.
   */
  record(outcome: ExecutionOutcome, name = outcome.task?.name): void {
    const kind = metricOutcome(outcome);
    if (kind === undefined) return;
    if (kind === "invalid" || name === undefined) {
      this.#invalid++;
      return;
    }
    let byOutcome = this.#tallies.get(name);
    if (!byOutcome) this.#tallies.set(name, byOutcome = new Map());
    let tally = byOutcome.get(kind);
    if (!tally) byOutcome.set(kind, tally = { count: 0, sum: 0, buckets: new Map() });
    tally.count++;
    const duration = outcome.duration;
    if (duration !== undefined) {
      let bucket = 0;
      while (bucket < DURATION_BUCKETS.length && duration > DURATION_BUCKETS[bucket]) bucket++;
      tally.buckets.set(bucket, (tally.buckets.get(bucket) ?? 0) + 1);
      tally.sum += Math.round(duration * 1e6);
    }
    const failed = kind === "error" || kind === "retried" || kind === "timeout";
    if (kind !== "complete" && !failed) return;
    const minute = Math.floor(this.#host.now() / MINUTE) * MINUTE;
    let counts = this.#minutes.get(minute);
    if (!counts) this.#minutes.set(minute, counts = { done: 0, errors: 0 });
    if (failed) counts.errors++;
    else counts.done++;
  }

  /** What was counted since the last flush as counter increments, and reset. */
  #take(): Map<string, number> {
    const batch = this.#carry;
    const add = (key: string, amount: number) => {
      if (amount) batch.set(key, (batch.get(key) ?? 0) + amount);
    };
    for (const [name, byOutcome] of this.#tallies) {
      for (const [outcome, tally] of byOutcome) {
        add(OWN_KEYS.metricCount(outcome, name), tally.count);
        add(OWN_KEYS.metricSum(outcome, name), tally.sum);
        for (const [bucket, n] of tally.buckets) {
          add(OWN_KEYS.metricBucket(outcome, name, bucket), n);
        }
      }
    }
    for (const [minute, counts] of this.#minutes) {
      add(OWN_KEYS.metricMinute("done", minute), counts.done);
      add(OWN_KEYS.metricMinute("errors", minute), counts.errors);
    }
    add(OWN_KEYS.metricInvalid, this.#invalid);
    this.#tallies = new Map();
    this.#minutes = new Map();
    this.#invalid = 0;
    this.#carry = new Map();
    return batch;
  }

  /**
   * Start flushing every {@link FLUSH_INTERVAL} seconds (an unref'd timer);
   * each call needs one {@link release}. A worker loop holds it while it runs.
   */
  acquire(): void {
    if (this.#users++ > 0) return;
    this.#timer = setInterval(() => void this.flush(), FLUSH_INTERVAL * 1000);
    unrefTimer(this.#timer);
  }

  /** Undo one {@link acquire}; the last one stops the timer and flushes what is left. */
  async release(): Promise<void> {
    if (--this.#users > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  /**
   * Add what was counted to the storage's counters (all at once), and
   * sample the queue if no consumer has this minute. A storage that fails
   * keeps the counts for the next flush (logged once until it works again);
   * never rejects.
   */
  async flush(): Promise<void> {
    const batch = this.#take();
    const storage = this.#host.storage;
    const minute = Math.floor(this.#host.now() / MINUTE) * MINUTE;
    try {
      await Promise.all(
        [...batch].map(([key, amount]) =>
          storage.incr(key, amount, key.startsWith("%metrics:m:") ? { ttl: MINUTE_TTL } : {})
        ),
      );
      this.#failing = false;
    } catch (error) {
      // At-least-once for counts too: a batch that may have been partly
      // added is added again whole, which can count a few runs twice.
      for (const [key, amount] of batch) this.#carry.set(key, (this.#carry.get(key) ?? 0) + amount);
      this.#warn(error);
    }
    if (this.#sampled !== minute) {
      this.#sampled = minute;
      await this.#sample(storage, minute).catch((error) => this.#warn(error));
    }
  }

  #warn(error: unknown): void {
    // DEBUG: a storage that refuses writes is the consumer's outage, which it
    // reports in one line of its own; this adds only that the counts wait.
    if (!this.#failing) {
      this.#host.logger.debug(`Cannot flush metrics, keeping them: ${describeError(error)}`);
    }
    this.#failing = true;
  }

  async #sample(storage: Storage, minute: number): Promise<void> {
    const ttl = { ttl: MINUTE_TTL };
    if ((await storage.incr(OWN_KEYS.metricSampler(minute), 1, ttl)) !== 1) return;
    const [queued, scheduled, running, results] = await Promise.all([
      storage.queueSize(),
      storage.scheduleSize(),
      storage.leasedSize(),
      storage.resultStoreSize(),
    ]);
    const values = { queued, scheduled, running, results };
    await Promise.all(
      Object.entries(values).map(([series, value]) =>
        value ? storage.incr(OWN_KEYS.metricMinute(series, minute), value, ttl) : 0
      ),
    );
  }
}

const recorders = new WeakMap<object, MetricsRecorder>();

/**
 * The recorder of `host` (one per Huey, shared by its worker loops),
 * made on first use.
 */
export function recorderOf(host: MetricsRecorderHost): MetricsRecorder {
  let recorder = recorders.get(host);
  if (!recorder) recorders.set(host, recorder = new MetricsRecorder(host));
  return recorder;
}
