/**
 * Rate limits (huey 3.3's `rate_limit`): the three ways to hold one, the
 * fixed window over the storage's counters, how the consumer retries a
 * rate-limited task, the guide's example, and the sliding window measured
 * against the fixed one, on memory, SQLite, Redis and Postgres. Time is a
 * fake clock throughout.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfigurationError,
  Huey,
  MemoryStorage,
  PostgresStorage,
  RateLimit,
  RateLimitExceeded,
  RedisStorage,
  SIGNAL_EXECUTING,
  SIGNAL_RATE_LIMITED,
  SIGNAL_RETRYING,
  SIGNAL_SCHEDULED,
  SqliteStorage,
  TaskError,
} from "../mod.ts";
import type { SignalName, Storage } from "../mod.ts";
import { fakeClock, silent } from "./helpers.ts";
import type { FakeClock } from "./helpers.ts";
import { makeLimitsApp, writeAppModule } from "./fixtures/limits_app.ts";
import type { LimitsAppConfig } from "./fixtures/limits_app.ts";
import { consumer, fast, stop, until } from "./process_helpers.ts";
import { describeWithPostgres } from "./postgres_server.ts";
import { describeWithRedis } from "./redis_server.ts";

/** The start of a minute, so windows of 60 s (and 10) start at round offsets from it. */
const MINUTE = Date.UTC(2026, 10, 23, 12, 0, 0);
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let names = 0;

/** An exception of `fn`, which must throw (or reject). */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected it to throw");
}

/** A producer and a worker on one storage, on one fake clock, recording every signal. */
function pair(storage: Storage, clock: FakeClock = fakeClock(MINUTE)) {
  const producer = new Huey({ storage, logger: silent, clock });
  const worker = new Huey({ storage, logger: silent, clock });
  const signals: SignalName[] = [];
  for (const huey of [producer, worker]) huey.signal((name) => void signals.push(name));
  return { producer, worker, clock, signals };
}

/** The behaviours every storage must give a rate limit. */
function behaviours(label: string, makeStorage: () => Storage | Promise<Storage>): void {
  describe(`rate limits on ${label}`, () => {
    const opened: Storage[] = [];
    after(async () => {
      for (const storage of opened) await storage.close().catch(() => {});
    });
    const open = async () => {
      const storage = await makeStorage();
      opened.push(storage);
      await storage.flushAll();
      return storage;
    };

    it("run, wrap and `await using` count calls; the call past the limit throws RateLimitExceeded", async () => {
      const { producer: huey, clock } = pair(await open());
      clock.now = MINUTE + 33_000;
      const limiter = huey.rateLimit("api", 3, 60);
      assert.equal(await limiter.run(() => "first"), "first");
      assert.equal(await limiter.wrap((a: number, b: number) => a + b)(1, 2), 3);
      {
        await using permit = await limiter.acquire();
        assert.equal(permit.usage, 3);
        assert.equal(permit.remaining, 0);
      }
      assert.equal(await limiter.currentUsage(), 3);
      let ran = false;
      const error = await thrown(() => limiter.run(() => (ran = true)));
      assert.ok(error instanceof RateLimitExceeded, String(error));
      assert.equal(ran, false, "the function does not run");
      assert.equal(error.limitName, "api");
      assert.match(error.key, /^%rate:60:\d+:api$/);
      assert.equal(error.delay, 27, "seconds until the window resets");
      assert.equal(error.retry, true);
      assert.match(error.message, /rate limit api.*27/);
      assert.equal(await limiter.currentUsage(), 3, "a refused call is not counted");

      clock.now = MINUTE + 59_999;
      assert.equal(((await thrown(() => limiter.acquire())) as RateLimitExceeded).delay, 0.001);
      clock.now = MINUTE + 60_000;
      assert.equal(await limiter.currentUsage(), 0, "a new window");
      assert.equal((await limiter.acquire()).usage, 1);
    });

    it("reset() clears the window: the next call starts afresh", async () => {
      const { producer: huey } = pair(await open());
      const limiter = huey.rateLimit("reports", 1, 3600);
      await limiter.acquire();
      await assert.rejects(() => limiter.acquire(), RateLimitExceeded);
      await limiter.reset();
      assert.equal(await limiter.currentUsage(), 0);
      assert.equal((await limiter.acquire()).usage, 1);
    });

    it("is shared by every Huey on the storage: concurrent callers get the limit between them", async () => {
      const storage = await open();
      const { producer, worker } = pair(storage);
      const [a, b] = [producer.rateLimit("shared", 5, 60), worker.rateLimit("shared", 5, 60)];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).acquire()),
      );
      const admitted = outcomes.filter((o) => o.status === "fulfilled").length;
      assert.equal(admitted, 5);
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") assert.ok(outcome.reason instanceof RateLimitExceeded);
      }
      assert.equal(await a.currentUsage(), 5);
    });

    it("the consumer reschedules a rate-limited task at the window reset without using a retry", async () => {
      const storage = await open();
      const { producer, worker, clock, signals } = pair(storage);
      clock.now = MINUTE + 33_000;
      const calls: number[] = [];
      const declare = (huey: Huey) =>
        huey.task(
          "data_sync",
          huey.rateLimit("data-sync", 1, 60).wrap((n: number) => void calls.push(n)),
          { retries: 2 },
        );
      const sync = declare(producer);
      declare(worker);
      await sync(1);
      await sync(2);
      assert.equal((await worker.executeNext())?.status, "complete");
      signals.length = 0;
      const limited = await worker.executeNext();
      assert.equal(limited?.status, "rate-limited");
      assert.equal(limited?.retrying, true);
      assert.ok(limited?.error instanceof RateLimitExceeded);
      assert.deepEqual(signals, [
        SIGNAL_EXECUTING,
        SIGNAL_RATE_LIMITED,
        SIGNAL_RETRYING,
        SIGNAL_SCHEDULED,
      ]);
      const [later] = await worker.scheduled();
      assert.equal(later.id, limited?.task?.id);
      assert.equal(later.eta?.getTime(), MINUTE + 60_000, "at the window reset");
      assert.equal(later.retries, 2, "no retry used up");
      assert.deepEqual(await worker.readSchedule(MINUTE + 59_999), []);
      clock.now = MINUTE + 60_000;
      assert.equal((await worker.readSchedule()).length, 1);
      assert.equal((await worker.executeNext())?.status, "complete");
      assert.deepEqual(calls, [1, 2]);
    });

    it("with retry: false and no retries, a rate-limited task fails for good with the error stored", async () => {
      const storage = await open();
      const { producer, worker, signals } = pair(storage);
      const declare = (huey: Huey) =>
        huey.task("once", huey.rateLimit("once", 1, 60, { retry: false }).wrap(() => "ran"));
      const once = declare(producer);
      declare(worker);
      await once();
      const second = await once();
      await worker.executeNext();
      const limited = await worker.executeNext();
      assert.equal(limited?.status, "rate-limited");
      assert.equal(limited?.retrying, false);
      assert.equal(await worker.executeNext(), undefined, "not rescheduled");
      assert.equal(signals.filter((s) => s === SIGNAL_RATE_LIMITED).length, 1);
      assert.ok(!signals.includes("error"), "rate-limited, not error");
      const error = await thrown(() => second.get());
      assert.ok(error instanceof TaskError);
      assert.equal(error.remoteName, "RateLimitExceeded");
    });
  });
}

behaviours("MemoryStorage", () => new MemoryStorage());

const dir = mkdtempSync(join(tmpdir(), "huey-rate-limit-"));
behaviours(
  "SqliteStorage",
  () => new SqliteStorage({ name: `rate-${names++}`, filename: join(dir, "rate.db") }),
);

await describeWithRedis("rate limits on Redis", (server) => {
  after(() => server.stop());
  behaviours("RedisStorage", () => new RedisStorage({ url: server.url, name: `rate-${RUN}` }));
  consumerTest("Redis", { name: `rate-consumer-${RUN}`, redis: server.url });
});

consumerTest("SQLite", { name: `rate-consumer-${RUN}`, db: join(dir, "consumer.db") });

/**
 * A real consumer process (`cli.ts`, four workers) runs tasks limited to 3
 * per 2-second window on the real clock: every task runs, those past the
 * limit in a later window, and no window runs more than 3.
 */
function consumerTest(label: string, config: LimitsAppConfig): void {
  it(`a consumer process on ${label} runs rate-limited tasks at most 3 per window, each once`, {
    timeout: 60_000,
  }, async () => {
    const log = join(dir, `${label}-${RUN}.log`);
    const app = { ...config, log };
    const module = join(dir, `rate-app-${label}.ts`);
    writeAppModule(module, app);
    const { huey, limited } = makeLimitsApp(app);
    await huey.flush();
    const ran = () =>
      existsSync(log)
        ? readFileSync(log, "utf8").trim().split("\n").map((line) => line.split(" ").map(Number))
        : [];
    const running = await consumer([module, "-w", "4", ...fast]);
    try {
      const started = Date.now();
      await limited.map(Array.from({ length: 8 }, (_, i) => [i] as [number]));
      await until(() => ran().length === 8, 30_000, running.output);
      const took = (Date.now() - started) / 1000;
      assert.deepEqual(ran().map(([, n]) => n).sort(), [0, 1, 2, 3, 4, 5, 6, 7], "each ran once");
      const perWindow = new Map<number, number>();
      for (const [, , , after] of ran()) {
        const window = Math.floor(after / 2000);
        perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
      }
      assert.ok([...perWindow.values()].every((n) => n <= 3), `per window: ${[...perWindow]}`);
      assert.ok(perWindow.size >= 3, "8 calls need three windows");
      assert.ok(took < 10, `all ran within ${took} s`);
      assert.match(running.output(), /rate limit burst exceeded/);
    } finally {
      assert.equal(await stop(running), 0, running.output());
      await huey.flush();
      await huey.close();
    }
  });
}

await describeWithPostgres("rate limits on Postgres", (server) => {
  behaviours(
    "PostgresStorage",
    () => new PostgresStorage({ url: server.url, name: `rate-${RUN}` }),
  );
});

describe("rate limit retries (huey's table)", () => {
  /** A task limited to one call a minute, its window full, then called: what the consumer did. */
  async function limitedRun(
    retry: boolean,
    options: { retries?: number; retryDelay?: number; retryBackoff?: number },
  ) {
    const { producer, worker, clock, signals } = pair(new MemoryStorage());
    clock.now = MINUTE + 15_000;
    const declare = (huey: Huey) =>
      huey.task("job", huey.rateLimit("job", 1, 60, { retry }).wrap(() => "done"), options);
    declare(worker);
    await producer.rateLimit("job", 1, 60).acquire();
    await declare(producer)();
    const outcome = await worker.executeNext();
    const [scheduled] = await worker.scheduled();
    return { outcome, scheduled, signals };
  }

  it("retry: true, no retries: at the window reset", async () => {
    const { outcome, scheduled } = await limitedRun(true, {});
    assert.equal(outcome?.retrying, true);
    assert.equal(scheduled.eta?.getTime(), MINUTE + 60_000);
    assert.equal(scheduled.retries, 0);
  });

  it("retry: true with retryDelay: after retryDelay, the task's retries kept", async () => {
    const { scheduled } = await limitedRun(true, { retries: 1, retryDelay: 120 });
    assert.equal(scheduled.eta?.getTime(), MINUTE + 15_000 + 120_000);
    assert.equal(scheduled.retries, 1);
  });

  it("retry: false, no retries: an error, not rescheduled", async () => {
    const { outcome, scheduled } = await limitedRun(false, {});
    assert.equal(outcome?.retrying, false);
    assert.equal(scheduled, undefined);
  });

  it("retry: false with retries: one is used, at the reset or after retryDelay", async () => {
    const atReset = await limitedRun(false, { retries: 2 });
    assert.equal(atReset.scheduled.eta?.getTime(), MINUTE + 60_000);
    assert.equal(atReset.scheduled.retries, 1);
    const delayed = await limitedRun(false, { retries: 2, retryDelay: 120 });
    assert.equal(delayed.scheduled.eta?.getTime(), MINUTE + 15_000 + 120_000);
    assert.equal(delayed.scheduled.retries, 1);
  });

  it("a rate-limited retry does not advance the retry backoff (an explicit time, as in huey 3.3)", async () => {
    const { scheduled } = await limitedRun(false, { retries: 2, retryDelay: 10, retryBackoff: 3 });
    assert.equal(scheduled.eta?.getTime(), MINUTE + 15_000 + 10_000);
    assert.equal(scheduled.retryDelay, 10, "the next wait is still 10 s");
  });
});

describe("the huey 3.3 guide's rate-limiting example", () => {
  it("10 calls in a 60 s window succeed; the 11th and 12th run when the window resets", async () => {
    // @huey.task()
    // @huey.rate_limit('data-sync', limit=10, per=60)
    // def data_sync(data): service.apply_updates(data)
    const { producer, worker, clock } = pair(new MemoryStorage());
    const applied: string[] = [];
    const service = { applyUpdates: (data: string) => void applied.push(data) };
    const declare = (huey: Huey) =>
      huey.task(
        "data_sync",
        huey.rateLimit("data-sync", 10, 60).wrap((data: string) => service.applyUpdates(data)),
      );
    const dataSync = declare(producer);
    declare(worker);

    // data_sync() called 10 times in rapid succession, all succeed.
    for (let i = 1; i <= 10; i++) await dataSync(`update ${i}`);
    for (let i = 1; i <= 10; i++) assert.equal((await worker.executeNext())?.status, "complete");
    // Called again 33 seconds into the window: scheduled to run in 27 seconds.
    clock.now = MINUTE + 33_000;
    await dataSync("update 11");
    assert.equal((await worker.executeNext())?.status, "rate-limited");
    // Called again 48 seconds into the window: scheduled to run in 12 seconds.
    clock.now = MINUTE + 48_000;
    await dataSync("update 12");
    assert.equal((await worker.executeNext())?.status, "rate-limited");
    const waits = (await worker.scheduled()).map((t) => (t.eta!.getTime() - MINUTE) / 1000);
    assert.deepEqual(waits, [60, 60], "both at the reset: 27 s after 33 s, 12 s after 48 s");
    assert.equal(applied.length, 10);

    clock.now = MINUTE + 60_000;
    await worker.readSchedule();
    assert.deepEqual([(await worker.executeNext())?.status, (await worker.executeNext())?.status], [
      "complete",
      "complete",
    ]);
    assert.deepEqual(applied.slice(10), ["update 11", "update 12"]);
  });

  it("retries=2 with retry=False caps each invocation to two retries", async () => {
    // @huey.task(retries=2)
    // def data_sync(data):
    //     with huey.rate_limit('data-sync', limit=10, per=60, retry=False): ...
    const { producer, worker, clock } = pair(new MemoryStorage());
    const declare = (huey: Huey) =>
      huey.task("data_sync", async (data: string) => {
        await using _limit = await huey.rateLimit("data-sync", 10, 60, { retry: false }).acquire();
        return data;
      }, { retries: 2 });
    const dataSync = declare(producer);
    declare(worker);
    // The window is always full: every attempt is rate-limited.
    const fill = async () => {
      const limiter = producer.rateLimit("data-sync", 10, 60, { retry: false });
      while ((await limiter.currentUsage()) < 10) await limiter.acquire();
    };
    const r = await dataSync("update");
    const statuses: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      await fill();
      const outcome = await worker.executeNext();
      if (outcome) statuses.push(`${outcome.status}${outcome.retrying ? " (retrying)" : ""}`);
      clock.advance(60);
      await worker.readSchedule();
    }
    assert.deepEqual(statuses, [
      "rate-limited (retrying)",
      "rate-limited (retrying)",
      "rate-limited",
    ]);
    await assert.rejects(() => r.get(), (error: unknown) => {
      assert.ok(error instanceof TaskError);
      assert.equal(error.remoteName, "RateLimitExceeded");
      return true;
    });
  });
});

describe("a sliding window, measured against the fixed window", () => {
  /**
   * Ask `limiter` at each time of `attempts` (ms after MINUTE, in order);
   * returns the times it let through.
   */
  async function admitted(limiter: RateLimit, clock: FakeClock, attempts: number[]) {
    const through: number[] = [];
    for (const at of attempts) {
      clock.now = MINUTE + at;
      try {
        await limiter.acquire();
        through.push(at);
      } catch (error) {
        if (!(error instanceof RateLimitExceeded)) throw error;
        assert.ok(error.delay > 0 && error.delay <= 60, `delay ${error.delay}`);
      }
    }
    return through;
  }

  /** The most admissions in any `per`-long interval (ms). */
  function busiest(times: number[], perMs: number): number {
    let most = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j] - times[i] >= perMs) i++;
      most = Math.max(most, j - i + 1);
    }
    return most;
  }

  const run = async (sliding: boolean, attempts: number[]) => {
    const { producer: huey, clock } = pair(new MemoryStorage());
    return await admitted(huey.rateLimit("api", 10, 60, { sliding }), clock, attempts);
  };

  it("a burst on each side of a window boundary: the fixed window lets twice the limit through, the sliding one the limit", async () => {
    // 20 calls in the last second of a window, 20 in the first second of the next.
    const burst = [
      ...Array.from({ length: 20 }, (_, i) => 59_000 + i * 50),
      ...Array.from({ length: 20 }, (_, i) => 60_000 + i * 50),
    ];
    const fixed = await run(false, burst);
    const sliding = await run(true, burst);
    assert.equal(fixed.length, 20, "10 on each side, within two seconds");
    assert.equal(busiest(fixed, 60_000), 20);
    assert.equal(sliding.length, 10);
    assert.equal(busiest(sliding, 60_000), 10);
  });

  it("a steady stream with bursts: no 60 s interval sees more than the limit", async () => {
    // A call every 12 s for five minutes, and bursts of 10 just before and after each boundary.
    const attempts = [
      ...Array.from({ length: 25 }, (_, i) => i * 12_000),
      ...[1, 2, 3, 4].flatMap((k) => [k * 60_000 - 500, k * 60_000 + 500]).flatMap((t) =>
        Array(10).fill(t)
      ),
    ].sort((a, b) => a - b);
    const fixed = await run(false, attempts);
    const sliding = await run(true, attempts);
    // Measured: the fixed window let 19 through within one minute (50 in all), the
    // sliding one never more than 10 (38 in all: it refuses up to a bucket early).
    assert.ok(busiest(fixed, 60_000) >= 19, `fixed: ${busiest(fixed, 60_000)}`);
    assert.ok(busiest(sliding, 60_000) <= 10, `sliding: ${busiest(sliding, 60_000)}`);
    assert.ok(sliding.length >= 35, `sliding let ${sliding.length} through`);
  });

  it("currentUsage counts the last `per` seconds, reset() clears them", async () => {
    const { producer: huey, clock } = pair(new MemoryStorage());
    const limiter = huey.rateLimit("api", 5, 60, { sliding: true });
    clock.now = MINUTE + 50_000;
    for (let i = 0; i < 5; i++) await limiter.acquire();
    clock.now = MINUTE + 70_000;
    assert.equal(await limiter.currentUsage(), 5, "the calls of 20 s ago still count");
    const error = await thrown(() => limiter.acquire());
    assert.ok(error instanceof RateLimitExceeded);
    assert.ok(
      error.delay > 40 && error.delay <= 46,
      `free again once they are 60 s old: ${error.delay}`,
    );
    await limiter.reset();
    assert.equal(await limiter.currentUsage(), 0);
    assert.equal((await limiter.acquire()).usage, 1);
  });
});

describe("rate limit declarations", () => {
  it("refuse a limit or window that is not positive with a ConfigurationError naming the limiter and the value", () => {
    const huey = new Huey({ logger: silent });
    for (
      const [limit, per, what] of [
        [0, 60, /rate limit "api": limit must be an integer above 0: 0/],
        [-1, 60, /limit .*: -1/],
        [1.5, 60, /limit .*: 1\.5/],
        [NaN, 60, /limit .*: NaN/],
        [10, 0, /rate limit "api": per must be a number of seconds above 0.*: 0/],
        [10, -5, /per .*: -5/],
        [10, Infinity, /per .*: Infinity/],
      ] as const
    ) {
      assert.throws(() => huey.rateLimit("api", limit, per), (error: unknown) => {
        assert.ok(error instanceof ConfigurationError, String(error));
        assert.match(error.message, what);
        return true;
      });
    }
    assert.throws(() => huey.rateLimit("", 1, 1), ConfigurationError);
    assert.throws(
      () => huey.rateLimit("api", 1, 1, { sliding: "yes" as unknown as boolean }),
      ConfigurationError,
    );
  });

  it("keep what they were declared with", () => {
    const huey = new Huey({ logger: silent });
    const limiter = huey.rateLimit("api", 10, 60, { retry: false, sliding: true });
    assert.ok(limiter instanceof RateLimit);
    assert.deepEqual(
      [limiter.name, limiter.limit, limiter.per, limiter.retry, limiter.sliding],
      ["api", 10, 60, false, true],
    );
    const defaults = huey.rateLimit("api", 10, 60);
    assert.deepEqual([defaults.retry, defaults.sliding], [true, false]);
  });
});

// Last: Node runs a root after() hook once the tests registered before it
// are done, and tests here are registered after top-level awaits.
after(() => rmSync(dir, { recursive: true, force: true }));
