/**
 * The rooms a Huey is made of, and how they are wired to each other: the
 * registry, the wire form, revocation, hooks, signals and events, locks,
 * rate limits, the result store, where a task goes (enqueue; groups and
 * chords too) and what runs
 * it (the executor). `Huey` builds them once and its methods hand off to them.
 *
 * @module
 */
import { Chord, lastOf, prepareChord } from "./chord.ts";
import type { ChordHost } from "./chord.ts";
import { Enqueuer } from "./enqueue.ts";
import type { EnqueuerHost } from "./enqueue.ts";
import { Cancellations } from "./cancel.ts";
import type { CancelHost } from "./cancel.ts";
import { DeadLetters } from "./dead_letters.ts";
import type { DeadLetterHost } from "./dead_letters.ts";
import { EventFeed } from "./events.ts";
import type { EventFeedHost } from "./events.ts";
import { Executor } from "./executor.ts";
import type { ExecutorHost } from "./executor.ts";
import { Group } from "./group.ts";
import { Hooks } from "./hooks.ts";
import { Locks } from "./lock.ts";
import { MessageCodec } from "./message.ts";
import { RateLimit } from "./rate_limit.ts";
import type { RateLimitDeclaration } from "./rate_limit.ts";
import { checkSeconds, checkTaskOptions, Registry } from "./registry.ts";
import { ChordResult, Result, ResultGroup } from "./result.ts";
import type { ResultBackend } from "./result.ts";
import { ResultStore } from "./result_store.ts";
import type { ResultStoreHost } from "./result_store.ts";
import { Revocations } from "./revocation.ts";
import type { RevocationHost } from "./revocation.ts";
import { Signals } from "./signals.ts";
import { StatusBook } from "./status.ts";
import type { TaskDefinition } from "./registry.ts";
import type { Task } from "./task.ts";
import { Uniqueness } from "./unique.ts";
import type { UniquenessHost } from "./unique.ts";
import { createWrapper } from "./wrapper.ts";
import type { PeriodicTaskWrapper, TaskWrapper, WrapperHost } from "./wrapper.ts";

/** What the rooms need from the Huey that holds them: its settings, storage, logger and clock. */
export interface HueyHost
  extends
    ExecutorHost,
    EnqueuerHost,
    EventFeedHost,
    RevocationHost,
    ResultStoreHost,
    UniquenessHost,
    DeadLetterHost,
    CancelHost {}

/** The Huey options the rooms read (see `HueyOptions`). */
export interface RoomOptions {
  /** Emit events (signals still fire without). @default true */
  events?: boolean;
  /** See `HueyOptions.uniqueTtl`. */
  uniqueTtl?: number;
  /** See `HueyOptions.statusTtl`. @default 86400 */
  statusTtl?: number;
  /** See `HueyOptions.trackStatus`. @default false */
  trackStatus?: boolean;
}

/** A Huey's rooms, wired. */
export interface Rooms {
  /** The declared tasks. */
  readonly registry: Registry;
  /** Message strings to tasks and back. */
  readonly codec: MessageCodec;
  /** Revocation. */
  readonly revocations: Revocations;
  /** Pre/post-execute and lifecycle hooks. */
  readonly hooks: Hooks;
  /** Signal handlers. */
  readonly signals: Signals;
  /** Events, in this process or through the storage's pub/sub. */
  readonly events: EventFeed;
  /** The declared locks. */
  readonly locks: Locks;
  /** A rate limit on this Huey's storage and clock. */
  readonly rateLimit: RateLimitDeclaration;
  /** Results and the app's key/values. */
  readonly store: ResultStore;
  /** Where a task goes. */
  readonly enqueuer: Enqueuer;
  /**
   * `huey.enqueue`: put a task (or pipeline), a group or a chord where it
   * goes, and return the handles on its results.
   */
  readonly submit: (
    item: Task | Group | Chord,
  ) => Promise<
    Result<unknown> | ResultGroup<unknown[]> | ChordResult<unknown, unknown[], unknown[]>
  >;
  /** What runs tasks. */
  readonly executor: Executor;
  /** The dead-letter store. */
  readonly deadLetters: DeadLetters;
  /** Cancellations. */
  readonly cancellations: Cancellations;
  /** Task status records and progress. */
  readonly status: StatusBook;
  /** What a `Result` reads through. */
  readonly backend: ResultBackend;
  /** What a task wrapper enqueues and revokes through. */
  readonly wrappers: WrapperHost;
  /** Declare a task (checked by the registry) and make its wrapper. */
  declare(definition: TaskDefinition): TaskWrapper<unknown[], unknown>;
  /** The wrappers of the periodic tasks, in declaration order. */
  periodicTasks(): PeriodicTaskWrapper[];
}

/**
 * Build the rooms of the Huey `host` with the Huey's `options` (checked
 * here: a bad `statusTtl` is a RangeError naming it).
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey(); // its constructor calls buildRooms(this, ...)
 * console.log(huey.executor.registry.names()); // []
 * ```
 */
export function buildRooms(host: HueyHost, options: RoomOptions = {}): Rooms {
  const { events = true, uniqueTtl, statusTtl = 86400, trackStatus = false } = options;
  checkSeconds(options.statusTtl, "statusTtl", false);
  const registry = new Registry();
  const codec = new MessageCodec(host.serializer);
  const revocations = new Revocations(host);
  const hooks = new Hooks(() => host.logger);
  const signals = new Signals();
  const feed = new EventFeed(host, signals, events);
  const store = new ResultStore(host);
  const unique = new Uniqueness(host, uniqueTtl);
  const status = new StatusBook({
    get storage() {
      return host.storage;
    },
    get logger() {
      return host.logger;
    },
    serializer: codec.serializer,
    statusTtl,
    trackStatus,
    now: () => host.now(),
    decode: (data) => codec.decode(data),
  });
  // The executor runs what the enqueuer puts in immediate mode (called only
  // once both exist), and puts retries and a pipeline's next tasks through it.
  const enqueuer: Enqueuer = new Enqueuer(
    host,
    codec,
    feed,
    (task, now) => executor.execute(task, { now }),
    registry,
    unique,
  );
  const chords: ChordHost = {
    get storage() {
      return host.storage;
    },
    serializer: codec.serializer,
    now: () => host.now(),
    put: (task) => enqueuer.put(task),
  };
  const deadLetters = new DeadLetters(host, codec, registry, unique, status);
  const cancellations = new Cancellations(host, {
    revocations,
    events: feed,
    codec,
    unique,
    status,
  });
  const executor: Executor = new Executor(
    host,
    {
      registry,
      codec,
      revocations,
      hooks,
      events: feed,
      unique,
      chords,
      status,
      deadLetters,
      cancellations,
    },
    (task, now) => enqueuer.put(task, now),
  );
  const backend: ResultBackend = {
    results: host.results,
    storeNone: host.storeNone,
    store,
    revocations,
    cancel: (id) => cancellations.cancel(id),
    status,
    reschedule: async (original, call) => {
      // Built (and its options checked) before the original is revoked.
      const task = enqueuer.rescheduled(original, call);
      // Once, as huey's Result.revoke(): its key goes with the skipped run.
      await revocations.revokeById(original.id, { revokeOnce: true });
      await enqueuer.put(task);
      return new Result(backend, task);
    },
  };
  const handle = (task: Task) => new Result(backend, task);
  const handles = (tasks: Task[]) => new ResultGroup(tasks.map(handle));
  const submit: Rooms["submit"] = async (item) => {
    if (item instanceof Chord) {
      // The members (inner chords' too) go in one storage operation.
      const { tasks, members, callback } = prepareChord(item, host.now());
      await enqueuer.submitMany(tasks);
      // One handle on the callback, so a value read through either is kept by both.
      const first = handle(callback);
      const rest = callback.pipeline().slice(1).map(handle);
      const pipeline = rest.length ? new ResultGroup([first, ...rest]) : undefined;
      return new ChordResult(handles(members), first, pipeline);
    }
    if (item instanceof Group) {
      await enqueuer.submitMany(item.tasks);
      return handles(item.tasks.map(lastOf));
    }
    await enqueuer.submit(item);
    return item.onComplete ? handles(item.pipeline()) : handle(item);
  };
  const wrappers: WrapperHost = {
    newTask: (definition, args, call) => registry.newTask(definition, args, call, host.now()),
    checkCall: checkTaskOptions,
    // A unique task whose id is taken resolves to the Result of the task that holds it.
    enqueue: (task, tx) => enqueuer.submit(task, tx).then(() => new Result(backend, task)),
    enqueueMany: async (tasks) => {
      await enqueuer.submitMany(tasks);
      return new ResultGroup(tasks.map((task) => new Result(backend, task)));
    },
    revokeAll: (name, options) => revocations.revokeAll(name, options),
    restoreAll: (name) => revocations.restoreAll(name),
    isTaskRevoked: (name, date) => revocations.isTaskRevoked(name, date),
    unregister: (definition) => made.delete(definition) && registry.unregister(definition),
  };
  // Each declaration's wrapper, for periodicTasks(); gone once unregistered.
  const made = new Map<TaskDefinition, TaskWrapper<unknown[], unknown>>();
  return {
    registry,
    codec,
    revocations,
    hooks,
    signals,
    events: feed,
    locks: new Locks(() => host.storage),
    rateLimit: (name, limit, per, options) => new RateLimit(host, name, limit, per, options),
    store,
    enqueuer,
    submit,
    executor,
    deadLetters,
    cancellations,
    status,
    backend,
    wrappers,
    declare: (definition) => {
      const wrapper = createWrapper(wrappers, registry.declare(definition));
      made.set(definition, wrapper);
      return wrapper;
    },
    periodicTasks: () =>
      registry.periodic().map((definition) => made.get(definition) as PeriodicTaskWrapper),
  };
}
