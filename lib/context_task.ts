/**
 * Context tasks (huey's `context_task`): a task whose function runs inside
 * a resource that is entered before each run and always exited after it,
 * whether the run returns or throws: a database connection, a transaction,
 * a temporary directory.
 *
 * @module
 */
import { ConfigurationError } from "./errors.ts";
import type { TaskDefinition } from "./registry.ts";
import type { TaskOptions } from "./task.ts";
import type { TaskWrapper } from "./wrapper.ts";

/**
 * huey's context-manager shape: `enter()` before each run (its value is
 * what `asArgument` passes), `exit(error)` after it, with the error the run
 * threw or `undefined`.
 */
export interface ResourceContext<T = unknown> {
  /** Enter the resource before a run; the value goes to the task with `asArgument`. */
  enter(): T | PromiseLike<T>;
  /** Exit it after the run, given the error the run threw (undefined when it returned). */
  exit(error: unknown): unknown;
}

/**
 * What a context task runs inside: a function that makes the resource for
 * each run, disposed after it when it is an `AsyncDisposable` or
 * `Disposable` (`Symbol.asyncDispose` / `Symbol.dispose`), or a
 * {@link ResourceContext} (`enter()` / `exit(error)`).
 */
export type TaskResource<T = unknown> = (() => T | PromiseLike<T>) | ResourceContext<T>;

/** Options of `huey.contextTask()`: the task's options, and `asArgument`. */
export interface ContextTaskOptions extends TaskOptions {
  /** Pass the entered resource to the task function as its first argument. @default false */
  asArgument?: boolean;
}

/**
 * `huey.contextTask(name, resource, fn, options)`: declare a task that runs
 * inside `resource`; with `asArgument: true` its function takes the entered
 * resource first, and the wrapper takes the other arguments.
 */
export interface ContextTaskDeclaration {
  /** A context task whose function takes only the caller's arguments. */
  <F extends (...args: never) => unknown>(
    name: string,
    resource: TaskResource,
    fn: F,
    options?: ContextTaskOptions & { asArgument?: false; context?: false },
  ): TaskWrapper<Parameters<F>, Awaited<ReturnType<F>>>;
  /** A context task whose function takes the entered resource first. */
  <T, A extends unknown[], R>(
    name: string,
    resource: TaskResource<T>,
    fn: (resource: Awaited<T>, ...args: A) => R,
    options: ContextTaskOptions & { asArgument: true; context?: false },
  ): TaskWrapper<A, Awaited<R>>;
}

const asyncDispose: symbol | undefined = (Symbol as { asyncDispose?: symbol }).asyncDispose;
const dispose: symbol | undefined = (Symbol as { dispose?: symbol }).dispose;

/** Exit what `enter` gave: `exit(error)`, or dispose the value a factory made. */
async function leave(resource: TaskResource, value: unknown, error: unknown): Promise<void> {
  if (typeof resource !== "function") {
    await resource.exit(error);
    return;
  }
  const held = value as Record<symbol, (() => unknown) | undefined> | null;
  if (typeof held !== "object" && typeof held !== "function" || held === null) return;
  const close = (asyncDispose && held[asyncDispose]) ?? (dispose && held[dispose]);
  if (typeof close === "function") await close.call(held);
}

/**
 * `fn` wrapped to run inside `resource` (see {@link TaskResource}); with
 * `asArgument` the entered value is its first argument. A run whose task
 * throws exits with that error and rethrows it; when exiting fails too,
 * both are thrown together as an AggregateError (neither is lost). Throws
 * a ConfigurationError naming the task `name` for a resource of another
 * shape.
 *
 * @example
 * ```ts
 * import { withResource } from "./context_task.ts";
 * const run = withResource("t", async () => ({ async [Symbol.asyncDispose]() {} }), () => 1, false);
 * console.log(await run()); // 1
 * ```
 */
export function withResource(
  name: string,
  resource: TaskResource,
  fn: (...args: never[]) => unknown,
  asArgument: boolean,
): (...args: unknown[]) => Promise<unknown> {
  const context = resource as Partial<ResourceContext> | null;
  if (
    typeof resource !== "function" &&
    (typeof context?.enter !== "function" || typeof context?.exit !== "function")
  ) {
    throw new ConfigurationError(
      `Cannot declare context task ${name}: the resource must be a function that returns it, or an object with enter() and exit(): ${
        resource === null ? "null" : typeof resource
      }`,
    );
  }
  const call = fn as (...args: unknown[]) => unknown;
  return async (...args: unknown[]) => {
    const value = typeof resource === "function" ? await resource() : await resource.enter();
    let result: unknown;
    try {
      result = await call(...(asArgument ? [value, ...args] : args));
    } catch (error) {
      try {
        await leave(resource, value, error);
      } catch (exitError) {
        throw new AggregateError(
          [error, exitError],
          `${(error as Error)?.message ?? error}; exiting its resource failed too: ${
            (exitError as Error)?.message ?? exitError
          }`,
        );
      }
      throw error;
    }
    await leave(resource, value, undefined);
    return result;
  };
}

/**
 * The declaration of the context task `name`: `fn` inside `resource`, with
 * the task options of `options` (all but `asArgument`).
 *
 * @example
 * ```ts
 * import { contextDefinition } from "./context_task.ts";
 * const definition = contextDefinition("t", () => null, (n: number) => n, { retries: 1 });
 * console.log(definition.options); // { retries: 1 }
 * ```
 */
export function contextDefinition(
  name: string,
  resource: TaskResource,
  fn: (...args: never[]) => unknown,
  options: ContextTaskOptions,
): TaskDefinition {
  const { asArgument = false, ...taskOptions } = options;
  return { name, fn: withResource(name, resource, fn, asArgument), options: taskOptions };
}
