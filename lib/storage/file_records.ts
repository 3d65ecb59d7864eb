/**
 * The records of a FileStorage (`Storage.putRecord`): one file per record
 * under `<path>/<name>/records/`, named by the SHA-256 of its key, holding
 * `{ key, value, expires }` as JSON. FileStorage calls these under its
 * cross-process lock; the work here is synchronous.
 *
 * @module
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { keyFileName, readJsonFile } from "./file_counters.ts";
import type { WriteWhole } from "./file_counters.ts";
import { errorCode } from "./file_lock.ts";
import { checkRecord, checkRecordKey } from "./record.ts";

/** Runs `fn` under the storage's cross-process lock, failures named after `action`. */
export type Locked = <T>(action: string, fn: () => T) => Promise<T>;

/** What a record's file holds. */
interface RecordFile {
  key: string;
  value: string;
  /** When it expires, ms on the callers' clock. */
  expires: number;
}

/** How often (ms on the callers' clock) a write sweeps expired records: not per write. */
const SWEEP_EVERY_MS = 10_000;

/**
 * The records in one directory.
 *
 * @example
 * ```ts
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { FileRecords } from "./file_records.ts";
 * const dir = mkdtempSync(join(tmpdir(), "records-"));
 * const write = (d: string, name: string, content: string) => writeFileSync(join(d, name), content);
 * const locked = async <T>(_action: string, fn: () => T) => fn();
 * const records = new FileRecords(dir, write, locked, () => dir);
 * await records.put("c:1", "x", 60, 0);
 * console.log(await records.get("c:1", 1)); // "x"
 * ```
 */
export class FileRecords {
  readonly #dir: string;
  readonly #write: WriteWhole;
  readonly #locked: Locked;
  readonly #where: () => string;
  #swept = -Infinity;

  /** The records in `dir`, written with `write`, under `locked`; `where` names the storage. */
  constructor(dir: string, write: WriteWhole, locked: Locked, where: () => string) {
    this.#dir = dir;
    this.#write = write;
    this.#locked = locked;
    this.#where = where;
  }

  /** Store the record until `now + ttl`; now and then sweep the expired ones. */
  async put(key: string, value: string, ttl: number, now: number): Promise<void> {
    const ttlMs = checkRecord(key, value, ttl, this.#where());
    return await this.#locked("store a record", () => {
      if (now - this.#swept >= SWEEP_EVERY_MS) {
        this.#swept = now;
        this.#sweep(now);
      }
      const record: RecordFile = { key, value, expires: now + ttlMs };
      this.#write(this.#dir, keyFileName(key), JSON.stringify(record));
    });
  }

  /** The unexpired record `key`, or `undefined`. */
  async get(key: string, now: number): Promise<string | undefined> {
    checkRecordKey(key, this.#where());
    return await this.#locked("read a record", () => {
      const record = readJsonFile<RecordFile>(this.#dir, keyFileName(key));
      return record && record.expires > now ? record.value : undefined;
    });
  }

  /** The unexpired records under `prefix`, sorted by key, at most `limit`; sweeps the expired. */
  async items(prefix: string, now: number, limit?: number): Promise<Map<string, string>> {
    checkRecordKey(prefix, this.#where());
    return await this.#locked("list records", () => {
      const found = this.#sweep(now).filter((record) => record.key.startsWith(prefix));
      found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const max = limit === undefined ? undefined : Math.max(0, Math.floor(limit));
      return new Map(found.slice(0, max).map((record) => [record.key, record.value]));
    });
  }

  /** Remove every record that expired by `now`; returns the others. */
  #sweep(now: number): RecordFile[] {
    const kept: RecordFile[] = [];
    for (const file of readdirSync(this.#dir)) {
      if (file.startsWith(".")) continue; // a temporary file being written
      const record = readJsonFile<RecordFile>(this.#dir, file);
      if (!record) continue;
      if (record.expires <= now) rmSync(join(this.#dir, file), { force: true });
      else kept.push(record);
    }
    return kept;
  }

  /** Remove the record `key`; true if its file was there. */
  async delete(key: string): Promise<boolean> {
    checkRecordKey(key, this.#where());
    return await this.#locked("delete a record", () => {
      try {
        rmSync(join(this.#dir, keyFileName(key)));
        return true;
      } catch (err) {
        if (errorCode(err) === "ENOENT") return false;
        throw err;
      }
    });
  }

  /** Remove every record. */
  flush(): Promise<void> {
    return this.#locked("flush records", () => {
      for (const file of readdirSync(this.#dir)) rmSync(join(this.#dir, file), { force: true });
    });
  }
}
