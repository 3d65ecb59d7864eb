/**
 * `Task`: one invocation of a task function, the thing that is serialized,
 * queued and run. Also the types of task wrappers and pipelines.
 *
 * @module
 */
import type { TaskErrorInfo } from "./errors.ts";

/** Settings of a task, given when it is declared (and some per invocation). */
export interface TaskOptions {
  /** Times to retry after an error. @default 0 */
  retries?: number;
  /** Seconds to wait before each retry. @default 0 */
  retryDelay?: number;
  /** Higher runs first on storages that support priority. @default 0 */
  priority?: number;
  /**
   * Skip the task if it has not started by then: seconds after it is put in
   * the queue, or an absolute `Date`. @default no expiry
   */
  expires?: number | Date;
  /**
   * Seconds a run may take; then its `signal` aborts and the run counts as an
   * error (retried if it has retries). @default no timeout
   */
  timeout?: number;
  /**
   * Pass a {@link TaskContext} as the last argument of the task function.
   * @default false
   */
  context?: boolean;
}

/** Given to a task function declared with `context: true`, and returned by `currentTask()`. */
export interface TaskContext {
  /** Id of this invocation. */
  id: string;
  /** Task name. */
  name: string;
  /** Retries left after this attempt. */
  retries: number;
  /** Aborts on the task's `timeout` and on a hard shutdown of the consumer. */
  signal: AbortSignal;
  /**
   * The invocation itself; changing `retryDelay` or `retries` here changes
   * what happens if this attempt fails.
   */
  task: Task;
}

/** Options of `schedule()` and of one invocation: when it runs and how. */
export interface ScheduleOptions {
  /** Run this many seconds from now. */
  delay?: number;
  /** Run at this time (wins over `delay`). */
  eta?: Date;
  /** Override the task's priority for this invocation. */
  priority?: number;
  /** Override the task's expiry for this invocation. */
  expires?: number | Date;
  /** Override the task's retries for this invocation. */
  retries?: number;
  /** Override the task's retry delay for this invocation. */
  retryDelay?: number;
  /** Use this id instead of a random one. */
  id?: string;
  /**
   * Enqueue inside this open transaction of the application's database
   * client, so the task exists only if the transaction commits
   * (PostgresStorage: the `tx` of postgres.js `sql.begin(async (tx) => ...)`,
   * or a `pg` client after `BEGIN`). A storage that cannot join a
   * transaction throws a ConfigurationError. Not used in immediate mode.
   */
  transaction?: unknown;
}

/** What `revoke()` takes: pause every future run, or only the next, or until a time. */
export interface RevokeOptions {
  /** Skip only the next run; then the task is restored automatically. */
  revokeOnce?: boolean;
  /** Restore automatically at this time. */
  revokeUntil?: Date;
}

/** What a parent's return value adds in front of the child's arguments in a pipeline. */
export type PipedArgs<R> = [R] extends [undefined | void] ? []
  : R extends readonly unknown[] ? [...R]
  : [R];

/** `A` without as many leading elements as `P` has. */
export type DropArgs<A extends unknown[], P extends unknown[]> = P extends [unknown, ...infer PR]
  ? A extends [unknown?, ...infer AR] ? DropArgs<AR, PR> : []
  : A;

/**
 * `unknown` when a task taking `A` can be called with `P` in front of the
 * rest of its arguments; otherwise an object type that makes the call fail
 * to compile and says why.
 */
export type AcceptsPiped<A extends unknown[], P extends unknown[]> =
  [...P, ...DropArgs<A, P>] extends A ? unknown
    : {
      "pipeline error": "the previous result does not fit this task's first arguments";
      piped: P;
    };

/** The last element of a tuple. */
export type Last<C extends unknown[]> = C extends [...unknown[], infer L] ? L : never;

/**
 * Anything that builds invocations with `s()`: a task wrapper (see
 * `TaskWrapper`). Pipelines take one structurally, so this file needs
 * nothing from the wrapper or result modules.
 */
export interface TaskFactory<A extends unknown[] = unknown[], R = unknown> {
  /** The task name. */
  readonly name: string;
  /** Build an invocation without enqueuing it. */
  s(...args: A): Task<A, R>;
}

/**
 * The fields of a task invocation: what `new Task()` takes and what a
 * message carries. Derived from the {@link Task} class, which declares them
 * once (a method added to Task must be named in the exclusion below, or the
 * wire form's field table stops compiling).
 */
export type TaskFields =
  & Omit<
    Pick<
      Task,
      Exclude<keyof Task, "copy" | "then" | "error" | "pipeline" | "toString" | "__types">
    >,
    "periodic"
  >
  & { periodic?: boolean };

/**
 * One invocation of a task: its id, arguments and settings, and the tasks
 * to run after it. `C` lists the result types of the pipeline that starts here.
 *
 * @example A pipeline
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const group = await huey.enqueue(add.s(1, 2).then(add, 3).then(add, 4));
 * console.log(await group.get({ blocking: true })); // [3, 6, 10]
 * ```
 */
export class Task<A extends unknown[] = unknown[], R = unknown, C extends unknown[] = [R]> {
  /** Id of this invocation (a UUID unless given). */
  declare id: string;
  /** Name of the task to run. */
  declare readonly name: string;
  /** Arguments, in order. */
  declare args: unknown[];
  /** When to run; unset means as soon as possible. */
  declare eta?: Date;
  /** Retries left. */
  declare retries: number;
  /** Seconds between retries. */
  declare retryDelay: number;
  /** Queue priority. */
  declare priority: number;
  /** Expiry as declared: seconds after enqueueing, or a Date. */
  declare expires?: number | Date;
  /** Expiry resolved to a time when the task was last put in the queue. */
  declare expiresAt?: Date;
  /** Seconds a run may take. */
  declare timeout?: number;
  /** True for runs of periodic tasks: their return values are not stored. */
  declare periodic: boolean;
  /** Runs after this one succeeds, with the return value in front of its arguments. */
  declare onComplete?: Task;
  /** Runs after this one fails for good, with the error in front of its arguments. */
  declare onError?: Task;

  /** Carries the type parameters for inference; never set at run time. */
  declare readonly __types?: { args: A; result: R; chain: C };

  /** An invocation with `fields` (`periodic` defaults to false). */
  constructor(fields: TaskFields) {
    Object.assign(this, fields);
    this.periodic = fields.periodic ?? false;
  }

  /** A copy of this invocation with `changes` (the pipeline and error handlers are shared). */
  copy(changes: Partial<TaskFields> = {}): Task<A, R, C> {
    return new Task({ ...this, ...changes });
  }

  /**
   * Run `task` after the last task of this pipeline, with the previous return
   * value in front of `args` (an array return value is spread). Returns this
   * (the pipeline's first task).
   */
  then<A2 extends unknown[], R2>(
    task: TaskFactory<A2, R2> & AcceptsPiped<A2, PipedArgs<Last<C>>>,
    ...args: DropArgs<A2, PipedArgs<Last<C>>>
  ): Task<A, R, [...C, R2]>;
  /** Run an already built invocation after the last task of this pipeline. */
  then<R2>(task: Task<unknown[], R2>): Task<A, R, [...C, R2]>;
  then(task: TaskFactory | Task, ...args: unknown[]): Task<A, R, unknown[]> {
    const next = task instanceof Task ? task : task.s(...args);
    let last: Task = this as Task;
    while (last.onComplete) last = last.onComplete;
    last.onComplete = next;
    return this as Task<A, R, unknown[]>;
  }

  /**
   * Run `task` if this task fails for good (no retries left), with a
   * {@link TaskErrorInfo} in front of `args`. Chained error handlers run in turn.
   */
  error<A2 extends unknown[], R2>(
    task: TaskFactory<A2, R2> & AcceptsPiped<A2, [TaskErrorInfo]>,
    ...args: DropArgs<A2, [TaskErrorInfo]>
  ): this;
  /** Run an already built invocation if this task fails for good. */
  error(task: Task): this;
  error(task: TaskFactory | Task, ...args: unknown[]): this {
    const next = task instanceof Task ? task : task.s(...args);
    let last: Task = this as Task;
    while (last.onError) last = last.onError;
    last.onError = next;
    return this;
  }

  /** Every task of the pipeline that starts here, following `onComplete`. */
  pipeline(): Task[] {
    const tasks: Task[] = [];
    for (let t: Task | undefined = this as Task; t; t = t.onComplete) tasks.push(t);
    return tasks;
  }

  /** `name: id`, plus ` @eta` when scheduled, as huey prints tasks. */
  toString(): string {
    return `${this.name}: ${this.id}${this.eta ? ` @${this.eta.toISOString()}` : ""}`;
  }
}

/**
 * A new task id: a UUID version 7 (RFC 9562), the time in milliseconds then
 * 74 random bits. Ids of tasks made one after another sort together, so
 * storages keyed by id (SQLite's result table, the file storage) insert
 * next to the last one instead of at a random place: a busy SQLite consumer
 * dirties one result page per batch, not one per task (W2 at 8 workers:
 * about 11,400 tasks/s against 9,600 with random version 4 ids).
 *
 * @example
 * ```ts
 * import { newTaskId } from "./task.ts";
 * console.log(newTaskId()); // e.g. "019ab2c4-5e1f-7a3b-9c2d-4e5f6a7b8c9d"
 * ```
 */
export function newTaskId(now: number = Date.now()): string {
  // A version 4 UUID has the right variant and enough random bits: put the
  // time in its first 48 bits and the version 7 in place of the 4.
  const time = Math.floor(now).toString(16).padStart(12, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${crypto.randomUUID().slice(15)}`;
}
