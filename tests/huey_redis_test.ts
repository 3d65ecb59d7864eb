/**
 * Huey and the consumer on a real Redis server: results across instances,
 * events over pub/sub, and a consumer that rides out a server restart.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PriorityRedisExpireHuey, PriorityRedisHuey, RedisExpireHuey, RedisHuey } from "../mod.ts";
import type { Huey, HueyEvent } from "../mod.ts";
import { Consumer } from "../lib/consumer/consumer.ts";
import { createLogger } from "../lib/logger.ts";
import { describeWithRedis, rawCommand, startRedisServer } from "./redis_server.ts";
import type { RedisServer } from "./redis_server.ts";
import { silent } from "./helpers.ts";

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let names = 0;
const uniqueName = () => `huey-test-${RUN}-${names++}`;

await describeWithRedis("Huey on Redis", register);

function register(server: RedisServer): void {
  describe("Huey on Redis", { timeout: 60_000 }, () => {
    const open: { close(): Promise<void> }[] = [];
    after(async () => {
      for (const huey of open) await huey.close().catch(() => {});
      await server.stop();
    });

    /** A producer and a worker Huey on one name: two connections, as two processes would have. */
    function pair<T>(declare: (huey: RedisHuey) => T, url = server.url) {
      const name = uniqueName();
      const producer = new RedisHuey({ name, url, logger: silent });
      const worker = new RedisHuey({ name, url, logger: silent });
      open.push(producer, worker);
      return { producer, worker, tasks: declare(producer), workerTasks: declare(worker) };
    }

    it("a consumer on one connection runs what a producer on another enqueued", async () => {
      const { worker, tasks: add } = pair((h) => h.task("add", (a: number, b: number) => a + b));
      const consumer = new Consumer(worker, { workers: 4 });
      await consumer.start();
      try {
        const group = await add.map(
          Array.from({ length: 50 }, (_, i) => [i, i] as [number, number]),
        );
        const values = await group.get({ blocking: true, timeout: 10 });
        assert.deepEqual(values, Array.from({ length: 50 }, (_, i) => 2 * i));
      } finally {
        await consumer.stop();
      }
    });

    it("runs higher priorities first on PriorityRedisHuey", async () => {
      const name = uniqueName();
      const huey = new PriorityRedisHuey({ name, url: server.url, logger: silent });
      open.push(huey);
      const ran: string[] = [];
      const job = huey.task("job", (label: string) => void ran.push(label));
      await job.schedule(["low"], { priority: 1 });
      await job.schedule(["high"], { priority: 50 });
      await job.schedule(["mid"], { priority: 10 });
      while (await huey.executeNext());
      assert.deepEqual(ran, ["high", "mid", "low"]);
    });

    it("huey.events() receives another process's task events over pub/sub", async () => {
      const { producer, worker, tasks: add } = pair((h) =>
        h.task("add", (a: number, b: number) => a + b)
      );
      const stop = new AbortController();
      const stream = producer.events({ signal: stop.signal });
      await stream.ready;
      const r = await add(1, 2);
      await worker.executeNext();
      const seen: HueyEvent[] = [];
      for await (const event of stream) {
        if (event.id === r.id) seen.push(event);
        if (event.signal === "complete") break;
      }
      stop.abort();
      assert.deepEqual(seen.map((e) => e.signal), ["enqueued", "executing", "complete"]);
      assert.equal(seen[2].name, "add");
    });

    it("a blocked get() wakes when another connection stores the result", async () => {
      const { worker, tasks: add } = pair((h) => h.task("add", (a: number, b: number) => a + b));
      const r = await add(2, 3);
      setTimeout(() => worker.executeNext(), 50);
      assert.equal(await r.get({ blocking: true, timeout: 5 }), 5);
    });

    for (const Flavor of [RedisExpireHuey, PriorityRedisExpireHuey]) {
      describe(`${Flavor.name}: only results expire, and reading one does not remove it`, () => {
        /** A producer and a worker of `Flavor` on one name, results kept `expireTime` seconds. */
        function expiring(expireTime: number) {
          const name = uniqueName();
          const producer = new Flavor({ name, url: server.url, logger: silent, expireTime });
          const worker = new Flavor({ name, url: server.url, logger: silent, expireTime });
          open.push(producer, worker);
          const declare = (huey: Huey) => ({
            add: huey.task("add", (a: number, b: number) => a + b),
            slow: huey.task("slow", huey.lockTask("slow-lock").wrap(() => "locked run")),
          });
          return { name, producer, worker, tasks: declare(producer), workerTasks: declare(worker) };
        }
        const ttl = (name: string, key: string) =>
          rawCommand(server.url, ["PTTL", `huey.{${name}}.r.${key}`]).then((reply) =>
            Number(reply.slice(1))
          );

        it("a result stays readable until it expires; reads do not remove it", async () => {
          const { producer, worker, tasks } = expiring(0.5);
          const r = await tasks.add(1, 2);
          assert.equal((await worker.executeNext())?.status, "complete");
          assert.equal(await r.get(), 3);
          r.reset();
          assert.equal(await r.get(), 3, "read again: still there");
          assert.equal(await producer.result(r.id), 3, "and through another handle");
          assert.equal(await r.isReady(), true);
          await new Promise((resolve) => setTimeout(resolve, 700));
          assert.equal(await producer.result(r.id), undefined, "gone once expireTime passed");
        });

        it("locks, revocations and the app's put() keys do not expire; results do, also those stored before a pipeline's next task", async () => {
          const { name, producer, worker, tasks } = expiring(60);
          await using _held = await producer.lockTask("reports").acquire();
          await producer.revokeAll("never");
          await producer.put("config", { mode: "fast" });
          const group = await producer.enqueue(tasks.add.s(1, 2).then(tasks.add, 3));
          const single = await tasks.add(5, 5);
          while (await worker.executeNext());
          assert.deepEqual(await group.get(), [3, 6]);
          assert.equal(await single.get(), 10);
          for (const key of ["%lock:reports", "%rt:never", "%revocations", "config"]) {
            assert.equal(await ttl(name, key), -1, `${key} has no TTL`);
          }
          for (const result of [...group, single]) {
            const left = await ttl(name, result.id);
            assert.ok(left > 50_000 && left <= 60_000, `result ${result.id}: PTTL ${left}`);
          }
          assert.equal(await producer.isLocked("reports"), true);
          assert.deepEqual(await producer.get("config"), { mode: "fast" });
          assert.deepEqual(await producer.get("config"), { mode: "fast" }, "a read keeps it");
          assert.equal(await producer.delete("config"), true);
        });

        it("a held lock outlives expireTime", async () => {
          const { producer, worker, tasks, workerTasks } = expiring(0.2);
          void workerTasks;
          await using _held = await producer.lockTask("slow-lock").acquire();
          await new Promise((resolve) => setTimeout(resolve, 400));
          assert.equal(await producer.isLocked("slow-lock"), true);
          const r = await tasks.slow();
          assert.equal((await worker.executeNext())?.status, "locked");
          await assert.rejects(() => r.get(), /TaskLockedError/);
        });
      });
    }

    it("a consumer logs storage errors while Redis is down and resumes when it is back", async () => {
      const own = await startRedisServer();
      const lines: string[] = [];
      const logger = createLogger({ level: "error", write: (line) => lines.push(line) });
      const name = uniqueName();
      const producer = new RedisHuey({ name, url: own.url, logger: silent });
      const worker = new RedisHuey({ name, url: own.url, logger, readTimeout: 0.2 });
      const add = producer.task("add", (a: number, b: number) => a + b);
      worker.task("add", (a: number, b: number) => a + b);
      const consumer = new Consumer(worker, { workers: 1, initialDelay: 0.05, maxDelay: 0.2 });
      await consumer.start();
      try {
        assert.equal(await (await add(1, 1)).get({ blocking: true, timeout: 5 }), 2);
        await own.stop();
        await new Promise((resolve) => setTimeout(resolve, 800));
        assert.ok(
          lines.some((line) =>
            /Cannot read from the queue|Scheduler: cannot reach the storage/.test(line) &&
            line.includes(own.url.replace("redis://", ""))
          ),
          `logged: ${lines.join("\n")}`,
        );
        await own.restart();
        let result: number | undefined;
        for (let attempt = 0; attempt < 50 && result === undefined; attempt++) {
          try {
            result = await (await add(20, 22)).get({ blocking: true, timeout: 2 });
          } catch {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        assert.equal(result, 42);
      } finally {
        await consumer.stop();
        await producer.close();
        await worker.close();
        await own.stop();
      }
    });
  });
}
