/**
 * FileStorage: the shared conformance suite (with several processes on one
 * directory), then what is specific to the file layout and its lock.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HueyError } from "../lib/errors.ts";
import { FileStorage } from "../lib/storage/file.ts";
import { assertNotUtf8SetAside, notUtf8Bytes } from "./helpers.ts";
import { storageConformance } from "./storage_conformance.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const root = mkdtempSync(join(tmpdir(), "huey-file-test-"));
const conformanceDir = join(root, "conformance");

describe("FileStorage", () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  storageConformance("FileStorage", {
    create: () => new FileStorage({ name: "conformance", path: conformanceDir }),
    open: (name) => new FileStorage({ name, path: conformanceDir }),
    persistent: true,
    processes: {
      module: "../lib/storage/file.ts",
      exportName: "FileStorage",
      options: { name: "conformance", path: conformanceDir },
    },
  });

  describe("FileStorage specifics", () => {
    let n = 0;
    /** A fresh, not yet existing directory under the test root. */
    const freshDir = () => join(root, `specific-${n++}`, "nested");

    it("stores any key and value, however long or odd", async () => {
      const storage = new FileStorage({ path: freshDir() });
      const keys = ["../escape", "a/b\\c", "", ".", "\u0000\n\uFEFF", "k".repeat(5000), "é🙂"];
      try {
        for (const [i, key] of keys.entries()) await storage.putData(key, `v${i}\n\uFEFF\u0000`);
        assert.equal(await storage.resultStoreSize(), keys.length);
        for (const [i, key] of keys.entries()) {
          assert.equal(await storage.peekData(key), `v${i}\n\uFEFF\u0000`);
        }
        const items = await storage.resultItems();
        assert.deepEqual([...items.keys()].sort(), [...keys].sort());
        assert.equal(await storage.popData("../escape"), "v0\n\uFEFF\u0000");
        assert.equal(await storage.hasDataForKey("../escape"), false);
      } finally {
        await storage.close();
      }
    });

    it("sets a message that is not valid UTF-8 aside, its bytes in base64, and hands out the next", async () => {
      const storage = new FileStorage({ name: "app", path: freshDir() });
      const bad = notUtf8Bytes();
      try {
        await storage.enqueue("first", 0);
        await storage.enqueue("next", 0);
        await storage.addToSchedule("first", T0);
        await storage.addToSchedule("due", T0);
        for (const dir of ["queue", "schedule"]) {
          const first = readdirSync(join(storage.directory, dir)).sort()[0];
          writeFileSync(join(storage.directory, dir, first), bad);
        }
        await assertNotUtf8SetAside(storage, bad, 'FileStorage "app"', T0);
      } finally {
        await storage.close();
      }
    });

    it("puts recovered messages at the front of their priority, in their original order", async () => {
      const storage = new FileStorage({ path: freshDir() });
      try {
        for (const m of ["a", "b", "c"]) await storage.enqueue(m, 1);
        await storage.dequeue({ now: T0, leaseSeconds: 1 });
        await storage.dequeue({ now: T0, leaseSeconds: 1 });
        await storage.enqueue("d", 1);
        await storage.enqueue("top", 2.5);
        await storage.enqueue("bottom", -1.5);
        assert.deepEqual(await storage.recoverLeases(T0 + 1000), ["a", "b"]);
        assert.deepEqual(await storage.enqueuedItems(), ["top", "a", "b", "c", "d", "bottom"]);
      } finally {
        await storage.close();
      }
    });

    it("releases the lock after an operation fails", async () => {
      const storage = new FileStorage({ name: "app", path: freshDir() });
      const lock = join(storage.directory, "lock");
      try {
        await storage.enqueue("a", 0);
        // Replace the queue directory with a file: listing it fails.
        rmSync(join(storage.directory, "queue"), { recursive: true });
        writeFileSync(join(storage.directory, "queue"), "");
        await assert.rejects(
          () => storage.dequeue({ now: T0, leaseSeconds: 1 }),
          (err: unknown) => {
            assert.ok(err instanceof HueyError);
            assert.match(err.message, /^Cannot dequeue: .*: FileStorage "app" at /);
            return true;
          },
        );
        assert.equal(existsSync(lock), false);
        const start = performance.now();
        await storage.putData("k", "v");
        assert.ok(performance.now() - start < 1000, "the next operation does not wait");
        assert.equal(await storage.peekData("k"), "v");
      } finally {
        await storage.close();
      }
    });

    it("waits while another process holds the lock", async () => {
      const storage = new FileStorage({ path: freshDir() });
      const lock = join(storage.directory, "lock");
      try {
        writeFileSync(lock, "another process");
        let done = false;
        const enqueued = storage.enqueue("a", 0).then(() => (done = true));
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(done, false);
        rmSync(lock);
        await enqueued;
        assert.deepEqual(await storage.enqueuedItems(), ["a"]);
      } finally {
        await storage.close();
      }
    });

    it("takes over a lock left behind by a dead process", async () => {
      const storage = new FileStorage({ path: freshDir() });
      const lock = join(storage.directory, "lock");
      try {
        writeFileSync(lock, "dead process");
        const old = new Date(Date.now() - 60_000);
        utimesSync(lock, old, old);
        await storage.enqueue("a", 0);
        assert.deepEqual(await storage.enqueuedItems(), ["a"]);
        assert.equal(existsSync(lock), false);
      } finally {
        await storage.close();
      }
    });

    it("throws a HueyError naming the storage and the path when the directory cannot be made", () => {
      const file = join(root, "a-file");
      writeFileSync(file, "");
      assert.throws(
        () => new FileStorage({ name: "app", path: join(file, "sub") }),
        (err: unknown) => {
          assert.ok(err instanceof HueyError);
          assert.match(err.message, /^Cannot open FileStorage "app": /);
          assert.ok(err.message.endsWith(join(file, "sub", "app")), err.message);
          return true;
        },
      );
    });

    it("rejects with a HueyError naming the directory after close", async () => {
      const storage = new FileStorage({ name: "app", path: freshDir() });
      await storage.close();
      await assert.rejects(() => storage.queueSize(), (err: unknown) => {
        assert.ok(err instanceof HueyError);
        assert.equal(
          err.message,
          `Cannot count the queue: the storage is closed: FileStorage "app" at ${storage.directory}`,
        );
        return true;
      });
    });
  });
});
