/**
 * The error store (dead letters) of a SqliteStorage: rows of `huey_error`,
 * whose `info` column came with schema version 3 (sqlite_schema.ts).
 * SqliteStorage prepares these statements with its own.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import type { ErrorItem } from "./types.ts";

/**
 * The error-store statements. Text is read as BLOB and decoded by the
 * storage (as every column of its own), so bytes that are not UTF-8 cannot
 * come back changed. `requeueError` copies the row into the queue as a new
 * message (deliveries 0); the storage deletes the row in the same
 * transaction.
 */
export const ERROR_SQL = {
  putError: "INSERT INTO huey_error (name, data, reason, time, info) VALUES (?, ?, ?, ?, ?)",
  errorItems: `SELECT id, CAST(data AS BLOB) AS data, CAST(reason AS BLOB) AS reason, time,
    CAST(info AS BLOB) AS info FROM huey_error WHERE name = ? ORDER BY id LIMIT ?`,
  deleteError: "DELETE FROM huey_error WHERE name = ? AND id = CAST(? AS INTEGER)",
  requeueError: `INSERT INTO huey_queue (name, priority, data)
    SELECT name, ?, data FROM huey_error WHERE name = ? AND id = CAST(? AS INTEGER)`,
  flushErrors: "DELETE FROM huey_error WHERE name = ?",
} as const;

// Keeps a leading byte-order mark: the text comes back as it was stored.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A BLOB column as text (stored by us, so valid UTF-8). */
function text(value: unknown): string {
  return typeof value === "string" ? value : decoder.decode(value as Uint8Array);
}

/**
 * The {@link ErrorItem} of a row read with `ERROR_SQL.errorItems`.
 *
 * @example
 * ```ts
 * import { errorItem } from "./sqlite_errors.ts";
 * console.log(errorItem({ id: 1, data: "m", reason: "why", time: 5, info: null }).id); // "1"
 * ```
 */
export function errorItem(row: Record<string, unknown>): ErrorItem {
  const item: ErrorItem = {
    id: String(row.id),
    data: text(row.data),
    reason: text(row.reason),
    time: Number(row.time),
  };
  if (row.info !== null && row.info !== undefined) item.info = text(row.info);
  return item;
}

/** The error-store statements, prepared. */
export type ErrorStatements = { -readonly [K in keyof typeof ERROR_SQL]: StatementSync };

/** Runs `fn` on the storage's statements (in a transaction, for `transaction`), naming `action` in errors. */
export type SqliteErrorRun = <T>(action: string, fn: (sql: ErrorStatements) => T) => T;

/**
 * The kept messages of one name.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { ERROR_SQL, SqliteErrors } from "./sqlite_errors.ts";
 * import type { ErrorStatements } from "./sqlite_errors.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE huey_error (id INTEGER PRIMARY KEY, name TEXT, data TEXT, reason TEXT, time REAL, info TEXT)");
 * db.exec("CREATE TABLE huey_queue (id INTEGER PRIMARY KEY, name TEXT, priority REAL, data TEXT)");
 * const sql = Object.fromEntries(
 *   Object.entries(ERROR_SQL).map(([k, text]) => [k, db.prepare(text)]),
 * ) as ErrorStatements;
 * const run = <T>(_action: string, fn: (s: ErrorStatements) => T) => fn(sql);
 * const errors = new SqliteErrors({ name: "app" }, run, run, () => {});
 * errors.put("m", "why", 0);
 * console.log(errors.items(-1)[0].id); // "1"
 * ```
 */
export class SqliteErrors {
  readonly #owner: { readonly name: string };
  readonly #run: SqliteErrorRun;
  readonly #transaction: SqliteErrorRun;
  readonly #queued: () => void;

  /**
   * Kept messages of the name of `owner` (the storage, read at each call),
   * run with `run` (and `transaction`); a requeue calls `queued` (wakes
   * this instance's waiting consumers).
   */
  constructor(
    owner: { readonly name: string },
    run: SqliteErrorRun,
    transaction: SqliteErrorRun,
    queued: () => void,
  ) {
    this.#owner = owner;
    this.#run = run;
    this.#transaction = transaction;
    this.#queued = queued;
  }

  /** {@link Storage.putError}. */
  put(data: string, reason: string, now: number, info?: string): void {
    const name = this.#owner.name;
    this.#run("store an error", (sql) => sql.putError.run(name, data, reason, now, info ?? null));
  }

  /** {@link Storage.errorItems}; `limit` -1: all. */
  items(limit: number): ErrorItem[] {
    return this.#run("list errors", (sql) => {
      return (sql.errorItems.all(this.#owner.name, limit) as Record<string, unknown>[]).map(
        errorItem,
      );
    });
  }

  /** {@link Storage.deleteError}. */
  delete(id: string): boolean {
    return this.#run("delete an error", (sql) => {
      return Number(sql.deleteError.run(this.#owner.name, id).changes) > 0;
    });
  }

  /** {@link Storage.requeueError}: one transaction queues the message, then deletes its row. */
  requeue(id: string, priority: number): boolean {
    const name = this.#owner.name;
    const done = this.#transaction("requeue an error", (sql) => {
      if (Number(sql.requeueError.run(priority, name, id).changes) === 0) return false;
      return Number(sql.deleteError.run(name, id).changes) > 0;
    });
    if (done) this.#queued();
    return done;
  }

  /** {@link Storage.flushErrors}. */
  flush(): void {
    this.#run("flush errors", (sql) => sql.flushErrors.run(this.#owner.name));
  }
}
