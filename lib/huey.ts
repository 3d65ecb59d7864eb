/**
 * `Huey`: declares tasks, enqueues them, and runs them. `execute()` is the
 * one execution path; immediate mode and the consumer both go through it.
 *
 * @module
 */
import type { PeriodicSchedule } from "./crontab.ts";
import { runInTaskContext } from "./context.ts";
import {
  CancelExecution,
  ConfigurationError,
  RetryTask,
  SerializationError,
  TaskLockedError,
  UnknownTaskError,
} from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { encodeEvent, EventHub } from "./events.ts";
import type { EventStream, HueyEvent, SubscribeOptions } from "./events.ts";
import { TaskLock } from "./lock.ts";
import { createLogger } from "./logger.ts";
import type { Logger } from "./logger.ts";
import { Result, ResultGroup } from "./result.ts";
import type { GetOptions, ResultBackend, StoredResult } from "./result.ts";
import { Serializer } from "./serializer.ts";
import {
  SIGNAL_CANCELED,
  SIGNAL_COMPLETE,
  SIGNAL_ENQUEUED,
  SIGNAL_ERROR,
  SIGNAL_EXECUTING,
  SIGNAL_EXPIRED,
  SIGNAL_INTERRUPTED,
  SIGNAL_LOCKED,
  SIGNAL_RETRYING,
  SIGNAL_REVOKED,
  SIGNAL_SCHEDULED,
  Signals,
} from "./signals.ts";
import type { SignalHandler, SignalName } from "./signals.ts";
import { MemoryStorage } from "./storage/memory.ts";
import type { Delivery, Storage } from "./storage/types.ts";
import { newTaskId, Task } from "./task.ts";
import type {
  AnyTaskWrapper,
  RevokeOptions,
  ScheduleOptions,
  TaskContext,
  TaskOptions,
  TaskWrapper,
} from "./task.ts";

/** Options of {@link Huey}. */
export interface HueyOptions {
  /** Name of the app; storages namespace their keys by it. @default "huey" */
  name?: string;
  /** Where queue, schedule and results live. @default a MemoryStorage */
  storage?: Storage;
  /** Store task return values. @default true */
  results?: boolean;
  /** Store `undefined` return values too (so a blocking get() returns). @default false */
  storeNone?: boolean;
  /** Periodic schedules read the time in UTC. @default true */
  utc?: boolean;
  /** Run tasks at call time instead of queueing them. @default false */
  immediate?: boolean;
  /** In immediate mode, use a private MemoryStorage instead of `storage`. @default true */
  immediateUseMemory?: boolean;
  /** Turns messages and results into strings. @default a JSON Serializer */
  serializer?: Serializer;
  /** gzip payloads above this many bytes (`true`: always). Ignored with `serializer`. @default false */
  compression?: boolean | number;
  /** Sign every message with HMAC-SHA256 and reject unsigned ones. Ignored with `serializer`. */
  signingKey?: string | Uint8Array;
  /** Seconds a dequeued message stays invisible before another consumer may take it. @default 30 */
  leaseTimeout?: number;
  /** Where huey logs. @default warnings and errors to stderr */
  logger?: Logger;
  /** The time, in ms since the epoch; tests pass a fake. @default Date.now */
  clock?: () => number;
  /**
   * Emit events for `huey.events()`: in this process, or through the
   * storage's pub/sub (Redis) to every process. @default true
   */
  events?: boolean;
}

/** How one execution ended. */
export type ExecutionStatus =
  | "complete"
  | "error"
  | "scheduled"
  | "expired"
  | "revoked"
  | "canceled"
  | "locked"
  | "interrupted"
  | "invalid";

/** What {@link Huey.execute} did with a task. */
export interface ExecutionOutcome {
  /** How the execution ended. */
  status: ExecutionStatus;
  /** The task, when the message could be decoded. */
  task?: Task;
  /** The return value, for `complete`. */
  value?: unknown;
  /** The error, for `error`, `locked`, `canceled`, `interrupted` and `invalid`. */
  error?: unknown;
  /** True when the task was put back for another attempt. */
  retrying?: boolean;
  /** Seconds the task function ran. */
  duration?: number;
  /**
   * Set when `execute` acknowledged the message itself (with its result):
   * what `ack` returned. Unset: the caller still has to acknowledge.
   */
  acknowledged?: boolean;
}

/** Options of {@link Huey.execute}. */
export interface ExecuteOptions {
  /** The time of execution, ms since the epoch. @default the Huey's clock */
  now?: number;
  /** Aborts the task as a hard shutdown (the run ends as `interrupted`). */
  signal?: AbortSignal;
  /**
   * The receipt of the message being executed. When the result is all that
   * is left to store, it is stored and the message acknowledged in one
   * storage operation (see `ExecutionOutcome.acknowledged`).
   */
  receipt?: string;
  /** Told when the task function is about to be called (health checks use it). */
  onStart?: (task: { id: string; name: string; timeout?: number; started: number }) => void;
  /**
   * The storage said, when the message was taken, that nothing has been
   * revoked (see {@link Huey.dequeue}): skip reading this task's revocations.
   */
  nothingRevoked?: boolean;
}

/** A pre-execute hook: throw `CancelExecution` to skip the task. */
export type PreExecuteHook = (task: Task) => void | Promise<void>;
/** A post-execute hook: sees the task, its return value and its error. */
export type PostExecuteHook = (task: Task, value: unknown, error: unknown) => void | Promise<void>;
/** A startup or shutdown hook, run once per worker. */
export type LifecycleHook = () => void | Promise<void>;

// deno-lint-ignore no-explicit-any
type AnyFunction = (...args: any[]) => unknown;
/** A task function's parameters without the trailing context. */
type WithoutContext<P extends unknown[]> = P extends [...infer A, TaskContext] ? A : never;

/** A declared task: its function and settings. */
interface TaskDefinition {
  name: string;
  fn: (...args: never[]) => unknown;
  options: TaskOptions;
  schedule?: PeriodicSchedule;
}

interface Revocation {
  until: Date | null;
  once: boolean;
}

/** The message form of a task; see {@link Huey.encodeTask}. */
interface TaskMessage {
  v: 1;
  id: string;
  name: string;
  args: unknown[];
  eta?: Date;
  retries: number;
  retryDelay: number;
  priority: number;
  expires?: number | Date;
  expiresAt?: Date;
  timeout?: number;
  periodic?: true;
  onComplete?: TaskMessage;
  onError?: TaskMessage;
}

/** The result-store key of an instance revocation. */
const revokeKey = (id: string) => `r:${id}`;
/** The result-store key of a whole-task revocation. */
const revokeAllKey = (name: string) => `rt:${name}`;
/**
 * Written by every revocation. A consumer reads it with each message it
 * takes (same storage operation) and skips the revocation reads while it is
 * absent: one round trip less per task on Redis.
 */
const REVOCATIONS_MARKER = "huey:revocations";

function errorInfo(task: Task, error: unknown): TaskErrorInfo {
  const err = error instanceof Error ? error : undefined;
  return {
    name: err?.name ?? "Error",
    message: err ? err.message : String(error),
    stack: err?.stack,
    taskId: task.id,
    taskName: task.name,
    retries: task.retries,
  };
}

function toDate(value: number | Date, now: number): Date {
  return value instanceof Date ? value : new Date(now + value * 1000);
}

function checkSeconds(value: unknown, what: string, allowZero = true): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!allowZero && !value)) {
    throw new RangeError(
      `Cannot use ${what}: expected ${allowZero ? "a number >= 0" : "a number > 0"} of seconds: ${
        String(value)
      }`,
    );
  }
}

function checkTaskOptions(where: string, options: TaskOptions & ScheduleOptions): void {
  const { retries, priority, expires, eta } = options;
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new RangeError(`Cannot use ${where} retries: expected an integer >= 0: ${retries}`);
  }
  if (priority !== undefined && !Number.isFinite(priority)) {
    throw new RangeError(`Cannot use ${where} priority: expected a finite number: ${priority}`);
  }
  checkSeconds(options.retryDelay, `${where} retryDelay`);
  checkSeconds(options.delay, `${where} delay`);
  checkSeconds(options.timeout, `${where} timeout`, false);
  if (expires !== undefined && !(expires instanceof Date)) {
    checkSeconds(expires, `${where} expires`);
  }
  for (const [key, date] of [["eta", eta], ["expires", expires]] as const) {
    if (date instanceof Date && Number.isNaN(date.getTime())) {
      throw new RangeError(`Cannot use ${where} ${key}: the Date is invalid`);
    }
  }
  if (eta !== undefined && !(eta instanceof Date)) {
    throw new TypeError(`Cannot use ${where} eta: expected a Date: ${String(eta)}`);
  }
}

/**
 * A task queue: declare tasks on it, call them to enqueue, and run a
 * consumer (or immediate mode) to execute them.
 *
 * @example
 * ```ts
 * import { Huey, MemoryStorage } from "../mod.ts";
 * const huey = new Huey({ name: "app", storage: new MemoryStorage(), immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const r = await add(1, 2);
 * console.log(await r.get()); // 3
 * ```
 */
export class Huey implements ResultBackend {
  /** The app name. */
  readonly name: string;
  /** Whether return values are stored. */
  readonly results: boolean;
  /** Whether `undefined` return values are stored. */
  readonly storeNone: boolean;
  /** Whether periodic schedules read UTC time. */
  readonly utc: boolean;
  /** Seconds a dequeued message stays leased. */
  readonly leaseTimeout: number;
  /** The serializer of messages and results. */
  readonly serializer: Serializer;
  /** Where huey logs. */
  logger: Logger;
  /** The module the consumer loaded this Huey from; named in `UnknownTaskError`. */
  appModule?: string;

  readonly #storage: Storage;
  #immediateStorage?: MemoryStorage;
  readonly #immediateUseMemory: boolean;
  #immediate = false;
  readonly #clock: () => number;
  readonly #registry = new Map<string, TaskDefinition>();
  readonly #signals = new Signals();
  readonly #events = new EventHub();
  readonly #publishEvents: boolean;
  #lastEventSend?: Promise<void>;
  readonly #locks = new Set<string>();
  readonly #preExecute = new Map<string, PreExecuteHook>();
  readonly #postExecute = new Map<string, PostExecuteHook>();
  readonly #onStartup = new Map<string, LifecycleHook>();
  readonly #onShutdown = new Map<string, LifecycleHook>();

  constructor(options: HueyOptions = {}) {
    this.name = options.name ?? "huey";
    this.results = options.results ?? true;
    this.storeNone = options.storeNone ?? false;
    this.utc = options.utc ?? true;
    checkSeconds(options.leaseTimeout, "leaseTimeout", false);
    this.leaseTimeout = options.leaseTimeout ?? 30;
    this.serializer = options.serializer ??
      new Serializer({ compression: options.compression, signingKey: options.signingKey });
    this.logger = options.logger ?? createLogger({ level: "warn" });
    this.#clock = options.clock ?? Date.now;
    this.#publishEvents = options.events ?? true;
    this.#storage = options.storage ?? new MemoryStorage({ name: this.name });
    this.#immediateUseMemory = options.immediateUseMemory ?? true;
    this.immediate = options.immediate ?? false;
  }

  /** The storage in use: the private memory storage while in immediate mode (unless `immediateUseMemory: false`). */
  get storage(): Storage {
    return this.#immediateStorage ?? this.#storage;
  }

  /**
   * Immediate mode: tasks run when called, on in-memory storage unless
   * `immediateUseMemory: false`. Scheduled tasks go to the schedule and do
   * not run.
   */
  get immediate(): boolean {
    return this.#immediate;
  }

  set immediate(value: boolean) {
    this.#immediate = value;
    if (value && this.#immediateUseMemory) {
      this.#immediateStorage ??= new MemoryStorage({ name: this.name });
    } else {
      this.#immediateStorage = undefined;
    }
  }

  /** The current time in ms since the epoch, from the injected clock. */
  now(): number {
    return this.#clock();
  }

  // -- declaring tasks -------------------------------------------------------

  /**
   * Declare a task. Calling the returned wrapper enqueues the function call;
   * the consumer (or immediate mode) runs it.
   *
   * @example
   * ```ts
   * import { MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey({ immediate: true });
   * const add = huey.task("add", (a: number, b: number) => a + b, { retries: 2 });
   * console.log(await (await add(1, 2)).get()); // 3
   * ```
   */
  task<F extends AnyFunction>(
    name: string,
    fn: F,
    options?: TaskOptions & { context?: false },
  ): TaskWrapper<Parameters<F>, Awaited<ReturnType<F>>>;
  task<F extends AnyFunction>(
    name: string,
    fn: F,
    options: TaskOptions & { context: true },
  ): TaskWrapper<WithoutContext<Parameters<F>>, Awaited<ReturnType<F>>>;
  task(
    name: string,
    fn: AnyFunction,
    options: TaskOptions = {},
  ): unknown {
    return this.#declare({ name, fn, options });
  }

  /**
   * Declare a task that the consumer enqueues whenever `schedule` matches the
   * current minute. It takes no arguments and its return value is not stored.
   *
   * @example
   * ```ts
   * import { crontab, MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey();
   * huey.periodicTask("report", crontab({ minute: "*\/3" }), () => console.log("every 3 minutes"));
   * ```
   */
  periodicTask<R>(
    name: string,
    schedule: PeriodicSchedule,
    fn: () => R,
    options?: TaskOptions & { context?: false },
  ): TaskWrapper<[], Awaited<R>>;
  periodicTask<R>(
    name: string,
    schedule: PeriodicSchedule,
    fn: (context: TaskContext) => R,
    options: TaskOptions & { context: true },
  ): TaskWrapper<[], Awaited<R>>;
  periodicTask(
    name: string,
    schedule: PeriodicSchedule,
    fn: (...args: never[]) => unknown,
    options: TaskOptions = {},
  ): TaskWrapper<[], unknown> {
    if (typeof schedule !== "function") {
      throw new ConfigurationError(
        `Cannot declare periodic task ${name}: schedule must be a function such as crontab(): ${
          String(schedule)
        }`,
      );
    }
    return this.#declare({ name, fn, options, schedule }) as TaskWrapper<[], unknown>;
  }

  #declare(definition: TaskDefinition): TaskWrapper<unknown[], unknown> {
    const { name, fn, options } = definition;
    if (typeof name !== "string" || name === "") {
      throw new ConfigurationError(`Cannot declare task: name must be a non-empty string: ${name}`);
    }
    if (typeof fn !== "function") {
      throw new ConfigurationError(`Cannot declare task ${name}: not a function: ${String(fn)}`);
    }
    if (this.#registry.has(name)) {
      throw new ConfigurationError(`Cannot declare task ${name}: a task with that name exists`);
    }
    try {
      checkTaskOptions(`task ${name}`, options);
    } catch (err) {
      throw new ConfigurationError((err as Error).message, { cause: err });
    }
    this.#registry.set(name, definition);
    return this.#wrap(definition);
  }

  #wrap(definition: TaskDefinition): TaskWrapper<unknown[], unknown> {
    const { name, options } = definition;
    const s = (...args: unknown[]) => this.#newTask(definition, args, {});
    const wrapper = (...args: unknown[]) => this.enqueue(s(...args)) as Promise<Result<unknown>>;
    Object.defineProperty(wrapper, "name", { value: name });
    return Object.assign(wrapper, {
      options: Object.freeze({ ...options }),
      validateDatetime: definition.schedule,
      s,
      schedule: (args: unknown[], scheduleOptions: ScheduleOptions = {}) => {
        if (!Array.isArray(args)) {
          throw new TypeError(`Cannot schedule task ${name}: args must be an array: ${args}`);
        }
        checkTaskOptions(`schedule of ${name}`, scheduleOptions);
        return this.enqueue(this.#newTask(definition, args, scheduleOptions)) as Promise<
          Result<unknown>
        >;
      },
      map: (argsList: Iterable<unknown[]>) => this.#enqueueMany(definition, argsList),
      callLocal: (...args: unknown[]) => {
        if (!options.context) return (definition.fn as (...a: unknown[]) => unknown)(...args);
        const task = s(...args);
        return (definition.fn as (...a: unknown[]) => unknown)(
          ...args,
          this.#context(task, new AbortController().signal),
        );
      },
      revoke: (revokeOptions?: RevokeOptions) => this.revokeAll(name, revokeOptions),
      restore: () => this.restoreAll(name),
      isRevoked: (date?: Date) => this.#isRevokedKey(revokeAllKey(name), date),
    }) as unknown as TaskWrapper<unknown[], unknown>;
  }

  #newTask(definition: TaskDefinition, args: unknown[], call: ScheduleOptions): Task {
    const { options } = definition;
    const eta = call.eta ??
      (call.delay !== undefined ? new Date(this.now() + call.delay * 1000) : undefined);
    return new Task({
      id: call.id ?? newTaskId(),
      name: definition.name,
      args,
      eta,
      retries: call.retries ?? options.retries ?? 0,
      retryDelay: call.retryDelay ?? options.retryDelay ?? 0,
      priority: call.priority ?? options.priority ?? 0,
      expires: call.expires ?? options.expires,
      timeout: options.timeout,
      periodic: definition.schedule !== undefined,
    });
  }

  /** The names of every declared task. */
  taskNames(): string[] {
    return [...this.#registry.keys()];
  }

  /**
   * The periodic tasks whose schedule matches `date` (to the minute), as new
   * invocations ready to enqueue. The consumer calls it once a minute.
   */
  readPeriodic(date: Date, utc: boolean = this.utc): Task[] {
    const due: Task[] = [];
    for (const definition of this.#registry.values()) {
      if (definition.schedule?.(date, utc)) due.push(this.#newTask(definition, [], {}));
    }
    return due;
  }

  // -- messages --------------------------------------------------------------

  #toMessage(task: Task): TaskMessage {
    const message: TaskMessage = {
      v: 1,
      id: task.id,
      name: task.name,
      args: task.args,
      retries: task.retries,
      retryDelay: task.retryDelay,
      priority: task.priority,
    };
    if (task.eta) message.eta = task.eta;
    if (task.expires !== undefined) message.expires = task.expires;
    if (task.expiresAt) message.expiresAt = task.expiresAt;
    if (task.timeout !== undefined) message.timeout = task.timeout;
    if (task.periodic) message.periodic = true;
    if (task.onComplete) message.onComplete = this.#toMessage(task.onComplete);
    if (task.onError) message.onError = this.#toMessage(task.onError);
    return message;
  }

  /**
   * The message string for `task` (and its pipeline). Values that cannot be
   * serialized throw `SerializationError` naming the task and the argument.
   */
  encodeTask(task: Task): string {
    try {
      return this.serializer.encode(this.#toMessage(task));
    } catch (err) {
      if (!(err instanceof SerializationError) || !err.path) throw err;
      // Find which task of the pipeline and which argument the path points into.
      const match = /^\$((?:\.(?:onComplete|onError))*)\.args\[(\d+)\]/.exec(err.path);
      let culprit: Task | undefined = task;
      for (const step of match?.[1].split(".").filter(Boolean) ?? []) {
        culprit = step === "onComplete" ? culprit?.onComplete : culprit?.onError;
      }
      const argumentIndex = match ? Number(match[2]) : undefined;
      const where = argumentIndex !== undefined ? ` argument ${argumentIndex}` : "";
      throw new SerializationError(
        `Cannot enqueue task ${culprit?.name ?? task.name}:${where} ${err.message}`,
        { taskName: culprit?.name ?? task.name, argumentIndex, path: err.path },
        { cause: err },
      );
    }
  }

  /** Rebuild a task from a message string; throws `SerializationError` if it is malformed. */
  decodeTask(data: string): Task {
    return this.#fromMessage(this.serializer.decode(data), "$");
  }

  #fromMessage(value: unknown, path: string): Task {
    const bad = (why: string) =>
      new SerializationError(`Cannot decode task message: ${why}`, { path });
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw bad("not an object");
    }
    const m = value as Partial<TaskMessage>;
    if (m.v !== 1) throw bad(`unknown message version: ${String(m.v)}`);
    if (typeof m.id !== "string" || typeof m.name !== "string") throw bad("id and name required");
    if (!Array.isArray(m.args)) throw bad("args must be an array");
    const isNumber = (n: unknown) => typeof n === "number" && Number.isFinite(n);
    if (!isNumber(m.retries) || !isNumber(m.retryDelay) || !isNumber(m.priority)) {
      throw bad("retries, retryDelay and priority must be numbers");
    }
    for (const key of ["eta", "expiresAt"] as const) {
      if (m[key] !== undefined && !(m[key] instanceof Date)) throw bad(`${key} must be a Date`);
    }
    return new Task({
      id: m.id,
      name: m.name,
      args: m.args,
      eta: m.eta,
      retries: m.retries!,
      retryDelay: m.retryDelay!,
      priority: m.priority!,
      expires: m.expires,
      expiresAt: m.expiresAt,
      timeout: m.timeout,
      periodic: m.periodic === true,
      onComplete: m.onComplete ? this.#fromMessage(m.onComplete, `${path}.onComplete`) : undefined,
      onError: m.onError ? this.#fromMessage(m.onError, `${path}.onError`) : undefined,
    });
  }

  // -- enqueueing ------------------------------------------------------------

  /**
   * Enqueue a task built with `s()`: resolves to its `Result`, or to a
   * `ResultGroup` for a pipeline (one result per task of the chain).
   */
  enqueue<A extends unknown[], R>(task: Task<A, R, [R]>): Promise<Result<R>>;
  enqueue<A extends unknown[], R, C extends unknown[]>(
    task: Task<A, R, C>,
  ): Promise<ResultGroup<C>>;
  async enqueue(task: Task): Promise<Result<unknown> | ResultGroup<unknown[]>> {
    await this.#put(task);
    if (!task.onComplete) return new Result(this, task);
    return new ResultGroup(task.pipeline().map((t) => new Result(this, t)));
  }

  /** Put `task` in the queue, or in the schedule when its eta is in the future. */
  async #put(task: Task, now: number = this.now()): Promise<void> {
    if (task.expires !== undefined) task.expiresAt = toDate(task.expires, now);
    const data = this.encodeTask(task);
    if (this.#immediate) {
      await this.#emit(SIGNAL_ENQUEUED, task);
      await this.execute(this.decodeTask(data), { now });
    } else if (task.eta && task.eta.getTime() > now) {
      await this.storage.addToSchedule(data, task.eta.getTime());
      await this.#emit(SIGNAL_SCHEDULED, task);
    } else {
      await this.storage.enqueue(data, task.priority);
      const handlers = this.#emit(SIGNAL_ENQUEUED, task);
      if (handlers) await handlers;
    }
  }

  async #enqueueMany(
    definition: TaskDefinition,
    argsList: Iterable<unknown[]>,
  ): Promise<ResultGroup<unknown[]>> {
    const tasks = [...argsList].map((args, index) => {
      if (!Array.isArray(args)) {
        throw new TypeError(
          `Cannot map task ${definition.name}: item ${index} must be an array of arguments`,
        );
      }
      return this.#newTask(definition, args, {});
    });
    const now = this.now();
    if (this.#immediate) {
      for (const task of tasks) await this.#put(task, now);
    } else {
      for (const task of tasks) {
        if (task.expires !== undefined) task.expiresAt = toDate(task.expires, now);
      }
      const items = tasks.map((task) => ({ data: this.encodeTask(task), priority: task.priority }));
      await this.storage.enqueueMany(items);
      for (const task of tasks) await this.#emit(SIGNAL_ENQUEUED, task);
    }
    return new ResultGroup(tasks.map((task) => new Result(this, task)));
  }

  /** @internal Used by `Result.reschedule`. */
  rescheduleTask(original: Task, options: ScheduleOptions): Promise<Result<unknown>> {
    checkTaskOptions(`reschedule of ${original.name}`, options);
    const task = new Task({
      id: options.id ?? newTaskId(),
      name: original.name,
      args: original.args,
      eta: options.eta ??
        (options.delay !== undefined ? new Date(this.now() + options.delay * 1000) : undefined),
      retries: options.retries ?? original.retries,
      retryDelay: options.retryDelay ?? original.retryDelay,
      priority: options.priority ?? original.priority,
      expires: options.expires ?? original.expires,
      timeout: original.timeout,
      periodic: original.periodic,
      onComplete: original.onComplete,
      onError: original.onError,
    });
    return this.enqueue(task) as Promise<Result<unknown>>;
  }

  // -- executing ---------------------------------------------------------------

  /**
   * Decode a message and execute it. A message that cannot be decoded, or
   * names a task this process has not declared, goes to the error store and
   * ends as `invalid`.
   */
  async executeMessage(data: string, options: ExecuteOptions = {}): Promise<ExecutionOutcome> {
    let task: Task;
    try {
      task = this.decodeTask(data);
      if (!this.#registry.has(task.name)) {
        throw new UnknownTaskError(task.name, this.taskNames(), this.appModule);
      }
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.logger.error(`Message set aside in the error store: ${reason}`);
      await this.storage.putError(data, reason, options.now ?? this.now());
      return { status: "invalid", error };
    }
    return await this.execute(task, options);
  }

  /**
   * Take the next message from the queue under a lease of `leaseTimeout`
   * seconds, or `undefined` when it is empty (after waiting up to `wait`
   * seconds on blocking storages). The same storage operation reads whether
   * anything is revoked, for {@link executeDelivery}.
   *
   * @example Take one message and run it
   * ```ts
   * import { MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey();
   * const add = huey.task((a: number, b: number) => a + b);
   * await add(1, 2);
   * const delivery = await huey.dequeue();
   * if (delivery) await huey.executeDelivery(delivery);
   * ```
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
   */
  executeDelivery(delivery: Delivery, options: ExecuteOptions = {}): Promise<ExecutionOutcome> {
    return this.executeMessage(delivery.data, {
      ...options,
      receipt: delivery.receipt,
      nothingRevoked: delivery.peeked === null,
    });
  }

  /**
   * Take the next message from the queue and execute it, then acknowledge
   * it; `undefined` when the queue is empty. Tests use it to drive the queue
   * without a consumer process.
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
   * relative expiry times); returns them. The consumer's scheduler calls it.
   */
  async readSchedule(now: number = this.now()): Promise<Task[]> {
    const due: Task[] = [];
    for (const data of await this.storage.readSchedule(now)) {
      let task: Task;
      try {
        task = this.decodeTask(data);
      } catch (error) {
        await this.storage.putError(
          data,
          `${(error as Error).name}: ${(error as Error).message}`,
          now,
        );
        continue;
      }
      await this.#put(task, now);
      due.push(task);
    }
    return due;
  }

  /**
   * Execute one task: schedule it if it is early, skip it if expired or
   * revoked, otherwise run it, store its result, fire its pipeline and retry
   * it on error. This is the only place tasks run.
   */
  async execute(task: Task, options: ExecuteOptions = {}): Promise<ExecutionOutcome> {
    const now = options.now ?? this.now();
    if (task.eta && task.eta.getTime() > now) {
      await this.storage.addToSchedule(this.encodeTask(task), task.eta.getTime());
      await this.#emit(SIGNAL_SCHEDULED, task);
      return { status: "scheduled", task };
    }
    if (task.expiresAt && task.expiresAt.getTime() < now) {
      this.logger.info(`${task} expired, not run`);
      await this.#emit(SIGNAL_EXPIRED, task);
      return { status: "expired", task };
    }
    if (!options.nothingRevoked && await this.#consumeRevocation(task, now)) {
      this.logger.info(`${task} revoked, not run`);
      await this.#emit(SIGNAL_REVOKED, task);
      return { status: "revoked", task };
    }
    return await this.#run(task, options);
  }

  async #run(task: Task, options: ExecuteOptions): Promise<ExecutionOutcome> {
    const hardStop = options.signal;
    const definition = this.#registry.get(task.name);
    if (!definition) {
      const error = new UnknownTaskError(task.name, this.taskNames(), this.appModule);
      await this.storage.putError(
        this.encodeTask(task),
        `${error.name}: ${error.message}`,
        this.now(),
      );
      return { status: "invalid", task, error };
    }
    for (const [name, hook] of this.#preExecute) {
      try {
        await hook(task);
      } catch (error) {
        if (error instanceof CancelExecution) {
          this.logger.info(`${task} canceled by pre-execute hook ${name}`);
          await this.#emit(SIGNAL_CANCELED, task);
          return { status: "canceled", task, error };
        }
        this.logger.error(`Pre-execute hook ${name} failed for ${task}`, error);
      }
    }

    let status: ExecutionStatus = "complete";
    let value: unknown;
    let error: unknown;
    let retryEta: Date | undefined;
    let stored: string | undefined;
    const start = performance.now();
    options.onStart?.({ id: task.id, name: task.name, timeout: task.timeout, started: this.now() });
    const executing = this.#emit(SIGNAL_EXECUTING, task);
    if (executing) await executing;
    this.logger.info(`Executing ${task}`);
    try {
      value = await this.#call(definition, task, hardStop);
      if (this.results && !task.periodic && (value !== undefined || this.storeNone)) {
        stored = this.#encodeResult(task, { value });
      }
    } catch (err) {
      error = err;
      if (hardStop?.aborted && err === hardStop.reason) {
        this.logger.warn(`${task} interrupted by shutdown, not finished`);
        await this.#emit(SIGNAL_INTERRUPTED, task);
        return { status: "interrupted", task, error, duration: (performance.now() - start) / 1000 };
      }
      if (err instanceof TaskLockedError) {
        status = "locked";
        this.logger.warn(`${task} not run: lock ${err.lockName} is held`);
        await this.#emit(SIGNAL_LOCKED, task, err);
      } else if (err instanceof RetryTask) {
        status = "error";
        task.retries += 1;
        retryEta = err.eta ??
          (err.delay !== undefined ? new Date(this.now() + err.delay * 1000) : undefined);
        this.logger.info(`${task} raised RetryTask, retrying`);
      } else if (err instanceof CancelExecution) {
        status = "canceled";
        if (err.retry || (err.retry === undefined && task.retries > 0)) {
          task.retries = Math.max(task.retries, 1);
        } else {
          task.retries = 0;
        }
        this.logger.warn(`${task} canceled${task.retries ? " (will be retried)" : ""}`);
        await this.#emit(SIGNAL_CANCELED, task, err);
      } else {
        status = "error";
        this.logger.error(`Unhandled error in ${task}`, err);
        await this.#emit(SIGNAL_ERROR, task, err);
      }
      if (this.results && !task.periodic) {
        stored = this.#encodeResult(task, { error: errorInfo(task, err) });
      }
    }
    const duration = (performance.now() - start) / 1000;
    if (status === "complete") this.logger.info(`${task} executed in ${duration.toFixed(3)}s`);
    let acknowledged: boolean | undefined;
    const storage = this.storage;
    if (
      stored !== undefined && options.receipt && storage.putDataAndAck &&
      status === "complete" && !task.onComplete
    ) {
      // Nothing else must outlive the message: store and acknowledge together.
      acknowledged = await storage.putDataAndAck(task.id, stored, options.receipt);
    } else if (stored !== undefined) {
      await storage.putData(task.id, stored);
    }

    for (const [name, hook] of this.#postExecute) {
      try {
        await hook(task, value, error);
      } catch (hookError) {
        this.logger.error(`Post-execute hook ${name} failed for ${task}`, hookError);
      }
    }

    const retrying = status !== "complete" && task.retries > 0;
    if (status === "complete") {
      const complete = this.#emit(SIGNAL_COMPLETE, task);
      if (complete) await complete;
      if (task.onComplete) {
        const next = task.onComplete;
        next.args = [...this.#piped(value), ...next.args];
        await this.#put(next);
      }
    } else if (!retrying && task.onError) {
      const next = task.onError;
      next.args = [errorInfo(task, error), ...next.args];
      await this.#put(next);
    }
    if (retrying) await this.#retry(task, retryEta);
    return { status, task, value, error, retrying, duration, acknowledged };
  }

  /** Call the task function with its context, its timeout and the hard-stop signal. */
  async #call(definition: TaskDefinition, task: Task, hardStop?: AbortSignal): Promise<unknown> {
    const timeout = task.timeout;
    // Without a timeout, the hard stop is the only thing that aborts the task:
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
        timer!.abort(
          new DOMException(
            `Task ${task.name} (${task.id}) timed out after ${timeout}s`,
            "TimeoutError",
          ),
        );
      }, timeout * 1000)
      : undefined;
    // The task gets a signal of its own (made when first read), so listeners
    // it leaves behind do not pile up on the worker's hard-stop signal.
    const context = this.#context(task, timer ? signal : () => AbortSignal.any([signal]));
    const args = definition.options.context ? [...task.args, context] : task.args;
    try {
      const running = Promise.resolve(
        runInTaskContext(context, () => (definition.fn as (...a: unknown[]) => unknown)(...args)),
      );
      if (!timeout && !hardStop) return await running;
      // The function may ignore its signal: stop waiting for it once aborted.
      running.catch(() => {});
      return await new Promise((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        running.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
      });
    } finally {
      clearTimeout(handle);
    }
  }

  #context(task: Task, signal: AbortSignal | (() => AbortSignal)): TaskContext {
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

  #piped(value: unknown): unknown[] {
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  }

  async #retry(task: Task, eta?: Date): Promise<void> {
    task.retries -= 1;
    const now = this.now();
    task.eta = eta ?? (task.retryDelay ? new Date(now + task.retryDelay * 1000) : undefined);
    this.logger.info(`Retrying ${task}, ${task.retries} retries left`);
    await this.#emit(SIGNAL_RETRYING, task);
    await this.#put(task, now);
  }

  #encodeResult(task: Task, result: StoredResult): string {
    try {
      return this.serializer.encode(result);
    } catch (err) {
      throw new SerializationError(
        `Cannot store result of task ${task.name} (${task.id}): ${(err as Error).message}`,
        { taskName: task.name, path: (err as SerializationError).path },
        { cause: err },
      );
    }
  }

  // -- results -----------------------------------------------------------------

  /** @internal Used by `Result.get`. */
  async readResult(id: string, preserve: boolean): Promise<StoredResult | undefined> {
    const data = preserve ? await this.storage.peekData(id) : await this.storage.popData(id);
    return data === undefined ? undefined : this.serializer.decode(data) as StoredResult;
  }

  /** @internal Used by `Result.get`: wait up to `timeout` seconds for a result to arrive. */
  async waitForResult(id: string, timeout: number): Promise<boolean> {
    const storage = this.storage;
    if (storage.waitForData) return await storage.waitForData(id, timeout);
    await new Promise((resolve) => setTimeout(resolve, timeout * 1000));
    return false;
  }

  /**
   * The result of task `id`, as `Result.get` reads it.
   *
   * @example
   * ```ts
   * import { MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey({ immediate: true });
   * const add = huey.task("add", (a: number, b: number) => a + b);
   * const { id } = await add(1, 2);
   * console.log(await huey.result(id)); // 3
   * ```
   */
  result<T = unknown>(id: string, options?: GetOptions): Promise<T | undefined> {
    const task = new Task({
      id,
      name: "(by id)",
      args: [],
      retries: 0,
      retryDelay: 0,
      priority: 0,
    });
    return new Result<T>(this, task).get(options);
  }

  /**
   * Read a key/value from the result store; removed unless `peek`.
   *
   * @example
   * ```ts
   * import { MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey();
   * await huey.put("calc.result", { total: 10 });
   * console.log(await huey.get("calc.result", { peek: true })); // { total: 10 }
   * ```
   */
  async get<T = unknown>(key: string, options: { peek?: boolean } = {}): Promise<T | undefined> {
    const data = options.peek ? await this.storage.peekData(key) : await this.storage.popData(key);
    return data === undefined ? undefined : this.serializer.decode(data) as T;
  }

  /** Store a key/value in the result store. */
  async put(key: string, value: unknown): Promise<void> {
    await this.storage.putData(key, this.serializer.encode(value));
  }

  /** Store a key/value only if the key is empty; true if stored. */
  putIfEmpty(key: string, value: unknown): Promise<boolean> {
    return this.storage.putIfEmpty(key, this.serializer.encode(value));
  }

  /** Remove a key from the result store; true if it existed. */
  delete(key: string): Promise<boolean> {
    return this.storage.deleteData(key);
  }

  // -- revocation --------------------------------------------------------------

  async #revoke(key: string, options: RevokeOptions = {}): Promise<void> {
    const until = options.revokeUntil ?? null;
    if (until !== null && (!(until instanceof Date) || Number.isNaN(until.getTime()))) {
      throw new TypeError(`Cannot revoke: revokeUntil must be a valid Date: ${String(until)}`);
    }
    const revocation: Revocation = { until, once: options.revokeOnce ?? false };
    // The marker first: a revocation must never be stored without it. It stays
    // once set (until the result store is flushed): clearing it safely would
    // need to know that no other process is revoking meanwhile.
    await this.storage.putData(REVOCATIONS_MARKER, this.serializer.encode(true));
    await this.storage.putData(key, this.serializer.encode(revocation));
  }

  /**
   * Whether the revocation stored under `key` (already read as `data`, or
   * read now) holds at `now`; when `consume`, a revoke-once is used up and an
   * expired revoke-until removed.
   */
  async #checkRevoked(
    key: string,
    now: number,
    consume: boolean,
    data?: string,
  ): Promise<boolean> {
    data ??= await this.storage.peekData(key);
    if (data === undefined) return false;
    const { until, once } = this.serializer.decode(data) as Revocation;
    if (once) {
      if (consume) await this.storage.deleteData(key);
      return true;
    }
    if (until === null || until.getTime() > now) return true;
    if (consume) await this.storage.deleteData(key);
    return false;
  }

  async #consumeRevocation(task: Task, now: number): Promise<boolean> {
    const own = revokeKey(task.id);
    const all = revokeAllKey(task.name);
    // Both reads go out together (one round trip on pipelining storages).
    const [ownData, allData] = await Promise.all([
      this.storage.peekData(own),
      this.storage.peekData(all),
    ]);
    if (ownData === undefined && allData === undefined) return false;
    return (ownData !== undefined && await this.#checkRevoked(own, now, true, ownData)) ||
      (allData !== undefined && await this.#checkRevoked(all, now, true, allData));
  }

  #isRevokedKey(key: string, date?: Date): Promise<boolean> {
    return this.#checkRevoked(key, date?.getTime() ?? this.now(), false);
  }

  /** Revoke the invocation `id`: it will be skipped when its turn comes. */
  revokeById(id: string, options?: RevokeOptions): Promise<void> {
    return this.#revoke(revokeKey(id), options);
  }

  /** Undo {@link revokeById}; true if it was revoked. */
  restoreById(id: string): Promise<boolean> {
    return this.storage.deleteData(revokeKey(id));
  }

  /**
   * Revoke every invocation of a task (by wrapper or name).
   *
   * @example Skip the next run of a periodic task
   * ```ts
   * import { crontab, MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey();
   * const mail = huey.periodicTask("mail", crontab({ minute: "0" }), () => {});
   * await huey.revokeAll(mail, { revokeOnce: true });
   * ```
   */
  revokeAll(task: AnyTaskWrapper | string, options?: RevokeOptions): Promise<void> {
    return this.#revoke(revokeAllKey(typeof task === "string" ? task : task.name), options);
  }

  /** Undo {@link revokeAll}; true if the task was revoked. */
  restoreAll(task: AnyTaskWrapper | string): Promise<boolean> {
    return this.storage.deleteData(revokeAllKey(typeof task === "string" ? task : task.name));
  }

  /**
   * Whether a task is revoked at `date` (default now): an invocation (`Task`
   * or id: the invocation or its whole task) or a task wrapper (the whole
   * task only).
   */
  async isRevoked(
    task: Task | AnyTaskWrapper | string,
    date?: Date,
  ): Promise<boolean> {
    if (typeof task === "string") return await this.#isRevokedKey(revokeKey(task), date);
    if (task instanceof Task) {
      return (await this.#isRevokedKey(revokeKey(task.id), date)) ||
        (await this.#isRevokedKey(revokeAllKey(task.name), date));
    }
    return await this.#isRevokedKey(revokeAllKey(task.name), date);
  }

  // -- introspection -------------------------------------------------------------

  #decodeListing(items: string[]): Task[] {
    const tasks: Task[] = [];
    for (const data of items) {
      try {
        tasks.push(this.decodeTask(data));
      } catch (error) {
        this.logger.warn(`Skipping a message that cannot be decoded: ${(error as Error).message}`);
      }
    }
    return tasks;
  }

  /** Tasks waiting in the queue, in the order they will run. */
  async pending(limit?: number): Promise<Task[]> {
    return this.#decodeListing(await this.storage.enqueuedItems(limit));
  }

  /** Tasks in the schedule, earliest first. */
  async scheduled(limit?: number): Promise<Task[]> {
    return this.#decodeListing(await this.storage.scheduledItems(limit));
  }

  /** Every key of the result store with its decoded value. */
  async allResults(): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (const [key, data] of await this.storage.resultItems()) {
      try {
        out.set(key, this.serializer.decode(data));
      } catch {
        out.set(key, data);
      }
    }
    return out;
  }

  /** Remove everything: queue, schedule, results, locks, revocations and errors. */
  flush(): Promise<void> {
    return this.storage.flushAll();
  }

  // -- locks -------------------------------------------------------------------

  /**
   * A lock shared by every process on this storage.
   *
   * @example
   * ```ts
   * import { MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey();
   * const backup = huey.task("backup", huey.lockTask("db-backup").wrap(() => "done"));
   * ```
   */
  lockTask(name: string): TaskLock {
    const lock = new TaskLock(() => this.storage, name);
    this.#locks.add(name);
    return lock;
  }

  /** True while the lock `name` is held. */
  isLocked(name: string): Promise<boolean> {
    return this.storage.hasDataForKey(TaskLock.keyFor(name));
  }

  /** Release every lock declared in this process, plus `names`; returns the names that were held. */
  async flushLocks(...names: string[]): Promise<string[]> {
    const flushed: string[] = [];
    for (const name of new Set([...this.#locks, ...names])) {
      if (await this.storage.deleteData(TaskLock.keyFor(name))) flushed.push(name);
    }
    return flushed;
  }

  // -- hooks -------------------------------------------------------------------

  /** Register a pre-execute hook under `name` (replacing one of that name). */
  registerPreExecute(name: string, hook: PreExecuteHook): void {
    this.#preExecute.set(name, hook);
  }
  /** Remove a pre-execute hook; true if it existed. */
  unregisterPreExecute(name: string): boolean {
    return this.#preExecute.delete(name);
  }
  /** Register a pre-execute hook named after the function; returns it. */
  preExecute<F extends PreExecuteHook>(hook: F, name = hook.name || "pre-execute"): F {
    this.registerPreExecute(name, hook);
    return hook;
  }

  /** Register a post-execute hook under `name`. */
  registerPostExecute(name: string, hook: PostExecuteHook): void {
    this.#postExecute.set(name, hook);
  }
  /** Remove a post-execute hook; true if it existed. */
  unregisterPostExecute(name: string): boolean {
    return this.#postExecute.delete(name);
  }
  /** Register a post-execute hook named after the function; returns it. */
  postExecute<F extends PostExecuteHook>(hook: F, name = hook.name || "post-execute"): F {
    this.registerPostExecute(name, hook);
    return hook;
  }

  /** Register a startup hook (run once per worker when the consumer starts). */
  registerOnStartup(name: string, hook: LifecycleHook): void {
    this.#onStartup.set(name, hook);
  }
  /** Remove a startup hook; true if it existed. */
  unregisterOnStartup(name: string): boolean {
    return this.#onStartup.delete(name);
  }
  /** Register a startup hook named after the function; returns it. */
  onStartup<F extends LifecycleHook>(hook: F, name = hook.name || "startup"): F {
    this.registerOnStartup(name, hook);
    return hook;
  }

  /** Register a shutdown hook (run once per worker when the consumer stops). */
  registerOnShutdown(name: string, hook: LifecycleHook): void {
    this.#onShutdown.set(name, hook);
  }
  /** Remove a shutdown hook; true if it existed. */
  unregisterOnShutdown(name: string): boolean {
    return this.#onShutdown.delete(name);
  }
  /** Register a shutdown hook named after the function; returns it. */
  onShutdown<F extends LifecycleHook>(hook: F, name = hook.name || "shutdown"): F {
    this.registerOnShutdown(name, hook);
    return hook;
  }

  /** Run the startup hooks in order; a failing hook is logged and the rest still run. */
  runStartupHooks(): Promise<void> {
    return this.#runLifecycle("startup", this.#onStartup);
  }

  /** Run the shutdown hooks in order; a failing hook is logged and the rest still run. */
  runShutdownHooks(): Promise<void> {
    return this.#runLifecycle("shutdown", this.#onShutdown);
  }

  async #runLifecycle(kind: string, hooks: Map<string, LifecycleHook>): Promise<void> {
    for (const [name, hook] of hooks) {
      try {
        await hook();
      } catch (error) {
        this.logger.error(`${kind} hook ${name} failed`, error);
      }
    }
  }

  // -- signals and events --------------------------------------------------------

  /**
   * Connect `handler` to the signals `names` (all when none are given);
   * returns the handler.
   *
   * @example
   * ```ts
   * import { MemoryHuey, SIGNAL_ERROR } from "../mod.ts";
   * const huey = new MemoryHuey();
   * huey.signal((signal, task, error) => console.log(signal, task.id, error), SIGNAL_ERROR);
   * ```
   */
  signal<H extends SignalHandler>(handler: H, ...names: SignalName[]): H {
    this.#signals.connect(handler, names);
    return handler;
  }

  /** Disconnect `handler` from `names` (all when none are given). */
  disconnectSignal(handler: SignalHandler, ...names: SignalName[]): void {
    this.#signals.disconnect(handler, names);
  }

  /**
   * A feed of task and consumer events (executing, complete, error,
   * recovered, ...). On storages with pub/sub (Redis) it carries the events
   * of every process on the storage, from when `stream.ready` resolves; on
   * the others, the events of this process.
   *
   * @example
   * ```ts
   * import { MemoryHuey } from "../mod.ts";
   * const huey = new MemoryHuey({ immediate: true });
   * const controller = new AbortController();
   * const events = huey.events({ signal: controller.signal });
   * const add = huey.task("add", (a: number, b: number) => a + b);
   * await add(1, 2);
   * console.log((await events.next()).value?.signal); // "enqueued"
   * controller.abort();
   * ```
   */
  events(options: SubscribeOptions = {}): EventStream {
    const storage = this.storage;
    if (!storage.subscribeEvents) return this.#events.subscribe(options);
    const hub = new EventHub();
    const controller = new AbortController();
    const signal = options.signal
      ? AbortSignal.any([options.signal, controller.signal])
      : controller.signal;
    const stream = hub.subscribe({ ...options, signal });
    const ready = storage.subscribeEvents((data) => {
      try {
        hub.publish(JSON.parse(data) as HueyEvent);
      } catch {
        this.logger.warn(`Ignoring a malformed event: ${data.slice(0, 200)}`);
      }
    }, signal);
    const close = stream.return!.bind(stream);
    return Object.assign(stream, {
      ready,
      return: () => {
        controller.abort();
        return close();
      },
    });
  }

  /** Publish a consumer event (lease recovered, storage error, ...) to `events()` subscribers. */
  publishEvent(event: HueyEvent): void {
    if (!this.#publishEvents) return;
    const storage = this.storage;
    if (storage.publishEvent) {
      // Fire and forget: an event must never slow down or fail a task. Events
      // batched into one send share its promise: one handler per batch.
      const failed = (error: unknown) => {
        this.logger.debug(`Cannot publish event: ${(error as Error).message}`);
      };
      try {
        const sent = storage.publishEvent(encodeEvent(event));
        if (sent !== this.#lastEventSend) {
          this.#lastEventSend = sent;
          sent.catch(failed);
        }
      } catch (error) {
        failed(error);
      }
    } else if (this.#events.active) {
      this.#events.publish(event);
    }
  }

  /**
   * Publish the event and call the signal's handlers. Not async: without
   * handlers (the common case) it returns nothing, and a caller on a hot
   * path skips the await.
   */
  #emit(name: SignalName, task: Task, error?: unknown): Promise<void> | undefined {
    this.publishEvent({
      signal: name,
      id: task.id,
      name: task.name,
      time: this.now(),
      error: error instanceof Error ? `${error.name}: ${error.message}` : undefined,
    });
    if (!this.#signals.has(name)) return undefined;
    return this.#signals.send(name, task, error, (handlerError) => {
      this.logger.error(`Signal handler for ${name} failed`, handlerError);
    });
  }

  /** Close the storage (and the immediate-mode memory storage). */
  async close(): Promise<void> {
    await this.#immediateStorage?.close();
    await this.#storage.close();
  }
}
