/**
 * Unique tasks (`schedule(args, { id, unique: true })`, `unique` on a
 * task): no second task while one with the id is queued, scheduled or
 * running, on memory, SQLite, Redis and Postgres; producers racing in
 * several processes; a real consumer process.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CancelExecution,
  ConfigurationError,
  Huey,
  MemoryStorage,
  PostgresStorage,
  RedisStorage,
  SIGNAL_ENQUEUED,
  SqliteStorage,
} from "../mod.ts";
import type { Storage } from "../mod.ts";
import { scriptCommand } from "../lib/runtime.ts";
import { fakeClock, silent } from "./helpers.ts";
import type { FakeClock } from "./helpers.ts";
import { consumer, fast, stop, until } from "./process_helpers.ts";
import { describeWithPostgres } from "./postgres_server.ts";
import { describeWithRedis } from "./redis_server.ts";
import { makeLimitsApp, writeAppModule } from "./fixtures/limits_app.ts";
import type { LimitsAppConfig } from "./fixtures/limits_app.ts";

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const dir = mkdtempSync(join(tmpdir(), "huey-unique-"));
let names = 0;

/** A promise that a test resolves by hand. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * The behaviours every storage gives unique tasks. `storageClock`: the
 * storage measures a marker's ttl on its own clock (Redis, Postgres), so
 * the lapse test waits it out in real time.
 */
function behaviours(label: string, makeStorage: () => Storage, storageClock = false): void {
  describe(`unique tasks on ${label}`, () => {
    const opened: Huey[] = [];
    after(async () => {
      for (const huey of opened) await huey.close().catch(() => {});
    });

    /** A producer and a worker on a fresh storage, with the tasks of `declare` on both. */
    async function pair(uniqueTtl?: number, clock: FakeClock = fakeClock()) {
      const storage = makeStorage();
      await storage.flushAll();
      const options = { storage, logger: silent, clock, uniqueTtl };
      const producer = new Huey(options);
      const worker = new Huey(options);
      opened.push(producer);
      let running = gate();
      let release = gate();
      let runs = 0;
      const declare = (huey: Huey) => ({
        add: huey.task("add", (a: number, b: number) => a + b),
        sync: huey.task("sync", async (user: number) => {
          runs++;
          running.open();
          await release.promise;
          return `synced ${user}`;
        }, { unique: (user: number) => `sync-${user}` }),
        pair: huey.task("pair", (a: number, b: number) => [a, b], { unique: true }),
        fails: huey.task("fails", (_n: number) => {
          throw new Error("nope");
        }, { retries: 1, unique: (n: number) => `fails-${n}` }),
        expiring: huey.task("expiring", () => "late", { expires: 10, unique: () => "expiring" }),
        cancels: huey.task("cancels", () => {
          throw new CancelExecution();
        }, { unique: () => "cancels" }),
      });
      const tasks = declare(producer);
      declare(worker);
      const rearm = () => {
        running = gate();
        release = gate();
      };
      return {
        producer,
        worker,
        clock,
        ...tasks,
        running: () => running.promise,
        release: () => release.open(),
        rearm,
        runs: () => runs,
      };
    }

    it("a second schedule with the id while the first is queued creates nothing and resolves to its Result", async () => {
      const { producer, worker, add } = await pair();
      const first = await add.schedule([1, 2], { id: "signup-42", unique: true });
      const second = await add.schedule([3, 4], { id: "signup-42", unique: true });
      assert.equal(second.id, first.id);
      assert.deepEqual((await producer.pending()).map((t) => [t.id, t.args]), [
        ["signup-42", [1, 2]],
      ]);
      assert.equal((await worker.executeNext())?.status, "complete");
      assert.equal(await second.get({ preserve: true }), 3, "the first task's value");
      assert.equal(await worker.executeNext(), undefined);
      // Done: the id is free again.
      await add.schedule([5, 6], { id: "signup-42", unique: true });
      assert.deepEqual((await producer.pending()).map((t) => t.args), [[5, 6]]);
      // Without unique, an id is not checked (huey's behaviour).
      await add.schedule([7, 8], { id: "signup-42" });
      assert.equal((await producer.pending()).length, 2);
    });

    it("keeps a second out while the first is scheduled and while it runs", async () => {
      const t = await pair();
      const later = await t.sync.schedule([1], { delay: 60 });
      assert.equal(later.id, "sync-1");
      await t.sync(1);
      assert.equal((await t.producer.scheduled()).length, 1);
      assert.equal((await t.producer.pending()).length, 0);
      t.clock.advance(60);
      await t.worker.readSchedule();
      const running = t.worker.executeNext();
      await t.running();
      await t.sync(1);
      await t.sync.schedule([1], { delay: 5 });
      assert.equal((await t.producer.pending()).length, 0, "not while it runs");
      assert.equal((await t.producer.scheduled()).length, 0);
      t.release();
      assert.equal((await running)?.status, "complete");
      assert.equal(t.runs(), 1);
      t.rearm();
      t.release();
      const again = await t.sync(1);
      assert.equal((await t.worker.executeNext())?.status, "complete", "free once it completed");
      assert.equal(await again.get(), "synced 1");
      assert.equal(t.runs(), 2);
    });

    it("a key function gives each call its id; unique: true keys by task name and arguments", async () => {
      const t = await pair();
      t.release();
      const ids = [
        (await t.sync(1)).id,
        (await t.sync(1)).id,
        (await t.sync(2)).id,
        (await t.pair(1, 2)).id,
        (await t.pair(1, 2)).id,
        (await t.pair(2, 1)).id,
      ];
      assert.deepEqual(ids.slice(0, 3), ["sync-1", "sync-1", "sync-2"]);
      assert.equal(ids[3], ids[4]);
      assert.notEqual(ids[4], ids[5]);
      assert.match(ids[3], /^u\.[0-9a-f]{64}$/);
      const pending = await t.producer.pending();
      assert.deepEqual(pending.map((task) => task.id), [ids[0], ids[2], ids[3], ids[5]]);
      // A call's own id wins; unique: false turns it off for one call.
      assert.equal((await t.sync.schedule([1], { id: "sync-special" })).id, "sync-special");
      await t.sync.schedule([2], { unique: false });
      assert.equal((await t.producer.pending()).length, 6);
    });

    it("frees the id once the task is done for good: failed, expired, revoked or canceled; not while it retries", async () => {
      const t = await pair();
      await t.fails(1);
      assert.equal((await t.worker.executeNext())?.retrying, true);
      await t.fails(1);
      assert.equal((await t.producer.pending()).length, 1, "the retry holds the id");
      assert.equal((await t.worker.executeNext())?.status, "error");
      await t.fails(1);
      assert.equal((await t.producer.pending()).length, 1, "failed for good: free");
      await t.worker.executeNext();
      await t.worker.executeNext();

      await t.expiring();
      t.clock.advance(11);
      assert.equal((await t.worker.executeNext())?.status, "expired");
      await t.expiring();
      assert.equal((await t.producer.pending()).length, 1, "expired: free");
      await t.producer.revokeById("expiring");
      assert.equal((await t.worker.executeNext())?.status, "revoked");
      await t.producer.restoreById("expiring");
      await t.expiring();
      assert.equal((await t.producer.pending()).length, 1, "revoked: free");
      await t.worker.executeNext();

      await t.cancels();
      assert.equal((await t.worker.executeNext())?.status, "canceled");
      await t.cancels();
      assert.equal((await t.producer.pending()).length, 1, "canceled: free");
    });

    it("frees the id before the result can be read: a reader can schedule the next one at once", async () => {
      const t = await pair();
      const r = await t.add.schedule([1, 2], { id: "next", unique: true });
      const reading = r.get({ blocking: true, timeout: 10 }).then(async (value) => {
        await t.add.schedule([3, 4], { id: "next", unique: true });
        return value;
      });
      await t.worker.executeNext();
      assert.equal(await reading, 3);
      assert.deepEqual((await t.producer.pending()).map((task) => task.args), [[3, 4]]);
    });

    it("of many producers racing with one id, exactly one creates the task", async () => {
      const t = await pair();
      const others = new Huey({ storage: t.producer.storage, logger: silent, clock: t.clock });
      opened.push(others);
      const add = others.task("add", (a: number, b: number) => a + b);
      let enqueued = 0;
      for (const huey of [t.producer, others]) {
        huey.signal(() => void enqueued++, SIGNAL_ENQUEUED);
      }
      const results = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => (i % 2 ? add : t.add).schedule([i, i], { id: "race", unique: true }),
        ),
      );
      assert.equal(enqueued, 1);
      assert.equal((await t.producer.pending()).length, 1);
      assert.ok(results.every((r) => r.id === "race"));
    });

    it("an id whose task never finishes is free again uniqueTtl after it was due", async () => {
      const ttl = storageClock ? 0.3 : 60;
      const t = await pair(ttl);
      await t.add.schedule([1, 2], { id: "lost", unique: true });
      // The message is lost (flushed): nothing will free its id.
      await t.producer.storage.flushQueue();
      await t.add.schedule([1, 2], { id: "lost", unique: true });
      assert.equal((await t.producer.pending()).length, 0, "still taken");
      if (storageClock) await new Promise((resolve) => setTimeout(resolve, ttl * 1000 + 50));
      else t.clock.advance(ttl);
      await t.add.schedule([1, 2], { id: "lost", unique: true });
      assert.equal((await t.producer.pending()).length, 1, "lapsed");
    });
  });
}

behaviours("MemoryStorage", () => new MemoryStorage());
behaviours(
  "SqliteStorage",
  () => new SqliteStorage({ name: `unique-${names++}`, filename: join(dir, "unique.db") }),
);

describe("unique tasks (in any storage)", () => {
  it("map() and huey.enqueue() take ids too; only the first task of a pipeline is unique", async () => {
    const huey = new Huey({ logger: silent });
    const sync = huey.task("sync", (user: number) => user, { unique: (u: number) => `sync-${u}` });
    await sync.map([[1], [2], [1]]);
    await sync.map([[2], [3]]);
    assert.deepEqual((await huey.pending()).map((t) => t.id), ["sync-1", "sync-2", "sync-3"]);
    await huey.enqueue(sync.s(3).then(sync));
    assert.equal((await huey.pending()).length, 3, "sync-3 is queued: not again");
    await huey.enqueue(sync.s(4).then(sync));
    const [head] = (await huey.pending()).slice(-1);
    assert.equal(head.id, "sync-4");
    assert.equal(head.unique, true);
    assert.equal(head.onComplete?.unique, undefined, "the next task is not unique");
  });

  it("in immediate mode each call runs: the id is free once it ran", async () => {
    const huey = new Huey({ logger: silent, immediate: true });
    let runs = 0;
    const sync = huey.task("sync", () => ++runs, { unique: () => "only" });
    assert.equal(await (await sync()).get(), 1);
    assert.equal(await (await sync()).get(), 2);
  });

  it("refuses bad input with errors that name the task and the value", async () => {
    const huey = new Huey({ logger: silent });
    const bad = huey.task("bad", (s: string) => s, { unique: (s: string) => s });
    assert.throws(() => bad("has space"), {
      name: "TypeError",
      message: /Cannot schedule task bad: its unique key must be a task id .*: "has space"/,
    });
    assert.throws(() => bad("%lock:x"), TypeError, "no key of huey's own");
    assert.throws(
      () => huey.task("t", () => 1, { unique: "yes" as unknown as boolean }),
      (error: unknown) =>
        error instanceof ConfigurationError && /task t unique/.test(error.message),
    );
    const add = huey.task("add", (a: number, b: number) => a + b);
    assert.throws(() => add.schedule([1, 2], { unique: 1 as unknown as boolean }), TypeError);
    await assert.rejects(
      () => add.schedule([1, 2], { unique: true, transaction: {} }),
      /Cannot enqueue unique task add .* in a transaction/,
    );
    assert.throws(() => new Huey({ uniqueTtl: 0 }), RangeError);
    assert.deepEqual(await huey.pending(), [], "nothing enqueued, no id taken");
  });
});

await describeWithRedis("unique tasks on Redis", (server) => {
  after(() => server.stop());
  behaviours("RedisStorage", () => new RedisStorage({ url: server.url, name: `u-${RUN}` }), true);
  processTests("Redis", (name) => ({ name, redis: server.url }));
});

await describeWithPostgres("unique tasks on Postgres", (server) => {
  behaviours(
    "PostgresStorage",
    () => new PostgresStorage({ url: server.url, name: `u-${RUN}` }),
    true,
  );
  processTests("Postgres", (name) => ({ name, postgres: server.url }));
});

processTests("SQLite", (name) => ({ name, db: join(dir, `${name}.db`) }));

/** Run `tests/fixtures/unique_producer.ts` with `args`; resolves to its stdout. */
function producerProcess(args: string[]): Promise<string> {
  const script = fileURLToPath(new URL("./fixtures/unique_producer.ts", import.meta.url));
  const { command, args: argv } = scriptCommand(script, args);
  return new Promise((resolve, reject) => {
    execFile(command, argv, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${argv.join(" ")} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The tests with real processes, on the storage `config` names. */
function processTests(label: string, config: (name: string) => LimitsAppConfig): void {
  describe(`unique tasks across processes on ${label}`, { timeout: 120_000 }, () => {
    it("producer processes racing for the same ids create one task per id", async () => {
      const app = config(`race-${RUN}-${names++}`);
      const count = 50;
      const start = String(Date.now() + 2000);
      const outputs = await Promise.all(
        [1, 2, 3].map(() => producerProcess([JSON.stringify(app), start, String(count)])),
      );
      const enqueued = outputs.map((out) => JSON.parse(out) as number);
      assert.equal(enqueued.reduce((a, b) => a + b, 0), count, `enqueued: ${enqueued}`);
      const { huey } = makeLimitsApp(app);
      try {
        const ids = (await huey.pending()).map((task) => task.id).sort();
        assert.deepEqual(ids, Array.from({ length: count }, (_, i) => `sync-${i}`).sort());
      } finally {
        await huey.flush();
        await huey.close();
      }
    });

    it("a consumer process running a unique task keeps a second one out until it finishes", async () => {
      const log = join(dir, `${RUN}-${names++}.log`);
      const app = { ...config(`consumer-${RUN}-${names++}`), log };
      const module = join(dir, `unique-app-${names++}.ts`);
      writeAppModule(module, app);
      const { huey, report } = makeLimitsApp(app);
      await huey.flush();
      const lines = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
      const running = await consumer([module, "-w", "2", ...fast]);
      try {
        const first = await report("mon", 1500);
        await until(() => lines().includes("start mon"), 20_000, running.output);
        const second = await report("mon", 1500);
        assert.equal(second.id, first.id);
        assert.equal(await huey.storage.queueSize(), 0, "not enqueued while it runs");
        assert.equal(await second.get({ blocking: true, timeout: 20 }), "report for mon");
        const third = await report("mon", 10);
        assert.equal(await third.get({ blocking: true, timeout: 20 }), "report for mon");
        assert.deepEqual(lines(), ["start mon", "end mon", "start mon", "end mon"]);
      } finally {
        assert.equal(await stop(running), 0, running.output());
        await huey.flush();
        await huey.close();
      }
    });
  });
}

// Last: Node runs a root after() hook once the tests registered before it
// are done, and tests here are registered after top-level awaits.
after(() => rmSync(dir, { recursive: true, force: true }));
