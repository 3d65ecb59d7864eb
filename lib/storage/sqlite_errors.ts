/**
 * The error store (dead letters) of a SqliteStorage: rows of `huey_error`,
 * whose `info` column came with schema version 3 (sqlite_schema.ts).
 * SqliteStorage prepares these statements with its own.
 *
 * @module
 */
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
