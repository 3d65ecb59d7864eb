/**
 * Storage on PostgreSQL: huey's PostgresHuey. Messages are rows taken with
 * `FOR UPDATE SKIP LOCKED` under a lease; blocking dequeues and blocked
 * `get()`s wait on LISTEN/NOTIFY; enqueues can join the application's own
 * transaction. The tables are in schema.ts, every statement in sql.ts, the
 * connections in client.ts, the LISTEN side and the waits on it in
 * listener.ts, events in events.ts.
 *
 * @module
 */
import { errorMessage } from "../../_util.ts";
import { HueyError } from "../../errors.ts";
import type { Delivery, DequeueOptions, Storage, TransactionWrites } from "../types.ts";
import { PostgresConnection, transactionRunner } from "./client.ts";
import { PgCounters } from "./counters.ts";
import type { PgQuery } from "./counters.ts";
import { PgCancels } from "./cancels.ts";
import { PgDeliveries } from "./deliveries.ts";
import { PgErrors } from "./errors.ts";
import { PgRecords } from "./records.ts";
import type { PgRunner, PostgresClientLike, PostgresConnectionOptions, Row } from "./client.ts";
import { PgEventFeed } from "./events.ts";
import { PgListener, PgWaits } from "./listener.ts";
import { PostgresNames } from "./names.ts";
import { ensureSchema, initializeSchema } from "./schema.ts";
import {
  enqueueParams,
  fromColumn,
  parseReceipt,
  SCHEDULE_BATCH,
  statements,
  toColumn,
} from "./sql.ts";
import type { Statements } from "./sql.ts";

/**
 * Options of {@link PostgresStorage}.
 *
 * @example Connect by URL, tables in their own schema
 * ```ts
 * import type { PostgresStorageOptions } from "./storage.ts";
 * const options: PostgresStorageOptions = {
 *   name: "app",
 *   url: "postgres://app:secret@db.internal:5432/app",
 *   schema: "jobs",
 * };
 * ```
 */
export interface PostgresStorageOptions extends PostgresConnectionOptions {
  /** The Huey name: every row carries it, so several names share the tables. @default "huey" */
  name?: string;
  /**
   * A postgres.js instance the application created (`postgres(url)`). The
   * storage sends its statements on it and opens its own LISTEN connection
   * with the same options; `close()` leaves it open. The connection options
   * are then ignored.
   * @default none: the storage connects itself
   */
  client?: PostgresClientLike;
  /** What every table, index and sequence name starts with (at most 50 bytes). @default "huey_" */
  tablePrefix?: string;
  /** The schema of the tables. @default the connection's search path (usually `public`) */
  schema?: string;
  /**
   * Create the tables (or migrate them) on first use. With `false` the
   * storage only checks them, and fails with a ConfigurationError until
   * `initializeSchema()` (or a deployment step) has made them.
   * @default true
   */
  createTables?: boolean;
  /** `dequeue({ wait })` waits for a NOTIFY until a message arrives. @default true */
  blocking?: boolean;
}

/** Messages per statement in enqueueMany. */
const BATCH = 5000;

/** `limit` as a SQL LIMIT parameter: NULL means no limit. */
function sqlLimit(limit: number | undefined): number | null {
  return limit === undefined ? null : Math.max(0, Math.floor(limit));
}

/**
 * Huey's storage on PostgreSQL, through npm `postgres` (postgres.js).
 *
 * - Queue: a table; `dequeue` leases the next rows by priority, FIFO within
 *   one, with `FOR UPDATE SKIP LOCKED`, so concurrent consumers never wait
 *   for each other nor take the same row. Concurrent dequeues share one
 *   statement, and so do concurrent `putDataAndAck`s (group commit).
 * - Leases: measured on the server's clock (the `now` of `dequeue`,
 *   `extendLease` and `recoverLeases` is not used), so hosts whose clocks
 *   disagree agree on when a lease ends; `ack` deletes the row;
 *   `putDataAndAck` is fenced (it stores nothing once the lease was lost);
 *   `recoverLeases` puts expired leases back at the front exactly once,
 *   keeping their delivery count.
 * - Waiting: blocking dequeues and `waitForData` LISTEN on a dedicated
 *   connection; every enqueue and every result write NOTIFYs (on commit).
 * - Events: `publishEvent`/`subscribeEvents` over NOTIFY (see events.ts
 *   for payloads past Postgres's 8000-byte limit).
 * - Transactions: `inTransaction(tx)` enqueues inside the application's
 *   open transaction (postgres.js `sql.begin()` or a `pg` client in BEGIN).
 *
 * @example Enqueue, take and acknowledge
 * ```ts
 * import { PostgresStorage } from "./storage.ts";
 * const storage = new PostgresStorage({ name: "app", url: "postgres://postgres@127.0.0.1/postgres" });
 * await storage.enqueue("message", 0);
 * const delivery = await storage.dequeue({ now: Date.now(), leaseSeconds: 30 });
 * if (delivery) await storage.ack(delivery.receipt);
 * await storage.close();
 * ```
 */
export class PostgresStorage implements Storage {
  readonly name: string;
  readonly blocking: boolean;
  readonly priority = true;

  readonly #names: PostgresNames;
  readonly #sql: Statements;
  readonly #connection: PostgresConnection;
  readonly #listener: PgListener;
  readonly #label: string;
  readonly #schema?: string;
  readonly #createTables: boolean;
  readonly #prepare: boolean;
  #ready = false;
  #preparing?: Promise<void>;
  #closed = false;
  readonly #closing = new AbortController();
  readonly #waits: PgWaits;
  readonly #events: PgEventFeed;
  readonly #counters: PgCounters;
  readonly #errors: PgErrors;
  readonly #cancels: PgCancels;
  readonly #deliveries: PgDeliveries;
  readonly #records: PgRecords;

  /**
   * A storage for `options.name`; it connects on first use. Throws a
   * ConfigurationError for a bad name, prefix or schema, a TypeError for a
   * client that is not a postgres.js instance.
   */
  constructor(options: PostgresStorageOptions = {}) {
    const name = options.name ?? "huey";
    this.#names = new PostgresNames(name, options.tablePrefix ?? "huey_", options.schema);
    this.name = name;
    this.blocking = options.blocking ?? true;
    this.#schema = options.schema;
    this.#createTables = options.createTables ?? true;
    this.#prepare = options.prepare ?? true;
    this.#sql = statements(this.#names);
    const label = `PostgresStorage "${name}"`;
    this.#connection = new PostgresConnection(options, label, options.client);
    this.#label = `${label} at ${this.#connection.target}`;
    this.#listener = new PgListener((events) => this.#connection.openListener(events));
    const names = this.#names;
    this.#waits = new PgWaits(this.#listener, {
      channels: { queue: names.queueChannel, data: names.dataChannel },
      closing: this.#closing.signal,
      run: (action, fn) => this.#run(action, fn),
    });
    const query: PgQuery = (...args) => this.#query(...args);
    this.#deliveries = new PgDeliveries({
      name,
      names,
      sql: this.#sql,
      query,
      wakeData: (key) => this.#waits.wakeData(key),
    });
    this.#counters = new PgCounters(query, this.#sql, name);
    const woken = () => this.#waits.queued.notify();
    this.#errors = new PgErrors(query, this.#sql, name, names.queueChannel, woken);
    this.#records = new PgRecords(query, this.#sql, name);
    this.#events = new PgEventFeed({
      notify: async (payloads) => {
        await this.#query("publish events", this.#sql.publish, [names.eventsChannel, payloads]);
      },
      listen: (handler) =>
        this.#run("subscribe to events", () => this.#listener.listen(names.eventsChannel, handler)),
    });
    this.#cancels = new PgCancels({
      notify: (id) =>
        this.#query("publish a cancel", this.#sql.publish, [names.cancelChannel, [id]]),
      listen: (handler) =>
        this.#run(
          "subscribe to cancels",
          () => this.#listener.listen(names.cancelChannel, handler),
        ),
    });
  }

  // -- plumbing ----------------------------------------------------------------------

  #assertOpen(action: string): void {
    if (this.#closed) {
      throw new HueyError(`Cannot ${action}: the storage is closed: ${this.#label}`);
    }
  }

  /**
   * Run `fn` once the tables are there (unless `schema` is false); any
   * failure becomes a HueyError naming `action`.
   */
  async #run<T>(action: string, fn: () => Promise<T>, schema = true): Promise<T> {
    this.#assertOpen(action);
    try {
      if (schema && !this.#ready) await this.#prepareSchema();
      return await fn();
    } catch (error) {
      if (error instanceof HueyError) throw error;
      throw new HueyError(`Cannot ${action}: ${errorMessage(error)}: ${this.#label}`, {
        cause: error,
      });
    }
  }

  /** Run one statement on the pool. */
  #query(action: string, text: string, params: readonly unknown[]): Promise<Row[]> {
    return this.#run(action, () => this.#connection.query(text, params));
  }

  /** Check the tables (one round trip), creating or migrating them when allowed. */
  #prepareSchema(): Promise<void> {
    this.#preparing ??= ensureSchema(this.#connection, this.#names, {
      createTables: this.#createTables,
      schema: this.#schema,
      label: this.#label,
    }).then(() => void (this.#ready = true)).finally(() => (this.#preparing = undefined));
    return this.#preparing;
  }

  /**
   * Create the tables, or migrate them to this library's schema version, in
   * one transaction (a no-op when they are current): for deployments that
   * run with `createTables: false`. Rejects with a ConfigurationError when
   * the database's schema is newer than this library.
   */
  async initializeSchema(): Promise<void> {
    const initialize = () => initializeSchema(this.#connection, this.#names, this.#schema);
    await this.#run("initialize the schema", initialize, false);
    this.#ready = true;
  }

  // -- queue -------------------------------------------------------------------------

  async enqueue(data: string, priority: number): Promise<void> {
    const params = enqueueParams(this.name, this.#names, data, priority);
    await this.#query("enqueue", this.#sql.enqueue, params);
    this.#waits.queued.notify();
  }

  /**
   * Add every message in one statement, or (more than 5000) in one
   * transaction of several: all or none.
   */
  async enqueueMany(items: readonly { data: string; priority: number }[]): Promise<void> {
    this.#assertOpen("enqueue");
    if (!items.length) return;
    const insert = (run: PgRunner, start: number) => {
      const batch = items.slice(start, start + BATCH);
      return run.query(this.#sql.enqueueMany, [
        this.name,
        batch.map((item) => item.priority),
        batch.map((item) => toColumn(item.data)),
        this.#names.queueChannel,
      ]);
    };
    await this.#run("enqueue", async () => {
      if (items.length <= BATCH) return await insert(this.#connection, 0);
      await this.#connection.transaction(async (run) => {
        for (let start = 0; start < items.length; start += BATCH) await insert(run, start);
      });
    });
    this.#waits.queued.notify();
  }

  /**
   * The writes of `enqueue` and `addToSchedule` inside `transaction`, the
   * application's open transaction: a postgres.js handle (`await
   * sql.begin(async (tx) => ...)`) or a `pg` client after `BEGIN`, on the
   * database that holds these tables. The message exists only if the
   * transaction commits; blocked consumers are notified on commit. Throws a
   * TypeError for anything else.
   */
  inTransaction(transaction: unknown): TransactionWrites {
    this.#assertOpen("join a transaction");
    const run: PgRunner = transactionRunner(transaction, this.#prepare, this.#label);
    const write = async (action: string, text: string, params: unknown[]) => {
      await this.#run(`${action} in a transaction`, () => run.query(text, params));
    };
    return {
      enqueue: (data, priority) =>
        write("enqueue", this.#sql.enqueue, enqueueParams(this.name, this.#names, data, priority)),
      addToSchedule: (data, eta) =>
        write("add to the schedule", this.#sql.addToSchedule, [this.name, eta, toColumn(data)]),
    };
  }

  /**
   * Take the next message under a lease, in one statement shared with
   * concurrent dequeues. With `wait` on a blocking storage, LISTEN for
   * enqueues (on first use) and take again at each notification until a
   * message comes, `wait` runs out, `signal` aborts or `close()` is called.
   * The lease starts when the message is taken, on the server's clock
   * (`now` is not used).
   */
  async dequeue(options: DequeueOptions): Promise<Delivery | undefined> {
    this.#assertOpen("dequeue");
    const started = performance.now();
    const wait = options.wait ?? 0;
    const request = { leaseMs: options.leaseSeconds * 1000, peekKey: options.peekKey };
    // A dequeue that waits is a consumer loop's: its finishes take ahead for it (deliveries.ts).
    const take = () => this.#deliveries.take(request, wait > 0 ? options : undefined);
    if (!this.blocking || !(wait > 0)) return await take();
    const signals = options.signal ? [options.signal] : [];
    const delivery = await this.#waits.untilTaken(started + wait * 1000, signals, take);
    this.#assertOpen("dequeue");
    return delivery;
  }

  /** Run a statement on the lease `receipt` names (`$2` id, `$3` token, then `more`). */
  async #onLease(action: string, text: string, receipt: string, ...more: unknown[]) {
    const lease = parseReceipt(receipt);
    if (!lease) return await this.#run(action, async () => false);
    const rows = await this.#query(action, text, [this.name, lease.id, lease.token, ...more]);
    return rows.length > 0;
  }

  ack(receipt: string): Promise<boolean> {
    return this.#onLease("acknowledge a message", this.#sql.ack, receipt);
  }

  /** Store the result and acknowledge, fenced by the lease, batched with concurrent calls. */
  async putDataAndAck(key: string, value: string, receipt: string): Promise<boolean> {
    this.#assertOpen("store a result and acknowledge its message");
    return await this.#deliveries.finish({ key, value, receipt });
  }

  /**
   * The lease `data` is held under now, if a consumer holds it: its receipt
   * and delivery number. For logs (which run replaced a stale one): it
   * scans the leased rows.
   */
  async currentLease(data: string): Promise<{ receipt: string; deliveries: number } | undefined> {
    const rows = await this.#query("find a lease", this.#sql.currentLease, [
      this.name,
      toColumn(data),
    ]);
    if (!rows.length) return undefined;
    return { receipt: `${rows[0].id}.${rows[0].receipt}`, deliveries: Number(rows[0].deliveries) };
  }

  /** Push the lease's end to the server's time plus `leaseSeconds` (`now` is not used). */
  extendLease(receipt: string, _now: number, leaseSeconds: number): Promise<boolean> {
    return this.#onLease("extend a lease", this.#sql.extendLease, receipt, leaseSeconds * 1000);
  }

  /** Put back every message whose lease ended by the server's time (`now` is not used). */
  async recoverLeases(_now: number): Promise<string[]> {
    const rows = await this.#query("recover leases", this.#sql.recover, [
      this.name,
      this.#names.front,
      this.#names.queueChannel,
    ]);
    if (rows.length) this.#waits.queued.notify();
    return rows.sort((a, b) => Number(a.id) - Number(b.id)).map((row) => fromColumn(row.data));
  }

  /** The count a `$1`-only count statement returns. */
  async #count(action: string, text: string): Promise<number> {
    return (await this.#query(action, text, [this.name]))[0].n as number;
  }

  /** The messages a listing statement returns (`$2`: its limit). */
  async #list(action: string, text: string, limit: number | undefined): Promise<string[]> {
    const rows = await this.#query(action, text, [this.name, sqlLimit(limit)]);
    return rows.map((row) => fromColumn(row.data));
  }

  readonly queueSize = (): Promise<number> => this.#count("count the queue", this.#sql.queueSize);
  readonly enqueuedItems = (limit?: number): Promise<string[]> =>
    this.#list("list the queue", this.#sql.enqueuedItems, limit);
  readonly leasedSize = (): Promise<number> =>
    this.#count("count leased messages", this.#sql.leasedSize);
  readonly leasedItems = (limit?: number): Promise<string[]> =>
    this.#list("list leased messages", this.#sql.leasedItems, limit);

  async flushQueue(): Promise<void> {
    await this.#query("flush the queue", this.#sql.flushQueue, [this.name]);
  }

  // -- schedule ----------------------------------------------------------------------

  async addToSchedule(data: string, eta: number): Promise<void> {
    await this.#query("add to the schedule", this.#sql.addToSchedule, [
      this.name,
      eta,
      toColumn(data),
    ]);
  }

  async readSchedule(now: number): Promise<string[]> {
    const rows: Row[] = [];
    for (;;) {
      const batch = await this.#query("read the schedule", this.#sql.readSchedule, [
        this.name,
        now,
      ]);
      rows.push(...batch);
      if (batch.length < SCHEDULE_BATCH) break;
    }
    rows.sort((a, b) => (a.eta as number) - (b.eta as number) || Number(a.id) - Number(b.id));
    return rows.map((row) => fromColumn(row.data));
  }

  scheduleSize(): Promise<number> {
    return this.#count("count the schedule", this.#sql.scheduleSize);
  }

  scheduledItems(limit?: number): Promise<string[]> {
    return this.#list("list the schedule", this.#sql.scheduledItems, limit);
  }

  async flushSchedule(): Promise<void> {
    await this.#query("flush the schedule", this.#sql.flushSchedule, [this.name]);
  }

  // -- result store --------------------------------------------------------------------

  /**
   * Store `value` under `key` with `text` (putData's or putIfEmpty's), and
   * wake this process's waiters on it at once; true if it was stored.
   */
  async #write(text: string, key: string, value: string): Promise<boolean> {
    const stored = toColumn(key);
    const params = [this.name, stored, toColumn(value), this.#names.dataChannel];
    const rows = await this.#query("store data", text, params);
    if (rows.length) this.#waits.wakeData(stored);
    return rows.length > 0;
  }

  async putData(key: string, value: string): Promise<void> {
    await this.#write(this.#sql.putData, key, value);
  }

  async peekData(key: string): Promise<string | undefined> {
    const rows = await this.#query("read data", this.#sql.peekData, [this.name, toColumn(key)]);
    return rows.length ? fromColumn(rows[0].value) : undefined;
  }

  async popData(key: string): Promise<string | undefined> {
    const rows = await this.#query("pop data", this.#sql.popData, [this.name, toColumn(key)]);
    return rows.length ? fromColumn(rows[0].value) : undefined;
  }

  async hasDataForKey(key: string): Promise<boolean> {
    const rows = await this.#query("read data", this.#sql.hasData, [this.name, toColumn(key)]);
    return rows.length > 0;
  }

  putIfEmpty(key: string, value: string): Promise<boolean> {
    return this.#write(this.#sql.putIfEmpty, key, value);
  }

  async deleteData(key: string): Promise<boolean> {
    const rows = await this.#query("delete data", this.#sql.deleteData, [this.name, toColumn(key)]);
    return rows.length > 0;
  }

  resultStoreSize(): Promise<number> {
    return this.#count("count stored data", this.#sql.resultStoreSize);
  }

  async resultItems(): Promise<Map<string, string>> {
    const rows = await this.#query("list stored data", this.#sql.resultItems, [this.name]);
    return new Map(rows.map((row) => [fromColumn(row.key), fromColumn(row.value)]));
  }

  async flushResults(): Promise<void> {
    await this.#query("flush stored data", this.#sql.flushResults, [this.name]);
  }

  /**
   * Wait until `key` holds a value: LISTEN on the data channel (on first
   * use), check the key, then wait for a notification naming it, the
   * timeout, `signal` or `close()` (see {@link PgWaits.untilStored}). True
   * when the key holds a value or a write to it was announced.
   */
  async waitForData(key: string, timeout: number, signal?: AbortSignal): Promise<boolean> {
    this.#assertOpen("wait for data");
    const found = await this.#waits.untilStored(
      toColumn(key),
      timeout,
      signal,
      () => this.hasDataForKey(key),
    );
    this.#assertOpen("wait for data");
    return found;
  }

  // -- counters (counters.ts) ----------------------------------------------------------
  readonly incr: Storage["incr"] = (...args) => this.#counters.incr(...args);
  readonly deleteCounter: Storage["deleteCounter"] = (key) => this.#counters.delete(key);
  readonly flushCounters: Storage["flushCounters"] = () => this.#counters.flush();
  // (records: records.ts)
  readonly putRecord: Storage["putRecord"] = (...args) => this.#records.put(...args);
  readonly getRecord: Storage["getRecord"] = (key) => this.#records.get(key);
  readonly recordItems: Storage["recordItems"] = (...args) => this.#records.items(...args);
  readonly deleteRecord: Storage["deleteRecord"] = (key) => this.#records.delete(key);
  readonly flushRecords: Storage["flushRecords"] = () => this.#records.flush();

  // -- error store (errors.ts) --------------------------------------------------------
  readonly putError: Storage["putError"] = (...args) => this.#errors.put(...args);
  readonly errorItems: Storage["errorItems"] = (limit) => this.#errors.items(sqlLimit(limit));
  readonly deleteError: Storage["deleteError"] = (id) => this.#errors.delete(id);
  readonly requeueError: Storage["requeueError"] = (...args) => this.#errors.requeue(...args);
  readonly flushErrors: Storage["flushErrors"] = () => this.#errors.flush();

  // -- events --------------------------------------------------------------------------

  /**
   * NOTIFY `event` to every process subscribed to this storage's events (at
   * most once). The events of the next 10 ms go out in one statement; an
   * event longer than a NOTIFY payload (7999 bytes) is sent in parts.
   */
  publishEvent(event: string): Promise<void> {
    try {
      this.#assertOpen("publish an event");
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#events.publish(event);
  }

  /** Receive every event published on this storage until `signal` aborts or `close()`. */
  async subscribeEvents(onEvent: (event: string) => void, signal: AbortSignal): Promise<void> {
    this.#assertOpen("subscribe to events");
    await this.#events.subscribe(onEvent, signal);
  }
  // The cancel channel (cancels.ts): a NOTIFY channel of its own.
  readonly publishCancel = (id: string): Promise<void> => this.#cancels.publish(id);
  readonly subscribeCancels = (on: (id: string) => void, signal: AbortSignal): Promise<void> =>
    this.#cancels.subscribe(on, signal);

  // -- lifecycle -----------------------------------------------------------------------

  async flushAll(): Promise<void> {
    await this.#query("flush the storage", this.#sql.flushAll, [this.name]);
  }

  /**
   * Close every connection this storage opened (an application's `client`
   * stays open). Blocked `dequeue` and `waitForData` calls end at once and
   * reject with a HueyError, as does every later call.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    // Events already handed to publishEvent still go out.
    await this.#events.flushed();
    if (this.#closed) return;
    // Messages taken ahead go back to the queue while the pool is open.
    await this.#deliveries.close();
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    await this.#listener.close();
    await this.#connection.close();
  }
}
