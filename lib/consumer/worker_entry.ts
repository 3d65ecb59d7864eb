/**
 * The module a `worker` pool thread runs: import the app, run the startup
 * hooks, run the worker loop until told to stop, run the shutdown hooks.
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../_util.ts";
import { loadWorkerApp } from "./pool.ts";
import type { WorkerConfig } from "./pool.ts";
import type { FromWorker, ToWorker } from "./thread_pool.ts";
import { TaskSlot } from "./task_slot.ts";
import { runWorkerLoop } from "./worker_loop.ts";

const data = workerData as WorkerConfig;
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
  const huey = await loadWorkerApp(data, `worker ${data.index}`);
  await huey.runStartupHooks();
  send({ type: "ready" });
  const end = await runWorkerLoop(huey, {
    ...data.options,
    stop: stop.signal,
    abort: abort.signal,
    slot: data.slot ? new TaskSlot(data.slot) : undefined,
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
  if (end === "retired") send({ type: "retired" });
  await huey.runShutdownHooks();
  await huey.close();
} catch (error) {
  send({ type: "failed", message: errorMessage(error) });
} finally {
  port.off("message", onMessage);
  send({ type: "done" });
}
