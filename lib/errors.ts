/**
 * The error set of huey. Every class extends {@link HueyError}, sets `name`
 * and carries the fields a caller needs to act on it.
 *
 * `RetryTask` and `CancelExecution` are control-flow signals a task throws on
 * purpose; the others are failures.
 *
 * @module
 */

import { truncate } from "./_util.ts";

/**
 * Base class of every error huey throws.
 *
 * @example Catch anything huey throws
 * ```ts
 * import { HueyError } from "./errors.ts";
 * try {
 *   throw new HueyError("Cannot enqueue: storage closed");
 * } catch (err) {
 *   if (err instanceof HueyError) console.log(err.message);
 * }
 * ```
 */
export class HueyError extends Error {
  /** An error with `message`; `options.cause` keeps what caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HueyError";
  }
}

/** What was stored when a task failed: enough to rebuild a {@link TaskError}. */
export interface TaskErrorInfo {
  /** The remote error's `name`, e.g. `"TypeError"`. */
  name: string;
  /** The remote error's message. */
  message: string;
  /** The remote error's stack, when it had one. */
  stack?: string;
  /** Id of the task invocation that failed. */
  taskId: string;
  /** Name of the task that failed. */
  taskName: string;
  /** Retries the task had left when this error was stored. */
  retries: number;
  /** Fields a Huey's `buildErrorResult()` added (huey's custom error metadata). */
  [field: string]: unknown;
}

/**
 * A task failed in the consumer; raised when its result is read
 * (huey's `TaskException`).
 *
 * @example Read a failed result
 * ```ts
 * import { MemoryHuey, TaskError } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const fails = huey.task("fails", () => { throw new RangeError("nope"); });
 * const r = await fails();
 * try {
 *   await r.get();
 * } catch (err) {
 *   if (err instanceof TaskError) console.log(err.remoteName, err.remoteMessage);
 * }
 * ```
 */
export class TaskError extends HueyError {
  /** Name of the error the task threw, e.g. `"RangeError"`. */
  readonly remoteName: string;
  /** Message of the error the task threw. */
  readonly remoteMessage: string;
  /** Stack of the error the task threw, as recorded where it ran. */
  readonly remoteStack?: string;
  /** Id of the failed task invocation. */
  readonly taskId: string;
  /** Name of the failed task. */
  readonly taskName: string;
  /** Retries the task had left when the error was stored. */
  readonly retries: number;
  /**
   * Everything stored for the failure (huey's `metadata`): the fields above,
   * plus those a Huey's `buildErrorResult()` added.
   */
  readonly metadata: Readonly<TaskErrorInfo>;

  /** The failure a task stored, as `info` describes it. */
  constructor(info: TaskErrorInfo) {
    super(`Task ${info.taskName} (${info.taskId}) failed: ${info.name}: ${info.message}`);
    this.name = "TaskError";
    this.remoteName = info.name;
    this.remoteMessage = info.message;
    this.remoteStack = info.stack;
    this.taskId = info.taskId;
    this.taskName = info.taskName;
    this.retries = info.retries;
    this.metadata = Object.freeze({ ...info });
  }

  /** The stored form of this error (with any fields `buildErrorResult()` added). */
  toJSON(): TaskErrorInfo {
    return { ...this.metadata };
  }
}

/** Options of {@link RetryTask}. */
export interface RetryTaskOptions {
  /** Seconds to wait before the retry. @default the task's retryDelay */
  delay?: number;
  /** Absolute time of the retry; wins over `delay`. */
  eta?: Date;
}

/**
 * Thrown inside a task to have it retried, whether or not it was declared
 * with `retries`; its remaining retries are not used up.
 *
 * @example Retry in a minute
 * ```ts
 * import { MemoryHuey, RetryTask } from "../mod.ts";
 * const huey = new MemoryHuey();
 * huey.task("fetch", async (url: string) => {
 *   const res = await fetch(url);
 *   if (res.status >= 500) throw new RetryTask({ delay: 60 });
 *   return await res.text();
 * });
 * ```
 */
export class RetryTask extends HueyError {
  /** Seconds until the retry, if given. */
  readonly delay?: number;
  /** Absolute time of the retry, if given. */
  readonly eta?: Date;

  /** Ask to be retried after `options.delay` seconds or at `options.eta`. */
  constructor(options: RetryTaskOptions = {}, message = "task asked to be retried") {
    super(message);
    this.name = "RetryTask";
    this.delay = options.delay;
    this.eta = options.eta;
  }
}

/** Options of {@link CancelExecution}. */
export interface CancelExecutionOptions {
  /**
   * `true`: retry even without retries left; `false`: never retry;
   * unset: retry only if the task has retries left.
   */
  retry?: boolean;
}

/**
 * Thrown in a pre-execute hook or in a task to cancel this execution.
 *
 * @example Cancel without retrying
 * ```ts
 * import { CancelExecution, MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * huey.task("load", () => {
 *   throw new CancelExecution({ retry: false });
 * }, { retries: 2 });
 * ```
 */
export class CancelExecution extends HueyError {
  /** The retry policy override, see {@link CancelExecutionOptions.retry}. */
  readonly retry?: boolean;

  /** Cancel the run; `options.retry` says whether it is retried. */
  constructor(options: CancelExecutionOptions = {}, message = "task execution canceled") {
    super(message);
    this.name = "CancelExecution";
    this.retry = options.retry;
  }
}

/**
 * A task lock is held by someone else (huey's `TaskLockedException`).
 *
 * @example
 * ```ts
 * import { MemoryHuey, TaskLockedError } from "../mod.ts";
 * const huey = new MemoryHuey();
 * await using _held = await huey.lockTask("reports").acquire();
 * try {
 *   await huey.lockTask("reports").run(() => "never");
 * } catch (err) {
 *   if (err instanceof TaskLockedError) console.log(err.lockName);
 * }
 * ```
 */
export class TaskLockedError extends HueyError {
  /** Name of the lock that could not be taken. */
  readonly lockName: string;

  /** The lock `lockName` is held by someone else. */
  constructor(lockName: string) {
    super(`Cannot acquire lock: already held: ${lockName}`);
    this.name = "TaskLockedError";
    this.lockName = lockName;
  }
}

/**
 * A rate limit is used up for now (huey's `RateLimitExceeded`): thrown by
 * `huey.rateLimit(...)` when a call would pass its limit. In a task, the
 * consumer reports it as the `rate-limited` signal and retries the task
 * when the window resets (see `RateLimitOptions.retry`).
 *
 * @example
 * ```ts
 * import { MemoryHuey, RateLimitExceeded } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const limiter = huey.rateLimit("api", 1, 60);
 * await limiter.acquire();
 * try {
 *   await limiter.run(() => "never");
 * } catch (err) {
 *   if (err instanceof RateLimitExceeded) console.log(err.limitName, err.delay); // "api", seconds to wait
 * }
 * ```
 */
export class RateLimitExceeded extends HueyError {
  /** The counter of the window that is full (huey's `key`). */
  readonly key: string;
  /** Seconds until a call can pass again (the window resets): above 0, at most the window. */
  readonly delay: number;
  /** Whether a task stopped by it is retried whatever its retries (the limit's `retry`). */
  readonly retry: boolean;
  /** The rate limit's name, when known. */
  readonly limitName?: string;

  /** The window counted by `key` is full for `delay` more seconds. */
  constructor(key: string, delay: number, retry = true, limitName?: string) {
    super(
      `Cannot run: rate limit ${limitName ?? key} exceeded: it resets in ${
        Number(delay.toFixed(3))
      }s`,
    );
    this.name = "RateLimitExceeded";
    this.key = key;
    this.delay = delay;
    this.retry = retry;
    this.limitName = limitName;
  }
}

/**
 * A blocking `get()` reached its timeout before the result was ready
 * (huey's `ResultTimeout`).
 *
 * @example
 * ```ts
 * import { MemoryHuey, ResultTimeout } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const slow = huey.task("slow", () => 1);
 * const r = await slow();   // no consumer is running
 * try {
 *   await r.get({ blocking: true, timeout: 0.01 });
 * } catch (err) {
 *   if (err instanceof ResultTimeout) console.log(err.taskId);
 * }
 * ```
 */
export class ResultTimeout extends HueyError {
  /** Id of the task whose result did not arrive. */
  readonly taskId: string;
  /** The timeout that ran out, in seconds. */
  readonly timeout: number;

  /**
   * No result for task `taskId` within `timeout` seconds; `why` says more
   * (e.g. that a task returning undefined stores nothing without storeNone).
   */
  constructor(taskId: string, timeout: number, why?: string) {
    super(
      `Cannot get result of task ${taskId}: not ready after ${timeout}s${why ? `: ${why}` : ""}`,
    );
    this.name = "ResultTimeout";
    this.taskId = taskId;
    this.timeout = timeout;
  }
}

/**
 * A task ran past its `timeout` (huey's `TaskTimeout`): the run's signal
 * aborts with it, it is what `ctx.checkTimeout()` throws, and it is stored
 * as the run's error (`TaskError.remoteName` is `"TaskTimeout"`); the
 * `timeout` signal fires instead of `error`, and the task is retried if it
 * has retries left.
 *
 * @example Check the deadline in a long loop
 * ```ts
 * import { MemoryHuey, TaskTimeout } from "../mod.ts";
 * import type { TaskContext } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const crunch = huey.task("crunch", (rows: number[], ctx: TaskContext) => {
 *   let sum = 0;
 *   for (const row of rows) {
 *     ctx.checkTimeout(); // throws a TaskTimeout once the 60 s are up
 *     sum += row;
 *   }
 *   return sum;
 * }, { timeout: 60, context: true });
 * console.log(await (await crunch([1, 2, 3])).get()); // 6
 * console.log(new TaskTimeout(60, { id: "1", name: "crunch" }).message);
 * ```
 */
export class TaskTimeout extends HueyError {
  /** The limit that was passed, in seconds. */
  readonly timeout: number;
  /** Id of the invocation that timed out, when known. */
  readonly taskId?: string;
  /** Name of the task that timed out, when known. */
  readonly taskName?: string;

  /** `task` (when known) ran past `timeout` seconds. */
  constructor(timeout: number, task?: { id: string; name: string }) {
    const who = task ? `Task ${truncate(task.name)} (${task.id})` : "Task";
    super(`${who} timed out after ${timeout}s`);
    this.name = "TaskTimeout";
    this.timeout = timeout;
    this.taskId = task?.id;
    this.taskName = task?.name;
  }
}

/**
 * A message names a task this process has not registered
 * (huey's "not found in TaskRegistry").
 *
 * @example
 * ```ts
 * import { UnknownTaskError } from "../mod.ts";
 * const err = new UnknownTaskError("resize", ["add", "fib"]);
 * console.log(err.message);
 * ```
 */
export class UnknownTaskError extends HueyError {
  /** The task name found in the message, whole (the message shows 200 characters of it). */
  readonly taskName: string;
  /** The names this process knows. */
  readonly registered: readonly string[];
  /** Where the tasks were loaded from, when known (the consumer's app module). */
  readonly module?: string;

  /**
   * `taskName` is not among `registered`, the tasks `module` declares;
   * `action` says what could not be done with it: a consumer cannot `run`
   * it, a producer cannot `enqueue` it on a Huey that does not declare it.
   */
  constructor(
    taskName: string,
    registered: readonly string[],
    module?: string,
    action: "run" | "enqueue" = "run",
  ) {
    const where = module
      ? ` (tasks loaded from ${module})`
      : action === "enqueue"
      ? " on this Huey (enqueue a task through the Huey that declares it)"
      : "";
    const known = registered.length ? truncate(registered.join(", "), 1000) : "none";
    // The name comes from a message, so anyone who can enqueue chooses its
    // length: the message shows 200 characters of it, the field all of it.
    super(
      `Cannot ${action} task ${
        JSON.stringify(truncate(taskName))
      }: not registered${where}; known: ${known}`,
    );
    this.name = "UnknownTaskError";
    this.taskName = taskName;
    this.registered = registered;
    this.module = module;
  }
}

/** What a {@link DeadLetterError} says about the message. */
export interface DeadLetterErrorInfo {
  /** Id of the task invocation the message held. */
  taskId: string;
  /** Name of the task, when the message named one. */
  taskName?: string;
  /** Why it was set aside, e.g. `DeliveryLimitExceeded: delivered 6 times ...`. */
  reason: string;
}

/**
 * A task will not run as it is: its message is in the dead-letter store
 * (it was delivered more than `maxDeliveries` times without finishing, or it
 * could not be decoded). Thrown when its result is read, so a producer
 * blocking on it learns at once instead of waiting for a timeout. Fix the
 * cause, then `huey.requeue(taskId)` runs it again.
 *
 * @example
 * ```ts
 * import { DeadLetterError } from "../mod.ts";
 * const err = new DeadLetterError({ taskId: "42", taskName: "resize", reason: "DeliveryLimitExceeded" });
 * console.log(err.message);
 * ```
 */
export class DeadLetterError extends HueyError {
  /** Id of the task invocation. */
  readonly taskId: string;
  /** Name of the task, when known. */
  readonly taskName?: string;
  /** Why the message was set aside. */
  readonly reason: string;

  /** The message of task `info.taskId` was set aside for `info.reason`. */
  constructor(info: DeadLetterErrorInfo) {
    const task = info.taskName ? `${JSON.stringify(truncate(info.taskName))} ` : "";
    super(
      `Task ${task}(${info.taskId}) will not run: its message is in the dead-letter store: ` +
        `${truncate(info.reason, 1000)}; fix the cause, then huey.requeue(${
          JSON.stringify(info.taskId)
        }) runs it again`,
    );
    this.name = "DeadLetterError";
    this.taskId = info.taskId;
    this.taskName = info.taskName;
    this.reason = info.reason;
  }
}

/**
 * A setting or declaration is invalid: a bad crontab field, a duplicate
 * task name, an option out of range.
 *
 * @example
 * ```ts
 * import { ConfigurationError, crontab } from "../mod.ts";
 * try {
 *   crontab({ minute: "61" });
 * } catch (err) {
 *   if (err instanceof ConfigurationError) console.log(err.message);
 * }
 * ```
 */
export class ConfigurationError extends HueyError {
  /** A bad option or setting, explained in `message`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigurationError";
  }
}

/** Where a value that cannot be serialized was found. */
export interface SerializationErrorDetails {
  /** Name of the task being enqueued, when the value is a task argument. */
  taskName?: string;
  /** Position of the offending argument (0-based). */
  argumentIndex?: number;
  /** Path inside the argument, e.g. `$.user.callback`. */
  path?: string;
}

/**
 * A value cannot be turned into a message (or a message cannot be read back):
 * functions, symbols, class instances, cycles, bad signatures.
 *
 * @example
 * ```ts
 * import { MemoryHuey, SerializationError } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const log = huey.task("log", (value: unknown) => value);
 * try {
 *   await log(() => 1);
 * } catch (err) {
 *   if (err instanceof SerializationError) console.log(err.argumentIndex); // 0
 * }
 * ```
 */
export class SerializationError extends HueyError {
  /** Name of the task being enqueued, when known. */
  readonly taskName?: string;
  /** Position of the offending argument (0-based), when known. */
  readonly argumentIndex?: number;
  /** Path to the offending value inside the argument. */
  readonly path?: string;

  /** A value that cannot be (de)serialized; `details` says which task, argument and path. */
  constructor(message: string, details: SerializationErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = "SerializationError";
    this.taskName = details.taskName;
    this.argumentIndex = details.argumentIndex;
    this.path = details.path;
  }
}
