/**
 * Storage that keeps nothing (huey's BlackHoleHuey).
 *
 * @module
 */
import { HueyError } from "../errors.ts";
import { checkCounterKey, checkIncrement } from "./counter.ts";
import { checkRecord } from "./record.ts";
import type { CounterOptions, Delivery, DequeueOptions, ErrorItem, Storage } from "./types.ts";

/** Options of {@link BlackHoleStorage}. */
export interface BlackHoleStorageOptions {
  /** Name of the storage (nothing is stored under it). @default "huey" */
  name?: string;
}

/**
 * Storage where every write is a successful no-op and every read finds
 * nothing: the queue, schedule, result store and error store are always
 * empty. Useful to switch task queueing off (tasks are accepted and dropped)
 * or to measure the cost of everything but storage.
 *
 * `putIfEmpty` returns `true`, as huey's BlackHoleStorage does: the key is
 * always empty, so the write "succeeds" and a task lock can always be taken
 * (it never blocks, and never excludes anyone either). `ack`,
 * `extendLease` and `deleteData` return `false`: there is never anything to
 * act on. A counter is always new: `incr` returns `amount` (its value
 * after this increment of a counter that starts at 0), so a rate limit
 * never refuses anyone (limits of at least one call) and every chord
 * member looks like the first. After `close()` every call rejects with a {@link HueyError}, as the
 * contract requires.
 *
 * By its nature it cannot pass the shared conformance suite (nothing comes
 * back), so `tests/storage_blackhole_test.ts` tests this behaviour instead.
 *
 * @example Accept and drop everything
 * ```ts
 * import { BlackHoleStorage } from "./blackhole.ts";
 * const storage = new BlackHoleStorage();
 * await storage.enqueue("lost", 0);
 * console.log(await storage.queueSize()); // 0
 * console.log(await storage.putIfEmpty("lock:x", "1")); // true
 * ```
 */
export class BlackHoleStorage implements Storage {
  readonly name: string;
  readonly blocking = false;
  readonly priority = false;

  #closed = false;

  /** A storage that keeps nothing. */
  constructor(options: BlackHoleStorageOptions = {}) {
    this.name = options.name ?? "huey";
  }

  /** Resolve to `value`, or reject once closed. */
  #answer<T>(action: string, value: T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new HueyError(`Cannot ${action}: the storage is closed: BlackHoleStorage "${this.name}"`),
      );
    }
    return Promise.resolve(value);
  }

  enqueue(_data: string, _priority: number): Promise<void> {
    return this.#answer("enqueue", undefined);
  }

  enqueueMany(_items: readonly { data: string; priority: number }[]): Promise<void> {
    return this.#answer("enqueue", undefined);
  }

  dequeue(_options: DequeueOptions): Promise<Delivery | undefined> {
    return this.#answer("dequeue", undefined);
  }

  ack(_receipt: string): Promise<boolean> {
    return this.#answer("acknowledge a message", false);
  }

  extendLease(_receipt: string, _now: number, _leaseSeconds: number): Promise<boolean> {
    return this.#answer("extend a lease", false);
  }

  recoverLeases(_now: number): Promise<string[]> {
    return this.#answer("recover leases", []);
  }

  queueSize(): Promise<number> {
    return this.#answer("count the queue", 0);
  }

  enqueuedItems(_limit?: number): Promise<string[]> {
    return this.#answer("list the queue", []);
  }

  leasedSize(): Promise<number> {
    return this.#answer("count leased messages", 0);
  }

  leasedItems(_limit?: number): Promise<string[]> {
    return this.#answer("list leased messages", []);
  }

  flushQueue(): Promise<void> {
    return this.#answer("flush the queue", undefined);
  }

  addToSchedule(_data: string, _eta: number): Promise<void> {
    return this.#answer("add to the schedule", undefined);
  }

  readSchedule(_now: number): Promise<string[]> {
    return this.#answer("read the schedule", []);
  }

  scheduleSize(): Promise<number> {
    return this.#answer("count the schedule", 0);
  }

  scheduledItems(_limit?: number): Promise<string[]> {
    return this.#answer("list the schedule", []);
  }

  flushSchedule(): Promise<void> {
    return this.#answer("flush the schedule", undefined);
  }

  putData(_key: string, _value: string): Promise<void> {
    return this.#answer("store data", undefined);
  }

  peekData(_key: string): Promise<string | undefined> {
    return this.#answer("read data", undefined);
  }

  popData(_key: string): Promise<string | undefined> {
    return this.#answer("pop data", undefined);
  }

  hasDataForKey(_key: string): Promise<boolean> {
    return this.#answer("read data", false);
  }

  /** Always `true`: the key is always empty, so a lock is always taken. */
  putIfEmpty(_key: string, _value: string): Promise<boolean> {
    return this.#answer("store data", true);
  }

  deleteData(_key: string): Promise<boolean> {
    return this.#answer("delete data", false);
  }

  resultStoreSize(): Promise<number> {
    return this.#answer("count stored data", 0);
  }

  resultItems(): Promise<Map<string, string>> {
    return this.#answer("list stored data", new Map());
  }

  flushResults(): Promise<void> {
    return this.#answer("flush stored data", undefined);
  }

  /** `amount`: the counter is always new (nothing was kept), so that is its value now. */
  incr(key: string, amount = 1, options?: CounterOptions): Promise<number> {
    try {
      checkIncrement(key, amount, options, `BlackHoleStorage "${this.name}"`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#answer("increment a counter", amount);
  }

  deleteCounter(key: string): Promise<boolean> {
    try {
      checkCounterKey(key, `BlackHoleStorage "${this.name}"`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#answer("delete a counter", false);
  }

  flushCounters(): Promise<void> {
    return this.#answer("flush counters", undefined);
  }

  // -- records: checked, then dropped ------------------------------------------

  putRecord(key: string, value: string, ttl: number, _now: number): Promise<void> {
    try {
      checkRecord(key, value, ttl, `BlackHoleStorage "${this.name}"`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#answer("store a record", undefined);
  }

  getRecord(_key: string, _now: number): Promise<string | undefined> {
    return this.#answer("read a record", undefined);
  }

  recordItems(_prefix: string, _now: number, _limit?: number): Promise<Map<string, string>> {
    return this.#answer("list records", new Map());
  }

  deleteRecord(_key: string): Promise<boolean> {
    return this.#answer("delete a record", false);
  }

  flushRecords(): Promise<void> {
    return this.#answer("flush records", undefined);
  }

  putError(_data: string, _reason: string, _now: number): Promise<void> {
    return this.#answer("store an error", undefined);
  }

  errorItems(_limit?: number): Promise<ErrorItem[]> {
    return this.#answer("list errors", []);
  }

  deleteError(_id: string): Promise<boolean> {
    return this.#answer("delete an error", false);
  }

  requeueError(_id: string, _priority: number): Promise<boolean> {
    return this.#answer("requeue an error", false);
  }

  flushErrors(): Promise<void> {
    return this.#answer("flush errors", undefined);
  }

  flushAll(): Promise<void> {
    return this.#answer("flush the storage", undefined);
  }

  /** Later calls reject with a {@link HueyError}. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
