/**
 * The records of a PostgresStorage (`Storage.putRecord`: task status,
 * progress, consumer heartbeats): rows of the records table (schema
 * version 3), expiring on the server's clock. The statements are in sql.ts.
 *
 * @module
 */
import { checkRecord, checkRecordKey } from "../record.ts";
import type { PgQuery } from "./counters.ts";
import { fromColumn, toColumn } from "./sql.ts";
import type { Statements } from "./sql.ts";

/** How often (ms) a write also sweeps expired rows: not per write. */
const SWEEP_EVERY_MS = 10_000;

/**
 * The records of one Huey name.
 *
 * @example
 * ```ts
 * import { PgRecords } from "./records.ts";
 * import { PostgresNames } from "./names.ts";
 * import { statements } from "./sql.ts";
 * const sql = statements(new PostgresNames("app", "huey_"));
 * const records = new PgRecords(async () => [{ value: "x" }], sql, "app");
 * console.log(await records.get("%c:1")); // "x"
 * ```
 */
export class PgRecords {
  readonly #query: PgQuery;
  readonly #sql: Statements;
  readonly #name: string;
  readonly #label: string;
  #swept = -Infinity;

  /** Records of the Huey name `name`, sent with `query`. */
  constructor(query: PgQuery, sql: Statements, name: string) {
    this.#query = query;
    this.#sql = sql;
    this.#name = name;
    this.#label = `PostgresStorage "${name}"`;
  }

  /** One upsert; every {@link SWEEP_EVERY_MS} (this process's clock) a sweep of expired rows too. */
  async put(key: string, value: string, ttl: number, _now?: number): Promise<void> {
    const ttlMs = checkRecord(key, value, ttl, this.#label);
    const params = [this.#name, toColumn(key), toColumn(value), ttlMs];
    await this.#query("store a record", this.#sql.putRecord, params);
    const now = performance.now();
    if (now - this.#swept >= SWEEP_EVERY_MS) {
      this.#swept = now;
      await this.#query("sweep expired records", this.#sql.sweepRecords, [this.#name]);
    }
  }

  /** The unexpired record `key`, or `undefined`. */
  async get(key: string): Promise<string | undefined> {
    checkRecordKey(key, this.#label);
    const rows = await this.#query("read a record", this.#sql.getRecord, [
      this.#name,
      toColumn(key),
    ]);
    return rows.length ? fromColumn(rows[0].value) : undefined;
  }

  /** The unexpired records under `prefix`, sorted by key. */
  async items(prefix: string, _now: number, limit?: number): Promise<Map<string, string>> {
    checkRecordKey(prefix, this.#label);
    const max = limit === undefined ? null : Math.max(0, Math.floor(limit));
    const rows = await this.#query("list records", this.#sql.recordItems, [
      this.#name,
      toColumn(prefix),
      max,
    ]);
    return new Map(rows.map((row) => [fromColumn(row.key), fromColumn(row.value)]));
  }

  /** Remove the record `key`; true if it was there. */
  async delete(key: string): Promise<boolean> {
    checkRecordKey(key, this.#label);
    const params = [this.#name, toColumn(key)];
    return (await this.#query("delete a record", this.#sql.deleteRecord, params)).length > 0;
  }

  /** Remove every record of the name. */
  async flush(): Promise<void> {
    await this.#query("flush records", this.#sql.flushRecords, [this.#name]);
  }
}
