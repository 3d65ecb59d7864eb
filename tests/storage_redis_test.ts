/**
 * The Redis storages: the conformance suite for each of the four classes on
 * a redis-server this run starts (see redis_server.ts), then what is
 * specific to Redis: key layout, expiry, pub/sub wake-ups,
 * blocking pops, user clients, connection errors and reconnection.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createClient, createCluster } from "@redis/client";
import { ConfigurationError, HueyError } from "../lib/errors.ts";
import { redisClientKind, runtimeName } from "../lib/runtime.ts";
import {
  PriorityRedisExpireStorage,
  PriorityRedisStorage,
  RedisExpireStorage,
  RedisStorage,
} from "../lib/storage/redis/storage.ts";
import type { RedisExpireStorageOptions } from "../lib/storage/redis/storage.ts";
import { connectRedis, replyStrings } from "../lib/storage/redis/connection.ts";
import type { RedisClientLike, RedisConnection } from "../lib/storage/redis/connection.ts";
import { storageConformance } from "./storage_conformance.ts";
import {
  describeWithRedis,
  rawCommand,
  REDIS_CLASSES,
  redisServerInstalled,
  startRedisServer,
} from "./redis_server.ts";
import type { RedisClassName, RedisServer } from "./redis_server.ts";

const CLASSES = REDIS_CLASSES;
type ClassName = RedisClassName;

/** Unique per test run, so runs against a shared REDIS_URL never meet. */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeWithRedis("Redis storages", registerRedisTests);

function registerRedisTests(server: RedisServer): void {
  describe("Redis storages", () => {
    const url = server.url;
    let raw: RedisConnection;
    const open: { close(): Promise<void> }[] = [];
    /** A storage closed after the last test. */
    function make<N extends ClassName>(
      className: N,
      options: RedisExpireStorageOptions = {},
    ): InstanceType<(typeof CLASSES)[N]> {
      const storage = new CLASSES[className]({ url, ...options }) as InstanceType<
        (typeof CLASSES)[N]
      >;
      open.push(storage);
      return storage;
    }

    before(async () => {
      raw = await connectRedis({ url, owner: "the tests" });
    });

    after(async () => {
      for (const storage of open) await storage.close().catch(() => {});
      // Leave nothing behind on a shared REDIS_URL server.
      const left = (await raw?.send(["KEYS", `*${RUN}*`]).catch(() => [])) as string[];
      for (const key of left ?? []) await raw.send(["DEL", key]);
      await raw?.close();
      await server.stop();
    });

    for (const className of Object.keys(CLASSES) as ClassName[]) {
      const name = `conformance-${RUN}-${className}`;
      storageConformance(className, {
        create: () => new CLASSES[className]({ url, name }),
        // Each open() is a new instance with its own connection to the same server;
        // the suffix keeps its names apart from those of the other suites.
        open: (suffix) => new CLASSES[className]({ url, name: `${name}-${suffix}` }),
        persistent: true,
        leaseClock: "storage",
        popKeeps: className.includes("Expire"),
        processes: {
          module: "../lib/storage/redis/storage.ts",
          exportName: className,
          options: { url, name },
        },
      });
    }

    // node-redis on every runtime, through a client the application connected.
    describe("with an application's node-redis client", () => {
      const clients: { destroy(): void }[] = [];
      after(() => {
        for (const client of clients) client.destroy();
      });
      for (const className of ["RedisStorage", "PriorityRedisStorage"] as const) {
        const name = `conformance-${RUN}-client-${className}`;
        let client: ReturnType<typeof createClient> | undefined;
        /** The one client every instance of this suite shares, connected on first use. */
        const connected = async () => {
          if (!client) {
            client = createClient({ url });
            client.on("error", () => {});
            await client.connect();
            clients.push(client);
          }
          return client;
        };
        storageConformance(`${className} on a node-redis client`, {
          create: async () => new CLASSES[className]({ client: await connected(), name }),
          open: async (suffix) =>
            new CLASSES[className]({ client: await connected(), name: `${name}-${suffix}` }),
          persistent: true,
          leaseClock: "storage",
        });
      }
    });

    // Bun's built-in client through a client the application connected (Bun only).
    if (runtimeName() === "bun") {
      describe("with an application's Bun RedisClient", () => {
        const clients: { close(): void }[] = [];
        after(() => {
          for (const client of clients) client.close();
        });
        const name = `conformance-${RUN}-bun-client`;
        let client: RedisClientLike | undefined;
        /** The one client every instance of this suite shares, connected on first use. */
        const connected = async () => {
          if (!client) {
            const bun = "bun"; // a variable: Deno and Node never resolve it
            const { RedisClient } = await import(bun);
            const created = new RedisClient(url);
            await created.connect();
            clients.push(created);
            client = created;
          }
          return client;
        };
        storageConformance("PriorityRedisExpireStorage on a Bun RedisClient", {
          create: async () => new PriorityRedisExpireStorage({ client: await connected(), name }),
          open: async (suffix) =>
            new PriorityRedisExpireStorage({
              client: await connected(),
              name: `${name}-${suffix}`,
            }),
          persistent: true,
          leaseClock: "storage",
          popKeeps: true,
        });
      });
    }

    describe("keys", () => {
      it("puts every key of one name under the {name} hash tag (one cluster slot)", async () => {
        for (const className of Object.keys(CLASSES) as ClassName[]) {
          const name = `slot-${RUN}-${className}`;
          const storage = make(className, { name });
          await storage.enqueue("a", 1);
          await storage.enqueue("b", 0);
          assert.ok(await storage.dequeue({ now: T0, leaseSeconds: 30 }));
          await storage.addToSchedule("s", T0);
          await storage.putData("k", "v");
          await storage.putIfEmpty("lock", "1");
          await storage.putError("bad", "why", T0);
          await storage.incr("window", 1, { ttl: 60 });
          const keys = (await raw.send(["KEYS", `*${name}*`])) as string[];
          assert.ok(
            keys.length >= 8,
            `expected the queue, leases, schedule, results, errors, counters: ${keys}`,
          );
          for (const key of keys) {
            assert.ok(
              key.startsWith(`huey.{${name}}.`),
              `${key} is outside the {${name}} hash tag`,
            );
          }
          await storage.flushAll();
          assert.deepEqual(await raw.send(["KEYS", `*${name}*`]), []);
        }
      });

      it("rejects bad options: names that would break the hash tag; takes cluster clients", async () => {
        assert.throws(() => new RedisStorage({ name: "a{b" }), ConfigurationError);
        assert.throws(() => new RedisStorage({ name: "a}b" }), ConfigurationError);
        assert.throws(() => new RedisStorage({ name: "" }), ConfigurationError);
        assert.throws(() => new RedisStorage({ readTimeout: 0 }), ConfigurationError);
        assert.throws(() => new RedisExpireStorage({ expireTime: -1 }), ConfigurationError);
        // A node-redis cluster client is taken (tests/storage_redis_cluster_test.ts runs it).
        const cluster = createCluster({ rootNodes: [{ url }] });
        await new RedisStorage({ client: cluster }).close();
      });
    });

    describe("counters", () => {
      it("keeps counters in one hash and their expiries in a sorted set on the server's clock, sweeping expired ones", async () => {
        const name = `counters-${RUN}`;
        const storage = make("RedisStorage", { name });
        const k = (what: string) => `huey.{${name}}.${what}`;
        // Long enough to outlast a loaded machine's five increments and two reads.
        for (let i = 0; i < 5; i++) await storage.incr(`old-${i}`, 1, { ttl: 1 });
        await storage.incr("forever", 2);
        assert.equal(Number(await raw.send(["HLEN", k("counters")])), 6);
        assert.equal(Number(await raw.send(["ZCARD", k("counter_expiries")])), 5);
        // Wait on the server's clock (the one that decides) until the last of them is due:
        // each was made at or before this moment, with a 1 s ttl.
        const serverMs = async () => {
          const [seconds, micros] = (await raw.send(["TIME"])) as string[];
          return Number(seconds) * 1000 + Number(micros) / 1000;
        };
        const lastDue = (await serverMs()) + 1000;
        while ((await serverMs()) <= lastDue) await sleep(20);
        // A caller's now an hour ahead changes nothing: the server's clock decides.
        assert.equal(await storage.incr("new", 1, { ttl: 60, now: Date.now() + 3600_000 }), 1);
        assert.equal(Number(await raw.send(["HLEN", k("counters")])), 2, "expired ones swept");
        assert.equal(Number(await raw.send(["ZCARD", k("counter_expiries")])), 1);
        const [seconds, micros] = (await raw.send(["TIME"])) as string[];
        const left = Number(await raw.send(["ZSCORE", k("counter_expiries"), "new"])) -
          (Number(seconds) * 1000 + Number(micros) / 1000);
        assert.ok(left > 58_000 && left <= 60_000, `expires in ${left} ms of server time`);
        assert.equal(await storage.incr("forever", 0), 2);
        await storage.flushAll();
        assert.deepEqual(await raw.send(["KEYS", `*${name}*`]), []);
      });
    });

    describe("expiring results", () => {
      it("gives results a TTL of expireTime in the expire variants, and nothing else", async () => {
        for (const className of ["RedisExpireStorage", "PriorityRedisExpireStorage"] as const) {
          const name = `ttl-${RUN}-${className}`;
          const storage = make(className, { name, expireTime: 120 });
          await storage.putData("result", "42", { result: true });
          await storage.putData("kept", "v");
          assert.equal(await storage.putIfEmpty("lock", "1"), true);
          const ttl = (key: string) => raw.send(["TTL", `huey.{${name}}.r.${key}`]).then(Number);
          const left = await ttl("result");
          assert.ok(left > 0 && left <= 120, `TTL of the result: ${left}`);
          assert.equal(await ttl("kept"), -1, "a value that is not a result does not expire");
          assert.equal(await ttl("lock"), -1, "a lock does not expire");
          assert.equal(await storage.resultStoreSize(), 3);
          assert.deepEqual(
            await storage.resultItems(),
            new Map([["result", "42"], ["kept", "v"], ["lock", "1"]]),
          );
          await storage.flushAll();
        }
      });

      it("expires a result stored with its message's acknowledgement (putDataAndAck)", async () => {
        const name = `ttl-${RUN}-ack`;
        const storage = make("RedisExpireStorage", { name, expireTime: 120 });
        await storage.enqueue("m", 0);
        const delivery = await storage.dequeue({ now: T0, leaseSeconds: 30 });
        assert.equal(await storage.putDataAndAck("done", "1", delivery!.receipt), true);
        const left = Number(await raw.send(["TTL", `huey.{${name}}.r.done`]));
        assert.ok(left > 0 && left <= 120, `TTL ${left}`);
        await storage.flushAll();
      });

      it("uses 86400 seconds by default and no TTL in the plain variants", async () => {
        const expiring = make("RedisExpireStorage", { name: `ttl-${RUN}-default` });
        await expiring.putData("k", "v", { result: true });
        const ttl = Number(await raw.send(["TTL", `huey.{ttl-${RUN}-default}.r.k`]));
        assert.ok(ttl > 86300 && ttl <= 86400, `TTL ${ttl}`);
        await expiring.flushAll();
        const plain = make("RedisStorage", { name: `ttl-${RUN}-plain` });
        await plain.putData("k", "v", { result: true });
        assert.equal(await raw.send(["TTL", `huey.{ttl-${RUN}-plain}.results`]), -1);
        await plain.flushAll();
      });

      it("lets a result expire, and keeps it until then however often it is read", async () => {
        const storage = make("RedisExpireStorage", { name: `ttl-${RUN}-short`, expireTime: 0.2 });
        await storage.putData("k", "v", { result: true });
        assert.equal(await storage.popData("k"), "v");
        assert.equal(await storage.popData("k"), "v");
        await sleep(400);
        assert.equal(await storage.peekData("k"), undefined);
        assert.equal(await storage.resultStoreSize(), 0);
      });
    });

    describe("queue details", () => {
      for (const className of Object.keys(CLASSES) as ClassName[]) {
        it(`${className}: keeps duplicates and empty messages, and releases a lease with extendLease(0)`, async () => {
          const storage = make(className, { name: `dup-${RUN}-${className}` });
          await storage.flushAll();
          await storage.enqueueMany([{ data: "same", priority: 0 }, { data: "same", priority: 0 }]);
          await storage.enqueue("", 0);
          assert.deepEqual(await storage.enqueuedItems(), ["same", "same", ""]);
          await storage.addToSchedule("again", T0);
          await storage.addToSchedule("again", T0);
          assert.deepEqual(await storage.readSchedule(T0), ["again", "again"]);
          const first = await storage.dequeue({ now: T0, leaseSeconds: 30 });
          assert.equal(first?.data, "same");
          assert.equal(await storage.extendLease(first!.receipt, T0 + 1000, 0), true);
          assert.deepEqual(await storage.recoverLeases(T0 + 1000), ["same"]);
          const taken: string[] = [];
          for (;;) {
            const delivery = await storage.dequeue({ now: T0, leaseSeconds: 30 });
            if (!delivery) break;
            taken.push(delivery.data);
            assert.equal(await storage.ack(delivery.receipt), true);
          }
          assert.deepEqual(taken, ["same", "same", ""]);
        });
      }

      it("measures leases on the server's clock, whatever now each caller passes", async () => {
        const hour = 3600_000;
        for (const className of ["RedisStorage", "PriorityRedisStorage"] as const) {
          const name = `clock-${RUN}-${className}`;
          const storage = make(className, { name });
          await storage.flushAll();
          await storage.enqueueMany([{ data: "a", priority: 0 }, { data: "b", priority: 0 }]);
          // Consumers whose clocks are an hour behind and an hour ahead.
          const behind = await storage.dequeue({ now: Date.now() - hour, leaseSeconds: 30 });
          const ahead = await storage.dequeue({ now: Date.now() + hour, leaseSeconds: 30 });
          assert.equal(await storage.extendLease(behind!.receipt, Date.now() - hour, 30), true);
          // Both leases end 30 s after the server's time, where the clock behind
          // would have put one in the past and the clock ahead one far ahead...
          const [seconds] = replyStrings(await raw.send(["TIME"]));
          for (const delivery of [behind, ahead]) {
            const end = Number(
              await raw.send(["ZSCORE", `huey.{${name}}.leased`, delivery!.receipt]),
            );
            const left = end - Number(seconds) * 1000;
            assert.ok(
              left > 25_000 && left <= 31_000,
              `lease ends ${left} ms after the server's time`,
            );
          }
          // ...so a scheduler an hour (or two) ahead recovers neither.
          assert.deepEqual(await storage.recoverLeases(Date.now() + 2 * hour), []);
          // A lease that ends now on the server's clock is recovered by one an hour behind.
          assert.equal(await storage.extendLease(ahead!.receipt, Date.now() + hour, 0), true);
          assert.deepEqual(await storage.recoverLeases(Date.now() - hour), [ahead!.data]);
          await storage.flushAll();
        }
      });

      for (const className of Object.keys(CLASSES) as ClassName[]) {
        it(`${className}: hands out a message whose bytes are not UTF-8 as undecodable, with its bytes in hex`, async () => {
          const name = `utf8-${RUN}-${className}`;
          const storage = make(className, { name });
          await storage.flushAll();
          // "a", then a byte that is not UTF-8 and a truncated sequence, then "z".
          const bad = new Uint8Array([0x61, 0xff, 0xe2, 0x82, 0x7a]);
          const hex = "61ffe2827a";
          const queue = `huey.{${name}}.queue`;
          if (storage.priority) {
            const member = [...new TextEncoder().encode("0".repeat(16)), ...bad];
            assert.equal(
              await rawCommand(url, ["ZADD", queue, "-0", new Uint8Array(member)]),
              ":1",
            );
          } else {
            assert.equal(await rawCommand(url, ["LPUSH", queue, bad]), ":1");
          }
          await storage.enqueue("after \u00e9\u{1F600}", 0);
          const taken = await Promise.all(
            [1, 2].map(() => storage.dequeue({ now: T0, leaseSeconds: 30 })),
          );
          const [undecodable, fine] = taken;
          assert.equal(undecodable?.data, hex);
          assert.match(undecodable!.undecodable!, /not valid UTF-8: byte 0xff at offset 1 of 5/);
          assert.equal(fine?.data, "after \u00e9\u{1F600}");
          assert.equal(fine?.undecodable, undefined);
          // Leased like any other: acknowledged, or recovered with its bytes intact.
          assert.equal(await storage.extendLease(undecodable!.receipt, T0, 0), true);
          assert.equal((await storage.recoverLeases(T0)).length, 1);
          const again = await storage.dequeue({ now: T0, leaseSeconds: 30 });
          assert.deepEqual([again?.data, again?.deliveries], [hex, 2]);
          assert.equal(await storage.ack(again!.receipt), true);
          assert.equal(await storage.ack(fine!.receipt), true);
          assert.equal(await storage.leasedSize(), 0);
        });
      }

      it("wakes a blocked dequeue when recoverLeases puts a message back", async () => {
        for (const className of ["RedisStorage", "PriorityRedisStorage"] as const) {
          const storage = make(className, { name: `recover-wake-${RUN}-${className}` });
          await storage.flushAll();
          await storage.enqueue("lost", 0);
          const lost = await storage.dequeue({ now: T0, leaseSeconds: 1 });
          // Leases are on the server's clock: end this one now.
          assert.equal(await storage.extendLease(lost!.receipt, T0, 0), true);
          const waiting = storage.dequeue({ now: T0, leaseSeconds: 30, wait: 5 });
          await sleep(50);
          const recoveredAt = performance.now();
          assert.deepEqual(await storage.recoverLeases(T0 + 1000), ["lost"]);
          assert.equal((await waiting)?.data, "lost");
          assert.ok(performance.now() - recoveredAt < 300);
        }
      });
    });

    describe("enqueueMany at maxmemory (noeviction)", () => {
      if (!redisServerInstalled()) {
        it("is not tested: redis-server is not on the PATH to start one with a memory limit", () => {});
        return;
      }
      let own: RedisServer | undefined;
      let admin: RedisConnection | undefined;
      before(async () => {
        own = await startRedisServer({ args: ["--maxmemory-policy", "noeviction"] });
        admin = await connectRedis({ url: own.url, owner: "the tests" });
      });
      after(async () => {
        await admin?.close();
        await own?.stop();
      });

      /** Let the server use `headroom` bytes more than it uses now. */
      async function limitMemory(headroom: number): Promise<void> {
        await admin!.send(["CONFIG", "SET", "maxmemory", "0"]);
        const info = String(await admin!.send(["INFO", "memory"]));
        const used = Number(/used_memory:(\d+)/.exec(info)![1]);
        await admin!.send(["CONFIG", "SET", "maxmemory", String(used + headroom)]);
      }

      for (const className of Object.keys(CLASSES) as ClassName[]) {
        it(`${className}: a bulk enqueue that does not fit rejects and leaves nothing queued; one that fits is all there`, async () => {
          const storage = new CLASSES[className]({
            url: own!.url,
            name: `oom-${RUN}-${className}`,
          });
          const messages = (n: number) =>
            Array.from({ length: n }, (_, i) => ({
              data: JSON.stringify({ i, pad: "x".repeat(200) }),
              priority: 0,
            }));
          try {
            await storage.flushAll();
            await limitMemory(2 << 20);
            // 15,000 messages of 220 bytes: more than the 2 MiB left.
            await assert.rejects(() => storage.enqueueMany(messages(15_000)), /OOM/);
            assert.equal(await storage.queueSize(), 0, "nothing of the rejected call is queued");
            const fits = messages(1000);
            await storage.enqueueMany(fits);
            assert.deepEqual(await storage.enqueuedItems(), fits.map((item) => item.data));
          } finally {
            await admin!.send(["CONFIG", "SET", "maxmemory", "0"]);
            await storage.flushAll();
            await storage.close();
          }
        });
      }
    });

    describe("priority queue", () => {
      it("keeps FIFO within a priority for large, small and fractional priorities", async () => {
        const storage = make("PriorityRedisStorage", { name: `prio-${RUN}` });
        const priorities = [0, 1e15, -1e15, 2.5, -0.25, Number.MAX_SAFE_INTEGER];
        const items = Array.from({ length: 600 }, (_, i) => ({
          data: `m${i}`,
          priority: priorities[i % priorities.length],
        }));
        await storage.enqueueMany(items);
        const expected = [...items]
          .map((item, i) => ({ ...item, i }))
          .sort((x, y) => y.priority - x.priority || x.i - y.i)
          .map((item) => item.data);
        assert.deepEqual(await storage.enqueuedItems(), expected);
        const taken: string[] = [];
        for (;;) {
          const delivery = await storage.dequeue({ now: T0, leaseSeconds: 30 });
          if (!delivery) break;
          taken.push(delivery.data);
          await storage.ack(delivery.receipt);
        }
        assert.deepEqual(taken, expected);
        await assert.rejects(() => storage.enqueue("x", Number.NaN), RangeError);
      });
    });

    describe("pub/sub", () => {
      it("waitForData wakes within a few ms of putData from another instance", async () => {
        const name = `wait-${RUN}`;
        const waiter = make("RedisStorage", { name });
        const writer = make("RedisStorage", { name });
        await writer.flushAll();
        await waiter.queueSize(); // connected
        let putAt = 0;
        const waiting = waiter.waitForData("result", 5).then((found) => ({
          found,
          after: performance.now() - putAt,
        }));
        await sleep(100);
        putAt = performance.now();
        await writer.putData("result", "done");
        const { found, after } = await waiting;
        assert.equal(found, true);
        assert.ok(after < 100, `woke ${after.toFixed(1)} ms after putData`);
        // A missing key times out; an aborted wait ends at once.
        assert.equal(await waiter.waitForData("missing", 0.05), false);
        const controller = new AbortController();
        const started = performance.now();
        setTimeout(() => controller.abort(), 30);
        assert.equal(await waiter.waitForData("missing", 10, controller.signal), false);
        assert.ok(performance.now() - started < 1000);
        await writer.flushAll();
      });

      it("waitForData still wakes at once after many short waits on the same key", async () => {
        const name = `churn-${RUN}`;
        const waiter = make("RedisExpireStorage", { name });
        const writer = make("RedisExpireStorage", { name });
        await writer.flushAll();
        // Result.get({ blocking: true }) waits in short steps like these.
        for (let i = 0; i < 30; i++) assert.equal(await waiter.waitForData("r", 0.005), false);
        const waiting = Promise.all([waiter.waitForData("r", 5), waiter.waitForData("r", 5)]);
        await sleep(50);
        const putAt = performance.now();
        assert.equal(await writer.putIfEmpty("r", "1"), true);
        assert.deepEqual(await waiting, [true, true]);
        const after = performance.now() - putAt;
        assert.ok(after < 100, `woke ${after.toFixed(1)} ms after putIfEmpty`);
        await writer.flushAll();
      });

      it("subscribeEvents receives what another instance publishes", async () => {
        const name = `events-${RUN}`;
        const listener = make("RedisStorage", { name });
        const publisher = make("PriorityRedisStorage", { name });
        const controller = new AbortController();
        const received: string[] = [];
        let resolveAll!: () => void;
        const all = new Promise<void>((resolve) => (resolveAll = resolve));
        await listener.subscribeEvents((event) => {
          received.push(event);
          if (received.length === 3) resolveAll();
        }, controller.signal);
        for (const event of ["one", "two", "three"]) await publisher.publishEvent(event);
        await all;
        assert.deepEqual(received, ["one", "two", "three"]);
        controller.abort();
        await sleep(20);
        await publisher.publishEvent("after abort");
        await sleep(50);
        assert.deepEqual(received, ["one", "two", "three"]);
      });
    });

    describe("blocking dequeue", () => {
      for (const className of ["RedisStorage", "PriorityRedisStorage"] as const) {
        it(`${className}: returns at once when the signal aborts, and wakes at once on a message`, async () => {
          const name = `block-${RUN}-${className}`;
          const readTimeout = 2;
          const consumer = make(className, { name, readTimeout });
          const producer = make(className, { name });
          await consumer.flushAll();

          const controller = new AbortController();
          let started = performance.now();
          setTimeout(() => controller.abort(), 50);
          const none = await consumer.dequeue({
            now: T0,
            leaseSeconds: 30,
            wait: 30,
            signal: controller.signal,
          });
          const aborted = performance.now() - started;
          assert.equal(none, undefined);
          assert.ok(aborted < readTimeout * 1000, `abort took ${aborted.toFixed(0)} ms`);
          assert.ok(aborted < 400, `abort took ${aborted.toFixed(0)} ms`);

          // Several waiters at once each get their own connection.
          started = performance.now();
          const waiting = [1, 2, 3].map(() =>
            consumer.dequeue({ now: T0, leaseSeconds: 30, wait: 10 })
          );
          await sleep(50);
          const sentAt = performance.now();
          await producer.enqueueMany([1, 2, 3].map((i) => ({ data: `m${i}`, priority: 0 })));
          const deliveries = await Promise.all(waiting);
          const woke = performance.now() - sentAt;
          assert.deepEqual(deliveries.map((d) => d?.data).sort(), ["m1", "m2", "m3"]);
          assert.ok(woke < 300, `woke ${woke.toFixed(0)} ms after the enqueue`);
          for (const delivery of deliveries) {
            assert.equal(await consumer.ack(delivery!.receipt), true);
          }

          // A wait with nothing to take ends after `wait`, not `readTimeout`.
          started = performance.now();
          assert.equal(await consumer.dequeue({ now: T0, leaseSeconds: 30, wait: 0.2 }), undefined);
          const waited = performance.now() - started;
          assert.ok(waited >= 150 && waited < 1000, `waited ${waited.toFixed(0)} ms`);
        });
      }

      it("close() ends a blocked dequeue at once with a HueyError", async () => {
        const storage = new RedisStorage({ url, name: `close-${RUN}`, readTimeout: 5 });
        await storage.flushAll();
        const waiting = storage.dequeue({ now: T0, leaseSeconds: 30, wait: 30 })
          .then(() => undefined, (error: unknown) => ({ error, at: performance.now() }));
        await sleep(50);
        const started = performance.now();
        await storage.close();
        const outcome = await waiting;
        assert.ok(outcome?.error instanceof HueyError, String(outcome?.error));
        assert.ok(
          outcome.at - started < 500,
          `ended ${(outcome.at - started).toFixed(0)} ms after close()`,
        );
      });

      it("with blocking: false returns at once", async () => {
        const storage = make("RedisStorage", { name: `noblock-${RUN}`, blocking: false });
        const started = performance.now();
        assert.equal(await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 5 }), undefined);
        assert.ok(performance.now() - started < 500);
        assert.equal(storage.blocking, false);
      });
    });

    describe("connections", () => {
      it(`connects with ${redisClientKind()} on ${runtimeName()}`, async () => {
        const connection = await connectRedis({ url, owner: "the tests" });
        try {
          assert.equal(connection.kind, runtimeName() === "bun" ? "bun" : "node-redis");
          assert.equal(connection.address, `${server.host}:${server.port}`);
          assert.equal(await connection.send(["PING"]), "PONG");
          await assert.rejects(
            () => connection.send(["INCR", "not a number", "extra"]),
            /^HueyError: Cannot run INCR on Redis at .* for the tests: ERR/,
          );
        } finally {
          await connection.close();
        }
        await assert.rejects(() => connection.send(["PING"]), /connection closed/);
      });

      it("uses an application's client and leaves it open on close()", async () => {
        const client = createClient({ url });
        client.on("error", () => {});
        await client.connect();
        try {
          const storage = new PriorityRedisStorage({ client, name: `client-${RUN}` });
          await storage.flushAll();
          await storage.enqueue("hello", 0);
          const waiter = storage.waitForData("k", 5);
          await sleep(20);
          await storage.putData("k", "v");
          assert.equal(await waiter, true);
          const delivery = await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 1 });
          assert.equal(delivery?.data, "hello");
          assert.equal(await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 0.05 }), undefined);
          await storage.flushAll();
          await storage.close();
          assert.equal(client.isOpen, true);
          assert.equal(await client.sendCommand(["PING"]), "PONG");
          await assert.rejects(() => storage.queueSize(), HueyError);
        } finally {
          client.destroy();
        }
      });

      it("names the storage and the address when it cannot connect", async () => {
        const spare = await closedPort();
        const storage = new RedisStorage({ host: "127.0.0.1", port: spare, name: "app" });
        try {
          const started = performance.now();
          await assert.rejects(() => storage.enqueue("x", 0), (error: Error) => {
            assert.ok(error instanceof HueyError, String(error));
            assert.match(
              error.message,
              new RegExp(
                `^Cannot connect to Redis at 127\\.0\\.0\\.1:${spare} for storage "app": `,
              ),
            );
            return true;
          });
          assert.ok(performance.now() - started < 3000, "fails fast");
          // The next call tries again (and fails the same way).
          await assert.rejects(() => storage.queueSize(), /Cannot connect to Redis at/);
        } finally {
          await storage.close();
        }
        await assert.rejects(() => storage.queueSize(), /closed/);
      });

      if (!redisServerInstalled()) {
        it("reconnect is not tested: redis-server is not on the PATH to stop and restart", () => {});
        return;
      }

      it("fails with a clear error while the server is down and works again after it restarts", {
        timeout: 60_000,
      }, async () => {
        const own = await startRedisServer();
        const name = `reconnect-${RUN}`;
        const storage = new PriorityRedisStorage({ url: own.url, name, readTimeout: 0.5 });
        const other = new PriorityRedisStorage({ url: own.url, name });
        try {
          await storage.enqueue("before", 0);
          // Open the blocking and subscriber connections too.
          assert.equal(
            (await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 1 }))?.data,
            "before",
          );
          assert.equal(await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 0.05 }), undefined);
          assert.equal(await storage.waitForData("k", 0.01), false);

          await own.stop();
          const down = new RegExp(
            `Cannot connect to Redis at 127\\.0\\.0\\.1:${own.port} for storage "${name}"`,
          );
          await assert.rejects(() => storage.enqueue("while down", 0), down);
          await assert.rejects(
            () => storage.dequeue({ now: T0, leaseSeconds: 30, wait: 0.2 }),
            down,
          );
          await assert.rejects(() => storage.putData("k", "v"), down);

          await own.restart();
          const deadline = performance.now() + 20_000;
          for (;;) {
            try {
              await storage.enqueue("after", 0);
              break;
            } catch (error) {
              assert.match((error as Error).message, down);
              if (performance.now() > deadline) throw error;
              await sleep(100);
            }
          }
          assert.deepEqual(await storage.enqueuedItems(), ["after"]);
          assert.equal(
            (await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 1 }))?.data,
            "after",
          );
          const waiting = storage.dequeue({ now: T0, leaseSeconds: 30, wait: 5 });
          await sleep(50);
          await other.enqueue("woken", 0);
          assert.equal((await waiting)?.data, "woken");
          // The subscriber connection was renewed: a write wakes the wait at once.
          let putAt = 0;
          const result = storage.waitForData("k", 5).then((found) => ({
            found,
            after: performance.now() - putAt,
          }));
          await sleep(50);
          putAt = performance.now();
          await other.putData("k", "v");
          const { found, after } = await result;
          assert.equal(found, true);
          assert.ok(after < 500, `woke ${after.toFixed(0)} ms after putData`);
        } finally {
          await storage.close();
          await other.close();
          await own.stop();
        }
      });
    });
  });
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const { createServer } = await import("node:net");
  return await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 1));
    });
  });
}
