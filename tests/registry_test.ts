/**
 * The registry and what is declared on it: unregistering a task,
 * the periodic tasks with their schedules, context tasks (a resource
 * entered and exited around every run), and tasks that are not declared
 * on the Huey that enqueues them.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crontab, Huey, MemoryHuey, MemoryStorage, Task, UnknownTaskError } from "../mod.ts";
import { drain, producerAndWorker, silent } from "./helpers.ts";

describe("wrapper.unregister()", () => {
  it("is true, then false; the name can be declared again", () => {
    const huey = new MemoryHuey({ logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b);
    assert.equal(add.unregister(), true);
    assert.equal(add.unregister(), false);
    assert.deepEqual(huey.taskNames(), []);
    const again = huey.task("add", (a: number, b: number) => a * b);
    assert.equal(add.unregister(), false, "the old wrapper does not remove the new declaration");
    assert.deepEqual(huey.taskNames(), ["add"]);
    assert.equal(again.callLocal(2, 3), 6);
  });

  it("a consumer no longer runs it, and enqueuing it through its wrapper throws UnknownTaskError", async () => {
    const { worker, workerTasks, tasks: add, storage } = producerAndWorker((h) =>
      h.task("add", (a: number, b: number) => a + b)
    );
    await add(1, 2);
    assert.equal(workerTasks.unregister(), true);
    assert.deepEqual(await drain(worker), ["invalid"]);
    const [kept] = await storage.errorItems();
    assert.match(kept.reason, /^UnknownTaskError: Cannot run task "add": not registered/);
    assert.equal(add.unregister(), true);
    await assert.rejects(() => add(1, 2), UnknownTaskError);
    await assert.rejects(() => add.schedule([1, 2], { delay: 5 }), UnknownTaskError);
    await assert.rejects(() => add.map([[1, 2]]), UnknownTaskError);
    assert.equal(await storage.queueSize(), 0);
    assert.equal(await storage.scheduleSize(), 0);
  });

  it("takes a periodic task off the schedule", () => {
    const huey = new MemoryHuey({ logger: silent });
    const tick = huey.periodicTask("tick", crontab({ minute: "*" }), () => {});
    const minute = new Date(Date.UTC(2026, 0, 1, 12, 0));
    assert.deepEqual(huey.readPeriodic(minute).map((t) => t.name), ["tick"]);
    assert.equal(tick.unregister(), true);
    assert.deepEqual(huey.readPeriodic(minute), []);
    assert.deepEqual(huey.periodicTasks(), []);
  });
});

describe("huey.periodicTasks()", () => {
  it("lists the periodic task wrappers in declaration order, with schedules that tell the next run", () => {
    const huey = new MemoryHuey({ logger: silent });
    const every3 = crontab({ minute: "*/3" });
    const daily = crontab.daily();
    const report = huey.periodicTask("report", every3, () => "report");
    huey.task("add", (a: number, b: number) => a + b);
    const backup = huey.periodicTask("backup", daily, () => "backup");
    const custom = huey.periodicTask("custom", (date) => date.getUTCMinutes() === 30, () => 1);
    const periodic = huey.periodicTasks();
    assert.deepEqual(periodic.map((w) => w.name), ["report", "backup", "custom"]);
    assert.equal(periodic[0], report);
    assert.equal(periodic[1], backup);
    assert.equal(periodic[2], custom);
    assert.equal(periodic[0].validateDatetime, every3);
    const after = new Date(Date.UTC(2026, 0, 1, 12, 1, 30));
    const next = periodic.map((w) =>
      w.validateDatetime.nextRun?.(after).toISOString() ?? "unknown"
    );
    assert.deepEqual(next, ["2026-01-01T12:03:00.000Z", "2026-01-02T00:00:00.000Z", "unknown"]);
  });
});

describe("huey.contextTask()", () => {
  /** A resource made for each run, that notes when it is made (entered) and disposed (exited). */
  function tracked() {
    const events: string[] = [];
    let opened = 0;
    const connect = async () => {
      const n = ++opened;
      events.push(`enter ${n}`);
      return {
        n,
        async [Symbol.asyncDispose]() {
          events.push(`exit ${n}`);
        },
      };
    };
    return { events, connect };
  }

  it("enters the resource before every run and exits it after, even when the task throws", async () => {
    const { events, connect } = tracked();
    const { worker, tasks: half } = producerAndWorker((h) =>
      h.contextTask("half", connect, (n: number) => {
        events.push(`run ${n}`);
        if (n % 2) throw new RangeError(`${n} is odd`);
        return n / 2;
      }, { retries: 1 })
    );
    const even = await half(4);
    const odd = await half(3);
    assert.deepEqual(await drain(worker), ["complete", "error", "error"]);
    assert.equal(await even.get(), 2);
    await assert.rejects(() => odd.get(), /3 is odd/);
    assert.deepEqual(events, [
      ...["enter 1", "run 4", "exit 1"],
      ...["enter 2", "run 3", "exit 2"],
      ...["enter 3", "run 3", "exit 3"],
    ]);
  });

  it("with asArgument passes the entered value first; the wrapper takes the other arguments", async () => {
    const { events, connect } = tracked();
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const query = huey.contextTask(
      "query",
      connect,
      (db: { n: number }, sql: string) => `${sql} on connection ${db.n}`,
      { asArgument: true },
    );
    assert.equal(await (await query("SELECT 1")).get(), "SELECT 1 on connection 1");
    assert.equal(await query.callLocal("SELECT 2"), "SELECT 2 on connection 2");
    assert.deepEqual(events, ["enter 1", "exit 1", "enter 2", "exit 2"]);
  });

  it("takes huey's context-manager shape too: enter() and exit(error)", async () => {
    const calls: string[] = [];
    const pool = {
      enter: () => {
        calls.push("enter");
        return "conn";
      },
      exit: (error: unknown) => void calls.push(`exit ${(error as Error | undefined)?.message}`),
    };
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const run = huey.contextTask("run", pool, (fail: boolean) => {
      if (fail) throw new Error("boom");
      return "ok";
    });
    assert.equal(await (await run(false)).get(), "ok");
    await assert.rejects(async () => (await run(true)).get(), /boom/);
    assert.deepEqual(calls, ["enter", "exit undefined", "enter", "exit boom"]);
  });

  it("fails the run when entering or exiting fails, and keeps the task's own error when both fail", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    let exits = 0;
    const noEntry = huey.contextTask("noEntry", {
      enter: () => {
        throw new Error("cannot connect");
      },
      exit: () => void exits++,
    }, () => "never");
    await assert.rejects(async () => (await noEntry()).get(), /cannot connect/);
    assert.equal(exits, 0, "nothing was entered, so nothing is exited");

    const badExit = { enter: () => 1, exit: () => Promise.reject(new Error("cannot close")) };
    const ok = huey.contextTask("ok", badExit, () => "done");
    await assert.rejects(async () => (await ok()).get(), /cannot close/);
    const fails = huey.contextTask("fails", badExit, () => {
      throw new TypeError("task failed");
    });
    await assert.rejects(
      async () => (await fails()).get(),
      (err: Error & { remoteName: string }) => {
        assert.equal(err.remoteName, "AggregateError");
        assert.match(err.message, /task failed.*cannot close/);
        return true;
      },
    );
  });

  it("refuses a resource that is neither a function nor { enter, exit } at declaration", () => {
    const huey = new MemoryHuey({ logger: silent });
    for (const bad of [null, 42, { enter: () => 1 }, {}]) {
      assert.throws(
        () => huey.contextTask("t", bad as never, () => 1),
        /^ConfigurationError: Cannot declare context task t: the resource must be a function that returns it, or an object with enter\(\) and exit\(\)/,
      );
    }
    assert.deepEqual(huey.taskNames(), []);
  });
});

describe("enqueuing a task this Huey does not declare", () => {
  it("throws UnknownTaskError for a Task from another Huey's wrapper or made by hand, and enqueues nothing", async () => {
    const storage = new MemoryStorage();
    const huey = new Huey({ name: "app", storage, logger: silent });
    const other = new Huey({ name: "app", storage, logger: silent });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const mul = other.task("mul", (a: number, b: number) => a * b);
    const fields = { id: "t1", name: "nope", args: [], retries: 0, retryDelay: 0, priority: 0 };
    const refused = [
      () => huey.enqueue(mul.s(1, 2)),
      () => huey.enqueue(new Task(fields)),
      () => huey.enqueue(add.s(1, 2).then(mul, 3)),
      () => huey.enqueue(add.s(1, 2).error(mul.s(1, 2))),
    ];
    for (const enqueue of refused) {
      await assert.rejects(enqueue, (err: unknown) => {
        assert.ok(err instanceof UnknownTaskError);
        assert.match(err.message, /^Cannot enqueue task "(mul|nope)": not registered on this Huey/);
        assert.deepEqual(err.registered, ["add"]);
        return true;
      });
    }
    assert.equal(await storage.queueSize(), 0);
    assert.equal(await (await huey.enqueue(add.s(1, 2))).task.name, "add");
  });
});
