/**
 * Revocation: skip an invocation, or every invocation of a task, when its
 * turn comes (huey's `revoke` / `restore` / `is_revoked`), plus the
 * revocations marker that lets a consumer skip the reads while nothing is
 * revoked.
 *
 * Revocations live in the result store: `%r:<id>` for one invocation,
 * `%rt:<name>` for a whole task, each holding `{ until, once }` (keys.ts).
 *
 * @module
 */
import { OWN_KEYS } from "./keys.ts";
import { Result } from "./result.ts";
import type { Serializer } from "./serializer.ts";
import type { Storage } from "./storage/types.ts";
import { checkTaskId, Task } from "./task.ts";
import type { RevokeOptions } from "./task.ts";

/**
 * Written by every revocation. A consumer reads it with each message it
 * takes (same storage operation) and skips the revocation reads while it is
 * absent: one round trip less per task on Redis.
 */
export const REVOCATIONS_MARKER: string = OWN_KEYS.revocations;

/** The result-store key of an instance revocation; throws a TypeError for a bad id. */
function revokeKey(id: string): string {
  checkTaskId(id, "revocation of task");
  return OWN_KEYS.revocation(id);
}
/** The result-store key of a whole-task revocation. */
const revokeAllKey = OWN_KEYS.taskRevocation;

interface Revocation {
  until: Date | null;
  once: boolean;
  /** Written by `huey.cancel()`: the run is skipped as cancelled, and cannot be restored. */
  cancel?: true;
}

/** What {@link Revocations} needs from its Huey. */
export interface RevocationHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** Encodes the stored revocations. */
  readonly serializer: Serializer;
  /** The current time, ms since the epoch. */
  now(): number;
}

/**
 * Stores, checks and consumes revocations.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const report = huey.task("report", () => "done");
 * await huey.revokeAll(report, { revokeOnce: true });
 * console.log(await huey.isRevoked(report)); // true, until a consumer skips one run
 * ```
 */
export class Revocations {
  readonly #host: RevocationHost;

  /** Revocations kept in `host`'s storage. */
  constructor(host: RevocationHost) {
    this.#host = host;
  }

  /** Revoke the invocation `id`. */
  async revokeById(id: string, options?: RevokeOptions): Promise<void> {
    await this.#revoke(revokeKey(id), options);
  }

  /** Undo {@link revokeById}; true if it was revoked. A cancellation stays (false). */
  async restoreById(id: string): Promise<boolean> {
    const key = revokeKey(id);
    if (await this.isCancelled(id)) return false;
    return await this.#host.storage.deleteData(key);
  }

  /**
   * Mark the invocation `id` cancelled (`huey.cancel()`): like a revoke-once,
   * its next run is skipped, as cancelled; {@link restoreById} cannot undo it.
   */
  async cancelById(id: string): Promise<void> {
    await this.#revoke(revokeKey(id), { revokeOnce: true }, true);
  }

  /** True while the invocation `id` is marked cancelled (one read: lease renewals ask it). */
  async isCancelled(id: string): Promise<boolean> {
    const data = await this.#host.storage.peekData(OWN_KEYS.revocation(id));
    return data !== undefined && (this.#host.serializer.decode(data) as Revocation).cancel === true;
  }

  /** Forget the cancellation of `id` once its run ended as cancelled. */
  async forgetCancel(id: string): Promise<void> {
    if (await this.isCancelled(id)) await this.#host.storage.deleteData(OWN_KEYS.revocation(id));
  }

  /** Revoke every invocation of the task `name`. */
  revokeAll(name: string, options?: RevokeOptions): Promise<void> {
    return this.#revoke(revokeAllKey(name), options);
  }

  /** Undo {@link revokeAll}; true if the task was revoked. */
  restoreAll(name: string): Promise<boolean> {
    return this.#host.storage.deleteData(revokeAllKey(name));
  }

  /** True if every invocation of the task `name` is revoked at `date` (default now). */
  isTaskRevoked(name: string, date?: Date): Promise<boolean> {
    return this.#holds(revokeAllKey(name), date?.getTime() ?? this.#host.now(), false);
  }

  /**
   * Whether `target` is revoked at `date` (default now): an invocation id, a
   * `Task` or a `Result` (the invocation or its whole task), or a task name
   * given as `{ name }` (a task wrapper: the whole task only).
   */
  async isRevoked(
    target: Task | Result<unknown> | { name: string } | string,
    date?: Date,
  ): Promise<boolean> {
    const now = date?.getTime() ?? this.#host.now();
    if (target instanceof Result) target = target.task;
    if (typeof target === "string") return await this.#holds(revokeKey(target), now, false);
    if (target instanceof Task && await this.#holds(revokeKey(target.id), now, false)) return true;
    return await this.#holds(revokeAllKey(target.name), now, false);
  }

  /**
   * Whether `task` is revoked at `now`, using the revocation up: a
   * revoke-once is removed, and so is a revoke-until that has passed.
   * `"cancelled"` (its cancellation removed too) when `huey.cancel()` marked it.
   */
  async consume(task: Task, now: number): Promise<boolean | "cancelled"> {
    const storage = this.#host.storage;
    // The id was checked when the message was decoded: no second check per task.
    const own = OWN_KEYS.revocation(task.id);
    const all = revokeAllKey(task.name);
    // Both reads go out together (one round trip on pipelining storages).
    const [ownData, allData] = await Promise.all([storage.peekData(own), storage.peekData(all)]);
    if (ownData === undefined && allData === undefined) return false;
    if (ownData !== undefined && (this.#host.serializer.decode(ownData) as Revocation).cancel) {
      await storage.deleteData(own);
      return "cancelled";
    }
    return (ownData !== undefined && await this.#holds(own, now, true, ownData)) ||
      (allData !== undefined && await this.#holds(all, now, true, allData));
  }

  async #revoke(key: string, options: RevokeOptions = {}, cancel = false): Promise<void> {
    const until = options.revokeUntil ?? null;
    if (until !== null && (!(until instanceof Date) || Number.isNaN(until.getTime()))) {
      throw new TypeError(`Cannot revoke: revokeUntil must be a valid Date: ${String(until)}`);
    }
    const revocation: Revocation = { until, once: options.revokeOnce ?? false };
    if (cancel) revocation.cancel = true;
    const { storage, serializer } = this.#host;
    // The marker first: a revocation must never be stored without it. It stays
    // once set (until the result store is flushed): clearing it safely would
    // need to know that no other process is revoking meanwhile.
    await storage.putData(REVOCATIONS_MARKER, serializer.encode(true));
    await storage.putData(key, serializer.encode(revocation));
  }

  /**
   * Whether the revocation stored under `key` (already read as `data`, or
   * read now) holds at `now`; when `consume`, a revoke-once is used up and an
   * expired revoke-until removed.
   */
  async #holds(key: string, now: number, consume: boolean, data?: string): Promise<boolean> {
    const storage = this.#host.storage;
    data ??= await storage.peekData(key);
    if (data === undefined) return false;
    const { until, once } = this.#host.serializer.decode(data) as Revocation;
    // A time that has passed ends the revocation, once or not.
    const over = until !== null && until.getTime() <= now;
    if (!over && !once) return true;
    if (consume) await storage.deleteData(key);
    return !over;
  }
}
