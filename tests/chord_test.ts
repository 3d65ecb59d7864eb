/**
 * Groups and chords (huey 3.3's `group` and `chord`), on memory, SQLite and
 * Redis: a producer and a worker on one storage with an injected clock, the
 * worker driven message by message, so each test says in which order the
 * members finish and what the callback then receives.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelExecution,
  chord,
  ChordResult,
  ConfigurationError,
  group,
  MemoryHuey,
  SIGNAL_COMPLETE,
  SIGNAL_ENQUEUED,
  SIGNAL_ERROR,
  SIGNAL_EXECUTING,
  TaskError,
} from "../mod.ts";
import type { Huey, SignalName, Storage, TaskContext, TaskErrorInfo } from "../mod.ts";
import { OWN_KEYS } from "../lib/keys.ts";
import { onEachStorage } from "./each_storage.ts";
import { drain, fakeClock, producerAndWorker, silent } from "./helpers.ts";
import type { FakeClock } from "./helpers.ts";

/** What the tasks of one test did, in the order they did it. */
type Journal = string[];

/** The tasks of these tests; `journal` records what ran (shared by producer and worker). */
function tasks(huey: Huey, journal: Journal) {
  return {
    add: huey.task("add", (a: number, b: number) => a + b),
    mul: huey.task("mul", (a: number, b: number) => a * b),
    incr: huey.task("incr", (n: number) => n + 1),
    total: huey.task("total", (ns: number[]) => {
      journal.push(`total ${JSON.stringify(ns)}`);
      return ns.reduce((a, b) => a + b, 0);
    }),
    /** A callback that keeps what it was given, to compare with what the members returned. */
    collect: huey.task("collect", (results: unknown[], tag = "") => {
      journal.push(`collect${tag}`);
      return results;
    }),
    fail: huey.task("fail", (why: string): number => {
      throw new RangeError(why);
    }),
    /** A callback that fails. */
    explode: huey.task("explode", (_results: unknown[], why: string) => {
      throw new Error(why);
    }),
    /** Fails while it has retries left, then succeeds. */
    flaky: huey.task("flaky", (ctx: TaskContext) => {
      if (ctx.retries > 0) throw new Error("not yet");
      return "ok after retries";
    }, { retries: 2, context: true }),
    short: huey.task("short", () => "ran", { expires: 5 }),
    skipped: huey.task("skipped", () => "ran"),
    onError: huey.task("onError", (info: TaskErrorInfo) => {
      journal.push(`onError ${info.taskName}: ${info.message}`);
      return info.taskName;
    }),
    none: huey.task("none", () => {}),
  };
}

type Tasks = ReturnType<typeof tasks>;

/** Leases of Redis run on the server's clock: a test that lets one run out must wait for real. */
const onRedis = (storage: Storage) => storage.constructor.name.includes("Redis");

await onEachStorage("group and chord", (open) => {
  const setup = (options: { leaseTimeout?: number } = {}) => {
    const clock = fakeClock();
    const storage = open();
    const journal: Journal = [];
    const { producer, worker, tasks: t } = producerAndWorker((h) => tasks(h, journal), {
      clock,
      storage,
      ...options,
    });
    return { clock, storage, journal, producer, worker, t };
  };

  /** Let every lease run out: on the fake clock, and on Redis's own clock too. */
  async function expireLeases(storage: Storage, clock: FakeClock, leaseTimeout: number) {
    clock.advance(leaseTimeout + 1);
    if (onRedis(storage)) await new Promise((r) => setTimeout(r, leaseTimeout * 1000 + 200));
    return await storage.recoverLeases(clock.now);
  }

  it("huey.enqueue(group) enqueues every member and returns a ResultGroup in declaration order", async () => {
    const { producer, worker, t } = setup();
    const results = await producer.enqueue(group([t.add.s(1, 2), t.mul.s(3, 4), t.incr.s(9)]));
    assert.equal(results.length, 3);
    assert.equal(await worker.storage.queueSize(), 3, "all members are in the queue at once");
    assert.deepEqual(await drain(worker), ["complete", "complete", "complete"]);
    assert.deepEqual(await results.get({ blocking: true, timeout: 5 }), [3, 12, 10]);
  });

  it("a group's members run in priority order where the storage orders by priority", async () => {
    const { producer, worker, storage, t } = setup();
    const results = await producer.enqueue(group([
      t.add.withOptions({ priority: 1 }).s(0, 1),
      t.add.withOptions({ priority: 9 }).s(0, 9),
      t.add.withOptions({ priority: 5 }).s(0, 5),
    ]));
    const order: number[] = [];
    for (let outcome; (outcome = await worker.executeNext());) {
      order.push(outcome.value as number);
    }
    assert.deepEqual(order, storage.priority ? [9, 5, 1] : [1, 9, 5]);
    assert.deepEqual(await results.get(), [1, 9, 5], "the ResultGroup keeps declaration order");
  });

  it("group.error(handler) runs the handler for each member that fails", async () => {
    const { producer, worker, journal, t } = setup();
    const results = await producer.enqueue(
      group([t.fail.s("first"), t.add.s(1, 1), t.fail.s("third")]).error(t.onError),
    );
    await drain(worker);
    assert.deepEqual(journal.sort(), ["onError fail: first", "onError fail: third"]);
    await assert.rejects(results.at(0)!.get(), TaskError);
    assert.equal(await results.at(1)!.get(), 2);
  });

  it("group.then(callback) makes a chord: the callback gets the results in declaration order, not completion order", async () => {
    const { producer, worker, clock, journal, t } = setup();
    const start = clock.now;
    const result = await producer.enqueue(
      group([t.incr.withOptions({ delay: 30 }).s(0), t.incr.s(10), t.incr.s(20)]).then(t.total),
    );
    assert.ok(result instanceof ChordResult);
    assert.deepEqual(await drain(worker), ["scheduled", "complete", "complete"]);
    assert.deepEqual(journal, [], "no callback while a member has not run");
    clock.now = start + 30_000;
    await worker.readSchedule();
    assert.deepEqual(
      await drain(worker),
      ["complete", "complete"],
      "the last member, then the callback",
    );
    assert.deepEqual(journal, ["total [1,11,21]"]);
    assert.equal(await result.get(), 33);
  });

  it("members may be pipelines (the tail's result counts) and chords (their callback's result)", async () => {
    const { producer, worker, t } = setup();
    const inner = chord([t.add.s(1, 1), t.add.s(2, 2)], t.total);
    const result = await producer.enqueue(
      chord([t.incr.s(0).then(t.incr).then(t.incr), inner, t.mul.s(2, 5)], t.collect),
    );
    await drain(worker);
    assert.deepEqual(await result.get(), [3, 6, 10]);
    assert.deepEqual(
      await result.results.get(),
      [3, 6, 10],
      "results: one handle per member (a pipeline's tail, an inner chord's callback)",
    );
  });

  it("a member that failed for good contributes its error; one that failed and then succeeded on retry, its success", async () => {
    const { producer, worker, t } = setup();
    const result = await producer.enqueue(
      chord([t.fail.s("down"), t.flaky.s(), t.add.s(1, 2)], t.collect),
    );
    assert.deepEqual(await drain(worker), [
      "error",
      "error",
      "complete",
      "error",
      "complete",
      "complete",
    ]);
    const [failed, retried, plain] = (await result.get()) as unknown[];
    assert.ok(failed instanceof TaskError, "a TaskError, as a Result's get() would throw");
    assert.equal(failed.remoteName, "RangeError");
    assert.equal(failed.remoteMessage, "down");
    assert.equal(failed.taskName, "fail");
    assert.equal(retried, "ok after retries");
    assert.equal(plain, 3);
  });

  it("a pipeline member that fails before its tail contributes that stage's error (huey 3.3)", async () => {
    const { producer, worker, journal, t } = setup();
    const result = await producer.enqueue(
      chord([t.fail.s("stage one").then(t.incr), t.add.s(1, 1)], t.collect),
    );
    await drain(worker);
    const [failed, two] = (await result.get()) as unknown[];
    assert.ok(failed instanceof TaskError);
    assert.equal(failed.taskName, "fail");
    assert.equal(two, 2);
    assert.deepEqual(journal, ["collect"], "the callback ran once");
  });

  it("a revoked, expired or pre-execute-cancelled member contributes undefined, and the chord completes", async () => {
    const { producer, worker, clock, t } = setup();
    worker.preExecute((task) => {
      if (task.name === "skipped") throw new CancelExecution();
    });
    const head = t.add.s(2, 2);
    const result = await producer.enqueue(
      chord([t.add.s(1, 1), head.then(t.incr), t.short.s(), t.skipped.s()], t.collect),
    );
    await result.results.at(0)!.revoke();
    await producer.revokeById(head.id); // a stage before the tail of a pipeline member
    clock.advance(10);
    assert.deepEqual(await drain(worker), [
      "revoked",
      "revoked",
      "expired",
      "canceled",
      "complete",
    ]);
    assert.deepEqual(await result.get(), [undefined, undefined, undefined, undefined]);
  });

  it("a member returning undefined contributes undefined without storeNone", async () => {
    const { producer, worker, t } = setup();
    const result = await producer.enqueue(chord([t.none.s(), t.add.s(2, 3)], t.collect));
    await drain(worker);
    assert.deepEqual(await result.get(), [undefined, 5]);
  });

  it("the callback's delay counts from when the last member finishes, not from when the chord was built", async () => {
    const { producer, worker, clock, t } = setup();
    const built = chord([t.add.s(1, 2)], t.total.withOptions({ delay: 10 }));
    clock.advance(100);
    const result = await producer.enqueue(built);
    clock.advance(100);
    await drain(worker);
    const [scheduled] = await producer.scheduled();
    assert.equal(scheduled.id, result.callback.id);
    assert.equal(scheduled.eta?.getTime(), clock.now + 10_000);
    assert.deepEqual(await worker.readSchedule(clock.now + 9_999), []);
    clock.advance(10);
    await worker.readSchedule();
    await drain(worker);
    assert.equal(await result.get(), 3);
  });

  it("ChordResult: get() is the callback's value; results, callback and pipelineResults are handles; reset() forgets", async () => {
    const { producer, worker, t } = setup();
    const result = await producer.enqueue(
      chord([t.incr.s(0), t.incr.s(1), t.incr.s(2)], t.total).then(t.incr).then(t.mul, 10),
    );
    await drain(worker);
    assert.equal(await result.get({ preserve: true }), 6);
    assert.equal(await result.callback.get({ preserve: true }), 6);
    assert.deepEqual(await result.results.get({ preserve: true }), [1, 2, 3]);
    assert.deepEqual(await result.pipelineResults?.get({ preserve: true }), [6, 7, 70]);
    result.reset();
    assert.equal(await result.get(), 6, "read again from the store after reset()");
    const plain = await producer.enqueue(chord([t.incr.s(0)], t.total));
    assert.equal(plain.pipelineResults, undefined, "no pipeline after the callback");
  });

  it("chord.error(handler) handles the callback's failure, not the members'", async () => {
    const { producer, worker, journal, t } = setup();
    const result = await producer.enqueue(
      chord([t.fail.s("member")], t.explode, "callback").error(t.onError),
    );
    await drain(worker);
    assert.deepEqual(journal, ["onError explode: callback"]);
    await assert.rejects(result.get(), TaskError);
  });

  it("a member run twice (delivered again after it counted) is counted once: the callback waits for the others", async () => {
    const { producer, worker, journal, t } = setup();
    const result = await producer.enqueue(chord([t.add.s(1, 1), t.add.s(2, 2)], t.collect));
    const first = await worker.executor.dequeue();
    assert.equal((await worker.executor.executeDelivery(first!)).status, "complete");
    // Its consumer died before acknowledging: the message runs again.
    assert.equal((await worker.executor.executeMessage(first!.data)).status, "complete");
    assert.deepEqual(journal, [], "two runs of one member do not complete a chord of two");
    const { id } = worker.decodeTask(first!.data).chord!;
    assert.equal(await worker.storage.incr(OWN_KEYS.chordCount(id), 0), 1, "counted once");
    await worker.storage.ack(first!.receipt);
    await drain(worker);
    assert.deepEqual(journal, ["collect"]);
    assert.deepEqual(await result.get(), [2, 4]);
  });

  it("a stale finisher (its lease ran out and the member ran again) counts nothing: the callback fires once", async () => {
    const leaseTimeout = 0.5;
    const { producer, worker, storage, clock, journal, t } = setup({ leaseTimeout });
    const result = await producer.enqueue(chord([t.add.s(1, 1), t.add.s(2, 2)], t.collect));
    const stale = await worker.executor.dequeue();
    assert.equal((await expireLeases(storage, clock, leaseTimeout)).length, 1);
    const rerun = await worker.executor.dequeue();
    assert.equal(rerun?.data, stale?.data);
    await worker.executor.executeDelivery(rerun!);
    await storage.ack(rerun!.receipt);
    const late = await worker.executor.executeDelivery(stale!);
    assert.equal(late.acknowledged, false, "the stale run's outcome is dropped");
    await drain(worker);
    assert.deepEqual(journal, ["collect"]);
    assert.deepEqual(await result.get(), [2, 4]);
    assert.equal(await storage.queueSize(), 0);
  });

  it("fires each callback exactly once when two workers finish the last members at the same moment (50 chords)", async () => {
    const { producer, worker, storage, journal, t } = setup();
    const other = producerAndWorker((h) => tasks(h, journal), { storage }).worker;
    const chords = [];
    for (let i = 0; i < 50; i++) {
      chords.push(
        await producer.enqueue(chord([t.add.s(i, 0), t.add.s(i, 1)], t.collect, `:${i}`)),
      );
    }
    // Two workers take the two members of each chord and finish them together.
    for (;;) {
      const outcomes = await Promise.all([worker.executeNext(), other.executeNext()]);
      if (outcomes.every((o) => o === undefined)) break;
    }
    assert.equal(journal.length, 50);
    assert.equal(new Set(journal).size, 50, "each callback once");
    for (const [i, c] of chords.entries()) assert.deepEqual(await c.get(), [i, i + 1]);
  });

  it("sends each member's signals, then the callback's: enqueued, executing, complete (huey 3.3's chord order)", async () => {
    const { producer, worker, t } = setup();
    const seen: string[] = [];
    const record = (by: string) => (signal: SignalName, task: { name: string }) => {
      seen.push(`${by} ${signal} ${task.name}`);
    };
    producer.signal(record("producer"));
    worker.signal(record("worker"));
    await producer.enqueue(chord([t.add.s(1, 2), t.fail.s("x")], t.collect));
    await drain(worker);
    assert.deepEqual(seen, [
      `producer ${SIGNAL_ENQUEUED} add`,
      `producer ${SIGNAL_ENQUEUED} fail`,
      `worker ${SIGNAL_EXECUTING} add`,
      `worker ${SIGNAL_COMPLETE} add`,
      `worker ${SIGNAL_EXECUTING} fail`,
      `worker ${SIGNAL_ERROR} fail`,
      `worker ${SIGNAL_ENQUEUED} collect`,
      `worker ${SIGNAL_EXECUTING} collect`,
      `worker ${SIGNAL_COMPLETE} collect`,
    ]);
  });

  it("keeps no bookkeeping once the callback is enqueued", async () => {
    const { producer, worker, storage, t } = setup();
    const before = await storage.resultStoreSize();
    const result = await producer.enqueue(chord([t.add.s(1, 1), t.add.s(2, 2)], t.total));
    await drain(worker);
    assert.equal(await result.get(), 6);
    await result.results.get();
    assert.equal(await storage.resultStoreSize(), before, "slots and markers are removed");
  });
});

describe("group and chord in immediate mode", () => {
  const immediate = () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const journal: Journal = [];
    return { huey, journal, t: tasks(huey, journal) };
  };

  it("runs a group", async () => {
    const { huey, t } = immediate();
    const results = await huey.enqueue(group([t.add.s(1, 2), t.mul.s(3, 4)]));
    assert.deepEqual(await results.get(), [3, 12]);
  });

  it("runs a chord, a chord of pipelines and nested chords", async () => {
    const { huey, t } = immediate();
    assert.equal(
      await (await huey.enqueue(chord([t.add.s(1, 2), t.mul.s(3, 4)], t.total))).get(),
      15,
    );
    const pipelines = await huey.enqueue(
      chord([0, 1, 2].map((i) => t.incr.s(i).then(t.incr).then(t.incr)), t.total),
    );
    assert.equal(await pipelines.get(), 12);
    const nested = await huey.enqueue(
      chord(
        [chord([t.add.s(1, 1), t.add.s(2, 2)], t.total), chord([t.incr.s(9)], t.total)],
        t.collect,
      ),
    );
    assert.deepEqual(await nested.get(), [6, 10]);
  });

  it("runs the callback of a chord without members at once, with no results", async () => {
    const { huey, t } = immediate();
    assert.deepEqual(await (await huey.enqueue(chord([], t.collect))).get(), []);
  });
});

describe("bad input to group and chord", () => {
  const { t } = (() => {
    const huey = new MemoryHuey({ logger: silent });
    return { t: tasks(huey, []) };
  })();

  it("refuses a chord callback that is not a task, naming the members and the value", () => {
    for (const callback of ["total", 42, null, () => 1, group([t.incr.s(1)])]) {
      assert.throws(
        () => chord([t.add.s(1, 2)], callback as never),
        (err: unknown) =>
          err instanceof ConfigurationError &&
          /^Cannot make a chord of add: its callback must be a task/.test(err.message),
      );
    }
    assert.throws(() => group([t.add.s(1, 2)]).then("total" as never), ConfigurationError);
  });

  it("refuses a group as a chord member, as huey does", () => {
    assert.throws(
      () => chord([t.add.s(1, 2), group([t.incr.s(1)]) as never], t.total),
      (err: unknown) =>
        err instanceof ConfigurationError &&
        /member 1 is a group \(incr\), and a group cannot be a chord member/.test(err.message),
    );
  });

  it("refuses members that are not tasks, and one invocation twice", () => {
    assert.throws(() => chord([t.add.s(1, 2), "x" as never], t.total), /member 1 .*: "x"/);
    assert.throws(() => chord("x" as never, t.total as never), ConfigurationError);
    assert.throws(
      () => group([t.add, t.add.s(1, 2)] as never),
      /member 0 must be an invocation .*the task wrapper add/,
    );
    const once = t.add.s(1, 2);
    assert.throws(() => chord([once, once], t.total), /the same invocation twice/);
  });
});

describe("huey 3.3's guide and API examples for group and chord, translated", () => {
  const setup = () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const log: string[] = [];
    const pages: Record<string, string> = { "https://a.com": "<a/>", "https://b.com": "<b/>" };
    const fetch = huey.task("fetch", (url: string): [string, string] => [url, pages[url]]);
    return { huey, log, fetch, urls: Object.keys(pages) };
  };

  it("group: parallel execution, different types of tasks, error handlers on every member", async () => {
    const { huey, log, fetch, urls } = setup();
    const resultGroup = await huey.enqueue(group(urls.map((url) => fetch.s(url))));
    assert.deepEqual(await resultGroup.get({ blocking: true }), [["https://a.com", "<a/>"], [
      "https://b.com",
      "<b/>",
    ]]);

    const checkCache = huey.task("check_cache", () => true);
    const checkDb = huey.task("check_db", () => {
      try {
        throw new Error("database is down");
      } catch {
        log.push("database health-check failed");
        return false;
      }
    });
    const [cacheOk, dbOk] = await (await huey.enqueue(group([checkCache.s(), checkDb.s()])))
      .get({ blocking: true });
    assert.deepEqual([cacheOk, dbOk], [true, false]);

    const onFetchError = huey.task("on_fetch_error", (exc: TaskErrorInfo) => {
      log.push(`Fetch failed: ${exc.message}`);
    });
    const broken = huey.task("broken_fetch", (url: string) => {
      throw new Error(`no route to ${url}`);
    });
    await huey.enqueue(group(urls.map((u) => broken.s(u))).error(onFetchError));
    assert.deepEqual(log.slice(1), [
      "Fetch failed: no route to https://a.com",
      "Fetch failed: no route to https://b.com",
    ]);
  });

  it("chord: map / reduce, and a ChordResult's handles", async () => {
    const { huey, log, fetch, urls } = setup();
    const indexPages = huey.task("index_pages", (results: [string, string][]) => {
      for (const [url, html] of results) log.push(`index ${url} ${html}`);
      return results.length;
    });
    const result = await huey.enqueue(chord(urls.map((url) => fetch.s(url)), indexPages));
    assert.equal(`Indexed ${await result.get({ blocking: true })} pages`, "Indexed 2 pages");

    const sendReport = huey.task("send_report", (pages: number) => `report: ${pages}`);
    const withReport = await huey.enqueue(
      chord(urls.map((u) => fetch.s(u)), indexPages).then(sendReport),
    );
    assert.equal(await withReport.get(), 2); // index_pages (the chord callback)
    assert.equal(withReport.results.length, 2); // fetch(...) results
    assert.equal(withReport.callback.task.name, "index_pages");
    assert.deepEqual(await withReport.pipelineResults?.get(), [2, "report: 2"]);
  });

  it("composing groups and chords: group.then(total) is chord(..., total); then() and error() go after the callback", async () => {
    const { huey, log } = setup();
    const incr = huey.task("incr", (n: number) => n + 1);
    const total = huey.task("total", (ns: number[]) => ns.reduce((a, b) => a + b, 0));
    const range = (n: number) => [...Array(n).keys()];
    const viaGroup = await huey.enqueue(group(range(10).map((i) => incr.s(i))).then(total));
    const viaChord = await huey.enqueue(chord(range(10).map((i) => incr.s(i)), total));
    assert.equal(await viaGroup.get(), 55);
    assert.equal(await viaChord.get(), 55);

    const alertAdmin = huey.task("alert_admin", (info: TaskErrorInfo) => log.push(info.message));
    const result = await huey.enqueue(
      group(range(3).map((i) => incr.s(i))).then(total).then(incr).error(alertAdmin),
    );
    assert.equal(await result.get({ blocking: true }), 6); // 1 + 2 + 3
    assert.deepEqual(await result.pipelineResults?.get({ blocking: true }), [6, 7]);
    assert.deepEqual(log, []);
  });

  it("pipelines inside chords, and chords inside chords", async () => {
    const { huey, log } = setup();
    const incr = huey.task("incr", (n: number) => n + 1);
    const total = huey.task("total", (ns: number[]) => ns.reduce((a, b) => a + b, 0));
    const result = await huey.enqueue(
      chord([0, 1, 2].map((i) => incr.s(i).then(incr).then(incr)), total),
    );
    assert.equal(await result.get(), 12);

    const json: Record<string, Record<string, number>> = {
      us1: { ny: 1 },
      us2: { sf: 2 },
      eu1: { paris: 3 },
      eu2: { berlin: 4 },
    };
    const fetch = huey.task("fetch_json", (url: string) => json[url]);
    const merge = huey.task("merge", (results: Record<string, number>[]) => {
      const combined: Record<string, number> = {};
      for (const r of results) Object.assign(combined, r);
      return combined;
    });
    const publish = huey.task("publish", (merged: Record<string, number>[]) => {
      log.push(JSON.stringify(merged));
    });
    const inner1 = chord(["us1", "us2"].map((u) => fetch.s(u)), merge);
    const inner2 = chord(["eu1", "eu2"].map((u) => fetch.s(u)), merge);
    await huey.enqueue(chord([inner1, inner2], publish));
    assert.deepEqual(log, ['[{"ny":1,"sf":2},{"paris":3,"berlin":4}]']);
  });

  it("error handling in chords: errors in the results, retries first, sentinels, member and callback handlers", async () => {
    const huey = new MemoryHuey({ immediate: true, logger: silent });
    const log: string[] = [];
    const urls = ["ok", "bad", "ok2"];
    const fetch = huey.task("fetch", (url: string) => {
      if (url === "bad") throw new Error(`cannot fetch ${url}`);
      return { url };
    });
    const aggregate = huey.task("aggregate", (results: unknown[]) => {
      if (results.some((r) => r instanceof Error)) log.push("One of the sub-tasks failed.");
      return results.filter((r) => !(r instanceof Error)).length;
    });
    assert.equal(
      await (await huey.enqueue(chord(urls.map((u) => fetch.s(u)), aggregate))).get(),
      2,
    );
    assert.deepEqual(log.splice(0), ["One of the sub-tasks failed."]);

    let attempts = 0;
    const flakyFetch = huey.task("flaky_fetch", (url: string) => {
      if (++attempts < 3) throw new Error("flaky");
      return { url };
    }, { retries: 3 });
    const retried = await huey.enqueue(chord([flakyFetch.s("x")], aggregate));
    assert.equal(
      await retried.get(),
      1,
      "the chord sees the retry's success, not the errors before it",
    );
    assert.deepEqual(log.splice(0), []);

    const safeFetch = huey.task("safe_fetch", (url: string) => {
      try {
        if (url === "bad") throw new Error("down");
        return { url };
      } catch {
        return null;
      }
    });
    const validOnly = huey.task(
      "valid_only",
      (results: unknown[]) => results.filter((r) => r !== null).length,
    );
    assert.equal(
      await (await huey.enqueue(chord(urls.map((u) => safeFetch.s(u)), validOnly))).get(),
      2,
    );

    const onFetchError = huey.task("on_fetch_error", (exc: TaskErrorInfo) => {
      log.push(`Fetch failed: ${exc.message}`);
    });
    await huey.enqueue(chord(urls.map((u) => fetch.s(u).error(onFetchError)), aggregate));
    await huey.enqueue(group(urls.map((u) => fetch.s(u))).error(onFetchError).then(aggregate));
    assert.deepEqual(log.splice(0), [
      "Fetch failed: cannot fetch bad",
      "One of the sub-tasks failed.",
      "Fetch failed: cannot fetch bad",
      "One of the sub-tasks failed.",
    ]);

    const alertAdmin = huey.task(
      "alert_admin",
      (info: TaskErrorInfo) => log.push(`alert ${info.taskName}`),
    );
    const broken = huey.task("broken_aggregate", (_results: unknown[]) => {
      throw new Error("boom");
    });
    await huey.enqueue(chord(urls.map((u) => fetch.s(u)), broken).error(alertAdmin));
    assert.deepEqual(
      log.splice(0),
      ["alert broken_aggregate"],
      "runs for the callback, not a member",
    );
  });

  it("a revoked member contributes undefined; undefined results arrive without storeNone; dynamic fan-out from a task", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const t = tasks(huey, []);
    const result = await huey.enqueue(chord([t.add.s(1, 1), t.none.s()], t.collect));
    await result.results.at(0)!.revoke();
    await drain(huey);
    assert.deepEqual(await result.get(), [undefined, undefined]);

    const fanOut = huey.task("discover_and_fetch", async (n: number) => {
      const r = await huey.enqueue(chord([...Array(n).keys()].map((i) => t.incr.s(i)), t.total));
      return r.callback.id; // the callback's id, for tracking
    });
    const tracking = await fanOut(3);
    await drain(huey);
    assert.equal(await huey.result(await tracking.get() ?? ""), 6);
  });
});
