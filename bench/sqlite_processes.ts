/**
 * SQLite across processes: a consumer process (`cli.ts` with its default
 * polling options: `-d 0.1 -m 10`) and a producer in this process, on one
 * database file.
 *
 *   deno task bench:sqlite-processes            # W3 p50 and wake-ups after 2, 20 and 70 s idle
 *   deno task bench:sqlite-processes --quick    # shorter idles (0.5 and 2 s), fewer round trips
 *
 * Prints one table: the round trip add(i, 2) + blocking get (the issue's
 * "W3 across processes"), and how long a task enqueued after each idle
 * period waited before it started (its consumer had backed off to its
 * longest polling delay). Beside it, the same figures with the WAL watch
 * off (`watch: false`, in the consumer and the producer), the baseline
 * measured in the same run.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { args as commandLine, scriptCommand } from "../lib/runtime.ts";
import { latencyMetrics } from "./harness.mjs";

const quick = commandLine().includes("--quick");
const idles = quick ? [0.5, 2] : [2, 20, 70];
const trips = quick ? 100 : 1000;
const root = new URL("..", import.meta.url);

async function measure(
  watch: boolean,
): Promise<{ p50: number; p99: number; wakes: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), "huey-sqlite-processes-"));
  const app = join(dir, "app.ts");
  writeFileSync(
    app,
    `import { SqliteHuey } from ${JSON.stringify(new URL("mod.ts", root).href)};\n` +
      `export const huey = new SqliteHuey({ filename: ${
        JSON.stringify(join(dir, "b.db"))
      }, watch: ${watch} });\n` +
      `export const add = huey.task("add", (a: number, b: number) => a + b);\n` +
      `export const stamp = huey.task("stamp", () => performance.timeOrigin + performance.now());\n`,
  );
  const { command, args } = scriptCommand(new URL("cli.ts", root), [
    app,
    "-w",
    "1",
    "-n",
  ]);
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  try {
    const { add, stamp, huey } = await import(pathToFileURL(app).href);
    while (!/Consumer started/.test(output)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const samples: number[] = [];
    for (let i = 0; i < trips + 20; i++) {
      const start = performance.now();
      await (await add(i, 2)).get({ blocking: true, timeout: 60 });
      if (i >= 20) samples.push(performance.now() - start);
    }
    const wakes: number[] = [];
    for (const idle of idles) {
      await new Promise((r) => setTimeout(r, idle * 1000));
      const sent = performance.timeOrigin + performance.now();
      const started = await (await stamp()).get({
        blocking: true,
        timeout: 120,
      }) as number;
      wakes.push(started - sent);
    }
    await huey.close();
    const { p50, p99 } = latencyMetrics(samples);
    return { p50, p99, wakes };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const on = await measure(true);
const off = await measure(false);
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
console.log(
  `| SqliteHuey, consumer in another process | WAL watch (default) | polling only | ratio |`,
);
console.log(`| --- | --- | --- | --- |`);
console.log(
  `| W3 round trip p50 (${trips}) | ${ms(on.p50)} | ${ms(off.p50)} | ${
    (on.p50 / off.p50).toFixed(2)
  }× |`,
);
console.log(
  `| W3 round trip p99 | ${ms(on.p99)} | ${ms(off.p99)} | ${(on.p99 / off.p99).toFixed(2)}× |`,
);
idles.forEach((idle, i) => {
  console.log(
    `| task start after ${idle} s idle | ${ms(on.wakes[i])} | ${ms(off.wakes[i])} | ${
      (on.wakes[i] / off.wakes[i]).toFixed(3)
    }× |`,
  );
});
