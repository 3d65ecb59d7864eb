/**
 * PostgresStorage's hot path on a real PostgreSQL (postgres_server.ts): a
 * consumer loop's finish takes the next message ahead, so a worker pays one
 * statement per task; what is taken ahead stays leased, and goes back to
 * its place in the queue when no dequeue comes for it or the storage closes.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { PostgresStorage } from "../lib/storage/postgres/storage.ts";
import { writeAppModule } from "./fixtures/postgres_app.ts";
import { describeWithPostgres } from "./postgres_server.ts";
import { startConsumer, stop } from "./process_helpers.ts";

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A consumer loop's dequeue: it waits (as the workers do), with the revocation peek. */
const loopDequeue = (storage: PostgresStorage) =>
  storage.dequeue({ now: T0, leaseSeconds: 30, wait: 1, peekKey: "marker" });

/** Poll `check` every 5 ms until it holds or `ms` pass. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    assert.ok(performance.now() < deadline, `${what} within ${ms} ms`);
    await sleep(5);
  }
}

await describeWithPostgres("PostgresStorage deliveries", (server) => {
  /** A storage on its own client whose statements are counted. */
  const counted = (name: string) => {
    const sql = postgres(server.url, { max: 2, onnotice: () => {} });
    const count = { statements: 0 };
    const client = new Proxy(sql, {
      get(target, key, receiver) {
        if (key !== "unsafe") return Reflect.get(target, key, receiver);
        return (...args: Parameters<typeof sql.unsafe>) => {
          count.statements++;
          return target.unsafe(...args);
        };
      },
    });
    const storage = new PostgresStorage({ client, name: `${name}-${RUN}` });
    const close = async () => {
      await storage.close();
      await sql.end();
    };
    return { storage, count, close };
  };

  /** `storage` emptied, then `n` messages m0, m1, ... and the revocation marker set. */
  const fill = async (storage: PostgresStorage, n: number) => {
    await storage.flushAll();
    await storage.enqueueMany(
      Array.from({ length: n }, (_, i) => ({ data: `m${i}`, priority: 0 })),
    );
    await storage.putData("marker", "revoked-something");
  };

  describe("PostgresStorage deliveries", () => {
    it("a consumer loop's finish takes the next message ahead: one statement per task", async () => {
      const { storage, count, close } = counted("ahead");
      try {
        await fill(storage, 4);
        let delivery = await loopDequeue(storage);
        count.statements = 0;
        const seen = [delivery?.data];
        for (let i = 0; i < 3; i++) {
          assert.equal(await storage.putDataAndAck(`r${i}`, `v${i}`, delivery!.receipt), true);
          delivery = await loopDequeue(storage);
          seen.push(delivery?.data);
          assert.equal(delivery?.deliveries, 1);
          assert.equal(delivery?.peeked, "revoked-something", "the peek is read with the take");
        }
        assert.deepEqual(seen, ["m0", "m1", "m2", "m3"]);
        assert.equal(count.statements, 3, "each finish took the next message in its statement");
        assert.equal(await storage.peekData("r2"), "v2");
        assert.equal(await storage.putDataAndAck("r3", "v3", delivery!.receipt), true);
        assert.equal(await storage.queueSize() + await storage.leasedSize(), 0);
      } finally {
        await close();
      }
    });

    it("takes nothing ahead for dequeues that do not wait (no consumer loop)", async () => {
      const { storage, close } = counted("plain");
      try {
        await fill(storage, 2);
        const delivery = await storage.dequeue({ now: T0, leaseSeconds: 30, peekKey: "marker" });
        assert.equal(await storage.putDataAndAck("r0", "v0", delivery!.receipt), true);
        assert.equal(await storage.leasedSize(), 0);
        assert.equal(await storage.queueSize(), 1);
      } finally {
        await close();
      }
    });

    it("gives a message taken ahead back to its place, its delivery uncounted, when no dequeue comes", async () => {
      const { storage, close } = counted("giveback");
      const other = counted("giveback");
      try {
        await fill(storage, 3);
        const delivery = await loopDequeue(storage);
        assert.equal(await storage.putDataAndAck("r0", "v0", delivery!.receipt), true);
        assert.equal(await storage.leasedSize(), 1, "m1 is leased while taken ahead");
        await eventually("m1 given back", async () => (await storage.leasedSize()) === 0);
        assert.deepEqual(await storage.enqueuedItems(), ["m1", "m2"]);
        const next = await other.storage.dequeue({ now: T0, leaseSeconds: 30 });
        assert.equal(next?.data, "m1");
        assert.equal(next?.deliveries, 1);
      } finally {
        await close();
        await other.close();
      }
    });

    it("close() gives back every message taken ahead", async () => {
      const { storage, close } = counted("closing");
      const other = counted("closing");
      try {
        await fill(storage, 3);
        const deliveries = [await loopDequeue(storage), await loopDequeue(storage)];
        await Promise.all(
          deliveries.map((d, i) => storage.putDataAndAck(`r${i}`, `v${i}`, d!.receipt)),
        );
        await close();
        assert.equal(await other.storage.leasedSize(), 0);
        assert.deepEqual(await other.storage.enqueuedItems(), ["m2"]);
      } finally {
        await close().catch(() => {});
        await other.close();
      }
    });

    it("two consumer processes, one killed mid-drain: every task runs, only what it was running runs twice, nothing stays leased", async () => {
      const dir = mkdtempSync(join(tmpdir(), "huey-pg-ahead-"));
      after(() => rmSync(dir, { recursive: true, force: true }));
      const log = join(dir, "ran.log");
      const config = { url: server.url, name: `drain-${RUN}`, log, lease: 1 };
      const module = join(dir, "app.mjs");
      const app = await writeAppModule(module, config);
      const start = () => startConsumer([module, "-w", "4", "-d", "0.05", "-m", "0.2"]);
      const ran = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
      const storage = app.huey.storage as PostgresStorage;
      await app.huey.flush();
      await app.note.map(Array.from({ length: 400 }, (_, i) => [i] as [number]));
      const [a, b] = [start(), start()];
      try {
        await eventually("some tasks ran", async () => ran().length >= 100, 60_000);
        a.child.kill("SIGKILL");
        await a.exited;
        await eventually("every task ran", async () => new Set(ran()).size >= 400, 60_000);
        // What the killed consumer held comes back when its 1 s leases end.
        const settled = async () =>
          (await storage.queueSize()) + (await storage.leasedSize()) === 0;
        await eventually(
          "the killed consumer's leases recovered and acknowledged",
          settled,
          60_000,
        );
        const runs = ran().map(Number);
        assert.deepEqual(
          [...new Set(runs)].sort((x, y) => x - y),
          Array.from({ length: 400 }, (_, i) => i),
        );
        // Twice only what the killed consumer was running (its 4 workers): what it
        // had taken ahead had not run yet, and came back by lease recovery.
        assert.ok(runs.length - 400 <= 4, `${runs.length - 400} ran twice`);
        await stop(b);
        assert.equal(await storage.leasedSize(), 0, b.output());
      } finally {
        for (const c of [a, b]) {
          if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
        }
        await Promise.all([a.exited, b.exited]);
        await app.huey.close();
      }
    });

    it("a lease lost while finishing stores nothing, and still takes the next message ahead", async () => {
      const { storage, close } = counted("fenced");
      try {
        await fill(storage, 2);
        const delivery = await loopDequeue(storage);
        // The lease runs out and another consumer's recovery puts m0 back.
        await storage.extendLease(delivery!.receipt, T0, 0);
        assert.deepEqual(await storage.recoverLeases(T0), ["m0"]);
        assert.equal(await storage.putDataAndAck("r0", "v0", delivery!.receipt), false);
        assert.equal(await storage.peekData("r0"), undefined);
        const next = await loopDequeue(storage);
        assert.equal(next?.data, "m0", "the recovered message is first again");
        assert.equal(next?.deliveries, 2);
      } finally {
        await close();
      }
    });
  });
});
