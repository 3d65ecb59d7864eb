/**
 * What the `huey` subcommands read from and do to an app's storage, as
 * plain data (the commands print it as a table or as JSON). Each function
 * takes the app's Huey, loaded as the consumer loads it, without starting a
 * consumer.
 *
 * Each is a Huey call or a few (`huey.status()`, `huey.running()`,
 * `huey.consumers()`, `huey.deadLetters()`, `huey.requeue()`,
 * `huey.cancel()`, ...) with the checks that make bad input one clear line.
 *
 * @module
 */
import type { Huey } from "../huey.ts";
import type { DeadLetter } from "../dead_letters.ts";
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

/** A dead letter as the commands show it: its time as an ISO string, without the raw message. */
export function deadRow(letter: DeadLetter): Record<string, unknown> {
  const { data: _data, ...shown } = letter;
  return { ...shown, time: new Date(letter.time).toISOString() };
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

/** The dead letters, oldest first. */
export async function deadLetters(huey: Huey, limit?: number): Promise<Record<string, unknown>[]> {
  return (await huey.deadLetters(limit === undefined ? {} : { limit })).map(deadRow);
}

/** `call()`, a Huey call about task `id`: a TypeError or RangeError (not an id a task can have) is bad input. */
async function byId<T>(id: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) {
      throw new CommandError(`bad task id ${JSON.stringify(id)}: ${error.message}`);
    }
    throw error;
  }
}

/** `huey.status(id)`; an id the storage knows nothing of is bad input. */
export async function status(huey: Huey, id: string): Promise<Record<string, unknown>> {
  const found = await byId(id, () => huey.status(id));
  if (found.state === "unknown") {
    throw new CommandError(
      `unknown task id ${JSON.stringify(id)}: not queued, scheduled, running or recorded in ${
        describeStorage(huey.storage)
      } (check the id; records are kept statusTtl seconds after a task ends)`,
    );
  }
  return statusRow(found);
}

/** Put the dead letter `id` (or its task id), or `"all"`, back in the queue; how many went back. */
export async function requeue(huey: Huey, id: string): Promise<number> {
  const count = await huey.requeue(id);
  if (count === 0 && id !== "all") {
    throw new CommandError(
      `unknown dead letter ${JSON.stringify(id)} in ${
        describeStorage(huey.storage)
      } (neither a dead letter's id nor a task id; list them: huey dead <app>)`,
    );
  }
  return count;
}

/** Cancel invocation `id`; an id that is not queued, scheduled or running is bad input. */
export async function cancel(huey: Huey, id: string): Promise<void> {
  if (!(await byId(id, () => huey.cancel(id)))) {
    throw new CommandError(
      `cannot cancel ${JSON.stringify(id)}: no such task is queued, scheduled or running in ${
        describeStorage(huey.storage)
      } (see huey status <app> ID)`,
    );
  }
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
