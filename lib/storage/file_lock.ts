/**
 * The cross-process lock of a `FileStorage`: one lock file, created
 * with `open(..., "wx")` and holding a random token, removed when done.
 *
 * @module
 */
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";

/** A lock file older than this is left over by a dead process and may be taken over. */
const STALE_LOCK_MS = 10_000;

/** The `code` of a Node-style filesystem error (`ENOENT`, `EEXIST`...). */
export function errorCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

/**
 * A lock file that works across processes. Each call is synchronous and
 * throws the filesystem's own errors; the storage names what it was doing.
 *
 * @example Take the lock, work, release it
 * ```ts
 * import { mkdtempSync, rmSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { FileLock } from "./file_lock.ts";
 * const dir = mkdtempSync(join(tmpdir(), "huey-"));
 * const lock = new FileLock(join(dir, "lock"));
 * const token = lock.tryLock();
 * console.log(token !== undefined, lock.tryLock()); // true undefined
 * if (token) lock.release(token);
 * rmSync(dir, { recursive: true });
 * ```
 */
export class FileLock {
  /** The lock file. */
  readonly path: string;

  /** A lock on `path` (the file need not exist). */
  constructor(path: string) {
    this.path = path;
  }

  /** Create the lock file holding a new token; `undefined` when another holder has it. */
  tryLock(): string | undefined {
    const token = crypto.randomUUID();
    let fd: number | undefined;
    try {
      fd = openSync(this.path, "wx");
      writeSync(fd, token);
      closeSync(fd);
      return token;
    } catch (err) {
      if (fd !== undefined) {
        // Created but not written: give it up rather than leave a nameless lock.
        try {
          closeSync(fd);
        } catch { /* already closed */ }
        rmSync(this.path, { force: true });
      }
      if (errorCode(err) === "EEXIST") return undefined;
      throw err;
    }
  }

  /**
   * Remove the lock file if it is stale (older than 10 s: left by a dead
   * process); true when the caller should retry at once. The stale file is
   * renamed aside first (only one contender's rename succeeds) and, should
   * it turn out to be a fresh lock that replaced the stale one meanwhile,
   * linked back.
   */
  breakStale(): boolean {
    let seen: { ino: number; mtimeMs: number; token: string };
    try {
      const stat = statSync(this.path);
      seen = { ino: stat.ino, mtimeMs: stat.mtimeMs, token: readFileSync(this.path, "utf8") };
    } catch (err) {
      if (errorCode(err) === "ENOENT") return true;
      throw err;
    }
    if (Date.now() - seen.mtimeMs < STALE_LOCK_MS) return false;
    const aside = `${this.path}.${crypto.randomUUID()}.stale`;
    try {
      renameSync(this.path, aside);
    } catch (err) {
      if (errorCode(err) === "ENOENT") return true;
      throw err;
    }
    try {
      const stat = statSync(aside);
      const token = readFileSync(aside, "utf8");
      if (stat.ino !== seen.ino || stat.mtimeMs !== seen.mtimeMs || token !== seen.token) {
        try {
          linkSync(aside, this.path);
        } catch { /* a third process holds the lock now */ }
      }
    } finally {
      rmSync(aside, { force: true });
    }
    return true;
  }

  /** Remove the lock file if it is still ours (it is not if it was taken over as stale). */
  release(token: string): void {
    try {
      if (readFileSync(this.path, "utf8") === token) unlinkSync(this.path);
    } catch (err) {
      if (errorCode(err) !== "ENOENT") throw err;
    }
  }
}
