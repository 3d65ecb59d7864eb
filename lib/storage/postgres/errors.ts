/**
 * The error store (dead letters) of a PostgresStorage: rows of the errors
 * table, whose `info` column came with schema version 3. The statements
 * are in sql.ts with the others.
 *
 * @module
 */
import type { ErrorItem } from "../types.ts";
import type { PgQuery } from "./counters.ts";
import { fromColumn, toColumn } from "./sql.ts";
import type { Statements } from "./sql.ts";

/** Ids are bigints: anything else names no row (and is not sent). */
const ID = /^[0-9]{1,18}$/;

/**
 * The kept messages of one Huey name.
 *
 * @example
 * ```ts
 * import { PgErrors } from "./errors.ts";
 * import { PostgresNames } from "./names.ts";
 * import { statements } from "./sql.ts";
 * const names = new PostgresNames("app", "huey_");
 * const errors = new PgErrors(async () => [], statements(names), "app", names.queueChannel, () => {});
 * console.log(await errors.delete("x")); // false
 * ```
 */
export class PgErrors {
  readonly #query: PgQuery;
  readonly #sql: Statements;
  readonly #name: string;
  readonly #channel: string;
  readonly #queued: () => void;

  /**
   * Kept messages of the Huey name `name`, sent with `query`; a requeue
   * notifies `channel` (the queue's) and calls `queued` (this instance's waiters).
   */
  constructor(query: PgQuery, sql: Statements, name: string, channel: string, queued: () => void) {
    this.#query = query;
    this.#sql = sql;
    this.#name = name;
    this.#channel = channel;
    this.#queued = queued;
  }

  /** {@link Storage.putError}. */
  async put(data: string, reason: string, now: number, info?: string): Promise<void> {
    const kept = info === undefined ? null : toColumn(info);
    await this.#query("store an error", this.#sql.putError, [
      this.#name,
      toColumn(data),
      toColumn(reason),
      now,
      kept,
    ]);
  }

  /** {@link Storage.errorItems}; `limit` null: all. */
  async items(limit: number | null): Promise<ErrorItem[]> {
    const rows = await this.#query("list errors", this.#sql.errorItems, [this.#name, limit]);
    return rows.map((row) => {
      const item: ErrorItem = {
        id: row.id as string,
        data: fromColumn(row.data),
        reason: fromColumn(row.reason),
        time: row.time as number,
      };
      if (row.info !== null && row.info !== undefined) item.info = fromColumn(row.info);
      return item;
    });
  }

  /** {@link Storage.deleteError}. */
  async delete(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    return (await this.#query("delete an error", this.#sql.deleteError, [this.#name, id])).length >
      0;
  }

  /** {@link Storage.requeueError}: one statement deletes the row and queues its message. */
  async requeue(id: string, priority: number): Promise<boolean> {
    if (!ID.test(id)) return false;
    const params = [this.#name, id, priority, this.#channel];
    const done = (await this.#query("requeue an error", this.#sql.requeueError, params)).length > 0;
    if (done) this.#queued();
    return done;
  }

  /** {@link Storage.flushErrors}. */
  async flush(): Promise<void> {
    await this.#query("flush errors", this.#sql.flushErrors, [this.#name]);
  }
}
