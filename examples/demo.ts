/**
 * The README demo: declare tasks, call them, read results. Runs in
 * immediate mode, so no consumer or server is needed:
 *
 *   deno task demo
 */
import { createLogger, crontab, MemoryHuey, TaskError } from "../mod.ts";

const huey = new MemoryHuey({
  name: "demo",
  immediate: true,
  logger: createLogger({ level: "silent" }),
});

const add = huey.task("add", (a: number, b: number) => a + b);
const fib = huey.task("fib", (a: number, b = 1): [number, number] => [a + b, a]);
const flaky = huey.task("flaky", () => {
  throw new Error("failing!");
}, { retries: 2 });
huey.periodicTask("every_three_minutes", crontab({ minute: "*/3" }), () => {
  console.log("This task runs every three minutes");
});

const r = await add(1, 2);
console.log("add(1, 2)                 ->", await r.get());

const pipeline = await huey.enqueue(add.s(1, 2).then(add, 3).then(add, 4).then(add, 5));
console.log("pipeline of add           ->", await pipeline.get({ blocking: true }));

const fibs = await huey.enqueue(fib.s(1).then(fib).then(fib).then(fib));
console.log("pipeline of fib           ->", await fibs.get({ blocking: true }));

const squares = await add.map(
  Array.from({ length: 10 }, (_, i) => [i, i ** 2] as [number, number]),
);
console.log("add.map over 10 pairs     ->", await squares.get({ blocking: true }));

await add.revoke({ revokeOnce: true });
console.log("revoked once: add(2, 3)   ->", await (await add(2, 3)).get());
console.log("restored: add(3, 4)       ->", await (await add(3, 4)).get());

const later = await add.schedule([4, 5], { delay: 60 });
console.log(
  "scheduled in 60 s         ->",
  await later.get(),
  "| huey.scheduled():",
  (await huey.scheduled()).map(String),
);

try {
  await (await flaky()).get();
} catch (err) {
  if (err instanceof TaskError) {
    console.log("flaky() after 2 retries   -> TaskError:", err.remoteMessage);
  }
}

await huey.put("calculate-something.result", { total: 42 });
console.log(
  "put / get with peek       ->",
  await huey.get("calculate-something.result", { peek: true }),
);
