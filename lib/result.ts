/**
 * `Result`, `ResultGroup` and `ChordResult`: handles on the return values of
 * enqueued tasks, pipelines, groups and chords.
 *
 * @module
 */
import { ConfigurationError, ResultTimeout } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { deadLetterError } from "./dead_letters.ts";
import { checkTaskId, Task } from "./task.ts";
import type { RescheduleOptions, RevokeOptions } from "./task.ts";
import type { Progress, TaskStatus } from "./status.ts";

/** Options of {@link Result.get}. */
export interface GetOptions {
  /** Wait for the result instead of returning `undefined`. @default false */
  blocking?: boolean;
  /** Seconds to wait when blocking; then `ResultTimeout`. @default wait forever */
  timeout?: number;
  /** Factor the polling delay grows by (storages that cannot push results). @default 1.15 */
  backoff?: number;
  /** Longest polling delay in seconds. @default 1.0 */
  maxDelay?: number;
  /** Revoke the task when the timeout runs out. @default false */
  revokeOnTimeout?: boolean;
  /** Leave the result in the store after reading it. @default false */
  preserve?: boolean;
}

/** A stored result: a value or a failure. */
export type StoredResult = { value: unknown } | { error: TaskErrorInfo };

/** What a Result needs from its Huey. */
export interface ResultBackend {
  /** Whether the Huey stores results at all. */
  readonly results: boolean;
  /** Whether `undefined` return values are stored (else a blocking get() on one waits in vain). */
  readonly storeNone: boolean;
  /** Where results are read and waited for. */
  readonly store: {
    readResult(id: string, preserve: boolean): Promise<StoredResult | undefined>;
    waitFor(id: string, timeout: number): Promise<boolean>;
  };
  /** Where the invocation is revoked and restored. */
  readonly revocations: {
    revokeById(id: string, options?: RevokeOptions): Promise<void>;
    restoreById(id: string): Promise<boolean>;
    isRevoked(task: Task, date?: Date): Promise<boolean>;
  };
  /** Where status and progress are read (never consuming the result). */
  readonly status: {
    status(id: string): Promise<TaskStatus>;
    readProgress(id: string): Promise<Progress | undefined>;
  };
  /**
   * Check `options`, then revoke `task` (once) and enqueue a copy at the
   * time they say (a refused call leaves the original as it was).
   */
  reschedule(task: Task, options: RescheduleOptions): Promise<Result<unknown>>;
  /** Cancel the task `id` (see `Huey.cancel`). */
  cancel(id: string): Promise<boolean>;
}

/**
 * A handle on the return value of one enqueued task.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const r = await add(1, 2);
 * console.log(await r.get({ blocking: true, timeout: 5 })); // 3
 * ```
 */
export class Result<T> {
  /** The invocation this result belongs to. */
  readonly task: Task;
  readonly #backend: ResultBackend;
  #settled?: StoredResult;

  /** A handle on the result of `task`, read through `backend` (Huey makes these). */
  constructor(backend: ResultBackend, task: Task) {
    this.#backend = backend;
    this.task = task;
  }

  /**
   * The result of the task `id` when only its id is known (`huey.result(id)`).
   * Throws a TypeError for a string that cannot be a task id.
   */
  static byId<T>(backend: ResultBackend, id: string): Result<T> {
    checkTaskId(id, "result of task");
    const fields = { id, name: "(by id)", args: [], retries: 0, retryDelay: 0, priority: 0 };
    return new Result<T>(backend, new Task(fields));
  }

  /** Id of the task invocation. */
  get id(): string {
    return this.task.id;
  }

  /**
   * The task's return value, or `undefined` while it is not ready. Rejects
   * with `TaskError` if the task failed, and with `ResultTimeout` when a
   * blocking wait runs out. A value read once is kept by this handle (see
   * {@link reset}) and, unless `preserve`, removed from the store.
   */
  async get(options: GetOptions = {}): Promise<T | undefined> {
    if (!this.#backend.results) {
      throw new ConfigurationError(
        `Cannot get result of task ${this.task.name} (${this.id}): results are disabled (results: false)`,
      );
    }
    if (!this.#settled) {
      this.#settled = options.blocking ? await this.#wait(options) : await this.#read(options);
    }
    const settled = this.#settled;
    if (!settled) return undefined;
    // A dead letter's marker throws DeadLetterError / UnknownTaskError, any other failure TaskError.
    if ("error" in settled) throw deadLetterError(settled.error);
    return settled.value as T;
  }

  #read(options: GetOptions): Promise<StoredResult | undefined> {
    return this.#backend.store.readResult(this.id, options.preserve ?? false);
  }

  async #wait(options: GetOptions): Promise<StoredResult> {
    const timeout = options.timeout;
    const started = performance.now();
    const deadline = timeout === undefined ? Infinity : started + timeout * 1000;
    let delay = 0.1;
    for (;;) {
      const found = await this.#read(options);
      if (found) return found;
      const left = (deadline - performance.now()) / 1000;
      if (left <= 0) {
        if (options.revokeOnTimeout) await this.revoke();
        throw new ResultTimeout(
          this.id,
          timeout ?? 0,
          this.#backend.storeNone
            ? undefined
            : "if the task returns undefined, it stores nothing unless the Huey has storeNone: true",
        );
      }
      const step = Math.min(delay, left);
      if (await this.#backend.store.waitFor(this.id, step)) {
        // Woken because a value arrived: if it is gone again, another reader
        // took it, and waiting longer would wait for ever.
        const arrived = await this.#read(options);
        if (arrived) return arrived;
        throw new ResultTimeout(
          this.id,
          (performance.now() - started) / 1000,
          "the result arrived but another reader took it first (read with preserve: true to share it)",
        );
      }
      delay = Math.min(delay * (options.backoff ?? 1.15), options.maxDelay ?? 1.0);
    }
  }

  /**
   * True when the result is there to read (this handle read it already, or
   * the store holds it); reads nothing out of the store.
   */
  async isReady(): Promise<boolean> {
    if (this.#settled) return true;
    return (await this.#backend.store.readResult(this.id, true)) !== undefined;
  }

  /** Wait up to `seconds` for the result to arrive; true if it is there. */
  waitUntilReady(seconds: number): Promise<boolean> {
    return this.#settled ? Promise.resolve(true) : this.#backend.store.waitFor(this.id, seconds);
  }

  /** Forget the value this handle read, so the next `get()` reads the store again. */
  reset(): void {
    this.#settled = undefined;
  }

  /**
   * Revoke this invocation (and only it): once by default, as in huey, so
   * the revocation goes when the consumer skips the task, and a copy
   * enqueued later with the same id runs. `{ revokeOnce: false }` keeps it
   * until {@link restore}.
   */
  revoke(options: RevokeOptions = {}): Promise<void> {
    return this.#backend.revocations.revokeById(this.id, { revokeOnce: true, ...options });
  }

  /** Undo {@link revoke}; true if it was revoked. */
  restore(): Promise<boolean> {
    return this.#backend.revocations.restoreById(this.id);
  }

  /**
   * Where the task is: queued, scheduled, running, retrying, complete,
   * failed, ... (see `huey.status()`). Never consumes the result.
   */
  status(): Promise<TaskStatus> {
    return this.#backend.status.status(this.id);
  }

  /** The last progress the task reported with `ctx.progress()`, or `undefined`. */
  progress(): Promise<Progress | undefined> {
    return this.#backend.status.readProgress(this.id);
  }

  /** True if this invocation, or its task as a whole, is revoked. */
  isRevoked(date?: Date): Promise<boolean> {
    return this.#backend.revocations.isRevoked(this.task, date);
  }

  /**
   * Cancel this task: if it waits or is scheduled it never runs; if it runs,
   * its `ctx.signal` aborts in whichever consumer runs it. It ends as
   * cancelled (its result a `CancelExecution` error; not retried). False when
   * there was nothing to cancel (it finished, or is unknown).
   */
  cancel(): Promise<boolean> {
    return this.#backend.cancel(this.id);
  }

  /**
   * Revoke this invocation (once) and enqueue a copy with a new id to run
   * at the new time, or at once without `delay`/`eta` (no check is made that
   * the original has not run yet). The copy keeps the original's arguments,
   * pipeline, retries and their delays, timeout, priority and expiry, unless
   * `options` override them. Its options are checked first: a bad one
   * throws and leaves the original unrevoked.
   */
  async reschedule(options: RescheduleOptions = {}): Promise<Result<T>> {
    return (await this.#backend.reschedule(this.task, options)) as Result<T>;
  }

  /** `Result(task name: id)`. */
  toString(): string {
    return `Result(${this.task.toString()})`;
  }
}

/**
 * The results of several tasks: a pipeline, or a `map()`. Iterable;
 * `get()` returns all values in order.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const group = await add.map([[1, 2], [3, 4]]);
 * console.log(await group.get({ blocking: true })); // [3, 7]
 * for (const r of group) console.log(r.id);
 * ```
 */
export class ResultGroup<T extends unknown[]> implements Iterable<Result<T[number]>> {
  /** The individual results, in order. */
  readonly results: readonly Result<T[number]>[];

  /** The group of `results`, in the order given. */
  constructor(results: readonly Result<unknown>[]) {
    this.results = results as Result<T[number]>[];
  }

  /** Number of results. */
  get length(): number {
    return this.results.length;
  }

  /** The result at `index` (negative counts from the end). */
  at(index: number): Result<T[number]> | undefined {
    return this.results.at(index);
  }

  /** The results, in order. */
  [Symbol.iterator](): Iterator<Result<T[number]>> {
    return this.results[Symbol.iterator]();
  }

  /**
   * Every value, in order. With `blocking`, waits for each (the timeout
   * applies to each result in turn); otherwise missing values are `undefined`.
   */
  async get(options: GetOptions = {}): Promise<T> {
    const values: unknown[] = [];
    for (const result of this.results) values.push(await result.get(options));
    return values as T;
  }

  /**
   * The results as they complete, whatever their order in the group: each
   * is yielded once its value (or error) is there; `get()` on it returns at
   * once. `timeout` (seconds) bounds the whole wait, then `ResultTimeout`.
   */
  async *asCompleted(options: { timeout?: number } = {}): AsyncGenerator<Result<T[number]>> {
    const deadline = options.timeout === undefined
      ? Infinity
      : performance.now() + options.timeout * 1000;
    const waiting = new Set(this.results);
    let delay = 0.05;
    while (waiting.size > 0) {
      let progressed = false;
      for (const result of [...waiting]) {
        if (!(await result.isReady())) continue;
        waiting.delete(result);
        progressed = true;
        yield result;
      }
      if (progressed || waiting.size === 0) continue;
      const left = (deadline - performance.now()) / 1000;
      if (left <= 0) throw new ResultTimeout([...waiting][0].id, options.timeout ?? 0);
      // Wait for any of them (pushed where the storage can, polled elsewhere).
      const step = Math.min(delay, left);
      await Promise.race([...waiting].map((result) => result.waitUntilReady(step)));
      delay = Math.min(delay * 1.5, 1);
    }
  }

  /** Revoke every task of the group. */
  async revoke(options?: RevokeOptions): Promise<void> {
    for (const result of this.results) await result.revoke(options);
  }

  /** Restore every task of the group. */
  async restore(): Promise<void> {
    for (const result of this.results) await result.restore();
  }

  /** Forget values read so far. */
  reset(): void {
    for (const result of this.results) result.reset();
  }
}

/**
 * What `huey.enqueue(chord)` returns (huey's `ChordResult`): the callback's
 * result, and handles on the members' and the callback pipeline's results.
 * `R` is the callback's return type, `M` the members' result types, `C`
 * the callback pipeline's.
 *
 * @example
 * ```ts
 * import { chord, MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const incr = huey.task("incr", (n: number) => n + 1);
 * const total = huey.task("total", (ns: number[]) => ns.reduce((a, b) => a + b, 0));
 * const result = await huey.enqueue(chord([incr.s(0), incr.s(1)], total));
 * console.log(await result.get({ blocking: true })); // 3
 * console.log(await result.results.get()); // [1, 2]
 * ```
 */
export class ChordResult<R, M extends unknown[] = unknown[], C extends unknown[] = [R]> {
  /** One handle per member, in declaration order: its result (a pipeline's last task's, an inner chord's callback's). */
  readonly results: ResultGroup<M>;
  /** The callback's result. */
  readonly callback: Result<R>;
  /**
   * The callback and every task chained after it with `chord.then()`, in
   * order; `undefined` when nothing is chained after the callback.
   */
  readonly pipelineResults?: ResultGroup<C>;

  /** The handles of one enqueued chord (`huey.enqueue` makes these). */
  constructor(results: ResultGroup<M>, callback: Result<R>, pipelineResults?: ResultGroup<C>) {
    this.results = results;
    this.callback = callback;
    this.pipelineResults = pipelineResults;
  }

  /** Id of the callback invocation. */
  get id(): string {
    return this.callback.id;
  }

  /** The callback's value (`callback.get()`): `undefined` until the chord has completed. */
  get(options?: GetOptions): Promise<R | undefined> {
    return this.callback.get(options);
  }

  /** Forget every value read so far (callback, members, pipeline), e.g. to read a retry's result. */
  reset(): void {
    this.callback.reset();
    this.results.reset();
    this.pipelineResults?.reset();
  }

  /** `ChordResult(callback name: id)`. */
  toString(): string {
    return `ChordResult(${this.callback.task.toString()})`;
  }
}
