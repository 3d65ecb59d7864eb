/**
 * The task that is running in the current async context.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { TaskContext } from "./task.ts";

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
