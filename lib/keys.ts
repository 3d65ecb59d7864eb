/**
 * The keys huey keeps for itself in the result store, all in one place.
 * The result store holds task results under their task ids and the app's
 * own values (`huey.put()`) under its keys; huey's keys live beside them,
 * each starting with `%`:
 *
 * | key | holds | written by |
 * |---|---|---|
 * | `%revocations` | `true` once anything was revoked | revocation.ts |
 * | `%r:<task id>` | the revocation of one invocation | revocation.ts |
 * | `%rt:<task name>` | the revocation of every invocation of a task | revocation.ts |
 * | `%lock:<lock name>` | a held lock | lock.ts |
 * | `%periodic:<task name>:<minute, ms>` | which consumer enqueued a periodic run | consumer/scheduler.ts |
 * | `%chord:r<index>:<chord id>` | the outcome of chord member `index`, the first one recorded | chord.ts |
 * | `%chord:c<index>:<chord id>` | member `index` has been counted | chord.ts |
 * | `%chord:fired:<chord id>` | which member's run enqueued the chord's callback | chord.ts |
 * | `%released:<task id>` | a stopping consumer (SIGTERM) released the task's message | consumer/worker_loop.ts |
 *
 * Counters (`Storage.incr`) are kept apart from the result store, but their
 * keys follow the same rule:
 *
 * | counter | counts | written by |
 * |---|---|---|
 * | `%rate:<per>:<window>:<limit name>` | calls in one fixed window of a rate limit | rate_limit.ts |
 * | `%rate:<per>/<buckets>:<bucket>:<limit name>` | calls in one bucket of a sliding window | rate_limit.ts |
 * | `%chord:<chord id>` | members of a chord counted so far | chord.ts |
 * | `%unique:<task id>` | the producers that asked for a unique task (1: the one that created it) | unique.ts |
 * | `%metrics:n:<outcome>:<task name>` | runs of a task that ended so | metrics_recorder.ts |
 * | `%metrics:s:<outcome>:<task name>` | their summed duration, in microseconds | metrics_recorder.ts |
 * | `%metrics:b<bucket>:<outcome>:<task name>` | runs whose duration fell in one histogram bucket | metrics_recorder.ts |
 * | `%metrics:m:<series>:<minute, ms>` | one minute of a chart series (done, errors, queue samples), kept 65 minutes | metrics_recorder.ts |
 * | `%metrics:sampler:<minute, ms>` | the consumers that tried to sample the queue that minute (1: the one that did) | metrics_recorder.ts |
 * | `%metrics:invalid` | messages set aside without running | metrics_recorder.ts |
 *
 * A chord's keys are removed once its callback is enqueued.
 *
 * Records (`Storage.putRecord`, apart from both, expiring) follow it too:
 *
 * | record | holds | written by |
 * |---|---|---|
 * | `%status:<task id>` | a task's status (state, attempts, last error, times, consumer) | status.ts |
 * | `%progress:<task id>` | the last progress a task reported | status.ts |
 * | `%consumer:<consumer id>` | a consumer's registration and last beat | heartbeat.ts |
 *
 * A task id cannot start with `%` (task.ts), and the app's keys may not
 * ({@link checkAppKey}), so no id or app key can name a lock, a revocation
 * or a periodic marker. The prefix is printable, so the keys read well in
 * `huey.allResults()` and `redis-cli`. Keys written by earlier builds
 * (`lock:<name>`, `r:<id>`, ...) are not read: the project is unreleased.
 *
 * @module
 */

/** What every key huey keeps for itself starts with. */
export const OWN_PREFIX = "%";

/**
 * The names of huey's own keys in the result store.
 *
 * @example
 * ```ts
 * import { OWN_KEYS } from "./keys.ts";
 * console.log(OWN_KEYS.lock("db")); // "%lock:db"
 * ```
 */
export const OWN_KEYS = {
  /** Present once anything was revoked: consumers read revocations only then. */
  revocations: "%revocations",
  /** The revocation of the invocation `id`. */
  revocation: (id: string): string => `%r:${id}`,
  /** The revocation of every invocation of the task `name`. */
  taskRevocation: (name: string): string => `%rt:${name}`,
  /** The lock called `name`. */
  lock: (name: string): string => `%lock:${name}`,
  /** Taken by the one consumer that enqueues the periodic task `name` for `minute` (ms). */
  periodic: (name: string, minute: number): string => `%periodic:${name}:${minute}`,
  /**
   * The counter of window (or bucket) number `index` of the rate limit
   * `name` whose windows are `span` long (`"60"`, or `"60/10"` for a
   * sliding window's buckets): the name comes last, so no name can spell
   * another limit's key.
   */
  rate: (name: string, span: string, index: number): string => `%rate:${span}:${index}:${name}`,
  /** The counter of the members of chord `id` counted so far. */
  chordCount: (id: string): string => `%chord:${id}`,
  /** The outcome of member `index` of chord `id` (the id comes last, after a fixed-form part). */
  chordMember: (id: string, index: number): string => `%chord:r${index}:${id}`,
  /** Present once member `index` of chord `id` has been counted. */
  chordCounted: (id: string, index: number): string => `%chord:c${index}:${id}`,
  /** Taken by the run that enqueues the callback of chord `id`; holds the member's index. */
  chordFired: (id: string): string => `%chord:fired:${id}`,
  /** The status record of task `id` (a record, not a result-store key). */
  status: (id: string): string => `%status:${id}`,
  /** The last progress task `id` reported (a record). */
  progress: (id: string): string => `%progress:${id}`,
  /** The registration and last beat of consumer `id` (a record). */
  consumer: (id: string): string => `%consumer:${id}`,
  /**
   * Written when a consumer stopping at once (SIGTERM) ends the lease of
   * task `id`'s message; the scheduler that puts the message back removes
   * it and reports a release, not a dead consumer.
   */
  released: (id: string): string => `%released:${id}`,
  /** The counter that holds the id `id` of a unique task while it is not done. */
  unique: (id: string): string => `%unique:${id}`,
  /** The counter of runs of task `name` that ended with `outcome` (the name comes last). */
  metricCount: (outcome: string, name: string): string => `%metrics:n:${outcome}:${name}`,
  /** The summed duration, in microseconds, of those runs. */
  metricSum: (outcome: string, name: string): string => `%metrics:s:${outcome}:${name}`,
  /** Those runs whose duration fell in histogram bucket `index`. */
  metricBucket: (outcome: string, name: string, index: number): string =>
    `%metrics:b${index}:${outcome}:${name}`,
  /** One minute (`minute`, ms) of the chart series `series`. */
  metricMinute: (series: string, minute: number): string => `%metrics:m:${series}:${minute}`,
  /** Taken (counted to 1) by the one consumer that samples the queue in `minute`. */
  metricSampler: (minute: number): string => `%metrics:sampler:${minute}`,
  /** Messages set aside without running (undecodable, unknown task, too many deliveries). */
  metricInvalid: "%metrics:invalid",
} as const;

/**
 * Throw a `TypeError` if `key`, a key the app chose (`huey.put()`,
 * `huey.get()`...), is not a string or is one of huey's own (starts with `%`).
 *
 * @example
 * ```ts
 * import { checkAppKey } from "./keys.ts";
 * checkAppKey("report.result", "put");
 * ```
 */
export function checkAppKey(key: unknown, what: string): void {
  if (typeof key !== "string") {
    throw new TypeError(`Cannot ${what} key: expected a string: ${typeof key}`);
  }
  if (key.startsWith(OWN_PREFIX)) {
    throw new TypeError(
      `Cannot ${what} key ${
        JSON.stringify(key.slice(0, 60))
      }: keys starting with ${OWN_PREFIX} are huey's own (locks, revocations, periodic markers)`,
    );
  }
}
