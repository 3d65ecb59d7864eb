/**
 * PostgresStorage: the conformance suite (with several producer and
 * consumer processes) on a private PostgreSQL cluster this run starts (see
 * postgres_server.ts), then what is specific to Postgres: LISTEN/NOTIFY
 * wake-ups, transactional enqueue, the schema, names, events, and a server
 * restart under a running consumer.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { ConfigurationError, HueyError } from "../lib/errors.ts";
import { PostgresStorage } from "../lib/storage/postgres/storage.ts";
import type { PostgresStorageOptions } from "../lib/storage/postgres/storage.ts";
import { storageConformance } from "./storage_conformance.ts";
import { describeWithPostgres } from "./postgres_server.ts";
import type { PostgresServer } from "./postgres_server.ts";

/** Unique per test run, so runs against a shared DATABASE_URL never meet. */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await describeWithPostgres("PostgresStorage", (server) => {
  const opened: PostgresStorage[] = [];
  const open = (options: PostgresStorageOptions = {}) => {
    const storage = new PostgresStorage({ url: server.url, ...options });
    opened.push(storage);
    return storage;
  };
  after(async () => {
    for (const storage of opened) await storage.close().catch(() => {});
  });

  describe("PostgresStorage", () => {
    storageConformance("PostgresStorage", {
      create: () => open({ name: `conformance-${RUN}` }),
      open: (name) => open({ name: `${name}-${RUN}` }),
      persistent: true,
      leaseClock: "storage",
      processes: {
        module: "../lib/storage/postgres/storage.ts",
        exportName: "PostgresStorage",
        options: { name: `conformance-${RUN}`, url: server.url },
      },
    });

    specifics(server, open);
  });
});

function specifics(server: PostgresServer, open: (o?: PostgresStorageOptions) => PostgresStorage) {
  describe("PostgresStorage specifics", () => {
    it("wakes a blocked dequeue within milliseconds of an enqueue from another connection", async () => {
      const name = `wake-${RUN}`;
      const consumer = open({ name });
      const producer = open({ name });
      await consumer.flushAll();
      // Once, so the LISTEN connection is open before the timing starts.
      assert.equal(await consumer.dequeue({ now: T0, leaseSeconds: 30, wait: 0.05 }), undefined);
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        let sent = 0;
        const waiting = consumer.dequeue({ now: T0, leaseSeconds: 30, wait: 10 }).then((d) => {
          latencies.push(performance.now() - sent);
          return d;
        });
        await sleep(30);
        sent = performance.now();
        await producer.enqueue(`job-${i}`, 0);
        const delivery = await waiting;
        assert.equal(delivery?.data, `job-${i}`);
        await consumer.ack(delivery!.receipt);
      }
      latencies.sort((a, b) => a - b);
      assert.ok(latencies[2] < 50, `median wake-up ${latencies[2].toFixed(1)} ms`);
    });

    it("serves 8 concurrent dequeues, and 8 concurrent finishes, with one statement each", async () => {
      const sql = postgres(server.url, { max: 2, onnotice: () => {} });
      let statements = 0;
      const counting = new Proxy(sql, {
        get(target, key, receiver) {
          if (key !== "unsafe") return Reflect.get(target, key, receiver);
          return (...args: Parameters<typeof sql.unsafe>) => {
            statements++;
            return target.unsafe(...args);
          };
        },
      });
      const storage = new PostgresStorage({ client: counting, name: `batch-${RUN}` });
      try {
        await storage.flushAll();
        await storage.enqueueMany(
          Array.from({ length: 8 }, (_, i) => ({ data: `m${i}`, priority: 0 })),
        );
        statements = 0;
        const deliveries = await Promise.all(
          Array.from(
            { length: 8 },
            () => storage.dequeue({ now: T0, leaseSeconds: 30, peekKey: "marker" }),
          ),
        );
        assert.equal(statements, 1, "one statement took all eight");
        assert.deepEqual(
          deliveries.map((d) => d?.data),
          Array.from({ length: 8 }, (_, i) => `m${i}`),
        );
        statements = 0;
        const finished = await Promise.all(
          deliveries.map((d, i) => storage.putDataAndAck(`r${i}`, `v${i}`, d!.receipt)),
        );
        assert.equal(statements, 1, "one statement stored and acknowledged all eight");
        assert.deepEqual(finished, Array(8).fill(true));
        assert.equal(await storage.peekData("r7"), "v7");
      } finally {
        await storage.close();
        await sql.end();
      }
    });

    it("wakes a blocked waitForData when another connection stores the key", async () => {
      const name = `data-${RUN}`;
      const reader = open({ name });
      const writer = open({ name });
      await reader.flushAll();
      assert.equal(await reader.waitForData("warm-up", 0.01), false);
      let stored = 0;
      const waiting = reader.waitForData("result", 10).then((found) => ({
        found,
        after: performance.now() - stored,
      }));
      await sleep(30);
      stored = performance.now();
      await writer.putData("result", "42");
      const { found, after } = await waiting;
      assert.equal(found, true);
      assert.ok(after < 50, `woke ${after.toFixed(1)} ms after the write`);
      // A finish (putDataAndAck) wakes it too.
      await writer.enqueue("job", 0);
      const delivery = await writer.dequeue({ now: T0, leaseSeconds: 30 });
      const finished = reader.waitForData("finished", 10);
      await sleep(30);
      assert.equal(await writer.putDataAndAck("finished", "1", delivery!.receipt), true);
      assert.equal(await finished, true);
      // A key too long for a NOTIFY payload still wakes its waiter (all waiters check again).
      const long = "k".repeat(9000);
      const longWait = reader.waitForData(long, 10);
      await sleep(30);
      await writer.putData(long, "v");
      assert.equal(await longWait, true);
    });

    it("enqueues inside the application's transaction: there if it commits, gone if it rolls back", async () => {
      const name = `tx-${RUN}`;
      const storage = open({ name });
      await storage.flushAll();
      const sql = postgres(server.url, { max: 2, onnotice: () => {} });
      try {
        await sql.begin(async (tx) => {
          await storage.inTransaction(tx).enqueue("committed", 0);
          await storage.inTransaction(tx).addToSchedule("later", T0);
          // Not visible outside the transaction before it commits.
          assert.equal(await storage.queueSize(), 0);
        });
        assert.deepEqual(await storage.enqueuedItems(), ["committed"]);
        assert.deepEqual(await storage.scheduledItems(), ["later"]);
        await assert.rejects(
          sql.begin(async (tx) => {
            await storage.inTransaction(tx).enqueue("rolled back", 0);
            throw new Error("the order failed");
          }),
          /the order failed/,
        );
        assert.deepEqual(await storage.enqueuedItems(), ["committed"]);
        assert.throws(() => storage.inTransaction({}), TypeError);
      } finally {
        await sql.end();
      }
    });

    it("a commit wakes a consumer blocked on the queue", async () => {
      const name = `tx-wake-${RUN}`;
      const storage = open({ name });
      await storage.flushAll();
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        assert.equal(await storage.dequeue({ now: T0, leaseSeconds: 30, wait: 0.05 }), undefined);
        const waiting = storage.dequeue({ now: T0, leaseSeconds: 30, wait: 10 });
        const started = performance.now();
        await sql.begin(async (tx) => {
          await storage.inTransaction(tx).enqueue("after commit", 0);
          await sleep(100);
        });
        assert.equal((await waiting)?.data, "after commit");
        assert.ok(performance.now() - started < 2000);
      } finally {
        await sql.end();
      }
    });

    it("creates its tables on first use, in a schema and under a prefix of its own", async () => {
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      const schema = `s_${RUN}`;
      try {
        const storage = open({ name: "app", schema, tablePrefix: 'my "q"_' });
        await storage.enqueue("x", 0);
        const tables = await sql`SELECT tablename FROM pg_tables WHERE schemaname = ${schema}
          ORDER BY tablename`;
        assert.deepEqual(tables.map((t) => t.tablename), [
          'my "q"_counters',
          'my "q"_errors',
          'my "q"_kv',
          'my "q"_queue',
          'my "q"_records',
          'my "q"_schedule',
          'my "q"_schema',
        ]);
        const [{ version }] = await sql`SELECT version FROM ${sql(schema)}.${sql('my "q"_schema')}`;
        assert.equal(version, 4);
        // Another storage on the same tables starts without creating anything.
        const second = open({ name: "app", schema, tablePrefix: 'my "q"_', createTables: false });
        assert.deepEqual(await second.enqueuedItems(), ["x"]);
      } finally {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await sql.end();
      }
    });

    it("with createTables: false, fails until initializeSchema() makes the tables", async () => {
      const schema = `t_${RUN}`;
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        const storage = open({ name: "app", schema, createTables: false });
        await assert.rejects(() => storage.enqueue("x", 0), (error: Error) => {
          assert.ok(error instanceof ConfigurationError, String(error));
          assert.match(error.message, /do not exist: call initializeSchema\(\)/);
          return true;
        });
        await storage.initializeSchema();
        await storage.initializeSchema(); // a no-op the second time
        await storage.enqueue("x", 0);
        assert.equal(await storage.queueSize(), 1);
        // A database from a newer library is refused, not written in the old layout.
        await sql.unsafe(`UPDATE "${schema}".huey_schema SET version = 99`);
        const newer = open({ name: "app", schema });
        await assert.rejects(() => newer.queueSize(), /schema version 99, newer than/);
      } finally {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await sql.end();
      }
    });

    it("migrates a version 1 database: adds the counters and records tables, keeps what it held", async () => {
      const schema = `m_${RUN}`;
      const sql = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        const old = open({ name: "app", schema });
        await old.enqueue("kept", 0);
        await old.putData("k", "v");
        await old.putError("bad", "why", 5);
        // Back to what version 1 made: no counters table, no info on kept messages.
        await sql.unsafe(`DROP TABLE "${schema}".huey_counters`);
        await sql.unsafe(`ALTER TABLE "${schema}".huey_errors DROP COLUMN info`);
        await sql.unsafe(`DROP TABLE "${schema}".huey_records`);
        await sql.unsafe(`UPDATE "${schema}".huey_schema SET version = 1`);
        const waiting = open({ name: "app", schema, createTables: false });
        await assert.rejects(
          () => waiting.queueSize(),
          /at schema version 1, this library needs 4/,
        );
        const upgraded = open({ name: "app", schema });
        assert.equal(await upgraded.incr("hits", 2), 2);
        assert.deepEqual(await upgraded.enqueuedItems(), ["kept"]);
        assert.equal(await upgraded.peekData("k"), "v");
        const [kept] = await upgraded.errorItems();
        assert.deepEqual({ ...kept, id: "" }, { id: "", data: "bad", reason: "why", time: 5 });
        assert.equal(await upgraded.requeueError(kept.id, 0), true);
        assert.deepEqual(await upgraded.enqueuedItems(), ["kept", "bad"]);
        await upgraded.putRecord("%s:1", "r", 60, Date.now());
        assert.equal(await upgraded.getRecord("%s:1", Date.now()), "r");
        const [{ version }] = await sql.unsafe(`SELECT version FROM "${schema}".huey_schema`);
        assert.equal(version, 4);
      } finally {
        await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await sql.end();
      }
    });

    it("keeps long names within Postgres's identifier limit", async () => {
      const name = `${"n".repeat(100)}-${RUN}`;
      const storage = open({ name });
      await storage.flushAll();
      const waiting = storage.dequeue({ now: T0, leaseSeconds: 30, wait: 10 });
      await sleep(50);
      await open({ name }).enqueue("long", 0);
      assert.equal((await waiting)?.data, "long");
      assert.throws(() => open({ tablePrefix: "p".repeat(60) }), ConfigurationError);
      // The longest prefix allowed and a long name still give channels Postgres keeps whole.
      const longest = open({ name, tablePrefix: "p".repeat(50) });
      const waitingToo = longest.dequeue({ now: T0, leaseSeconds: 30, wait: 10 });
      await sleep(50);
      await open({ name, tablePrefix: "p".repeat(50) }).enqueue("longest", 0);
      assert.equal((await waitingToo)?.data, "longest");
    });

    it("enqueueMany past one statement's batch is still all or nothing", async () => {
      const storage = open({ name: `many-${RUN}` });
      await storage.flushAll();
      const items = Array.from({ length: 12_000 }, (_, i) => ({ data: `m${i}`, priority: 0 }));
      // The last item cannot be stored (a priority Postgres cannot read): nothing is.
      const bad = [...items, { data: "bad", priority: "high" as unknown as number }];
      await assert.rejects(() => storage.enqueueMany(bad), HueyError);
      assert.equal(await storage.queueSize(), 0);
      await storage.enqueueMany(items);
      assert.equal(await storage.queueSize(), 12_000);
      assert.deepEqual(await storage.enqueuedItems(2), ["m0", "m1"]);
      await storage.flushAll();
    });

    it("measures leases on the server's clock: a caller whose clock runs ahead recovers nothing early", async () => {
      const name = `clock-${RUN}`;
      const consumer = open({ name });
      const ahead = open({ name });
      await consumer.flushAll();
      await consumer.enqueue("job", 0);
      const delivery = await consumer.dequeue({ now: Date.now() - 3600_000, leaseSeconds: 30 });
      assert.deepEqual(await ahead.recoverLeases(Date.now() + 3600_000), []);
      assert.equal(await consumer.extendLease(delivery!.receipt, 0, 30), true);
      assert.deepEqual(await ahead.recoverLeases(Date.now() + 3600_000), []);
      // A lease of 0 seconds ends now, and the next recovery (any clock) puts it back.
      assert.equal(await consumer.extendLease(delivery!.receipt, Date.now() + 3600_000, 0), true);
      assert.deepEqual(await ahead.recoverLeases(0), ["job"]);
    });

    it("recovers each expired lease once when several storages recover at the same time", async () => {
      const name = `recover-${RUN}`;
      const storages = Array.from({ length: 4 }, () => open({ name }));
      await storages[0].flushAll();
      await storages[0].enqueueMany(
        Array.from({ length: 40 }, (_, i) => ({ data: `m${i}`, priority: 0 })),
      );
      for (let i = 0; i < 40; i++) {
        const delivery = await storages[i % 4].dequeue({ now: T0, leaseSeconds: 30 });
        // Leases run on the server's clock: end them now rather than wait.
        assert.equal(await storages[i % 4].extendLease(delivery!.receipt, T0, 0), true);
      }
      const recovered = await Promise.all(storages.map((s) => s.recoverLeases(T0)));
      const all = recovered.flat();
      assert.equal(all.length, 40);
      assert.equal(new Set(all).size, 40);
      assert.equal(await storages[0].queueSize(), 40);
      const again = await storages[1].dequeue({ now: T0 + 1000, leaseSeconds: 1 });
      assert.equal(again?.deliveries, 2, "the delivery count survives the recovery");
      // Which lease holds a message now (what a stale finisher's warning names).
      assert.deepEqual(await storages[2].currentLease(again!.data), {
        receipt: again!.receipt,
        deliveries: 2,
      });
      assert.equal(await storages[2].currentLease("nobody holds this"), undefined);
    });

    it("carries events to another process's subscriber, long ones in parts", async () => {
      const name = `events-${RUN}`;
      const publisher = open({ name });
      const subscriber = open({ name });
      const controller = new AbortController();
      const received: string[] = [];
      await subscriber.subscribeEvents((event) => received.push(event), controller.signal);
      const long = JSON.stringify({ signal: "error", error: "é".repeat(10_000) });
      await Promise.all([
        publisher.publishEvent('{"a":1}'),
        publisher.publishEvent(long),
        publisher.publishEvent('{"b":2}'),
      ]);
      const deadline = performance.now() + 5000;
      while (received.length < 3 && performance.now() < deadline) await sleep(10);
      controller.abort();
      assert.deepEqual(received, ['{"a":1}', long, '{"b":2}']);
    });

    it("works without prepared statements (prepare: false, as behind PgBouncer)", async () => {
      const storage = open({ name: `unprepared-${RUN}`, prepare: false });
      await storage.flushAll();
      await storage.enqueue("plain", 0);
      const delivery = await storage.dequeue({ now: T0, leaseSeconds: 30, peekKey: "k" });
      assert.deepEqual([delivery?.data, delivery?.peeked], ["plain", null]);
      assert.equal(await storage.putDataAndAck("k", "v", delivery!.receipt), true);
      assert.equal(await storage.peekData("k"), "v");
    });

    it("names the storage and the server when it cannot connect", async () => {
      const storage = open({ name: "app", url: "postgres://postgres@127.0.0.1:1/postgres" });
      await assert.rejects(() => storage.enqueue("x", 0), (error: Error) => {
        assert.ok(error instanceof HueyError, String(error));
        assert.match(
          error.message,
          /^Cannot enqueue: .*: PostgresStorage "app" at 127\.0\.0\.1:1\/postgres$/,
        );
        return true;
      });
    });

    it("uses an application's client and leaves it open on close()", async () => {
      const sql = postgres(server.url, { max: 2, onnotice: () => {} });
      try {
        const storage = new PostgresStorage({ client: sql, name: `client-${RUN}` });
        await storage.flushAll();
        const waiting = storage.dequeue({ now: T0, leaseSeconds: 30, wait: 5 });
        await sleep(50);
        await storage.enqueue("hello", 0);
        assert.equal((await waiting)?.data, "hello");
        await storage.close();
        assert.deepEqual([...await sql`SELECT 1 AS one`], [{ one: 1 }]);
        await assert.rejects(() => storage.queueSize(), HueyError);
      } finally {
        await sql.end();
      }
    });
  });
}
