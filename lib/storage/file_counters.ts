/**
 * The counters of a FileStorage (`Storage.incr`): one file per counter
 * under `<path>/<name>/counters/`, named by the SHA-256 of its key, holding
 * `{ key, value, expires }` as JSON. FileStorage calls these under its
 * cross-process lock; the work here is synchronous.
 *
 * @module
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { Increment } from "./counter.ts";
import { errorCode } from "./file_lock.ts";

/** What a counter's file holds. */
interface CounterFile {
  key: string;
  value: number;
  /** When it expires, ms on the callers' clock; null: never. */
  expires: number | null;
}

/**
 * The file name of `key` in a directory of keyed JSON files (counters,
 * records): its SHA-256, a fixed-length, case-insensitive-safe name for any key.
 *
 * @example
 * ```ts
 * import { keyFileName } from "./file_counters.ts";
 * console.log(keyFileName("hits").length); // 64
 * ```
 */
export function keyFileName(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/**
 * The JSON in `dir/file`, or `undefined` when there is no such file.
 *
 * @example
 * ```ts
 * import { tmpdir } from "node:os";
 * import { readJsonFile } from "./file_counters.ts";
 * console.log(readJsonFile(tmpdir(), "no-such-file.json")); // undefined
 * ```
 */
export function readJsonFile<T>(dir: string, file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, file), "utf8")) as T;
  } catch (err) {
    if (errorCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

/** How FileStorage writes a file whole (a temporary file renamed into place). */
export type WriteWhole = (dir: string, name: string, content: string) => void;

/**
 * The counters in one directory.
 *
 * @example
 * ```ts
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { FileCounters } from "./file_counters.ts";
 * const dir = mkdtempSync(join(tmpdir(), "counters-"));
 * const counters = new FileCounters(dir, (d, name, content) => writeFileSync(join(d, name), content));
 * console.log(counters.incr("hits", { amount: 2, now: Date.now() })); // 2
 * ```
 */
export class FileCounters {
  readonly #dir: string;
  readonly #write: WriteWhole;

  /** The counters in `dir`, written with `write`. */
  constructor(dir: string, write: WriteWhole) {
    this.#dir = dir;
    this.#write = write;
  }

  #file(key: string): string {
    return keyFileName(key);
  }

  #read(file: string): CounterFile | undefined {
    return readJsonFile<CounterFile>(this.#dir, file);
  }

  /**
   * Add `increment` to `key`, or read it (amount 0). A counter made with a
   * ttl starts a new window: the expired ones are swept then, so dead
   * windows do not pile up.
   */
  incr(key: string, increment: Increment): number {
    const { amount, ttlMs, now } = increment;
    const file = this.#file(key);
    let counter = this.#read(file);
    if (counter && counter.expires !== null && counter.expires <= now) counter = undefined;
    if (amount === 0) return counter?.value ?? 0;
    if (!counter) {
      if (ttlMs !== undefined) this.#sweep(now);
      counter = { key, value: 0, expires: ttlMs === undefined ? null : now + ttlMs };
    }
    counter.value += amount;
    this.#write(this.#dir, file, JSON.stringify(counter));
    return counter.value;
  }

  /** Remove every counter that expired by `now`. */
  #sweep(now: number): void {
    for (const file of readdirSync(this.#dir)) {
      if (file.startsWith(".")) continue; // a temporary file being written
      const counter = this.#read(file);
      if (counter && counter.expires !== null && counter.expires <= now) {
        rmSync(join(this.#dir, file), { force: true });
      }
    }
  }

  /** Remove the counter `key`; true if its file was there. */
  delete(key: string): boolean {
    try {
      rmSync(join(this.#dir, this.#file(key)));
      return true;
    } catch (err) {
      if (errorCode(err) === "ENOENT") return false;
      throw err;
    }
  }
}
