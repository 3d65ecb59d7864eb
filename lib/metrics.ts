/**
 * `huey.metrics()`: what the consumers counted (runs per task and outcome,
 * their durations as histograms, done and errors per minute) read back from
 * the storage's counters, with the queue's sizes now. Any process on the
 * storage can read it, e.g. a dashboard apart from the consumers. Counts
 * lag the runs by up to a consumer's flush interval (5 s).
 *
 * @module
 */
import { OWN_KEYS } from "./keys.ts";
import { DURATION_BUCKETS, METRIC_OUTCOMES, METRIC_SERIES } from "./metrics_recorder.ts";
import type { MetricOutcome, MetricSeries } from "./metrics_recorder.ts";
import type { Storage } from "./storage/types.ts";

/** The runs of one task that ended with one outcome. */
export interface TaskOutcomeMetrics {
  /** The task's name. */
  task: string;
  /** How the runs ended. */
  outcome: MetricOutcome;
  /** How many runs ended so. */
  count: number;
  /** Of those, the runs whose function ran (revoked and expired ones did not), timed. */
  timed: number;
  /** Their summed duration, in seconds. */
  durationSum: number;
  /**
   * Timed runs that took at most `bounds[i]` seconds (cumulative, as a
   * Prometheus histogram: the last equals `timed` only if none took longer).
   */
  buckets: number[];
}

/** One minute of the chart. */
export interface MinuteMetrics {
  /** The minute's start, ms since the epoch. */
  minute: number;
  /** Runs done, errors (failed attempts), and the queue sampled in that minute. */
  values: Record<MetricSeries, number>;
}

/** The queue's sizes, now. */
export interface QueueGauges {
  /** Messages waiting in the queue. */
  queued: number;
  /** Tasks in the schedule (delayed and retries). */
  scheduled: number;
  /** Messages leased to a consumer: running now. */
  running: number;
  /** Keys in the result store. */
  results: number;
  /** Dead letters: messages set aside for good (failed, undecodable, unknown task, delivered too often). */
  deadLetters: number;
}

/** What {@link readMetrics} (`huey.metrics()`) returns. */
export interface MetricsSnapshot {
  /** When it was read, ms since the epoch. */
  time: number;
  /** The histogram's bucket bounds, in seconds (then `+Inf`). */
  bounds: readonly number[];
  /** Per task and outcome, only the pairs that happened, in task then outcome order. */
  tasks: TaskOutcomeMetrics[];
  /** Messages set aside without running (undecodable, unknown task, too many deliveries). */
  setAside: number;
  /** The queue now. */
  queue: QueueGauges;
  /** The last hour, oldest minute first, the current minute last. */
  history: MinuteMetrics[];
}

/** What {@link readMetrics} needs from its Huey. */
export interface MetricsHost {
  /** The storage the consumers flush to. */
  readonly storage: Storage;
  /** The current time, ms since the epoch. */
  now(): number;
  /** The declared tasks' names: the counters are read by name. */
  taskNames(): string[];
}

const MINUTE = 60_000;

/**
 * Read the metrics of `host`'s storage. Counters are read by name, so only
 * the tasks `host` declares are listed. Costs one counter read per task and
 * outcome, plus the histogram of each pair that happened, plus 6 × 60 for
 * the chart: all issued at once.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * huey.task("add", (a: number, b: number) => a + b);
 * console.log((await huey.metrics()).queue.queued); // 0
 * ```
 */
export async function readMetrics(host: MetricsHost): Promise<MetricsSnapshot> {
  const storage = host.storage;
  const time = host.now();
  const read = (key: string) => storage.incr(key, 0);
  const names = host.taskNames();
  const pairs = names.flatMap((task) => METRIC_OUTCOMES.map((outcome) => ({ task, outcome })));
  const current = Math.floor(time / MINUTE) * MINUTE;
  const minutes = Array.from({ length: 60 }, (_, i) => current - (59 - i) * MINUTE);
  const [counts, history, setAside, queue] = await Promise.all([
    Promise.all(pairs.map(({ task, outcome }) => read(OWN_KEYS.metricCount(outcome, task)))),
    Promise.all(minutes.map(async (minute) => {
      const values = await Promise.all(
        METRIC_SERIES.map((series) => read(OWN_KEYS.metricMinute(series, minute))),
      );
      return {
        minute,
        values: Object.fromEntries(METRIC_SERIES.map((s, i) => [s, values[i]])),
      } as MinuteMetrics;
    })),
    read(OWN_KEYS.metricInvalid),
    readGauges(storage),
  ]);
  const tasks = await Promise.all(
    pairs.flatMap(({ task, outcome }, i) =>
      counts[i] ? [readHistogram(read, task, outcome, counts[i])] : []
    ),
  );
  return { time, bounds: DURATION_BUCKETS, tasks, setAside, queue, history };
}

async function readHistogram(
  read: (key: string) => Promise<number>,
  task: string,
  outcome: MetricOutcome,
  count: number,
): Promise<TaskOutcomeMetrics> {
  const [sum, ...perBucket] = await Promise.all([
    read(OWN_KEYS.metricSum(outcome, task)),
    ...Array.from(
      { length: DURATION_BUCKETS.length + 1 },
      (_, i) => read(OWN_KEYS.metricBucket(outcome, task, i)),
    ),
  ]);
  let running = 0;
  const cumulative = perBucket.map((n) => (running += n));
  const timed = cumulative.pop() ?? 0;
  return { task, outcome, count, timed, durationSum: sum / 1e6, buckets: cumulative };
}

async function readGauges(storage: Storage): Promise<QueueGauges> {
  const [queued, scheduled, running, results, deadLetters] = await Promise.all([
    storage.queueSize(),
    storage.scheduleSize(),
    storage.leasedSize(),
    storage.resultStoreSize(),
    storage.errorItems().then((items) => items.length),
  ]);
  return { queued, scheduled, running, results, deadLetters };
}
