/**
 * The task wrapper: the callable that `huey.task()` returns. Calling it
 * enqueues; its methods build invocations (`s`, `withOptions`), schedule them, map over
 * argument lists, revoke the task, or call the plain function.
 *
 * @module
 */
import { taskContext } from "./context.ts";
import type { Crontab, PeriodicSchedule } from "./crontab.ts";
import type { TaskDefinition } from "./registry.ts";
import type { Result, ResultGroup } from "./result.ts";
import type {
  InvocationOptions,
  RevokeOptions,
  ScheduleOptions,
  Task,
  TaskFactory,
  TaskOptions,
} from "./task.ts";

/**
 * The callable returned by `huey.task()`: call it to enqueue, or use its
 * methods to schedule, map, revoke or call the function locally.
 *
 * `A` is the function's argument list (without the context), `R` its
 * awaited return type.
 */
export interface TaskWrapper<A extends unknown[] = unknown[], R = unknown> {
  /** Enqueue one invocation; resolves once it is stored (or, in immediate mode, has run). */
  (...args: A): Promise<Result<R>>;
  /** The task name. */
  readonly name: string;
  /** The options given when the task was declared. */
  readonly options: Readonly<TaskOptions>;
  /** The periodic schedule, for tasks declared with `periodicTask`. */
  readonly validateDatetime?: PeriodicSchedule;
  /** Build an invocation without enqueuing it (for pipelines and `huey.enqueue`). */
  s(...args: A): Task<A, R>;
  /**
   * A factory whose `s()` builds invocations with these per-call settings
   * (huey's `add.s(1, 2, timeout=5)`; `s()` itself takes only the task's
   * arguments, so its types stay the function's): for pipelines and
   * `huey.enqueue`, e.g. `fetch.s(url).then(parse.withOptions({ timeout: 5 }))`.
   * The settings are checked here: a bad one throws a ConfigurationError.
   */
  withOptions(options: InvocationOptions): TaskFactory<A, R>;
  /** Enqueue an invocation to run later (`delay`/`eta`) or with per-call options. */
  schedule(args: A, options?: ScheduleOptions): Promise<Result<R>>;
  /** Enqueue one invocation per argument list, in one storage operation. */
  map(argsList: Iterable<A>): Promise<ResultGroup<R[]>>;
  /** Call the task function here and now, outside the queue. */
  callLocal(...args: A): R | Promise<R>;
  /** Revoke every invocation of this task (all instances). */
  revoke(options?: RevokeOptions): Promise<void>;
  /** Undo {@link revoke}; true if the task was revoked. */
  restore(): Promise<boolean>;
  /** True if every invocation is revoked at `date` (default now). */
  isRevoked(date?: Date): Promise<boolean>;
  /**
   * Remove the task from its Huey (huey's `unregister`): a consumer of this
   * Huey no longer runs it, a periodic task is no longer enqueued, this
   * wrapper's calls throw `UnknownTaskError`, and the name can be declared
   * again. True the first time, then false.
   */
  unregister(): boolean;
}

/**
 * A periodic task's wrapper (`huey.periodicTasks()`): its schedule is
 * `validateDatetime`, which tells its next run (`nextRun(after)`) when it
 * was made by `crontab()`.
 */
export type PeriodicTaskWrapper = TaskWrapper<[], unknown> & {
  /** When the task runs. */
  readonly validateDatetime: PeriodicSchedule & Partial<Pick<Crontab, "nextRun">>;
};

/** A task wrapper of any signature (for APIs that only need its name). */
// deno-lint-ignore no-explicit-any
export type AnyTaskWrapper = TaskWrapper<any, any>;

/** What a wrapper needs from its Huey. */
export interface WrapperHost {
  /** A new invocation of `definition` (per-call options applied). */
  newTask(definition: TaskDefinition, args: unknown[], call: ScheduleOptions): Task;
  /** Check per-call options; throws naming `where`. */
  checkCall(where: string, options: ScheduleOptions): void;
  /**
   * Put an invocation where it goes (queue, schedule, or run it in immediate
   * mode), inside `transaction` when given (see `ScheduleOptions`).
   */
  enqueue(task: Task, transaction?: unknown): Promise<Result<unknown>>;
  /** Put every invocation in the queue, in one storage operation. */
  enqueueMany(tasks: Task[]): Promise<ResultGroup<unknown[]>>;
  /** Revoke every invocation of the task `name`. */
  revokeAll(name: string, options?: RevokeOptions): Promise<void>;
  /** Undo `revokeAll`. */
  restoreAll(name: string): Promise<boolean>;
  /** Whether the whole task `name` is revoked at `date`. */
  isTaskRevoked(name: string, date?: Date): Promise<boolean>;
  /** Remove `definition` from the registry; true if it was there. */
  unregister(definition: TaskDefinition): boolean;
}

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * The wrapper of a declared task.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * const huey = new MemoryHuey({ immediate: true });
 * const add = huey.task("add", (a: number, b: number) => a + b); // made by createWrapper
 * console.log(add.callLocal(1, 2)); // 3
 * ```
 */
export function createWrapper(
  host: WrapperHost,
  definition: TaskDefinition,
): TaskWrapper<unknown[], unknown> {
  const { name, options } = definition;
  const fn = definition.fn as AnyFunction;
  const s = (...args: unknown[]) => host.newTask(definition, args, {});
  const wrapper = (...args: unknown[]) => host.enqueue(s(...args));
  Object.defineProperty(wrapper, "name", { value: name });
  return Object.assign(wrapper, {
    options: Object.freeze({ ...options }),
    validateDatetime: definition.schedule,
    s,
    withOptions: (call: InvocationOptions) => {
      host.checkCall(`withOptions of ${name}`, call);
      return { name, s: (...args: unknown[]) => host.newTask(definition, args, call) };
    },
    schedule: (args: unknown[], call: ScheduleOptions = {}) => {
      if (!Array.isArray(args)) {
        throw new TypeError(`Cannot schedule task ${name}: args must be an array: ${args}`);
      }
      host.checkCall(`schedule of ${name}`, call);
      return host.enqueue(host.newTask(definition, args, call), call.transaction);
    },
    map: (argsList: Iterable<unknown[]>) => {
      const tasks = [...argsList].map((args, index) => {
        if (!Array.isArray(args)) {
          throw new TypeError(
            `Cannot map task ${name}: item ${index} must be an array of arguments`,
          );
        }
        return s(...args);
      });
      return host.enqueueMany(tasks);
    },
    callLocal: (...args: unknown[]) => {
      if (!options.context) return fn(...args);
      return fn(...args, taskContext(s(...args), new AbortController().signal));
    },
    revoke: (revokeOptions?: RevokeOptions) => host.revokeAll(name, revokeOptions),
    restore: () => host.restoreAll(name),
    isRevoked: (date?: Date) => host.isTaskRevoked(name, date),
    unregister: () => host.unregister(definition),
  }) as unknown as TaskWrapper<unknown[], unknown>;
}
