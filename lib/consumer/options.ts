/**
 * Consumer settings: the options type, huey's defaults, and validation.
 *
 * @module
 */
import { ConfigurationError } from "../errors.ts";

/** How workers run tasks. */
export type WorkerType = "async" | "worker" | "process";

/** huey's worker-type names, accepted as aliases. */
export const WORKER_TYPE_ALIASES: Readonly<Record<string, WorkerType>> = {
  async: "async",
  greenlet: "async",
  worker: "worker",
  thread: "worker",
  process: "process",
};

/** Options of the consumer; the CLI flags map one to one. */
export interface ConsumerOptions {
  /** Number of workers (`-w`). @default 1 */
  workers?: number;
  /**
   * `async`: tasks share this event loop (IO-bound work); `worker`: one Web
   * Worker per worker (CPU-bound work); `process`: one child process per
   * worker (`-k`). huey's `greenlet` and `thread` are aliases.
   * @default "async"
   */
  workerType?: WorkerType;
  /** Enqueue periodic tasks (`-n` turns it off). @default true */
  periodic?: boolean;
  /** First polling delay for non-blocking storages, seconds (`-d`). @default 0.1 */
  initialDelay?: number;
  /** Longest polling delay, seconds (`-m`). @default 10 */
  maxDelay?: number;
  /** Polling delay growth factor, > 1 (`-b`). @default 1.15 */
  backoff?: number;
  /** Seconds between worker health checks (`-c`). @default 10 */
  healthCheckInterval?: number;
  /** Check worker health (`-C` turns it off). @default true */
  checkWorkerHealth?: boolean;
  /** Seconds between scheduler runs, 1 to 60 (`-s`). @default 1 */
  schedulerInterval?: number;
  /** Periodic schedules in UTC (`-u`), or local time when false (`-o`). @default the Huey's `utc` */
  utc?: boolean;
  /** Release this process's declared locks at start-up (`-f`). @default false */
  flushLocks?: boolean;
  /** Also release these locks at start-up (`-L a,b`); implies `flushLocks`. @default [] */
  extraLocks?: string[];
  /** Append log lines to this file (`-l`). @default stderr */
  logfile?: string;
  /** Log level: `debug` (`-v`), `info`, `error` (`-q`). @default "info" */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** Plain `time message` lines (`-S`). @default false */
  simpleLog?: boolean;
  /** Seconds a graceful stop (SIGINT) waits for running tasks before aborting them. @default 30 */
  shutdownTimeout?: number;
  /**
   * Seconds a cancelled task in a worker thread (`-k worker`) has to end
   * after its signal aborted; one that ignores it is terminated with its
   * thread, which is replaced. @default 5
   */
  cancelGrace?: number;
  /**
   * Recycle a worker once it has run this many tasks (`-M`): it takes no
   * more, and a fresh one (a new loop with its startup hooks, thread or
   * process) starts at once, which returns what a task leaked. Every
   * message a worker takes counts, whatever its outcome.
   * @default never
   */
  maxTasks?: number;
  /**
   * Seconds between the consumer's heartbeats (`huey.consumers()` shows it
   * dead after 3 missed beats). @default 5
   */
  heartbeatInterval?: number;
  /**
   * The consumer's id, named by `huey.consumers()` and `status().consumer`.
   * @default `<host>.<pid>.<8 random hex digits>`
   */
  consumerId?: string;
}

/** Options with every default filled in (those without a default stay unset unless given). */
export type ResolvedConsumerOptions =
  & Required<Omit<ConsumerOptions, "logfile" | "utc" | "maxTasks" | "consumerId">>
  & {
    logfile?: string;
    utc?: boolean;
    maxTasks?: number;
    consumerId?: string;
  };

/** The options without a default. */
const UNSET: readonly string[] = [
  "logfile",
  "utc",
  "maxTasks",
  "consumerId",
] satisfies (keyof ConsumerOptions)[];

/** huey's defaults. */
export const CONSUMER_DEFAULTS: Readonly<ResolvedConsumerOptions> = Object.freeze({
  workers: 1,
  workerType: "async",
  periodic: true,
  initialDelay: 0.1,
  maxDelay: 10,
  backoff: 1.15,
  healthCheckInterval: 10,
  checkWorkerHealth: true,
  schedulerInterval: 1,
  flushLocks: false,
  extraLocks: [],
  logLevel: "info",
  simpleLog: false,
  shutdownTimeout: 30,
  cancelGrace: 5,
  heartbeatInterval: 5,
});

function positive(name: string, value: number, min = 0, exclusive = true): void {
  if (
    typeof value !== "number" || !Number.isFinite(value) || (exclusive ? value <= min : value < min)
  ) {
    throw new ConfigurationError(
      `Cannot start consumer: ${name} must be a number ${exclusive ? ">" : ">="} ${min}: ${value}`,
    );
  }
}

/**
 * Fill in defaults and check every option; throws `ConfigurationError`
 * naming the option and the value.
 *
 * @example
 * ```ts
 * import { resolveConsumerOptions } from "./options.ts";
 * const options = resolveConsumerOptions({ workers: 4, workerType: "async" });
 * console.log(options.schedulerInterval); // 1
 * ```
 */
export function resolveConsumerOptions(options: ConsumerOptions = {}): ResolvedConsumerOptions {
  const resolved = { ...CONSUMER_DEFAULTS, ...options } as ResolvedConsumerOptions;
  for (const [key, value] of Object.entries(options)) {
    if (!(key in CONSUMER_DEFAULTS) && !UNSET.includes(key)) {
      throw new ConfigurationError(`Cannot start consumer: unknown option: ${key}`);
    }
    if (value === undefined) {
      (resolved as unknown as Record<string, unknown>)[key] =
        (CONSUMER_DEFAULTS as unknown as Record<string, unknown>)[key];
    }
  }
  if (!Number.isInteger(resolved.workers) || resolved.workers < 1) {
    throw new ConfigurationError(
      `Cannot start consumer: workers must be an integer >= 1: ${resolved.workers}`,
    );
  }
  const type = WORKER_TYPE_ALIASES[resolved.workerType];
  if (!type) {
    throw new ConfigurationError(
      `Cannot start consumer: worker type must be one of ${
        Object.keys(WORKER_TYPE_ALIASES).join(", ")
      }: ${resolved.workerType}`,
    );
  }
  resolved.workerType = type;
  positive("delay", resolved.initialDelay);
  positive("max delay", resolved.maxDelay);
  if (resolved.maxDelay < resolved.initialDelay) {
    throw new ConfigurationError(
      `Cannot start consumer: max delay (${resolved.maxDelay}) is below delay (${resolved.initialDelay})`,
    );
  }
  positive("backoff", resolved.backoff, 1);
  positive("health check interval", resolved.healthCheckInterval);
  positive("shutdown timeout", resolved.shutdownTimeout, 0, false);
  positive("cancel grace", resolved.cancelGrace, 0, false);
  positive("heartbeat interval", resolved.heartbeatInterval);
  const { consumerId } = resolved;
  if (
    consumerId !== undefined &&
    (typeof consumerId !== "string" || !/^[\w.:@+=~-]{1,200}$/.test(consumerId))
  ) {
    throw new ConfigurationError(
      `Cannot start consumer: consumer id must be 1 to 200 characters from A-Z a-z 0-9 . _ ~ : @ + = -: ${
        String(consumerId)
      }`,
    );
  }
  if (
    typeof resolved.schedulerInterval !== "number" || resolved.schedulerInterval < 1 ||
    resolved.schedulerInterval > 60 || 60 % resolved.schedulerInterval !== 0
  ) {
    throw new ConfigurationError(
      `Cannot start consumer: scheduler interval must be 1 to 60 seconds and divide 60: ${resolved.schedulerInterval}`,
    );
  }
  if (!["debug", "info", "warn", "error"].includes(resolved.logLevel)) {
    throw new ConfigurationError(
      `Cannot start consumer: log level must be debug, info, warn or error: ${resolved.logLevel}`,
    );
  }
  const { maxTasks } = resolved;
  if (maxTasks !== undefined && (!Number.isInteger(maxTasks) || maxTasks < 1)) {
    throw new ConfigurationError(
      `Cannot start consumer: max tasks must be an integer >= 1: ${maxTasks}`,
    );
  }
  if (
    !Array.isArray(resolved.extraLocks) ||
    resolved.extraLocks.some((name) => typeof name !== "string" || name === "")
  ) {
    throw new ConfigurationError(
      `Cannot start consumer: extra locks must be a list of lock names: ${
        String(resolved.extraLocks)
      }`,
    );
  }
  return resolved;
}
