/**
 * Storage in a directory of plain files (huey's FileHuey): for development
 * and tests, shareable by several processes on one machine.
 *
 * @module
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { errorMessage, sleep, turnIfDue } from "../_util.ts";
import { HueyError } from "../errors.ts";
import { FileCounters } from "./file_counters.ts";
import { FileErrors } from "./file_errors.ts";
import { FileRecords } from "./file_records.ts";
import { errorCode, FileLock } from "./file_lock.ts";
import { checkCounterKey, checkIncrement } from "./counter.ts";
import type { CounterOptions, Delivery, DequeueOptions, ErrorItem, Storage } from "./types.ts";
import { decodeUtf8, notUtf8 } from "./utf8.ts";

/** Options of {@link FileStorage}. */
export interface FileStorageOptions {
  /** Name used to namespace this storage: each name gets its own subdirectory. @default "huey" */
  name?: string;
  /** Directory that holds the storage; created (with its parents) when missing. */
  path: string;
}

/** Longest pause between two attempts to take the lock. */
const MAX_LOCK_BACKOFF_MS = 20;

const float = new DataView(new ArrayBuffer(8));

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/**
 * 16 hex digits that sort (as strings) like the numbers they encode: the
 * IEEE 754 bits with the sign bit flipped, or every bit flipped for negatives.
 */
function ascKey(n: number): string {
  float.setFloat64(0, n === 0 ? 0 : n);
  let hi = float.getUint32(0);
  let lo = float.getUint32(4);
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else hi = (hi | 0x80000000) >>> 0;
  return hex8(hi) + hex8(lo);
}

/** Like {@link ascKey}, but sorting in descending order of `n`. */
function descKey(n: number): string {
  return ascKey(n).replace(/[0-9a-f]/g, (d) => (15 - parseInt(d, 16)).toString(16));
}

/** A directory name for a storage name: no separators, no "." or "..". */
function dirName(name: string): string {
  const safe = encodeURIComponent(name).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return /^\.+$/.test(safe) ? safe.replace(/\./g, "%2E") : safe;
}

/** The results file of `key`: a fixed-length, case-insensitive-safe name for any key. */
function resultName(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Key and value of a results file's content. */
function parseResult(content: string): [string, string] {
  const newline = content.indexOf("\n");
  return [JSON.parse(content.slice(0, newline)), content.slice(newline + 1)];
}

/** The content of `file`, or `undefined` when there is no such file. */
function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if (errorCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

/** How many items an optional `limit` allows. */
function cap(limit: number | undefined): number | undefined {
  return limit === undefined ? undefined : Math.max(0, Math.floor(limit));
}

/**
 * Storage in a directory: one file per message, schedule entry, stored value
 * and error, under `<path>/<name>/`. Meant for development and tests, like
 * huey's FileHuey; prefer `SqliteStorage` for real workloads.
 *
 * Layout:
 * - `queue/<priority>-<seq>[~<deliveries>]`: waiting messages; sorting the
 *   names gives the dequeue order (higher priority first, then FIFO); a
 *   recovered message carries how often it was handed out.
 * - `leased/<receipt>_<lease end>_<queue name>`: dequeued messages, moved
 *   here by `dequeue` and back to `queue/` by `recoverLeases`.
 * - `schedule/<eta>-<seq>`, `errors/<seq>`: in time, then insertion order.
 * - `results/<sha256 of key>`: the key (as JSON) on the first line, the value after.
 * - `counters/<sha256 of key>`: `{ key, value, expires }` as JSON (file_counters.ts).
 * - `records/<sha256 of key>`: `{ key, value, expires }` as JSON (file_records.ts).
 * - `seq`: the counter behind `<seq>`; `lock`: the lock file.
 *
 * Every operation holds an exclusive lock that works across processes: the
 * `lock` file, created with `open(..., "wx")` and removed when done; others
 * retry with a short random backoff. The work under the lock is synchronous,
 * so operations of one process never overlap either. A lock file older than
 * 10 seconds is taken to be left by a dead process and is taken over.
 * `dequeue` does not block (it ignores `wait`).
 *
 * @example Queue a message and take it under a lease
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { FileStorage } from "./file.ts";
 * const path = mkdtempSync(join(tmpdir(), "huey-"));
 * const storage = new FileStorage({ name: "demo", path });
 * await storage.enqueue("hello", 0);
 * const delivery = await storage.dequeue({ now: Date.now(), leaseSeconds: 30 });
 * console.log(delivery?.data); // "hello"
 * if (delivery) await storage.ack(delivery.receipt);
 * await storage.close();
 * rmSync(path, { recursive: true });
 * ```
 */
export class FileStorage implements Storage {
  readonly name: string;
  readonly blocking = false;
  readonly priority = true;
  /** The directory holding this name's files: `<path>/<name>`, absolute. */
  readonly directory: string;

  #queue: string;
  #leased: string;
  #schedule: string;
  #results: string;
  #errors: string;
  #counters: string;
  #counterFiles: FileCounters;
  #errorFiles: FileErrors;
  #records: string;
  #recordFiles: FileRecords;
  #lock: FileLock;
  #seqFile: string;
  #closed = false;

  /**
   * Create the directories when missing.
   *
   * @throws {HueyError} when the directory cannot be created.
   * @throws {TypeError} when `path` is missing or empty.
   */
  constructor(options: FileStorageOptions) {
    const { name = "huey", path } = options ?? {};
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`Cannot create FileStorage: name must be a non-empty string: ${name}`);
    }
    if (typeof path !== "string" || path === "") {
      throw new TypeError(`Cannot create FileStorage: path must be a non-empty string: ${path}`);
    }
    this.name = name;
    this.directory = resolve(path, dirName(name));
    this.#queue = join(this.directory, "queue");
    this.#leased = join(this.directory, "leased");
    this.#schedule = join(this.directory, "schedule");
    this.#results = join(this.directory, "results");
    this.#errors = join(this.directory, "errors");
    this.#counters = join(this.directory, "counters");
    this.#counterFiles = new FileCounters(this.#counters, (d, n, c) => this.#write(d, n, c));
    this.#errorFiles = new FileErrors(this.#errors, {
      write: (d, n, c) => this.#write(d, n, c),
      nextName: () => ascKey(this.#nextSeq()),
      enqueue: (data, priority) => this.#enqueue(data, priority),
    });
    this.#records = join(this.directory, "records");
    this.#recordFiles = new FileRecords(
      this.#records,
      (d, n, c) => this.#write(d, n, c),
      (action, fn) => this.#locked(action, fn),
      () => this.#where(),
    );
    this.#lock = new FileLock(join(this.directory, "lock"));
    this.#seqFile = join(this.directory, "seq");
    try {
      for (const dir of this.#dirs()) mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new HueyError(
        `Cannot open FileStorage "${name}": ${errorMessage(err)}: ${this.directory}`,
        { cause: err },
      );
    }
  }

  /** Every directory of this name's data. */
  #dirs(): string[] {
    const dirs = [this.#queue, this.#leased, this.#schedule, this.#results, this.#errors];
    return [...dirs, this.#counters, this.#records];
  }

  #error(action: string, why: string, cause?: unknown): HueyError {
    return new HueyError(
      `Cannot ${action}: ${why}: ${this.#where()}`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** This storage (and `file` in it) as error messages name it. */
  #where(file?: string): string {
    const at = file === undefined ? this.directory : `${this.directory} (${file})`;
    return `FileStorage "${this.name}" at ${at}`;
  }

  /**
   * Run the synchronous `fn` under the cross-process lock; failures become
   * HueyErrors. The lock is taken, used and released in one synchronous
   * stretch, so other calls of this process never find it held by us.
   */
  async #locked<T>(action: string, fn: () => T): Promise<T> {
    // The work is synchronous and resolves on microtasks: a busy consumer
    // would never let timers and signals run without a turn now and then.
    const turn = turnIfDue();
    if (turn) await turn;
    const lock = this.#lock;
    for (let attempt = 0;; attempt++) {
      if (this.#closed) throw this.#error(action, "the storage is closed");
      const token = this.#named(action, () => lock.tryLock());
      if (token !== undefined) {
        try {
          return this.#named(action, fn);
        } finally {
          this.#named(action, () => lock.release(token));
        }
      }
      if (!this.#named(action, () => lock.breakStale())) {
        await sleep(Math.random() * Math.min(2 ** attempt, MAX_LOCK_BACKOFF_MS) / 1000);
      }
    }
  }

  /** Run `fn`; a failure becomes a HueyError naming `action` and this storage. */
  #named<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.#error(action, errorMessage(err), err);
    }
  }

  /** Entries of `dir`, without the temporary files (which start with a dot). */
  #list(dir: string): string[] {
    return readdirSync(dir).filter((name) => !name.startsWith("."));
  }

  /** Write a file in `dir` whole: to a temporary name, then renamed into place. */
  #write(dir: string, name: string, content: string): void {
    const tmp = join(dir, `.${crypto.randomUUID()}.tmp`);
    writeFileSync(tmp, content);
    renameSync(tmp, join(dir, name));
  }

  /**
   * The next number of the storage-wide counter. The `seq` file holds it as
   * 16 zero-padded digits, rewritten in place: cheaper than a new file per
   * call, and a write that small is all-or-nothing in practice.
   */
  #nextSeq(): number {
    let fd: number;
    try {
      fd = openSync(this.#seqFile, "r+");
    } catch (err) {
      if (errorCode(err) !== "ENOENT") throw err;
      fd = openSync(this.#seqFile, "w+");
    }
    try {
      const bytes = new Uint8Array(32);
      const size = readSync(fd, bytes, 0, bytes.length, 0);
      const text = new TextDecoder().decode(bytes.subarray(0, size)).trim();
      const last = text === "" ? 0 : Number(text);
      if (!Number.isSafeInteger(last) || last < 0) {
        throw new Error(`corrupt counter file: ${JSON.stringify(text)}`);
      }
      writeSync(fd, String(last + 1).padStart(16, "0"), 0);
      return last + 1;
    } finally {
      closeSync(fd);
    }
  }

  #clear(dir: string): void {
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
  }

  /** The leased file holding `receipt`, or undefined. */
  #findLease(receipt: string): string | undefined {
    const prefix = `${receipt}_`;
    return this.#list(this.#leased).find((name) => name.startsWith(prefix));
  }

  #resultFile(key: string): string {
    return join(this.#results, resultName(key));
  }

  #putResult(key: string, value: string): void {
    this.#write(this.#results, resultName(key), `${JSON.stringify(key)}\n${value}`);
  }

  // -- queue ---------------------------------------------------------------

  #enqueue(data: string, priority: number): void {
    this.#write(this.#queue, `${descKey(priority)}-${ascKey(this.#nextSeq())}`, data);
  }

  enqueue(data: string, priority: number): Promise<void> {
    return this.#locked("enqueue", () => this.#enqueue(data, priority));
  }

  enqueueMany(items: readonly { data: string; priority: number }[]): Promise<void> {
    return this.#locked("enqueue", () => {
      for (const item of items) this.#enqueue(item.data, item.priority);
    });
  }

  /**
   * The content of a queue or schedule file that is about to be handed
   * out, or undefined when it is not valid UTF-8: then it is moved to the
   * error store instead (recorded first, then removed: never lost).
   */
  #message(dir: string, name: string, now: number): string | undefined {
    const file = join(dir, name);
    const bytes = readFileSync(file);
    const data = decodeUtf8(bytes);
    if (data !== undefined) return data;
    const from = dir === this.#queue ? "the queue" : "the schedule";
    const { data: kept, reason } = notUtf8(bytes, `${from} of ${this.#where(name)}`);
    this.#errorFiles.put(kept, reason, now);
    unlinkSync(file);
    return undefined;
  }

  dequeue(options: DequeueOptions): Promise<Delivery | undefined> {
    return this.#locked("dequeue", () => {
      let first: string | undefined;
      let data: string | undefined;
      while (data === undefined) {
        first = undefined;
        for (const name of this.#list(this.#queue)) {
          if (first === undefined || name < first) first = name;
        }
        if (first === undefined) return undefined;
        data = this.#message(this.#queue, first, options.now);
      }
      const receipt = crypto.randomUUID();
      const until = options.now + options.leaseSeconds * 1000;
      const [position, before] = first!.split("~");
      const deliveries = Number(before ?? 0) + 1;
      const leased = join(this.#leased, `${receipt}_${ascKey(until)}_${position}~${deliveries}`);
      renameSync(join(this.#queue, first!), leased);
      const delivery: Delivery = { data, receipt, deliveries };
      if (options.peekKey === undefined) return delivery;
      const content = readOptional(this.#resultFile(options.peekKey));
      delivery.peeked = content === undefined ? null : parseResult(content)[1];
      return delivery;
    });
  }

  /** Remove the leased file of `receipt`; false when the lease was lost. */
  #ack(receipt: string): boolean {
    const name = this.#findLease(receipt);
    if (name === undefined) return false;
    unlinkSync(join(this.#leased, name));
    return true;
  }

  ack(receipt: string): Promise<boolean> {
    return this.#locked("acknowledge a message", () => this.#ack(receipt));
  }

  /**
   * Under one lock: store only while the lease is still this one (a
   * finisher that lost it must not overwrite the rerun's result), then
   * acknowledge.
   */
  putDataAndAck(key: string, value: string, receipt: string): Promise<boolean> {
    return this.#locked("store a result and acknowledge its message", () => {
      if (this.#findLease(receipt) === undefined) return false;
      this.#putResult(key, value);
      return this.#ack(receipt);
    });
  }

  extendLease(receipt: string, now: number, leaseSeconds: number): Promise<boolean> {
    return this.#locked("extend a lease", () => {
      const name = this.#findLease(receipt);
      if (name === undefined) return false;
      const queued = name.split("_")[2];
      const renamed = `${receipt}_${ascKey(now + leaseSeconds * 1000)}_${queued}`;
      renameSync(join(this.#leased, name), join(this.#leased, renamed));
      return true;
    });
  }

  recoverLeases(now: number): Promise<string[]> {
    return this.#locked("recover leases", () => {
      const nowKey = ascKey(now);
      const expired = this.#list(this.#leased)
        .map((name) => ({ name, parts: name.split("_") }))
        .filter(({ parts }) => parts[1] <= nowKey)
        // By original position, latest first: each goes to the very front of
        // its priority, so the batch ends up in its original order.
        .sort((a, b) => (a.parts[2] < b.parts[2] ? 1 : -1));
      const recovered: string[] = [];
      for (const { name, parts } of expired) {
        const from = join(this.#leased, name);
        recovered.push(readFileSync(from, "utf8"));
        const priority = parts[2].slice(0, 16);
        const deliveries = parts[2].split("~")[1];
        renameSync(
          from,
          join(this.#queue, `${priority}-${ascKey(-this.#nextSeq())}~${deliveries}`),
        );
      }
      return recovered.reverse();
    });
  }

  queueSize(): Promise<number> {
    return this.#locked("count the queue", () => this.#list(this.#queue).length);
  }

  enqueuedItems(limit?: number): Promise<string[]> {
    return this.#locked("list the queue", () => {
      const names = this.#list(this.#queue).sort().slice(0, cap(limit));
      return names.map((name) => readFileSync(join(this.#queue, name), "utf8"));
    });
  }

  leasedSize(): Promise<number> {
    return this.#locked("count leased messages", () => this.#list(this.#leased).length);
  }

  leasedItems(limit?: number): Promise<string[]> {
    return this.#locked("list leased messages", () => {
      const names = this.#list(this.#leased).slice(0, cap(limit));
      return names.map((name) => readFileSync(join(this.#leased, name), "utf8"));
    });
  }

  flushQueue(): Promise<void> {
    return this.#locked("flush the queue", () => {
      this.#clear(this.#queue);
      this.#clear(this.#leased);
    });
  }

  // -- schedule ------------------------------------------------------------

  addToSchedule(data: string, eta: number): Promise<void> {
    return this.#locked("add to the schedule", () => {
      this.#write(this.#schedule, `${ascKey(eta)}-${ascKey(this.#nextSeq())}`, data);
    });
  }

  readSchedule(now: number): Promise<string[]> {
    return this.#locked("read the schedule", () => {
      const nowKey = ascKey(now);
      const due: string[] = [];
      for (const name of this.#list(this.#schedule).sort()) {
        if (name.slice(0, 16) > nowKey) break;
        const data = this.#message(this.#schedule, name, now);
        if (data === undefined) continue;
        due.push(data);
        unlinkSync(join(this.#schedule, name));
      }
      return due;
    });
  }

  scheduleSize(): Promise<number> {
    return this.#locked("count the schedule", () => this.#list(this.#schedule).length);
  }

  scheduledItems(limit?: number): Promise<string[]> {
    return this.#locked("list the schedule", () => {
      const names = this.#list(this.#schedule).sort().slice(0, cap(limit));
      return names.map((name) => readFileSync(join(this.#schedule, name), "utf8"));
    });
  }

  flushSchedule(): Promise<void> {
    return this.#locked("flush the schedule", () => this.#clear(this.#schedule));
  }

  // -- result store --------------------------------------------------------

  putData(key: string, value: string): Promise<void> {
    return this.#locked("store data", () => {
      this.#putResult(key, value);
    });
  }

  peekData(key: string): Promise<string | undefined> {
    return this.#locked("read data", () => {
      const content = readOptional(this.#resultFile(key));
      return content === undefined ? undefined : parseResult(content)[1];
    });
  }

  popData(key: string): Promise<string | undefined> {
    return this.#locked("pop data", () => {
      const file = this.#resultFile(key);
      const content = readOptional(file);
      if (content === undefined) return undefined;
      unlinkSync(file);
      return parseResult(content)[1];
    });
  }

  hasDataForKey(key: string): Promise<boolean> {
    return this.#locked("read data", () => existsSync(this.#resultFile(key)));
  }

  putIfEmpty(key: string, value: string): Promise<boolean> {
    return this.#locked("store data", () => {
      if (existsSync(this.#resultFile(key))) return false;
      this.#putResult(key, value);
      return true;
    });
  }

  deleteData(key: string): Promise<boolean> {
    return this.#locked("delete data", () => {
      try {
        unlinkSync(this.#resultFile(key));
        return true;
      } catch (err) {
        if (errorCode(err) === "ENOENT") return false;
        throw err;
      }
    });
  }

  resultStoreSize(): Promise<number> {
    return this.#locked("count stored data", () => this.#list(this.#results).length);
  }

  resultItems(): Promise<Map<string, string>> {
    return this.#locked("list stored data", () => {
      const items = new Map<string, string>();
      for (const name of this.#list(this.#results)) {
        const [key, value] = parseResult(readFileSync(join(this.#results, name), "utf8"));
        items.set(key, value);
      }
      return items;
    });
  }

  flushResults(): Promise<void> {
    return this.#locked("flush stored data", () => this.#clear(this.#results));
  }

  // -- counters ------------------------------------------------------------

  async incr(key: string, amount = 1, options?: CounterOptions): Promise<number> {
    const increment = checkIncrement(key, amount, options, this.#where());
    return await this.#locked("increment a counter", () => this.#counterFiles.incr(key, increment));
  }

  async deleteCounter(key: string): Promise<boolean> {
    checkCounterKey(key, this.#where());
    return await this.#locked("delete a counter", () => this.#counterFiles.delete(key));
  }

  flushCounters(): Promise<void> {
    return this.#locked("flush counters", () => this.#clear(this.#counters));
  }

  // -- records (file_records.ts) -------------------------------------------
  readonly putRecord: Storage["putRecord"] = (...args) => this.#recordFiles.put(...args);
  readonly getRecord: Storage["getRecord"] = (...args) => this.#recordFiles.get(...args);
  readonly recordItems: Storage["recordItems"] = (...args) => this.#recordFiles.items(...args);
  readonly deleteRecord: Storage["deleteRecord"] = (key) => this.#recordFiles.delete(key);
  readonly flushRecords: Storage["flushRecords"] = () => this.#recordFiles.flush();

  // -- error store (file_errors.ts) ----------------------------------------

  putError(data: string, reason: string, now: number, info?: string): Promise<void> {
    return this.#locked("store an error", () => this.#errorFiles.put(data, reason, now, info));
  }

  errorItems(limit?: number): Promise<ErrorItem[]> {
    return this.#locked("list errors", () => this.#errorFiles.items(cap(limit)));
  }

  deleteError(id: string): Promise<boolean> {
    return this.#locked("delete an error", () => this.#errorFiles.delete(id));
  }

  requeueError(id: string, priority: number): Promise<boolean> {
    return this.#locked("requeue an error", () => this.#errorFiles.requeue(id, priority));
  }

  flushErrors(): Promise<void> {
    return this.#locked("flush errors", () => this.#clear(this.#errors));
  }

  // -- lifecycle -----------------------------------------------------------

  flushAll(): Promise<void> {
    return this.#locked("flush the storage", () => {
      for (const dir of this.#dirs()) this.#clear(dir);
    });
  }

  /** Later calls reject with a {@link HueyError}; nothing is held open between calls. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
