/**
 * The task context: what a `context: true` task receives as its last
 * argument, and `currentTask()`, the same anywhere inside a running task.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { TaskTimeout } from "./errors.ts";
import type { Task, TaskContext } from "./task.ts";
import type { TaskSignal } from "./timeout.ts";

const running = new AsyncLocalStorage<TaskContext>();

/**
 * The context of the task running in this async call chain, or `undefined`
 * outside a task.
 *
 * @example
 * ```ts
 * import { currentTask, MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const whoAmI = huey.task("whoami", () => currentTask()?.id);
 * const r = await whoAmI();
 * console.log(await r.get() === r.id); // true
 * ```
 */
export function currentTask(): TaskContext | undefined {
  return running.getStore();
}

/** Run `fn` with `context` as the current task. */
export function runInTaskContext<T>(context: TaskContext, fn: () => T): T {
  return running.run(context, fn);
}

/**
 * The context of one run: the task's id, name and retries, its signal (made
 * on first read when given as a function), and its deadline for the
 * cooperative checks. A class, so the methods are shared by every run
 * rather than made per task (every run gets a context, for `currentTask()`).
 */
class RunContext implements TaskContext {
  id: string;
  name: string;
  retries: number;
  task: Task;
  #signal: TaskSignal;
  readonly #deadline?: number;
  readonly #timeout?: number;
  readonly #report?: ProgressReport;

  constructor(task: Task, signal: TaskSignal, deadline?: number, report?: ProgressReport) {
    this.#report = report;
    this.id = task.id;
    this.name = task.name;
    this.retries = task.retries;
    this.task = task;
    this.#signal = signal;
    this.#deadline = deadline;
    this.#timeout = task.timeout;
  }

  get signal(): AbortSignal {
    if (typeof this.#signal === "function") this.#signal = this.#signal();
    return this.#signal;
  }

  timeRemaining(): number {
    if (this.#deadline === undefined) return Infinity;
    return Math.max(0, (this.#deadline - performance.now()) / 1000);
  }

  isTimedOut(): boolean {
    return this.#deadline !== undefined && performance.now() >= this.#deadline;
  }

  checkTimeout(): void {
    if (this.isTimedOut()) throw new TaskTimeout(this.#timeout ?? 0, this.task);
  }

  progress(value: number, meta?: unknown): Promise<void> {
    // Outside a consumer's run (a context made by hand) there is nowhere to report to.
    return this.#report?.(value, meta) ?? Promise.resolve();
  }
}

/** Where `ctx.progress()` reports go (the executor stores and announces them). */
export type ProgressReport = (value: number, meta?: unknown) => Promise<void>;

/**
 * The context of a run of `task`; `signal` may be a function that makes the
 * signal when the task first reads it; `deadline` is when the run's timeout
 * passes, as a `performance.now()` time (unset: no timeout); `report` takes
 * `ctx.progress()` calls.
 *
 * @example
 * ```ts
 * import { taskContext } from "./context.ts";
 * import { Task } from "./task.ts";
 * const task = new Task({ id: "1", name: "add", args: [], retries: 0, retryDelay: 0, priority: 0 });
 * const ctx = taskContext(task, new AbortController().signal);
 * console.log(ctx.name, ctx.timeRemaining()); // "add" Infinity
 * ```
 */
export function taskContext(
  task: Task,
  signal: TaskSignal,
  deadline?: number,
  report?: ProgressReport,
): TaskContext {
  return new RunContext(task, signal, deadline, report);
}
