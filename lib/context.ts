/**
 * The task context: what a `context: true` task receives as its last
 * argument, and `currentTask()`, the same anywhere inside a running task.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
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
 * The context of a run of `task`; `signal` may be a function that makes the
 * signal when the task first reads it.
 *
 * @example
 * ```ts
 * import { taskContext } from "./context.ts";
 * import { Task } from "./task.ts";
 * const task = new Task({ id: "1", name: "add", args: [], retries: 0, retryDelay: 0, priority: 0 });
 * console.log(taskContext(task, new AbortController().signal).name); // "add"
 * ```
 */
export function taskContext(task: Task, signal: TaskSignal): TaskContext {
  const { id, name, retries } = task;
  if (typeof signal !== "function") return { id, name, retries, signal, task };
  let own: AbortSignal | undefined;
  return {
    id,
    name,
    retries,
    get signal() {
      return own ??= signal();
    },
    task,
  };
}
