/**
 * The executor: the one place that orders a task's run. Immediate mode,
 * `huey.executeNext()` and every consumer worker type go through it:
 *
 * schedule it if early → skip it if expired or revoked → pre-execute hooks
 * → run under its timeout → store the result (and acknowledge the message)
 * → post-execute hooks → next task of the pipeline, or error handler →
 * chord count-down → retry.
 *
 * @module
 */
import { describeError } from "./_util.ts";
import { settleChordMember, settledMember } from "./chord.ts";
import type { ChordHost } from "./chord.ts";
import { runInTaskContext, taskContext } from "./context.ts";
import { CancelExecution, SerializationError, TaskError } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
import type { Cancellations } from "./cancel.ts";
import type { DeadLetters } from "./dead_letters.ts";
import type { EventFeed } from "./events.ts";
import type { Hooks } from "./hooks.ts";
import type { Logger } from "./logger.ts";
import type { MessageCodec } from "./message.ts";
import type { Registry, TaskDefinition } from "./registry.ts";
import type { StoredResult } from "./result.ts";
import { REVOCATIONS_MARKER } from "./revocation.ts";
import type { Revocations } from "./revocation.ts";
import { classifyFailure } from "./failure.ts";
import { nextRetry } from "./retry.ts";
import {
  SIGNAL_CANCELED,
  SIGNAL_COMPLETE,
  SIGNAL_EXECUTING,
  SIGNAL_EXPIRED,
  SIGNAL_INTERRUPTED,
  SIGNAL_RETRYING,
  SIGNAL_REVOKED,
  SIGNAL_SCHEDULED,
} from "./signals.ts";
import type { Delivery, Storage } from "./storage/types.ts";
import type { Task } from "./task.ts";
import { reportStale } from "./stale.ts";
import { stateOf } from "./status.ts";
import type { StatusBook } from "./status.ts";
import { runUnderDeadline } from "./timeout.ts";
import { traced } from "./tracing.ts";
import type { Uniqueness } from "./unique.ts";

/** How one execution ended. */
export type ExecutionStatus =
  | "complete"
  | "error"
  | "timeout"
  | "scheduled"
  | "expired"
  | "revoked"
  | "canceled"
  | "locked"
  | "rate-limited"
  | "interrupted"
  | "invalid";

/** What an execution did with a task (see `Huey.executeNext`). */
export interface ExecutionOutcome {
  /** How the execution ended. */
  status: ExecutionStatus;
  /** The task, when the message could be decoded. */
  task?: Task;
  /** The return value, for `complete`. */
  value?: unknown;
  /**
   * The error, for `error`, `timeout`, `locked`, `rate-limited`, `canceled`,
   * `interrupted` and `invalid`.
   */
  error?: unknown;
  /** True when the task was put back for another attempt. */
  retrying?: boolean;
  /** Seconds the task function ran. */
  duration?: number;
  /**
   * Set when the execution acknowledged the message itself (with its
   * result): what `ack` returned. False: the run was stale (its lease had
   * run out and the message was delivered again), so its result and
   * follow-ups were dropped and logged. Unset: the caller still has to
   * acknowledge.
   */
  acknowledged?: boolean;
}

/** Options of an execution (`Huey.executeNext`, the consumer's workers). */
export interface ExecuteOptions {
  /** The time of execution, ms since the epoch. @default the Huey's clock */
  now?: number;
  /** Aborts the task as a hard shutdown (the run ends as `interrupted`). */
  signal?: AbortSignal;
  /** Told when the task function is about to be called (health checks use it). */
  onStart?: (task: { id: string; name: string; timeout?: number; started: number }) => void;
  /** The id of the consumer running it, for its status record. */
  consumer?: string;
}

/** What the executor knows of a delivered message, beyond {@link ExecuteOptions}. */
interface RunOptions extends ExecuteOptions {
  /**
   * The message being executed, under its lease. Its outcome is stored only
   * while the lease holds: when the result is all that is left to store, it
   * is stored and the message acknowledged in one fenced storage operation
   * (see `ExecutionOutcome.acknowledged`).
   */
  delivery?: Delivery;
  /** The storage said, when the message was taken, that nothing is revoked. */
  nothingRevoked?: boolean;
}

/** What the {@link Executor} needs from its Huey. */
export interface ExecutorHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** Where execution is logged (the consumer replaces it). */
  readonly logger: Logger;
  /** Store return values. */
  readonly results: boolean;
  /** Store `undefined` return values too. */
  readonly storeNone: boolean;
  /**
   * Store the error of an attempt that will be retried, and run the task's
   * error handler for it (huey's `store_intermediate_errors`); when false,
   * only the last attempt's error is stored and handled.
   */
  readonly storeIntermediateErrors: boolean;
  /** Seconds a dequeued message stays leased. */
  readonly leaseTimeout: number;
  /** Deliveries a message may have before it is set aside in the error store. */
  readonly maxDeliveries: number;
  /** The module the consumer loaded the app from, for `UnknownTaskError`. */
  readonly appModule?: string;
  /** The current time, ms since the epoch. */
  now(): number;
  /** What is stored (and given to the error handler) when `task` fails with `error`. */
  buildErrorResult(task: Task, error: unknown): TaskErrorInfo;
}

/** Puts a task where it goes: the queue, the schedule, or (immediate mode) a run now. */
export type PutTask = (task: Task, now?: number) => Promise<void>;

/** The rooms an {@link Executor} works with. */
export interface ExecutorRooms {
  /** The declared tasks. */
  readonly registry: Registry;
  /** Message strings to tasks and back. */
  readonly codec: MessageCodec;
  /** Revocation checks. */
  readonly revocations: Revocations;
  /** Pre/post-execute and lifecycle hooks. */
  readonly hooks: Hooks;
  /** Signals and events. */
  readonly events: EventFeed;
  /** The markers of unique tasks, freed when a task is done for good. */
  readonly unique: Uniqueness;
  /** What settling a chord member works with (see chord.ts). */
  readonly chords: ChordHost;
  /** Where messages that will not run, and tasks that failed for good, are kept. */
  readonly deadLetters: DeadLetters;
  /** Cancellations (`huey.cancel()`). */
  readonly cancellations: Cancellations;
  /** Task status records and progress. */
  readonly status: StatusBook;
}

/**
 * What is stored when `task` fails with `error` (the default of
 * `Huey.buildErrorResult`): the error's name, message and stack, the task's
 * id and name, and its retries left. A `TaskError` the task let through
 * (it read another task's failed result) is stored as that task's error,
 * as huey does, so the original name and message reach the caller; the
 * stack stays this task's, where it was rethrown.
 *
 * @example
 * ```ts
 * import { errorResult } from "./executor.ts";
 * import { Task } from "./task.ts";
 * const task = new Task({ id: "1", name: "t", args: [], retries: 0, retryDelay: 0, priority: 0 });
 * console.log(errorResult(task, new RangeError("no")).name); // "RangeError"
 * ```
 */
export function errorResult(task: Task, error: unknown): TaskErrorInfo {
  const err = error instanceof Error ? error : undefined;
  const nested = error instanceof TaskError ? error : undefined;
  return {
    name: nested?.remoteName ?? err?.name ?? "Error",
    message: nested?.remoteMessage ?? (err ? err.message : String(error)),
    stack: err?.stack,
    taskId: task.id,
    taskName: task.name,
    retries: task.retries,
  };
}

/** The outcomes that, with no retry left, make a task a dead letter (a cancellation does not). */
const FAILED: ReadonlySet<ExecutionStatus> = new Set([
  "error",
  "timeout",
  "locked",
  "rate-limited",
]);

/** How a task's result is written: as a result, which an expiring storage lets expire. */
const RESULT = { result: true } as const;

/** What a parent's return value adds in front of the next task's arguments. */
function piped(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Runs a Huey's tasks. The consumer holds it (`huey.executor`): it takes
 * messages, executes them, moves due scheduled tasks to the queue and
 * lists due periodic tasks; tests drive it through `huey.executeNext()`,
 * `huey.readSchedule()` and `huey.readPeriodic()`.
 *
 * @example Take one message and run it
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * await add(1, 2);
 * const delivery = await huey.executor.dequeue();
 * if (delivery) console.log((await huey.executor.executeDelivery(delivery)).status); // "complete"
 * ```
 */
export class Executor {
  /** The declared tasks. */
  readonly registry: Registry;
  /** Message strings to tasks and back. */
  readonly codec: MessageCodec;
  /** Pre/post-execute and lifecycle hooks (the consumer runs the lifecycle ones). */
  readonly hooks: Hooks;
  /** Signals and events (the consumer publishes its own events here). */
  readonly events: EventFeed;
  /** Cancellations: the worker loops register running tasks here. */
  readonly cancellations: Cancellations;
  readonly #revocations: Revocations;
  readonly #unique: Uniqueness;
  readonly #host: ExecutorHost;
  readonly #put: PutTask;
  readonly #chords: ChordHost;
  readonly #deadLetters: DeadLetters;
  readonly #status: StatusBook;

  /** `put` is the Huey's: it decides where retries and a pipeline's next tasks go. */
  constructor(host: ExecutorHost, rooms: ExecutorRooms, put: PutTask) {
    this.#host = host;
    this.#put = put;
    this.registry = rooms.registry;
    this.codec = rooms.codec;
    this.#revocations = rooms.revocations;
    this.#unique = rooms.unique;
    this.hooks = rooms.hooks;
    this.events = rooms.events;
    this.#chords = rooms.chords;
    this.#deadLetters = rooms.deadLetters;
    this.cancellations = rooms.cancellations;
    this.#status = rooms.status;
  }

  /** The storage in use. */
  get storage(): Storage {
    return this.#host.storage;
  }

  /** Where execution is logged. */
  get logger(): Logger {
    return this.#host.logger;
  }

  /** Seconds a dequeued message stays leased. */
  get leaseTimeout(): number {
    return this.#host.leaseTimeout;
  }

  /** The current time, ms since the epoch, from the Huey's clock. */
  now(): number {
    return this.#host.now();
  }

  /**
   * Take the next message from the queue under a lease of `leaseTimeout`
   * seconds, or `undefined` when it is empty (after waiting up to `wait`
   * seconds on blocking storages). The same storage operation reads whether
   * anything is revoked, for {@link executeDelivery}.
   */
  dequeue(
    options: { now?: number; wait?: number; signal?: AbortSignal } = {},
  ): Promise<Delivery | undefined> {
    return this.storage.dequeue({
      now: options.now ?? this.now(),
      leaseSeconds: this.leaseTimeout,
      wait: options.wait,
      signal: options.signal,
      peekKey: REVOCATIONS_MARKER,
    });
  }

  /**
   * Execute a message taken with {@link dequeue}: its result is stored and
   * the message acknowledged in one storage operation where the storage
   * can (see `ExecutionOutcome.acknowledged`; otherwise the caller acks).
   * A message delivered more than `maxDeliveries` times, or one the storage
   * could not hand out as text (`Delivery.undecodable`), is not run: it goes
   * to the error store with the reason and ends as `invalid`.
   */
  async executeDelivery(
    delivery: Delivery,
    options: ExecuteOptions = {},
  ): Promise<ExecutionOutcome> {
    const refused = await this.#deadLetters.refuse(delivery, options.now ?? this.now());
    if (refused) return { status: "invalid", error: refused };
    return await this.#executeMessage(delivery.data, {
      ...options,
      delivery,
      nothingRevoked: delivery.peeked === null,
    });
  }

  /**
   * Decode a message and execute it. A message that cannot be decoded, or
   * names a task this process has not declared, goes to the error store and
   * ends as `invalid`.
   */
  executeMessage(data: string, options: ExecuteOptions = {}): Promise<ExecutionOutcome> {
    return this.#executeMessage(data, options);
  }

  async #executeMessage(data: string, options: RunOptions): Promise<ExecutionOutcome> {
    let task: Task;
    try {
      task = this.codec.decode(data);
      if (!this.registry.get(task.name)) throw this.#deadLetters.unknown(task.name);
    } catch (error) {
      await this.#deadLetters.setAside(data, error, options.now ?? this.now());
      return { status: "invalid", error };
    }
    return await this.#execute(task, options);
  }

  /**
   * Take the next message from the queue and execute it, then acknowledge
   * it; `undefined` when the queue is empty.
   */
  async executeNext(options: ExecuteOptions = {}): Promise<ExecutionOutcome | undefined> {
    const now = options.now ?? this.now();
    const delivery = await this.dequeue({ now });
    if (!delivery) return undefined;
    const outcome = await this.executeDelivery(delivery, { ...options, now });
    if (outcome.status !== "interrupted" && outcome.acknowledged === undefined) {
      await this.storage.ack(delivery.receipt);
    }
    return outcome;
  }

  /**
   * Move every scheduled task due at `now` into the queue (re-resolving
   * relative expiry times); returns them. Undecodable ones go to the error store.
   */
  async readSchedule(now: number = this.now()): Promise<Task[]> {
    const due: Task[] = [];
    for (const data of await this.storage.readSchedule(now)) {
      let task: Task;
      try {
        task = this.codec.decode(data);
      } catch (error) {
        await this.#deadLetters.setAside(data, error, now);
        continue;
      }
      await this.#put(task, now);
      due.push(task);
    }
    return due;
  }

  /** The periodic tasks whose schedule matches `date` (to the minute), as new invocations. */
  readPeriodic(date: Date, utc: boolean): Task[] {
    const now = this.now();
    const failed = (task: string, error: unknown) =>
      this.logger.error(
        `The schedule of periodic task ${task} failed; it is skipped this minute`,
        error,
      );
    return this.registry.due(date, utc, failed).map((definition) =>
      this.registry.newTask(definition, [], {}, now)
    );
  }

  /**
   * Execute one task: schedule it if it is early, skip it if expired or
   * revoked, otherwise run it. This is the only place tasks run.
   */
  execute(task: Task, options: ExecuteOptions = {}): Promise<ExecutionOutcome> {
    return this.#execute(task, options);
  }

  async #execute(task: Task, options: RunOptions): Promise<ExecutionOutcome> {
    const now = options.now ?? this.now();
    const { events, logger } = this;
    if (task.eta && task.eta.getTime() > now) {
      await this.storage.addToSchedule(this.codec.encode(task), task.eta.getTime());
      await events.emit(SIGNAL_SCHEDULED, task);
      return { status: "scheduled", task };
    }
    if (task.expiresAt && task.expiresAt.getTime() < now) {
      logger.info(`${task} expired, not run`);
      await this.#unique.release(task);
      await events.emit(SIGNAL_EXPIRED, task);
      await this.#status.finished(task, "expired");
      await this.#settleSkipped(task, options);
      return { status: "expired", task };
    }
    const revoked = !options.nothingRevoked && await this.#revocations.consume(task, now);
    if (revoked === "cancelled") {
      await this.cancellations.ended(task, false);
      await this.#settleSkipped(task, options);
      return { status: "canceled", task };
    }
    if (revoked) {
      logger.info(`${task} revoked, not run`);
      await this.#unique.release(task);
      await events.emit(SIGNAL_REVOKED, task);
      await this.#status.finished(task, "revoked");
      await this.#settleSkipped(task, options);
      return { status: "revoked", task };
    }
    const definition = this.registry.get(task.name);
    if (!definition) {
      const error = this.#deadLetters.unknown(task.name);
      await this.#deadLetters.setAside(this.codec.encode(task), error, this.now());
      return { status: "invalid", task, error };
    }
    const cancellation = await this.hooks.runPreExecute(task);
    if (cancellation) {
      logger.info(`${task} canceled by pre-execute hook ${cancellation.hook}`);
      await this.#unique.release(task);
      await events.emit(SIGNAL_CANCELED, task);
      await this.#status.finished(task, "cancelled");
      await this.#settleSkipped(task, options);
      return { status: "canceled", task, error: cancellation.error };
    }
    return await this.#run(definition, task, options);
  }

  async #run(
    definition: TaskDefinition,
    task: Task,
    options: RunOptions,
  ): Promise<ExecutionOutcome> {
    const hardStop = options.signal;
    const { events, logger } = this;
    const keep = this.#host.results && !task.periodic;
    let status: ExecutionStatus = "complete";
    let value: unknown;
    let error: unknown;
    let retryEta: Date | undefined;
    let stored: string | undefined;
    const start = performance.now();
    // A timeout of 0 is none: health checks must not take the run for hung.
    const timeout = task.timeout || undefined;
    const started = this.now();
    options.onStart?.({ id: task.id, name: task.name, timeout, started });
    const running = this.#status.started(task, options.consumer, started);
    if (running) await running;
    const executing = events.emit(SIGNAL_EXECUTING, task);
    if (executing) await executing;
    logger.info(`Executing ${task}`);
    try {
      value = await this.#call(definition, task, hardStop);
      if (keep && (value !== undefined || this.#host.storeNone)) {
        stored = this.#encodeResult(task, { value });
      }
    } catch (err) {
      error = err;
      // A cancel aborts the same signal, with a CancelExecution: classified below.
      if (hardStop?.aborted && err === hardStop.reason && !(err instanceof CancelExecution)) {
        logger.warn(`${task} interrupted by shutdown, not finished`);
        void this.#status.settle(task);
        await events.emit(SIGNAL_INTERRUPTED, task);
        return { status: "interrupted", task, error, duration: (performance.now() - start) / 1000 };
      }
      ({ status, retryEta } = await classifyFailure(task, err, this));
    }
    // Progress the run reported last is stored before its result shows.
    const settling = this.#status.settle(task);
    if (settling) await settling;
    const duration = (performance.now() - start) / 1000;
    if (status === "complete") logger.info(`${task} executed in ${duration.toFixed(3)}s`);
    let retrying = status !== "complete" && task.retries > 0;
    // A failed attempt's error is stored and handled on every attempt, or
    // with storeIntermediateErrors false only once no retry is left, so a
    // blocking get() waits for the final outcome.
    const surfaced = status !== "complete" && (this.#host.storeIntermediateErrors || !retrying);
    const failure = surfaced && (keep || task.onError) ? this.#errorResult(task, error) : undefined;
    if (keep && failure) stored = failure.stored;
    // The next task of the pipeline, or the error handler of this attempt.
    const next = status === "complete" ? task.onComplete : failure ? task.onError : undefined;
    // Done for good: a unique task frees its id before its outcome shows, so
    // whoever sees the result can schedule the next one at once.
    if (!retrying) await this.#unique.release(task);
    // The chord member this run settles for good, if any.
    const member = retrying ? undefined : settledMember(task, status === "complete" && !!next);
    const followUps = retrying || !!next || !!member;
    const acknowledged = await this.#store(task, stored, options.delivery, followUps);
    if (!retrying && acknowledged !== false && FAILED.has(status)) {
      await this.#deadLetters.failed(task, error, definition.options.retries ?? 0);
    }
    await this.hooks.runPostExecute(task, value, error);

    if (status === "complete") {
      const complete = events.emit(SIGNAL_COMPLETE, task);
      if (complete) await complete;
    }
    // A stale run's follow-ups are dropped: the run that replaced it enqueues its own.
    if (acknowledged === false) retrying = false;
    else if (next) {
      // A copy: a retried task carries the same handler to its next attempt,
      // which must get only its own error in front (huey 3.2's fix).
      const front = failure ? [failure.info] : piped(value);
      await this.#put(next.copy({ args: [...front, ...next.args] }));
    }
    if (member && acknowledged !== false) {
      const outcome = status === "complete"
        ? { value }
        : { error: (failure ?? this.#errorResult(task, error)).info };
      await settleChordMember(this.#chords, member, outcome);
    }
    if (retrying) await this.#retry(task, retryEta);
    if (acknowledged !== false) {
      const info = status === "complete"
        ? undefined
        : (failure ?? this.#errorResult(task, error)).info;
      const state = stateOf(status, retrying);
      const recorded = this.#status.finished(task, state, info, options.consumer, started);
      if (recorded) await recorded;
    }
    return { status, task, value, error, retrying, duration, acknowledged };
  }

  /** Call the task function with its context, under its timeout and the hard-stop signal. */
  #call(definition: TaskDefinition, task: Task, hardStop?: AbortSignal): Promise<unknown> {
    const fn = definition.fn as (...args: unknown[]) => unknown;
    const withContext = definition.options.context === true;
    const report = this.#status.reporter(task, (event) => this.events.publish(event));
    return runUnderDeadline((signal, deadline) => {
      const context = taskContext(task, signal, deadline, report);
      const args = withContext ? [...task.args, context] : task.args;
      return runInTaskContext(context, () => traced(task, () => fn(...args)));
    }, { timeout: task.timeout, hardStop, task });
  }

  /**
   * Store the run's result, if any, but only while the run still holds its
   * message's lease: a run whose lease ran out (its message was delivered
   * again, and may have finished already) must not overwrite the result of
   * the run that replaced it. Returns what the acknowledgement said when the
   * message was acknowledged here, false for a stale run (logged; the caller
   * drops its follow-ups), undefined when the caller acknowledges.
   *
   * - Nothing follows (`followUps` false): store and acknowledge in one
   *   fenced operation (`putDataAndAck`), or just acknowledge when there is
   *   no result. No extra round trip.
   * - A retry, a pipeline's next task, an error handler or a chord's
   *   count-down follows: doing it and acknowledging cannot be one
   *   operation, so first renew the lease (one more round trip, on these
   *   outcomes only). A stale run learns here
   *   that it is stale and stores and enqueues nothing; a current one has a
   *   fresh lease for the few steps left (hooks, enqueue, acknowledge).
   */
  async #store(
    task: Task,
    stored: string | undefined,
    delivery: Delivery | undefined,
    followUps: boolean,
  ): Promise<boolean | undefined> {
    const storage = this.storage;
    if (!delivery) {
      if (stored !== undefined) await storage.putData(task.id, stored, RESULT);
      return undefined;
    }
    const { receipt } = delivery;
    if (followUps) {
      if (!(await storage.extendLease(receipt, this.now(), this.leaseTimeout))) {
        await reportStale(
          this.storage,
          this.logger,
          task,
          delivery,
          "its result and follow-up tasks are dropped",
        );
        return false;
      }
      if (stored !== undefined) await storage.putData(task.id, stored, RESULT);
      return undefined;
    }
    if (stored === undefined) {
      if (await storage.ack(receipt)) return true;
      await reportStale(this.storage, this.logger, task, delivery, "it had no result to store");
      return false;
    }
    if (!storage.putDataAndAck) {
      // A storage without the fenced operation: store, and let the caller acknowledge.
      await storage.putData(task.id, stored, RESULT);
      return undefined;
    }
    if (await storage.putDataAndAck(task.id, stored, receipt)) return true;
    await reportStale(
      this.storage,
      this.logger,
      task,
      delivery,
      "its result is dropped, not stored",
    );
    return false;
  }

  /**
   * A skipped task (expired, revoked, cancelled before it ran) that ends a
   * chord member contributes `undefined`, while its run holds the lease.
   */
  async #settleSkipped(task: Task, options: RunOptions): Promise<void> {
    const member = settledMember(task, false);
    if (member && (await this.#store(task, undefined, options.delivery, true)) !== false) {
      await settleChordMember(this.#chords, member, { value: undefined });
    }
  }

  /**
   * Put `task` back for another attempt: at `eta` when the run asked for one
   * (`RetryTask` with a delay or eta: the backoff neither applies nor
   * advances), else after its retry delay (see {@link nextRetry}).
   */
  async #retry(task: Task, eta?: Date): Promise<void> {
    task.retries -= 1;
    const now = this.now();
    task.eta = eta ?? nextRetry(task, now);
    this.logger.info(`Retrying ${task}, ${task.retries} retries left`);
    await this.events.emit(SIGNAL_RETRYING, task);
    await this.#put(task, now);
  }

  /**
   * The Huey's `buildErrorResult()` for `task` failing with `error`, and its
   * stored form. An override that throws, or returns what cannot be
   * serialized, is logged and the default stored instead: a failing hook
   * must not keep the task's outcome from being stored.
   */
  #errorResult(task: Task, error: unknown): { info: TaskErrorInfo; stored: string } {
    try {
      const info = this.#host.buildErrorResult(task, error);
      return { info, stored: this.#encodeResult(task, { error: info }) };
    } catch (err) {
      this.logger.error(`Cannot build the error result of ${task}: ${describeError(err)}`);
      const info = errorResult(task, error);
      return { info, stored: this.#encodeResult(task, { error: info }) };
    }
  }

  #encodeResult(task: Task, result: StoredResult): string {
    try {
      return this.codec.serializer.encode(result);
    } catch (err) {
      throw new SerializationError(
        `Cannot store result of task ${task.name} (${task.id}): ${(err as Error).message}`,
        { taskName: task.name, path: (err as SerializationError).path },
        { cause: err },
      );
    }
  }
}
