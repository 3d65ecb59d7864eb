/**
 * The README demo: starts a real consumer process for examples/app.ts (on
 * the embedded SQLite default, no server needed), calls tasks from this
 * process, prints the results, then stops the consumer with SIGINT.
 *
 *   deno task demo
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { scriptCommand } from "../lib/runtime.ts";

for (const suffix of ["", "-wal", "-shm"]) rmSync(`demo.db${suffix}`, { force: true });
const { add, fib, flaky, huey, slowSquare } = await import("./app.ts");

const cli = fileURLToPath(new URL("../cli.ts", import.meta.url));
const app = fileURLToPath(new URL("./app.ts", import.meta.url));
const { command, args } = scriptCommand(cli, [app, "-w", "4", "-d", "0.01", "-m", "0.1", "-S"]);
console.log(`$ huey ${app} -w 4   (consumer logs are prefixed with a time)\n`);
const consumer = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
const exited = new Promise((resolve) => consumer.on("exit", resolve));

const show = (label: string, value: unknown) => console.log(`>>> ${label.padEnd(28)}`, value);

const r = await add(1, 2);
show("add(1, 2)", await r.get({ blocking: true, timeout: 10 }));

const pipeline = await huey.enqueue(add.s(1, 2).then(add, 3).then(add, 4).then(add, 5));
show("add pipeline", await pipeline.get({ blocking: true, timeout: 10 }));

const fibs = await huey.enqueue(fib.s(1).then(fib).then(fib).then(fib));
show("fib pipeline", await fibs.get({ blocking: true, timeout: 10 }));

const started = Date.now();
const squares = await slowSquare.map([[1], [2], [3], [4]]);
show("4 × slow_square (0.5 s each)", await squares.get({ blocking: true, timeout: 10 }));
show("  ...on 4 workers, took", `${((Date.now() - started) / 1000).toFixed(2)} s`);

const later = await add.schedule([3, 4], { delay: 2 });
show("add.schedule([3, 4], 2 s)", await later.get({ blocking: true, timeout: 10 }));

const retried = await flaky();
const failure = await retried.get({ blocking: true, timeout: 10 }).catch((err) => err);
show("flaky() first attempt", `${failure.name}: ${failure.remoteName}`);
retried.reset();
await new Promise((resolve) => setTimeout(resolve, 1500));
show("flaky() after its retry", await retried.get({ blocking: true, timeout: 10 }));

await huey.put("calculate-something.result", { total: 42 });
show("huey.get(key, { peek })", await huey.get("calculate-something.result", { peek: true }));

consumer.kill("SIGINT");
await exited;
await huey.close();
for (const suffix of ["", "-wal", "-shm"]) rmSync(`demo.db${suffix}`, { force: true });
