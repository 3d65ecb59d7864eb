/**
 * What the `huey` subcommands read from and do to an app's storage, as
 * plain data (the commands print it as a table or as JSON). Each function
 * takes the app's Huey, loaded as the consumer loads it, without starting a
 * consumer.
 *
 * Status, running tasks and consumers come from the Huey (`huey.status()`,
 * `huey.running()`, `huey.consumers()`); cancel and dead letters from
 * `huey.cancel()`, `huey.deadLetters()` and `huey.requeue()` when the Huey
 * has them, until then from the error store.
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import type { TaskStatus } from "../status.ts";
import type { Task } from "../task.ts";
import { describeStorage } from "../consumer/outage.ts";
import { CommandError } from "./command_error.ts";

/** A task as the commands show it. */
export interface TaskRow {
  /** The invocation's id. */
  id: string;
  /** The task's name. */
  name: string;
  /** Its arguments. */
  args: unknown[];
  /** Its priority. */
  priority: number;
  /** When it is due (ISO time), for scheduled tasks and retries. */
  eta?: string;
  /** Retries left. */
  retries: number;
}

/** `task` as a {@link TaskRow}. */
export function taskRow(task: Task): TaskRow {
  return {
    id: task.id,
    name: task.name,
    args: task.args,
    priority: task.priority ?? 0,
    ...(task.eta ? { eta: task.eta.toISOString() } : {}),
    retries: task.retries ?? 0,
  };
}

/** A message set aside (today's error store; dead letters once the Huey keeps them). */
export interface DeadRow {
  /** The dead letter's id, where the Huey keeps dead letters; else its position in the error store. */
  id: string;
  /** The task's id, when the message decodes. */
  taskId?: string;
  /** The task's name, when the message decodes. */
  taskName?: string;
  /** Why it was set aside. */
  reason: string;
  /** When (ISO time). */
  time: string;
}

/** The operations API the Huey gains with cancelling and dead letters (issue 15). */
interface Operations {
  cancel(id: string): Promise<boolean>;
  deadLetters(options?: { limit?: number }): Promise<Record<string, unknown>[]>;
  requeue(id: string): Promise<number>;
}

/** The Huey's call `name`, when it has it. */
function operation<K extends keyof Operations>(huey: Huey, name: K): Operations[K] | undefined {
  const fn = (huey as unknown as Partial<Operations>)[name];
  return typeof fn === "function" ? fn.bind(huey) as Operations[K] : undefined;
}

/** The periodic tasks with their schedules and next runs. */
function periodicRows(huey: Huey, now: Date) {
  return huey.periodicTasks().map((wrapper) => {
    const schedule = wrapper.validateDatetime;
    const next = schedule.nextRun?.(now, huey.utc);
    return {
      name: wrapper.name,
      schedule: String(schedule),
      ...(next ? { nextRun: next.toISOString() } : {}),
    };
  });
}

/** What `huey info` shows. */
export async function info(huey: Huey) {
  const storage = huey.storage;
  const [queued, scheduled, running, dead, results, consumers] = await Promise.all([
    storage.queueSize(),
    storage.scheduleSize(),
    storage.leasedSize(),
    deadLetters(huey).then((rows) => rows.length),
    storage.resultStoreSize(),
    huey.consumers(),
  ]);
  return {
    name: huey.name,
    storage: {
      kind: storage.constructor.name,
      name: storage.name,
      ...(storage.location ? { location: storage.location } : {}),
    },
    queued,
    scheduled,
    running,
    deadLetters: dead,
    results,
    consumersAlive: consumers.filter((c) => c.alive).length,
    consumers: consumers.map((c) => ({
      ...c,
      startedAt: new Date(c.startedAt).toISOString(),
      lastBeat: new Date(c.lastBeat).toISOString(),
    })),
    tasks: huey.taskNames(),
    periodic: periodicRows(huey, new Date(huey.now())),
  };
}

/** Tasks waiting in the queue, in the order they will run. */
export async function pending(huey: Huey, limit?: number): Promise<TaskRow[]> {
  return (await huey.pending(limit)).map(taskRow);
}

/** Tasks in the schedule, earliest first. */
export async function scheduled(huey: Huey, limit?: number): Promise<TaskRow[]> {
  return (await huey.scheduled(limit)).map(taskRow);
}

/** A status as the commands show it: times as ISO strings. */
export function statusRow(status: TaskStatus): Record<string, unknown> {
  const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    ...status,
    enqueuedAt: iso(status.enqueuedAt),
    startedAt: iso(status.startedAt),
    finishedAt: iso(status.finishedAt),
  };
}

/** Tasks consumers run now (with `trackStatus`, also which consumer and since when). */
export async function running(huey: Huey, limit: number): Promise<Record<string, unknown>[]> {
  return (await huey.running(limit)).map(statusRow);
}

/** Messages set aside: dead letters, or today's error store. */
export async function deadLetters(huey: Huey, limit?: number): Promise<DeadRow[]> {
  const list = operation(huey, "deadLetters");
  if (list) {
    return (await list(limit === undefined ? {} : { limit })).map((letter) => ({
      ...letter,
      id: String(letter.id),
      reason: String(letter.reason),
      time: new Date(Number(letter.time)).toISOString(),
    }));
  }
  const items = await huey.storage.errorItems(limit);
  return items.map((item, index) => {
    let task: Task | undefined;
    try {
      task = huey.decodeTask(item.data);
    } catch { /* an undecodable message: shown by its reason alone */ }
    return {
      id: String(index + 1),
      ...(task ? { taskId: task.id, taskName: task.name } : {}),
      reason: item.reason,
      time: new Date(item.time).toISOString(),
    };
  });
}

/** `huey.status(id)`; an id the storage knows nothing of is bad input. */
export async function status(huey: Huey, id: string): Promise<Record<string, unknown>> {
  let found: TaskStatus;
  try {
    found = await huey.status(id);
  } catch (error) {
    // A TypeError or RangeError: not an id a task can have.
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new CommandError(`bad task id ${JSON.stringify(id)}: ${error.message}`);
    }
    throw error;
  }
  if (found.state === "unknown") {
    throw new CommandError(
      `unknown task id ${JSON.stringify(id)}: not queued, scheduled, running or recorded in ${
        describeStorage(huey.storage)
      } (check the id; records are kept statusTtl seconds after a task ends)`,
    );
  }
  return statusRow(found);
}

/** Put dead letters back in the queue: one by id, or all; how many went back. */
export async function requeue(huey: Huey, id: string): Promise<number> {
  const put = operation(huey, "requeue");
  if (!put) {
    throw new CommandError(
      `requeue is not available with this version of huey: it needs dead letters (huey.requeue)`,
    );
  }
  const count = await put(id);
  if (count === 0 && id !== "all") {
    throw new CommandError(
      `unknown dead letter ${JSON.stringify(id)} in ${
        describeStorage(huey.storage)
      } (list them: huey dead <app>)`,
    );
  }
  return count;
}

/** Cancel invocation `id`; throws for an id that is not queued, scheduled or running. */
export async function cancel(huey: Huey, id: string): Promise<boolean> {
  const stop = operation(huey, "cancel");
  if (!stop) {
    throw new CommandError(
      `cancel is not available with this version of huey: it needs huey.cancel`,
    );
  }
  if (!(await stop(id))) {
    throw new CommandError(
      `cannot cancel ${JSON.stringify(id)}: no such task is queued, scheduled or running in ${
        describeStorage(huey.storage)
      } (see huey status <app> ID)`,
    );
  }
  return true;
}

/** Check that the app declares task `name`. */
function declared(huey: Huey, name: string): void {
  const names = huey.taskNames();
  if (!names.includes(name)) {
    throw new CommandError(
      `unknown task ${JSON.stringify(name)}: the app declares ${
        names.length ? names.join(", ") : "no tasks"
      }`,
    );
  }
}

/** Revoke every invocation of task `name` (until restored). */
export async function revoke(huey: Huey, name: string): Promise<{ task: string; revoked: true }> {
  declared(huey, name);
  await huey.revokeAll(name);
  return { task: name, revoked: true };
}

/** Restore task `name`; `restored` false when it was not revoked. */
export async function restore(
  huey: Huey,
  name: string,
): Promise<{ task: string; restored: boolean }> {
  declared(huey, name);
  return { task: name, restored: await huey.restoreAll(name) };
}

/** What `huey flush` can empty. */
export const FLUSHABLE = ["queue", "schedule", "results", "locks"] as const;

/** One of {@link FLUSHABLE}. */
export type Flushable = typeof FLUSHABLE[number];

/** Empty each of `parts`; returns how many items each held (locks: their names). */
export async function flush(
  huey: Huey,
  parts: readonly Flushable[],
): Promise<Partial<Record<Flushable, number | string[]>>> {
  const storage = huey.storage;
  const out: Partial<Record<Flushable, number | string[]>> = {};
  for (const part of parts) {
    if (part === "queue") {
      out.queue = (await storage.queueSize()) + (await storage.leasedSize());
      await storage.flushQueue();
    } else if (part === "schedule") {
      out.schedule = await storage.scheduleSize();
      await storage.flushSchedule();
    } else if (part === "results") {
      out.results = await storage.resultStoreSize();
      await storage.flushResults();
    } else {
      out.locks = await huey.flushLocks();
    }
  }
  return out;
}
