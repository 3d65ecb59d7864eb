/**
 * What the dashboard page shows, read in one go: the metrics, the declared
 * tasks with their revocation, pending, scheduled and periodic tasks, the
 * error store, and (where the Huey has them) running tasks, consumers and
 * dead letters. Plain JSON; the page renders every string as text.
 *
 * @module
 */
import { truncate } from "../_util.ts";
import { readMetrics } from "../metrics.ts";
import type { MetricsHost, MetricsSnapshot } from "../metrics.ts";
import type { DeadLetter } from "../dead_letters.ts";
import type { ConsumerInfo } from "../heartbeat.ts";
import type { TaskStatus } from "../status.ts";
import type { Task } from "../task.ts";
import type { AnyTaskWrapper, PeriodicTaskWrapper } from "../wrapper.ts";

/** What the dashboard reads and acts through: a Huey. */
export interface DashboardHost extends MetricsHost {
  /** The app name. */
  readonly name: string;
  /** Tasks waiting in the queue. */
  pending(limit?: number): Promise<Task[]>;
  /** Rebuild a task from a message string (throws when it cannot be decoded). */
  decodeTask(data: string): Task;
  /** Tasks in the schedule. */
  scheduled(limit?: number): Promise<Task[]>;
  /** The periodic tasks. */
  periodicTasks(): PeriodicTaskWrapper[];
  /** Whether every invocation of a task is revoked (only the wrapper's `name` is read). */
  isRevoked(task: AnyTaskWrapper): Promise<boolean>;
  /** Revoke every invocation of a task. */
  revokeAll(task: string): Promise<void>;
  /** Undo `revokeAll`. */
  restoreAll(task: string): Promise<boolean>;
  /** Tasks recorded as running (with `trackStatus`), with their consumer and start time. */
  running(limit?: number): Promise<TaskStatus[]>;
  /** The consumers registered on this storage, with their heartbeats. */
  consumers(): Promise<ConsumerInfo[]>;
  /** Dead letters, when this Huey has them. */
  deadLetters(options?: { limit?: number }): Promise<DeadLetter[]>;
  /** Put a dead letter (or `"all"`) back in the queue; how many went back. */
  requeue(id: string): Promise<number>;
  /** Cancel a task, waiting, scheduled or running; false when there was nothing to cancel. */
  cancel(id: string): Promise<boolean>;
}

/** A task as the page lists it. */
export interface TaskRow {
  /** The invocation id. */
  id: string;
  /** The task name. */
  name: string;
  /** Its arguments as JSON, cut at 200 characters. */
  args: string;
  /** When it runs, ms since the epoch (scheduled tasks). */
  eta?: number;
  /** Its priority. */
  priority: number;
  /** Retries left. */
  retries: number;
}

/** A running task as the page lists it: its message, and what its status record adds. */
export interface RunningRow extends TaskRow {
  /** When its run started, ms since the epoch (recorded with `trackStatus`). */
  startedAt?: number;
  /** The id of the consumer running it (recorded with `trackStatus`). */
  consumer?: string;
  /** The last progress it reported (`ctx.progress`). */
  progress?: number;
}

/** A dead letter as the page lists it: the letter without its message, and the message's arguments. */
export interface DeadLetterRow extends Omit<DeadLetter, "data"> {
  /** The task's arguments as JSON; the raw message (cut at 200) when it does not decode. */
  args: string;
}

/** What `GET <prefix>/api/overview` returns. */
export interface Overview {
  /** The app name. */
  name: string;
  /** The storage class. */
  storage: string;
  /** The metrics (counts, histograms, the last hour, the queue now). */
  metrics: MetricsSnapshot;
  /** Every declared task, with whether it is revoked as a whole. */
  tasks: { name: string; revoked: boolean }[];
  /** The first `limit` pending tasks. */
  pending: TaskRow[];
  /** The first `limit` scheduled tasks. */
  scheduled: TaskRow[];
  /** Periodic tasks, their schedule and next run (ms; unset when the schedule cannot tell). */
  periodic: { name: string; schedule: string; nextRun?: number }[];
  /** The first `limit` messages leased to a consumer: running now. */
  running: RunningRow[];
  /** The consumers' heartbeats. */
  consumers: ConsumerInfo[];
  /** Dead letters: `null` where this Huey has no such room. */
  /** The first `limit` dead letters, oldest first. */
  deadLetters: DeadLetterRow[];
}

/** `args` as the page shows them: JSON (BigInts as strings), cut short. */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value, (_, v) => (typeof v === "bigint" ? `${v}n` : v)) ?? "undefined";
  } catch {
    text = String(value);
  }
  return truncate(text, 200);
}

function row(task: Task): TaskRow {
  return {
    id: task.id,
    name: task.name,
    args: preview(task.args),
    eta: task.eta?.getTime(),
    priority: task.priority,
    retries: task.retries,
  };
}

/**
 * The messages being run (leased), decoded for their arguments, with what
 * `huey.running()` adds (consumer and start with `trackStatus`, progress).
 */
async function readRunning(host: DashboardHost, limit: number): Promise<RunningRow[]> {
  const [records, leased] = await Promise.all([
    host.running(limit),
    host.storage.leasedItems(limit),
  ]);
  const byId = new Map(records.map((record) => [record.id, record]));
  return leased.flatMap((data) => {
    let task: Task;
    try {
      task = host.decodeTask(data);
    } catch {
      return []; // an undecodable message is set aside by its consumer, and listed there
    }
    const record = byId.get(task.id);
    return [{
      ...row(task),
      startedAt: record?.startedAt,
      consumer: record?.consumer,
      progress: record?.progress?.value,
    }];
  });
}

/** The arguments of the message `data` as the page shows them, or the message itself. */
function args(host: DashboardHost, data: string): string {
  try {
    return preview(host.decodeTask(data).args);
  } catch {
    return truncate(data, 200);
  }
}

/**
 * Read everything the page shows, at most `limit` of each list, all at once.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../../mod.ts";
 * import { readOverview } from "./overview.ts";
 * const huey = new MemoryHuey();
 * huey.task("add", (a: number, b: number) => a + b);
 * console.log((await readOverview(huey, 50)).tasks); // [{ name: "add", revoked: false }]
 * ```
 */
export async function readOverview(host: DashboardHost, limit: number): Promise<Overview> {
  const names = host.taskNames();
  const now = new Date(host.now());
  const [metrics, revoked, pending, scheduled, running, consumers, deadLetters] = await Promise.all(
    [
      readMetrics(host),
      // By name: the dashboard has no wrappers, and revocation reads only the name.
      Promise.all(names.map((name) => host.isRevoked({ name } as AnyTaskWrapper))),
      host.pending(limit),
      host.scheduled(limit),
      readRunning(host, limit),
      host.consumers(),
      host.deadLetters({ limit }),
    ],
  );
  return {
    name: host.name,
    storage: host.storage.constructor.name,
    metrics,
    tasks: names.map((name, i) => ({ name, revoked: revoked[i] })),
    pending: pending.map(row),
    scheduled: scheduled.map(row),
    periodic: host.periodicTasks().map((wrapper) => ({
      name: wrapper.name,
      // A plain function's String() is its source: only a crontab names itself.
      schedule: wrapper.validateDatetime.nextRun
        ? String(wrapper.validateDatetime)
        : "(a function)",
      nextRun: wrapper.validateDatetime.nextRun?.(now).getTime(),
    })),
    running,
    consumers,
    deadLetters: deadLetters.map(({ data, ...letter }) => ({ ...letter, args: args(host, data) })),
  };
}
