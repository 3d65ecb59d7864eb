/**
 * The storage contract every driver implements. A driver stores opaque
 * strings (the serializer's output); it never parses them.
 *
 * Times are milliseconds since the epoch and are passed in by the caller, so
 * tests drive the schedule and leases with a fake clock. A driver whose
 * data lives on a server with a clock of its own (Redis, Postgres) measures leases on
 * that clock instead: its `dequeue`, `extendLease` and `recoverLeases`
 * ignore `now` (only the lease's duration counts), so consumers whose
 * clocks disagree still agree on when a lease ends. The schedule always
 * uses the caller's times, and so do counter expiries on drivers without
 * a clock of their own.
 *
 * @module
 */

/** A message handed out by {@link Storage.dequeue}, under a lease. */
export interface Delivery {
  /** The message exactly as it was enqueued. */
  data: string;
  /**
   * Opaque token for {@link Storage.ack} and {@link Storage.extendLease}.
   * Valid until the lease runs out.
   */
  receipt: string;
  /**
   * How many times this message has been handed out, this delivery
   * included: 1 the first time, one more each time its lease ran out and
   * {@link Storage.recoverLeases} put it back. Kept with the message, so a
   * message that keeps killing (or hanging) its consumer is seen coming back.
   */
  deliveries: number;
  /**
   * Set when the driver cannot hand the message out as text: why (its
   * stored bytes are not valid UTF-8, e.g. written by another program, and
   * decoding them would replace the bad bytes with U+FFFD: a task with
   * changed arguments). `data` then holds the bytes in hex. The consumer
   * never runs such a message: it keeps it in the error store with the
   * reason and acknowledges it.
   */
  undecodable?: string;
  /**
   * With {@link DequeueOptions.peekKey}: that key's value in the result
   * store, read after the message was taken, or `null` when the key is
   * empty. Unset when no key was asked for.
   */
  peeked?: string | null;
}

/**
 * A message kept in the error store (the dead-letter store) because it will
 * not run as it is: undecodable, naming an unknown task, delivered too many
 * times, or (kept by the Huey) a task that failed for good.
 */
export interface ErrorItem {
  /**
   * Assigned by the storage when the message is kept: unique among this
   * storage name's kept messages, and never reused while the item is there.
   */
  id: string;
  /** The message as it was found. */
  data: string;
  /** Why it was set aside, e.g. the error message. */
  reason: string;
  /** When it was set aside, in ms since the epoch. */
  time: number;
  /** What the caller gave {@link Storage.putError} beside the reason (opaque), if anything. */
  info?: string;
}

/**
 * The writes a storage makes inside an application's open database
 * transaction (see {@link Storage.inTransaction}).
 */
export interface TransactionWrites {
  /** {@link Storage.enqueue}, inside the transaction. */
  enqueue(data: string, priority: number): Promise<void>;
  /** {@link Storage.addToSchedule}, inside the transaction. */
  addToSchedule(data: string, eta: number): Promise<void>;
}

/** Options of {@link Storage.dequeue}. */
export interface DequeueOptions {
  /**
   * Current time in ms since the epoch: the lease starts now (on drivers
   * that measure leases on the caller's clock; Redis uses its server's).
   */
  now: number;
  /** How long the message stays invisible to other consumers, in seconds. */
  leaseSeconds: number;
  /**
   * Seconds to wait for a message when the queue is empty. Only drivers with
   * `blocking: true` wait; the others return at once.
   * @default 0
   */
  wait?: number;
  /** Ends a blocking wait early. */
  signal?: AbortSignal;
  /**
   * A result-store key to read in the same operation as the take (the same
   * round trip on Redis); its value comes back as {@link Delivery.peeked}.
   * Huey passes its "something is revoked" marker, so a consumer skips the
   * revocation reads while nothing is revoked.
   */
  peekKey?: string;
}

/** Options of {@link Storage.incr}. */
export interface CounterOptions {
  /**
   * Seconds the counter lives when this increment creates it (it did not
   * exist: never incremented, deleted, or expired); then it is gone, and
   * reads as 0 until an increment creates it again. An increment of an
   * existing counter keeps its expiry, whatever `ttl` it passes: a
   * counter's lifetime is fixed when it is created, like a rate-limit
   * window, so increments that keep coming cannot keep it alive for ever.
   * A positive number of seconds.
   * @default no expiry
   */
  ttl?: number;
  /**
   * The current time in ms since the epoch, from which drivers without a
   * clock of their own (memory, SQLite, file) measure `ttl` and judge
   * whether a counter has expired; Redis and Postgres use their server's
   * clock and ignore it (as they do for leases).
   * @default Date.now()
   */
  now?: number;
}

/** Options of {@link Storage.putData}. */
export interface PutDataOptions {
  /** The value is a task's result: an expiring storage lets it expire. @default false */
  result?: boolean;
}

/**
 * Queue, schedule, result store, counters and error store of one Huey instance.
 *
 * Every method is atomic with respect to other callers of the same storage,
 * including other processes for persistent drivers.
 */
export interface Storage {
  /** The Huey name this storage is namespaced by. */
  readonly name: string;
  /** True when `dequeue({ wait })` blocks until a message arrives. */
  readonly blocking: boolean;
  /** True when `dequeue` honours priorities. */
  readonly priority: boolean;

  // -- queue ---------------------------------------------------------------

  /** Add a message; higher priority is dequeued first, FIFO within a priority. */
  enqueue(data: string, priority: number): Promise<void>;
  /**
   * Add several messages in one operation (one round trip where possible).
   * Atomic: when it rejects, none of them was added, so the call can be
   * retried without duplicates.
   */
  enqueueMany(items: readonly { data: string; priority: number }[]): Promise<void>;
  /**
   * Take the next message under a lease, or `undefined` when the queue is
   * empty (after waiting up to `wait` seconds on blocking drivers). The
   * message stays stored until {@link ack}; if the lease runs out first,
   * {@link recoverLeases} puts it back.
   */
  dequeue(options: DequeueOptions): Promise<Delivery | undefined>;
  /**
   * Non-blocking drivers: sleep up to `seconds` between polls, ending early
   * when this same instance enqueues (a consumer in the producer's process
   * starts at once). Optional; without it the consumer just sleeps.
   */
  waitForEnqueue?(seconds: number, signal?: AbortSignal): Promise<void>;
  /** Forget a dequeued message for good. False if the lease was already lost. */
  ack(receipt: string): Promise<boolean>;
  /**
   * `putData(key, value)` then `ack(receipt)` as one atomic operation (one
   * round trip), fenced by the lease: how a consumer finishes a task whose
   * result is all that is left to store. Only while `receipt` still holds
   * its lease is the value stored and the message acknowledged (true). Once
   * the lease was lost (it ran out and {@link recoverLeases} put the message
   * back, or it was acknowledged already) it stores nothing and returns
   * false, so a late finisher cannot overwrite the result of the run that
   * took the message again. Optional; without it the consumer calls the
   * two in turn (unfenced).
   */
  putDataAndAck?(key: string, value: string, receipt: string): Promise<boolean>;
  /**
   * The lease `data` is held under now, if a consumer holds it: its receipt
   * and delivery number. For logs only (which run replaced a stale one), so
   * it may be slow (Redis scans the leases). Optional.
   */
  currentLease?(data: string): Promise<{ receipt: string; deliveries: number } | undefined>;
  /**
   * Push a lease's end to `now + leaseSeconds` (Redis: the server's time
   * plus `leaseSeconds`); `leaseSeconds` 0 ends it now, so the next
   * recovery puts the message back. False if the lease was already lost.
   */
  extendLease(receipt: string, now: number, leaseSeconds: number): Promise<boolean>;
  /**
   * Put every message whose lease ended at or before `now` (Redis: the
   * server's time) back at the front of the queue, exactly once, keeping its
   * delivery count; returns the recovered messages (empty when none).
   */
  recoverLeases(now: number): Promise<string[]>;
  /** Messages waiting in the queue (not counting leased ones). */
  queueSize(): Promise<number>;
  /** Waiting messages in the order they will be dequeued; all when `limit` is unset. */
  enqueuedItems(limit?: number): Promise<string[]>;
  /** Messages currently leased to a consumer. */
  leasedSize(): Promise<number>;
  /**
   * The messages under a lease now (taken by a consumer, not yet
   * acknowledged), in no particular order; all when `limit` is unset; empty
   * when none. For inspection (`huey.status()` tells `running` by them), so
   * it may read every lease.
   */
  leasedItems(limit?: number): Promise<string[]>;
  /** Remove every waiting and leased message. */
  flushQueue(): Promise<void>;

  /**
   * Enqueue and schedule inside `transaction`, an open transaction of the
   * application's own client on the same database: the message exists only
   * if the transaction commits (PostgresStorage). Throws a TypeError for an
   * object that is not such a transaction. Optional: storages without it
   * cannot join a transaction, and `schedule(args, { transaction })` on
   * them throws a ConfigurationError.
   */
  inTransaction?(transaction: unknown): TransactionWrites;

  // -- schedule ------------------------------------------------------------

  /** Store a message to run at `eta` (ms since the epoch). */
  addToSchedule(data: string, eta: number): Promise<void>;
  /** Remove and return every message due at or before `now`, earliest first; empty when none. */
  readSchedule(now: number): Promise<string[]>;
  /** Messages in the schedule. */
  scheduleSize(): Promise<number>;
  /** Scheduled messages, earliest first; all when `limit` is unset. */
  scheduledItems(limit?: number): Promise<string[]>;
  /** Remove every scheduled message. */
  flushSchedule(): Promise<void>;

  // -- result store (also revocations, locks and user key/values) ----------

  /**
   * Store `value` under `key`, replacing any previous value. `result`: it
   * is a task's result (huey's `is_result`), the only kind of value an
   * expiring storage (RedisExpireStorage) lets expire; locks, revocations
   * and the app's own keys are written without it and kept.
   */
  putData(key: string, value: string, options?: PutDataOptions): Promise<void>;
  /** The value under `key`, or `undefined`; the value stays stored. */
  peekData(key: string): Promise<string | undefined>;
  /**
   * The value under `key`, removed atomically, or `undefined`. An expiring
   * storage (RedisExpireStorage) keeps it, as huey's does: there a read
   * never deletes, values go when they expire or are deleted.
   */
  popData(key: string): Promise<string | undefined>;
  /** True when a value is stored under `key`. */
  hasDataForKey(key: string): Promise<boolean>;
  /** Store `value` only if `key` is empty; true if it was stored (the lock primitive). */
  putIfEmpty(key: string, value: string): Promise<boolean>;
  /** Remove `key`; true if it existed. */
  deleteData(key: string): Promise<boolean>;
  /** Number of stored keys. */
  resultStoreSize(): Promise<number>;
  /** Every stored key and value. */
  resultItems(): Promise<Map<string, string>>;
  /** Remove every stored key. */
  flushResults(): Promise<void>;
  /**
   * Wait until a value is stored under `key` or `timeout` seconds pass;
   * true if a value is there. Drivers that can be told of writes (memory,
   * Redis pub/sub) implement it so a blocked `get()` wakes at once; SQLite
   * polls, and wakes at once for writes made through the same instance.
   */
  waitForData?(key: string, timeout: number, signal?: AbortSignal): Promise<boolean>;

  // -- counters --------------------------------------------------------------

  /**
   * Add `amount` (a safe integer: negative and 0 work) to the counter
   * `key` and return its new value; a counter that does not exist starts at
   * 0. Atomic: concurrent increments from any number of callers and
   * processes each see their own new value, and none is lost, so exactly
   * one caller sees any given total (what a chord's "last member finished"
   * and a rate limit's "call number N of the window" rely on). An `amount`
   * of 0 only reads: it returns the value (0 when there is no counter) and
   * creates or changes nothing, not even the expiry.
   *
   * Counters are kept apart from the result store: a counter and a value
   * with the same key do not see each other, and counters are not counted
   * or listed by `resultStoreSize` / `resultItems` nor removed by
   * `flushResults`. Values are exact up to 2^53 either way. An increment is
   * not idempotent: a task run twice (at-least-once delivery) increments
   * twice; count each member once by taking a marker with `putIfEmpty`
   * first. Rejects with a RangeError for an `amount` that is not a safe
   * integer or a `ttl` that is not a positive number of seconds, and a
   * TypeError for a key that is not a string.
   */
  incr(key: string, amount?: number, options?: CounterOptions): Promise<number>;
  /**
   * Remove the counter `key`; true if there was one (a counter past its
   * expiry may still be there, until an increment or read finds it expired).
   */
  deleteCounter(key: string): Promise<boolean>;
  /** Remove every counter of this storage's name. */
  flushCounters(): Promise<void>;

  // -- error store ---------------------------------------------------------

  /**
   * Keep a message that will not run, with the reason and, optionally, an
   * opaque `info` string stored beside it (the Huey keeps the task's id,
   * attempts and last error there). The storage gives it an id.
   */
  putError(data: string, reason: string, now: number, info?: string): Promise<void>;
  /** Kept messages, oldest first, each with its id; empty when none. */
  errorItems(limit?: number): Promise<ErrorItem[]>;
  /** Remove the kept message `id`; false when there is none (nothing removed). */
  deleteError(id: string): Promise<boolean>;
  /**
   * Put the kept message `id` back in the queue at `priority`, as a new
   * message (its first delivery), and remove it from the error store, as
   * one atomic operation: concurrent calls for one id enqueue it once, and
   * the item is never gone without its message queued. False when there is
   * no such item (nothing enqueued).
   */
  requeueError(id: string, priority: number): Promise<boolean>;
  /** Remove every kept message. */
  flushErrors(): Promise<void>;

  // -- records: task status, progress, consumer heartbeats -----------------

  /**
   * Store `value` under `key` in the record store, replacing any previous
   * record, for `ttl` seconds (a positive number) from `now`; then it is
   * gone. Records are kept apart from the result store and the counters (a
   * record and a value with one key do not see each other; records are not
   * listed by `resultItems` nor removed by `flushResults`), and a read never
   * consumes one: what task status, progress and consumer heartbeats need.
   * Drivers without a clock of their own measure `ttl` from `now`; Redis and
   * Postgres use their server's clock. Expired records are pruned by the
   * driver (Redis and memory expire keys; SQLite, Postgres and file delete
   * expired rows when records are written or listed).
   */
  putRecord(key: string, value: string, ttl: number, now: number): Promise<void>;
  /** The record under `key`, or `undefined` when there is none or it expired; it stays stored. */
  getRecord(key: string, now: number): Promise<string | undefined>;
  /**
   * The unexpired records whose keys start with `prefix`, sorted by key;
   * at most `limit` when it is set; empty when none. Not atomic with
   * respect to writes made meanwhile, and it reads every record of the
   * prefix (Redis scans its keys): for inspection, never the hot path.
   */
  recordItems(prefix: string, now: number, limit?: number): Promise<Map<string, string>>;
  /** Remove the record `key`; true if there was one. */
  deleteRecord(key: string): Promise<boolean>;
  /** Remove every record of this storage's name. */
  flushRecords(): Promise<void>;

  // -- events across processes (optional) ---------------------------------

  /**
   * Publish a consumer event to every process listening on this storage
   * (Redis pub/sub). Drivers without it leave events in-process.
   */
  publishEvent?(event: string): Promise<void>;
  /**
   * Call `onEvent` for every event published on this storage until `signal`
   * aborts. Resolves once the subscription is active.
   */
  subscribeEvents?(onEvent: (event: string) => void, signal: AbortSignal): Promise<void>;

  // -- cancel channel (optional) -------------------------------------------

  /**
   * Tell every process listening on this storage that the task `id` was
   * cancelled (`huey.cancel()`), so the one running it aborts it at once.
   * At most once, like events: the consumers also read the cancel mark at
   * every lease renewal. Drivers without pub/sub leave it out.
   */
  publishCancel?(id: string): Promise<void>;
  /**
   * Call `onCancel` with the id of every task cancelled through
   * {@link publishCancel} until `signal` aborts. Resolves once listening.
   * A channel apart from the events, so that a consumer hearing cancels
   * does not also receive every event of every task.
   */
  subscribeCancels?(onCancel: (id: string) => void, signal: AbortSignal): Promise<void>;

  // -- lifecycle -----------------------------------------------------------

  /** Remove everything this storage holds for its name, counters and records included. */
  flushAll(): Promise<void>;
  /** Release connections and timers. Every later call rejects with a HueyError. */
  close(): Promise<void>;
}
