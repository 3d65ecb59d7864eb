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
  /** Counter key -> amount not yet flushed. */
  #pending = new Map<string, number>();
  #timer?: ReturnType<typeof setInterval>;
  #users = 0;
  #sampled = -1;
  #failing = false;

  /** A recorder for `host`'s storage. */
  constructor(host: MetricsRecorderHost) {
    this.#host = host;
  }

  /** Count one execution of task `name` (its outcome and, when it ran, its duration). */
  record(outcome: ExecutionOutcome, name = outcome.task?.name): void {
    const kind = metricOutcome(outcome);
    if (kind === undefined) return;
    if (kind === "invalid" || name === undefined) {
      this.#add(OWN_KEYS.metricInvalid, 1);
      return;
    }
    this.#add(OWN_KEYS.metricCount(kind, name), 1);
    if (outcome.duration !== undefined) {
      const index = DURATION_BUCKETS.findIndex((bound) => outcome.duration! <= bound);
      const bucket = index === -1 ? DURATION_BUCKETS.length : index;
      this.#add(OWN_KEYS.metricBucket(kind, name, bucket), 1);
      this.#add(OWN_KEYS.metricSum(kind, name), Math.round(outcome.duration * 1e6));
    }
    const minute = Math.floor(this.#host.now() / MINUTE) * MINUTE;
    if (kind === "complete") this.#add(OWN_KEYS.metricMinute("done", minute), 1);
    else if (kind === "error" || kind === "retried" || kind === "timeout") {
      this.#add(OWN_KEYS.metricMinute("errors", minute), 1);
    }
  }

  #add(key: string, amount: number): void {
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + amount);
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
    const batch = this.#pending;
    this.#pending = new Map();
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
      for (const [key, amount] of batch) this.#add(key, amount);
      this.#warn(error);
    }
    if (this.#sampled !== minute) {
      this.#sampled = minute;
      await this.#sample(storage, minute).catch((error) => this.#warn(error));
    }
  }

  #warn(error: unknown): void {
    if (!this.#failing) {
      this.#host.logger.warn(`Cannot flush metrics, keeping them: ${describeError(error)}`);
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
