/**
 * `Task`: one invocation of a task function, the thing that is serialized,
 * queued and run. Also the types of task wrappers and pipelines.
 *
 * @module
 */
import { truncate } from "./_util.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { preview } from "./tagged.ts";

/** Settings of a task, given when it is declared (and some per invocation). */
export interface TaskOptions {
  /** Times to retry after an error. @default 0 */
  retries?: number;
  /** Seconds to wait before the first retry (and each, without `retryBackoff`). @default 0 */
  retryDelay?: number;
  /**
   * Multiply the wait by this after each retry (huey 3.3's `retry_backoff`):
   * `retryDelay: 2, retryBackoff: 2` waits 2, 4, 8 s. At least 1; a
   * `RetryTask` with its own `delay` or `eta` neither uses nor advances it.
   * @default 1 (the wait stays `retryDelay`)
   */
  retryBackoff?: number;
  /**
   * Shorten each wait by up to this fraction of it, at random, so tasks
   * that failed together do not all retry at the same moment: 0.2 waits
   * 80-100% of the delay, 1 anywhere from 0 to all of it ("full jitter").
   * @default 0
   */
  retryJitter?: number;
  /** The longest wait before a retry, in seconds, however far the backoff grows. @default no cap */
  retryMaxDelay?: number;
  /** Higher runs first on storages that support priority. @default 0 */
  priority?: number;
  /**
   * Skip the task if it has not started by then: seconds after it is put in
   * the queue, or an absolute `Date`. @default no expiry
   */
  expires?: number | Date;
  /**
   * Seconds a run may take (counted from when the task function is called,
   * after the pre-execute hooks); then its `signal` aborts, a `TaskTimeout`
   * is stored as its error, the `timeout` signal fires (not `error`), and it
   * is retried if it has retries. A task that never yields (a synchronous
   * loop) cannot be interrupted: check `ctx.checkTimeout()` in it. 0 means
   * none. @default no timeout
   */
  timeout?: number;
  /**
   * Pass a {@link TaskContext} as the last argument of the task function.
   * @default false
   */
  context?: boolean;
  /**
   * Make every invocation unique (see {@link ScheduleOptions.unique}): a
   * call is not enqueued while a task with its id is queued, scheduled or
   * running. Its id is what this function returns for the call's
   * arguments (a task id), or with `true` one made from the task's name and
   * arguments, so equal calls share it; a call's own `id` wins over both.
   * @default false
   */
  unique?: boolean | ((...args: never[]) => string);
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
  /**
   * Seconds left before the run's `timeout` (0 once it has passed);
   * `Infinity` for a run without one, so comparing is always safe.
   */
  timeRemaining(): number;
  /** True once the run has passed its `timeout`; always false without one. */
  isTimedOut(): boolean;
  /**
   * Throw a `TaskTimeout` if the run has passed its `timeout`: for code the
   * timer cannot interrupt (a synchronous loop), so the run ends as a
   * timeout (its signal, its retries) rather than running on.
   */
  checkTimeout(): void;
  /**
   * Report how far the run has got: `value` (e.g. a fraction done) and
   * anything else in `meta`, stored where `result.progress()` and
   * `huey.status()` read it from any process, and sent as a `progress`
   * event. Reports closer together than 250 ms are thinned to the latest
   * (stored when the interval ends, or the run does). Throws a TypeError for
   * a value that is not a number.
   */
  progress(value: number, meta?: unknown): Promise<void>;
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
  /** Override the task's retry backoff for this invocation (see `TaskOptions.retryBackoff`). */
  retryBackoff?: number;
  /** Override the task's retry jitter for this invocation (see `TaskOptions.retryJitter`). */
  retryJitter?: number;
  /** Override the task's longest retry wait for this invocation. */
  retryMaxDelay?: number;
  /** Override the task's timeout for this invocation, in seconds (0: none). */
  timeout?: number;
  /** Use this id instead of a random one. */
  id?: string;
  /**
   * Do not create this task if one with its id is queued, scheduled or
   * running: resolve to that task's `Result` instead (BullMQ's `jobId`,
   * pg-boss's `singletonKey`). Atomic across processes: of producers racing
   * with one id, exactly one enqueues. The id is `id`, else the task's
   * `unique` key (see {@link TaskOptions.unique}). Only the task enqueued
   * here is unique, not the later tasks of its pipeline. Cannot be combined
   * with `transaction`. `false` turns a task's `unique` off for this call.
   * @default the task's `unique`
   */
  unique?: boolean;
  /**
   * Enqueue inside this open transaction of the application's database
   * client, so the task exists only if the transaction commits
   * (PostgresStorage: the `tx` of postgres.js `sql.begin(async (tx) => ...)`,
   * or a `pg` client after `BEGIN`). A storage that cannot join a
   * transaction throws a ConfigurationError. Not used in immediate mode.
   */
  transaction?: unknown;
}

/**
 * Options of `Result.reschedule()`: when the copy runs (`delay`/`eta`, or
 * at once), and what it overrides; what is unset is the original's
 * (retries and their delays, timeout, priority, expiry). Not `transaction`:
 * the original is revoked outside it.
 */
export type RescheduleOptions = Omit<ScheduleOptions, "transaction">;

/**
 * The per-call settings an invocation built ahead of time can carry
 * (`wrapper.withOptions(options).s(...args)`, huey's `add.s(1, 2,
 * timeout=5)`): {@link ScheduleOptions} without the id and the transaction,
 * which belong to enqueuing it.
 */
export type InvocationOptions = Pick<
  ScheduleOptions,
  | "delay"
  | "eta"
  | "priority"
  | "expires"
  | "retries"
  | "retryDelay"
  | "retryBackoff"
  | "retryJitter"
  | "retryMaxDelay"
  | "timeout"
>;

/**
 * Where a task stands in a chord (`Task.chord`): the chord's id, the
 * member's position (from 0, in declaration order) and how many members
 * the chord has.
 */
export interface ChordLink {
  /** The chord's id: its bookkeeping keys are named by it. */
  id: string;
  /** The member's position, 0 to `size - 1`. */
  index: number;
  /** How many members the chord has. */
  size: number;
}

/** What `revoke()` takes: pause every future run, or only the next, or until a time. */
export interface RevokeOptions {
  /**
   * Skip only the next run; then the task is restored automatically.
   * @default false (`Result.revoke()`: true, as in huey)
   */
  revokeOnce?: boolean;
  /** Restore automatically at this time (with `revokeOnce`: skip the next run only before it). */
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
  /**
   * Seconds to wait before the next retry: with a backoff, it grows after
   * each retry and the grown value travels with the task (as in huey 3.3).
   */
  declare retryDelay: number;
  /** What the wait is multiplied by after each retry; unset: 1. */
  declare retryBackoff?: number;
  /** The fraction of each wait that may be cut at random; unset: 0. */
  declare retryJitter?: number;
  /** The longest wait before a retry, in seconds; unset: no cap. */
  declare retryMaxDelay?: number;
  /** Queue priority. */
  declare priority: number;
  /** Expiry as declared: seconds after enqueueing, or a Date. */
  declare expires?: number | Date;
  /** Expiry resolved to a time when the task was last put in the queue. */
  declare expiresAt?: Date;
  /** Seconds a run may take; unset or 0: no limit. */
  declare timeout?: number;
  /** True for runs of periodic tasks: their return values are not stored. */
  declare periodic: boolean;
  /** Runs after this one succeeds, with the return value in front of its arguments. */
  declare onComplete?: Task;
  /**
   * Runs after a failed attempt of this one, with the error in front of its
   * arguments (every attempt, or only the last: `storeIntermediateErrors`).
   */
  declare onError?: Task;
  /**
   * Set on the last task of a chord member (the member itself, the tail of
   * its pipeline, or an inner chord's callback): which chord, and the
   * member's place in it. Unset on every other task.
   */
  declare chord?: ChordLink;
  /**
   * The chord's callback (with its pipeline), carried with `chord`: the run
   * that finishes the last member enqueues it with the members' results in
   * front of its arguments.
   */
  declare chordCallback?: Task;
  /**
   * A chord callback's delay in seconds, counted from when the chord
   * completes (its `eta` is set then); unset on every other task.
   */
  declare chordDelay?: number;
  /** Holds its id's unique marker until it is done for good (see `ScheduleOptions.unique`). */
  declare unique?: boolean;
  /** How many times it has started running (a retry carries the count); unset before its first run. */
  declare attempts?: number;
  /**
   * The producer's trace context (W3C `traceparent`, `tracestate`), when it
   * ran inside an OpenTelemetry span; the run's span is its child. Unset otherwise.
   */
  declare trace?: Record<string, string>;

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
  /**
   * Run an already built invocation after the last task of this pipeline;
   * `args` are added after its own (huey's `extend_data`), the previous
   * return value goes in front.
   */
  then<R2>(task: Task<unknown[], R2>, ...args: unknown[]): Task<A, R, [...C, R2]>;
  then(task: TaskFactory | Task, ...args: unknown[]): Task<A, R, unknown[]> {
    let last: Task = this as Task;
    while (last.onComplete) last = last.onComplete;
    last.onComplete = nextTask(this.name, "then", task, args);
    return this as Task<A, R, unknown[]>;
  }

  /**
   * Run `task` when an attempt of this task fails, with that attempt's
   * {@link TaskErrorInfo} in front of `args`: after every failed attempt, as
   * in huey, or only after the last one with the Huey's
   * `storeIntermediateErrors: false`. Chained error handlers run in turn.
   */
  error<A2 extends unknown[], R2>(
    task: TaskFactory<A2, R2> & AcceptsPiped<A2, [TaskErrorInfo]>,
    ...args: DropArgs<A2, [TaskErrorInfo]>
  ): this;
  /** Run an already built invocation (with `args` added after its own) when an attempt fails. */
  error(task: Task, ...args: unknown[]): this;
  error(task: TaskFactory | Task, ...args: unknown[]): this {
    let last: Task = this as Task;
    while (last.onError) last = last.onError;
    last.onError = nextTask(this.name, "error", task, args);
    return this;
  }

  /** Every task of the pipeline that starts here, following `onComplete`. */
  pipeline(): Task[] {
    const tasks: Task[] = [];
    for (let t: Task | undefined = this as Task; t; t = t.onComplete) tasks.push(t);
    return tasks;
  }

  /**
   * `name: id`, plus ` @eta` when scheduled, as huey prints tasks (in every
   * log line about a task); a name longer than 200 characters is cut.
   */
  toString(): string {
    return `${truncate(this.name)}: ${this.id}${this.eta ? ` @${this.eta.toISOString()}` : ""}`;
  }
}

/**
 * The invocation `then()` or `error()` adds: the wrapper's `s(...args)`, or
 * the given Task with `args` after its own. Anything else is refused, which
 * is also what makes `await task` fail clearly: the promise machinery calls
 * `then(resolve, reject)`, and a Task is not a promise.
 */
function nextTask(parent: string, method: string, task: unknown, args: unknown[]): Task {
  if (task instanceof Task) {
    if (args.length) task.args = [...task.args, ...args];
    return task;
  }
  if (typeof (task as TaskFactory | undefined)?.s === "function") {
    return (task as TaskFactory).s(...args);
  }
  throw new TypeError(
    `Cannot ${method} task ${parent}: expected a task wrapper or a Task, got ${typeof task}; ` +
      "a Task is not a promise: enqueue it with huey.enqueue(task) instead of awaiting or returning it",
  );
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

/**
 * The bounds of a task's settings, checked where a task is declared, where
 * one is enqueued, and where a message is decoded (so a message written by
 * anything else is held to them too).
 *
 * @example
 * ```ts
 * import { TASK_LIMITS } from "./task.ts";
 * console.log(TASK_LIMITS.retries); // 1000000
 * ```
 */
export const TASK_LIMITS = {
  /** Most retries a task may have left. */
  retries: 1_000_000,
  /** Largest priority either way: any storage orders these exactly. */
  priority: 1e15,
  /**
   * Longest `delay`, `retryDelay` or relative `expires`, in seconds (about
   * 317 years): a time computed from one is always a valid Date.
   */
  seconds: 1e10,
  /**
   * Longest `timeout`, in seconds: what a timer can wait (2^31 - 1 ms); a
   * timer asked to wait longer fires at once.
   */
  timeout: 2_147_483,
  /** Largest `retryBackoff`: past it, the first few retries reach any cap anyway. */
  backoff: 1000,
  /** Longest task id. */
  idLength: 200,
  /** Most tasks nested in a pipeline (`then` / `error` chains, chord callbacks). */
  pipelineDepth: 1000,
  /** Most members of one chord: the task that finishes the last one reads every member's result. */
  chordSize: 100_000,
} as const;

/**
 * A task id: 1 to 200 characters from `A-Z a-z 0-9 . _ ~ : @ + = -`. Keys
 * huey keeps for itself in the result store start with `%` (keys.ts), which
 * no id can, so no id can reach a lock, a revocation or a periodic marker;
 * and none holds a space, a slash or a control character, so ids read well
 * in logs and file names.
 */
const TASK_ID = /^[A-Za-z0-9._~:@+=-]{1,200}$/;

/**
 * Throw a `TypeError` unless `id` is a valid task id (see
 * {@link TASK_RULES}); `where` names what it is for.
 *
 * @example
 * ```ts
 * import { checkTaskId } from "./task.ts";
 * checkTaskId("signup-42", "result of task");
 * ```
 */
export function checkTaskId(id: unknown, where: string): void {
  const expected = TASK_RULES.id(id);
  if (expected) throw new TypeError(`Cannot use ${where} id: expected ${expected}: ${shown(id)}`);
}

/** Why a value is not a valid setting: what was expected, or undefined when it is valid. */
export type Expectation = (value: unknown) => string | undefined;

const within = (what: string, ok: (n: number) => boolean): Expectation => (value) =>
  typeof value === "number" && ok(value) ? undefined : what;
const SECONDS = `a number of seconds from 0 to ${TASK_LIMITS.seconds}`;
const seconds = within(SECONDS, (n) => n >= 0 && n <= TASK_LIMITS.seconds);
const date: Expectation = (value) =>
  value instanceof Date && !Number.isNaN(value.getTime()) ? undefined : "a valid Date";

/**
 * What each checked task setting must be, as the words that follow
 * "expected" in an error message.
 *
 * @example
 * ```ts
 * import { TASK_RULES } from "./task.ts";
 * console.log(TASK_RULES.retries(1e308)); // "an integer from 0 to 1000000"
 * console.log(TASK_RULES.retries(3)); // undefined
 * ```
 */
export const TASK_RULES = {
  id: (value: unknown) =>
    typeof value === "string" && TASK_ID.test(value)
      ? undefined
      : `a task id (1 to ${TASK_LIMITS.idLength} characters from A-Z a-z 0-9 . _ ~ : @ + = -)`,
  retries: within(
    `an integer from 0 to ${TASK_LIMITS.retries}`,
    (n) => Number.isInteger(n) && n >= 0 && n <= TASK_LIMITS.retries,
  ),
  priority: within(
    `a number from ${-TASK_LIMITS.priority} to ${TASK_LIMITS.priority}`,
    (n) => Math.abs(n) <= TASK_LIMITS.priority,
  ),
  seconds,
  timeout: within(
    `a number of seconds from 0 (none) to ${TASK_LIMITS.timeout}`,
    (n) => n >= 0 && n <= TASK_LIMITS.timeout,
  ),
  backoff: within(
    `a number from 1 to ${TASK_LIMITS.backoff} (1: the same delay each time)`,
    (n) => n >= 1 && n <= TASK_LIMITS.backoff,
  ),
  fraction: within("a fraction from 0 to 1", (n) => n >= 0 && n <= 1),
  /** A count of runs (RetryTask can retry without end, so no cap below the safe integers). */
  count: within("a safe integer from 0", (n) => Number.isSafeInteger(n) && n >= 0),
  date,
  /** A chord link: a chord id, a size from 1 to the limit and an index below it. */
  chord: (value: unknown): string | undefined => {
    const link = value as Partial<ChordLink> | null;
    const { size, index } = link ?? {};
    return typeof link === "object" && link !== null && TASK_ID.test(String(link.id)) &&
        typeof link.id === "string" &&
        Number.isInteger(size) && size! >= 1 && size! <= TASK_LIMITS.chordSize &&
        Number.isInteger(index) && index! >= 0 && index! < size!
      ? undefined
      : `a chord link { id, index, size } (a task id, a size from 1 to ${TASK_LIMITS.chordSize}, an index below it)`;
  },
  /** A trace context carrier: at most 8 header-like names, each value 1 to 512 characters. */
  trace: (value: unknown): string | undefined => {
    const entries = typeof value === "object" && value !== null && !Array.isArray(value)
      ? Object.entries(value)
      : undefined;
    return entries && entries.length >= 1 && entries.length <= 8 &&
        entries.every(([k, v]) =>
          /^[a-z0-9_-]{1,64}$/.test(k) && typeof v === "string" && v.length >= 1 && v.length <= 512
        )
      ? undefined
      : "a trace context (1 to 8 lower-case header names, each with a string of 1 to 512 characters)";
  },
  /** Seconds after it is queued, or an absolute time. */
  expires: (value: unknown) =>
    (value instanceof Date ? date(value) : seconds(value)) && `${SECONDS} or a valid Date`,
} satisfies Record<string, Expectation>;

/**
 * A value as an error message shows it: numbers and Dates as they print
 * (`1e+308`, `Invalid Date`), anything else as short JSON (60 characters at
 * most), so a hostile value cannot make the message long.
 *
 * @example
 * ```ts
 * import { shown } from "./task.ts";
 * console.log(shown(1e308), shown(new Date(NaN)), shown("x".repeat(100)).length); // 1e+308 Invalid Date 60
 * ```
 */
export function shown(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (value === undefined) return "undefined";
  return preview(value);
}
