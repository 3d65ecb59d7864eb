/**
 * Cancelling a task by id (`huey.cancel(id)`, `result.cancel()`).
 *
 * A waiting or scheduled task is marked (a revocation that `restore` cannot
 * undo), so when a consumer takes it, it is skipped as cancelled. A running
 * one has its `ctx.signal` aborted with a `CancelExecution` in whichever
 * consumer process runs it: at once through the storage's cancel channel
 * where it has one (Redis pub/sub, Postgres LISTEN/NOTIFY) or when it runs
 * in this process, and otherwise (SQLite, file) at the next lease renewal
 * (every `leaseTimeout / 3` seconds), which reads the mark (on every
 * storage: pub/sub delivers at most once). Either way the
 * run ends as cancelled: the `canceled` signal fires, it is not retried,
 * and its result is an error named `CancelExecution` (a blocking `get()`
 * throws a `TaskError` with that `remoteName`).
 *
 * @module
 */
import { CancelExecution } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
import type { EventFeed } from "./events.ts";
import type { Logger } from "./logger.ts";
import type { MessageCodec } from "./message.ts";
import type { Revocations } from "./revocation.ts";
import { SIGNAL_CANCELED } from "./signals.ts";
import type { StatusBook } from "./status.ts";
import type { Storage } from "./storage/types.ts";
import { checkTaskId } from "./task.ts";
import type { Task } from "./task.ts";
import type { Uniqueness } from "./unique.ts";

/** What the {@link Cancellations} room needs from its Huey. */
export interface CancelHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** Where cancellations are logged. */
  readonly logger: Logger;
  /** Whether results are stored (a cancelled task's is its error). */
  readonly results: boolean;
  /** The current time, ms since the epoch. */
  now(): number;
  /** What is stored when `task` fails with `error`. */
  buildErrorResult(task: Task, error: unknown): TaskErrorInfo;
}

/** The rooms {@link Cancellations} works with. */
export interface CancelRooms {
  /** Where the cancel mark is kept (a revocation of its own kind). */
  readonly revocations: Revocations;
  /** Where the `canceled` signal of a skipped task is sent. */
  readonly events: EventFeed;
  /** Message strings to tasks and back. */
  readonly codec: MessageCodec;
  /** A cancelled unique task frees its id. */
  readonly unique: Uniqueness;
  /** Where a skipped task's status becomes `cancelled`. */
  readonly status: StatusBook;
}

/** The error a cancelled task's signal aborts with, and that its result stores. */
function cancellation(id: string): CancelExecution {
  return new CancelExecution({ retry: false }, `task ${id} cancelled (huey.cancel)`);
}

/**
 * The run of one worker: the signal its task gets, aborted by a hard stop
 * or by a cancel of that task. Made once per worker loop, not per task
 * (linking signals per task costs a no-op task about 5% of its throughput),
 * and made anew only after a cancel used it up.
 *
 * @example
 * ```ts
 * import { CancelScope } from "./cancel.ts";
 * const scope = new CancelScope(new AbortController().signal);
 * scope.cancel(new Error("cancelled"));
 * console.log(scope.fired, scope.signal.aborted); // true true
 * scope.reset();
 * console.log(scope.signal.aborted); // false
 * ```
 */
export class CancelScope {
  readonly #abort: AbortSignal;
  #controller = new AbortController();
  #signal: AbortSignal;
  /** True once {@link cancel} aborted the current signal. */
  fired = false;

  /** A scope under the worker's hard-stop signal `abort`. */
  constructor(abort: AbortSignal) {
    this.#abort = abort;
    this.#signal = AbortSignal.any([abort, this.#controller.signal]);
  }

  /** The signal the running task's own signal follows. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Abort the running task with `reason`. */
  cancel(reason: unknown): void {
    this.fired = true;
    this.#controller.abort(reason);
  }

  /** After a cancelled run: a fresh signal for the next task. */
  reset(): void {
    if (!this.fired) return;
    this.fired = false;
    this.#controller = new AbortController();
    this.#signal = AbortSignal.any([this.#abort, this.#controller.signal]);
  }
}

/**
 * Cancellations of one Huey: asked for by producers, carried out by the
 * consumers that hold the tasks.
 *
 * @example Cancel a waiting task
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const r = await add(1, 2);
 * console.log(await huey.cancel(r.id)); // true
 * console.log((await huey.executeNext())?.status); // "canceled"
 * ```
 */
export class Cancellations {
  readonly #host: CancelHost;
  readonly #rooms: CancelRooms;
  /** The tasks running in this process, by id, with the scope that aborts each. */
  readonly #running = new Map<string, CancelScope>();
  #listeners = 0;
  #listening?: AbortController;
  #ready: Promise<void> = Promise.resolve();
  /** Told of every cancel request heard (a thread pool finds the thread that runs it). */
  readonly #requests = new Set<(id: string) => void>();

  /** Cancellations of `host`'s tasks. */
  constructor(host: CancelHost, rooms: CancelRooms) {
    this.#host = host;
    this.#rooms = rooms;
  }

  /**
   * Cancel the task `id`: true when it was waiting, scheduled or running
   * (each checked in the storage), false when there was nothing to cancel
   * (unknown, finished already). Throws a TypeError for a string that
   * cannot be a task id.
   */
  async cancel(id: string): Promise<boolean> {
    checkTaskId(id, "cancel of task");
    const found = await this.#find(id);
    if (!found) return false;
    await this.#rooms.revocations.cancelById(id);
    this.#host.logger.info(`Cancelling ${found.name}: ${id} (${found.where})`);
    // Published whatever it was found as: a consumer may have taken it since.
    this.#abort(id);
    await this.#host.storage.publishCancel?.(id).catch((error) => {
      // The consumer still reads the mark at its next lease renewal.
      this.#host.logger.warn(`Cannot publish the cancel of ${id}: ${error}`);
    });
    return true;
  }

  /** Where the task `id` is: waiting, scheduled or running (a scan, for this rare call). */
  async #find(id: string): Promise<{ name: string; where: string } | undefined> {
    const storage = this.#host.storage;
    const lists: [string, () => Promise<string[]>][] = [
      ["running", () => storage.leasedItems()],
      ["waiting", () => storage.enqueuedItems()],
      ["scheduled", () => storage.scheduledItems()],
    ];
    for (const [where, list] of lists) {
      for (const data of await list()) {
        // Most messages are told apart by a substring test before any is decoded.
        if (!data.includes(id) && !/^[a-z]:/.test(data)) continue;
        try {
          const task = this.#rooms.codec.decode(data);
          if (task.id === id) return { name: task.name, where };
        } catch { /* not one of ours: not the one */ }
      }
    }
    return undefined;
  }

  /**
   * The one place a task ends as cancelled, whether it was skipped before
   * it ran (`run: false`: logged, signal sent, its error result stored) or
   * its run was aborted (the executor did those; its mark is forgotten).
   */
  async ended(task: Task, run: boolean): Promise<void> {
    if (run) {
      await this.#rooms.revocations.forgetCancel(task.id);
      return;
    }
    this.#host.logger.info(`${task} cancelled, not run`);
    await this.#rooms.unique.release(task);
    await this.#rooms.events.emit(SIGNAL_CANCELED, task, cancellation(task.id));
    if (!this.#host.results || task.periodic) {
      await this.#rooms.status.markCancelled(task);
      return;
    }
    const info = this.#host.buildErrorResult(task, cancellation(task.id));
    await this.#rooms.status.markCancelled(task, info);
    const stored = this.#rooms.codec.serializer.encode({ error: info });
    await this.#host.storage.putData(task.id, stored, { result: true });
  }

  /**
   * A worker of this process runs the task `id` under `scope`; until the
   * returned function is called, a cancel of it aborts the scope.
   */
  running(id: string, scope: CancelScope): () => void {
    this.#running.set(id, scope);
    return () => {
      if (this.#running.get(id) === scope) this.#running.delete(id);
    };
  }

  /**
   * Whether the task `id`, which runs here, was cancelled meanwhile (the
   * lease renewal asks, for storages whose cancel requests do not reach
   * other processes); aborts it when it was.
   */
  async check(id: string): Promise<void> {
    if (await this.isCancelled(id)) this.#abort(id);
  }

  /** True while the task `id` is marked cancelled and has not ended as such. */
  isCancelled(id: string): Promise<boolean> {
    return this.#rooms.revocations.isCancelled(id);
  }

  /** Resolves once cancel requests are heard (at once when nothing listens, or no pub/sub). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Call `listener` with the id of every cancel request heard while
   * {@link listen}ing, until the returned function is called.
   */
  onRequest(listener: (id: string) => void): () => void {
    this.#requests.add(listener);
    return () => this.#requests.delete(listener);
  }

  #abort(id: string): void {
    const scope = this.#running.get(id);
    if (!scope || scope.fired) return;
    this.#host.logger.warn(`Task ${id} cancelled while running: aborting its signal`);
    scope.cancel(cancellation(id));
  }

  /**
   * Hear cancel requests from every process (the storage's cancel channel)
   * until the returned function is called; worker loops share one subscription.
   */
  listen(): () => void {
    // Without a cancel channel, cancel() in this process aborts directly and
    // other processes' cancels are read at the lease renewals.
    const storage = this.#host.storage;
    if (!storage.subscribeCancels) return () => {};
    if (this.#listeners++ === 0) {
      const controller = new AbortController();
      this.#listening = controller;
      this.#ready = storage.subscribeCancels((id) => {
        this.#abort(id);
        for (const listener of this.#requests) listener(id);
      }, controller.signal).catch((error) => {
        this.#host.logger.warn(`Cancel requests not heard (read at lease renewals): ${error}`);
      });
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.#listeners === 0) this.#listening?.abort();
    };
  }
}
