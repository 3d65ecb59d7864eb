/**
 * What a failed run's error means (the executor's classification step):
 * a timeout, a held lock, a rate limit, a retry request, a cancellation or
 * a plain error, each with its log line, its signal and its retry rule.
 *
 * @module
 */
import {
  CancelExecution,
  RateLimitExceeded,
  RetryTask,
  TaskLockedError,
  TaskTimeout,
} from "./errors.ts";
import type { EventFeed } from "./events.ts";
import type { Logger } from "./logger.ts";
import {
  SIGNAL_CANCELED,
  SIGNAL_ERROR,
  SIGNAL_LOCKED,
  SIGNAL_RATE_LIMITED,
  SIGNAL_TIMEOUT,
} from "./signals.ts";
import type { Task } from "./task.ts";

/** How a failed run ended (a subset of the executor's `ExecutionStatus`). */
export type FailureStatus = "timeout" | "locked" | "rate-limited" | "error" | "canceled";

/** What {@link classifyFailure} logs, signals and reads the time through. */
export interface FailureHost {
  /** Signals and events. */
  readonly events: EventFeed;
  /** Where the failure is logged. */
  readonly logger: Logger;
  /** The current time, ms since the epoch. */
  now(): number;
}

/**
 * What a failed run's error means: a timeout, a held lock, a rate limit,
 * a retry request, a cancellation or a plain error; logs it, fires its
 * signal, and adjusts the retries left.
 *
 * @example
 * ```ts
 * import { classifyFailure } from "./failure.ts";
 * import { MemoryHuey } from "../mod.ts";
 * import { Task } from "./task.ts";
 * const huey = new MemoryHuey();
 * const task = new Task({ id: "1", name: "t", args: [], retries: 0, retryDelay: 0, priority: 0 });
 * const { events, logger } = huey.executor;
 * const outcome = await classifyFailure(task, new Error("no"), { events, logger, now: Date.now });
 * console.log(outcome.status); // "error"
 * ```
 */
export async function classifyFailure(
  task: Task,
  err: unknown,
  host: FailureHost,
): Promise<{ status: FailureStatus; retryEta?: Date }> {
  const { events, logger } = host;
  if (err instanceof TaskTimeout) {
    // huey's order: `timeout` instead of `error`, then `retrying` if it can be.
    logger.warn(`${task} timed out after ${err.timeout}s`);
    await events.emit(SIGNAL_TIMEOUT, task, err);
    return { status: "timeout" };
  }
  if (err instanceof TaskLockedError) {
    logger.warn(`${task} not run: lock ${err.lockName} is held`);
    await events.emit(SIGNAL_LOCKED, task, err);
    return { status: "locked" };
  }
  if (err instanceof RateLimitExceeded) {
    logger.warn(`${task} not run: ${err.message}`);
    await events.emit(SIGNAL_RATE_LIMITED, task, err);
    // huey's rules: `retry` keeps the retries; at the window reset unless
    // the task has a retryDelay; an explicit time, so no backoff advances.
    if (err.retry) task.retries += 1;
    const wait = task.retryDelay || err.delay;
    return { status: "rate-limited", retryEta: new Date(host.now() + wait * 1000) };
  }
  if (err instanceof RetryTask) {
    task.retries += 1;
    logger.info(`${task} raised RetryTask, retrying`);
    const retryEta = err.eta ??
      (err.delay !== undefined ? new Date(host.now() + err.delay * 1000) : undefined);
    return { status: "error", retryEta };
  }
  if (err instanceof CancelExecution) {
    const retry = err.retry || (err.retry === undefined && task.retries > 0);
    task.retries = retry ? Math.max(task.retries, 1) : 0;
    logger.warn(`${task} canceled${task.retries ? " (will be retried)" : ""}`);
    await events.emit(SIGNAL_CANCELED, task, err);
    return { status: "canceled" };
  }
  logger.error(`Unhandled error in ${task}`, err);
  await events.emit(SIGNAL_ERROR, task, err);
  return { status: "error" };
}
