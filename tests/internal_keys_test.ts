/**
 * Task ids and huey's own result-store keys (revocations, locks, periodic
 * markers) cannot meet: ids are checked at enqueue, and huey's keys start
 * with a character no id may hold.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { after } from "node:test";
import { join } from "node:path";
import {
  crontab,
  FileStorage,
  Huey,
  MemoryHuey,
  MemoryStorage,
  PriorityRedisExpireStorage,
  PriorityRedisStorage,
  RedisExpireStorage,
  RedisStorage,
  SqliteStorage,
  TaskLockedError,
} from "../mod.ts";
import type { Storage } from "../mod.ts";
import { Scheduler } from "../lib/consumer/scheduler.ts";
import { drain, fakeClock, producerAndWorker, silent } from "./helpers.ts";
import { tempDir, uniqueName } from "./process_helpers.ts";
import { describeWithRedis } from "./redis_server.ts";

const dir = tempDir("huey-keys-");

describe("task ids", () => {
  const huey = new MemoryHuey({ logger: silent });
  const add = huey.task("add", (a: number, b: number) => a + b);

  it("an id that names another task's revocation does not revoke it", async () => {
    const { producer, worker, tasks } = producerAndWorker((h) => ({
      victim: h.task("victim", () => "ran"),
      other: h.task("other", () => 1),
    }));
    await producer.revokeById("something-else"); // revocations are read from now on
    await tasks.other.schedule([], { id: "rt:victim" });
    await drain(worker);
    const results = await Promise.all(Array.from({ length: 20 }, () => tasks.victim()));
    const statuses = await drain(worker);
    assert.deepEqual(statuses, Array(20).fill("complete"));
    for (const r of results) assert.equal(await r.get(), "ran");
    await producer.close();
  });

  it("an id that names a lock does not hold the lock", async () => {
    const { producer, worker, tasks } = producerAndWorker((h) => ({
      other: h.task("other", () => 1),
    }));
    await tasks.other.schedule([], { id: "lock:db" });
    await drain(worker);
    assert.equal(await producer.isLocked("db"), false);
    assert.equal(await producer.lockTask("db").run(() => "got it"), "got it");
    await producer.close();
  });

  it("an id that names a periodic marker does not stop the periodic task", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 12, 0, 30));
    const minute = Date.UTC(2026, 10, 23, 12, 1);
    const { producer, worker, tasks } = producerAndWorker((h) => ({
      other: h.task("other", () => 1),
      tick: h.periodicTask("tick", crontab({ minute: "*" }), () => "tick"),
    }), { clock });
    await tasks.other.schedule([], { id: `periodic:tick:${minute}` });
    await drain(worker);
    await new Scheduler(worker).tick(minute + 1000);
    assert.deepEqual((await producer.pending()).map((t) => t.name), ["tick"]);
    await producer.close();
  });

  it("rejects an id that is empty, too long or has other characters, naming the task and the id", () => {
    for (const id of ["", "x".repeat(201), "%lock:db", "has space", "a/b", "\u0001x", "é"]) {
      assert.throws(
        () => add.schedule([1, 2], { id }),
        (error: Error) =>
          error instanceof TypeError &&
          error.message.startsWith(
            "Cannot use schedule of add id: expected a task id (1 to 200 characters",
          ) &&
          error.message.includes(JSON.stringify(id).slice(0, 20)),
        JSON.stringify(id),
      );
    }
    for (const id of ["signup-42", "user@example.com", "a.b_c~d:e+f=g", "x".repeat(200)]) {
      assert.doesNotThrow(() => add.s(1, 2) && add.schedule([1, 2], { id }), id);
    }
  });

  it("checks ids where an app passes one to read or revoke by id", async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ["result", () => huey.result("%lock:db")],
      ["revokeById", () => huey.revokeById("%lock:db")],
      ["restoreById", () => huey.restoreById("%lock:db")],
      ["isRevoked", () => huey.isRevoked("%lock:db")],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(
        call,
        (error: Error) =>
          error instanceof TypeError && /expected a task id/.test(error.message) &&
          error.message.includes('"%lock:db"'),
        name,
      );
    }
  });

  it("keeps the app's own keys out of huey's keys", async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ["get", () => huey.get("%lock:db")],
      ["put", () => huey.put("%lock:db", 1)],
      ["putIfEmpty", () => huey.putIfEmpty("%lock:db", 1)],
      ["delete", () => huey.delete("%lock:db")],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(
        call,
        (error: Error) =>
          error instanceof TypeError && /keys starting with % are huey's own/.test(error.message),
        name,
      );
    }
    await huey.put("lock:db", "mine");
    assert.equal(await huey.isLocked("db"), false);
  });
});

describe("huey's own keys", () => {
  it("are readable in allResults(), each under its % prefix, on SQLite", async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 12, 0, 30));
    const huey = new Huey({
      logger: silent,
      clock,
      storage: new SqliteStorage({ filename: join(dir, "keys.db") }),
    });
    const tick = huey.periodicTask("tick", crontab({ minute: "*" }), () => 1);
    const add = huey.task("add", (a: number, b: number) => a + b);
    await huey.revokeAll(tick, { revokeOnce: true });
    const r = await add(1, 2);
    await huey.revokeById(r.id);
    const held = await huey.lockTask("db").acquire();
    await assert.rejects(() => huey.lockTask("db").run(() => 1), TaskLockedError);
    const minute = Date.UTC(2026, 10, 23, 12, 1);
    await new Scheduler(huey).tick(minute);
    assert.deepEqual([...(await huey.allResults()).keys()].sort(), [
      "%lock:db",
      `%periodic:tick:${minute}`,
      `%r:${r.id}`,
      "%revocations",
      "%rt:tick",
    ]);
    await held.release();
    assert.deepEqual(await drain(huey), ["revoked", "revoked"]);
    await huey.close();
  });
});

/**
 * Revocations, locks and periodic markers on `driver`, with the ids that
 * used to reach them: two Huey instances on one storage, as a producer and
 * a consumer.
 */
function ownKeysOn(driver: string, makeStorage: () => Storage): void {
  describe(`huey's own keys on ${driver}`, () => {
    const storages: Storage[] = [];
    after(async () => {
      for (const storage of storages) await storage.close();
    });
    const pair = (clock = fakeClock(Date.UTC(2026, 10, 23, 12, 0, 30))) => {
      const storage = makeStorage();
      storages.push(storage);
      return producerAndWorker((h) => ({
        victim: h.task("victim", () => "ran"),
        other: h.task("other", () => 1),
        tick: h.periodicTask("tick", crontab({ minute: "*" }), () => "tick"),
      }), { storage, clock });
    };

    it("ids that spell huey's keys reach none of them", async () => {
      const { producer, worker, tasks } = pair();
      const minute = Date.UTC(2026, 10, 23, 12, 1);
      await producer.revokeById("something-else");
      for (const id of ["rt:victim", "lock:db", `periodic:tick:${minute}`, "huey:revocations"]) {
        await tasks.other.schedule([], { id });
      }
      assert.deepEqual(await drain(worker), Array(4).fill("complete"));
      await tasks.victim();
      assert.deepEqual(await drain(worker), ["complete"]);
      assert.equal(await producer.isLocked("db"), false);
      await new Scheduler(worker).tick(minute + 1000);
      assert.deepEqual((await producer.pending()).map((t) => t.name), ["tick"]);
    });

    it("revocations, locks and periodic markers work", async () => {
      const { producer, worker, tasks } = pair();
      const r = await tasks.victim();
      await r.revoke();
      await tasks.victim.revoke({ revokeOnce: true });
      await tasks.victim();
      await tasks.victim();
      assert.deepEqual(await drain(worker), ["revoked", "revoked", "complete"]);
      const held = await producer.lockTask("db").acquire();
      await assert.rejects(() => worker.lockTask("db").run(() => 1), TaskLockedError);
      await held.release();
      assert.equal(await worker.lockTask("db").run(() => 2), 2);
      const minute = Date.UTC(2026, 10, 23, 12, 1);
      await new Scheduler(worker).tick(minute);
      await new Scheduler(producer).tick(minute + 500);
      assert.deepEqual((await producer.pending()).map((t) => t.name), ["tick"], "once");
    });
  });
}

const fileDir = tempDir("huey-keys-file-");
ownKeysOn("MemoryStorage", () => new MemoryStorage());
ownKeysOn("SqliteStorage", () => new SqliteStorage({ filename: join(dir, `${uniqueName()}.db`) }));
ownKeysOn("FileStorage", () => new FileStorage({ path: join(fileDir, uniqueName()) }));
await describeWithRedis("huey's own keys on Redis", (server) => {
  after(() => server.stop());
  const classes = {
    RedisStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
    PriorityRedisExpireStorage,
  };
  for (const [name, Class] of Object.entries(classes)) {
    ownKeysOn(name, () => new Class({ url: server.url, name: `keys-${uniqueName()}` }));
  }
});
