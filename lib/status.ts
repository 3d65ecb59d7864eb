/**
 * Task status by id (`huey.status(id)`, `result.status()`), progress
 * (`ctx.progress()`, `result.progress()`), and the running list
 * (`huey.running()`): records in the storage's record store, which a read
 * never consumes and which expire `statusTtl` seconds after the task ends.
 *
 * What is written, and when:
 * - `running` when a run starts, and `complete` when it ends, only with
 *   `trackStatus: true` (two record writes per task, on the hot path),
 *   except `complete` after a retry, always written (it replaces `retrying`);
 * - `failed`, `retrying`, `revoked`, `expired`, `cancelled` always: those
 *   runs are off the hot path, and the result store cannot tell them;
 * - `dead` and `cancelled` by other rooms through {@link StatusBook.record}.
 *
 * What is derived when no record says: `complete` or `failed` from a result
 * in the result store (peeked, not consumed), `queued`, `running` and
 * `scheduled` from where the message is (the queue, the leases and the
 * schedule are scanned for the id: an inspection, not a hot-path read),
 * otherwise `unknown`.
 *
 * @module
 */
import { describeError } from "./_util.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { OWN_KEYS } from "./keys.ts";
import type { Logger } from "./logger.ts";
import type { Serializer } from "./serializer.ts";
import type { Storage } from "./storage/types.ts";
import { checkTaskId } from "./task.ts";
import type { Task } from "./task.ts";
import type { ProgressReport } from "./context.ts";

/** Where a task is in its life (see `huey.status()`). */
export type TaskState =
  | "queued"
  | "scheduled"
  | "running"
  | "retrying"
  | "complete"
  | "failed"
  | "revoked"
  | "expired"
  | "cancelled"
  | "dead"
  | "unknown";

/** The last progress a running task reported with `ctx.progress()`. */
export interface Progress {
  /** The value the task reported (e.g. a fraction done, or items processed). */
  value: number;
  /** What else the task said (serialized like results: Dates, Maps, ... survive). */
  meta?: unknown;
  /** When it was reported, ms since the epoch. */
  time: number;
}

/** What `huey.status(id)` tells about one task. */
export interface TaskStatus {
  /** The task id asked about. */
  id: string;
  /** The task's name, when known. */
  name?: string;
  /** Where the task is. */
  state: TaskState;
  /** How many times it has started running (0 while it never ran, or when unknown). */
  attempts: number;
  /** The last error, for `failed` and `retrying` (and `dead`, when known). */
  error?: TaskErrorInfo;
  /** When it was made (read from huey's own UUID v7 ids; unknown for an id of your own), ms since the epoch. */
  enqueuedAt?: number;
  /** When its last run started, ms since the epoch, when known. */
  startedAt?: number;
  /** When it ended (or its last attempt did), ms since the epoch, when known. */
  finishedAt?: number;
  /** The id of the consumer running it (or that ran it), when known. */
  consumer?: string;
  /** The last progress it reported, if any. */
  progress?: Progress;
}

/** A change to a task's status record (see {@link StatusBook.record}). */
export type StatusPatch = Partial<Omit<TaskStatus, "id" | "progress">> & { state: TaskState };

/** What a {@link StatusBook} needs from its Huey. */
export interface StatusHost {
  /** The storage in use (it changes with immediate mode). */
  readonly storage: Storage;
  /** How records and progress metadata are encoded. */
  readonly serializer: Serializer;
  /** Seconds a status record is kept after the task ends. */
  readonly statusTtl: number;
  /** Record `running` and `complete` too (two writes per task). */
  readonly trackStatus: boolean;
  /** The current time, ms since the epoch. */
  now(): number;
  /** Where a status write that failed is logged (it never fails the run). */
  readonly logger: Logger;
  /** Decode a message (to find an id in the queue or the schedule); throws when it cannot. */
  decode(data: string): Task;
}

/** A `progress` event, as `huey.events()` delivers it. */
export interface ProgressEvent {
  /** Always `progress`. */
  signal: "progress";
  /** The task's id. */
  id: string;
  /** The task's name. */
  name: string;
  /** When it was reported, ms since the epoch. */
  time: number;
  /** What the task reported. */
  progress: { value: number; meta?: unknown };
}

/** The states after which nothing more happens to a task. */
const FINAL: ReadonlySet<TaskState> = new Set([
  "complete",
  "failed",
  "revoked",
  "expired",
  "cancelled",
  "dead",
]);

/**
 * The state a run's outcome leaves its task in: `status` is the executor's
 * (`complete`, `error`, `timeout`, `canceled`, ...); `retrying` when another
 * attempt is scheduled.
 *
 * @example
 * ```ts
 * import { stateOf } from "./status.ts";
 * console.log(stateOf("timeout", true), stateOf("timeout", false)); // "retrying" "failed"
 * ```
 */
export function stateOf(status: string, retrying: boolean): TaskState {
  if (status === "complete") return "complete";
  if (retrying) return "retrying";
  return status === "canceled" ? "cancelled" : "failed";
}

/** The longest lifetime a record may have, in seconds (as `Storage.putRecord` allows). */
const MAX_RECORD_TTL = 1e10;

/** The shortest pause between two stored progress reports of one task, ms. */
export const PROGRESS_INTERVAL_MS = 250;

/** A task's progress waiting out {@link PROGRESS_INTERVAL_MS}. */
interface Throttle {
  last: number;
  pending?: Progress;
  timer?: ReturnType<typeof setTimeout>;
  write?: Promise<void>;
}

/**
 * Reads and writes task status records.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey();
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const r = await add(1, 2);
 * console.log((await huey.status(r.id)).state); // "queued"
 * ```
 */
export class StatusBook {
  readonly #host: StatusHost;
  readonly #throttles = new Map<string, Throttle>();

  /** The status records of `host`'s storage. */
  constructor(host: StatusHost) {
    this.#host = host;
  }

  /** Whether `running` and `complete` are recorded. */
  get tracking(): boolean {
    return this.#host.trackStatus;
  }

  /**
   * Replace the status record of task `id` with `patch` (plus the id):
   * what another room calls to record `cancelled` or `dead`. Final states
   * are kept `statusTtl` seconds; the others until `until` (ms) if later.
   */
  async record(id: string, patch: StatusPatch, until?: number): Promise<void> {
    const host = this.#host;
    const now = host.now();
    let ttl = host.statusTtl;
    if (!FINAL.has(patch.state) && until !== undefined && until > now) {
      // Kept until the retry runs, however far off (within what a record may live).
      ttl = Math.min(ttl + (until - now) / 1000, MAX_RECORD_TTL);
    }
    const record: TaskStatus = { id, ...patch, attempts: patch.attempts ?? 0 };
    await host.storage.putRecord(OWN_KEYS.status(id), host.serializer.encode(record), ttl, now);
  }

  /** Record `task` as cancelled (by `huey.cancel()` or a pre-execute hook). */
  markCancelled(task: Task, error?: TaskErrorInfo): Promise<void> {
    return this.record(task.id, this.#fields(task, "cancelled", { error }));
  }

  /** Record task `id` as dead (set aside in the dead-letter store for good). */
  markDead(id: string, info: Omit<StatusPatch, "state"> = {}): Promise<void> {
    return this.record(id, {
      ...info,
      state: "dead",
      finishedAt: info.finishedAt ?? this.#host.now(),
    });
  }

  /**
   * A run of `task` starts, in consumer `consumer`: counts the attempt (on
   * the task, so a retry carries it) and, with `trackStatus`, records `running`.
   */
  started(task: Task, consumer: string | undefined, startedAt: number): Promise<void> | undefined {
    task.attempts = (task.attempts ?? 0) + 1;
    if (!this.#host.trackStatus) return undefined;
    return this.#quietly(
      task,
      this.record(task.id, this.#fields(task, "running", { consumer, startedAt })),
    );
  }

  /**
   * A run of `task` ended as `state` (with `error`, in consumer
   * `consumer`, started at `startedAt`): recorded unless it is `complete`
   * without `trackStatus` (the result store tells that: `undefined` at once).
   */
  finished(
    task: Task,
    state: TaskState,
    error?: TaskErrorInfo,
    consumer?: string,
    startedAt?: number,
  ): Promise<void> | undefined {
    // Without trackStatus a first-run `complete` is left to the result store (nothing to
    // wait for on the hot path); after a retry it is written, or `retrying` would outlive it.
    if (state === "complete" && !this.#host.trackStatus && (task.attempts ?? 0) <= 1) return;
    const fields = this.#fields(task, state, {
      error,
      consumer,
      startedAt,
      finishedAt: this.#host.now(),
    });
    const until = state === "retrying" ? task.eta?.getTime() : undefined;
    return this.#quietly(task, this.record(task.id, fields, until));
  }

  /**
   * Wait for a status write of `task`; a failure is logged, not thrown: the
   * run's outcome is stored and acknowledged already, so a failed status
   * write must not make the message run again.
   */
  async #quietly(task: Task, write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (error) {
      this.#host.logger.warn(`Cannot record the status of ${task}: ${describeError(error)}`);
    }
  }

  #fields(task: Task, state: TaskState, more: Omit<StatusPatch, "state">): StatusPatch {
    const fields: StatusPatch = { state, name: task.name, attempts: task.attempts ?? 0 };
    for (const [key, value] of Object.entries(more)) {
      if (value !== undefined) (fields as Record<string, unknown>)[key] = value;
    }
    return fields;
  }

  /**
   * Store `value` as the progress of the running `task`, at most once per
   * {@link PROGRESS_INTERVAL_MS}: a report inside the interval replaces the
   * pending one, which is written when the interval ends (or the run does).
   * Resolves once this report is stored or superseded.
   */
  progress(
    task: Task,
    value: number,
    meta?: unknown,
    announce?: (progress: { time: number; progress: { value: number; meta?: unknown } }) => void,
  ): Promise<void> {
    if (typeof value !== "number" || Number.isNaN(value)) {
      return Promise.reject(
        new TypeError(
          `Cannot report progress of ${task}: value must be a number: ${String(value)}`,
        ),
      );
    }
    const now = this.#host.now();
    const report: Progress = meta === undefined ? { value, time: now } : { value, meta, time: now };
    // Every report is announced (events are cheap and in order); only the writes are thinned.
    announce?.({ time: now, progress: meta === undefined ? { value } : { value, meta } });
    let throttle = this.#throttles.get(task.id);
    if (!throttle) this.#throttles.set(task.id, throttle = { last: -Infinity });
    const wait = throttle.last + PROGRESS_INTERVAL_MS - now;
    if (wait <= 0 && !throttle.timer) return this.#writeProgress(task, throttle, report);
    throttle.pending = report;
    throttle.timer ??= setTimeout(() => {
      throttle.timer = undefined;
      const pending = throttle.pending;
      throttle.pending = undefined;
      if (pending) void this.#writeProgress(task, throttle, pending).catch(() => {});
    }, Math.max(0, wait));
    return Promise.resolve();
  }

  #writeProgress(task: Task, throttle: Throttle, report: Progress): Promise<void> {
    const host = this.#host;
    throttle.last = host.now();
    const text = host.serializer.encode(report);
    throttle.write = host.storage.putRecord(
      OWN_KEYS.progress(task.id),
      text,
      host.statusTtl,
      throttle.last,
    );
    return throttle.write;
  }

  /**
   * `ctx.progress()` of a run of `task`: each report stored (thinned, see
   * {@link progress}) and sent through `publish` as a `progress` event.
   */
  reporter(task: Task, publish: (event: ProgressEvent) => void): ProgressReport {
    const { id, name } = task;
    return (value, meta) =>
      this.progress(task, value, meta, (p) => publish({ signal: "progress", id, name, ...p }));
  }

  /**
   * The run of `task` ended: store the progress still waiting on the
   * throttle (never throws); `undefined` at once when it reported none.
   */
  settle(task: Task): Promise<void> | undefined {
    if (!this.#throttles.has(task.id)) return undefined;
    return this.#quietly(task, this.#flushProgress(task.id));
  }

  /** Write the progress still waiting on the throttle of task `id`, and forget the throttle. */
  async #flushProgress(id: string): Promise<void> {
    const throttle = this.#throttles.get(id);
    if (!throttle) return;
    this.#throttles.delete(id);
    clearTimeout(throttle.timer);
    await throttle.write?.catch(() => {});
    const pending = throttle.pending;
    if (pending) {
      const host = this.#host;
      await host.storage.putRecord(
        OWN_KEYS.progress(id),
        host.serializer.encode(pending),
        host.statusTtl,
        host.now(),
      );
    }
  }

  /** The last progress task `id` reported, or `undefined`. */
  async readProgress(id: string): Promise<Progress | undefined> {
    const text = await this.#host.storage.getRecord(OWN_KEYS.progress(id), this.#host.now());
    return text === undefined ? undefined : this.#host.serializer.decode(text) as Progress;
  }

  /** The status of task `id` (see the module notes for what is recorded and what derived). */
  async status(id: string): Promise<TaskStatus> {
    checkTaskId(id, "a status of a task");
    const host = this.#host;
    const storage = host.storage;
    const [text, progress] = await Promise.all([
      storage.getRecord(OWN_KEYS.status(id), host.now()),
      this.readProgress(id),
    ]);
    const withProgress = (status: TaskStatus): TaskStatus => {
      const enqueuedAt = status.enqueuedAt ?? idTime(id);
      const timed = enqueuedAt === undefined ? status : { ...status, enqueuedAt };
      return progress ? { ...timed, progress } : timed;
    };
    const recorded = text === undefined ? undefined : host.serializer.decode(text) as TaskStatus;
    // A run stores its result before it records `complete`: between the two, the result tells.
    if (recorded?.state === "retrying" && !host.trackStatus) {
      // Nothing records the retry's run without trackStatus: its lease tells.
      const leased = this.#find(await storage.leasedItems(), id);
      if (leased) {
        return withProgress({ ...recorded, state: "running", attempts: recorded.attempts + 1 });
      }
    }
    if (recorded && recorded.state !== "running") return withProgress(recorded);
    const stored = await storage.peekData(id);
    if (recorded && stored === undefined) return withProgress(recorded);
    if (stored !== undefined) {
      const result = host.serializer.decode(stored) as { error?: TaskErrorInfo };
      const error = result?.error;
      const known = { attempts: 1, ...recorded, id };
      return withProgress(
        error
          ? { ...known, name: error.taskName, state: "failed", error }
          : { ...known, state: "complete" },
      );
    }
    const queued = this.#find(await storage.enqueuedItems(), id);
    if (queued) return withProgress(this.#waiting(queued, "queued"));
    // Taken by a consumer and not acknowledged: running (which consumer, only with trackStatus).
    const leased = this.#find(await storage.leasedItems(), id);
    if (leased) return withProgress(this.#waiting(leased, "running"));
    const scheduled = this.#find(await storage.scheduledItems(), id);
    if (scheduled) return withProgress(this.#waiting(scheduled, "scheduled"));
    return withProgress({ id, state: "unknown", attempts: 0 });
  }

  #waiting(task: Task, state: TaskState): TaskStatus {
    return { id: task.id, name: task.name, state, attempts: task.attempts ?? 0 };
  }

  /** The message of task `id` among `items`, decoded; undefined when it is not there. */
  #find(items: string[], id: string): Task | undefined {
    for (const data of items) {
      if (!data.includes(id)) continue;
      try {
        const task = this.#host.decode(data);
        if (task.id === id) return task;
      } catch { /* not a message we can read: not the one asked about */ }
    }
    return undefined;
  }

  /**
   * The tasks consumers have taken and not finished (their leased
   * messages), most recently started first, at most `limit`; with
   * `trackStatus` each also names its consumer and start time (its
   * record), without it those are unknown. A message taken again after its
   * lease ran out shows once.
   */
  async running(limit?: number): Promise<TaskStatus[]> {
    const host = this.#host;
    const running: TaskStatus[] = [];
    for (const data of await host.storage.leasedItems(limit)) {
      let task: Task;
      try {
        task = host.decode(data);
      } catch {
        continue; // not runnable: the executor sets it aside when it comes back
      }
      const text = host.trackStatus
        ? await host.storage.getRecord(OWN_KEYS.status(task.id), host.now())
        : undefined;
      const recorded = text === undefined ? undefined : host.serializer.decode(text) as TaskStatus;
      const status = recorded?.state === "running" ? recorded : this.#waiting(task, "running");
      const enqueuedAt = status.enqueuedAt ?? idTime(task.id);
      running.push(enqueuedAt === undefined ? status : { ...status, enqueuedAt });
    }
    running.sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
    return running;
  }
}

/**
 * When the task with id `id` was created, read from the id itself: the ids
 * huey makes are UUID version 7, whose first 48 bits are the creation time
 * in ms (so `enqueuedAt` costs no write). Undefined for an id of the
 * application's own (`schedule(args, { id })`).
 */
export function idTime(id: string): number | undefined {
  const match = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.exec(
    id,
  );
  return match ? parseInt(match[1] + match[2], 16) : undefined;
}
