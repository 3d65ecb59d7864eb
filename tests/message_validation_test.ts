/**
 * Every field of a task message is checked when it is decoded (and when it
 * is written): a bad value is rejected with the field and the value named,
 * the consumer keeps the message in the error store and carries on.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigurationError, MemoryHuey, SerializationError, Serializer, Task } from "../mod.ts";
import { consumer, fast, freshApp, stop, tempDir } from "./process_helpers.ts";
import { silent } from "./helpers.ts";

const serializer = new Serializer();

/** A message string: a valid `add(1, 2)` with `changes` applied (undefined removes a field). */
function message(changes: Record<string, unknown> = {}): string {
  const fields: Record<string, unknown> = {
    v: 1,
    id: "t1",
    name: "add",
    args: [1, 2],
    retries: 0,
    retryDelay: 0,
    priority: 0,
    ...changes,
  };
  for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
  return serializer.encode(fields);
}

function decodeError(huey: MemoryHuey, data: string): SerializationError {
  try {
    huey.decodeTask(data);
  } catch (error) {
    assert.ok(error instanceof SerializationError, String(error));
    return error;
  }
  assert.fail(`decoded: ${data}`);
}

const BAD: [string, unknown, RegExp][] = [
  ["id", "", /id must be a task id/],
  ["id", 5, /id must be a task id .*: 5/],
  ["id", "x".repeat(201), /id must be a task id \(1 to 200 characters/],
  ["id", "%lock:db", /id must be a task id .*: "%lock:db"/],
  ["name", "", /name must be a non-empty string: ""/],
  ["name", 7, /name must be a non-empty string: 7/],
  ["args", "1, 2", /args must be an array: "1, 2"/],
  ["args", undefined, /args must be an array: undefined/],
  ["retries", 1e308, /retries must be an integer from 0 to 1000000: 1e\+308/],
  ["retries", -1, /retries must be an integer from 0 to 1000000: -1/],
  ["retries", 1.5, /retries must be an integer from 0 to 1000000: 1\.5/],
  ["retries", "3", /retries must be an integer from 0 to 1000000: "3"/],
  ["retryDelay", -1, /retryDelay must be a number of seconds from 0 to 10000000000: -1/],
  ["retryDelay", Infinity, /retryDelay must be a number of seconds .*: Infinity/],
  ["retryBackoff", 0.5, /retryBackoff must be a number from 1 to 1000 .*: 0\.5/],
  ["retryBackoff", 1e6, /retryBackoff must be a number from 1 to 1000 .*: 1000000/],
  ["retryJitter", -0.5, /retryJitter must be a fraction from 0 to 1: -0\.5/],
  ["retryJitter", 2, /retryJitter must be a fraction from 0 to 1: 2/],
  ["retryMaxDelay", -1, /retryMaxDelay must be a number of seconds from 0 to 10000000000: -1/],
  [
    "priority",
    1e16,
    /priority must be a number from -1000000000000000 to 1000000000000000: 10000000000000000/,
  ],
  ["priority", NaN, /priority must be a number .*: NaN/],
  ["eta", new Date(NaN), /eta must be a valid Date: Invalid Date/],
  ["eta", "2026-11-23T10:00:00Z", /eta must be a valid Date: "2026-11-23T10:00:00Z"/],
  ["timeout", -1, /timeout must be a number of seconds from 0 \(none\) to 2147483: -1/],
  ["timeout", 1e300, /timeout must be a number of seconds .*: 1e\+300/],
  ["expires", -5, /expires must be a number of seconds from 0 to 10000000000 or a valid Date: -5/],
  ["expires", new Date(NaN), /expires must be .* or a valid Date: Invalid Date/],
  ["expiresAt", 60, /expiresAt must be a valid Date: 60/],
  ["periodic", "yes", /periodic must be a boolean: "yes"/],
];

describe("task message fields", () => {
  const huey = new MemoryHuey({ logger: silent });

  for (const [field, value, why] of BAD) {
    it(`rejects ${field} = ${typeof value === "string" ? JSON.stringify(value.slice(0, 20)) : String(value)}`, () => {
      const error = decodeError(huey, message({ [field]: value }));
      assert.match(error.message, /^Cannot decode task message: /);
      assert.match(error.message, why);
      assert.ok(error.message.length < 300, "the value is shown truncated");
    });
  }

  it("accepts the boundaries", () => {
    const task = huey.decodeTask(message({
      retries: 1_000_000,
      retryDelay: 1e10,
      retryBackoff: 1000,
      retryJitter: 1,
      retryMaxDelay: 0,
      priority: -1e15,
      timeout: 2_147_483,
      expires: 0,
      eta: new Date(8.64e15),
      expiresAt: new Date(0),
      periodic: true,
      id: "A-z_0.9~:@+=",
    }));
    assert.equal(task.retries, 1_000_000);
  });

  it("checks the nested tasks of a pipeline the same way, naming where", () => {
    const error = decodeError(
      huey,
      message({ onComplete: { ...JSON.parse(message()), retries: 1e308 } }),
    );
    assert.match(error.message, /at \$\.onComplete: retries must be an integer/);
    assert.equal(error.path, "$.onComplete");
    const onError = decodeError(
      huey,
      message({ onError: { ...JSON.parse(message()), onComplete: { v: 1, id: "t3" } } }),
    );
    assert.match(onError.message, /at \$\.onError\.onComplete: name must be a non-empty string/);
  });

  it("rejects pipelines nested deeper than 1000 tasks, when decoding and when enqueuing", async () => {
    let nested: Record<string, unknown> = JSON.parse(message());
    for (let i = 0; i < 1001; i++) {
      nested = { ...JSON.parse(message({ id: `t${i}` })), onComplete: nested };
    }
    const error = decodeError(huey, serializer.encode(nested));
    assert.equal(
      error.message,
      "Cannot decode task message: pipeline nested deeper than 1000 tasks",
    );

    const add = huey.task("add", (a: number, b: number) => a + b);
    const long = add.s(1, 2);
    for (let i = 0; i < 1001; i++) long.then(add, 1);
    await assert.rejects(
      () => huey.enqueue(long),
      (error: Error) =>
        error instanceof SerializationError &&
        error.message === "Cannot enqueue task add: pipeline nested deeper than 1000 tasks",
    );
  });

  it("refuses to enqueue a hand-made task with a bad field, naming the task", async () => {
    const task = new Task({
      id: "t1",
      name: "add",
      args: [],
      retries: 1e308,
      retryDelay: 0,
      priority: 0,
    });
    await assert.rejects(
      () => huey.enqueue(task),
      (error: Error) =>
        error instanceof SerializationError && (error as SerializationError).taskName === "add" &&
        /^Cannot enqueue task add: retries must be an integer from 0 to 1000000: 1e\+308$/.test(
          error.message,
        ),
    );
    assert.equal(await huey.storage.queueSize(), 0);
  });
});

describe("per-call and declared options", () => {
  const huey = new MemoryHuey({ logger: silent });
  const add = huey.task("add", (a: number, b: number) => a + b);

  it("rejects out-of-range retries, priority and seconds at schedule()", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ retries: 1e308 }, /retries: expected an integer from 0 to 1000000: 1e\+308/],
      [
        { priority: 1e16 },
        /priority: expected a number from -1000000000000000 to 1000000000000000: 10{16}/,
      ],
      [{ delay: 1e300 }, /delay: expected a number of seconds from 0 to 10000000000: 1e\+300/],
      [{ retryDelay: 1e300 }, /retryDelay: expected a number of seconds from 0 to 10000000000/],
      [{ expires: 1e300 }, /expires: expected a number of seconds from 0 to 10000000000/],
    ];
    for (const [options, why] of cases) {
      assert.throws(
        () => add.schedule([1, 2], options),
        (error: Error) =>
          error instanceof ConfigurationError &&
          /^Cannot use schedule of add /.test(error.message) &&
          why.test(error.message),
        JSON.stringify(options),
      );
    }
  });

  it("rejects a timeout that a timer cannot wait for at declaration", () => {
    assert.throws(
      () => huey.task("long", () => 1, { timeout: 30 * 86400 }),
      /task long timeout: expected a number of seconds from 0 \(none\) to 2147483: 2592000/,
    );
  });
});

describe("the executor and a message with a bad field", () => {
  it("keeps it in the error store with the reason, acks it, and runs the next one", async () => {
    const huey = new MemoryHuey({ logger: silent });
    huey.task("add", (a: number, b: number) => a + b);
    await huey.storage.enqueue(message({ retries: 1e308 }), 0);
    await huey.storage.enqueue(message({ id: "t2" }), 0);
    assert.equal((await huey.executeNext())?.status, "invalid");
    assert.equal((await huey.executeNext())?.status, "complete");
    const [kept] = await huey.storage.errorItems();
    assert.match(
      kept.reason,
      /^SerializationError: Cannot decode task message: retries must be an integer/,
    );
    assert.equal(kept.data, message({ retries: 1e308 }));
    assert.equal(await huey.storage.leasedSize(), 0);
    assert.equal(await huey.result("t2"), 3);
  });
});

describe("consumer process and messages with bad fields", { timeout: 120_000 }, () => {
  const dir = tempDir("huey-fields-");

  it("sets aside an Invalid Date eta and retries: 1e308, and runs the good message", async () => {
    const { url, app } = await freshApp(dir);
    const badEta = message({ id: "bad-eta", eta: new Date(NaN) });
    const badRetries = message({ id: "bad-retries", name: "flaky", args: [], retries: 1e308 });
    await app.huey.storage.enqueue(badEta, 0);
    await app.huey.storage.enqueue(badRetries, 0);
    const running = await consumer([url, "-n", ...fast]); // -n: no periodic "tick" in the queue
    try {
      const r = await app.add(2, 3);
      assert.equal(await r.get({ blocking: true, timeout: 20 }), 5, running.output());
      const kept = await app.huey.storage.errorItems();
      assert.deepEqual(kept.map((item) => item.data).sort(), [badEta, badRetries].sort());
      const reasons = kept.map((item) => item.reason).join("\n");
      assert.match(reasons, /eta must be a valid Date: Invalid Date/);
      assert.match(reasons, /retries must be an integer from 0 to 1000000: 1e\+308/);
      assert.equal(await app.huey.storage.leasedSize(), 0, "both acknowledged");
      assert.equal(await app.huey.storage.queueSize(), 0);
    } finally {
      assert.equal(await stop(running), 0, running.output());
      await app.huey.close();
    }
  });
});
