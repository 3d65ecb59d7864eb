/**
 * The demo app: a Huey on a SQLite file and a few tasks. Run a consumer for
 * it with:
 *
 *   deno run -A cli.ts examples/app.ts
 *
 * and call its tasks from any other process that imports this module.
 */
import { crontab, RetryTask, SqliteHuey } from "../mod.ts";

export const huey = new SqliteHuey({ name: "demo", filename: "demo.db" });

export const add = huey.task("add", (a: number, b: number) => a + b);

export const fib = huey.task("fib", (a: number, b = 1): [number, number] => [a + b, a]);

let attempts = 0;
/** Fails on its first attempt in each consumer, then succeeds. */
export const flaky = huey.task("flaky", () => {
  if (++attempts === 1) throw new RetryTask({ delay: 1 });
  return "OK";
});

export const slowSquare = huey.task("slow_square", async (n: number) => {
  await new Promise((resolve) => setTimeout(resolve, 500));
  return n * n;
});

huey.periodicTask("every_three_minutes", crontab({ minute: "*/3" }), () => {
  console.log("This task runs every three minutes");
});
