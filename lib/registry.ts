/**
 * The task registry: which tasks a Huey declares (name -> function,
 * options, periodic schedule), the checks on their options, and the making
 * of new invocations from a declaration.
 *
 * @module
 */
import type { PeriodicSchedule } from "./crontab.ts";
import { ConfigurationError } from "./errors.ts";
import { newTaskId, shown, Task, TASK_RULES } from "./task.ts";
import { traceCarrier } from "./tracing.ts";
import type { Expectation, ScheduleOptions, TaskOptions } from "./task.ts";
import { uniqueId } from "./unique.ts";

/** A declared task: its function and settings. */
export interface TaskDefinition {
  /** The task name, unique in its Huey. */
  readonly name: string;
  /** The task function. */
  readonly fn: (...args: never[]) => unknown;
  /** The options it was declared with. */
  readonly options: TaskOptions;
  /** For periodic tasks: when they run. */
  readonly schedule?: PeriodicSchedule;
}

/**
 * Throw a `RangeError` unless `value` is unset or a number of seconds
 * (`>= 0`, or `> 0` without `allowZero`; at most {@link TASK_LIMITS}'
 * `seconds`); `what` names it in the message.
 *
 * @example
 * ```ts
 * import { checkSeconds } from "./registry.ts";
 * checkSeconds(30, "leaseTimeout", false);
 * ```
 */
export function checkSeconds(value: unknown, what: string, allowZero = true): void {
  if (value === undefined) return;
  const expected = TASK_RULES.seconds(value) ?? (allowZero || value ? undefined : "a number > 0");
  if (expected) throw new RangeError(`Cannot use ${what}: expected ${expected}: ${shown(value)}`);
}

/**
 * `value` if it is an integer `>= min`; else a `RangeError` naming `what`.
 *
 * @example
 * ```ts
 * import { checkCount } from "./registry.ts";
 * console.log(checkCount(5, "maxDeliveries", 1)); // 5
 * ```
 */
export function checkCount(value: number, what: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`Cannot use ${what}: expected an integer >= ${min}: ${value}`);
  }
  return value;
}

/**
 * Check task options (at declaration) or per-call options (at `schedule()`,
 * `reschedule()`), so a bad setting is refused where it is written, never
 * in the consumer. A setting out of its range (`retries`, `retryBackoff`,
 * `timeout`, ...) throws a `ConfigurationError`; an id, eta or transaction
 * of the wrong kind a `TypeError`. `where` names the task in the message,
 * with the option and the value.
 *
 * @example
 * ```ts
 * import { checkTaskOptions } from "./registry.ts";
 * checkTaskOptions("task add", { retries: 2, retryDelay: 10, retryBackoff: 2 });
 * ```
 */
export function checkTaskOptions(
  where: string,
  options: Omit<TaskOptions & ScheduleOptions, "unique"> & { unique?: unknown },
): void {
  const { eta } = options;
  const rules: [string, unknown, Expectation][] = [
    ["id", options.id, TASK_RULES.id],
    ["retries", options.retries, TASK_RULES.retries],
    ["priority", options.priority, TASK_RULES.priority],
    ["retryDelay", options.retryDelay, TASK_RULES.seconds],
    ["retryBackoff", options.retryBackoff, TASK_RULES.backoff],
    ["retryJitter", options.retryJitter, TASK_RULES.fraction],
    ["retryMaxDelay", options.retryMaxDelay, TASK_RULES.seconds],
    ["delay", options.delay, TASK_RULES.seconds],
    ["timeout", options.timeout, TASK_RULES.timeout],
    ["expires", options.expires, TASK_RULES.expires],
  ];
  for (const [key, value, rule] of rules) {
    const expected = value === undefined ? undefined : rule(value);
    if (expected === undefined) continue;
    const message = `Cannot use ${where} ${key}: expected ${expected}: ${shown(value)}`;
    throw key === "id" ? new TypeError(message) : new ConfigurationError(message);
  }
  if (eta instanceof Date && Number.isNaN(eta.getTime())) {
    throw new ConfigurationError(`Cannot use ${where} eta: the Date is invalid`);
  }
  if (eta !== undefined && !(eta instanceof Date)) {
    throw new TypeError(`Cannot use ${where} eta: expected a Date: ${shown(eta)}`);
  }
  const { unique } = options;
  if (unique !== undefined && typeof unique !== "boolean" && typeof unique !== "function") {
    throw new TypeError(
      `Cannot use ${where} unique: expected true, false or a function that returns the task id: ${
        shown(unique)
      }`,
    );
  }
  const { transaction } = options;
  if (
    transaction !== undefined &&
    (transaction === null || !/^(object|function)$/.test(typeof transaction))
  ) {
    throw new TypeError(
      `Cannot use ${where} transaction: expected a transaction object: ${shown(transaction)}`,
    );
  }
}

/**
 * The `delay` each invocation was built with, where it had one (and no
 * `eta`): its `eta` counts from when it was built, but a chord's callback
 * waits its delay from when the chord completes, which `chord()` learns
 * here. Kept beside the Task rather than in it: an ordinary message does
 * not carry it.
 */
const DELAYS = new WeakMap<Task, number>();

/**
 * The `delay` (seconds) `task` was built with by a wrapper's `s()` or
 * `withOptions({ delay }).s()`, or undefined.
 *
 * @example
 * ```ts
 * import { MemoryHuey } from "../mod.ts";
 * import { delayOf } from "./registry.ts";
 * const huey = new MemoryHuey();
 * const add = huey.task("add", (a: number, b: number) => a + b);
 * console.log(delayOf(add.withOptions({ delay: 10 }).s(1, 2))); // 10
 * ```
 */
export function delayOf(task: Task): number | undefined {
  return DELAYS.get(task);
}

/**
 * The tasks one Huey declares.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * const registry = new Registry();
 * const add = registry.declare({ name: "add", fn: (a: number, b: number) => a + b, options: {} });
 * console.log(registry.newTask(add, [1, 2], {}, Date.now()).args); // [1, 2]
 * ```
 */
export class Registry {
  readonly #tasks = new Map<string, TaskDefinition>();

  /**
   * Add a declaration after checking it; throws `ConfigurationError` naming
   * the task for a bad name, function or option, or a name already taken.
   */
  declare(definition: TaskDefinition): TaskDefinition {
    const { name, fn, options } = definition;
    if (typeof name !== "string" || name === "") {
      throw new ConfigurationError(`Cannot declare task: name must be a non-empty string: ${name}`);
    }
    if (typeof fn !== "function") {
      throw new ConfigurationError(`Cannot declare task ${name}: not a function: ${String(fn)}`);
    }
    if ("schedule" in definition && typeof definition.schedule !== "function") {
      throw new ConfigurationError(
        `Cannot declare periodic task ${name}: schedule must be a function such as crontab(): ${
          String(definition.schedule)
        }`,
      );
    }
    if (this.#tasks.has(name)) {
      throw new ConfigurationError(`Cannot declare task ${name}: a task with that name exists`);
    }
    try {
      checkTaskOptions(`task ${name}`, options);
    } catch (err) {
      throw new ConfigurationError((err as Error).message, { cause: err });
    }
    this.#tasks.set(name, definition);
    return definition;
  }

  /**
   * Remove `definition` (huey's `unregister`): a consumer no longer runs
   * its messages, a periodic one is no longer enqueued, and its name can be
   * declared again. True if it was declared; false when it was removed
   * already (or its name now belongs to a later declaration, which stays).
   */
  unregister(definition: TaskDefinition): boolean {
    if (this.#tasks.get(definition.name) !== definition) return false;
    return this.#tasks.delete(definition.name);
  }

  /** The declaration of `name`, or undefined. */
  get(name: string): TaskDefinition | undefined {
    return this.#tasks.get(name);
  }

  /** The names of every declared task, in declaration order. */
  names(): string[] {
    return [...this.#tasks.keys()];
  }

  /** The periodic tasks, in declaration order. */
  periodic(): TaskDefinition[] {
    return [...this.#tasks.values()].filter((d) => d.schedule !== undefined);
  }

  /** The names of the periodic tasks, in declaration order. */
  periodicNames(): string[] {
    return this.periodic().map((d) => d.name);
  }

  /**
   * The periodic tasks whose schedule matches `date` (to the minute). A
   * schedule that throws is left out and reported to `onError`, so one bad
   * schedule does not stop the others.
   */
  due(date: Date, utc: boolean, onError: (task: string, error: unknown) => void): TaskDefinition[] {
    return [...this.#tasks.values()].filter((definition) => {
      try {
        return definition.schedule?.(date, utc) ?? false;
      } catch (error) {
        onError(definition.name, error);
        return false;
      }
    });
  }

  /**
   * A new invocation of `definition` with `args`; per-call options win over
   * the declared ones, and a `delay` counts from `now` (ms since the epoch).
   * A unique one's id comes from its key (see `TaskOptions.unique`).
   */
  newTask(definition: TaskDefinition, args: unknown[], call: ScheduleOptions, now: number): Task {
    const { options } = definition;
    const eta = call.eta ??
      (call.delay !== undefined ? new Date(now + call.delay * 1000) : undefined);
    const unique = call.unique ?? (options.unique !== undefined && options.unique !== false);
    const id = call.id ?? (unique ? uniqueId(definition.name, args, options.unique) : newTaskId());
    const task = new Task({
      id,
      unique: unique || undefined,
      name: definition.name,
      args,
      eta,
      retries: call.retries ?? options.retries ?? 0,
      retryDelay: call.retryDelay ?? options.retryDelay ?? 0,
      retryBackoff: call.retryBackoff ?? options.retryBackoff,
      retryJitter: call.retryJitter ?? options.retryJitter,
      retryMaxDelay: call.retryMaxDelay ?? options.retryMaxDelay,
      priority: call.priority ?? options.priority ?? 0,
      expires: call.expires ?? options.expires,
      timeout: call.timeout ?? options.timeout,
      periodic: definition.schedule !== undefined,
    });
    // Only when there is a context: no own `trace: undefined` on every task.
    const trace = traceCarrier();
    if (trace) task.trace = trace;
    if (call.eta === undefined && call.delay !== undefined) DELAYS.set(task, call.delay);
    return task;
  }
}
