/**
 * Chords (huey 3.3's `chord`): members that run in parallel and a callback
 * that receives their results, as one array in declaration order, once the
 * last member has finished. A member is an invocation, a pipeline (its last
 * task's result counts) or another chord (its callback's result counts).
 *
 * How a chord completes, exactly once:
 *
 * - Enqueueing marks the last task of each member with the chord (id,
 *   position, size) and the callback message, and puts the members in the
 *   queue in one storage operation: no other write, so a chord is enqueued
 *   whole or not at all.
 * - When a member settles for good (its result, its error once no retry is
 *   left, or `undefined` when it is skipped: revoked, expired, cancelled
 *   before it ran), the executor calls {@link settleChordMember} after the
 *   fenced renewal of its lease (a stale run counts nothing) and before the
 *   message is acknowledged. It records the outcome with `putIfEmpty` (the
 *   first one recorded stands), then counts the member with `incr`, unless
 *   a marker says an earlier delivery of the same message counted it
 *   already. A member that runs twice is counted once.
 * - The run whose count reaches the chord's size reads every member's
 *   outcome. If one is missing (a member was counted twice: its consumer
 *   died between counting and marking it counted), the chord is not
 *   complete yet and the member still missing completes it. Otherwise the
 *   run takes the chord's "fired" marker (`putIfEmpty`): one run, of all
 *   those racing, enqueues the callback; then the chord's keys are removed.
 *
 * So several consumers finishing the last members at the same moment fire
 * the callback once. A consumer that dies after taking the marker and
 * before acknowledging its message leaves it to the rerun of that message,
 * which enqueues the callback again (at least once, as the next task of a
 * pipeline is).
 *
 * @module
 */
import { ConfigurationError, TaskError } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { OWN_KEYS } from "./keys.ts";
import { delayOf } from "./registry.ts";
import type { StoredResult } from "./result.ts";
import type { Serializer } from "./serializer.ts";
import type { Storage } from "./storage/types.ts";
import { newTaskId, shown, Task, TASK_LIMITS } from "./task.ts";
import type { AcceptsPiped, DropArgs, Last, PipedArgs, TaskFactory } from "./task.ts";

/** Marks a {@link Group} (lib/group.ts), which cannot be a chord member. */
export const GROUP: unique symbol = Symbol("huey.group");

/** An invocation or pipeline of any types (the constraint of members). */
// deno-lint-ignore no-explicit-any
export type AnyTask = Task<any, any, any>;
/** What a chord may hold: invocations, pipelines and chords. */
// deno-lint-ignore no-explicit-any
export type ChordMember = AnyTask | Chord<any, any, any>;

/** The result type of one chord or group member: a pipeline's last task's, a chord's callback pipeline's. */
export type MemberResult<M> = M extends { readonly __types?: { chain: infer C extends unknown[] } }
  ? Last<C>
  : never;
/** The result types of `members`, in order: what the callback's first parameter receives. */
export type MemberResults<T extends readonly unknown[]> = {
  -readonly [K in keyof T]: MemberResult<T[K]>;
};

/**
 * A chord: members that run in parallel, and a callback that receives their
 * results (see {@link chord}). `M` is the members' result types, `R` the
 * callback's, `C` the callback pipeline's. Enqueue it with
 * `huey.enqueue(chord)`, which returns a `ChordResult`.
 *
 * @example
 * ```ts
 * import { chord, MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const incr = huey.task("incr", (n: number) => n + 1);
 * const total = huey.task("total", (ns: number[]) => ns.reduce((a, b) => a + b, 0));
 * const double = huey.task("double", (n: number) => n * 2);
 * const result = await huey.enqueue(chord([incr.s(0), incr.s(1)], total).then(double));
 * console.log(await result.pipelineResults?.get()); // [3, 6]
 * ```
 */
export class Chord<M extends unknown[] = unknown[], R = unknown, C extends unknown[] = [R]> {
  /** The members, in declaration order. */
  readonly members: readonly (Task | Chord)[];
  /** The callback: the first task of the callback pipeline. */
  readonly callback: Task;

  /** Carries the type parameters for inference; never set at run time. */
  declare readonly __types?: { members: M; result: R; chain: C };

  /** A chord of checked `members` and `callback`; build one with {@link chord}. */
  constructor(members: readonly (Task | Chord)[], callback: Task) {
    this.members = members;
    this.callback = callback;
  }

  /**
   * Run `task` after the callback (after the last task chained so far),
   * with its return value in front of `args`, as `Task.then` does. Returns
   * this chord.
   */
  then<A2 extends unknown[], R2>(
    task: TaskFactory<A2, R2> & AcceptsPiped<A2, PipedArgs<Last<C>>>,
    ...args: DropArgs<A2, PipedArgs<Last<C>>>
  ): Chord<M, R, [...C, R2]>;
  /** Run an already built invocation after the callback; `args` are added after its own. */
  then<R2>(task: Task<unknown[], R2>, ...args: unknown[]): Chord<M, R, [...C, R2]>;
  then(task: TaskFactory | Task, ...args: unknown[]): Chord<M, R, unknown[]> {
    (this.callback.then as (task: unknown, ...args: unknown[]) => Task)(task, ...args);
    return this as Chord<M, R, unknown[]>;
  }

  /**
   * Run `task` if the callback fails for good (not a member: give members
   * their own `error()`, or use `group(...).error(...)`). Returns this chord.
   */
  error<A2 extends unknown[], R2>(
    task: TaskFactory<A2, R2> & AcceptsPiped<A2, [TaskErrorInfo]>,
    ...args: DropArgs<A2, [TaskErrorInfo]>
  ): this;
  /** Run an already built invocation if the callback fails for good. */
  error(task: Task, ...args: unknown[]): this;
  error(task: TaskFactory | Task, ...args: unknown[]): this {
    (this.callback.error as (task: unknown, ...args: unknown[]) => Task)(task, ...args);
    return this;
  }
}

/**
 * A chord of `members` and `callback`: the members run in parallel; once the
 * last has finished, `callback` runs with their results in front of `args`,
 * as one array in declaration order (not completion order). A member that
 * failed for good contributes a `TaskError` (an `Error`); one that was
 * revoked, expired or cancelled before it ran contributes `undefined`; one
 * that failed and then succeeded on a retry, its success. The callback's
 * own `delay` (`withOptions({ delay })`) counts from when the chord
 * completes. Throws a ConfigurationError for a callback that is not a task
 * and for a member that is not an invocation, a pipeline or a chord (a group
 * cannot be a member, as in huey).
 *
 * The callback's first parameter is typed as the members' result types;
 * one that must tell failed and skipped members apart declares it
 * `(T | TaskError | undefined)[]`.
 *
 * @example Map / reduce
 * ```ts
 * import { chord, MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const length = huey.task("length", (text: string) => text.length);
 * const total = huey.task("total", (ns: number[]) => ns.reduce((a, b) => a + b, 0));
 * const result = await huey.enqueue(chord(["a", "bb"].map((t) => length.s(t)), total));
 * console.log(await result.get({ blocking: true })); // 3
 * ```
 */
export function chord<T extends ChordMember[], A2 extends unknown[], R2>(
  members: [...T],
  callback: TaskFactory<A2, R2> & AcceptsPiped<A2, [MemberResults<T>]>,
  ...args: DropArgs<A2, [MemberResults<T>]>
): Chord<MemberResults<T>, R2, [R2]>;
/** A chord whose callback is an invocation built ahead of time; the results go in front of its arguments. */
export function chord<T extends ChordMember[], R2>(
  members: [...T],
  callback: Task<unknown[], R2>,
  ...args: unknown[]
): Chord<MemberResults<T>, R2, [R2]>;
export function chord(members: unknown, callback: unknown, ...args: unknown[]): Chord {
  if (!Array.isArray(members)) {
    throw new ConfigurationError(
      `Cannot make a chord: its members must be an array of invocations: ${described(members)}`,
    );
  }
  const refuse = (why: string) =>
    new ConfigurationError(`Cannot make a chord of ${namesOf(members)}: ${why}`);
  if (members.length > TASK_LIMITS.chordSize) {
    throw refuse(`it has ${members.length} members, more than ${TASK_LIMITS.chordSize}`);
  }
  const seen = new Map<unknown, number>();
  members.forEach((member: unknown, index) => {
    if (isGroup(member)) {
      throw refuse(
        `member ${index} is a group (${
          namesOf(member.tasks)
        }), and a group cannot be a chord member ` +
          "(as in huey): pass its tasks, or make it a chord with group.then(callback)",
      );
    }
    if (!(member instanceof Task) && !(member instanceof Chord)) {
      throw refuse(
        `member ${index} must be an invocation built with s(), a pipeline or a chord: ${
          described(member)
        }`,
      );
    }
    if (seen.has(member)) {
      throw refuse(
        `member ${index} is the same invocation twice (member ${seen.get(member)} too): ` +
          "build each with s()",
      );
    }
    seen.set(member, index);
  });
  return new Chord(members, callbackTask(callback, args, refuse));
}

/** The callback invocation: a wrapper's `s(...args)`, or the Task with `args` after its own. */
function callbackTask(
  callback: unknown,
  args: unknown[],
  refuse: (why: string) => ConfigurationError,
): Task {
  if (callback instanceof Task) {
    if (args.length) callback.args = [...callback.args, ...args];
    return callback;
  }
  const factory = callback as Partial<TaskFactory> | null;
  if (typeof factory?.s === "function" && typeof factory.name === "string" && !isGroup(factory)) {
    return factory.s(...args);
  }
  throw refuse(
    `its callback must be a task (a task wrapper or an invocation built with s()), not ${
      described(callback)
    }`,
  );
}

/** True for a {@link Group}. */
export function isGroup(value: unknown): value is { tasks: readonly Task[] } {
  return typeof value === "object" && value !== null && GROUP in value;
}

/** A value as a chord or group error names it. */
export function described(value: unknown): string {
  if (value instanceof Task) return `task ${value.name}`;
  if (value instanceof Chord) return `a chord of ${namesOf(value.members)}`;
  if (isGroup(value)) return `a group (${namesOf(value.tasks)})`;
  if (typeof value === "function") {
    return typeof (value as Partial<TaskFactory>).s === "function"
      ? `the task wrapper ${value.name} (call ${value.name}.s(...) to build an invocation)`
      : `function ${value.name || "(anonymous)"}`;
  }
  return shown(value);
}

/** The names of the first few `members`, for messages. */
export function namesOf(members: readonly unknown[]): string {
  const names = members.slice(0, 3).map((member) =>
    member instanceof Task
      ? member.name
      : member instanceof Chord
      ? `chord(${member.callback.name})`
      : typeof member
  );
  return members.length === 0
    ? "no members"
    : names.join(", ") + (members.length > 3 ? `, ... (${members.length})` : "");
}

/** The last task of the pipeline that starts at `task`. */
export function lastOf(task: Task): Task {
  let last = task;
  while (last.onComplete) last = last.onComplete;
  return last;
}

/** What enqueueing a chord puts in the queue, and where its results will be. */
export interface PreparedChord {
  /** The invocations to enqueue: every member's first task, inner chords' members included. */
  readonly tasks: Task[];
  /** The task whose result is each member's, in declaration order. */
  readonly members: Task[];
  /** The callback (the first task of the callback pipeline). */
  readonly callback: Task;
}

/**
 * Mark `chord` (and the chords nested in it) for enqueueing at `now`: each
 * member's last task gets the chord's link and callback; returns what to
 * enqueue. A chord without members has its callback enqueued at once, with
 * no results.
 */
export function prepareChord(chord: Chord, now: number): PreparedChord {
  const tasks: Task[] = [];
  mark(chord, now, tasks);
  const members = chord.members.map((m) => lastOf(m instanceof Chord ? m.callback : m));
  return { tasks, members, callback: chord.callback };
}

function mark(chord: Chord, now: number, tasks: Task[]): void {
  const { callback, members } = chord;
  const delay = delayOf(callback);
  if (delay !== undefined) {
    callback.chordDelay = delay;
    callback.eta = undefined;
  }
  if (members.length === 0) {
    callback.args = [[], ...callback.args];
    startCallback(callback, now);
    tasks.push(callback);
    return;
  }
  const id = newTaskId(now);
  members.forEach((member, index) => {
    const last = lastOf(member instanceof Chord ? member.callback : member);
    last.chord = { id, index, size: members.length };
    last.chordCallback = callback;
    if (member instanceof Chord) mark(member, now, tasks);
    else tasks.push(member);
  });
}

/** Give a callback about to be enqueued at `now` the eta its delay says. */
function startCallback(callback: Task, now: number): void {
  if (callback.chordDelay === undefined) return;
  callback.eta = new Date(now + callback.chordDelay * 1000);
  callback.chordDelay = undefined;
}

/**
 * The task whose chord link a settled run of `task` settles, if any: the
 * last task of its pipeline (itself, when it has no next task), unless the
 * pipeline `continues` (the run succeeded and has a next task, which will
 * settle it in turn). A run that failed for good or was skipped settles
 * the member for the pipeline's tasks that will never run.
 */
export function settledMember(task: Task, continues: boolean): Task | undefined {
  if (continues) return undefined;
  const last = lastOf(task);
  return last.chord ? last : undefined;
}

/** What settling a chord member needs from the executor. */
export interface ChordHost {
  /** The storage in use. */
  readonly storage: Storage;
  /** The serializer of results. */
  readonly serializer: Serializer;
  /** The current time, ms since the epoch. */
  now(): number;
  /** Put the callback where it goes (the queue, the schedule, or a run now). */
  put(task: Task): Promise<void>;
}

/**
 * Record `outcome` (a value or an error; `{ value: undefined }` for a
 * skipped member) for the chord member `member` (a task with `chord` and
 * `chordCallback` set) and count it; the run that completes the chord
 * enqueues its callback. Idempotent per member (see the module docs). Call
 * it only while the run holds its message's lease, and before the message
 * is acknowledged.
 */
export async function settleChordMember(
  host: ChordHost,
  member: Task,
  outcome: StoredResult,
): Promise<void> {
  const { storage } = host;
  const { id, index, size } = member.chord!;
  const first = await storage.putIfEmpty(
    OWN_KEYS.chordMember(id, index),
    encoded(host, member, outcome),
  );
  const counted = OWN_KEYS.chordCounted(id, index);
  let total: number;
  if (first || !(await storage.hasDataForKey(counted))) {
    total = await storage.incr(OWN_KEYS.chordCount(id), 1);
    await storage.putData(counted, "1");
  } else {
    total = await storage.incr(OWN_KEYS.chordCount(id), 0);
  }
  if (total >= size) await complete(host, member);
}

/**
 * `outcome` as stored; a value that cannot be serialized (results are off,
 * so nothing tried before) is stored as that error, naming `member`.
 */
function encoded(host: ChordHost, member: Task, outcome: StoredResult): string {
  try {
    return host.serializer.encode(outcome);
  } catch (err) {
    const { name, message } = err as Error;
    const info = { name, message, taskId: member.id, taskName: member.name, retries: 0 };
    return host.serializer.encode({ error: info });
  }
}

/** `action` on every key, a few hundred at a time (in parallel where the storage can). */
async function eachKey<T>(keys: string[], action: (key: string) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < keys.length; i += 500) {
    out.push(...await Promise.all(keys.slice(i, i + 500).map(action)));
  }
  return out;
}

/** The last member counted: if every outcome is there, one run enqueues the callback. */
async function complete(host: ChordHost, member: Task): Promise<void> {
  const { storage } = host;
  const { id, index, size } = member.chord!;
  const keys = Array.from({ length: size }, (_, i) => OWN_KEYS.chordMember(id, i));
  const values = await eachKey(keys, (key) => storage.peekData(key));
  // A member counted twice made the count reach the size early: the member
  // still missing completes the chord when it settles.
  if (values.includes(undefined)) return;
  const fired = OWN_KEYS.chordFired(id);
  if (!(await storage.putIfEmpty(fired, String(index)))) {
    // Taken by another run, unless by an earlier delivery of this message
    // that did not finish: then enqueue the callback again, as a rerun does.
    if ((await storage.peekData(fired)) !== String(index)) return;
  } else if (size > 1 && !(await storage.hasDataForKey(keys[(index + 1) % size]))) {
    // Another run fired the chord and removed its keys between our read and
    // our claim: the marker we took is a new one. Give it back.
    await storage.deleteData(fired);
    return;
  }
  const callback = member.chordCallback!;
  callback.args = [values.map((text) => outcomeValue(host, text!)), ...callback.args];
  startCallback(callback, host.now());
  await host.put(callback);
  // The outcomes first and the marker last: a run that still reads all the
  // outcomes finds the marker taken.
  await eachKey(keys, (key) => storage.deleteData(key));
  await eachKey(keys.map((_, i) => OWN_KEYS.chordCounted(id, i)), (key) => storage.deleteData(key));
  await storage.deleteCounter(OWN_KEYS.chordCount(id));
  await storage.deleteData(fired);
}

/** What the callback receives for one member: its value, or its error as a TaskError. */
function outcomeValue(host: ChordHost, text: string): unknown {
  const outcome = host.serializer.decode(text) as StoredResult;
  return "error" in outcome ? new TaskError(outcome.error) : outcome.value;
}
