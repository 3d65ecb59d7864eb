/**
 * The counters of a SqliteStorage (`Storage.incr`): rows of `huey_counter`
 * (schema version 2, sqlite_schema.ts), on the callers' clock. SqliteStorage
 * prepares these statements with its own and runs them through its error
 * handling.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import { checkCounterKey, checkIncrement } from "./counter.ts";
import type { CounterOptions } from "./types.ts";

/**
 * The counter statements. An expired counter (expires <= now) counts as
 * missing: the increment makes it anew, with the ttl it passes.
 */
export const COUNTER_SQL = {
  incr: `INSERT INTO huey_counter (name, key, value, expires) VALUES (?, ?, ?, ?)
    ON CONFLICT (name, key) DO UPDATE SET
      value = CASE WHEN expires <= ? THEN excluded.value ELSE value + excluded.value END,
      expires = CASE WHEN expires <= ? THEN excluded.expires ELSE expires END
    RETURNING value`,
  readCounter: `SELECT value FROM huey_counter
    WHERE name = ? AND key = ? AND (expires IS NULL OR expires > ?)`,
  sweepCounters: "DELETE FROM huey_counter WHERE name = ? AND expires <= ?",
  deleteCounter: "DELETE FROM huey_counter WHERE name = ? AND key = ?",
  flushCounters: "DELETE FROM huey_counter WHERE name = ?",
} as const;

/** The counter statements, prepared. */
export type CounterStatements = { -readonly [K in keyof typeof COUNTER_SQL]: StatementSync };

/** Runs `fn` on the storage's statements (in a transaction, for `transaction`), naming `action` in errors. */
export type SqliteRun = <T>(action: string, fn: (sql: CounterStatements) => T) => T;

/**
 * The counters of one name.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { COUNTER_SQL, SqliteCounters } from "./sqlite_counters.ts";
 * import type { CounterStatements } from "./sqlite_counters.ts";
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE huey_counter (name TEXT, key TEXT, value INTEGER, expires REAL, PRIMARY KEY (name, key))");
 * const sql = Object.fromEntries(
 *   Object.entries(COUNTER_SQL).map(([k, text]) => [k, db.prepare(text)]),
 * ) as CounterStatements;
 * const run = <T>(_action: string, fn: (s: CounterStatements) => T) => fn(sql);
 * console.log(new SqliteCounters({ name: "app" }, run, run).incr("hits", 2)); // 2
 * ```
 */
export class SqliteCounters {
  readonly #owner: { readonly name: string };
  readonly #run: SqliteRun;
  readonly #transaction: SqliteRun;

  /**
   * Counters of the name of `owner` (the storage: read at each call, so it
   * can build these before it has its name), run with `run` (and
   * `transaction` for increments).
   */
  constructor(owner: { readonly name: string }, run: SqliteRun, transaction: SqliteRun) {
    this.#owner = owner;
    this.#run = run;
    this.#transaction = transaction;
  }

  /**
   * One upsert in a transaction (in autocommit, node:sqlite would not
   * report a failed commit). A counter made with a ttl starts a new window,
   * so the expired ones of this name are swept then, in the same
   * transaction (by the partial index on expires): dead windows do not pile up.
   */
  incr(key: string, amount = 1, options?: CounterOptions): number {
    const name = this.#owner.name;
    const { ttlMs, now } = checkIncrement(key, amount, options, `SqliteStorage "${name}"`);
    if (amount === 0) {
      return this.#run("read a counter", (sql) => {
        const row = sql.readCounter.get(name, key, now) as { value: number } | undefined;
        return row ? Number(row.value) : 0;
      });
    }
    const expires = ttlMs === undefined ? null : now + ttlMs;
    return this.#transaction("increment a counter", (sql) => {
      const row = sql.incr.get(name, key, amount, expires, now, now) as { value: number };
      const value = Number(row.value);
      if (expires !== null && value === amount) sql.sweepCounters.run(name, now);
      return value;
    });
  }

  /** Remove the counter `key`; true if it was there. */
  delete(key: string): boolean {
    const name = this.#owner.name;
    checkCounterKey(key, `SqliteStorage "${name}"`);
    return this.#run("delete a counter", (sql) => {
      return Number(sql.deleteCounter.run(name, key).changes) > 0;
    });
  }

  /** Remove every counter of the name. */
  flush(): void {
    this.#run("flush counters", (sql) => sql.flushCounters.run(this.#owner.name));
  }
}
