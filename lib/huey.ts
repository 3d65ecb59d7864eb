/**
 * `Huey`: the object an app holds. It declares tasks, decides where a task
 * goes (the queue, the schedule, or a run now in immediate mode), and hands
 * everything else to the room named after it: the registry, the executor,
 * revocation, hooks, events, locks and results.
 *
 * @module
 */
import type { Chord } from "./chord.ts";
import { createDashboard } from "./dashboard/handler.ts";
import type { DashboardHandler, DashboardOptions } from "./dashboard/handler.ts";
import { contextDefinition } from "./context_task.ts";
import type { ContextTaskDeclaration, ContextTaskOptions, TaskResource } from "./context_task.ts";
import type { PeriodicSchedule } from "./crontab.ts";
import type { Cancellations } from "./cancel.ts";
import type { DeadLetters } from "./dead_letters.ts";
import type { EventStream, SubscribeOptions } from "./events.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { errorResult } from "./executor.ts";
import type { ExecuteOptions, ExecutionOutcome, Executor } from "./executor.ts";
import type { Group } from "./group.ts";
import { listConsumers } from "./heartbeat.ts";
import type { ConsumerInfo } from "./heartbeat.ts";
import type { LifecycleHook, PostExecuteHook, PreExecuteHook } from "./hooks.ts";
import type { TaskLock } from "./lock.ts";
import { createLogger } from "./logger.ts";
import type { Logger } from "./logger.ts";
import { checkCount, checkSeconds } from "./registry.ts";
import type { TaskDefinition } from "./registry.ts";
import type { RateLimitDeclaration } from "./rate_limit.ts";
import { readMetrics } from "./metrics.ts";
import type { MetricsSnapshot } from "./metrics.ts";
import { Result } from "./result.ts";
import type { ChordResult, GetOptions, ResultGroup } from "./result.ts";
import { buildRooms } from "./rooms.ts";
import type { Rooms } from "./rooms.ts";
import { Serializer } from "./serializer.ts";
import type { SignalHandler, SignalName } from "./signals.ts";
import type { TaskStatus } from "./status.ts";
import { StorageSwitch } from "./immediate.ts";
import { MemoryStorage } from "./storage/memory.ts";
import type { Storage } from "./storage/types.ts";
import type { RevokeOptions, Task, TaskContext, TaskOptions } from "./task.ts";
import type { AnyTaskWrapper, PeriodicTaskWrapper, TaskWrapper } from "./wrapper.ts";

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
  /**
   * Store the error of a failed attempt that will be retried, and run the
   * task's `.error()` handler for it, as huey does by default. When false,
   * only the last attempt's error is stored and handled, so a blocking
   * `get()` waits for the final outcome (the `error` and `retrying`
   * signals still fire on every attempt). @default true
   */
  storeIntermediateErrors?: boolean;
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
  /** Compress with zlib (`y:` frames) instead of gzip, as huey's `use_zlib`. Ignored with `serializer`. @default false */
  zlib?: boolean;
  /**
   * Sign every message with HMAC-SHA256 and reject unsigned ones. Ignored
   * with `serializer`. A signature stops forged and altered messages, not
   * replays of captured ones (see the Serializer's "Replay"): make tasks
   * idempotent by task id.
   */
  signingKey?: string | Uint8Array;
  /**
   * The largest message or result, in UTF-8 bytes of its JSON: a larger one
   * fails at enqueue, and a consumer sets one aside. Ignored with `serializer`.
   * @default 4194304 (4 MiB)
   */
  maxMessageSize?: number;
  /** Seconds a dequeued message stays invisible before another consumer may take it. @default 30 */
  leaseTimeout?: number;
  /**
   * Deliveries a message may have before it is set aside in the error store
   * instead of run again: each time its lease runs out (its consumer died,
   * hung, or could not store the outcome) it comes back one more time.
   * @default 5
   */
  maxDeliveries?: number;
  /**
   * Seconds a unique task's id stays taken past the time it was due when
   * the task never finishes (its producer died before enqueuing it, its
   * message was flushed): then a new task with that id may be created. A
   * unique task still queued or retrying that long after it was due no
   * longer keeps a second one out. @default 86400 (a day)
   */
  uniqueTtl?: number;
  /**
   * Seconds a task's status record (`huey.status(id)`) and progress are
   * kept after the task ends. @default 86400 (a day)
   */
  statusTtl?: number;
  /**
   * Record `running` (with the consumer's id) and `complete` for every
   * task: two record writes per task. Without it, failures, retries and
   * skipped tasks are still recorded, and `status()` tells `complete` from
   * the result store and `queued`/`running`/`scheduled` from where the
   * message is (`running` then without the consumer's id or start time:
   * the message's lease). @default false
   */
  trackStatus?: boolean;
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

/**
 * Any function that can be a task. `never` parameters, not `any`: a
 * function passed in is not contextually typed by the constraint, so an
 * unannotated parameter with a default (`b = 1`) keeps the default's type.
 */
export type AnyFunction = (...args: never) => unknown;
/** A task function's parameters without the trailing context. */
export type WithoutContext<P extends unknown[]> = P extends [...infer A, TaskContext] ? A
  : never;
/**
 * `unknown` for a function that takes a {@link TaskContext} last; otherwise
 * a type the function does not have, so `context: true` on one that does
 * not fails where the task is declared, saying why.
 */
export type ContextLast<F extends AnyFunction> = Parameters<F> extends [...unknown[], TaskContext]
  ? unknown
  : { "context: true needs a task function whose last parameter is the TaskContext": never };

/** What `pending()` and `scheduled()` do with a message that cannot be decoded: log it, skip it. */
const skipper = (huey: { logger: Logger }) => (error: unknown) => {
  huey.logger.warn(`Skipping a message that cannot be decoded: ${(error as Error).message}`);
};

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
export class Huey {
  /** The app name. */
  readonly name: string;
  /** Whether return values are stored. */
  readonly results: boolean;
  /** Whether `undefined` return values are stored. */
  readonly storeNone: boolean;
  /** Whether the errors of attempts that are retried are stored and handled. */
  readonly storeIntermediateErrors: boolean;
  /** Whether periodic schedules read UTC time. */
  readonly utc: boolean;
  /** Seconds a dequeued message stays leased. */
  readonly leaseTimeout: number;
  /** Deliveries a message may have before it is set aside. */
  readonly maxDeliveries: number;
  /** The serializer of messages and results. */
  readonly serializer: Serializer;
  /** Where huey logs. */
  logger: Logger;
  /** The module the consumer loaded this Huey from; named in `UnknownTaskError`. */
  appModule?: string;
  /**
   * What runs the tasks: the consumer drives it (take a message, execute
   * it, move due scheduled tasks); programs that embed their own worker
   * loop may too.
   */
  readonly executor: Executor;

  readonly #storages: StorageSwitch;
  readonly #clock: () => number;
  readonly #rooms: Rooms;

  /** A Huey with `options`; without `storage` it keeps everything in memory. */
  constructor(options: HueyOptions = {}) {
    this.name = options.name ?? "huey";
    this.results = options.results ?? true;
    this.storeNone = options.storeNone ?? false;
    this.storeIntermediateErrors = options.storeIntermediateErrors ?? true;
    this.utc = options.utc ?? true;
    checkSeconds(options.leaseTimeout, "leaseTimeout", false);
    this.leaseTimeout = options.leaseTimeout ?? 30;
    this.maxDeliveries = checkCount(options.maxDeliveries ?? 5, "maxDeliveries", 1);
    this.serializer = options.serializer ?? new Serializer(options);
    this.logger = options.logger ?? createLogger({ level: "warn" });
    this.#clock = options.clock ?? Date.now;
    const storage = options.storage ?? new MemoryStorage({ name: this.name });
    this.#storages = new StorageSwitch(this.name, storage, options.immediateUseMemory ?? true);
    this.immediate = options.immediate ?? false;
    this.#rooms = buildRooms(this, options);
    this.executor = this.#rooms.executor;
  }

  /** The storage in use: the private memory storage while in immediate mode (unless `immediateUseMemory: false`). */
  get storage(): Storage {
    return this.#storages.storage;
  }

  /**
   * Immediate mode: tasks run when called, on in-memory storage unless
   * `immediateUseMemory: false`. Scheduled tasks go to the schedule and do
   * not run.
   */
  get immediate(): boolean {
    return this.#storages.immediate;
  }

  set immediate(value: boolean) {
    this.#storages.immediate = value;
  }

  /** The current time in ms since the epoch, from the injected clock. */
  now(): number {
    return this.#clock();
  }

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
  /** Declare a task whose function takes a {@link TaskContext} as its last argument. */
  task<F extends AnyFunction>(
    name: string,
    fn: F & ContextLast<F>,
    options: TaskOptions & { context: true },
  ): TaskWrapper<WithoutContext<Parameters<F>>, Awaited<ReturnType<F>>>;
  task(name: string, fn: AnyFunction, options: TaskOptions = {}): unknown {
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
  /** Declare a periodic task whose function takes a {@link TaskContext}. */
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
    return this.#declare({ name, fn, options, schedule }) as TaskWrapper<[], unknown>;
  }

  /**
   * Declare a task that runs inside `resource`, entered before every run and
   * exited after it, also when it throws (huey's `context_task`; see
   * {@link TaskResource}); `asArgument` passes the entered value first.
   *
   * @example A connection per run, closed after it
   * ```ts
   * import { MemoryHuey } from "../mod.ts";
   * const connect = async () => ({ query: (sql: string) => sql, async [Symbol.asyncDispose]() {} });
   * new MemoryHuey().contextTask("q", connect, (db, sql: string) => db.query(sql), { asArgument: true });
   * ```
   */
  readonly contextTask: ContextTaskDeclaration = (
    name: string,
    resource: TaskResource,
    fn: AnyFunction,
    options: ContextTaskOptions = {},
  ) => this.#declare(contextDefinition(name, resource, fn, options)) as never;

  #declare(definition: TaskDefinition): TaskWrapper<unknown[], unknown> {
    return this.#rooms.declare(definition);
  }

  /** The names of every declared task. */
  taskNames(): string[] {
    return this.#rooms.registry.names();
  }

  /** The periodic tasks' wrappers, in declaration order, with their schedules (`validateDatetime`). */
  periodicTasks(): PeriodicTaskWrapper[] {
    return this.#rooms.periodicTasks();
  }

  /**
   * The periodic tasks whose schedule matches `date` (to the minute), as new
   * invocations ready to enqueue. The consumer calls it once a minute;
   * tests call it with a chosen date.
   */
  readPeriodic(date: Date, utc: boolean = this.utc): Task[] {
    return this.executor.readPeriodic(date, utc);
  }

  /**
   * The message string for `task` (and its pipeline). Values that cannot be
   * serialized throw `SerializationError` naming the task and the argument.
   */
  encodeTask(task: Task): string {
    return this.#rooms.codec.encode(task);
  }

  /** Rebuild a task from a message string; throws `SerializationError` if it is malformed. */
  decodeTask(data: string): Task {
    return this.#rooms.codec.decode(data);
  }

  /**
   * Enqueue a task built with `s()`: resolves to its `Result`, or to a
   * `ResultGroup` for a pipeline (one result per task of the chain), a
   * `group()` (one per member) or a `ChordResult` for a `chord()`.
   */
  enqueue<A extends unknown[], R>(task: Task<A, R, [R]>): Promise<Result<R>>;
  /** Enqueue a pipeline: one result per task of the chain. */
  enqueue<A extends unknown[], R, C extends unknown[]>(
    task: Task<A, R, C>,
  ): Promise<ResultGroup<C>>;
  /** Enqueue every member of a group: one result per member, in declaration order. */
  enqueue<M extends unknown[]>(group: Group<M>): Promise<ResultGroup<M>>;
  /** Enqueue a chord's members; its callback runs once they have all finished. */
  enqueue<M extends unknown[], R, C extends unknown[]>(
    chord: Chord<M, R, C>,
  ): Promise<ChordResult<R, M, C>>;
  enqueue(item: Task | Group | Chord): Promise<unknown> {
    return this.#rooms.submit(item);
  }

  /**
   * Take the next message from the queue, execute it and acknowledge it;
   * `undefined` when the queue is empty. Tests drive the queue with it
   * (with `now` from an injected clock) instead of running a consumer.
   */
  executeNext(options: ExecuteOptions = {}): Promise<ExecutionOutcome | undefined> {
    return this.executor.executeNext(options);
  }

  /**
   * Move every scheduled task due at `now` into the queue (re-resolving
   * relative expiry times); returns them. The consumer's scheduler calls
   * it; tests call it with a chosen time.
   */
  readSchedule(now: number = this.now()): Promise<Task[]> {
    return this.executor.readSchedule(now);
  }

  /**
   * The result of task `id`, as `Result.get` reads it. Rejects with a
   * TypeError for a string that cannot be a task id.
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
  async result<T = unknown>(id: string, options?: GetOptions): Promise<T | undefined> {
    return await Result.byId<T>(this.#rooms.backend, id).get(options);
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
  get<T = unknown>(key: string, options: { peek?: boolean } = {}): Promise<T | undefined> {
    return this.#rooms.store.get<T>(key, options);
  }

  /** Store a key/value in the result store. */
  put(key: string, value: unknown): Promise<void> {
    return this.#rooms.store.put(key, value);
  }

  /** Store a key/value only if the key is empty; true if stored. */
  putIfEmpty(key: string, value: unknown): Promise<boolean> {
    return this.#rooms.store.putIfEmpty(key, value);
  }

  /** Remove a key from the result store; true if it existed. */
  delete(key: string): Promise<boolean> {
    return this.#rooms.store.delete(key);
  }

  /** Revoke the invocation `id`: it will be skipped when its turn comes. */
  revokeById(id: string, options?: RevokeOptions): Promise<void> {
    return this.#rooms.revocations.revokeById(id, options);
  }

  /** Undo {@link revokeById}; true if it was revoked. */
  restoreById(id: string): Promise<boolean> {
    return this.#rooms.revocations.restoreById(id);
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
    return this.#rooms.revocations.revokeAll(typeof task === "string" ? task : task.name, options);
  }

  /** Undo {@link revokeAll}; true if the task was revoked. */
  restoreAll(task: AnyTaskWrapper | string): Promise<boolean> {
    return this.#rooms.revocations.restoreAll(typeof task === "string" ? task : task.name);
  }

  /**
   * Whether a task is revoked at `date` (default now): an invocation (`Task`,
   * `Result` or id: the invocation or its whole task) or a task wrapper (the
   * whole task only).
   */
  isRevoked(task: Task | Result<unknown> | AnyTaskWrapper | string, date?: Date): Promise<boolean> {
    return this.#rooms.revocations.isRevoked(task, date);
  }

  /** Tasks waiting in the queue, in the order they will run. */
  async pending(limit?: number): Promise<Task[]> {
    return this.#rooms.codec.decodeEach(await this.storage.enqueuedItems(limit), skipper(this));
  }

  /** Tasks in the schedule, earliest first. */
  async scheduled(limit?: number): Promise<Task[]> {
    return this.#rooms.codec.decodeEach(await this.storage.scheduledItems(limit), skipper(this));
  }

  /** Dead letters (failed for good, undecodable, unknown task, past `maxDeliveries`), oldest first. */
  readonly deadLetters: DeadLetters["list"] = (options) => this.#rooms.deadLetters.list(options);
  /** Put the dead letter `id` (or its task id), or `"all"`, back in the queue; how many went. */
  readonly requeue: DeadLetters["requeue"] = (id) => this.#rooms.deadLetters.requeue(id);
  /** Cancel the task `id` (waiting, scheduled or running); false when there was nothing to cancel. */
  readonly cancel: Cancellations["cancel"] = (id) => this.#rooms.cancellations.cancel(id);
  /** Forget every dead letter; how many there were. */
  readonly purgeDeadLetters: DeadLetters["purge"] = () => this.#rooms.deadLetters.purge();
  /** Where task `id` is, never consuming its result (see `TaskStatus`); `unknown` for an id never seen. */
  readonly status = (id: string): Promise<TaskStatus> => this.#rooms.status.status(id);
  /** Tasks running now (leased), most recently started first; consumer and start with `trackStatus`. */
  readonly running = (limit?: number): Promise<TaskStatus[]> => this.#rooms.status.running(limit);
  /** The consumers registered on this storage, oldest first; `alive: false` past 3 missed beats. */
  readonly consumers = (): Promise<ConsumerInfo[]> => listConsumers(this);

  /** Every key of the result store with its decoded value. */
  allResults(): Promise<Map<string, unknown>> {
    return this.#rooms.store.all();
  }

  /** Remove everything: queue, schedule, results, locks, revocations, errors and counters. */
  flush(): Promise<void> {
    return this.storage.flushAll();
  }

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
    return this.#rooms.locks.declare(name);
  }

  /** True while the lock `name` is held. */
  isLocked(name: string): Promise<boolean> {
    return this.#rooms.locks.isLocked(name);
  }

  /** Release every lock declared in this process, plus `names`; returns the names that were held. */
  flushLocks(...names: string[]): Promise<string[]> {
    return this.#rooms.locks.flush(...names);
  }

  /**
   * A rate limit shared by every process on this storage: at most `limit`
   * calls every `per` seconds (huey's `rate_limit`; see {@link RateLimit}).
   */
  readonly rateLimit: RateLimitDeclaration = (...args) => this.#rooms.rateLimit(...args);
  /** Metrics from every consumer on this storage (`metricsText()` renders them for Prometheus). */
  readonly metrics = (): Promise<MetricsSnapshot> => readMetrics(this);
  /** The dashboard as a Web-standard handler (Deno.serve, Bun.serve, Hono; Node: `nodeListener`). */
  readonly dashboard = (o?: DashboardOptions): DashboardHandler => createDashboard(this, o);

  /** Register a pre-execute hook under `name` (replacing one of that name). */
  registerPreExecute(name: string, hook: PreExecuteHook): void {
    this.#rooms.hooks.preExecute.set(name, hook);
  }
  /** Remove a pre-execute hook; true if it existed. */
  unregisterPreExecute(name: string): boolean {
    return this.#rooms.hooks.preExecute.delete(name);
  }
  /** Register a pre-execute hook named after the function; returns it. */
  preExecute<F extends PreExecuteHook>(hook: F, name = hook.name || "pre-execute"): F {
    return this.#rooms.hooks.add("preExecute", name, hook);
  }

  /** Register a post-execute hook under `name`. */
  registerPostExecute(name: string, hook: PostExecuteHook): void {
    this.#rooms.hooks.postExecute.set(name, hook);
  }
  /** Remove a post-execute hook; true if it existed. */
  unregisterPostExecute(name: string): boolean {
    return this.#rooms.hooks.postExecute.delete(name);
  }
  /** Register a post-execute hook named after the function; returns it. */
  postExecute<F extends PostExecuteHook>(hook: F, name = hook.name || "post-execute"): F {
    return this.#rooms.hooks.add("postExecute", name, hook);
  }

  /** Register a startup hook (run once per worker when the consumer starts). */
  registerOnStartup(name: string, hook: LifecycleHook): void {
    this.#rooms.hooks.startup.set(name, hook);
  }
  /** Remove a startup hook; true if it existed. */
  unregisterOnStartup(name: string): boolean {
    return this.#rooms.hooks.startup.delete(name);
  }
  /** Register a startup hook named after the function; returns it. */
  onStartup<F extends LifecycleHook>(hook: F, name = hook.name || "startup"): F {
    return this.#rooms.hooks.add("startup", name, hook);
  }

  /** Register a shutdown hook (run once per worker when the consumer stops). */
  registerOnShutdown(name: string, hook: LifecycleHook): void {
    this.#rooms.hooks.shutdown.set(name, hook);
  }
  /** Remove a shutdown hook; true if it existed. */
  unregisterOnShutdown(name: string): boolean {
    return this.#rooms.hooks.shutdown.delete(name);
  }
  /** Register a shutdown hook named after the function; returns it. */
  onShutdown<F extends LifecycleHook>(hook: F, name = hook.name || "shutdown"): F {
    return this.#rooms.hooks.add("shutdown", name, hook);
  }

  /** Run the startup hooks in order; a failing hook is logged and the rest still run. */
  readonly runStartupHooks = (): Promise<void> => this.#rooms.hooks.runStartup();
  /** Run the shutdown hooks in order; a failing hook is logged and the rest still run. */
  readonly runShutdownHooks = (): Promise<void> => this.#rooms.hooks.runShutdown();

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
    this.#rooms.signals.connect(handler, names);
    return handler;
  }

  /** Disconnect `handler` from `names` (all when none are given). */
  disconnectSignal(handler: SignalHandler, ...names: SignalName[]): void {
    this.#rooms.signals.disconnect(handler, names);
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
    return this.#rooms.events.subscribe(options);
  }

  /**
   * What is stored when `task` fails with `error`, and what its `.error()`
   * handler receives (huey's `build_error_result`). Override it in a
   * subclass to store more: `{ ...super.buildErrorResult(task, error), host }`;
   * `TaskError.metadata` has every field.
   */
  buildErrorResult(task: Task, error: unknown): TaskErrorInfo {
    return errorResult(task, error);
  }

  /** Close the storage (and the immediate-mode memory storage). */
  close(): Promise<void> {
    return this.#storages.close();
  }
}
