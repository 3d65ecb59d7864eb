/**
 * The Redis storages on a Redis Cluster this run starts (three masters, see
 * redis_cluster_server.ts): the conformance suite through `cluster: {
 * rootNodes }` and through an application's node-redis cluster client, then
 * what is specific to a cluster: one slot for every key, pub/sub that
 * reaches subscribers on every node, redirects when the name's slot moves
 * to another master (blocking waits, scripts, results), bad options.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createCluster } from "@redis/client";
import { ConfigurationError, HueyError } from "../lib/errors.ts";
import { RedisExpireStorage, RedisStorage } from "../lib/storage/redis/storage.ts";
import type { RedisExpireStorageOptions } from "../lib/storage/redis/storage.ts";
import { connectRedis } from "../lib/storage/redis/connection.ts";
import type { RedisConnection } from "../lib/storage/redis/connection.ts";
import { storageConformance } from "./storage_conformance.ts";
import { describeWithRedisCluster } from "./redis_cluster_server.ts";
import { REDIS_CLASSES } from "./redis_server.ts";
import type { RedisClassName } from "./redis_server.ts";
import type { RedisClusterServer } from "./redis_cluster_server.ts";
import { sparePort } from "./servers.ts";

const CLASSES = REDIS_CLASSES;
type ClassName = RedisClassName;

/** Unique per test run, so runs against a shared REDIS_CLUSTER_URL never meet. */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeWithRedisCluster("Redis storages on a Redis Cluster", registerClusterTests);

function registerClusterTests(cluster: RedisClusterServer): void {
  describe("Redis storages on a Redis Cluster", { timeout: 300_000 }, () => {
    const rootNodes = cluster.rootNodes;
    const open: { close(): Promise<void> }[] = [];
    /** Connections to each master, for looking behind the storages. */
    let masters: RedisConnection[] = [];
    /** A storage on the cluster, closed after the last test. */
    function make<N extends ClassName>(
      className: N,
      options: RedisExpireStorageOptions = {},
    ): InstanceType<(typeof CLASSES)[N]> {
      const storage = new CLASSES[className]({
        cluster: { rootNodes },
        ...options,
      }) as InstanceType<
        (typeof CLASSES)[N]
      >;
      open.push(storage);
      return storage;
    }

    before(async () => {
      masters = await Promise.all(
        (await cluster.masters()).map((node) =>
          connectRedis({ url: node.url, owner: "the tests" })
        ),
      );
    });

    after(async () => {
      for (const storage of open) await storage.close().catch(() => {});
      // Leave nothing behind on a shared REDIS_CLUSTER_URL cluster.
      for (const conn of masters) {
        const left = (await conn.send(["KEYS", `*${RUN}*`]).catch(() => [])) as string[];
        for (const key of left ?? []) await conn.send(["DEL", key]).catch(() => {});
        await conn.close();
      }
      await cluster.stop();
    });

    for (const className of Object.keys(CLASSES) as ClassName[]) {
      const name = `conformance-${RUN}-${className}`;
      storageConformance(`${className} on a cluster`, {
        create: () => new CLASSES[className]({ cluster: { rootNodes }, name }),
        open: (suffix) =>
          new CLASSES[className]({ cluster: { rootNodes }, name: `${name}-${suffix}` }),
        persistent: true,
        leaseClock: "storage",
        popKeeps: className.includes("Expire"),
        processes: className === "PriorityRedisStorage"
          ? {
            module: "../lib/storage/redis/storage.ts",
            exportName: className,
            options: { cluster: { rootNodes }, name },
          }
          : undefined,
      });
    }

    describe("with an application's node-redis cluster client", () => {
      const clients: { destroy(): void }[] = [];
      after(() => {
        for (const client of clients) client.destroy();
      });
      const name = `conformance-${RUN}-cluster-client`;
      let client: ReturnType<typeof createCluster> | undefined;
      /** The one cluster client every instance of this suite shares, connected on first use. */
      const connected = async () => {
        if (!client) {
          client = createCluster({ rootNodes: [{ url: rootNodes[0] }] });
          client.on("error", () => {});
          await client.connect();
          clients.push(client);
        }
        return client;
      };
      storageConformance("RedisExpireStorage on a node-redis cluster client", {
        create: async () => new RedisExpireStorage({ client: await connected(), name }),
        open: async (suffix) =>
          new RedisExpireStorage({ client: await connected(), name: `${name}-${suffix}` }),
        persistent: true,
        leaseClock: "storage",
        popKeeps: true,
      });
    });

    describe("slots", () => {
      it("keeps every key of one name in one slot, on that slot's master alone", async () => {
        for (const className of Object.keys(CLASSES) as ClassName[]) {
          const name = `slot-${RUN}-${className}`;
          const storage = make(className, { name });
          await storage.enqueue("a", 1);
          await storage.enqueue("b", 0);
          assert.ok(await storage.dequeue({ now: T0, leaseSeconds: 30 }));
          await storage.addToSchedule("s", T0);
          await storage.putData("k", "v", { result: true });
          await storage.putIfEmpty("lock", "1");
          await storage.putError("bad", "why", T0);
          await storage.incr("window", 1, { ttl: 60 });
          const slot = await cluster.keySlot(`huey.{${name}}.queue`);
          const owner = await cluster.owner(slot);
          const found: string[] = [];
          for (const [i, conn] of masters.entries()) {
            const keys = (await conn.send(["KEYS", `*${name}*`])) as string[];
            if ((await cluster.masters())[i].id !== owner.id) {
              assert.deepEqual(keys, [], `keys of ${name} on a master that is not the slot's`);
            }
            found.push(...keys);
          }
          assert.ok(found.length >= 8, `expected the queue, leases, schedule, results: ${found}`);
          for (const key of found) assert.equal(await cluster.keySlot(key), slot, key);
          await storage.flushAll();
        }
      });

      it("follows the name's slot to another master: blocked dequeues, scripts, results and events carry on", async () => {
        const name = `move-${RUN}`;
        const producer = make("PriorityRedisStorage", { name });
        const consumer = make("PriorityRedisStorage", { name, readTimeout: 5 });
        const events: string[] = [];
        const stopEvents = new AbortController();
        await consumer.subscribeEvents((event) => events.push(event), stopEvents.signal);
        await producer.enqueue("before", 0);
        const first = await consumer.dequeue({ now: T0, leaseSeconds: 30 });
        assert.equal(first?.data, "before");
        // A dequeue blocked on the slot's master while the slot moves away.
        const blocked = consumer.dequeue({ now: T0, leaseSeconds: 30, wait: 20 });
        await sleep(100);
        const slot = await cluster.keySlot(`huey.{${name}}.queue`);
        const { from, to } = await cluster.moveSlot(slot, { holdMs: 200 });
        assert.equal((await cluster.owner(slot)).id, to.id);
        assert.notEqual(from.id, to.id);
        const started = performance.now();
        await producer.enqueue("after", 0);
        assert.equal((await blocked)?.data, "after");
        assert.ok(performance.now() - started < 3000, "the blocked dequeue woke late");
        // The lease taken on the old master is acknowledged on the new one.
        assert.equal(await consumer.putDataAndAck("r", "1", first!.receipt), true);
        assert.equal(await producer.peekData("r"), "1");
        // A blocked get() across the move, woken by the result's publish.
        const waiting = producer.waitForData("late", 10);
        await sleep(50);
        await consumer.putData("late", "x");
        assert.equal(await waiting, true);
        await producer.publishEvent("after-move");
        const deadline = performance.now() + 5000;
        while (!events.includes("after-move") && performance.now() < deadline) await sleep(20);
        assert.deepEqual(events, ["after-move"]);
        stopEvents.abort();
        // Move it back: the blocking connection pool follows again.
        await cluster.moveSlot(slot, { to: from });
        const again = consumer.dequeue({ now: T0, leaseSeconds: 30, wait: 20 });
        await sleep(50);
        await producer.enqueue("back", 0);
        assert.equal((await again)?.data, "back");
        assert.equal(await consumer.leasedSize(), 2);
        await producer.flushAll();
      });
    });

    describe("pub/sub", () => {
      it("reaches a subscriber on every master, whichever node publishes", async () => {
        const name = `pubsub-${RUN}`;
        const storage = make("RedisStorage", { name });
        const channel = `huey.{${name}}.events`;
        const heard = masters.map(() => [] as string[]);
        const subscribers = await Promise.all(masters.map((conn) => conn.duplicate()));
        for (const [i, sub] of subscribers.entries()) {
          await sub.subscribe(channel, (message) => heard[i].push(message));
        }
        await storage.publishEvent("hello");
        const deadline = performance.now() + 5000;
        while (heard.some((h) => h.length === 0) && performance.now() < deadline) await sleep(20);
        assert.deepEqual(heard, masters.map(() => ["hello"]));
        for (const sub of subscribers) await sub.close(true);
      });
    });

    describe("subscriptions", () => {
      it("come back on a new connection when theirs is lost", async () => {
        const name = `resubscribe-${RUN}`;
        const storage = make("RedisStorage", { name });
        const events: string[] = [];
        const stopEvents = new AbortController();
        await storage.subscribeEvents((event) => events.push(event), stopEvents.signal);
        const owner = await cluster.owner(await cluster.keySlot(`huey.{${name}}.queue`));
        const index = (await cluster.masters()).findIndex((node) => node.id === owner.id);
        const killed = await masters[index].send(["CLIENT", "KILL", "TYPE", "pubsub"]);
        assert.ok(Number(killed) >= 1, `killed ${killed} subscribers`);
        const deadline = performance.now() + 5000;
        while (!events.includes("back") && performance.now() < deadline) {
          await storage.publishEvent("back");
          await sleep(100);
        }
        assert.ok(events.includes("back"), "the subscription came back");
        // Once: the old connection's subscription did not come back beside it.
        await sleep(500);
        await storage.publishEvent("once");
        await sleep(300);
        assert.deepEqual(events.filter((event) => event === "once"), ["once"]);
        stopEvents.abort();
      });
    });

    describe("options", () => {
      it("rejects bad cluster options with a ConfigurationError naming the option", () => {
        assert.throws(
          () => new RedisStorage({ cluster: { rootNodes: [] } }),
          (error: Error) =>
            error instanceof ConfigurationError && /cluster\.rootNodes/.test(error.message),
        );
        assert.throws(
          () => new RedisStorage({ cluster: { rootNodes: [42 as never] } }),
          (error: Error) =>
            error instanceof ConfigurationError && /rootNodes\[0\]/.test(error.message),
        );
        assert.throws(
          () => new RedisStorage({ cluster: { rootNodes: ["http://x:1"] } }),
          ConfigurationError,
        );
        assert.throws(
          () => new RedisStorage({ cluster: { rootNodes }, db: 2 }),
          (error: Error) => error instanceof ConfigurationError && /database 0/.test(error.message),
        );
        assert.throws(
          () => new RedisStorage({ cluster: { rootNodes: ["redis://127.0.0.1:7000/3"] } }),
          (error: Error) => error instanceof ConfigurationError && /database 0/.test(error.message),
        );
      });

      it("fails fast, naming the cluster and never the password, when no root node answers", async () => {
        const port = await sparePort();
        const storage = new RedisStorage({
          name: `down-${RUN}`,
          cluster: { rootNodes: [`redis://:s3cret@127.0.0.1:${port}`] },
          connectTimeout: 1,
        });
        const started = performance.now();
        await assert.rejects(storage.queueSize(), (error: Error) => {
          assert.ok(error instanceof HueyError, String(error));
          assert.match(error.message, new RegExp(`cluster 127\\.0\\.0\\.1:${port}`));
          assert.doesNotMatch(error.message, /s3cret/);
          return true;
        });
        assert.ok(performance.now() - started < 5000);
        await storage.close();
      });
    });
  });
}
