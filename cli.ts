/**
 * The consumer command.
 *
 *   deno run -A cli.ts app.ts[:exportName] [options]
 *
 * Imports the app module (which declares the tasks), then runs a scheduler
 * and the workers until SIGINT (graceful) or SIGTERM (hard stop).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadApp, parseAppSpec } from "./lib/consumer/app.ts";
import { Consumer } from "./lib/consumer/consumer.ts";
import { consumerLogger } from "./lib/consumer/logging.ts";
import { CONSUMER_DEFAULTS, resolveConsumerOptions } from "./lib/consumer/options.ts";
import type { ConsumerOptions, WorkerType } from "./lib/consumer/options.ts";
import { args as commandLine, exit } from "./lib/runtime.ts";

const USAGE = `Usage: huey <app-module>[:export] [options]

Runs a consumer for the Huey instance exported by <app-module> (a path such
as app.ts, or app.ts:huey to pick the export).

Example:
  deno run -A cli.ts app.ts -w 8 -k async    # 8 concurrent workers in this process
  npx huey app.js -w 2 -k worker             # 2 worker threads (CPU-bound tasks)

Workers:
  -w, --workers N              number of workers (default ${CONSUMER_DEFAULTS.workers})
  -k, --worker-type TYPE       async | worker | process (default ${CONSUMER_DEFAULTS.workerType});
                               huey's greenlet = async, thread = worker
  -c, --health-check-interval S  seconds between worker health checks (default ${CONSUMER_DEFAULTS.healthCheckInterval})
  -C, --disable-health-check   do not check or replace workers
  -M, --max-tasks N            recycle a worker after it has run N tasks (a fresh
                               loop, thread or process starts at once)
      --shutdown-timeout S     seconds SIGINT waits for running tasks (default ${CONSUMER_DEFAULTS.shutdownTimeout})
      --cancel-grace S         seconds a cancelled task in a worker thread has before its thread is replaced (default ${CONSUMER_DEFAULTS.cancelGrace})
      --heartbeat-interval S   seconds between heartbeats (huey.consumers(); default ${CONSUMER_DEFAULTS.heartbeatInterval})
Queue polling (storages without blocking reads):
  -d, --delay S                first polling delay (default ${CONSUMER_DEFAULTS.initialDelay})
  -m, --max-delay S            longest polling delay (default ${CONSUMER_DEFAULTS.maxDelay})
  -b, --backoff X              delay growth factor, > 1 (default ${CONSUMER_DEFAULTS.backoff})
Scheduler:
  -s, --scheduler-interval S   seconds between scheduler runs, 1-60 (default ${CONSUMER_DEFAULTS.schedulerInterval})
  -n, --no-periodic            do not enqueue periodic tasks
  -u, --utc                    read crontabs in UTC (the default)
  -o, --localtime              read crontabs in local time
  -f, --flush-locks            release the app's declared locks at start-up
  -L, --extra-locks A,B        also release these locks at start-up (implies -f)
Logging:
  -l, --logfile FILE           append log lines to FILE
  -v, --verbose                DEBUG level
  -q, --quiet                  errors only
  -S, --simple                 "HH:MM:SS message" lines
  -h, --help                   this help

Signals: SIGINT stops after running tasks finish, SIGTERM aborts them and
stops now, SIGHUP restarts the workers gracefully.

Under systemd, Docker or another process manager, stop it with SIGINT
(KillSignal=SIGINT, STOPSIGNAL SIGINT) and signal the consumer itself: run
node_modules/.bin/huey (npx does not pass SIGINT on) or exec it from a shell
wrapper. README "Under a process manager" has a unit and a Dockerfile.`;

function fail(message: string): never {
  console.error(`huey: ${message} (run with -h for usage)`);
  exit(2);
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) fail(`--${name} expects a number: ${value}`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        workers: { type: "string", short: "w" },
        "worker-type": { type: "string", short: "k" },
        "no-periodic": { type: "boolean", short: "n" },
        delay: { type: "string", short: "d" },
        "max-delay": { type: "string", short: "m" },
        backoff: { type: "string", short: "b" },
        "health-check-interval": { type: "string", short: "c" },
        "disable-health-check": { type: "boolean", short: "C" },
        "max-tasks": { type: "string", short: "M" },
        "scheduler-interval": { type: "string", short: "s" },
        utc: { type: "boolean", short: "u" },
        localtime: { type: "boolean", short: "o" },
        "flush-locks": { type: "boolean", short: "f" },
        "extra-locks": { type: "string", short: "L" },
        logfile: { type: "string", short: "l" },
        verbose: { type: "boolean", short: "v" },
        quiet: { type: "boolean", short: "q" },
        simple: { type: "boolean", short: "S" },
        "shutdown-timeout": { type: "string" },
        "cancel-grace": { type: "string" },
        "heartbeat-interval": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length !== 1) {
    fail(
      positionals.length
        ? `expected one app module, got: ${positionals.join(" ")}`
        : "missing the app module",
    );
  }
  if (values.utc && values.localtime) fail("--utc and --localtime exclude each other");
  if (values.verbose && values.quiet) fail("--verbose and --quiet exclude each other");

  const workers = number("workers", values.workers);
  const options: ConsumerOptions = {
    workers,
    workerType: values["worker-type"] as WorkerType | undefined,
    periodic: values["no-periodic"] ? false : undefined,
    initialDelay: number("delay", values.delay),
    maxDelay: number("max-delay", values["max-delay"]),
    backoff: number("backoff", values.backoff),
    healthCheckInterval: number("health-check-interval", values["health-check-interval"]),
    checkWorkerHealth: values["disable-health-check"] ? false : undefined,
    maxTasks: number("max-tasks", values["max-tasks"]),
    schedulerInterval: number("scheduler-interval", values["scheduler-interval"]),
    utc: values.localtime ? false : values.utc ? true : undefined,
    flushLocks: values["flush-locks"] || undefined,
    extraLocks: values["extra-locks"]?.split(",").map((name) => name.trim()).filter(Boolean),
    logfile: values.logfile,
    logLevel: values.verbose ? "debug" : values.quiet ? "error" : undefined,
    simpleLog: values.simple || undefined,
    shutdownTimeout: number("shutdown-timeout", values["shutdown-timeout"]),
    cancelGrace: number("cancel-grace", values["cancel-grace"]),
    heartbeatInterval: number("heartbeat-interval", values["heartbeat-interval"]),
  };
  let resolved;
  try {
    resolved = resolveConsumerOptions(options);
  } catch (error) {
    fail((error as Error).message);
  }
  const app = parseAppSpec(positionals[0]);
  let huey;
  try {
    huey = await loadApp(app);
  } catch (error) {
    fail((error as Error).message);
  }
  huey.logger = consumerLogger({
    level: resolved.logLevel,
    logfile: resolved.logfile,
    simple: resolved.simpleLog,
  });
  const consumer = new Consumer(huey, resolved, { app });
  await consumer.run();
}

await main(commandLine());
exit(0);
