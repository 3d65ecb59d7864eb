/**
 * Where a task goes when it is called, scheduled, retried or piped to: the
 * queue, the schedule (when its eta is in the future), or, in immediate
 * mode, a run right now. One task at a time, or many in one storage
 * operation. A unique task the app hands in first takes its id
 * (unique.ts), and is not enqueued when another holds it.
 *
 * @module
 */
import { ConfigurationError, UnknownTaskError } from "./errors.ts";
import type { EventFeed } from "./events.ts";
import type { MessageCodec } from "./message.ts";
import { checkTaskOptions } from "./registry.ts";
import type { Registry } from "./registry.ts";
import { SIGNAL_ENQUEUED, SIGNAL_SCHEDULED } from "./signals.ts";
import type { Storage, TransactionWrites } from "./storage/types.ts";
import { newTaskId, TASK_LIMITS } from "./task.ts";
import type { RescheduleOptions, Task } from "./task.ts";
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
  readonly #registry: Registry;
  readonly #unique: Uniqueness;

  /**
   * Puts tasks in `host`'s storage (or runs them with `runNow`), checking
   * names against `registry` and the ids of unique tasks with `unique`.
   */
  constructor(
    host: EnqueuerHost,
    codec: MessageCodec,
    events: EventFeed,
    runNow: RunNow,
    registry: Registry,
    unique: Uniqueness,
  ) {
    this.#host = host;
    this.#codec = codec;
    this.#events = events;
    this.#runNow = runNow;
    this.#registry = registry;
    this.#unique = unique;
  }

  /**
   * {@link put} for a task the app hands in (a call, `schedule()`, `map()`,
   * `huey.enqueue()`, `reschedule()`): rejects with UnknownTaskError, and
   * writes nothing, unless this Huey declares every task of its pipeline
   * and error handlers (and a chord's callback). (Retries, a pipeline's next task and due scheduled
   * tasks go through {@link put} alone: the consumer sets aside what it
   * does not declare.) A unique task first takes its id, and is not
   * enqueued (false) when a task with that id is queued, scheduled or
   * running. Only `task` itself is unique: the later tasks of its pipeline
   * are not (they run when it finishes, once each).
   */
  async submit(task: Task, transaction?: unknown): Promise<boolean> {
    this.#checkDeclared(task);
    if (!task.unique) {
      await this.put(task, undefined, transaction);
      return true;
    }
    if (transaction !== undefined) {
      throw new ConfigurationError(
        `Cannot enqueue unique task ${task.name} (${task.id}) in a transaction: its id is taken outside it, and would stay taken if the transaction rolled back`,
      );
    }
    // Encoded before the id is taken: a task that cannot be enqueued takes nothing.
    this.#codec.encode(task);
    const now = this.#host.now();
    if (!(await this.#unique.claim(task, now))) return false;
    try {
      await this.put(task, now);
    } catch (error) {
      await this.#unique.release(task);
      throw error;
    }
    return true;
  }

  /** {@link putMany} with the checks of {@link submit}: unique tasks whose id is taken are left out. */
  async submitMany(tasks: readonly Task[]): Promise<void> {
    for (const task of tasks) this.#checkDeclared(task);
    const now = this.#host.now();
    const taken = await Promise.all(
      tasks.map((task) => task.unique ? this.#unique.claim(task, now) : true),
    );
    const fresh = tasks.filter((_, i) => taken[i]);
    try {
      if (fresh.length) await this.putMany(fresh, now);
    } catch (error) {
      await Promise.all(fresh.map((task) => this.#unique.release(task)));
      throw error;
    }
  }

  /**
   * Throw UnknownTaskError for the first task in `task`'s pipeline and error
   * handlers that the registry does not declare. Walks no deeper than a
   * message may nest: deeper ones are refused when encoded. The tasks after
   * `task` lose `unique` on the way (see {@link submit}).
   */
  #checkDeclared(task: Task): void {
    const waiting: [Task, number][] = [[task, 0]];
    for (let next = waiting.pop(); next; next = waiting.pop()) {
      const [current, depth] = next;
      if (!this.#registry.get(current.name)) {
        throw new UnknownTaskError(current.name, this.#registry.names(), undefined, "enqueue");
      }
      if (current !== task) current.unique = undefined;
      if (depth >= TASK_LIMITS.pipelineDepth) continue;
      if (current.onError) waiting.push([current.onError, depth + 1]);
      if (current.onComplete) waiting.push([current.onComplete, depth + 1]);
      if (current.chordCallback) waiting.push([current.chordCallback, depth + 1]);
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
   * `copy()` carries every field of the Task (the pipeline, and any field
   * added later); the options below are the ones a call may change. Throws,
   * as {@link submit} rejects, for bad options or an undeclared task.
   */
  rescheduled(original: Task, call: RescheduleOptions): Task {
    checkTaskOptions(`reschedule of ${original.name}`, call);
    this.#checkDeclared(original);
    if ((call as { transaction?: unknown }).transaction !== undefined) {
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
