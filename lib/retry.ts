/**
 * Retry backoff: how long a failed task waits before it runs again. The
 * first retry waits `retryDelay`; each later one that much times
 * `retryBackoff` (huey 3.3's `retry_backoff`), never more than
 * `retryMaxDelay`, and each wait is cut by up to `retryJitter` of it at
 * random.
 *
 * @module
 */
import { TASK_LIMITS } from "./task.ts";
import type { Task } from "./task.ts";

/**
 * When `task`, which just failed at `now` (ms since the epoch), runs again:
 * `undefined` for at once (no delay), else a time. Advances the backoff: the
 * task's `retryDelay` becomes the wait after this one, so the grown delay is
 * written with the retry and read back by the consumer that runs it, as in
 * huey. The wait is capped by `retryMaxDelay`, and the grown delay by it or
 * by the longest delay a message may carry (`TASK_LIMITS.seconds`), so a
 * long backoff never makes a retry that cannot be written. Jitter only cuts
 * the wait (a wait of `d` falls in `[d * (1 - retryJitter), d]`): the cap
 * holds, and the nominal delay is not changed by it. `random` gives numbers
 * in [0, 1), as `Math.random` does.
 *
 * @example retryDelay 2, retryBackoff 2
 * ```ts
 * import { nextRetry } from "./retry.ts";
 * import { Task } from "./task.ts";
 * const task = new Task({ id: "1", name: "t", args: [], retries: 3, retryDelay: 2, retryBackoff: 2, priority: 0 });
 * const eta = nextRetry(task, 0);
 * console.log(eta?.getTime(), task.retryDelay); // 2000 4
 * ```
 */
export function nextRetry(
  task: Task,
  now: number,
  random: () => number = Math.random,
): Date | undefined {
  const cap = Math.min(task.retryMaxDelay ?? Infinity, TASK_LIMITS.seconds);
  const delay = Math.min(task.retryDelay, cap);
  const backoff = task.retryBackoff ?? 1;
  if (backoff !== 1) task.retryDelay = Math.min(delay * backoff, cap);
  if (!delay) return undefined;
  const wait = task.retryJitter ? delay * (1 - task.retryJitter * random()) : delay;
  return new Date(now + wait * 1000);
}
