/**
 * Text that comes from a message (task names, reasons) is shown cut short
 * in messages, log lines and the error store's reason; the message itself
 * is kept whole.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger, Huey, MemoryHuey, Task, UnknownTaskError } from "../mod.ts";
import { describeError } from "../lib/_util.ts";
import { consumer, fast, freshApp, printed, stop, tempDir } from "./process_helpers.ts";

const MB = 1_000_000;

describe("long names and reasons", () => {
  it("UnknownTaskError names the task in at most 200 characters, and says how many more", () => {
    const name = "n".repeat(MB);
    const error = new UnknownTaskError(name, ["add"], "file:///app.ts");
    assert.ok(error.message.length < 400, `${error.message.length} characters`);
    assert.match(error.message, new RegExp(`"n{200}… \\(${MB - 200} more\\)"?: not registered`));
    assert.equal(error.taskName, name, "the field keeps it whole");
  });

  it("a task shows its name cut to 200 characters", () => {
    const task = new Task({
      id: "t1",
      name: "n".repeat(MB),
      args: [],
      retries: 0,
      retryDelay: 0,
      priority: 0,
    });
    assert.ok(String(task).length < 300);
    assert.match(String(task), /^n{200}… \(999800 more\): t1$/);
  });

  it("an error is described in at most a few KB", () => {
    const text = describeError(new Error("x".repeat(MB)));
    assert.ok(text.length <= 4096 + 20, `${text.length}`);
    assert.match(text, /^Error: x+… \(\d+ more\)$/);
  });

  it("the executor logs and stores a short reason for a message naming an unknown task", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "debug", write: (line) => lines.push(line) });
    const huey = new MemoryHuey({ logger });
    const producer = new Huey({ storage: huey.storage, logger });
    const name = "n".repeat(MB);
    await producer.enqueue(producer.task(name, () => 1).s());
    const [data] = await huey.storage.enqueuedItems();
    assert.equal((await huey.executeNext())?.status, "invalid");
    const [kept] = await huey.storage.errorItems();
    assert.equal(kept.data, data, "the message is kept whole");
    assert.ok(kept.reason.length < 1000, `reason of ${kept.reason.length} characters`);
    assert.ok(
      lines.every((line) => line.length < 1000),
      `longest line: ${Math.max(...lines.map((l) => l.length))}`,
    );
  });
});

describe("consumer process and a 1 MB task name", { timeout: 120_000 }, () => {
  const dir = tempDir("huey-truncate-");

  it("logs a short line, stores a short reason, keeps the message whole and carries on", async () => {
    const { url, app } = await freshApp(dir);
    const running = await consumer([url, "-n", ...fast]); // -n: no periodic "tick" in the queue
    try {
      const name = "n".repeat(MB);
      await app.huey.enqueue(app.huey.task(name, () => 1).s());
      const [data] = await app.huey.storage.enqueuedItems();
      const r = await app.add(1, 1);
      assert.equal(await r.get({ blocking: true, timeout: 10 }), 2);
      await printed(running, /UnknownTaskError/);
      const [kept] = await app.huey.storage.errorItems();
      assert.equal(kept.data, data, "the message is kept whole");
      assert.equal(app.huey.decodeTask(kept.data).name, name);
      assert.match(
        kept.reason,
        /^UnknownTaskError: Cannot run task "n{200}… \(999800 more\)": not registered/,
      );
      assert.ok(kept.reason.length < 1000, `reason of ${kept.reason.length} characters`);
    } finally {
      assert.equal(await stop(running), 0, running.output());
      await app.huey.close();
    }
    const longest = Math.max(...running.output().split("\n").map((line) => line.length));
    assert.ok(longest < 1000, `longest log line: ${longest} characters`);
  });
});
