/**
 * The names of every Redis key and channel one Huey name uses.
 *
 * Every name carries the `{name}` hash tag (`huey.{app}.queue`,
 * `huey.{app}.schedule`, ...): Redis Cluster then puts them all in one hash
 * slot, so every multi-key script also runs on a cluster.
 *
 * Keys for the name `app`:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `huey.{app}.queue` | list (`RedisStorage`) or sorted set (priority) | waiting messages |
 * | `huey.{app}.wake` | list of at most one element (priority only) | non-empty while the queue is: what blocking consumers wait on |
 * | `huey.{app}.leases` | hash receipt -> message | messages handed out and not yet acknowledged |
 * | `huey.{app}.leased` | sorted set receipt -> lease end (ms, server time) | when each lease runs out |
 * | `huey.{app}.recoveries` | hash SHA-1 of a lease record -> count | how often a message's lease ran out (absent while none did) |
 * | `huey.{app}.seq` | integer | the sequence that orders equal priorities and equal etas |
 * | `huey.{app}.schedule` | sorted set eta (ms) -> seq + message | scheduled messages |
 * | `huey.{app}.results` | hash (`RedisStorage`, `PriorityRedisStorage`) | results, revocations, locks, user data |
 * | `huey.{app}.r.<key>` | string with an expiry (expire variants) | the same, one key each |
 * | `huey.{app}.errors` | list of JSON | messages that could not be run |
 * | `huey.{app}.counters` | hash key -> integer | counters (`incr`), apart from the results |
 * | `huey.{app}.counter_expiries` | sorted set key -> expiry (ms, server time) | when each counter with a ttl expires |
 * | `huey.{app}.records` | hash key -> value | records (`putRecord`: task status, progress, consumers) |
 * | `huey.{app}.record_expiries` | sorted set key -> expiry (ms, server time) | when each record expires |
 * | `huey.{app}.record_keys` | sorted set of record keys, score 0 | the records under a prefix, by range |
 *
 * Channels: `huey.{app}.events` (consumer events) and
 * `huey.{app}.data.<key>` (published by every write to `<key>`, so
 * `waitForData` wakes at once).
 *
 * @module
 */

/**
 * Key and channel names of one Huey name.
 *
 * @example The names for "app"
 * ```ts
 * import { RedisKeys } from "./keys.ts";
 * const keys = new RedisKeys("app");
 * console.log(keys.queue); // "huey.{app}.queue"
 * console.log(keys.result("id-1")); // "huey.{app}.r.id-1"
 * ```
 */
export class RedisKeys {
  /** `huey.{name}.`: what every name below starts with. */
  readonly prefix: string;
  /** Waiting messages. */
  readonly queue: string;
  /** What blocking consumers wait on when the queue is a sorted set. */
  readonly wake: string;
  /** receipt -> message of every message under a lease. */
  readonly leases: string;
  /** receipt -> lease end (ms). */
  readonly leased: string;
  /** SHA-1 of a lease record -> how often that message's lease ran out. */
  readonly recoveries: string;
  /** The sequence that orders equal priorities and equal etas. */
  readonly seq: string;
  /** Scheduled messages by eta. */
  readonly schedule: string;
  /** Records (task status, progress, consumers): key -> value. */
  readonly records: string;
  /** Record key -> when it expires (ms, server time). */
  readonly recordExpiries: string;
  /** Every record key (score 0), read by lexical range. */
  readonly recordKeys: string;
  /** The results hash (of the layouts that keep one). */
  readonly results: string;
  /** Messages that could not be run. */
  readonly errors: string;
  /** Counters: key -> value. */
  readonly counters: string;
  /** Counter key -> when it expires (ms, server time), for counters with a ttl. */
  readonly counterExpiries: string;
  /** The channel of consumer events. */
  readonly events: string;
  /** The channel of cancelled task ids (`huey.cancel()`). */
  readonly cancels: string;
  /** What every per-result key starts with (of the layouts with one key per result). */
  readonly resultPrefix: string;

  /** The names for the Huey name `name`, which has no `{` or `}` (the storage checks). */
  constructor(name: string) {
    const prefix = this.prefix = `huey.{${name}}.`;
    this.queue = prefix + "queue";
    this.wake = prefix + "wake";
    this.leases = prefix + "leases";
    this.leased = prefix + "leased";
    this.recoveries = prefix + "recoveries";
    this.seq = prefix + "seq";
    this.schedule = prefix + "schedule";
    this.results = prefix + "results";
    this.errors = prefix + "errors";
    this.counters = prefix + "counters";
    this.counterExpiries = prefix + "counter_expiries";
    this.records = prefix + "records";
    this.recordExpiries = prefix + "record_expiries";
    this.recordKeys = prefix + "record_keys";
    this.events = prefix + "events";
    this.cancels = prefix + "cancels";
    this.resultPrefix = prefix + "r.";
  }

  /** The key of one result in the layouts with one key per result. */
  result(key: string): string {
    return this.resultPrefix + key;
  }

  /** The channel every write to `key` publishes on. */
  dataChannel(key: string): string {
    return this.prefix + "data." + key;
  }

  /** Every fixed key (not the per-result keys of the expire variants). */
  all(): string[] {
    return [
      this.queue,
      this.wake,
      this.leases,
      this.leased,
      this.recoveries,
      this.seq,
      this.schedule,
      this.results,
      this.errors,
      this.counters,
      this.counterExpiries,
      this.records,
      this.recordExpiries,
      this.recordKeys,
    ];
  }
}
