import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ConfigurationError,
  crontab,
  Huey,
  MemoryHuey,
  MemoryStorage,
  ResultTimeout,
  SerializationError,
  TaskError,
} from "../mod.ts";
import { drain, fakeClock, producerAndWorker, silent } from "./helpers.ts";

describe("enqueue and execute", () => {
  it("enqueues a call as a message that another Huey on the same storage runs", async () => {
    const { producer, worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const r = await add(1, 2);
    assert.equal(await producer.storage.queueSize(), 1);
    const [pending] = await producer.pending();
    assert.equal(pending.id, r.id);
    assert.equal(pending.name, "add");
    assert.deepEqual(pending.args, [1, 2]);
    assert.equal(await r.get(), undefined, "not run yet");
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "complete");
    assert.equal(outcome?.value, 3);
    assert.equal(await r.get(), 3);
    assert.equal(await worker.executeNext(), undefined, "queue is empty");
    assert.equal(await producer.storage.leasedSize(), 0, "message acknowledged");
  });

  it("passes Dates, Maps, BigInts and undefined to the task unchanged", async () => {
    const { worker, tasks: echo } = producerAndWorker((h) =>
      h.task("echo", (value: unknown) => value)
    );
    const value = {
      when: new Date("2026-11-23T10:00:00Z"),
      counts: new Map([["a", 1n]]),
      tags: new Set(["x"]),
      missing: undefined,
      nan: NaN,
    };
    const r = await echo(value);
    await worker.executeNext();
    assert.deepEqual(await r.get(), value);
  });

  it("map() enqueues one task per argument list in one call", async () => {
    const { producer, worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const params = Array.from({ length: 10 }, (_, i) => [i, i ** 2] as [number, number]);
    const group = await add.map(params);
    assert.equal(group.length, 10);
    assert.equal(await producer.storage.queueSize(), 10);
    await drain(worker);
    assert.deepEqual(await group.get({ blocking: true }), [0, 2, 6, 12, 20, 30, 42, 56, 72, 90]);
  });

  it("callLocal calls the plain function", () => {
    const huey = new MemoryHuey({ logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b);
    assert.equal(add.callLocal(3, 4), 7);
    assert.throws(() => huey.task("boom", () => JSON.parse("{")).callLocal(), SyntaxError);
  });

  it("a Task built with s() runs through huey.enqueue like a call", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const r = await huey.enqueue(add.s(1, 2));
    assert.equal(await r.get(), 3);
  });
});

describe("declaring tasks", () => {
  it("rejects a duplicate name with ConfigurationError", () => {
    const huey = new MemoryHuey();
    huey.task("add", (a: number) => a);
    assert.throws(() => huey.task("add", (a: number) => a), ConfigurationError);
  });

  it("rejects invalid options naming the task and the option", () => {
    const huey = new MemoryHuey();
    assert.throws(
      () => huey.task("t1", () => 1, { retries: -1 }),
      (err: unknown) =>
        err instanceof ConfigurationError && /task t1 retries/.test(err.message) &&
        /-1/.test(err.message),
    );
    assert.throws(() => huey.task("t2", () => 1, { retryDelay: NaN }), ConfigurationError);
    assert.throws(() => huey.task("t3", () => 1, { timeout: -1 }), ConfigurationError);
    assert.throws(() => huey.task("", () => 1), ConfigurationError);
    assert.throws(
      () => huey.task("t4", "not a function" as unknown as () => void),
      ConfigurationError,
    );
  });

  it("rejects bad schedule() arguments with ConfigurationError and TypeError", async () => {
    const huey = new MemoryHuey();
    const add = huey.task("add", (a: number, b: number) => a + b);
    await assert.rejects(
      async () => await add.schedule([1, 2], { delay: -5 }),
      ConfigurationError,
    );
    await assert.rejects(
      async () => await add.schedule([1, 2], { eta: "tomorrow" as unknown as Date }),
      TypeError,
    );
    await assert.rejects(
      async () => await add.schedule(1 as unknown as [number, number]),
      TypeError,
    );
    assert.equal(await huey.storage.queueSize(), 0);
  });
});

describe("serialization at enqueue time", () => {
  it("rejects a function argument with SerializationError naming task and position", async () => {
    const huey = new MemoryHuey();
    const log = huey.task("log", (_level: string, _value: unknown) => {});
    await assert.rejects(
      () => log("info", { callback: () => 1 }),
      (err: unknown) => {
        assert.ok(err instanceof SerializationError);
        assert.equal(err.taskName, "log");
        assert.equal(err.argumentIndex, 1);
        assert.match(err.message, /log.*argument 1/);
        assert.match(err.path ?? "", /callback/);
        return true;
      },
    );
    assert.equal(await huey.storage.queueSize(), 0, "nothing was enqueued");
  });

  it("rejects cycles and class instances, in immediate mode as well", async () => {
    const huey = new MemoryHuey({ immediate: true });
    let ran = false;
    const take = huey.task("take", (_v: unknown) => {
      ran = true;
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(() => take(cyclic), SerializationError);
    class Point {
      x = 1;
    }
    await assert.rejects(() => take(new Point()), /Point/);
    assert.equal(ran, false);
  });

  it("names the pipeline task whose argument cannot be serialized", async () => {
    const huey = new MemoryHuey();
    const add = huey.task("add", (a: number, b: number) => a + b);
    const show = huey.task("show", (_a: number, _b: unknown) => {});
    await assert.rejects(
      () => huey.enqueue(add.s(1, 2).then(show, Symbol("x"))),
      (err: unknown) =>
        err instanceof SerializationError && err.taskName === "show" && err.argumentIndex === 0,
    );
  });

  it("stores a result that cannot be serialized as a TaskError", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const bad = huey.task("bad", () => () => "a function");
    const r = await bad();
    await assert.rejects(
      () => r.get(),
      (err: unknown) => err instanceof TaskError && err.remoteName === "SerializationError",
    );
  });
});

describe("results", () => {
  it("get() returns undefined until ready, then the value; it is read once by default", async () => {
    const { producer, worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const r = await add(2, 3);
    assert.equal(await r.get(), undefined);
    await worker.executeNext();
    assert.equal(await r.get(), 5);
    assert.equal(await r.get(), 5, "the handle keeps the value");
    assert.equal(await producer.result(r.id), undefined, "the store no longer has it");
  });

  it("preserve leaves the value in the store; reset() re-reads it", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const r = await add(1, 1);
    assert.equal(await r.get({ preserve: true }), 2);
    assert.equal(await huey.storage.resultStoreSize(), 1);
    r.reset();
    assert.equal(await r.get(), 2);
    assert.equal(await huey.storage.resultStoreSize(), 0);
    r.reset();
    assert.equal(await r.get(), undefined);
  });

  it("a blocking get() wakes as soon as the worker stores the result", async () => {
    const { worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const r = await add(20, 22);
    const start = performance.now();
    setTimeout(() => worker.executeNext(), 30);
    assert.equal(await r.get({ blocking: true, timeout: 5 }), 42);
    assert.ok(performance.now() - start < 2000);
  });

  it("a blocking get() rejects with ResultTimeout, and can revoke on timeout", async () => {
    const { producer, worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const r = await add(1, 2);
    await assert.rejects(
      () => r.get({ blocking: true, timeout: 0.05 }),
      (err: unknown) => err instanceof ResultTimeout && err.taskId === r.id,
    );
    assert.equal(await r.isRevoked(), false);
    await assert.rejects(
      () => r.get({ blocking: true, timeout: 0.05, revokeOnTimeout: true }),
      ResultTimeout,
    );
    assert.equal(await r.isRevoked(), true);
    assert.equal((await worker.executeNext())?.status, "revoked");
    assert.equal(await producer.result(r.id), undefined);
  });

  it("isReady() says whether the result is there without reading it out", async () => {
    const { worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const r = await add(1, 2);
    assert.equal(await r.isReady(), false);
    await worker.executeNext();
    assert.equal(await r.isReady(), true);
    assert.equal(await r.isReady(), true, "still there: isReady reads nothing out");
    assert.equal(await r.get(), 3);
    assert.equal(await r.isReady(), true, "this handle has it");
    r.reset();
    assert.equal(await r.isReady(), false, "read once: the store no longer has it");
  });

  it("a blocking get() woken for a value another reader took throws ResultTimeout instead of waiting for ever", async () => {
    const { producer, worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    const r = await add(1, 2);
    const waiting = r.get({ blocking: true });
    // Another reader takes the value the moment it is stored.
    const thief = producer.result(r.id, { blocking: true });
    await worker.executeNext();
    const outcomes = await Promise.allSettled([waiting, thief]);
    const fulfilled = outcomes.filter((o) => o.status === "fulfilled");
    assert.equal(fulfilled.length, 1, "exactly one reader gets the value");
    const rejected = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    assert.ok(rejected.reason instanceof ResultTimeout);
    assert.match(rejected.reason.message, /another reader took it first/);
  });

  it("stores an error and rethrows it as TaskError with the remote name, message and stack", async () => {
    const { worker, tasks: add } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number | null) => {
        if (b === null) throw new TypeError("unsupported operand: null");
        return a + b;
      })
    );
    const r = await add(3, null);
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "error");
    await assert.rejects(() => r.get(), (err: unknown) => {
      assert.ok(err instanceof TaskError);
      assert.equal(err.remoteName, "TypeError");
      assert.equal(err.remoteMessage, "unsupported operand: null");
      assert.match(err.remoteStack ?? "", /unsupported operand/);
      assert.equal(err.taskName, "add");
      assert.equal(err.taskId, r.id);
      assert.equal(err.retries, 0);
      return true;
    });
  });

  it("does not store undefined results unless storeNone", async () => {
    const quiet = new MemoryHuey({ immediate: true });
    const nothing = quiet.task("nothing", () => {});
    const r = await nothing();
    assert.equal(await quiet.storage.resultStoreSize(), 0);
    await assert.rejects(
      () => r.get({ blocking: true, timeout: 0.02 }),
      /not ready after 0.02s: if the task returns undefined, it stores nothing unless the Huey has storeNone: true/,
    );

    const storing = new MemoryHuey({ immediate: true, storeNone: true });
    const nothing2 = storing.task("nothing", () => {});
    const r2 = await nothing2();
    assert.equal(await storing.storage.resultStoreSize(), 1);
    assert.equal(await r2.get({ blocking: true, timeout: 1 }), undefined);
  });

  it("with results: false nothing is stored and get() says results are disabled", async () => {
    const huey = new MemoryHuey({ immediate: true, results: false });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const r = await add(1, 2);
    assert.equal(await huey.storage.resultStoreSize(), 0);
    await assert.rejects(() => r.get(), /results are disabled/);
  });

  it("huey.put / huey.get work as a key/value store, get pops unless peek", async () => {
    const huey = new MemoryHuey();
    assert.equal(await huey.get("calculate-something.result", { peek: true }), undefined);
    await huey.put("calculate-something.result", { total: 10, seen: new Set([1]) });
    assert.deepEqual(await huey.get("calculate-something.result", { peek: true }), {
      total: 10,
      seen: new Set([1]),
    });
    assert.deepEqual(await huey.get("calculate-something.result"), {
      total: 10,
      seen: new Set([1]),
    });
    assert.equal(await huey.get("calculate-something.result"), undefined);
    assert.equal(await huey.putIfEmpty("k", 1), true);
    assert.equal(await huey.putIfEmpty("k", 2), false);
    assert.equal(await huey.delete("k"), true);
  });

  it("allResults lists every stored key with its value", async () => {
    const huey = new MemoryHuey({ immediate: true });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const r = await add(1, 2);
    await huey.put("cache", "x");
    const all = await huey.allResults();
    assert.deepEqual(all.get("cache"), "x");
    assert.deepEqual(all.get(r.id), { value: 3 });
  });
});

describe("scheduling", () => {
  it("schedule({ delay }) stores the task in the schedule until it is due", async () => {
    const clock = fakeClock();
    const { producer, worker, tasks: add } = producerAndWorker(
      (h) => h.task("add", (a: number, b: number) => a + b),
      { clock },
    );
    const r = await add.schedule([3, 4], { delay: 10 });
    assert.equal(await producer.storage.queueSize(), 0);
    const [scheduled] = await producer.scheduled();
    assert.equal(scheduled.id, r.id);
    assert.equal(scheduled.eta?.getTime(), clock.now + 10_000);
    assert.deepEqual(await worker.readSchedule(clock.now + 9_999), []);
    clock.advance(10);
    const moved = await worker.readSchedule();
    assert.deepEqual(moved.map((t) => t.id), [r.id]);
    assert.equal((await worker.executeNext())?.status, "complete");
    assert.equal(await r.get(), 7);
  });

  it("schedule({ eta }) runs at an absolute time", async () => {
    const clock = fakeClock();
    const { worker, tasks: add } = producerAndWorker(
      (h) => h.task("add", (a: number, b: number) => a + b),
      { clock },
    );
    const eta = new Date(clock.now + 10_000);
    const r = await add.schedule([4, 5], { eta });
    clock.advance(10);
    await worker.readSchedule();
    await drain(worker);
    assert.equal(await r.get(), 9);
  });

  it("a worker that receives an early task puts it in the schedule", async () => {
    const clock = fakeClock();
    const { producer, worker, tasks: add } = producerAndWorker(
      (h) => h.task("add", (a: number, b: number) => a + b),
      { clock },
    );
    const task = add.s(1, 1);
    task.eta = new Date(clock.now + 5000);
    await producer.storage.enqueue(producer.encodeTask(task), 0);
    assert.equal((await worker.executeNext())?.status, "scheduled");
    assert.equal(await producer.storage.scheduleSize(), 1);
  });

  it("reschedule() revokes the original and enqueues a copy", async () => {
    const clock = fakeClock();
    const { producer, worker, tasks: add } = producerAndWorker(
      (h) => h.task("add", (a: number, b: number) => a + b),
      { clock },
    );
    const r = await add.schedule([1, 2], { delay: 60 });
    const again = await r.reschedule({ delay: 5 });
    assert.notEqual(again.id, r.id);
    assert.equal(await r.isRevoked(), true);
    assert.equal(await producer.storage.scheduleSize(), 2);
    clock.advance(60);
    await worker.readSchedule();
    const statuses = await drain(worker);
    assert.deepEqual(statuses.sort(), ["complete", "revoked"]);
    assert.equal(await again.get(), 3);
  });
});

describe("priority", () => {
  it("runs higher priorities first, as in the guide's send_email example", async () => {
    const ran: string[] = [];
    const { producer, worker, tasks } = producerAndWorker((h) => ({
      processPayment: h.task("process_payment", () => void ran.push("process_payment"), {
        priority: 50,
      }),
      checkSpam: h.task("check_spam", () => void ran.push("check_spam"), { priority: 1 }),
      makeThumbnail: h.task("make_thumbnail", () => void ran.push("make_thumbnail")),
      sendEmail: h.task("send_email", (to: string) => void ran.push(`send_email:${to}`), {
        priority: 10,
      }),
    }));
    await tasks.makeThumbnail();
    await tasks.checkSpam();
    await tasks.processPayment();
    await tasks.sendEmail("new_user");
    await tasks.sendEmail.schedule(["boss"], { priority: 90 });
    assert.deepEqual((await producer.pending()).map((t) => t.priority), [90, 50, 10, 1, 0]);
    ran.length = 0;
    await drain(worker);
    assert.deepEqual(ran, [
      "send_email:boss",
      "process_payment",
      "send_email:new_user",
      "check_spam",
      "make_thumbnail",
    ]);
  });
});

describe("expiration", () => {
  it("skips a task not started within `expires` seconds of enqueueing", async () => {
    const clock = fakeClock();
    const { worker, tasks } = producerAndWorker(
      (h) => ({
        timely: h.task("timely", () => "ran", { expires: 60 }),
        plain: h.task("plain", () => "ran"),
      }),
      { clock },
    );
    const late = await tasks.timely();
    const override = await tasks.plain.schedule([], { expires: 5 });
    clock.advance(61);
    const ontime = await tasks.timely();
    assert.deepEqual(await drain(worker), ["expired", "expired", "complete"]);
    assert.equal(await late.get(), undefined);
    assert.equal(await override.get(), undefined);
    assert.equal(await ontime.get(), "ran");
  });

  it("accepts an absolute Date", async () => {
    const clock = fakeClock();
    const { worker, tasks: job } = producerAndWorker((h) => h.task("job", () => 1), { clock });
    await job.schedule([], { expires: new Date(clock.now + 1000) });
    clock.advance(2);
    assert.deepEqual(await drain(worker), ["expired"]);
  });

  it("counts a scheduled task's relative expiry from when it is moved to the queue", async () => {
    const clock = fakeClock();
    const { worker, tasks: report } = producerAndWorker(
      (h) => h.task("report", () => "done"),
      { clock },
    );
    const r = await report.schedule([], { delay: 3600, expires: 60 });
    clock.advance(3600);
    await worker.readSchedule();
    clock.advance(30);
    assert.deepEqual(await drain(worker), ["complete"]);
    assert.equal(await r.get(), "done");
  });
});

describe("error store", () => {
  it("keeps a message naming an unknown task and reports UnknownTaskError", async () => {
    const producer = new MemoryHuey({ logger: silent });
    const resize = producer.task("resize", (w: number) => w);
    await resize(100);
    const worker = new Huey({ storage: producer.storage, logger: silent });
    worker.task("other", () => 1);
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "invalid");
    assert.equal((outcome?.error as Error).name, "UnknownTaskError");
    const [kept] = await worker.storage.errorItems();
    assert.match(kept.reason, /UnknownTaskError.*resize/);
    assert.equal(worker.decodeTask(kept.data).name, "resize");
    assert.equal(await worker.storage.leasedSize(), 0);
  });

  it("keeps a corrupt message instead of dropping it", async () => {
    const storage = new MemoryStorage();
    const worker = new Huey({ storage, logger: silent });
    await storage.enqueue("{not json", 0);
    await storage.enqueue('{"v":1,"id":"x"}', 0);
    assert.deepEqual(await drain(worker), ["invalid", "invalid"]);
    const kept = await storage.errorItems();
    assert.deepEqual(kept.map((k) => k.data), ["{not json", '{"v":1,"id":"x"}']);
    assert.match(kept[0].reason, /SerializationError/);
  });

  it("rejects messages signed with another key", async () => {
    const storage = new MemoryStorage();
    const producer = new Huey({ storage, signingKey: "producer-key", logger: silent });
    const worker = new Huey({ storage, signingKey: "other-key", logger: silent });
    producer.task("add", (a: number, b: number) => a + b);
    worker.task("add", (a: number, b: number) => a + b);
    await producer.enqueue(producer.task("noop", () => {}).s());
    assert.deepEqual(await drain(worker), ["invalid"]);
    assert.match((await storage.errorItems())[0].reason, /signature/);
  });
});

describe("periodic tasks", () => {
  it("readPeriodic returns the periodic tasks whose crontab matches the minute", () => {
    const huey = new MemoryHuey();
    huey.periodicTask("every3", crontab({ minute: "*/3" }), () => {});
    huey.periodicTask("nine", crontab({ minute: "0", hour: "9" }), () => {});
    huey.task("plain", () => {});
    const at = (iso: string) => huey.readPeriodic(new Date(iso)).map((t) => t.name);
    assert.deepEqual(at("2026-11-23T09:00:00Z"), ["every3", "nine"]);
    assert.deepEqual(at("2026-11-23T09:03:00Z"), ["every3"]);
    assert.deepEqual(at("2026-11-23T09:04:00Z"), []);
    const [task] = huey.readPeriodic(new Date("2026-11-23T09:03:00Z"));
    assert.equal(task.periodic, true);
    assert.deepEqual(task.args, []);
  });

  it("reads crontabs in local time when the Huey is not in UTC", () => {
    const huey = new MemoryHuey({ utc: false });
    huey.periodicTask("local9", crontab({ minute: "0", hour: "9" }), () => {});
    assert.deepEqual(huey.readPeriodic(new Date(2026, 10, 23, 9, 0)).map((t) => t.name), [
      "local9",
    ]);
  });

  it("discards a periodic task's return value but callLocal returns it", async () => {
    const database: boolean[] = [];
    const huey = new MemoryHuey({ immediate: true });
    const runReports = huey.periodicTask("run_reports", crontab({}), () => {
      database.push(true);
      return 42;
    });
    assert.equal(runReports.callLocal(), 42);
    assert.equal(database.length, 1);
    const r = await runReports();
    assert.equal(database.length, 2);
    assert.equal(await r.get(), undefined);
    assert.equal(await huey.storage.resultStoreSize(), 0);
  });

  it("rejects a schedule that is not a function", () => {
    const huey = new MemoryHuey();
    assert.throws(
      () => huey.periodicTask("bad", "*/5" as unknown as () => boolean, () => {}),
      ConfigurationError,
    );
  });
});

describe("task ids", () => {
  it("are UUID version 7: unique, and ordered by creation time across milliseconds", async () => {
    const { newTaskId } = await import("../lib/task.ts");
    const huey = new MemoryHuey();
    const add = huey.task("add", (a: number, b: number) => a + b);
    const r = await add(1, 2);
    assert.match(r.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const ids = Array.from({ length: 1000 }, (_, i) => newTaskId(1_700_000_000_000 + i));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids, "later milliseconds sort later");
    assert.equal(newTaskId(0).slice(0, 13), "00000000-0000");
    assert.equal(newTaskId(2 ** 48 - 1).slice(0, 13), "ffffffff-ffff");
  });
});
