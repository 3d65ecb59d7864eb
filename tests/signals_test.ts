/**
 * Signals (huey.signal / disconnectSignal) and the in-process event feed
 * (huey.events()): which signals a task's life produces, in which order,
 * and with which arguments.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelExecution,
  createLogger,
  Huey,
  MemoryHuey,
  MemoryStorage,
  SIGNAL_CANCELED,
  SIGNAL_COMPLETE,
  SIGNAL_ENQUEUED,
  SIGNAL_ERROR,
  SIGNAL_EXECUTING,
  SIGNAL_EXPIRED,
  SIGNAL_INTERRUPTED,
  SIGNAL_RATE_LIMITED,
  SIGNAL_RETRYING,
  SIGNAL_REVOKED,
  SIGNAL_SCHEDULED,
  SIGNAL_TIMEOUT,
  SIGNALS,
  TaskTimeout,
} from "../mod.ts";
import type { HueyEvent, SignalName, Task } from "../mod.ts";

const logger = createLogger({ level: "silent" });
const START = Date.UTC(2024, 0, 15, 12, 0, 0);

/**
 * A producer and a worker on one storage, sharing a fake clock, with one
 * recorder connected to both so `names()` is the whole life of the tasks.
 */
function setup() {
  const clock = { now: START };
  const storage = new MemoryStorage();
  const producer = new Huey({ storage, logger, clock: () => clock.now });
  const worker = new Huey({ storage, logger, clock: () => clock.now });
  const seen: { signal: SignalName; task: Task; error: unknown; by: string }[] = [];
  producer.signal((signal, task, error) => {
    seen.push({ signal, task, error, by: "producer" });
  });
  worker.signal((signal, task, error) => {
    seen.push({ signal, task, error, by: "worker" });
  });
  let failures = 0;
  const declare = (huey: Huey) => ({
    add: huey.task("add", (a: number, b: number) => a + b),
    flaky: huey.task("flaky", (message: string) => {
      failures++;
      throw new RangeError(message);
    }, { retries: 1 }),
    slowRetry: huey.task("slowRetry", () => {
      throw new Error("try later");
    }, { retries: 1, retryDelay: 30 }),
    short: huey.task("short", () => "too late?", { expires: 10 }),
    cancel: huey.task("cancel", () => {
      throw new CancelExecution();
    }),
    limited: huey.task("limited", huey.rateLimit("limited", 1, 60).wrap(() => "ran")),
    // Never settle: only their timeouts end them.
    stuck: huey.task("stuck", () => new Promise<never>(() => {}), { timeout: 0.02, retries: 1 }),
    stuckLater: huey.task("stuckLater", () => new Promise<never>(() => {}), {
      timeout: 0.02,
      retries: 1,
      retryDelay: 30,
    }),
  });
  const tasks = declare(producer);
  declare(worker);
  const names = () => seen.map((s) => s.signal);
  return { clock, producer, worker, seen, names, failures: () => failures, ...tasks };
}

/** Collect an event stream into an array until it ends. */
async function collect(stream: AsyncIterable<HueyEvent>): Promise<HueyEvent[]> {
  const events: HueyEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

describe("huey.signal", () => {
  it("a handler without names receives every signal", async () => {
    const { worker, add } = setup();
    const received: SignalName[] = [];
    const handler = worker.signal((signal) => {
      received.push(signal);
    });
    assert.equal(typeof handler, "function", "signal() returns the handler");
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(received, [SIGNAL_EXECUTING, SIGNAL_COMPLETE]);
  });

  it("a handler for SIGNAL_ERROR receives only errors, with the error as third argument", async () => {
    const { worker, add, flaky } = setup();
    const received: [SignalName, string, unknown][] = [];
    worker.signal((signal, task, error) => {
      received.push([signal, task.id, error]);
    }, SIGNAL_ERROR);
    await add(1, 2);
    const r = await flaky("broken pipe");
    for (let i = 0; i < 3; i++) await worker.executeNext();

    assert.equal(received.length, 2, "the first attempt and its retry both fail");
    for (const [signal, id, error] of received) {
      assert.equal(signal, SIGNAL_ERROR);
      assert.equal(id, r.id);
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, "broken pipe");
    }
  });

  it("a handler can listen to several named signals", async () => {
    const { worker, add } = setup();
    const received: SignalName[] = [];
    worker.signal(
      (signal) => {
        received.push(signal);
      },
      SIGNAL_COMPLETE,
      SIGNAL_REVOKED,
    );
    const r1 = await add(1, 2);
    await add(3, 4);
    await r1.revoke();
    await worker.executeNext();
    await worker.executeNext();
    assert.deepEqual(received, [SIGNAL_REVOKED, SIGNAL_COMPLETE]);
  });

  it("handlers receive the task with its id, name and arguments", async () => {
    const { worker, add, seen } = setup();
    const r = await add(5, 6);
    await worker.executeNext();
    for (const { task } of seen) {
      assert.equal(task.id, r.id);
      assert.equal(task.name, "add");
      assert.deepEqual(task.args, [5, 6]);
    }
    assert.equal(seen.find((s) => s.signal === SIGNAL_COMPLETE)?.error, undefined);
  });

  it("rejects an unknown signal name", () => {
    const huey = new MemoryHuey({ logger });
    assert.throws(() => huey.signal(() => {}, "finished" as SignalName), TypeError);
  });

  it("lists the signals in huey 3.3's order (huey/signals.py)", () => {
    assert.deepEqual(SIGNALS.slice(0, 12), [
      "canceled",
      "complete",
      "error",
      "executing",
      "expired",
      "locked",
      "retrying",
      "revoked",
      "scheduled",
      "interrupted",
      "enqueued",
      "timeout",
    ]);
  });

  it("exports every huey 3.3 signal name", () => {
    assert.deepEqual([...SIGNALS].sort(), [
      "canceled",
      "complete",
      "enqueued",
      "error",
      "executing",
      "expired",
      "interrupted",
      "locked",
      "rate-limited",
      "retrying",
      "revoked",
      "scheduled",
      "timeout",
    ]);
    // huey/signals.py declares rate-limited after timeout, the last of the 13.
    assert.deepEqual(SIGNALS.slice(11), [SIGNAL_TIMEOUT, SIGNAL_RATE_LIMITED]);
  });
});

describe("signal sequences", () => {
  it("a successful task: enqueued, executing, complete", async () => {
    const { worker, add, names, seen } = setup();
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(names(), [SIGNAL_ENQUEUED, SIGNAL_EXECUTING, SIGNAL_COMPLETE]);
    assert.deepEqual(seen.map((s) => s.by), ["producer", "worker", "worker"]);
  });

  it("a failing task with retries: 1 and no delay is retried at once", async () => {
    const { worker, flaky, names, failures } = setup();
    await flaky("nope");
    await worker.executeNext();
    await worker.executeNext();
    assert.equal(await worker.executeNext(), undefined, "no retries left");
    assert.equal(failures(), 2);
    assert.deepEqual(names(), [
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_ERROR,
      SIGNAL_RETRYING,
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_ERROR,
    ]);
  });

  for (const [kind, failure] of [["fails", SIGNAL_ERROR], ["times out", SIGNAL_TIMEOUT]] as const) {
    it(`a task with retryDelay that ${kind}: ${failure}, retrying, then scheduled; enqueued when due`, async () => {
      const tasks = setup();
      const { worker, names, seen, clock } = tasks;
      const r = await (failure === SIGNAL_ERROR ? tasks.slowRetry() : tasks.stuckLater());
      await worker.executeNext();
      assert.deepEqual(names(), [
        SIGNAL_ENQUEUED,
        SIGNAL_EXECUTING,
        failure,
        SIGNAL_RETRYING,
        SIGNAL_SCHEDULED,
      ]);
      const scheduled = seen.at(-1)!.task;
      assert.equal(scheduled.id, r.id);
      assert.equal(scheduled.eta?.getTime(), START + 30_000);

      clock.now = START + 30_000;
      await worker.readSchedule();
      await worker.executeNext();
      assert.deepEqual(names().slice(5), [SIGNAL_ENQUEUED, SIGNAL_EXECUTING, failure]);
    });
  }

  it("a scheduled task: scheduled, then enqueued when due", async () => {
    const { worker, add, names, clock } = setup();
    await add.schedule([1, 2], { delay: 60 });
    assert.deepEqual(names(), [SIGNAL_SCHEDULED]);
    clock.now = START + 60_000;
    await worker.readSchedule();
    await worker.executeNext();
    assert.deepEqual(names(), [
      SIGNAL_SCHEDULED,
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_COMPLETE,
    ]);
  });

  it("an expired task: enqueued, expired", async () => {
    const { worker, short, names, clock } = setup();
    const r = await short();
    clock.now = START + 11_000;
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "expired");
    assert.deepEqual(names(), [SIGNAL_ENQUEUED, SIGNAL_EXPIRED]);
    assert.equal(await r.get(), undefined);
  });

  it("a revoked task: enqueued, revoked", async () => {
    const { worker, add, names } = setup();
    const r = await add(1, 2);
    await r.revoke();
    await worker.executeNext();
    assert.deepEqual(names(), [SIGNAL_ENQUEUED, SIGNAL_REVOKED]);
  });

  it("a pre-execute hook's CancelExecution: enqueued, canceled", async () => {
    const { worker, add, names } = setup();
    worker.preExecute(() => {
      throw new CancelExecution();
    });
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(names(), [SIGNAL_ENQUEUED, SIGNAL_CANCELED]);
  });

  it("a task raising CancelExecution: enqueued, executing, canceled", async () => {
    const { worker, cancel, names, seen } = setup();
    await cancel();
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "canceled");
    assert.deepEqual(names(), [SIGNAL_ENQUEUED, SIGNAL_EXECUTING, SIGNAL_CANCELED]);
    assert.ok(seen.at(-1)?.error instanceof CancelExecution);
  });

  it("a rate-limited task (with automatic retry): enqueued, executing, rate-limited, retrying, scheduled", async () => {
    const { worker, limited, names, seen, clock } = setup();
    await limited();
    await worker.executeNext();
    seen.length = 0;
    clock.now = START + 20_000;
    await limited();
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "rate-limited");
    assert.deepEqual(names(), [
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_RATE_LIMITED,
      SIGNAL_RETRYING,
      SIGNAL_SCHEDULED,
    ]);
    assert.equal(seen[2].error, outcome?.error, "the handler receives the RateLimitExceeded");
    assert.equal(seen.at(-1)!.task.eta?.getTime(), START + 60_000, "the start of the next window");
  });

  it("a timed-out task with retries and no delay: timeout (not error), retrying, enqueued", async () => {
    const { worker, stuck, names, seen } = setup();
    const r = await stuck();
    assert.equal((await worker.executeNext())?.status, "timeout");
    assert.equal((await worker.executeNext())?.status, "timeout");
    assert.equal(await worker.executeNext(), undefined, "no retries left");
    assert.deepEqual(names(), [
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_TIMEOUT,
      SIGNAL_RETRYING,
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_TIMEOUT,
    ]);
    const timeouts = seen.filter((s) => s.signal === SIGNAL_TIMEOUT);
    for (const { task, error, by } of timeouts) {
      assert.equal(task.id, r.id);
      assert.equal(by, "worker");
      assert.ok(error instanceof TaskTimeout, "the handler receives the TaskTimeout");
      assert.equal(error.timeout, 0.02);
    }
  });

  it("a timeout is an event too, with the TaskTimeout's text", async () => {
    const { worker, stuck } = setup();
    const controller = new AbortController();
    const collected = collect(worker.events({ signal: controller.signal }));
    const r = await stuck();
    await worker.executeNext();
    controller.abort();
    const timeout = (await collected).find((e) => e.signal === SIGNAL_TIMEOUT);
    assert.equal(timeout?.id, r.id);
    assert.match(timeout?.error ?? "", /^TaskTimeout: Task stuck \(.+\) timed out after 0\.02s$/);
  });

  it("a hard stop while running: executing, interrupted", async () => {
    const storage = new MemoryStorage();
    const huey = new Huey({ storage, logger });
    const received: SignalName[] = [];
    const forever = huey.task("forever", () => new Promise<never>(() => {}));
    huey.signal((signal) => {
      received.push(signal);
    });
    await forever();
    const controller = new AbortController();
    const running = huey.executeNext({ signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 1));
    controller.abort(new Error("SIGTERM"));
    assert.equal((await running)?.status, "interrupted");
    assert.deepEqual(received.slice(-2), [SIGNAL_EXECUTING, SIGNAL_INTERRUPTED]);
  });
});

describe("disconnectSignal", () => {
  it("a disconnected handler receives nothing more", async () => {
    const { worker, add } = setup();
    const received: SignalName[] = [];
    const handler = worker.signal((signal) => {
      received.push(signal);
    });
    await add(1, 2);
    await worker.executeNext();
    worker.disconnectSignal(handler);
    await add(3, 4);
    await worker.executeNext();
    assert.deepEqual(received, [SIGNAL_EXECUTING, SIGNAL_COMPLETE]);
  });

  it("disconnecting from one name keeps the handler's other names", async () => {
    const { worker, add } = setup();
    const received: SignalName[] = [];
    const handler = worker.signal(
      (signal) => {
        received.push(signal);
      },
      SIGNAL_EXECUTING,
      SIGNAL_COMPLETE,
    );
    worker.disconnectSignal(handler, SIGNAL_EXECUTING);
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(received, [SIGNAL_COMPLETE]);
  });

  it("disconnecting a handler leaves the other handlers connected", async () => {
    const { worker, add } = setup();
    const a: SignalName[] = [];
    const b: SignalName[] = [];
    const handlerA = worker.signal((signal) => {
      a.push(signal);
    });
    worker.signal((signal) => {
      b.push(signal);
    });
    worker.disconnectSignal(handlerA);
    await add(1, 2);
    await worker.executeNext();
    assert.deepEqual(a, []);
    assert.deepEqual(b, [SIGNAL_EXECUTING, SIGNAL_COMPLETE]);
  });
});

describe("a throwing signal handler", () => {
  it("is logged and does not break execution or the other handlers", async () => {
    const storage = new MemoryStorage();
    const lines: string[] = [];
    const producer = new Huey({ storage, logger });
    const worker = new Huey({
      storage,
      logger: createLogger({ level: "debug", write: (line) => lines.push(line) }),
    });
    const add = producer.task("add", (a: number, b: number) => a + b);
    worker.task("add", (a: number, b: number) => a + b);
    worker.signal(() => {
      throw new Error("handler bug");
    });
    const received: SignalName[] = [];
    worker.signal((signal) => {
      received.push(signal);
    });

    const r = await add(1, 2);
    const outcome = await worker.executeNext();
    assert.equal(outcome?.status, "complete");
    assert.equal(await r.get(), 3);
    assert.deepEqual(received, [SIGNAL_EXECUTING, SIGNAL_COMPLETE]);
    assert.ok(lines.some((line) => line.includes("handler bug")), lines.join("\n"));
  });

  it("an async handler that rejects does not break immediate mode", async () => {
    const huey = new MemoryHuey({ immediate: true, logger });
    const add = huey.task("add", (a: number, b: number) => a + b);
    huey.signal(async () => {
      await Promise.resolve();
      throw new Error("async handler bug");
    });
    assert.equal(await (await add(1, 2)).get(), 3);
  });
});

describe("huey.events()", () => {
  it("receives the same events as a signal handler, with id, name, signal and error text", async () => {
    const { worker, add, flaky } = setup();
    const controller = new AbortController();
    const stream = worker.events({ signal: controller.signal });
    const collected = collect(stream);
    const signals: [SignalName, string][] = [];
    worker.signal((signal, task) => {
      signals.push([signal, task.id]);
    });

    const ok = await add(1, 2);
    const bad = await flaky("disk on fire");
    for (let i = 0; i < 3; i++) await worker.executeNext();
    controller.abort();
    const events = await collected;

    assert.deepEqual(events.map((e) => [e.signal, e.id]), signals);
    assert.deepEqual(events.map((e) => e.signal), [
      SIGNAL_EXECUTING,
      SIGNAL_COMPLETE,
      SIGNAL_EXECUTING,
      SIGNAL_ERROR,
      SIGNAL_RETRYING,
      SIGNAL_ENQUEUED,
      SIGNAL_EXECUTING,
      SIGNAL_ERROR,
    ]);
    assert.deepEqual(events.slice(0, 2).map((e) => [e.id, e.name]), [
      [ok.id, "add"],
      [ok.id, "add"],
    ]);
    assert.equal(events[0].error, undefined);
    const error = events[3];
    assert.equal(error.id, bad.id);
    assert.equal(error.name, "flaky");
    assert.equal(error.error, "RangeError: disk on fire");
    assert.equal(error.time, START);
  });

  it("each subscriber gets every event, and an aborted one stops", async () => {
    const huey = new MemoryHuey({ immediate: true, logger });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const first = new AbortController();
    const second = new AbortController();
    const a = collect(huey.events({ signal: first.signal }));
    const b = collect(huey.events({ signal: second.signal }));

    await add(1, 2);
    first.abort();
    await add(3, 4);
    second.abort();

    const expected = [SIGNAL_ENQUEUED, SIGNAL_EXECUTING, SIGNAL_COMPLETE];
    assert.deepEqual((await a).map((e) => e.signal), expected);
    assert.deepEqual((await b).map((e) => e.signal), [...expected, ...expected]);
  });

  it("ends at once when the signal is already aborted", async () => {
    const huey = new MemoryHuey({ logger });
    const stream = huey.events({ signal: AbortSignal.abort() });
    assert.deepEqual(await stream.next(), { value: undefined, done: true });
  });

  it("breaking out of for-await unsubscribes", async () => {
    const huey = new MemoryHuey({ immediate: true, logger });
    const add = huey.task("add", (a: number, b: number) => a + b);
    const stream = huey.events();
    const first = (async () => {
      for await (const event of stream) return event;
    })();
    await add(1, 2);
    assert.equal((await first)?.signal, SIGNAL_ENQUEUED);
    const later = await add(3, 4);
    const rest: HueyEvent[] = [];
    for (let r = await stream.next(); !r.done; r = await stream.next()) rest.push(r.value);
    assert.deepEqual(rest.filter((e) => e.id === later.id), [], "no events after the break");
  });
});

describe("event encoding", () => {
  it("encodeEvent gives JSON.stringify's text, escapes included", async () => {
    const { encodeEvent } = await import("../lib/events.ts");
    const events: HueyEvent[] = [
      { signal: "complete", id: "abc", name: "add", time: 1_700_000_000_123 },
      { signal: "error", id: "x", name: 'we"ird\n\u2028', time: 0.5, error: "Error: \\ bad" },
      { signal: "storage_error", id: "", name: "\ud800\u0001", time: 2, error: "" },
    ];
    for (const event of events) {
      assert.equal(encodeEvent(event), JSON.stringify(event));
      assert.deepEqual(JSON.parse(encodeEvent(event)), event);
    }
    const odd = { signal: "complete", id: "i", name: "n", time: -0 } as HueyEvent;
    assert.equal(encodeEvent(odd), JSON.stringify(odd));
    assert.equal(encodeEvent({ ...odd, time: NaN }), JSON.stringify({ ...odd, time: NaN }));
  });
});
