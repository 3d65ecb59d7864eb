/**
 * Where a task goes when it is called, scheduled, retried or piped to: the
 * queue, the schedule (when its eta is in the future), or, in immediate
 * mode, a run right now. One task at a time, or many in one storage
 * operation. A new unique task first takes its id (unique.ts), and is not
 * enqueued when another holds it.
 *
 * @module
 */
import { ConfigurationError } from "./errors.ts";
import type { EventFeed } from "./events.ts";
import type { MessageCodec } from "./message.ts";
import { checkTaskOptions } from "./registry.ts";
import { SIGNAL_ENQUEUED, SIGNAL_SCHEDULED } from "./signals.ts";
import type { Storage, TransactionWrites } from "./storage/types.ts";
import { newTaskId } from "./task.ts";
import type { ScheduleOptions, Task } from "./task.ts";
import type { Uniqueness } from "./unique.ts";

/** What an {@link Enqueuer} needs from its Huey. */
export interface EnqueuerHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** True in immediate mode: tasks run when they are put. */
  readonly immediate: boolean;
  /** The current time, ms since the epoch. */
  now(): number;
}

/** Runs a task now (immediate mode): the executor's `execute`. */
export type RunNow = (task: Task, now: number) => Promise<unknown>;

/**
 * Where `task`'s writes go: `storage`, or inside `transaction` when one is
 * given; a ConfigurationError naming the storage when it cannot join one.
 */
function writesFor(storage: Storage, task: Task, transaction: unknown): TransactionWrites {
  if (transaction === undefined) return storage;
  if (!storage.inTransaction) {
    throw new ConfigurationError(
      `Cannot enqueue task ${task.name} in a transaction: ${storage.constructor.name} "${storage.name}" cannot join one (PostgresStorage can)`,
    );
  }
  return storage.inTransaction(transaction);
}

/** Every task that runs after `task`: its pipeline's and error handlers', at any depth. */
function followers(task: Task): Task[] {
  const out: Task[] = [];
  const visit = (next: Task | undefined) => {
    if (!next) return;
    out.push(next);
    visit(next.onComplete);
    visit(next.onError);
  };
  visit(task.onComplete);
  visit(task.onError);
  return out;
}

/** `expires` (seconds from now, or a Date) as the time it falls on. */
function expiryTime(expires: number | Date, now: number): Date {
  return expires instanceof Date ? expires : new Date(now + expires * 1000);
}

/**
 * Puts tasks where they go.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * await add.schedule([1, 2], { delay: 60 }); // an Enqueuer puts it in the schedule
 * console.log((await huey.scheduled()).length); // 1
 * ```
 */
export class Enqueuer {
  readonly #host: EnqueuerHost;
  readonly #codec: MessageCodec;
  readonly #events: EventFeed;
  readonly #runNow: RunNow;
  readonly #unique: Uniqueness;

  constructor(
    host: EnqueuerHost,
    codec: MessageCodec,
    events: EventFeed,
    unique: Uniqueness,
    runNow: RunNow,
  ) {
    this.#host = host;
    this.#codec = codec;
    this.#events = events;
    this.#unique = unique;
    this.#runNow = runNow;
  }

  /**
   * Put a task the app creates (a call, `schedule()`, `huey.enqueue()`, a
   * periodic run): as {@link put}, but a unique one first takes its id,
   * and is not enqueued (false) when a task with that id is queued,
   * scheduled or running. Only `task` itself is unique: the later tasks of
   * its pipeline are not (they run when it finishes, once each).
   */
  async putNew(
    task: Task,
    now: number = this.#host.now(),
    transaction?: unknown,
  ): Promise<boolean> {
    for (const next of followers(task)) next.unique = undefined;
    if (!task.unique) {
      await this.put(task, now, transaction);
      return true;
    }
    if (transaction !== undefined) {
      throw new ConfigurationError(
        `Cannot enqueue unique task ${task.name} (${task.id}) in a transaction: its id is taken outside it, and would stay taken if the transaction rolled back`,
      );
    }
    // Encoded before the id is taken: a task that cannot be enqueued takes nothing.
    this.#codec.encode(task);
    if (!(await this.#unique.claim(task, now))) return false;
    try {
      await this.put(task, now);
    } catch (error) {
      await this.#unique.release(task);
      throw error;
    }
    return true;
  }

  /** {@link putMany} for tasks the app creates: unique ones whose id is taken are left out. */
  async putManyNew(tasks: readonly Task[], now: number = this.#host.now()): Promise<void> {
    const taken = await Promise.all(tasks.map((task) => {
      for (const next of followers(task)) next.unique = undefined;
      return task.unique ? this.#unique.claim(task, now) : true;
    }));
    const fresh = tasks.filter((_, i) => taken[i]);
    try {
      if (fresh.length) await this.putMany(fresh, now);
    } catch (error) {
      await Promise.all(fresh.map((task) => this.#unique.release(task)));
      throw error;
    }
  }

  /**
   * Put `task` in the queue, or in the schedule when its eta is after
   * `now`, inside `transaction` when given; in immediate mode, run it. A
   * relative expiry starts counting now.
   */
  async put(task: Task, now: number = this.#host.now(), transaction?: unknown): Promise<void> {
    if (task.expires !== undefined) task.expiresAt = expiryTime(task.expires, now);
    const data = this.#codec.encode(task);
    const storage = this.#host.storage;
    if (this.#host.immediate) {
      await this.#events.emit(SIGNAL_ENQUEUED, task);
      // The decoded copy runs, as a consumer's would: nothing the message
      // cannot carry reaches the task.
      await this.#runNow(this.#codec.decode(data), now);
    } else if (task.eta && task.eta.getTime() > now) {
      await writesFor(storage, task, transaction).addToSchedule(data, task.eta.getTime());
      await this.#events.emit(SIGNAL_SCHEDULED, task);
    } else {
      await writesFor(storage, task, transaction).enqueue(data, task.priority);
      const handlers = this.#events.emit(SIGNAL_ENQUEUED, task);
      if (handlers) await handlers;
    }
  }

  /** Put every task in the queue in one storage operation (in immediate mode, run each). */
  async putMany(tasks: readonly Task[], now: number = this.#host.now()): Promise<void> {
    if (this.#host.immediate) {
      for (const task of tasks) await this.put(task, now);
      return;
    }
    const items = tasks.map((task) => {
      if (task.expires !== undefined) task.expiresAt = expiryTime(task.expires, now);
      return { data: this.#codec.encode(task), priority: task.priority };
    });
    await this.#host.storage.enqueueMany(items);
    for (const task of tasks) await this.#events.emit(SIGNAL_ENQUEUED, task);
  }

  /**
   * A copy of `original` to run at the time `call` says, with a new id
   * unless `call` gives one; its per-call options win over the original's.
   */
  rescheduled(original: Task, call: ScheduleOptions): Task {
    checkTaskOptions(`reschedule of ${original.name}`, call);
    if (call.transaction !== undefined) {
      // The original is revoked outside any transaction first: the pair cannot be atomic.
      throw new TypeError(`Cannot reschedule ${original.name} in a transaction: use schedule()`);
    }
    const now = this.#host.now();
    return original.copy({
      id: call.id ?? newTaskId(),
      eta: call.eta ?? (call.delay !== undefined ? new Date(now + call.delay * 1000) : undefined),
      retries: call.retries ?? original.retries,
      retryDelay: call.retryDelay ?? original.retryDelay,
      retryBackoff: call.retryBackoff ?? original.retryBackoff,
      retryJitter: call.retryJitter ?? original.retryJitter,
      retryMaxDelay: call.retryMaxDelay ?? original.retryMaxDelay,
      priority: call.priority ?? original.priority,
      expires: call.expires ?? original.expires,
      timeout: call.timeout ?? original.timeout,
      expiresAt: undefined,
    });
  }
}
