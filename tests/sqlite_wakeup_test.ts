/**
 * A consumer process on a SQLite file wakes when another process enqueues,
 * however long it has slept: its polling delay is 60 s here, so only the
 * watch on the database's WAL (lib/storage/sqlite_watch.ts) can start the
 * task within the test's time; a blocked `get()` in the producer wakes the
 * same way when the consumer stores the result.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { consumer, freshApp, printed, stop, tempDir } from "./process_helpers.ts";
import type { Running } from "./process_helpers.ts";
import { OtherCommits } from "../lib/storage/sqlite_watch.ts";
import { SqliteStorage } from "../mod.ts";
import { join } from "node:path";

const dir = tempDir("huey-wakeup-");

describe("a SQLite consumer process asleep on a 60 s polling delay", { timeout: 120_000 }, () => {
  let running: Running | undefined;
  after(async () => {
    if (running) await stop(running);
  });

  it("starts a task another process enqueues within seconds, each time, and the producer's get() wakes", async () => {
    const { url, app } = await freshApp(dir);
    running = await consumer([url, "-w", "2", "-n", "-d", "60", "-m", "60"]);
    // The first empty poll puts both workers to sleep for 60 s.
    await printed(running, /Consumer started|started/);
    for (let round = 0; round < 3; round++) {
      // After each task a worker sleeps its initial delay again: 60 s.
      const result = await app.add(round, 1);
      assert.equal(await result.get({ blocking: true, timeout: 15 }), round + 1);
    }
    await app.huey.close();
  });
});

describe("OtherCommits", () => {
  it("wakes for another connection's commit, not for its own, and only while held", async () => {
    const filename = join(dir, "commits.db");
    const mine = new SqliteStorage({ filename, name: "a" });
    const other = new SqliteStorage({ filename, name: "a" });
    let version = 0;
    const woken: number[] = [];
    const commits = new OtherCommits(`${filename}-wal`, () => version, () => woken.push(version));
    assert.equal(commits.version(), 0);
    const seen = commits.version();
    version = 1;
    assert.equal(commits.changedSince(seen), true);
    // Real commits drive the watch: a foreign version move while held wakes once per move.
    const release = commits.hold();
    version = 2;
    await other.enqueue("x", 0);
    for (let i = 0; i < 100 && woken.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(woken, [2]);
    await mine.enqueue("y", 0); // no version move: nobody woken
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(woken, [2]);
    release();
    commits.close();
    version = 3;
    await other.enqueue("z", 0);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(woken, [2], "a closed watch wakes nobody");
    await mine.close();
    await other.close();
  });
});
