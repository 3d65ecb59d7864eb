/**
 * SQLite storage on `node:sqlite` (Deno 2, Node >= 22.13, Bun): the embedded
 * default, safe for several producer and consumer processes on one file.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { sqliteModule } from "../runtime.ts";
import { closeSync, existsSync, openSync } from "node:fs";
import { resolve } from "node:path";
import { errorMessage } from "../_util.ts";
import { ConfigurationError, HueyError } from "../errors.ts";
import { Batcher } from "./batcher.ts";
import { initializeSchema, readyTables, schemaStep } from "./sqlite_schema.ts";
import { decodeUtf8, notUtf8 } from "./utf8.ts";
import { Wakeup } from "./wakeup.ts";
import { SqliteWaits } from "./sqlite_watch.ts";
import { COUNTER_SQL, SqliteCounters } from "./sqlite_counters.ts";
import { ERROR_SQL, SqliteErrors } from "./sqlite_errors.ts";
import { RECORD_SQL, SqliteRecords } from "./sqlite_records.ts";
import type { Delivery, DequeueOptions, Storage } from "./types.ts";

/** Options of {@link SqliteStorage}. */
export interface SqliteStorageOptions {
  /** Name used to namespace this storage: several names can share one file. @default "huey" */
  name?: string;
  /** Path of the database file; it is created when missing (its directory is not). @default "huey.db" */
  filename?: string;
  /**
   * Seconds to wait for another connection's write lock before an operation
   * fails (SQLite's busy timeout). The wait blocks the calling thread.
   * @default 5
   */
  busyTimeout?: number;
  /**
   * Create the tables (or bring them to this version) when the storage
   * opens. With false, nothing is created: run `initializeSchema()` once,
   * as a deployment step, and until then every operation rejects with a
   * ConfigurationError saying so (sqlite_schema.ts has the versions).
   * @default true
   */
  createTables?: boolean;
  /**
   * Wake a sleeping consumer or a blocked `get()` when another process
   * commits to the file (a watch on its `-wal` file; see sqlite_watch.ts).
   * With false, other processes' writes are seen at the next poll only: for
   * a filesystem whose change events misbehave (some network mounts).
   * @default true
   */
  watch?: boolean;
}

/*
 * Text is read back as `CAST(... AS BLOB)` and decoded here: Deno's
 * node:sqlite cuts TEXT values at the first NUL character, and the contract
 * says messages come back byte for byte. ignoreBOM keeps a leading U+FEFF.
 * Messages handed out to run (dequeue, readSchedule) are decoded strictly
 * (see utf8.ts); listings and stored values leniently.
 */
const SQL = {
  begin: "BEGIN IMMEDIATE",
  commit: "COMMIT",
  rollback: "ROLLBACK",
  enqueue: "INSERT INTO huey_queue (name, priority, data) VALUES (?, ?, ?)",
  dequeue: `UPDATE huey_queue SET receipt = ?, lease_until = ?, deliveries = deliveries + 1
    WHERE id = (SELECT id FROM huey_queue WHERE name = ? AND receipt IS NULL
                ORDER BY priority DESC, id LIMIT 1)
    RETURNING id, deliveries, CAST(data AS BLOB) AS data`,
  ack: "DELETE FROM huey_queue WHERE id = ? AND name = ? AND receipt = ?",
  discard: "DELETE FROM huey_queue WHERE id = ?",
  extendLease: "UPDATE huey_queue SET lease_until = ? WHERE id = ? AND name = ? AND receipt = ?",
  anyExpired: `SELECT 1 AS found FROM huey_queue
    WHERE name = ? AND receipt IS NOT NULL AND lease_until <= ? LIMIT 1`,
  expired: `SELECT id, CAST(data AS BLOB) AS data FROM huey_queue
    WHERE name = ? AND receipt IS NOT NULL AND lease_until <= ? ORDER BY id DESC`,
  requeue: `UPDATE huey_queue SET receipt = NULL, lease_until = NULL,
    id = (SELECT MIN(id) FROM huey_queue) - 1 WHERE id = ?`,
  queueSize: "SELECT COUNT(*) AS n FROM huey_queue WHERE name = ? AND receipt IS NULL",
  enqueuedItems: `SELECT CAST(data AS BLOB) AS data FROM huey_queue
    WHERE name = ? AND receipt IS NULL ORDER BY priority DESC, id LIMIT ?`,
  leasedSize: "SELECT COUNT(*) AS n FROM huey_queue WHERE name = ? AND receipt IS NOT NULL",
  leasedItems: `SELECT CAST(data AS BLOB) AS data FROM huey_queue
    WHERE name = ? AND receipt IS NOT NULL ORDER BY id LIMIT ?`,
  flushQueue: "DELETE FROM huey_queue WHERE name = ?",
  addToSchedule: "INSERT INTO huey_schedule (name, eta, data) VALUES (?, ?, ?)",
  anyDue: "SELECT 1 AS found FROM huey_schedule WHERE name = ? AND eta <= ? LIMIT 1",
  readSchedule: `DELETE FROM huey_schedule WHERE name = ? AND eta <= ?
    RETURNING id, eta, CAST(data AS BLOB) AS data`,
  discardScheduled: "DELETE FROM huey_schedule WHERE id = ?",
  scheduleSize: "SELECT COUNT(*) AS n FROM huey_schedule WHERE name = ?",
  scheduledItems: `SELECT CAST(data AS BLOB) AS data FROM huey_schedule
    WHERE name = ? ORDER BY eta, id LIMIT ?`,
  flushSchedule: "DELETE FROM huey_schedule WHERE name = ?",
  putData: `INSERT INTO huey_kv (name, key, value) VALUES (?, ?, ?)
    ON CONFLICT (name, key) DO UPDATE SET value = excluded.value`,
  peekData: "SELECT CAST(value AS BLOB) AS value FROM huey_kv WHERE name = ? AND key = ?",
  popData: "DELETE FROM huey_kv WHERE name = ? AND key = ? RETURNING CAST(value AS BLOB) AS value",
  hasData: "SELECT 1 AS found FROM huey_kv WHERE name = ? AND key = ?",
  putIfEmpty: "INSERT OR IGNORE INTO huey_kv (name, key, value) VALUES (?, ?, ?)",
  deleteData: "DELETE FROM huey_kv WHERE name = ? AND key = ?",
  resultStoreSize: "SELECT COUNT(*) AS n FROM huey_kv WHERE name = ?",
  resultItems: `SELECT CAST(key AS BLOB) AS key, CAST(value AS BLOB) AS value
    FROM huey_kv WHERE name = ?`,
  flushResults: "DELETE FROM huey_kv WHERE name = ?",
  ...ERROR_SQL,
  ...COUNTER_SQL,
  ...RECORD_SQL,
} as const;

type Statements = { -readonly [K in keyof typeof SQL]: StatementSync };
/** The statements that list messages. */
type Listing = "enqueuedItems" | "leasedItems" | "scheduledItems";

/** Every statement of {@link SQL}, prepared on `db` (whose tables must be current). */
function prepareAll(db: DatabaseSync): Statements {
  const sql = {} as Statements;
  for (const key of Object.keys(SQL) as (keyof typeof SQL)[]) sql[key] = db.prepare(SQL[key]);
  return sql;
}

/**
 * A write that changes nothing: SQLite opens a file it cannot write
 * read-only, and says so only at the first write. Without this a consumer
 * on a read-only file would start, then fail every poll.
 */
function writeCheck(db: DatabaseSync): void {
  db.exec("DELETE FROM huey_kv WHERE 0");
}

type Row = Record<string, unknown>;

/**
 * Whether opening `file` failed because it cannot be written: SQLite says
 * SQLITE_READONLY at the first write, or SQLITE_CANTOPEN when a read-only
 * filesystem keeps it from creating the WAL's files (then the file itself
 * refuses to open for writing).
 */
function isReadOnly(err: unknown, file: string): boolean {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  if (code === 8 || /readonly database/.test(errorMessage(err))) return true;
  if (code !== 14 || !existsSync(file)) return false;
  try {
    closeSync(openSync(file, "r+"));
    return false;
  } catch (probe) {
    return ["EROFS", "EACCES", "EPERM"].includes((probe as { code?: string }).code ?? "");
  }
}

/** Pages between checkpoints once the disk has been full (see SqliteStorage's #diskFull). */
const FULL_DISK_CHECKPOINT = 64;

/** SQLITE_FULL ("database or disk is full"), as node:sqlite reports it on every runtime. */
function isDiskFull(err: unknown): boolean {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return code === 13 || (code === undefined && /database or disk is full/.test(errorMessage(err)));
}

const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * A receipt is `<row id>.<random token>`: acknowledging finds the row by its
 * primary key (no index on the token to keep up to date), and the token
 * proves the lease is still this one.
 */
function parseReceipt(receipt: string): { id: number; token: string } | undefined {
  const dot = receipt.indexOf(".");
  const id = Number(receipt.slice(0, dot));
  if (dot <= 0 || !Number.isSafeInteger(id)) return undefined;
  return { id, token: receipt.slice(dot + 1) };
}

function acknowledge(sql: Statements, name: string, receipt: string): boolean {
  const lease = parseReceipt(receipt);
  return lease !== undefined && Number(sql.ack.run(lease.id, name, lease.token).changes) > 0;
}

function text(value: unknown): string {
  return decoder.decode(value as Uint8Array);
}

/** `options` with their defaults, checked: a TypeError or RangeError naming a bad one. */
function checkOptions(options: SqliteStorageOptions) {
  const { name = "huey", filename = "huey.db", busyTimeout = 5 } = options;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot create SqliteStorage: name must be a non-empty string: ${name}`);
  }
  if (typeof filename !== "string" || filename === "") {
    throw new TypeError(
      `Cannot create SqliteStorage: filename must be a non-empty string: ${filename}`,
    );
  }
  if (typeof busyTimeout !== "number" || !(busyTimeout >= 0) || !Number.isFinite(busyTimeout)) {
    throw new RangeError(
      `Cannot create SqliteStorage: busyTimeout must be a finite number of seconds >= 0: ${busyTimeout}`,
    );
  }
  return { name, filename, busyTimeout };
}

/**
 * The error to throw when the SqliteStorage `name` could not open
 * `filename` (`where`, resolved) because of `err`: a ConfigurationError for
 * tables it cannot use, a HueyError saying read-only where that is why.
 */
function openFailure(err: unknown, name: string, filename: string, where: string): HueyError {
  const what = `Cannot open SqliteStorage "${name}"`;
  if (err instanceof ConfigurationError) {
    return new ConfigurationError(`${what}: ${err.message}`, { cause: err });
  }
  // Deno's message already ends with the file name; say it once.
  let why = errorMessage(err).replace(`: ${filename}`, "");
  if (isReadOnly(err, where)) why = `the database is read-only (${why})`;
  return new HueyError(`${what}: ${why}: ${where}`, { cause: err });
}

/** SQLite's LIMIT for an optional `limit`: -1 means no limit. */
function sqlLimit(limit: number | undefined): number {
  return limit === undefined ? -1 : Math.max(0, Math.floor(limit));
}

/**
 * Storage in a SQLite database file, through `node:sqlite`.
 *
 * Several processes (producers and consumers) may share one file: the
 * database runs in WAL mode with `synchronous=NORMAL` and a busy timeout,
 * every operation is a single statement or one `BEGIN IMMEDIATE`
 * transaction, and dequeued messages are leased (a receipt and a
 * `lease_until` column) until acknowledged. Priorities are supported;
 * `dequeue` does not block (it ignores `wait`), so consumers poll.
 *
 * The database is opened in the constructor, which throws a
 * {@link HueyError} naming the file when it cannot be opened, or when it
 * can only be read (a read-only file or filesystem: every dequeue writes,
 * so a consumer could do nothing but fail). Calls are
 * synchronous underneath: a call waiting for another process's write lock
 * blocks this thread for up to `busyTimeout` seconds.
 *
 * @example Queue a message and take it under a lease
 * ```ts
 * import { SqliteStorage } from "./sqlite.ts";
 * const storage = new SqliteStorage({ name: "demo", filename: ":memory:" });
 * await storage.enqueue("hello", 0);
 * const delivery = await storage.dequeue({ now: Date.now(), leaseSeconds: 30 });
 * console.log(delivery?.data); // "hello"
 * if (delivery) await storage.ack(delivery.receipt);
 * await storage.close();
 * ```
 */
export class SqliteStorage implements Storage {
  readonly name: string;
  readonly blocking = false;
  readonly priority = true;
  /** The database file, as given in the options. */
  readonly filename: string;

  #db: DatabaseSync;
  /** Prepared once the tables are there (at once, unless `createTables: false`). */
  #sql?: Statements;
  /** The file as shown in error messages: absolute, resolved when opened. */
  #where: string;
  #closed = false;
  /** A write has failed for lack of space (see #diskFull). */
  #wasFull = false;
  /** Woken by this instance's enqueues (see waitForEnqueue). */
  readonly #queued = new Wakeup();
  /** Woken by this instance's writes to the result store (see waitForData). */
  readonly #stored = new Wakeup();
  /** Sleeps that these and other processes' commits end (see sqlite_watch.ts). */
  #waits: SqliteWaits;
  readonly #takes = new Batcher<DequeueOptions, Delivery | undefined>((r) => this.#takeBatch(r));
  readonly #finishes = new Batcher<{ key: string; value: string; receipt: string }, boolean>(
    (r) => this.#finishBatch(r),
  );
  readonly #counters = new SqliteCounters(
    this,
    (action, fn) => this.#run(action, fn),
    (action, fn) => this.#transaction(action, fn),
  );
  readonly #errors = new SqliteErrors(
    this,
    (action, fn) => this.#run(action, fn),
    (action, fn) => this.#transaction(action, fn),
    () => this.#queued.notify(),
  );
  readonly #records = new SqliteRecords(this, (action, fn) => this.#run(action, fn));

  /**
   * Open (creating if needed) the database and its tables.
   *
   * @throws {HueyError} when the file cannot be opened or initialised, or is read-only.
   * @throws {RangeError} when `busyTimeout` is negative or not finite.
   */
  constructor(options: SqliteStorageOptions = {}) {
    const { name, filename, busyTimeout } = checkOptions(options);
    this.name = name;
    this.filename = filename;
    this.#where = filename === ":memory:" || filename.startsWith("file:")
      ? filename
      : resolve(filename);
    // Outside the try: a runtime without node:sqlite says so in its own line.
    const { DatabaseSync } = sqliteModule();
    let db: DatabaseSync | undefined;
    try {
      const opened = db = new DatabaseSync(filename, { timeout: Math.round(busyTimeout * 1000) });
      opened.prepare("PRAGMA journal_mode = WAL").get();
      opened.exec("PRAGMA synchronous = NORMAL");
      opened.exec("PRAGMA wal_autocheckpoint = 4000");
      this.#db = opened;
      const watched = options.watch !== false && filename !== ":memory:" &&
        !filename.startsWith("file:");
      this.#waits = new SqliteWaits(
        opened,
        watched ? this.#where : undefined,
        this.#queued,
        this.#stored,
      );
      // With createTables: false and no current tables, #prepare() tries again at each use.
      const create = options.createTables ?? true;
      if (!readyTables(opened, this.#where, create, () => writeCheck(opened))) {
        this.#sql = prepareAll(opened);
      }
    } catch (err) {
      try {
        db?.close();
      } catch { /* already failed; report the first error */ }
      throw openFailure(err, name, filename, this.#where);
    }
  }

  /** Run `fn` on the open database; wrap any failure in a HueyError naming `action`. */
  #run<T>(action: string, fn: (sql: Statements) => T): T {
    this.#assertOpen(action);
    const sql = this.#sql ?? this.#prepare(action);
    try {
      return fn(sql);
    } catch (err) {
      if (isDiskFull(err)) this.#diskFull();
      throw new HueyError(
        `Cannot ${action}: ${errorMessage(err)}: SqliteStorage "${this.name}" at ${this.#where}`,
        { cause: err },
      );
    }
  }

  /** Throw a HueyError naming `action` once the storage is closed. */
  #assertOpen(action: string): void {
    if (this.#closed) {
      throw new HueyError(
        `Cannot ${action}: the storage is closed: SqliteStorage "${this.name}" at ${this.#where}`,
      );
    }
  }

  /**
   * The statements once the tables are current (with `createTables: false`
   * they are prepared at first use); a ConfigurationError naming `action`
   * while they are missing or of another version.
   */
  #prepare(action: string): Statements {
    const db = this.#db;
    const check = () => readyTables(db, this.#where, false, () => writeCheck(db));
    const problem = schemaStep(`Cannot ${action}`, this.#where, check);
    if (problem) throw new ConfigurationError(`Cannot ${action}: ${problem}: ${this.#label}`);
    return (this.#sql = prepareAll(db));
  }

  /**
   * Create the tables, or bring them to this version's (a no-op when they
   * are current), in one transaction: the deployment step of
   * `createTables: false`. Rejects with a ConfigurationError, changing
   * nothing, when the file's tables are of a newer version.
   */
  async initializeSchema(): Promise<void> {
    this.#assertOpen("initialize the schema");
    const db = this.#db;
    schemaStep(`Cannot initialize the schema of ${this.#label}`, this.#where, () => {
      initializeSchema(db, this.#where, () => writeCheck(db));
      this.#sql ??= prepareAll(db);
    });
  }

  get #label(): string {
    return `SqliteStorage "${this.name}"`;
  }

  /**
   * A write failed for lack of space. The write-ahead log only shrinks back
   * (is reused from its start) after a checkpoint, and SQLite checkpoints
   * every `wal_autocheckpoint` pages (4,000 here: 16 MB): on a disk with
   * less than that free, the log would eat whatever space comes back and
   * the storage would stay full for good. So from now on this connection
   * checkpoints every 64 pages (256 kB), and tries one now (PASSIVE: it
   * never waits for other connections; it fails harmlessly when the
   * database file itself cannot grow).
   */
  #diskFull(): void {
    try {
      if (!this.#wasFull) this.#db.exec(`PRAGMA wal_autocheckpoint = ${FULL_DISK_CHECKPOINT}`);
      this.#wasFull = true;
      this.#db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get();
    } catch { /* still full: the caller reports the write's own error */ }
  }

  /** Run `fn` in one `BEGIN IMMEDIATE` transaction (takes the write lock first). */
  #transaction<T>(action: string, fn: (sql: Statements) => T): T {
    return this.#run(action, (sql) => {
      sql.begin.run();
      try {
        const out = fn(sql);
        sql.commit.run();
        return out;
      } catch (err) {
        if (this.#db.isTransaction) sql.rollback.run();
        throw err;
      }
    });
  }

  // -- queue ---------------------------------------------------------------

  async enqueue(data: string, priority: number): Promise<void> {
    this.#run("enqueue", (sql) => sql.enqueue.run(this.name, priority, data));
    this.#queued.notify();
  }

  async enqueueMany(items: readonly { data: string; priority: number }[]): Promise<void> {
    if (items.length === 0) return this.#run("enqueue", () => undefined);
    this.#transaction("enqueue", (sql) => {
      for (const item of items) sql.enqueue.run(this.name, item.priority, item.data);
    });
    this.#queued.notify();
  }

  /** Sleep up to `seconds` (the polling delay), ending at an enqueue here or a commit elsewhere. */
  async waitForEnqueue(seconds: number, signal?: AbortSignal): Promise<void> {
    this.#run("wait for messages", () => undefined);
    await this.#waits.forEnqueue(seconds * 1000, signal);
  }

  async dequeue(options: DequeueOptions): Promise<Delivery | undefined> {
    this.#run("dequeue", () => undefined);
    return await this.#takes.add(options);
  }

  /** Concurrent dequeues in one transaction (one commit instead of one each). */
  async #takeBatch(requests: DequeueOptions[]): Promise<(Delivery | undefined)[]> {
    this.#waits.dequeuing();
    // One read per peek key and batch: the transaction sees one value anyway.
    const peeks = new Map<string, string | null>();
    const take = (sql: Statements, options: DequeueOptions): Delivery | undefined => {
      const token = crypto.randomUUID();
      const until = options.now + options.leaseSeconds * 1000;
      let row: Row | undefined;
      let data: string | undefined;
      while (data === undefined) {
        row = sql.dequeue.get(token, until, this.name) as Row | undefined;
        if (!row) return undefined;
        data = decodeUtf8(row.data as Uint8Array);
        // Not UTF-8: not run, not lost; kept in the error store, and the next one taken.
        if (data === undefined) this.#setAside(sql, row, "the queue", options.now);
      }
      const delivery: Delivery = {
        data,
        receipt: `${row!.id}.${token}`,
        deliveries: row!.deliveries as number,
      };
      const peekKey = options.peekKey;
      if (peekKey === undefined) return delivery;
      let peeked = peeks.get(peekKey);
      if (peeked === undefined) {
        const found = sql.peekData.get(this.name, peekKey) as Row | undefined;
        peeked = found ? text(found.value) : null;
        peeks.set(peekKey, peeked);
      }
      delivery.peeked = peeked;
      return delivery;
    };
    // Even a single take runs in an explicit transaction: in autocommit,
    // node:sqlite's get() hands back the RETURNING row and ignores the
    // failure of the implicit commit that follows (SQLITE_FULL on a full
    // disk), so a message whose lease was never stored would run, again and
    // again. An explicit COMMIT reports it, and nothing is handed out.
    return this.#transaction("dequeue", (sql) => requests.map((options) => take(sql, options)));
  }

  /** Move the message in `row`, from `from`, to the error store: its bytes are not valid UTF-8. */
  #setAside(sql: Statements, row: Row, from: "the queue" | "the schedule", now: number): void {
    const where = `${from} of SqliteStorage "${this.name}" at ${this.#where}`;
    const { data, reason } = notUtf8(row.data as Uint8Array, where);
    sql.putError.run(this.name, data, reason, now, null);
    (from === "the queue" ? sql.discard : sql.discardScheduled).run(row.id as number);
  }

  async ack(receipt: string): Promise<boolean> {
    return this.#run("acknowledge a message", (sql) => {
      return acknowledge(sql, this.name, receipt);
    });
  }

  async putDataAndAck(key: string, value: string, receipt: string): Promise<boolean> {
    this.#run("store a result and acknowledge its message", () => undefined);
    return await this.#finishes.add({ key, value, receipt });
  }

  /**
   * Concurrent putDataAndAck calls in one transaction. Each acknowledges
   * first and stores only if that worked: a finisher whose lease ran out
   * (its message may have run again since) must not overwrite the result of
   * the run that replaced it.
   */
  async #finishBatch(
    requests: { key: string; value: string; receipt: string }[],
  ): Promise<boolean[]> {
    const acknowledged = this.#transaction(
      "store a result and acknowledge its message",
      (sql) =>
        requests.map(({ key, value, receipt }) => {
          if (!acknowledge(sql, this.name, receipt)) return false;
          sql.putData.run(this.name, key, value);
          return true;
        }),
    );
    if (acknowledged.includes(true)) this.#stored.notify();
    return acknowledged;
  }

  async extendLease(receipt: string, now: number, leaseSeconds: number): Promise<boolean> {
    return this.#run("extend a lease", (sql) => {
      const until = now + leaseSeconds * 1000;
      const lease = parseReceipt(receipt);
      if (!lease) return false;
      return Number(sql.extendLease.run(until, lease.id, this.name, lease.token).changes) > 0;
    });
  }

  async recoverLeases(now: number): Promise<string[]> {
    // A cheap read first, so the common case (nothing expired) takes no write lock.
    const any = this.#run("recover leases", (sql) => sql.anyExpired.get(this.name, now));
    if (!any) return [];
    return this.#transaction("recover leases", (sql) => {
      const rows = sql.expired.all(this.name, now) as Row[];
      // Latest first, each to the very front: the batch ends up in its original order.
      for (const row of rows) sql.requeue.run(row.id as number);
      if (rows.length > 0) queueMicrotask(() => this.#queued.notify());
      return rows.reverse().map((row) => text(row.data));
    });
  }

  async queueSize(): Promise<number> {
    return this.#run("count the queue", (sql) => (sql.queueSize.get(this.name) as Row).n as number);
  }

  async #items(action: string, listing: Listing, limit?: number): Promise<string[]> {
    return this.#run(action, (sql) => {
      const rows = sql[listing].all(this.name, sqlLimit(limit)) as Row[];
      return rows.map((row) => text(row.data));
    });
  }

  enqueuedItems(limit?: number): Promise<string[]> {
    return this.#items("list the queue", "enqueuedItems", limit);
  }

  leasedItems(limit?: number): Promise<string[]> {
    return this.#items("list leased messages", "leasedItems", limit);
  }

  async leasedSize(): Promise<number> {
    return this.#run(
      "count leased messages",
      (sql) => (sql.leasedSize.get(this.name) as Row).n as number,
    );
  }

  async flushQueue(): Promise<void> {
    this.#run("flush the queue", (sql) => sql.flushQueue.run(this.name));
  }

  // -- schedule ------------------------------------------------------------

  async addToSchedule(data: string, eta: number): Promise<void> {
    this.#run("add to the schedule", (sql) => sql.addToSchedule.run(this.name, eta, data));
  }

  async readSchedule(now: number): Promise<string[]> {
    // A cheap read first, so the common case (nothing due) takes no write lock.
    const any = this.#run("read the schedule", (sql) => sql.anyDue.get(this.name, now));
    if (!any) return [];
    // One DELETE ... RETURNING, in an explicit transaction so that rows are
    // handed out only once their removal committed (see #takeBatch).
    return this.#transaction("read the schedule", (sql) => {
      const rows = sql.readSchedule.all(this.name, now) as Row[];
      // RETURNING has no order: sort here.
      rows.sort((a, b) =>
        (a.eta as number) - (b.eta as number) || (a.id as number) - (b.id as number)
      );
      const due: string[] = [];
      for (const row of rows) {
        const data = decodeUtf8(row.data as Uint8Array);
        if (data === undefined) this.#setAside(sql, row, "the schedule", now);
        else due.push(data);
      }
      return due;
    });
  }

  async scheduleSize(): Promise<number> {
    return this.#run(
      "count the schedule",
      (sql) => (sql.scheduleSize.get(this.name) as Row).n as number,
    );
  }

  scheduledItems(limit?: number): Promise<string[]> {
    return this.#items("list the schedule", "scheduledItems", limit);
  }

  async flushSchedule(): Promise<void> {
    this.#run("flush the schedule", (sql) => sql.flushSchedule.run(this.name));
  }

  // -- result store --------------------------------------------------------

  async putData(key: string, value: string): Promise<void> {
    this.#run("store data", (sql) => sql.putData.run(this.name, key, value));
    this.#stored.notify();
  }

  async peekData(key: string): Promise<string | undefined> {
    return this.#run("read data", (sql) => {
      const row = sql.peekData.get(this.name, key) as Row | undefined;
      return row ? text(row.value) : undefined;
    });
  }

  async popData(key: string): Promise<string | undefined> {
    // A transaction, so the value is handed out only once its removal committed (see #takeBatch).
    return this.#transaction("pop data", (sql) => {
      const row = sql.popData.get(this.name, key) as Row | undefined;
      return row ? text(row.value) : undefined;
    });
  }

  async hasDataForKey(key: string): Promise<boolean> {
    return this.#run("read data", (sql) => sql.hasData.get(this.name, key) !== undefined);
  }

  /**
   * Wait until `key` holds a value, up to `timeout` seconds or until
   * `signal` aborts: polls the row (one index lookup) every millisecond at
   * first, backing off to every 50 ms; a write through this instance or a
   * commit by another process (the WAL watch) ends each sleep at once.
   */
  async waitForData(key: string, timeout: number, signal?: AbortSignal): Promise<boolean> {
    return await this.#waits.forData(() => this.hasDataForKey(key), timeout * 1000, signal);
  }

  async putIfEmpty(key: string, value: string): Promise<boolean> {
    const stored = this.#run("store data", (sql) => {
      return Number(sql.putIfEmpty.run(this.name, key, value).changes) > 0;
    });
    if (stored) this.#stored.notify();
    return stored;
  }

  async deleteData(key: string): Promise<boolean> {
    return this.#run("delete data", (sql) => {
      return Number(sql.deleteData.run(this.name, key).changes) > 0;
    });
  }

  async resultStoreSize(): Promise<number> {
    return this.#run(
      "count stored data",
      (sql) => (sql.resultStoreSize.get(this.name) as Row).n as number,
    );
  }

  async resultItems(): Promise<Map<string, string>> {
    return this.#run("list stored data", (sql) => {
      const rows = sql.resultItems.all(this.name) as Row[];
      return new Map(rows.map((row) => [text(row.key), text(row.value)]));
    });
  }

  async flushResults(): Promise<void> {
    this.#run("flush stored data", (sql) => sql.flushResults.run(this.name));
  }

  // -- counters (sqlite_counters.ts) ---------------------------------------
  readonly incr: Storage["incr"] = async (...args) => this.#counters.incr(...args);
  readonly deleteCounter: Storage["deleteCounter"] = async (key) => this.#counters.delete(key);
  readonly flushCounters: Storage["flushCounters"] = async () => this.#counters.flush();

  // -- records (sqlite_records.ts) -------------------------------------------
  readonly putRecord: Storage["putRecord"] = async (...args) => this.#records.put(...args);
  readonly getRecord: Storage["getRecord"] = async (...args) => this.#records.get(...args);
  readonly recordItems: Storage["recordItems"] = async (...args) => this.#records.items(...args);
  readonly deleteRecord: Storage["deleteRecord"] = async (key) => this.#records.delete(key);
  readonly flushRecords: Storage["flushRecords"] = async () => this.#records.flush();

  // -- error store (sqlite_errors.ts) -------------------------------------
  readonly putError: Storage["putError"] = async (...args) => this.#errors.put(...args);
  readonly errorItems: Storage["errorItems"] = async (limit) => this.#errors.items(sqlLimit(limit));
  readonly deleteError: Storage["deleteError"] = async (id) => this.#errors.delete(id);
  readonly requeueError: Storage["requeueError"] = async (...args) => this.#errors.requeue(...args);
  readonly flushErrors: Storage["flushErrors"] = async () => this.#errors.flush();

  // -- lifecycle -----------------------------------------------------------

  async flushAll(): Promise<void> {
    this.#transaction("flush the storage", (sql) => {
      sql.flushQueue.run(this.name);
      sql.flushSchedule.run(this.name);
      sql.flushResults.run(this.name);
      sql.flushCounters.run(this.name);
      sql.flushRecords.run(this.name);
      sql.flushErrors.run(this.name);
    });
  }

  /** Close the database. Later calls reject with a {@link HueyError}; closing twice is a no-op. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#waits.close();
    this.#queued.notify();
    this.#stored.notify();
    try {
      this.#db.close();
    } catch (err) {
      throw new HueyError(
        `Cannot close: ${errorMessage(err)}: SqliteStorage "${this.name}" at ${this.#where}`,
        { cause: err },
      );
    }
  }
}
