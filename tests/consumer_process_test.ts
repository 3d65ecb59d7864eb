/**
 * Real consumer processes (`cli.ts`) on a SQLite file, real OS signals,
 * producers in this process.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../lib/_util.ts";
import {
  appPath,
  consumer,
  fast,
  freshApp as freshAppIn,
  printed,
  startConsumer,
  stop,
  until,
} from "./consumer_process.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";

const dir = mkdtempSync(join(tmpdir(), "huey-consumer-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
const freshApp = (config: Partial<AppConfig> = {}) => freshAppIn(dir, config);

describe("consumer process", { timeout: 120_000 }, () => {
  it("runs tasks enqueued by another process and stores their results", async () => {
    const { url, app } = await freshApp();
    const running = await consumer([url, "-w", "2", ...fast]);
    try {
      const results = await Promise.all([app.add(1, 2), app.add(20, 22)]);
      assert.deepEqual(
        await Promise.all(results.map((r) => r.get({ blocking: true, timeout: 10 }))),
        [3, 42],
      );
    } finally {
      assert.equal(await stop(running), 0, running.output());
      await app.huey.close();
    }
    // Read the log once the process has exited and flushed it.
    assert.match(running.output(), /Executing add: /);
    assert.match(running.output(), /add: [0-9a-f-]+ executed in \d+\.\d{3}s/);
  });

  it("runs a scheduled task on time and a retried task after its delay", async () => {
    const { url, app, lines } = await freshApp();
    const running = await consumer([url, ...fast]);
    try {
      const start = Date.now();
      const scheduled = await app.add.schedule([3, 4], { delay: 2 });
      const flaky = await app.flaky();
      // The first attempt fails at once; the retry comes one second later.
      await assert.rejects(() => flaky.get({ blocking: true, timeout: 10 }), /not yet/);
      flaky.reset();
      assert.equal(await flaky.get({ blocking: true, timeout: 10 }), "ok");
      assert.ok((Date.now() - start) / 1000 >= 0.9, "retried after its delay");
      assert.equal(await scheduled.get({ blocking: true, timeout: 10 }), 7);
      const waited = (Date.now() - start) / 1000;
      assert.ok(waited >= 1.9 && waited < 4.5, `scheduled task ran after ${waited}s`);
      assert.deepEqual(lines().filter((l) => l.startsWith("flaky")), ["flaky 1", "flaky 0"]);
    } finally {
      await stop(running);
      await app.huey.close();
    }
  });

  it("enqueues a periodic task at the minute boundary, once across two consumers", async () => {
    // Put the app's clock 3 seconds before a minute boundary.
    const now = Date.now();
    const offset = Math.ceil(now / 60_000) * 60_000 + 60_000 - 3000 - now;
    const { url, app, lines } = await freshApp({ offset });
    const a = await consumer([url, ...fast]);
    const b = await consumer([url, ...fast]);
    try {
      const ticks = () => lines().filter((l) => l.startsWith("tick"));
      const before = ticks().length; // the start-up minute may fire once
      await until(() => ticks().length > before, 10_000, a.output);
      await new Promise((r) => setTimeout(r, 1500));
      const fired = ticks().slice(before);
      assert.equal(fired.length, 1, `fired: ${fired.join(", ")}`);
      assert.match(fired[0], /T\d\d:\d\d:0\d/, "right after the boundary");
    } finally {
      await stop(a);
      await stop(b);
      await app.huey.close();
    }
  });

  it("SIGINT lets the running task finish, then exits 0", async () => {
    const { url, app, lines } = await freshApp();
    const running = await consumer([url, ...fast]);
    const r = await app.slow(1500);
    await until(() => lines().some((l) => l.startsWith("start")), 10_000, running.output);
    assert.equal(await stop(running, "SIGINT"), 0, running.output());
    assert.deepEqual(lines().filter((l) => !l.startsWith("tick")).map((l) => l.split(" ")[0]), [
      "start",
      "end",
    ]);
    assert.equal(await r.get(), "finished");
    await app.huey.close();
  });

  it("SIGTERM aborts the running task and exits at once; the task runs again later", async () => {
    const { url, app, lines } = await freshApp();
    const running = await consumer([url, ...fast]);
    const r = await app.slow(5000);
    await until(() => lines().some((l) => l.startsWith("start")), 10_000, running.output);
    const begin = Date.now();
    running.child.kill("SIGTERM");
    await running.exited;
    assert.ok(Date.now() - begin < 3000, "exits quickly");
    assert.ok(lines().some((l) => l.startsWith("aborted")), "the task's signal aborted");
    assert.equal(await r.get(), undefined);
    assert.equal(await app.huey.storage.leasedSize(), 1, "message kept for redelivery");
    // A new consumer picks it up (its lease was released at once).
    const next = await consumer([url, ...fast]);
    try {
      assert.equal(await r.get({ blocking: true, timeout: 15 }), "finished");
    } finally {
      await stop(next);
      await app.huey.close();
    }
  });

  it("a task whose consumer is killed (SIGKILL) runs again, exactly once more, after the lease", async () => {
    const { url, app, lines } = await freshApp({ lease: 2 });
    const first = await consumer([url, ...fast]);
    const r = await app.slow(1000);
    await until(() => lines().some((l) => l.startsWith("start")), 10_000, first.output);
    first.child.kill("SIGKILL");
    await first.exited;
    const second = await consumer([url, ...fast]);
    try {
      assert.equal(await r.get({ blocking: true, timeout: 20 }), "finished");
      const ran = lines().filter((l) => !l.startsWith("tick")).map((l) => l.split(" ")[0]);
      assert.deepEqual(ran, ["start", "start", "end"]);
      await printed(second, /Lease of slow: .* ran out/);
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(lines().filter((l) => l.startsWith("end")).length, 1, "not run a third time");
    } finally {
      await stop(second);
      await app.huey.close();
    }
  });

  it("overlaps 64 sleeping tasks with -w 64", async () => {
    const { url, app } = await freshApp();
    const running = await consumer([url, "-w", "64", ...fast]);
    try {
      const start = Date.now();
      const group = await app.nap.map(Array.from({ length: 64 }, () => [500] as [number]));
      await group.get({ blocking: true, timeout: 30 });
      const elapsed = Date.now() - start;
      // Serially: 64 × 0.5 s = 32 s.
      assert.ok(elapsed < 5000, `64 naps of 0.5 s took ${elapsed} ms`);
    } finally {
      await stop(running);
      await app.huey.close();
    }
  });

  it("runs CPU-bound tasks in parallel with -k worker, one at a time with -k async", async () => {
    const overlaps = async (args: string[]) => {
      const { url, app, lines } = await freshApp();
      const running = await consumer([url, ...args, ...fast]);
      try {
        const group = await app.burn.map([[400], [400], [400], [400]]);
        await group.get({ blocking: true, timeout: 30 });
        const spans = lines().filter((l) => l.startsWith("burn")).map((l) =>
          l.split(" ").slice(1).map(Number)
        );
        assert.equal(spans.length, 4);
        return spans.some(([s1, e1], i) =>
          spans.some(([s2], j) => i !== j && s2 >= s1 && s2 < e1 - 50)
        );
      } finally {
        await stop(running);
        await app.huey.close();
      }
    };
    assert.equal(await overlaps(["-w", "2", "-k", "worker"]), true, "worker threads overlap");
    assert.equal(await overlaps(["-w", "2", "-k", "thread"]), true, "huey's name works too");
    assert.equal(await overlaps(["-w", "2", "-k", "async"]), false, "one event loop cannot");
  });

  it("replaces a worker thread stuck in a task past its timeout (-c)", async () => {
    const { url, app, lines } = await freshApp();
    const running = await consumer([url, "-w", "1", "-k", "worker", "-c", "1", ...fast]);
    try {
      await app.hang();
      await until(() => lines().includes("hang"), 10_000, running.output);
      const r = await app.add(2, 2);
      assert.equal(await r.get({ blocking: true, timeout: 30 }), 4);
      await printed(running, /Worker 0 is stuck in hang: .* past its 1s timeout; replacing it/);
    } finally {
      await stop(running, "SIGTERM");
      await app.huey.close();
    }
  });

  it("writes log lines to a file with -l, in the simple format with -S", async () => {
    const { url, app } = await freshApp();
    const logfile = join(dir, `consumer-${counter++}.log`);
    // The start-up line goes to the file, not to stderr: wait on the file.
    const started = startConsumer([url, "-l", logfile, "-S", "-v", ...fast]);
    try {
      await until(
        () => existsSync(logfile) && readFileSync(logfile, "utf8").includes("Consumer started"),
        20_000,
      );
      const r = await app.add(1, 2);
      assert.equal(await r.get({ blocking: true, timeout: 10 }), 3);
      await until(() => /executed in/.test(readFileSync(logfile, "utf8")), 5000);
      const text = readFileSync(logfile, "utf8");
      assert.match(text, /^\d\d:\d\d:\d\d Consumer started/m);
      assert.match(text, /^\d\d:\d\d:\d\d add: [0-9a-f-]+ executed in \d+\.\d{3}s$/m);
      assert.doesNotMatch(started.output(), /Consumer started/);
    } finally {
      await stop(started);
      await app.huey.close();
    }
  });

  it("runs tasks with -k process workers", async () => {
    const { url, app } = await freshApp();
    const running = await consumer([url, "-w", "2", "-k", "process", ...fast]);
    try {
      const r = await app.add(5, 5);
      assert.equal(await r.get({ blocking: true, timeout: 20 }), 10);
    } finally {
      assert.equal(await stop(running), 0, running.output());
      await app.huey.close();
    }
  });
});

describe("cli.ts", { timeout: 60_000 }, () => {
  const run = async (args: string[]) => {
    const running = startConsumer(args);
    const { code } = await running.exited;
    return { code, output: running.output().trim() };
  };

  it("prints usage with -h", async () => {
    const { code, output } = await run(["-h"]);
    assert.equal(code, 0);
    assert.match(output, /^Usage: huey <app-module>/);
    for (
      const flag of [
        "-w",
        "-k",
        "-n",
        "-d",
        "-m",
        "-b",
        "-c",
        "-C",
        "-s",
        "-u",
        "-o",
        "-f",
        "-l",
        "-v",
        "-q",
        "-S",
      ]
    ) {
      assert.ok(output.includes(`  ${flag}, --`), `documents ${flag}`);
    }
  });

  it("rejects a bad flag, a bad value, a missing module and a module without a Huey in one line", async () => {
    const cases: [string[], RegExp][] = [
      [["app.ts", "--frobnicate"], /Unknown option '--frobnicate'/],
      [[appPath, "-w", "many"], /--workers expects a number: many/],
      [[appPath, "-k", "fiber"], /worker type must be one of .*: fiber/],
      [["does/not/exist.ts"], /Cannot import app module .*does\/not\/exist\.ts/],
      [[appPath], /exports no Huey instance/],
      [[`${(await freshApp()).url}:nothing`], /export nothing .* is not a Huey/],
      [[], /missing the app module/],
    ];
    for (const [args, message] of cases) {
      const { code, output } = await run(args);
      assert.notEqual(code, 0, `${args.join(" ")} should fail`);
      assert.equal(output.split("\n").length, 1, `one line: ${output}`);
      assert.match(output, message);
    }
  });

  it("sets a message that kills every consumer aside after maxDeliveries, and runs the rest", async () => {
    const { url, app, lines } = await freshApp({ lease: 1, maxDeliveries: 2 });
    await app.crash();
    const r = await app.add(2, 3);
    const setAside = async () => (await app.huey.storage.errorItems()).length > 0;
    const exits: (number | null)[] = [];
    // A supervisor: start a consumer again each time the poison message kills it.
    while (!(await setAside()) && exits.length < 6) {
      const running = startConsumer([url, ...fast]);
      let exited: number | null | undefined;
      running.exited.then((exit) => (exited = exit.code));
      while (exited === undefined && !(await setAside())) await sleep(0.05);
      if (exited === undefined) {
        assert.equal(await r.get({ blocking: true, timeout: 15 }), 5, "the rest runs");
        await stop(running);
      } else {
        exits.push(exited);
      }
    }
    assert.deepEqual(exits, [3, 3], "killed two consumers, then set aside");
    assert.equal(lines().filter((line) => line === "crash").length, 2);
    const [kept] = await app.huey.storage.errorItems();
    assert.match(kept.reason, /delivered 3 times without finishing \(maxDeliveries 2\)/);
    assert.equal(app.huey.decodeTask(kept.data).name, "crash");
    assert.equal(await app.huey.storage.leasedSize(), 0);
    assert.equal(await app.huey.storage.queueSize(), 0);
    await app.huey.close();
  });

  it("reports a message for a task the app does not declare, naming the module, and keeps running", async () => {
    const { url, app } = await freshApp();
    const running = await consumer([url, ...fast]);
    try {
      await app.huey.enqueue(app.huey.task("not_in_consumer", () => 1).s());
      const r = await app.add(1, 1);
      assert.equal(await r.get({ blocking: true, timeout: 10 }), 2);
      const [kept] = await app.huey.storage.errorItems();
      assert.match(kept.reason, /UnknownTaskError.*not_in_consumer.*_app\.ts/);
      await printed(running, /not_in_consumer/);
    } finally {
      await stop(running);
      await app.huey.close();
    }
  });
});
