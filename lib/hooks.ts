/**
 * Hooks: code the app runs around every task (pre- and post-execute) and
 * once per worker (startup and shutdown), registered by name as in huey.
 *
 * @module
 */
import { CancelExecution } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { Task } from "./task.ts";

/** A pre-execute hook: throw `CancelExecution` to skip the task. */
export type PreExecuteHook = (task: Task) => void | Promise<void>;
/** A post-execute hook: sees the task, its return value and its error. */
export type PostExecuteHook = (task: Task, value: unknown, error: unknown) => void | Promise<void>;
/** A startup or shutdown hook, run once per worker. */
export type LifecycleHook = () => void | Promise<void>;

/** Why a pre-execute hook canceled a task. */
export interface Cancellation {
  /** The hook's name. */
  hook: string;
  /** What it threw. */
  error: CancelExecution;
}

/**
 * The four named hook registries of a Huey, and the runners that call them
 * in order. A hook that throws (anything but a pre-execute
 * `CancelExecution`) is logged and the others still run.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * import { Hooks } from "./hooks.ts";
 * const hooks = new Hooks(() => createLogger());
 * hooks.startup.set("connect", () => console.log("connected"));
 * await hooks.runStartup();
 * ```
 */
export class Hooks {
  /** Run before each task, in order of registration. */
  readonly preExecute: Map<string, PreExecuteHook> = new Map();
  /** Run after each task. */
  readonly postExecute: Map<string, PostExecuteHook> = new Map();
  /** Run once per worker when the consumer starts. */
  readonly startup: Map<string, LifecycleHook> = new Map();
  /** Run once per worker when the consumer stops. */
  readonly shutdown: Map<string, LifecycleHook> = new Map();
  readonly #logger: () => Logger;

  /** `logger` is read at each use: the consumer replaces the Huey's logger. */
  constructor(logger: () => Logger) {
    this.#logger = logger;
  }

  /** Register `hook` under `name` in the registry `kind` (replacing one of that name); returns it. */
  add<K extends "preExecute" | "postExecute" | "startup" | "shutdown", F>(
    kind: K,
    name: string,
    hook: F & (Hooks[K] extends Map<string, infer H> ? H : never),
  ): F {
    (this[kind] as Map<string, unknown>).set(name, hook);
    return hook;
  }

  /** Run the pre-execute hooks; the first `CancelExecution` stops them and is returned. */
  async runPreExecute(task: Task): Promise<Cancellation | undefined> {
    for (const [hook, run] of this.preExecute) {
      try {
        await run(task);
      } catch (error) {
        if (error instanceof CancelExecution) return { hook, error };
        this.#logger().error(`Pre-execute hook ${hook} failed for ${task}`, error);
      }
    }
    return undefined;
  }

  /** Run the post-execute hooks with the task's outcome. */
  async runPostExecute(task: Task, value: unknown, error: unknown): Promise<void> {
    for (const [hook, run] of this.postExecute) {
      try {
        await run(task, value, error);
      } catch (hookError) {
        this.#logger().error(`Post-execute hook ${hook} failed for ${task}`, hookError);
      }
    }
  }

  /** Run the startup hooks in order. */
  runStartup(): Promise<void> {
    return this.#runLifecycle("startup", this.startup);
  }

  /** Run the shutdown hooks in order. */
  runShutdown(): Promise<void> {
    return this.#runLifecycle("shutdown", this.shutdown);
  }

  async #runLifecycle(kind: string, hooks: Map<string, LifecycleHook>): Promise<void> {
    for (const [name, hook] of hooks) {
      try {
        await hook();
      } catch (error) {
        this.#logger().error(`${kind} hook ${name} failed`, error);
      }
    }
  }
}
