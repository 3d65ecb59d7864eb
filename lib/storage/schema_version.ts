/**
 * The version check that the SQL storages share (SQLite's
 * `sqlite_schema.ts`, PostgreSQL's `postgres/schema.ts`): whether tables
 * recorded at one version can be used by a library that reads another.
 *
 * @module
 */

/**
 * Why `tables` (as an error message names them: `the tables in app.db`)
 * recorded at `version` cannot be used by a library at `current`, or
 * `undefined` when they can: tables of a newer version never; missing or
 * older ones only when `canCreate` (the storage creates or migrates them
 * itself), else the message says to call `initializeSchema()`.
 *
 * @example
 * ```ts
 * import { schemaProblem } from "./schema_version.ts";
 * console.log(schemaProblem(2, 1, "the tables in app.db", true)); // "... newer than this library's 1: ..."
 * ```
 */
export function schemaProblem(
  version: number | undefined,
  current: number,
  tables: string,
  canCreate: boolean,
): string | undefined {
  if (version === current) return undefined;
  if (version !== undefined && version > current) {
    return `${tables} are at schema version ${version}, newer than this library's ${current}: upgrade the library`;
  }
  if (canCreate) return undefined;
  return version === undefined
    ? `${tables} do not exist: call initializeSchema() (or leave createTables on)`
    : `${tables} are at schema version ${version}, this library needs ${current}: call initializeSchema() to migrate them`;
}
