/**
 * Task locks on the result store's `putIfEmpty` (huey's `lock_task`).
 *
 * @module
 */
import { TaskLockedError } from "./errors.ts";
import { OWN_KEYS } from "./keys.ts";
import type { Storage } from "./storage/types.ts";

/** A lock that is held; release it, or let `await using` do so. */
export interface HeldLock extends AsyncDisposable {
  /** Release the lock; true if it was still held. */
  release(): Promise<boolean>;
}

/**
 * A named lock shared by every process on the same storage: at most one
 * holder at a time. Taking a held lock throws {@link TaskLockedError}, which
 * the consumer reports as the `locked` signal (and retries if it can).
 *
 * @example Three ways to hold it
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const lock = huey.lockTask("db-backup");
 * await lock.run(() => console.log("backing up"));
 * const report = lock.wrap((day: string) => `report for ${day}`);
 * console.log(await report("monday"));
 * {
 *   await using _held = await lock.acquire();
 *   console.log(await lock.isLocked()); // true
 * }
 * ```
 */
export class TaskLock {
  /** The lock's name. */
  readonly name: string;
  /** The result-store key that holds it. */
  readonly key: string;
  readonly #storage: () => Storage;

  /** The lock `name` on the storage `storage()` returns (read at each use). */
  constructor(storage: () => Storage, name: string) {
    this.#storage = storage;
    this.name = name;
    this.key = TaskLock.keyFor(name);
  }

  /** The result-store key of the lock called `name`. */
  static keyFor(name: string): string {
    return OWN_KEYS.lock(name);
  }

  /** Take the lock or throw {@link TaskLockedError}. */
  async acquire(): Promise<HeldLock> {
    const storage = this.#storage();
    if (!(await storage.putIfEmpty(this.key, "1"))) throw new TaskLockedError(this.name);
    let held = true;
    const release = async () => {
      if (!held) return false;
      held = false;
      return await storage.deleteData(this.key);
    };
    return { release, [Symbol.asyncDispose]: async () => void (await release()) };
  }

  /** Run `fn` while holding the lock; the lock is released however `fn` ends. */
  async run<T>(fn: () => T | Promise<T>): Promise<T> {
    const held = await this.acquire();
    try {
      return await fn();
    } finally {
      await held.release();
    }
  }

  /** `fn`, taking the lock around every call: use it as a task function. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
    return (...args: A) => this.run(() => fn(...args));
  }

  /** True while someone holds the lock. */
  isLocked(): Promise<boolean> {
    return this.#storage().hasDataForKey(this.key);
  }

  /** Release the lock whoever holds it; true if it was held. */
  clear(): Promise<boolean> {
    return this.#storage().deleteData(this.key);
  }
}

/**
 * The locks a Huey declared (`huey.lockTask()`), so `flushLocks()` can
 * release them all (the consumer's `-f`).
 *
 * @example
 * ```ts
 * import { Locks } from "./lock.ts";
 * import { MemoryStorage } from "./storage/memory.ts";
 * const storage = new MemoryStorage();
 * const locks = new Locks(() => storage);
 * await locks.declare("reports").acquire();
 * console.log(await locks.flush()); // ["reports"]
 * ```
 */
export class Locks {
  readonly #storage: () => Storage;
  readonly #names = new Set<string>();

  /** Locks on the storage `storage()` returns (read at each use). */
  constructor(storage: () => Storage) {
    this.#storage = storage;
  }

  /** The lock `name`, remembered for {@link flush}. */
  declare(name: string): TaskLock {
    this.#names.add(name);
    return new TaskLock(this.#storage, name);
  }

  /** True while the lock `name` is held. */
  isLocked(name: string): Promise<boolean> {
    return this.#storage().hasDataForKey(TaskLock.keyFor(name));
  }

  /** Release every declared lock, plus `names`; returns the names that were held. */
  async flush(...names: string[]): Promise<string[]> {
    const flushed: string[] = [];
    for (const name of new Set([...this.#names, ...names])) {
      if (await this.#storage().deleteData(TaskLock.keyFor(name))) flushed.push(name);
    }
    return flushed;
  }
}
