/**
 * How the `huey` subcommands print: aligned text tables for people, one
 * JSON document for programs (`--json`).
 *
 * @module
 */

/**
 * `value` as one JSON document: BigInts as strings, Maps as objects, Sets
 * as arrays, Dates as ISO times (task arguments may hold any of them).
 *
 * @example
 * ```ts
 * import { toJson } from "./format.ts";
 * console.log(toJson({ n: 1n, at: new Date(0) })); // {"n":"1","at":"1970-01-01T00:00:00.000Z"}
 * ```
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Map) return Object.fromEntries(v);
    if (v instanceof Set) return [...v];
    return v;
  });
}

/** A value as one line: strings as they are, the rest as compact JSON; cut at `max` characters. */
function cell(value: unknown, max = 60): string {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value : toJson(value);
  const line = text.replace(/\s+/g, " ");
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * `rows` as a table with a header of `columns` (keys of the rows), each
 * column as wide as its widest cell; `empty` when there are no rows.
 *
 * @example
 * ```ts
 * import { table } from "./format.ts";
 * console.log(table([{ id: "a1", name: "add" }], ["id", "name"], "(no tasks)"));
 * ```
 */
export function table(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  empty: string,
): string {
  if (!rows.length) return empty;
  const cells = [
    columns.map((c) => c.toUpperCase()),
    ...rows.map((r) => columns.map((c) => cell(r[c]))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  return cells.map((line) => line.map((text, i) => text.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}

/**
 * `fields` as `label: value` lines, labels aligned.
 *
 * @example
 * ```ts
 * import { fields } from "./format.ts";
 * console.log(fields([["queued", 3], ["scheduled", 0]]));
 * ```
 */
export function fields(pairs: readonly [string, unknown][]): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)} ${cell(value, 1000)}`).join(
    "\n",
  );
}
