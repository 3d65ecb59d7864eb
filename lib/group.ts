/**
 * Groups (huey 3.3's `group`): invocations enqueued together to run in
 * parallel, whose results come back as one `ResultGroup` in declaration
 * order. `group.then(callback)` makes the group a chord.
 *
 * @module
 */
import { chord, described, GROUP, isGroup, namesOf } from "./chord.ts";
import type { AnyTask, Chord, MemberResults } from "./chord.ts";
import { ConfigurationError } from "./errors.ts";
import type { TaskErrorInfo } from "./errors.ts";
import { newTaskId, Task } from "./task.ts";
import type { AcceptsPiped, DropArgs, TaskFactory } from "./task.ts";

/**
 * Invocations to enqueue together (see {@link group}). `M` is their result
 * types, in order. Enqueue it with `huey.enqueue(group)`, which returns a
 * `ResultGroup` with one result per member: its own, or for a pipeline its
 * last task's.
 *
 * @example
 * ```ts
 * import { group, MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * const mul = huey.task("mul", (a: number, b: number) => a * b);
 * const results = await huey.enqueue(group([add.s(1, 2), mul.s(3, 4)]));
 * console.log(await results.get({ blocking: true })); // [3, 12]
 * ```
 */
export class Group<M extends unknown[] = unknown[]> {
  /** Marks a group, which a chord refuses as a member. */
  readonly [GROUP] = true;
  /** The members, in declaration order (first tasks of pipelines). */
  readonly tasks: readonly Task[];

  /** Carries the type parameters for inference; never set at run time. */
  declare readonly __types?: { members: M };

  /** A group of checked `tasks`; build one with {@link group}. */
  constructor(tasks: readonly Task[]) {
    this.tasks = tasks;
  }

  /**
   * Run `handler` for each member that fails for good, with its error info
   * in front of `args` (huey's `group.error`: `member.error(handler)` on
   * every member; for a pipeline member, its first task). Returns this group.
   */
  error<A2 extends unknown[], R2>(
    handler: TaskFactory<A2, R2> & AcceptsPiped<A2, [TaskErrorInfo]>,
    ...args: DropArgs<A2, [TaskErrorInfo]>
  ): this;
  /** Run a copy of an already built invocation (`args` after its own) for each member that fails. */
  error(handler: Task, ...args: unknown[]): this;
  error(handler: TaskFactory | Task, ...args: unknown[]): this {
    // One invocation per member: a built one is copied, with ids of its own.
    const handlers = this.tasks.map((_, i) =>
      handler instanceof Task && i > 0 ? freshCopy(handler) : handler
    );
    this.tasks.forEach((task, i) =>
      (task.error as (task: unknown, ...args: unknown[]) => Task)(handlers[i], ...args)
    );
    return this;
  }

  /**
   * Make this group a chord (huey's `group.then`): `callback` runs with the
   * members' results, in declaration order, in front of `args`, once the
   * last member has finished. See `chord()`.
   */
  then<A2 extends unknown[], R2>(
    callback: TaskFactory<A2, R2> & AcceptsPiped<A2, [M]>,
    ...args: DropArgs<A2, [M]>
  ): Chord<M, R2, [R2]>;
  /** Make this group a chord with an invocation built ahead of time as its callback. */
  then<R2>(callback: Task<unknown[], R2>, ...args: unknown[]): Chord<M, R2, [R2]>;
  then(callback: TaskFactory | Task, ...args: unknown[]): Chord<M> {
    return (chord as (...all: unknown[]) => Chord<M>)([...this.tasks], callback, ...args);
  }
}

/** A copy of `task` and of the tasks chained to it, each with a new id. */
function freshCopy(task: Task): Task {
  return task.copy({
    id: newTaskId(),
    onComplete: task.onComplete && freshCopy(task.onComplete),
    onError: task.onError && freshCopy(task.onError),
  });
}

/**
 * A group of `tasks` (invocations built with `s()`, or pipelines): enqueued
 * together with `huey.enqueue(group)`, which returns a `ResultGroup` in
 * declaration order; priorities still order their execution. Throws a
 * ConfigurationError for a member that is not an invocation (a group or a
 * chord cannot be a member).
 *
 * @example Different tasks in one group
 * ```ts
 * import { group, MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const checkCache = huey.task("check_cache", () => true);
 * const checkDb = huey.task("check_db", () => false);
 * const [cacheOk, dbOk] = await (await huey.enqueue(group([checkCache.s(), checkDb.s()]))).get();
 * console.log(cacheOk, dbOk); // true false
 * ```
 */
export function group<T extends AnyTask[]>(tasks: [...T]): Group<MemberResults<T>> {
  if (!Array.isArray(tasks)) {
    throw new ConfigurationError(
      `Cannot make a group: its members must be an array of invocations: ${described(tasks)}`,
    );
  }
  tasks.forEach((task: unknown, index) => {
    if (task instanceof Task) return;
    const why = isGroup(task) ? " (a group cannot be nested in a group)" : "";
    throw new ConfigurationError(
      `Cannot make a group of ${namesOf(tasks)}: member ${index} must be an invocation built ` +
        `with s() (or a pipeline)${why}: ${described(task)}`,
    );
  });
  if (new Set(tasks).size !== tasks.length) {
    throw new ConfigurationError(
      `Cannot make a group of ${
        namesOf(tasks)
      }: it holds the same invocation twice: build each with s()`,
    );
  }
  return new Group(tasks);
}
