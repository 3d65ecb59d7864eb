/**
 * SqliteStorage: the shared conformance suite (with several processes on one
 * file), then what is specific to SQLite.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ConfigurationError, HueyError } from "../lib/errors.ts";
import { SqliteHuey } from "../lib/flavors.ts";
import { SqliteStorage } from "../lib/storage/sqlite.ts";
import { assertNotUtf8SetAside, notUtf8Bytes } from "./helpers.ts";
import { storageConformance } from "./storage_conformance.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const dir = mkdtempSync(join(tmpdir(), "huey-sqlite-test-"));
const filename = join(dir, "conformance.db");

describe("SqliteStorage", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  storageConformance("SqliteStorage", {
    create: () => new SqliteStorage({ name: "conformance", filename }),
    open: (name) => new SqliteStorage({ name, filename }),
    persistent: true,
    processes: {
      module: "../lib/storage/sqlite.ts",
      exportName: "SqliteStorage",
      options: { name: "conformance", filename },
    },
  });

  describe("SqliteStorage specifics", () => {
    let n = 0;
    /** A fresh database file in the test directory. */
    const freshFile = () => join(dir, `specific-${n++}.db`);

    it("opens the database in WAL mode", async () => {
      const file = freshFile();
      const storage = new SqliteStorage({ filename: file });
      await storage.enqueue("x", 0);
      const db = new DatabaseSync(file);
      try {
        const row = db.prepare("PRAGMA journal_mode").get() as { journal_mode: string };
        assert.equal(row.journal_mode, "wal");
      } finally {
        db.close();
        await storage.close();
      }
    });

    it("shares one queue between two connections to the same file", async () => {
      const file = freshFile();
      const producer = new SqliteStorage({ filename: file });
      const consumer = new SqliteStorage({ filename: file });
      try {
        await producer.enqueueMany([{ data: "a", priority: 0 }, { data: "b", priority: 1 }]);
        const first = await consumer.dequeue({ now: T0, leaseSeconds: 1 });
        assert.equal(first?.data, "b");
        // The lease ran out: a third party recovers it, and it goes first again.
        assert.deepEqual(await producer.recoverLeases(T0 + 1000), ["b"]);
        assert.equal(await consumer.ack(first!.receipt), false);
        assert.deepEqual(await consumer.enqueuedItems(), ["b", "a"]);
      } finally {
        await producer.close();
        await consumer.close();
      }
    });

    it("puts recovered messages at the front of their priority, in their original order", async () => {
      const storage = new SqliteStorage({ filename: freshFile() });
      try {
        for (const m of ["a", "b", "c"]) await storage.enqueue(m, 1);
        await storage.dequeue({ now: T0, leaseSeconds: 1 });
        await storage.dequeue({ now: T0, leaseSeconds: 1 });
        await storage.enqueue("d", 1);
        await storage.enqueue("top", 2);
        await storage.enqueue("bottom", -1.5);
        assert.deepEqual(await storage.recoverLeases(T0 + 1000), ["a", "b"]);
        assert.deepEqual(await storage.enqueuedItems(), ["top", "a", "b", "c", "d", "bottom"]);
      } finally {
        await storage.close();
      }
    });

    it("wakes waits in the writing process at once; other connections see writes too", async () => {
      const file = freshFile();
      const storage = new SqliteStorage({ filename: file });
      const other = new SqliteStorage({ filename: file });
      try {
        let start = performance.now();
        const idle = storage.waitForEnqueue(30);
        await storage.enqueue("job", 0);
        await idle;
        assert.ok(performance.now() - start < 5_000, "an enqueue ends the consumer's sleep");

        start = performance.now();
        const stored = storage.waitForData("result", 30);
        await storage.putData("result", "42");
        assert.equal(await stored, true);
        assert.ok(performance.now() - start < 5_000, "a write ends a blocked get()'s wait");

        // Another connection sees the value too (woken by the WAL watch, or its polling).
        const polled = other.waitForData("later", 30);
        await new Promise((resolve) => setTimeout(resolve, 20));
        await storage.putData("later", "1");
        assert.equal(await polled, true);
        // A sleep nobody ends runs its course.
        const quiet = new SqliteStorage({ filename: freshFile() });
        start = performance.now();
        await quiet.waitForEnqueue(0.05);
        assert.ok(performance.now() - start >= 40);
        await quiet.close();
      } finally {
        await storage.close();
        await other.close();
      }
      await assert.rejects(storage.waitForEnqueue(1), HueyError);
    });

    it("returns NUL characters and a leading byte-order mark unchanged", async () => {
      const storage = new SqliteStorage({ filename: freshFile() });
      const odd = "\uFEFFa\u0000b\u0000";
      try {
        await storage.enqueue(odd, 0);
        assert.deepEqual(await storage.enqueuedItems(), [odd]);
        assert.equal((await storage.dequeue({ now: T0, leaseSeconds: 1 }))?.data, odd);
        await storage.addToSchedule(odd, T0);
        assert.deepEqual(await storage.readSchedule(T0), [odd]);
        await storage.putData(odd, odd);
        assert.equal(await storage.peekData(odd), odd);
        assert.deepEqual(await storage.resultItems(), new Map([[odd, odd]]));
        assert.equal(await storage.popData(odd), odd);
        await storage.putError(odd, odd, T0);
        assert.deepEqual((await storage.errorItems()).map(({ id: _, ...item }) => item), [{
          data: odd,
          reason: odd,
          time: T0,
        }]);
      } finally {
        await storage.close();
      }
    });

    it("sets a message that is not valid UTF-8 aside, its bytes in base64, and hands out the next", async () => {
      const file = freshFile();
      const storage = new SqliteStorage({ name: "app", filename: file });
      // Written straight into the database file.
      const bad = notUtf8Bytes();
      const raw = new DatabaseSync(file);
      try {
        raw.prepare("INSERT INTO huey_queue (name, priority, data) VALUES (?, 0, ?)").run(
          "app",
          bad,
        );
        raw.prepare("INSERT INTO huey_schedule (name, eta, data) VALUES (?, ?, ?)").run(
          "app",
          T0,
          bad,
        );
        await storage.enqueue("next", 0);
        await storage.addToSchedule("due", T0);
        await assertNotUtf8SetAside(storage, bad, 'SqliteStorage "app"', T0);
        assert.equal(await storage.leasedSize(), 1);
      } finally {
        raw.close();
        await storage.close();
      }
    });

    it("throws a HueyError naming the storage and the path when the file cannot be opened", () => {
      const file = join(dir, "no-such-directory", "huey.db");
      assert.throws(
        () => new SqliteStorage({ name: "app", filename: file }),
        (err: unknown) => {
          assert.ok(err instanceof HueyError);
          assert.match(err.message, /^Cannot open SqliteStorage "app": /);
          assert.ok(err.message.endsWith(file), err.message);
          return true;
        },
      );
    });

    it("throws a HueyError saying read-only when the database cannot be written", async () => {
      const file = freshFile();
      await new SqliteStorage({ filename: file }).close();
      // SQLite's own read-only mode: works without root, unlike a read-only mount
      // (tests/sqlite_faults_test.ts has those).
      const uri = `file:${file}?mode=ro`;
      assert.throws(
        () => new SqliteStorage({ name: "app", filename: uri }),
        (err: unknown) => {
          assert.ok(err instanceof HueyError);
          assert.match(
            err.message,
            /^Cannot open SqliteStorage "app": the database is read-only \(/,
          );
          assert.ok(err.message.endsWith(uri), err.message);
          return true;
        },
      );
    });

    it("rejects with a HueyError naming the file after close", async () => {
      const file = freshFile();
      const storage = new SqliteStorage({ name: "app", filename: file });
      await storage.close();
      await storage.close();
      await assert.rejects(() => storage.queueSize(), (err: unknown) => {
        assert.ok(err instanceof HueyError);
        assert.equal(
          err.message,
          `Cannot count the queue: the storage is closed: SqliteStorage "app" at ${file}`,
        );
        return true;
      });
    });

    it("rejects with a HueyError when another connection holds the write lock past busyTimeout", async () => {
      const file = freshFile();
      const storage = new SqliteStorage({ name: "app", filename: file, busyTimeout: 0.1 });
      const other = new DatabaseSync(file);
      other.exec("BEGIN IMMEDIATE");
      try {
        const start = performance.now();
        await assert.rejects(() => storage.enqueue("x", 0), (err: unknown) => {
          assert.ok(err instanceof HueyError);
          assert.match(err.message, /^Cannot enqueue: database is locked: SqliteStorage "app" at /);
          return true;
        });
        assert.ok(performance.now() - start >= 90, "it waited for the busy timeout");
        other.exec("ROLLBACK");
        await storage.enqueue("x", 0);
        assert.equal(await storage.queueSize(), 1);
      } finally {
        other.close();
        await storage.close();
      }
    });

    describe("tables and their version (createTables, initializeSchema)", () => {
      /** The huey tables in `file` and the version it records, read with a connection of our own. */
      const inspect = (file: string) => {
        const db = new DatabaseSync(file);
        try {
          const tables = (db.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'huey%' ORDER BY name",
          ).all() as { name: string }[]).map((row) => row.name);
          const version = tables.includes("huey_schema")
            ? (db.prepare("SELECT version FROM huey_schema").get() as { version: number }).version
            : undefined;
          return { tables, version };
        } finally {
          db.close();
        }
      };
      const TABLES = [
        "huey_counter",
        "huey_error",
        "huey_kv",
        "huey_queue",
        "huey_record",
        "huey_schedule",
        "huey_schema",
      ];

      it("creates the tables on open by default, and records their version", async () => {
        const file = freshFile();
        await new SqliteStorage({ filename: file }).close();
        assert.deepEqual(inspect(file), { tables: TABLES, version: 4 });
      });

      it("with createTables: false opens without them, refuses to work until initializeSchema() made them", async () => {
        const file = freshFile();
        const storage = new SqliteStorage({ name: "app", filename: file, createTables: false });
        try {
          assert.deepEqual(inspect(file).tables, [], "nothing created on open");
          await assert.rejects(() => storage.enqueue("x", 0), (err: unknown) => {
            assert.ok(err instanceof ConfigurationError);
            assert.equal(
              err.message,
              `Cannot enqueue: the tables in ${file} do not exist: call initializeSchema() (or leave createTables on): SqliteStorage "app"`,
            );
            return true;
          });
          await storage.initializeSchema();
          await storage.initializeSchema(); // a no-op once they are current
          assert.deepEqual(inspect(file), { tables: TABLES, version: 4 });
          await storage.enqueue("x", 0);
          assert.equal(await storage.queueSize(), 1);
          const other = new SqliteStorage({ name: "app", filename: file, createTables: false });
          assert.equal(await other.queueSize(), 1, "current tables: used at once");
          await other.close();
        } finally {
          await storage.close();
        }
      });

      it("SqliteHuey({ createTables: false }).initializeSchema() as a deployment step", async () => {
        const file = freshFile();
        const huey = new SqliteHuey({ filename: file, createTables: false });
        const add = huey.task("add", (a: number, b: number) => a + b);
        await assert.rejects(() => add(1, 2), ConfigurationError);
        await huey.initializeSchema();
        await add(1, 2);
        assert.equal((await huey.executeNext())?.value, 3);
        await huey.close();
      });

      it("migrates tables made before versions were recorded, unless createTables: false", async () => {
        const file = freshFile();
        const old = new DatabaseSync(file);
        old.exec(`CREATE TABLE huey_queue (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
          priority REAL NOT NULL, data TEXT NOT NULL, receipt TEXT, lease_until REAL);
          INSERT INTO huey_queue (name, priority, data) VALUES ('huey', 0, 'waiting')`);
        old.close();
        const strict = new SqliteStorage({ filename: file, createTables: false });
        await assert.rejects(
          () => strict.queueSize(),
          /the tables in .* are at schema version 0, this library needs 4: call initializeSchema\(\) to migrate them/,
        );
        await strict.close();
        const storage = new SqliteStorage({ filename: file });
        try {
          assert.deepEqual(inspect(file), { tables: TABLES, version: 4 });
          const delivery = await storage.dequeue({ now: T0, leaseSeconds: 30 });
          assert.deepEqual([delivery?.data, delivery?.deliveries], ["waiting", 1]);
        } finally {
          await storage.close();
        }
      });

      it("migrates tables of version 3: the error store keeps its messages, now with ids", async () => {
        const file = freshFile();
        const first = new SqliteStorage({ filename: file });
        await first.enqueue("queued", 0);
        await first.close();
        // Back to what version 3 made: an error table without `info`, one message in it.
        const db = new DatabaseSync(file);
        db.exec(`DROP TABLE huey_error;
          CREATE TABLE huey_error (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL,
            reason TEXT NOT NULL, time REAL NOT NULL);
          INSERT INTO huey_error (name, data, reason, time) VALUES ('huey', 'old', 'why', 5);
          UPDATE huey_schema SET version = 3`);
        db.close();
        const strict = new SqliteStorage({ filename: file, createTables: false });
        await assert.rejects(
          () => strict.errorItems(),
          /at schema version 3, this library needs 4/,
        );
        await strict.close();
        const storage = new SqliteStorage({ filename: file });
        try {
          assert.deepEqual(inspect(file), { tables: TABLES, version: 4 });
          const [item] = await storage.errorItems();
          assert.deepEqual(item, { id: "1", data: "old", reason: "why", time: 5 });
          assert.equal(await storage.requeueError(item.id, 0), true);
          assert.deepEqual(await storage.enqueuedItems(), ["queued", "old"]);
          await storage.putError("new", "why", 6, "info");
          assert.equal((await storage.errorItems())[0].info, "info");
        } finally {
          await storage.close();
        }
      });

      it("migrates tables of version 1: adds the counters, keeps what they held", async () => {
        const file = freshFile();
        const first = new SqliteStorage({ filename: file });
        await first.enqueue("kept", 0);
        await first.close();
        // Back to what version 1 made: no counters table.
        const db = new DatabaseSync(file);
        db.exec(
          "DROP TABLE huey_counter; DROP TABLE huey_record; UPDATE huey_schema SET version = 1",
        );
        db.close();
        const strict = new SqliteStorage({ filename: file, createTables: false });
        await assert.rejects(
          () => strict.incr("hits"),
          /at schema version 1, this library needs 4/,
        );
        await strict.close();
        const storage = new SqliteStorage({ filename: file });
        try {
          assert.deepEqual(inspect(file), { tables: TABLES, version: 4 });
          assert.equal(await storage.incr("hits", 2), 2);
          assert.deepEqual(await storage.enqueuedItems(), ["kept"]);
        } finally {
          await storage.close();
        }
      });

      it("refuses tables of a newer version, in either mode, naming both versions", async () => {
        const file = freshFile();
        await new SqliteStorage({ filename: file }).close();
        const db = new DatabaseSync(file);
        db.exec("UPDATE huey_schema SET version = 7");
        db.close();
        assert.throws(
          () => new SqliteStorage({ name: "app", filename: file }),
          (err: unknown) => {
            assert.ok(err instanceof ConfigurationError);
            assert.match(
              err.message,
              /^Cannot open SqliteStorage "app": the tables in .* are at schema version 7, newer than this library's 4: upgrade the library/,
            );
            return true;
          },
        );
        const strict = new SqliteStorage({ filename: file, createTables: false });
        await assert.rejects(
          () => strict.queueSize(),
          /schema version 7, newer than this library's 4/,
        );
        await assert.rejects(() => strict.initializeSchema(), /newer than this library's 4/);
        await strict.close();
        assert.equal(inspect(file).version, 7, "left as it was");
      });
    });

    it("rejects a negative busy timeout", () => {
      assert.throws(() => new SqliteStorage({ filename: ":memory:", busyTimeout: -1 }), RangeError);
    });
  });
});
