/**
 * In-process storage: the backend of immediate mode and of tests.
 *
 * @module
 */
import { HueyError } from "../errors.ts";
import { checkCounterKey, checkIncrement } from "./counter.ts";
import { checkRecord, checkRecordKey, RecordMap } from "./record.ts";
import type { CounterOptions, Delivery, DequeueOptions, ErrorItem, Storage } from "./types.ts";

interface QueuedMessage {
  data: string;
  priority: number;
  /** Tie-breaker: FIFO within a priority; recovered messages get negative numbers. */
  seq: number;
  /** Times handed out so far. */
  deliveries: number;
}

interface Lease {
  message: QueuedMessage;
  until: number;
}

/** Runs before `b` when it has higher priority, or the same priority and came first. */
function before(a: QueuedMessage, b: QueuedMessage): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

/** A binary heap of messages in dequeue order. */
class MessageHeap {
  #items: QueuedMessage[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(message: QueuedMessage): void {
    const items = this.#items;
    items.push(message);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): QueuedMessage | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let first = i;
        if (left < items.length && before(items[left], items[first])) first = left;
        if (right < items.length && before(items[right], items[first])) first = right;
        if (first === i) break;
        [items[i], items[first]] = [items[first], items[i]];
        i = first;
      }
    }
    return top;
  }

  ordered(): QueuedMessage[] {
    return [...this.#items].sort((a, b) => (before(a, b) ? -1 : 1));
  }

  clear(): void {
    this.#items = [];
  }
}

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Name used to namespace this storage. @default "huey" */
  name?: string;
}

/**
 * Storage kept in this process's memory. Priorities, leases and blocking
 * dequeue are supported; nothing survives the process.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./memory.ts";
 * const storage = new MemoryStorage({ name: "tests" });
 * await storage.enqueue("hello", 0);
 * console.log(await storage.queueSize()); // 1
 * ```
 */
export class MemoryStorage implements Storage {
  readonly name: string;
  readonly blocking = true;
  readonly priority = true;

  #queue = new MessageHeap();
  #seq = 0;
  #recoveredSeq = 0;
  #leases = new Map<string, Lease>();
  #schedule: { data: string; eta: number; seq: number }[] = [];
  #data = new Map<string, string>();
  /** Counters, apart from #data; `expires` (ms, on the callers' clock) when they have a ttl. */
  #counters = new Map<string, { value: number; expires?: number }>();
  readonly #records = new RecordMap();
  #errors: ErrorItem[] = [];
  #errorSeq = 0;
  #dataWaiters = new Map<string, Set<() => void>>();
  #queueWaiters = new Set<() => void>();
  #closeWaiters = new Set<() => void>();
  #closed = false;

  /** A new, empty storage. */
  constructor(options: MemoryStorageOptions = {}) {
    this.name = options.name ?? "huey";
  }

  #open(): void {
    if (this.#closed) throw new HueyError(`Cannot use storage: closed: memory "${this.name}"`);
  }

  #push(data: string, priority: number): void {
    this.#queue.push({ data, priority, seq: this.#seq++, deliveries: 0 });
    for (const wake of this.#queueWaiters) wake();
  }

  async enqueue(data: string, priority: number): Promise<void> {
    this.#open();
    this.#push(data, priority);
  }

  async enqueueMany(items: readonly { data: string; priority: number }[]): Promise<void> {
    this.#open();
    for (const item of items) this.#push(item.data, item.priority);
  }

  async dequeue(options: DequeueOptions): Promise<Delivery | undefined> {
    this.#open();
    let message = this.#queue.pop();
    if (message === undefined && options.wait && options.wait > 0) {
      await this.#waitFor(this.#queueWaiters, options.wait, options.signal);
      this.#open();
      message = this.#queue.pop();
    }
    if (message === undefined) return undefined;
    const receipt = crypto.randomUUID();
    const deliveries = ++message.deliveries;
    this.#leases.set(receipt, { message, until: options.now + options.leaseSeconds * 1000 });
    const delivery: Delivery = { data: message.data, receipt, deliveries };
    if (options.peekKey !== undefined) delivery.peeked = this.#data.get(options.peekKey) ?? null;
    return delivery;
  }

  async ack(receipt: string): Promise<boolean> {
    this.#open();
    return this.#leases.delete(receipt);
  }

  async putDataAndAck(key: string, value: string, receipt: string): Promise<boolean> {
    this.#open();
    // Fenced: a finisher whose lease was lost stores nothing. (putData's
    // body runs before its first await: nothing interleaves with the check.)
    if (!this.#leases.delete(receipt)) return false;
    await this.putData(key, value);
    return true;
  }

  async currentLease(data: string): Promise<{ receipt: string; deliveries: number } | undefined> {
    this.#open();
    for (const [receipt, lease] of this.#leases) {
      if (lease.message.data === data) return { receipt, deliveries: lease.message.deliveries };
    }
    return undefined;
  }

  async extendLease(receipt: string, now: number, leaseSeconds: number): Promise<boolean> {
    this.#open();
    const lease = this.#leases.get(receipt);
    if (lease) lease.until = now + leaseSeconds * 1000;
    return lease !== undefined;
  }

  async recoverLeases(now: number): Promise<string[]> {
    this.#open();
    const recovered: string[] = [];
    for (const [receipt, lease] of this.#leases) {
      if (lease.until > now) continue;
      this.#leases.delete(receipt);
      this.#queue.push({ ...lease.message, seq: --this.#recoveredSeq });
      recovered.push(lease.message.data);
    }
    if (recovered.length) { for (const wake of this.#queueWaiters) wake(); }
    return recovered;
  }

  async queueSize(): Promise<number> {
    this.#open();
    return this.#queue.size;
  }

  async enqueuedItems(limit?: number): Promise<string[]> {
    this.#open();
    return this.#queue.ordered().slice(0, limit).map((m) => m.data);
  }

  async leasedSize(): Promise<number> {
    this.#open();
    return this.#leases.size;
  }

  async leasedItems(limit?: number): Promise<string[]> {
    this.#open();
    return [...this.#leases.values()].slice(0, limit).map((lease) => lease.message.data);
  }

  async flushQueue(): Promise<void> {
    this.#open();
    this.#queue.clear();
    this.#leases.clear();
  }

  async addToSchedule(data: string, eta: number): Promise<void> {
    this.#open();
    const item = { data, eta, seq: this.#seq++ };
    // Keep the schedule sorted by eta; equal etas stay in insertion order.
    let lo = 0;
    let hi = this.#schedule.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#schedule[mid].eta <= eta) lo = mid + 1;
      else hi = mid;
    }
    this.#schedule.splice(lo, 0, item);
  }

  async readSchedule(now: number): Promise<string[]> {
    this.#open();
    let due = 0;
    while (due < this.#schedule.length && this.#schedule[due].eta <= now) due++;
    return this.#schedule.splice(0, due).map((item) => item.data);
  }

  async scheduleSize(): Promise<number> {
    this.#open();
    return this.#schedule.length;
  }

  async scheduledItems(limit?: number): Promise<string[]> {
    this.#open();
    return this.#schedule.slice(0, limit).map((item) => item.data);
  }

  async flushSchedule(): Promise<void> {
    this.#open();
    this.#schedule = [];
  }

  async putData(key: string, value: string): Promise<void> {
    this.#open();
    this.#data.set(key, value);
    const waiters = this.#dataWaiters.get(key);
    if (waiters) { for (const wake of waiters) wake(); }
  }

  async peekData(key: string): Promise<string | undefined> {
    this.#open();
    return this.#data.get(key);
  }

  async popData(key: string): Promise<string | undefined> {
    this.#open();
    const value = this.#data.get(key);
    this.#data.delete(key);
    return value;
  }

  async hasDataForKey(key: string): Promise<boolean> {
    this.#open();
    return this.#data.has(key);
  }

  async putIfEmpty(key: string, value: string): Promise<boolean> {
    this.#open();
    if (this.#data.has(key)) return false;
    await this.putData(key, value);
    return true;
  }

  async deleteData(key: string): Promise<boolean> {
    this.#open();
    return this.#data.delete(key);
  }

  async resultStoreSize(): Promise<number> {
    this.#open();
    return this.#data.size;
  }

  async resultItems(): Promise<Map<string, string>> {
    this.#open();
    return new Map(this.#data);
  }

  async flushResults(): Promise<void> {
    this.#open();
    this.#data.clear();
  }

  async waitForData(key: string, timeout: number, signal?: AbortSignal): Promise<boolean> {
    this.#open();
    if (this.#data.has(key)) return true;
    let waiters = this.#dataWaiters.get(key);
    if (!waiters) this.#dataWaiters.set(key, waiters = new Set());
    try {
      await this.#waitFor(waiters, timeout, signal);
    } finally {
      if (waiters.size === 0) this.#dataWaiters.delete(key);
    }
    return this.#data.has(key);
  }

  /** Resolve when one of `waiters` is woken, after `timeout` seconds, on abort or on close. */
  #waitFor(waiters: Set<() => void>, timeout: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        this.#closeWaiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeout * 1000));
      waiters.add(done);
      this.#closeWaiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
      if (signal?.aborted) done();
    });
  }

  async incr(key: string, amount = 1, options?: CounterOptions): Promise<number> {
    this.#open();
    const { ttlMs, now } = checkIncrement(key, amount, options, `MemoryStorage "${this.name}"`);
    let counter = this.#counters.get(key);
    if (counter?.expires !== undefined && counter.expires <= now) {
      this.#counters.delete(key);
      counter = undefined;
    }
    if (amount === 0) return counter?.value ?? 0;
    if (!counter) {
      if (ttlMs === undefined) counter = { value: 0 };
      else {
        // A new window: sweep the expired ones, so dead windows do not pile up.
        for (const [k, c] of this.#counters) {
          if (c.expires !== undefined && c.expires <= now) this.#counters.delete(k);
        }
        counter = { value: 0, expires: now + ttlMs };
      }
      this.#counters.set(key, counter);
    }
    return counter.value += amount;
  }

  async deleteCounter(key: string): Promise<boolean> {
    this.#open();
    return this.#counters.delete(checkCounterKey(key, `MemoryStorage "${this.name}"`));
  }

  async flushCounters(): Promise<void> {
    this.#open();
    this.#counters.clear();
  }

  // -- records (record.ts) ---------------------------------------------------

  async putRecord(key: string, value: string, ttl: number, now: number): Promise<void> {
    this.#open();
    this.#records.put(
      key,
      value,
      checkRecord(key, value, ttl, `MemoryStorage "${this.name}"`),
      now,
    );
  }

  async getRecord(key: string, now: number): Promise<string | undefined> {
    this.#open();
    return this.#records.get(checkRecordKey(key, `MemoryStorage "${this.name}"`), now);
  }

  async recordItems(prefix: string, now: number, limit?: number): Promise<Map<string, string>> {
    this.#open();
    return this.#records.items(checkRecordKey(prefix, `MemoryStorage "${this.name}"`), now, limit);
  }

  async deleteRecord(key: string): Promise<boolean> {
    this.#open();
    return this.#records.delete(key);
  }

  async flushRecords(): Promise<void> {
    this.#open();
    this.#records.clear();
  }

  async putError(data: string, reason: string, now: number, info?: string): Promise<void> {
    this.#open();
    const item: ErrorItem = { id: String(++this.#errorSeq), data, reason, time: now };
    if (info !== undefined) item.info = info;
    this.#errors.push(item);
  }

  async errorItems(limit?: number): Promise<ErrorItem[]> {
    this.#open();
    return this.#errors.slice(0, limit).map((item) => ({ ...item }));
  }

  async deleteError(id: string): Promise<boolean> {
    this.#open();
    const at = this.#errors.findIndex((item) => item.id === id);
    if (at >= 0) this.#errors.splice(at, 1);
    return at >= 0;
  }

  async requeueError(id: string, priority: number): Promise<boolean> {
    this.#open();
    const item = this.#errors.find((kept) => kept.id === id);
    if (!item) return false;
    this.#push(item.data, priority);
    this.#errors.splice(this.#errors.indexOf(item), 1);
    return true;
  }

  async flushErrors(): Promise<void> {
    this.#open();
    this.#errors = [];
  }

  async flushAll(): Promise<void> {
    await this.flushQueue();
    await this.flushSchedule();
    await this.flushResults();
    await this.flushCounters();
    await this.flushRecords();
    await this.flushErrors();
  }

  close(): Promise<void> {
    this.#closed = true;
    for (const wake of [...this.#closeWaiters]) wake();
    return Promise.resolve();
  }
}
