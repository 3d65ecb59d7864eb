/**
 * The module a `process` pool child runs: import the app, set up the
 * consumer's logger, and run a consumer of one async worker without a
 * scheduler (the parent schedules) until SIGINT (graceful; a second one
 * aborts) or SIGTERM (hard stop).
 *
 * The pool passes a {@link WorkerConfig} as the one argument, in JSON.
 *
 * @module
 */
import { errorMessage } from "../_util.ts";
import { args, exit } from "../runtime.ts";
import { Consumer } from "./consumer.ts";
import { loadWorkerApp } from "./pool.ts";
import type { WorkerConfig } from "./pool.ts";

/** The child's config, from its one argument. */
function readConfig(argv: string[]): WorkerConfig {
  try {
    return JSON.parse(argv[0]) as WorkerConfig;
  } catch (error) {
    throw new Error(
      `Cannot start worker process: expected its config as one JSON argument (the process pool passes it): ${
        errorMessage(error)
      }`,
    );
  }
}

let consumer: Consumer;
try {
  const config = readConfig(args());
  const huey = await loadWorkerApp(config, "worker");
  consumer = new Consumer(huey, config.options, { app: config.app, workerOnly: true });
} catch (error) {
  // One line, as cli.ts reports a bad app; the parent logs the exit and
  // replaces the child at its next health check.
  console.error(`huey: ${errorMessage(error)}`);
  exit(2);
}
await consumer.run();
// Like cli.ts: end even if the app left something open (a client, a timer).
exit(0);
