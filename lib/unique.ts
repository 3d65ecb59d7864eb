/**
 * Unique tasks (beyond huey; BullMQ's `jobId`, pg-boss's `singletonKey`):
 * a task scheduled with `unique: true` is not created a second time while
 * one with its id is queued, scheduled or running.
 *
 * The id is held by a marker, the counter `%unique:<id>` (keys.ts): the
 * producer that increments it to 1 owns the id and enqueues; everyone else
 * got a higher number and enqueues nothing. An increment is atomic on every
 * storage, so of any number of producers racing, in any number of
 * processes, exactly one creates the task. The executor deletes the marker
 * once the task is done for good (complete, failed without retries left,
 * canceled, revoked, expired, or set aside), so the id is free again.
 *
 * A marker must not hold its id for ever when that never happens (the
 * producer died between taking it and enqueuing, the message was flushed
 * or lost): it is made with a ttl, which the storage enforces atomically
 * (a marker taken with `putIfEmpty` could not expire on most storages, and
 * could not be taken over safely: two producers could both delete a stale
 * one and both enqueue). The ttl is the time until the task is due plus
 * the Huey's `uniqueTtl` option (a day by default): a unique task that has not
 * finished that long after it was due (still retrying, or stuck in a
 * backlog) no longer keeps a second one out.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { describeError } from "./_util.ts";
import { OWN_KEYS } from "./keys.ts";
import type { Logger } from "./logger.ts";
import type { Storage } from "./storage/types.ts";
import { toTagged } from "./tagged.ts";
import { shown, TASK_LIMITS, TASK_RULES } from "./task.ts";
import type { Task, TaskOptions } from "./task.ts";

/** What {@link Uniqueness} needs from its Huey. */
export interface UniquenessHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** Where a marker that cannot be released is reported. */
  readonly logger: Logger;
}

/**
 * The id of a unique invocation of the task `name` with `args` when the
 * call gives no `id`: the task's key function's, or one made from the name
 * and the arguments (`u.` and the SHA-256 of both as tagged JSON), so equal
 * calls get equal ids. Throws a TypeError naming the task when the key
 * function returns something that is not a task id.
 *
 * @example
 * ```ts
 * import { uniqueId } from "./unique.ts";
 * console.log(uniqueId("sync", [42], (id: number) => `sync-${id}`)); // "sync-42"
 * console.log(uniqueId("sync", [42], true).startsWith("u.")); // true
 * ```
 */
export function uniqueId(name: string, args: unknown[], key: TaskOptions["unique"]): string {
  if (typeof key !== "function") {
    const text = JSON.stringify(toTagged([name, args]));
    return `u.${createHash("sha256").update(text).digest("hex")}`;
  }
  const id = key(...(args as never[]));
  const expected = TASK_RULES.id(id);
  if (expected) {
    throw new TypeError(
      `Cannot schedule task ${name}: its unique key must be ${expected}: ${shown(id)}`,
    );
  }
  return id;
}

/**
 * Takes and releases the markers of unique tasks.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const sync = huey.task("sync", (user: number) => user, { unique: (user: number) => `sync-${user}` });
 * const first = await sync(7);
 * const second = await sync(7); // not enqueued: the first is still queued
 * console.log(first.id === second.id, (await huey.pending()).length); // true 1
 * ```
 */
export class Uniqueness {
  readonly #host: UniquenessHost;
  /** Seconds a marker outlives the time its task was due. */
  readonly #ttl: number;

  /**
   * Markers on `host`'s storage that outlive their task's due time by
   * `uniqueTtl` seconds at most; a RangeError unless that is above 0.
   */
  constructor(host: UniquenessHost, uniqueTtl = 86400) {
    if (typeof uniqueTtl !== "number" || !(uniqueTtl > 0 && uniqueTtl <= TASK_LIMITS.seconds)) {
      throw new RangeError(
        `Cannot use uniqueTtl: expected a number of seconds above 0, at most ${TASK_LIMITS.seconds}: ${
          shown(uniqueTtl)
        }`,
      );
    }
    this.#host = host;
    this.#ttl = uniqueTtl;
  }

  /**
   * Take the id of `task` (a unique one) at `now`: true when this call may
   * create it, false when a task with that id is already there.
   */
  async claim(task: Task, now: number): Promise<boolean> {
    const due = task.eta ? Math.max(0, task.eta.getTime() - now) / 1000 : 0;
    const ttl = Math.min(TASK_LIMITS.seconds, due + this.#ttl);
    return (await this.#host.storage.incr(OWN_KEYS.unique(task.id), 1, { ttl, now })) === 1;
  }

  /**
   * Free the id of `task` once it is done for good (nothing for a task that
   * is not unique). A failure is logged, not thrown: the task's outcome is
   * stored already, and the marker lapses after its ttl.
   */
  async release(task: Task): Promise<void> {
    if (!task.unique) return;
    try {
      await this.#host.storage.deleteCounter(OWN_KEYS.unique(task.id));
    } catch (error) {
      this.#host.logger.error(
        `Cannot free the unique id of ${task}: ${describeError(error)}; ` +
          "no new task with this id is created until its marker lapses",
      );
    }
  }
}
