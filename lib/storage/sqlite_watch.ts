/**
 * Wake-ups across processes for SQLite, which has no notifications: a
 * consumer asleep in one process wakes when another process commits to the
 * same database file, however long it has been idle.
 *
 * Every commit in WAL mode appends to the `-wal` file, so a watch on that
 * file (inotify, FSEvents, ReadDirectoryChangesW through `node:fs.watch`,
 * which Deno, Node and Bun all have) fires for it; the callback then reads
 * `PRAGMA data_version`, which changes only when *another* connection
 * committed, so this process's own writes wake nobody. The watch is open
 * only while someone waits, so a producer that never waits has none, and
 * an idle consumer costs no CPU: the kernel wakes it. Where no watch can
 * be set (`:memory:`, a `file:` URI, a filesystem without change events)
 * the callers' polling, unchanged, is all there is.
 *
 * @module
 */
import { existsSync, watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import type { DatabaseSync } from "node:sqlite";
import { unrefTimer } from "../runtime.ts";
import type { Wakeup } from "./wakeup.ts";

/** How long the watch stays open after the last waiter left: consumers wait again at once. */
const LINGER_MS = 200;

/**
 * Calls `onCommit` when another connection commits to the database whose
 * WAL file is `walPath`, while at least one {@link hold} is taken.
 *
 * @example
 * ```ts
 * import { OtherCommits } from "./sqlite_watch.ts";
 * let version = 0;
 * const commits = new OtherCommits(undefined, () => version, () => console.log("woken"));
 * const seen = commits.version();
 * const release = commits.hold();
 * version++;
 * console.log(commits.changedSince(seen)); // true
 * release();
 * ```
 */
export class OtherCommits {
  readonly #walPath: string | undefined;
  readonly #readVersion: () => number;
  readonly #onCommit: () => void;
  #watcher: FSWatcher | undefined;
  #holders = 0;
  #lastVersion = 0;
  #linger: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * @param walPath the database's `-wal` file, or undefined for no watch
   * @param readVersion reads `PRAGMA data_version` on this process's connection
   * @param onCommit called (at most once per event) when that version moved
   */
  constructor(walPath: string | undefined, readVersion: () => number, onCommit: () => void) {
    this.#walPath = walPath;
    this.#readVersion = readVersion;
    this.#onCommit = onCommit;
  }

  /** The current change counter: compare it later with {@link changedSince}. */
  version(): number {
    return this.#readVersion();
  }

  /** True when another connection committed since `version` was read. */
  changedSince(version: number): boolean {
    return this.#readVersion() !== version;
  }

  /** Keep the watch open until the returned function is called. */
  hold(): () => void {
    this.#holders++;
    if (this.#linger !== undefined) {
      clearTimeout(this.#linger);
      this.#linger = undefined;
    }
    this.#open();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holders > 0 || this.#watcher === undefined) return;
      this.#linger = setTimeout(() => {
        this.#linger = undefined;
        if (this.#holders === 0) this.#shut();
      }, LINGER_MS);
      unrefTimer(this.#linger);
    };
  }

  /** Stop watching for good (the storage closed). */
  close(): void {
    this.#closed = true;
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#shut();
  }

  #open(): void {
    if (this.#watcher || this.#closed || !this.#walPath || !existsSync(this.#walPath)) return;
    try {
      this.#lastVersion = this.#readVersion();
      const watcher = watch(this.#walPath, { persistent: false }, () => this.#changed());
      // A watch that breaks (the file went away) falls back to polling, never throws.
      watcher.on("error", () => this.#shut());
      this.#watcher = watcher;
    } catch {
      this.#watcher = undefined;
    }
  }

  #changed(): void {
    if (this.#holders === 0 || this.#closed) return;
    let version: number;
    try {
      version = this.#readVersion();
    } catch {
      return; // the connection closed under us: the waiters end with it
    }
    if (version === this.#lastVersion) return;
    this.#lastVersion = version;
    this.#onCommit();
  }

  #shut(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    try {
      watcher?.close();
    } catch { /* already closed */ }
  }
}

/**
 * The sleeps of one SQLite storage: a consumer's between polls, a blocked
 * `get()`'s; each ends early at this instance's own writes (the wake-ups
 * its storage notifies) and at other processes' commits.
 */
export class SqliteWaits {
  readonly #commits: OtherCommits;
  readonly #queued: Wakeup;
  readonly #stored: Wakeup;
  /** The change counter read before the last dequeue (see forEnqueue). */
  #seenVersion = -1;

  /**
   * @param db the storage's connection
   * @param file the database file, or undefined for no watch (polling only)
   * @param queued notified by the storage's own enqueues
   * @param stored notified by the storage's own result writes
   */
  constructor(db: DatabaseSync, file: string | undefined, queued: Wakeup, stored: Wakeup) {
    const dataVersion = db.prepare("PRAGMA data_version");
    this.#queued = queued;
    this.#stored = stored;
    this.#commits = new OtherCommits(
      file === undefined ? undefined : `${file}-wal`,
      () => Number((dataVersion.get() as { data_version: number }).data_version),
      () => {
        queued.notify();
        stored.notify();
      },
    );
  }

  /** Note the change counter: call before each dequeue. */
  dequeuing(): void {
    this.#seenVersion = this.#commits.version();
  }

  /** Sleep up to `ms`, ending at an enqueue here or a commit elsewhere. */
  async forEnqueue(ms: number, signal?: AbortSignal): Promise<void> {
    const release = this.#commits.hold();
    try {
      // A commit between the last dequeue and the watch opening fired no event.
      if (this.#seenVersion !== -1 && this.#commits.changedSince(this.#seenVersion)) return;
      await this.#queued.wait(ms, signal);
    } finally {
      release();
    }
  }

  /** Poll `present` (1 ms, growing to 50 ms) until true or `ms` passed; commits end each sleep. */
  async forData(
    present: () => Promise<boolean>,
    ms: number,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const deadline = performance.now() + ms;
    let delay = 1;
    const release = this.#commits.hold();
    try {
      for (;;) {
        if (await present()) return true;
        const left = deadline - performance.now();
        if (left <= 0 || signal?.aborted) return false;
        await this.#stored.wait(Math.min(delay, left), signal);
        delay = Math.min(delay * 1.2, 50);
      }
    } finally {
      release();
    }
  }

  /** Stop watching (the storage closed). */
  close(): void {
    this.#commits.close();
  }
}
