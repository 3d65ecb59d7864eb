/**
 * The module a `worker` pool thread runs: import the app, run the startup
 * hooks, run the worker loop until told to stop, run the shutdown hooks.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../_util.ts";
import { loadApp } from "./app.ts";
import { consumerLogger } from "./logging.ts";
import type { FromWorker, ToWorker, WorkerThreadData } from "./thread_pool.ts";
import { runWorkerLoop } from "./worker_loop.ts";

const data = workerData as WorkerThreadData;
const port = parentPort!;
const send = (message: FromWorker) => port.postMessage(message);
const stop = new AbortController();
const abort = new AbortController();
/** A task-start was sent and its task-end is due. */
let reported = false;

const onMessage = (message: ToWorker) => {
  stop.abort();
  if (message.type === "abort") abort.abort(new Error("consumer stopped (SIGTERM)"));
};
port.on("message", onMessage);

try {
  const huey = await loadApp(data.app);
  huey.logger = consumerLogger({
    level: data.options.logLevel,
    logfile: data.options.logfile,
    simple: data.options.simpleLog,
    source: `worker ${data.index}`,
  });
  await huey.runStartupHooks();
  send({ type: "ready" });
  await runWorkerLoop(huey, {
    ...data.options,
    stop: stop.signal,
    abort: abort.signal,
    // Only a task with a timeout can be found hung by the health check: the
    // others need no message (two per task cost ~40% of the throughput of a
    // no-op task on Deno, scripts/bench.ts W2).
    onTaskStart: (task) => {
      if (task.timeout === undefined) return;
      reported = true;
      send({ type: "task-start", ...task });
    },
    onTaskEnd: () => {
      if (!reported) return;
      reported = false;
      send({ type: "task-end" });
    },
  });
  await huey.runShutdownHooks();
  await huey.close();
} catch (error) {
  send({ type: "failed", message: errorMessage(error) });
} finally {
  port.off("message", onMessage);
  send({ type: "done" });
}
