/**
 * The error store (dead letters) of a FileStorage: one file per kept
 * message under `<path>/<name>/errors/`, named by the storage's sequence
 * number (which is its id), holding `{ data, reason, time, info }` as JSON.
 * FileStorage calls these under its cross-process lock; the work here is
 * synchronous.
 *
 * @module
 */
import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { WriteWhole } from "./file_counters.ts";
import type { ErrorItem } from "./types.ts";

/** What FileErrors needs from its storage, beside the directory. */
export interface FileErrorsHost {
  /** Writes a file whole. */
  write: WriteWhole;
  /** The next name in insertion order (the storage's sequence). */
  nextName: () => string;
  /** Enqueues a message (under the same lock). */
  enqueue: (data: string, priority: number) => void;
}

/**
 * The kept messages in one directory.
 *
 * @example
 * ```ts
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { FileErrors } from "./file_errors.ts";
 * const dir = mkdtempSync(join(tmpdir(), "errors-"));
 * let seq = 0;
 * const errors = new FileErrors(dir, {
 *   write: (d, name, content) => writeFileSync(join(d, name), content),
 *   nextName: () => String(++seq).padStart(8, "0"),
 *   enqueue: () => {},
 * });
 * errors.put("m", "why", 0);
 * console.log(errors.items(undefined)[0].id); // "00000001"
 * ```
 */
export class FileErrors {
  readonly #dir: string;
  readonly #host: FileErrorsHost;

  /** Kept messages in `dir`. */
  constructor(dir: string, host: FileErrorsHost) {
    this.#dir = dir;
    this.#host = host;
  }

  #names(): string[] {
    return readdirSync(this.#dir).filter((name) => !name.startsWith(".")).sort();
  }

  /** {@link Storage.putError}. */
  put(data: string, reason: string, now: number, info?: string): void {
    const item: Omit<ErrorItem, "id"> = { data, reason, time: now, info };
    this.#host.write(this.#dir, this.#host.nextName(), JSON.stringify(item));
  }

  /** The kept message in the file `id` (its name), if there is one. */
  #item(id: string): ErrorItem | undefined {
    // Only a name listed there: an id is never a path of its own.
    if (!this.#names().includes(id)) return undefined;
    const item = JSON.parse(readFileSync(join(this.#dir, id), "utf8")) as ErrorItem;
    const kept: ErrorItem = { id, data: item.data, reason: item.reason, time: item.time };
    if (typeof item.info === "string") kept.info = item.info;
    return kept;
  }

  /** {@link Storage.errorItems}, oldest first; all when `limit` is undefined. */
  items(limit: number | undefined): ErrorItem[] {
    return this.#names().slice(0, limit).map((name) => this.#item(name) as ErrorItem);
  }

  /** {@link Storage.deleteError}. */
  delete(id: string): boolean {
    if (!this.#item(id)) return false;
    unlinkSync(join(this.#dir, id));
    return true;
  }

  /** {@link Storage.requeueError}: the queue file is written before the kept one goes (a crash between keeps both). */
  requeue(id: string, priority: number): boolean {
    const item = this.#item(id);
    if (!item) return false;
    this.#host.enqueue(item.data, priority);
    unlinkSync(join(this.#dir, id));
    return true;
  }
}
