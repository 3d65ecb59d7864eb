/**
 * Retry backoff (huey 3.3's `retry_backoff`) and what this port adds to it
 * (`retryJitter`, `retryMaxDelay`): the wait before each retry, on memory,
 * SQLite and Redis, with an injected clock: the etas are read from the
 * storage's schedule, and each attempt runs when `readSchedule(now)` says it
 * is due.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigurationError, crontab, MemoryHuey, RetryTask, Serializer } from "../mod.ts";
import type { Huey, TaskOptions } from "../mod.ts";
import { onEachStorage } from "./each_storage.ts";
import { fakeClock, producerAndWorker, silent } from "./helpers.ts";
import type { FakeClock } from "./helpers.ts";

/**
 * Run the first attempt of what the producer enqueued, then every retry as
 * soon as it is due (moving the clock to its eta); returns the seconds from
 * the first attempt to each later one. Each retry must not be due a
 * millisecond earlier.
 */
async function attemptTimes(worker: Huey, clock: FakeClock): Promise<number[]> {
  const start = clock.now;
  const times = [0];
  await worker.executeNext();
  for (;;) {
    const [next] = await worker.scheduled();
    if (!next) return times;
    const due = next.eta!.getTime();
    assert.deepEqual(await worker.readSchedule(due - 1), [], "not due before its eta");
    clock.now = due;
    assert.equal((await worker.readSchedule()).length, 1);
    await worker.executeNext();
    times.push((due - start) / 1000);
  }
}

/** Declares a task `fails` that always throws, with `options`. */
const failing = (options: TaskOptions & { context?: false }) => (huey: Huey) =>
  huey.task("fails", () => {
    throw new Error("service down");
  }, options);

/** The retry-backoff behaviour every storage must show; `open()` gives a fresh storage. */
await onEachStorage("retry backoff", (open) => {
  const setup = <T>(declare: (huey: Huey) => T) => {
    const clock = fakeClock();
    const storage = open();
    return { clock, ...producerAndWorker(declare, { clock, storage }) };
  };

  it("retryDelay 2, retryBackoff 2, retries 3: waits 2, 4, 8 s", async () => {
    const { clock, worker, tasks: fails } = setup(
      failing({ retries: 3, retryDelay: 2, retryBackoff: 2 }),
    );
    await fails();
    assert.deepEqual(await attemptTimes(worker, clock), [0, 2, 6, 14]);
  });

  it("the grown delay travels with the task: the schedule shows the next attempt's wait", async () => {
    const { worker, producer, tasks: fails } = setup(
      failing({ retries: 3, retryDelay: 2, retryBackoff: 2 }),
    );
    const r = await fails();
    await worker.executeNext();
    const [scheduled] = await producer.scheduled();
    assert.equal(scheduled.id, r.id);
    assert.equal(scheduled.retryBackoff, 2);
    assert.equal(scheduled.retryDelay, 4, "the wait after this retry, as huey reports it");
    assert.equal(scheduled.retries, 2);
  });

  it("per call: schedule() options win over the task's", async () => {
    const { clock, worker, tasks: fails } = setup(failing({ retries: 1, retryDelay: 5 }));
    await fails.schedule([], { retries: 3, retryDelay: 1, retryBackoff: 3 });
    assert.deepEqual(await attemptTimes(worker, clock), [0, 1, 4, 13]);
  });

  it("is kept by reschedule()", async () => {
    const { clock, worker, producer, tasks: fails } = setup(
      failing({ retries: 2, retryDelay: 1 }),
    );
    const r = await fails.schedule([], { retryBackoff: 4, retryMaxDelay: 100 });
    const moved = await r.reschedule({ delay: 0 });
    assert.notEqual(moved.id, r.id);
    const pending = (await producer.pending()).find((t) => t.id === moved.id);
    assert.equal(pending?.retryBackoff, 4);
    assert.equal(pending?.retryMaxDelay, 100);
    assert.equal((await worker.executeNext())?.status, "revoked", "the original");
    assert.deepEqual(await attemptTimes(worker, clock), [0, 1, 5]);
  });

  it("retryMaxDelay caps every wait", async () => {
    const { clock, worker, tasks: fails } = setup(
      failing({ retries: 4, retryDelay: 2, retryBackoff: 10, retryMaxDelay: 30 }),
    );
    await fails();
    const times = await attemptTimes(worker, clock);
    const waits = times.slice(1).map((t, i) => t - times[i]);
    assert.deepEqual(waits, [2, 20, 30, 30]);
  });

  it("retryJitter shortens each wait by up to its fraction, at random", async () => {
    const { clock, worker, producer, tasks: fails } = setup(
      failing({ retries: 1, retryDelay: 10, retryJitter: 0.5 }),
    );
    const group = await fails.map(Array.from({ length: 40 }, () => []));
    const failedAt = clock.now;
    for (let i = 0; i < 40; i++) await worker.executeNext();
    const waits = (await producer.scheduled()).map((t) => (t.eta!.getTime() - failedAt) / 1000);
    assert.equal(waits.length, [...group].length);
    for (const wait of waits) assert.ok(wait >= 5 && wait <= 10, `wait ${wait} s`);
    assert.ok(new Set(waits).size > 10, `spread out: ${waits.join(", ")}`);
    const [task] = await producer.scheduled();
    assert.equal(task.retryDelay, 10, "the jitter does not change the nominal delay");
  });

  it("jitter and cap together: the cap holds, the spread stays below it", async () => {
    const { clock, worker, producer, tasks: fails } = setup(
      failing({ retries: 1, retryDelay: 100, retryMaxDelay: 20, retryJitter: 1 }),
    );
    await fails.map(Array.from({ length: 20 }, () => []));
    const failedAt = clock.now;
    for (let i = 0; i < 20; i++) await worker.executeNext();
    for (const task of await producer.scheduled()) {
      const wait = (task.eta!.getTime() - failedAt) / 1000;
      assert.ok(wait >= 0 && wait <= 20, `wait ${wait} s`);
    }
  });
});

describe("retry backoff semantics (huey 3.3)", () => {
  it("the guide's example: retries=3, retry_delay=10, retry_backoff=2 waits 10, 20, 40 s", async () => {
    const clock = fakeClock();
    const { worker, tasks: callExternalService } = producerAndWorker(
      (huey) =>
        huey.task("call_external_service", () => {
          throw new Error("unavailable");
        }, { retries: 3, retryDelay: 10, retryBackoff: 2 }),
      { clock },
    );
    await callExternalService();
    assert.deepEqual(await attemptTimes(worker, clock), [0, 10, 30, 70]);
  });

  it("the recipe's example: retries=5, retry_delay=2, retry_backoff=2 from 12:00:00", async () => {
    const clock = fakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
    const { worker, tasks: callExternalApi } = producerAndWorker(
      (huey) =>
        huey.task("call_external_api", (_endpoint: string, _payload: unknown) => {
          throw new Error("HTTP 503");
        }, { retries: 5, retryDelay: 2, retryBackoff: 2 }),
      { clock },
    );
    await callExternalApi("https://api.example.com", { a: 1 });
    const times = await attemptTimes(worker, clock);
    const at = times.map((t) => new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + t * 1000));
    assert.deepEqual(at.map((d) => d.toISOString().slice(11, 19)), [
      "12:00:00",
      "12:00:02",
      "12:00:06",
      "12:00:14",
      "12:00:30",
      "12:01:02",
    ]);
  });

  it("an explicit RetryTask delay wins and does not advance the backoff; a bare RetryTask follows it", async () => {
    const clock = fakeClock();
    let calls = 0;
    const { worker, tasks: fetchIt } = producerAndWorker((huey) =>
      huey.task("fetch", () => {
        calls++;
        if (calls === 2) throw new RetryTask({ delay: 100 });
        if (calls === 3) throw new RetryTask();
        throw new Error("down");
      }, { retries: 3, retryDelay: 1, retryBackoff: 2 }), { clock });
    await fetchIt();
    const times = await attemptTimes(worker, clock);
    const waits = times.slice(1).map((t, i) => t - times[i]);
    // 1 (then 2 is next), RetryTask 100 (still 2), bare RetryTask 2 (then 4), 4 (then 8), 8.
    assert.deepEqual(waits, [1, 100, 2, 4, 8]);
  });

  it("a periodic task takes retryBackoff too", () => {
    const huey = new MemoryHuey({ logger: silent });
    huey.periodicTask("report", crontab({ minute: "*" }), () => {}, {
      retries: 2,
      retryDelay: 5,
      retryBackoff: 3,
    });
    const [task] = huey.executor.readPeriodic(new Date(), true);
    assert.equal(task.retryBackoff, 3);
  });

  it("a delay that grows past the longest allowed stays at it: the retry is still written", async () => {
    const clock = fakeClock();
    const { worker, producer, tasks: fails } = producerAndWorker(
      failing({ retries: 3, retryDelay: 1e9, retryBackoff: 1000 }),
      { clock },
    );
    await fails();
    await worker.executeNext();
    clock.now += 1e12;
    await worker.readSchedule();
    await worker.executeNext();
    const [scheduled] = await producer.scheduled();
    assert.equal(scheduled.retryDelay, 1e10, "capped at TASK_LIMITS.seconds");
    assert.equal(scheduled.eta!.getTime(), clock.now + 1e13);
  });

  it("refuses a bad retryBackoff, retryJitter or retryMaxDelay at declaration and at call time, naming the task and the value", async () => {
    const huey = new MemoryHuey({ logger: silent });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ retryBackoff: 0.5 }, /retryBackoff: expected a number from 1 to 1000 .*: 0\.5$/],
      [{ retryBackoff: 0 }, /retryBackoff: expected a number from 1 to 1000 .*: 0$/],
      [{ retryBackoff: NaN }, /retryBackoff: .*: NaN$/],
      [{ retryJitter: -0.1 }, /retryJitter: expected a fraction from 0 to 1: -0\.1$/],
      [{ retryJitter: 1.5 }, /retryJitter: expected a fraction from 0 to 1: 1\.5$/],
      [{ retryMaxDelay: -1 }, /retryMaxDelay: expected a number of seconds from 0 to .*: -1$/],
    ];
    let n = 0;
    for (const [options, why] of cases) {
      const name = `bad${n++}`;
      assert.throws(
        () => huey.task(name, () => 1, options),
        (error: Error) =>
          error instanceof ConfigurationError &&
          error.message.startsWith(`Cannot use task ${name} `) && why.test(error.message),
        JSON.stringify(options),
      );
    }
    const ok = huey.task("ok", () => 1);
    for (const [options, why] of cases) {
      assert.throws(
        () => ok.schedule([], options),
        (error: Error) =>
          error instanceof ConfigurationError &&
          error.message.startsWith("Cannot use schedule of ok ") && why.test(error.message),
        JSON.stringify(options),
      );
    }
    const r = await ok();
    for (const [options] of cases) {
      await assert.rejects(() => r.reschedule(options), ConfigurationError);
    }
    assert.equal(await r.isRevoked(), false, "a refused reschedule leaves the original alone");
    assert.equal(await huey.storage.queueSize(), 1, "nothing bad was enqueued");
  });

  it("a message from elsewhere with a bad retryBackoff is set aside, not run", async () => {
    const huey = new MemoryHuey({ logger: silent });
    let ran = false;
    huey.task("add", () => (ran = true));
    const data = new Serializer().encode({
      v: 1,
      id: "t1",
      name: "add",
      args: [],
      retries: 1,
      retryDelay: 1,
      priority: 0,
      retryBackoff: 0.5,
    });
    await huey.storage.enqueue(data, 0);
    assert.equal((await huey.executeNext())?.status, "invalid");
    assert.equal(ran, false);
    const [kept] = await huey.storage.errorItems();
    assert.match(kept.reason, /retryBackoff must be a number from 1 to 1000/);
  });
});
