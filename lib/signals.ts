/**
 * Signals: names of what happens to a task, and the registry of handlers
 * (huey 2's `huey.signal()`).
 *
 * @module
 */
import type { Task } from "./task.ts";

/** A task is about to run. */
export const SIGNAL_EXECUTING = "executing";
/** A task finished without error. */
export const SIGNAL_COMPLETE = "complete";
/** A task threw; the handler receives the error. */
export const SIGNAL_ERROR = "error";
/** A failed task was put back for another attempt. */
export const SIGNAL_RETRYING = "retrying";
/** A task was skipped because it (or its task) is revoked. */
export const SIGNAL_REVOKED = "revoked";
/** A task was canceled by `CancelExecution` (in a pre-execute hook or the task). */
export const SIGNAL_CANCELED = "canceled";
/** A task was skipped because its `expires` time passed. */
export const SIGNAL_EXPIRED = "expired";
/** A task could not take its lock. */
export const SIGNAL_LOCKED = "locked";
/** A task was added to the schedule to run later. */
export const SIGNAL_SCHEDULED = "scheduled";
/** A running task was stopped by a hard shutdown. */
export const SIGNAL_INTERRUPTED = "interrupted";
/** A task was put in the queue. */
export const SIGNAL_ENQUEUED = "enqueued";
/**
 * A task ran past its `timeout` (or its `ctx.checkTimeout()` found it had);
 * sent instead of `error`, with the `TaskTimeout`; `retrying` follows if it
 * has retries left.
 */
export const SIGNAL_TIMEOUT = "timeout";
/** A task was stopped by a rate limit (`huey.rateLimit`); the handler receives the error. */
export const SIGNAL_RATE_LIMITED = "rate-limited";

/** Every signal name, in the order huey 3.3 declares them (huey/signals.py). */
export const SIGNALS = [
  SIGNAL_CANCELED,
  SIGNAL_COMPLETE,
  SIGNAL_ERROR,
  SIGNAL_EXECUTING,
  SIGNAL_EXPIRED,
  SIGNAL_LOCKED,
  SIGNAL_RETRYING,
  SIGNAL_REVOKED,
  SIGNAL_SCHEDULED,
  SIGNAL_INTERRUPTED,
  SIGNAL_ENQUEUED,
  SIGNAL_TIMEOUT,
  SIGNAL_RATE_LIMITED,
] as const;

/** The name of a signal. */
export type SignalName = typeof SIGNALS[number];

/**
 * Called when a signal is sent. `error` is set for `error`, `timeout` and
 * `rate-limited` (and `locked`, `canceled` when an error caused them).
 * Handlers run one after another, in the order they were connected; keep
 * them fast.
 */
export type SignalHandler = (
  signal: SignalName,
  task: Task,
  error?: unknown,
) => void | Promise<void>;

/**
 * The handlers connected to each signal.
 *
 * @example
 * ```ts
 * import { Signals, SIGNAL_ERROR } from "./signals.ts";
 * const signals = new Signals();
 * signals.connect((name, task, error) => console.log(name, task.id, error), [SIGNAL_ERROR]);
 * ```
 */
export class Signals {
  #all: SignalHandler[] = [];
  #byName = new Map<SignalName, SignalHandler[]>();

  /** Connect `handler` to `names`, or to every signal when `names` is empty. */
  connect(handler: SignalHandler, names: readonly SignalName[] = []): void {
    for (const name of names) {
      if (!(SIGNALS as readonly string[]).includes(name)) {
        throw new TypeError(`Cannot connect signal handler: unknown signal: ${String(name)}`);
      }
    }
    if (names.length === 0) this.#all.push(handler);
    for (const name of names) {
      const list = this.#byName.get(name) ?? [];
      list.push(handler);
      this.#byName.set(name, list);
    }
  }

  /** Disconnect `handler` from `names`, or from everything when `names` is empty. */
  disconnect(handler: SignalHandler, names: readonly SignalName[] = []): void {
    const drop = (list: SignalHandler[]) => list.filter((h) => h !== handler);
    if (names.length === 0) {
      this.#all = drop(this.#all);
      for (const [name, list] of this.#byName) this.#byName.set(name, drop(list));
      return;
    }
    for (const name of names) this.#byName.set(name, drop(this.#byName.get(name) ?? []));
  }

  /** True when at least one handler would receive `name`. */
  has(name: SignalName): boolean {
    return this.#all.length > 0 || (this.#byName.get(name)?.length ?? 0) > 0;
  }

  /**
   * Call the handlers of `name` in order. A handler that throws is reported
   * to `onHandlerError` and does not stop the others.
   */
  async send(
    name: SignalName,
    task: Task,
    error: unknown,
    onHandlerError: (error: unknown) => void,
  ): Promise<void> {
    const specific = this.#byName.get(name);
    for (const handler of specific ? [...this.#all, ...specific] : this.#all) {
      try {
        await handler(name, task, error);
      } catch (err) {
        onHandlerError(err);
      }
    }
  }
}
