/**
 * The records of a SqliteStorage (`Storage.putRecord`: task status,
 * progress, consumer heartbeats): rows of `huey_record` (schema version 3,
 * sqlite_schema.ts), on the callers' clock. SqliteStorage prepares these
 * statements with its own and runs them through its error handling.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import { checkRecord, checkRecordKey } from "./record.ts";

/**
 * The record statements. An expired record (expires <= now) reads as
 * missing; the sweep deletes them. A prefix is matched with `substr`, not
 * LIKE, so `%` and `_` in keys (huey's own keys start with `%`) are literal.
 */
export const RECORD_SQL = {
  putRecord: `INSERT INTO huey_record (name, key, value, expires) VALUES (?, ?, ?, ?)
    ON CONFLICT (name, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
  getRecord: `SELECT CAST(value AS BLOB) AS value FROM huey_record
    WHERE name = ? AND key = ? AND expires > ?`,
  recordItems: `SELECT CAST(key AS BLOB) AS key, CAST(value AS BLOB) AS value FROM huey_record
    WHERE name = ? AND substr(key, 1, ?) = ? AND expires > ? ORDER BY key LIMIT ?`,
  sweepRecords: "DELETE FROM huey_record WHERE name = ? AND expires <= ?",
  deleteRecord: "DELETE FROM huey_record WHERE name = ? AND key = ?",
  flushRecords: "DELETE FROM huey_record WHERE name = ?",
} as const;

/** The record statements, prepared. */
export type RecordStatements = { -readonly [K in keyof typeof RECORD_SQL]: StatementSync };

/** Runs `fn` on the storage's statements, naming `action` in errors. */
export type RecordRun = <T>(action: string, fn: (sql: RecordStatements) => T) => T;

/** How often (ms on the callers' clock) a write sweeps expired records: not per write. */
const SWEEP_EVERY_MS = 10_000;

const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
const text = (value: unknown): string =>
  typeof value === "string" ? value : utf8.decode(value as Uint8Array);

/**
 * The records of one name.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { RECORD_SQL, SqliteRecords } from "./sqlite_records.ts";
 * import type { RecordStatements } from "./sqlite_records.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE huey_record (name TEXT, key TEXT, value TEXT, expires REAL, PRIMARY KEY (name, key))");
 * const sql = Object.fromEntries(
 *   Object.entries(RECORD_SQL).map(([k, text]) => [k, db.prepare(text)]),
 * ) as RecordStatements;
 * const run = <T>(_action: string, fn: (s: RecordStatements) => T) => fn(sql);
 * const records = new SqliteRecords({ name: "app" }, run);
 * records.put("c:1", "x", 60, 0);
 * console.log(records.get("c:1", 1)); // "x"
 * ```
 */
export class SqliteRecords {
  readonly #owner: { readonly name: string };
  readonly #run: RecordRun;
  #swept = -Infinity;

  /** Records of the name of `owner` (read at each call), run with `run`. */
  constructor(owner: { readonly name: string }, run: RecordRun) {
    this.#owner = owner;
    this.#run = run;
  }

  #where(): string {
    return `SqliteStorage "${this.#owner.name}"`;
  }

  /** Upsert the record; every {@link SWEEP_EVERY_MS} also delete the expired ones (the table is pruned). */
  put(key: string, value: string, ttl: number, now: number): void {
    const ttlMs = checkRecord(key, value, ttl, this.#where());
    const name = this.#owner.name;
    this.#run("store a record", (sql) => {
      sql.putRecord.run(name, key, value, now + ttlMs);
      if (now - this.#swept >= SWEEP_EVERY_MS) {
        this.#swept = now;
        sql.sweepRecords.run(name, now);
      }
    });
  }

  /** The unexpired record `key`, or `undefined`. */
  get(key: string, now: number): string | undefined {
    checkRecordKey(key, this.#where());
    return this.#run("read a record", (sql) => {
      const row = sql.getRecord.get(this.#owner.name, key, now) as { value: unknown } | undefined;
      return row ? text(row.value) : undefined;
    });
  }

  /** The unexpired records under `prefix`, sorted by key. */
  items(prefix: string, now: number, limit?: number): Map<string, string> {
    checkRecordKey(prefix, this.#where());
    const max = limit === undefined ? -1 : Math.max(0, Math.floor(limit));
    return this.#run("list records", (sql) => {
      const rows = sql.recordItems.all(this.#owner.name, prefix.length, prefix, now, max) as {
        key: unknown;
        value: unknown;
      }[];
      return new Map(rows.map((row) => [text(row.key), text(row.value)]));
    });
  }

  /** Remove the record `key`; true if it was there. */
  delete(key: string): boolean {
    checkRecordKey(key, this.#where());
    return this.#run("delete a record", (sql) => {
      return Number(sql.deleteRecord.run(this.#owner.name, key).changes) > 0;
    });
  }

  /** Remove every record of the name. */
  flush(): void {
    this.#run("flush records", (sql) => sql.flushRecords.run(this.#owner.name));
  }
}
