/**
 * Task timeouts: run a task function under its deadline and the consumer's
 * hard-stop signal, and stop waiting for it once either aborts (a function
 * that ignores its signal cannot hold a worker past its timeout). A run
 * past its deadline rejects with a {@link TaskTimeout}.
 *
 * @module
 */
import { TaskTimeout } from "./errors.ts";

/**
 * The signal a running task sees, or a function that makes it on first use
 * (so tasks that never read `ctx.signal` cost no signal of their own).
 */
export type TaskSignal = AbortSignal | (() => AbortSignal);

/** What {@link runUnderDeadline} needs to know about the run. */
export interface Deadline {
  /** Seconds the run may take; unset or 0: no limit. */
  timeout?: number;
  /** Aborts the run as a hard shutdown. */
  hardStop?: AbortSignal;
  /** The invocation, named in the {@link TaskTimeout}. */
  task: { id: string; name: string };
}

/**
 * Call `run` with the run's signal and its deadline (a `performance.now()`
 * time, unset without a timeout, for the task's cooperative checks) and
 * wait for it, but only until the deadline passes or the hard stop aborts:
 * then reject with the signal's reason (a {@link TaskTimeout} on timeout).
 *
 * @example
 * ```ts
 * import { runUnderDeadline } from "./timeout.ts";
 * const value = await runUnderDeadline(() => 42, { timeout: 1, task: { id: "1", name: "answer" } });
 * console.log(value); // 42
 * ```
 */
export async function runUnderDeadline<T>(
  run: (signal: TaskSignal, deadline?: number) => T | Promise<T>,
  deadline: Deadline,
): Promise<T> {
  const { timeout, hardStop } = deadline;
  // Monotonic, like the timer below: a step of the wall clock moves neither.
  const ends = timeout ? performance.now() + timeout * 1000 : undefined;
  // Without a timeout the hard stop is the only thing that aborts the task:
  // no per-task controller (creating and linking signals costs a no-op task
  // about 5% of its throughput).
  const timer = timeout || !hardStop ? new AbortController() : undefined;
  const signal = !timer
    ? hardStop!
    : hardStop
    ? AbortSignal.any([timer.signal, hardStop])
    : timer.signal;
  const handle = timeout
    ? setTimeout(() => {
      timer!.abort(new TaskTimeout(timeout, deadline.task));
    }, timeout * 1000)
    : undefined;
  try {
    // The task gets a signal of its own (made when first read), so listeners
    // it leaves behind do not pile up on the worker's hard-stop signal.
    const running = Promise.resolve(run(timer ? signal : () => AbortSignal.any([signal]), ends));
    if (!timeout && !hardStop) return await running;
    // The function may ignore its signal: stop waiting for it once aborted.
    running.catch(() => {});
    return await new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      running.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  } finally {
    clearTimeout(handle);
  }
}
