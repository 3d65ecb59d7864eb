/**
 * What every driver checks before it writes a record (see
 * `Storage.putRecord`), so bad input is refused the same way everywhere,
 * and the in-memory record map the memory storage keeps.
 *
 * @module
 */

/** The longest record lifetime, in seconds (about 317 years, as counters). */
const MAX_TTL = 1e10;

/**
 * The record write `putRecord(key, value, ttl)` asks for, as its lifetime in
 * ms, or a TypeError (a key or value that is not a string) or RangeError (a
 * ttl that is not a positive number of seconds) naming the record and
 * `where` (the storage).
 *
 * @example
 * ```ts
 * import { checkRecord } from "./record.ts";
 * console.log(checkRecord("%status:1", "{}", 60, "MemoryStorage")); // 60000
 * ```
 */
export function checkRecord(key: unknown, value: unknown, ttl: unknown, where: string): number {
  if (typeof key !== "string" || typeof value !== "string") {
    throw new TypeError(
      `Cannot store a record of ${where}: key and value must be strings: ${typeof key}, ${typeof value}`,
    );
  }
  if (!(typeof ttl === "number" && ttl > 0 && ttl <= MAX_TTL)) {
    throw new RangeError(
      `Cannot store record ${JSON.stringify(key.slice(0, 100))} of ${where}: ` +
        `ttl must be a number of seconds above 0, at most ${MAX_TTL}: ${String(ttl)}`,
    );
  }
  return ttl * 1000;
}

/** A TypeError naming `where` for a record key or prefix that is not a string. */
export function checkRecordKey(key: unknown, where: string): string {
  if (typeof key !== "string") {
    throw new TypeError(
      `Cannot read a record of ${where}: the key must be a string: ${typeof key}`,
    );
  }
  return key;
}

/**
 * Records in a Map, each with its expiry (ms on the callers' clock): the
 * record store of MemoryStorage. Expired records read as missing and are
 * swept when records are listed.
 *
 * @example
 * ```ts
 * import { RecordMap } from "./record.ts";
 * const records = new RecordMap();
 * records.put("c:1", "x", 60_000, 0);
 * console.log(records.get("c:1", 1000), records.get("c:1", 60_000)); // "x" undefined
 * ```
 */
export class RecordMap {
  readonly #records = new Map<string, { value: string; expires: number }>();

  /** Store `value` under `key` until `now + ttlMs`. */
  put(key: string, value: string, ttlMs: number, now: number): void {
    this.#records.set(key, { value, expires: now + ttlMs });
  }

  /** The unexpired record under `key`, or `undefined`. */
  get(key: string, now: number): string | undefined {
    const record = this.#records.get(key);
    return record && record.expires > now ? record.value : undefined;
  }

  /** The unexpired records under `prefix`, sorted by key, at most `limit`. */
  items(prefix: string, now: number, limit?: number): Map<string, string> {
    const keys: string[] = [];
    for (const [key, record] of this.#records) {
      if (record.expires <= now) this.#records.delete(key);
      else if (key.startsWith(prefix)) keys.push(key);
    }
    keys.sort();
    const items = new Map<string, string>();
    for (const key of keys.slice(0, limit === undefined ? undefined : Math.max(0, limit))) {
      items.set(key, this.#records.get(key)!.value);
    }
    return items;
  }

  /** Remove `key`; true if it was there. */
  delete(key: string): boolean {
    return this.#records.delete(key);
  }

  /** Remove every record. */
  clear(): void {
    this.#records.clear();
  }
}
