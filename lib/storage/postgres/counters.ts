/**
 * The counters of a PostgresStorage (`Storage.incr`): rows of the counters
 * table (schema version 2), upserted on the server's clock. The statements
 * are in sql.ts with the others.
 *
 * @module
 */
import { checkCounterKey, checkIncrement } from "../counter.ts";
import type { CounterOptions } from "../types.ts";
import type { Row } from "./client.ts";
import { toColumn } from "./sql.ts";
import type { Statements } from "./sql.ts";

/** Runs one statement for the storage, failures named after `action`. */
export type PgQuery = (action: string, text: string, params: readonly unknown[]) => Promise<Row[]>;

/**
 * The counters of one Huey name.
 *
 * @example
 * ```ts
 * import { PgCounters } from "./counters.ts";
 * import { PostgresNames } from "./names.ts";
 * import { statements } from "./sql.ts";
 * const sql = statements(new PostgresNames("app", "huey_"));
 * const counters = new PgCounters(async () => [{ value: "1" }], sql, "app");
 * console.log(await counters.incr("hits")); // 1
 * ```
 */
export class PgCounters {
  readonly #query: PgQuery;
  readonly #sql: Statements;
  readonly #name: string;
  readonly #label: string;

  /** Counters of the Huey name `name`, sent with `query`. */
  constructor(query: PgQuery, sql: Statements, name: string) {
    this.#query = query;
    this.#sql = sql;
    this.#name = name;
    this.#label = `PostgresStorage "${name}"`;
  }

  /**
   * One upsert; its expiry on the server's clock (`options.now` is not
   * used). A counter made with a ttl starts a new window, so the expired
   * ones of this name are swept then (one more statement, once per window).
   */
  async incr(key: string, amount = 1, options?: CounterOptions): Promise<number> {
    const { ttlMs } = checkIncrement(key, amount, options, this.#label);
    const stored = toColumn(key);
    if (amount === 0) {
      const rows = await this.#query("read a counter", this.#sql.readCounter, [this.#name, stored]);
      return rows.length ? Number(rows[0].value) : 0;
    }
    const params = [this.#name, stored, String(amount), ttlMs ?? null];
    const [row] = await this.#query("increment a counter", this.#sql.incr, params);
    const value = Number(row.value);
    if (ttlMs !== undefined && value === amount) {
      await this.#query("sweep expired counters", this.#sql.sweepCounters, [this.#name]);
    }
    return value;
  }

  /** Remove the counter `key`; true if it was there. */
  async delete(key: string): Promise<boolean> {
    checkCounterKey(key, this.#label);
    const params = [this.#name, toColumn(key)];
    return (await this.#query("delete a counter", this.#sql.deleteCounter, params)).length > 0;
  }

  /** Remove every counter of the name. */
  async flush(): Promise<void> {
    await this.#query("flush counters", this.#sql.flushCounters, [this.#name]);
  }
}
