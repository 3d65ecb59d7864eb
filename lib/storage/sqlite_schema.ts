/**
 * The tables of SqliteStorage, their version, and how a file made by an
 * earlier version is brought up to this one: the story of
 * `postgres/schema.ts`, on SQLite.
 *
 * One set of tables serves every Huey name (a `name` column, as huey's
 * SqliteStorage does), so names need no quoting as identifiers, and the
 * tables can live in the application's own database file beside its own.
 *
 * `huey_schema` holds one row with the version of the tables.
 * {@link initializeSchema} takes the write lock (`BEGIN IMMEDIATE`, so
 * processes that open the file together take turns), creates the tables
 * when there are none, and otherwise brings them from the stored version to
 * {@link SQLITE_SCHEMA_VERSION}, in one transaction (SQLite's DDL is
 * transactional: a failed step changes nothing). Files made before the
 * version was recorded have tables but no `huey_schema`: version 0, which
 * every step of version 1 (`IF NOT EXISTS`, a column added when missing)
 * takes to 1. A later version that changes the tables adds its step and
 * bumps the version; a file whose version is newer than the library knows
 * is refused rather than written in an old layout.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { errorMessage } from "../_util.ts";
import { ConfigurationError, HueyError } from "../errors.ts";
import { schemaProblem as checkVersion } from "./schema_version.ts";

/** The version of the tables this library reads and writes. */
export const SQLITE_SCHEMA_VERSION = 4;

/*
 * huey_queue holds waiting and leased messages. A waiting row has a NULL
 * receipt. Dequeue order is priority DESC, then id: ids grow on insert, and a
 * recovered message gets an id below every other row, which puts it at the
 * front of its priority.
 */
const VERSION_1 = `
CREATE TABLE IF NOT EXISTS huey_queue (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  priority REAL NOT NULL,
  data TEXT NOT NULL,
  receipt TEXT,
  lease_until REAL,
  deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS huey_queue_waiting
  ON huey_queue (name, priority DESC, id) WHERE receipt IS NULL;
DROP INDEX IF EXISTS huey_queue_receipt;
CREATE INDEX IF NOT EXISTS huey_queue_leased
  ON huey_queue (name, lease_until) WHERE receipt IS NOT NULL;
CREATE TABLE IF NOT EXISTS huey_schedule (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  eta REAL NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS huey_schedule_eta ON huey_schedule (name, eta, id);
CREATE TABLE IF NOT EXISTS huey_kv (
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS huey_error (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  data TEXT NOT NULL,
  reason TEXT NOT NULL,
  time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS huey_error_name ON huey_error (name, id);
CREATE TABLE IF NOT EXISTS huey_schema (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
`;

/**
 * Version 2 adds the counters (`incr`): `expires` is when a counter with a
 * ttl expires (ms on the callers' clock); the partial index is what the
 * sweep of expired counters scans.
 */
const VERSION_2 = `
CREATE TABLE IF NOT EXISTS huey_counter (
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value INTEGER NOT NULL,
  expires REAL,
  PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS huey_counter_expires
  ON huey_counter (name, expires) WHERE expires IS NOT NULL;
`;

/**
 * Version 3 adds the records (`putRecord`: task status, progress, consumer
 * heartbeats): `expires` is when a record goes (ms on the callers' clock),
 * and the index is what the sweep of expired records scans.
 */
const VERSION_3 = `
CREATE TABLE IF NOT EXISTS huey_record (
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires REAL NOT NULL,
  PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS huey_record_expires ON huey_record (name, expires);
`;

/**
 * Version 4 makes the error store the dead-letter store: `info` holds what
 * the Huey keeps beside the reason (task id and name, attempts, last error).
 * Added only when missing, so the step is idempotent like the others.
 */
function toVersion4(db: DatabaseSync): void {
  const columns = db.prepare("PRAGMA table_info(huey_error)").all() as { name: string }[];
  if (!columns.some((column) => column.name === "info")) {
    db.exec("ALTER TABLE huey_error ADD COLUMN info TEXT");
  }
}

/** Version 0 or nothing to version 1: the tables, and a column files of version 0 may lack. */
function toVersion1(db: DatabaseSync): void {
  db.exec(VERSION_1);
  const columns = db.prepare("PRAGMA table_info(huey_queue)").all() as { name: string }[];
  if (!columns.some((column) => column.name === "deliveries")) {
    db.exec("ALTER TABLE huey_queue ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0");
  }
}

/**
 * The version recorded in `db`: `undefined` when it has no huey tables, 0
 * when it has tables from before the version was recorded.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { readSchemaVersion } from "./sqlite_schema.ts";
 * console.log(readSchemaVersion(new DatabaseSync(":memory:"))); // undefined
 * ```
 */
export function readSchemaVersion(db: DatabaseSync): number | undefined {
  const tables = new Set(
    (db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('huey_schema', 'huey_queue')",
    ).all() as { name: string }[]).map((row) => row.name),
  );
  if (tables.has("huey_schema")) {
    const row = db.prepare("SELECT version FROM huey_schema WHERE id = 1").get() as
      | { version: number }
      | undefined;
    if (row) return Number(row.version);
  }
  return tables.has("huey_queue") ? 0 : undefined;
}

/**
 * Why tables at `version` in the file `where` cannot be used as they are,
 * or `undefined` when they can; `canCreate`: the storage may create and
 * migrate them itself.
 *
 * @example
 * ```ts
 * import { schemaProblem } from "./sqlite_schema.ts";
 * console.log(schemaProblem(undefined, "app.db", false)); // "the tables in app.db do not exist: ..."
 * ```
 */
export function schemaProblem(
  version: number | undefined,
  where: string,
  canCreate: boolean,
): string | undefined {
  return checkVersion(version, SQLITE_SCHEMA_VERSION, `the tables in ${where}`, canCreate);
}

/**
 * Create the tables in `db` (the file `where`), or bring them to
 * {@link SQLITE_SCHEMA_VERSION}, in one `BEGIN IMMEDIATE` transaction; a
 * no-op when they are current. Throws a ConfigurationError, changing
 * nothing, when the file's version is newer. `check` runs in the same
 * transaction (the storage's first write, which tells a read-only file).
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { initializeSchema, readSchemaVersion } from "./sqlite_schema.ts";
 * const db = new DatabaseSync(":memory:");
 * initializeSchema(db, ":memory:");
 * console.log(readSchemaVersion(db)); // 4
 * ```
 */
export function initializeSchema(db: DatabaseSync, where: string, check?: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    // Read under the write lock: another process may have just made them.
    const version = readSchemaVersion(db);
    const problem = schemaProblem(version, where, true);
    if (problem) throw new ConfigurationError(problem);
    if (version !== SQLITE_SCHEMA_VERSION) {
      // Each step is idempotent (IF NOT EXISTS), so a file made between steps is safe.
      if ((version ?? 0) < 1) toVersion1(db);
      db.exec(VERSION_2);
      db.exec(VERSION_3);
      toVersion4(db);
      db.prepare("INSERT OR REPLACE INTO huey_schema (id, version) VALUES (1, ?)").run(
        SQLITE_SCHEMA_VERSION,
      );
    }
    check?.();
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/**
 * Get the tables of `db` (the file `where`) ready on open: with `create`,
 * create or migrate them ({@link initializeSchema}); without, only check
 * that they are current. Returns why they cannot be used yet, or
 * `undefined` once they can (and `check`, the storage's first write, ran).
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { readyTables } from "./sqlite_schema.ts";
 * console.log(readyTables(new DatabaseSync(":memory:"), ":memory:", false, () => {})); // "the tables in :memory: do not exist: ..."
 * ```
 */
export function readyTables(
  db: DatabaseSync,
  where: string,
  create: boolean,
  check: () => void,
): string | undefined {
  if (create) {
    initializeSchema(db, where, check);
    return undefined;
  }
  const problem = schemaProblem(readSchemaVersion(db), where, false);
  if (!problem) check();
  return problem;
}

/**
 * Run the schema step `fn`; a failure is restated after `what` and the file
 * `where` (a ConfigurationError stays one, anything else is a HueyError).
 *
 * @example
 * ```ts
 * import { schemaStep } from "./sqlite_schema.ts";
 * console.log(schemaStep("Cannot open", "app.db", () => 1)); // 1
 * ```
 */
export function schemaStep<T>(what: string, where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const Kind = err instanceof ConfigurationError ? ConfigurationError : HueyError;
    throw new Kind(`${what}: ${errorMessage(err)}: ${where}`, { cause: err });
  }
}
