/**
 * Real consumer processes (`cli.ts`) on a SQLite file, real OS signals,
 * producers in this process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
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
  tempDir,
  uniqueName,
  until,
} from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { describeWithRedis, rawCommand } from "./redis_server.ts";

const dir = tempDir("huey-consumer-");
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
    const logfile = join(dir, `consumer-${uniqueName()}.log`);
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
        "-M",
        "-s",
        "-u",
        "-o",
        "-f",
        "-L",
        "-l",
        "-v",
        "-q",
        "-S",
      ]
    ) {
      assert.ok(output.includes(`  ${flag}, --`), `documents ${flag}`);
    }
    assert.match(output, /KillSignal=SIGINT/, "says how to run it under a process manager");
    assert.match(output, /node_modules\/\.bin\/huey \(npx does not pass SIGINT on\)/);
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

  it("-L releases the named locks at start-up, as -f does the declared ones", async () => {
    const { url, app } = await freshApp();
    await app.huey.lockTask("nightly-import").acquire();
    await app.huey.lockTask("kept").acquire();
    assert.equal(await app.huey.isLocked("nightly-import"), true);
    const running = await consumer([url, "-L", "nightly-import,not-held", ...fast]);
    try {
      await printed(running, /Flushed locks: nightly-import$/m);
      assert.equal(await app.huey.isLocked("nightly-import"), false);
      assert.equal(await app.huey.isLocked("kept"), true, "only the named ones");
    } finally {
      await stop(running);
      await app.huey.close();
    }
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

/**
 * Two consumers on one storage, one worker each, with a 1 s lease and a
 * scheduler that recovers leases every second.
 */
async function twoConsumers(config: Omit<AppConfig, "db" | "log">) {
  const app = await freshApp({ lease: 1, ...config });
  const args = [app.url, "-w", "1", "-s", "1", "-n", ...fast];
  const a = await consumer(args);
  const b = await consumer(args);
  const output = () => `${a.output()}\n${b.output()}`;
  /** The lines `stall` wrote for task `id`: "first", "rerun". */
  const runs = (id: string) =>
    app.lines().filter((l) => l.startsWith(`stall ${id}`)).map((l) => l.split(" ")[2]);
  /** Wait until nothing is queued or leased: every message taken so far has finished. */
  const settled = () =>
    until(
      async () => {
        const storage = app.app.huey.storage;
        return (await storage.queueSize()) === 0 && (await storage.leasedSize()) === 0;
      },
      20_000,
      output,
    );
  const close = async () => {
    await stop(a);
    await stop(b);
    await app.app.huey.close();
  };
  return { ...app, output, runs, settled, close };
}

/** How long the first run of `stall` blocks its consumer: well past the 1 s lease. */
const STALL_MS = 4000;

/** The WARN line of a run that finished after its message had been delivered again. */
const staleLine = (id: string) =>
  new RegExp(`WARN stall: ${id} finished after its lease ran out.*stale run: receipt [0-9a-f-]+`);

/**
 * A run that outlives its lease (its event loop blocked, so the lease could
 * not be renewed): the other consumer reruns the message; the late first
 * run must not overwrite the rerun's result, nor enqueue its follow-ups
 * (retry, next task) a second time.
 */
function lateFinisherTests(storage: string, config: () => Omit<AppConfig, "db" | "log">) {
  describe(`a late finisher on ${storage} (two consumer processes)`, { timeout: 120_000 }, () => {
    let t: Awaited<ReturnType<typeof twoConsumers>>;
    before(async () => (t = await twoConsumers(config())));
    after(() => t?.close());

    /** Wait for the first run's WARN, then for everything it may have enqueued to finish. */
    async function lateFinish(id: string) {
      await until(() => staleLine(id).test(t.output()), 20_000, t.output);
      await t.settled();
    }

    /**
     * The client reads the rerun's result; once the first run has finished
     * late, the result is still the rerun's, and the task ran twice only.
     */
    async function rerunStands(r: Awaited<ReturnType<typeof t.app.stall>>) {
      assert.equal(await r.get({ blocking: true, timeout: 20, preserve: true }), "rerun");
      await lateFinish(r.id);
      r.reset();
      assert.equal(await r.get({ preserve: true }), "rerun");
      assert.deepEqual(t.runs(r.id), ["first", "rerun"]);
    }

    if (storage === "Redis") {
      it("does not replace the rerun's result with its own", async () => {
        await rerunStands(await t.app.stall(STALL_MS, false));
      });

      it("does not replace the rerun's result with its error", async () => {
        await rerunStands(await t.app.stall(STALL_MS, true));
      });
    }

    it("does not enqueue the next task of its pipeline a second time", async () => {
      const group = await t.app.huey.enqueue(t.app.stall.s(STALL_MS, false).then(t.app.record));
      const [stall] = group.results;
      assert.deepEqual(await group.get({ blocking: true, timeout: 20, preserve: true }), [
        "rerun",
        "rerun",
      ]);
      await lateFinish(stall.id);
      assert.deepEqual(t.runs(stall.id), ["first", "rerun"]);
      assert.deepEqual(t.lines().filter((l) => l.startsWith("record")), ["record rerun"]);
    });

    it("does not retry the task a second time", async () => {
      await rerunStands(await t.app.stall.schedule([STALL_MS, true], { retries: 1 }));
    });
  });
}

lateFinisherTests("SQLite", () => ({}));
await describeWithRedis("a late finisher on Redis (two consumer processes)", (server) => {
  after(() => server.stop());
  lateFinisherTests("Redis", () => ({ redis: server.url, name: `late-${Date.now()}` }));
});

await describeWithRedis("consumers whose clocks disagree, on Redis", (server) => {
  describe("consumers whose clocks disagree, on Redis", { timeout: 120_000 }, () => {
    after(() => server.stop());

    it("recover no lease early and run nothing twice when one clock is 2 minutes ahead", async () => {
      const name = `clocks-${Date.now()}`;
      const right = await freshApp({ redis: server.url, name });
      const ahead = await freshApp({ redis: server.url, name, log: right.log, offset: 120_000 });
      const args = (url: string) => [url, "-w", "4", "-s", "1", "-n", ...fast];
      const a = await consumer(args(right.url));
      const b = await consumer(args(ahead.url));
      const output = () => `${a.output()}\n${b.output()}`;
      try {
        // Eight 2 s tasks on eight workers: each consumer holds four leases
        // (30 s) while the other's scheduler looks for expired ones every second.
        const group = await right.app.slow.map(Array.from({ length: 8 }, () => [2000] as [number]));
        assert.deepEqual(
          await group.get({ blocking: true, timeout: 30 }),
          Array(8).fill("finished"),
        );
        const starts = right.lines().filter((l) => l.startsWith("start"));
        assert.equal(starts.length, 8, `started: ${starts.join(", ")}`);
        assert.equal(new Set(starts).size, 8);
        assert.doesNotMatch(output(), /Lease of .* ran out/);
        // Both consumers ran some: the leases of each met the other's clock.
        assert.match(a.output(), /Executing slow/);
        assert.match(b.output(), /Executing slow/);
      } finally {
        await stop(a);
        await stop(b);
        await right.app.huey.close();
        await ahead.app.huey.close();
      }
    });
  });
});

await describeWithRedis("a message that is not UTF-8, on Redis", (server) => {
  describe("a message that is not UTF-8, on Redis", { timeout: 60_000 }, () => {
    after(() => server.stop());

    it("is kept in the error store with its bytes and the reason, never run, and the consumer carries on", async () => {
      const name = `utf8-${Date.now()}`;
      const { url, app, lines } = await freshApp({ redis: server.url, name });
      // -n: no periodic tick in flight when the leases are counted.
      const running = await consumer([url, "-n", ...fast]);
      try {
        // A `record` message whose argument "a?c" holds the byte 0xff: decoded
        // leniently it would run with "a\uFFFDc".
        const text = app.huey.encodeTask(app.record.s("a?c"));
        const bytes = new TextEncoder().encode(text);
        bytes[bytes.indexOf("?".charCodeAt(0))] = 0xff;
        assert.equal(await rawCommand(server.url, ["LPUSH", `huey.{${name}}.queue`, bytes]), ":1");
        const r = await app.add(2, 3);
        assert.equal(await r.get({ blocking: true, timeout: 10 }), 5, "the consumer carries on");
        await printed(running, /ERROR Message set aside in the error store: .*not valid UTF-8/);
        const [kept] = await app.huey.storage.errorItems();
        assert.match(
          kept.reason,
          /^SerializationError: Cannot decode message: .*not valid UTF-8: byte 0xff at offset \d+/,
        );
        assert.equal(kept.data, Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""));
        assert.deepEqual(lines().filter((l) => l.startsWith("record")), [], "never run");
        // Acknowledged right after it is set aside (and logged): wait for that.
        await until(
          async () => (await app.huey.storage.leasedSize()) === 0,
          10_000,
          running.output,
        );
        assert.equal(await app.huey.storage.queueSize(), 0);
      } finally {
        await stop(running);
        await app.huey.close();
      }
    });
  });
});
