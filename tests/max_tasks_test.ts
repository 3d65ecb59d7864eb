/**
 * `-M/--max-tasks N`: a worker is recycled after it has run N tasks, in all
 * three pools, by real consumer processes (`cli.ts`) on a SQLite file.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigurationError, MemoryHuey } from "../mod.ts";
import { Consumer } from "../lib/consumer/consumer.ts";
import { resolveConsumerOptions } from "../lib/consumer/options.ts";
import {
  consumer,
  fast,
  freshApp,
  printed,
  startConsumer,
  stop,
  tempDir,
} from "./process_helpers.ts";
import { silent } from "./helpers.ts";

const dir = tempDir("huey-max-tasks-");

describe("-M/--max-tasks", { timeout: 120_000 }, () => {
  for (const type of ["async", "worker", "process"]) {
    it(`recycles a -k ${type} worker after N tasks: a new one starts at once`, async () => {
      const { url, app } = await freshApp(dir);
      const running = await consumer([url, "-w", "1", "-k", type, "-M", "2", "-n", ...fast]);
      try {
        const group = await app.whoami.map([[], [], [], [], [], []]);
        const workers = await group.get({ blocking: true, timeout: 60 });
        const counts = new Map<string, number>();
        for (const worker of workers) counts.set(worker, (counts.get(worker) ?? 0) + 1);
        assert.equal(counts.size, 3, `three workers ran them: ${workers.join(" ")}`);
        assert.deepEqual([...counts.values()], [2, 2, 2], "two tasks each");
        await printed(running, /Worker 0 ran 2 tasks \(--max-tasks\); replacing it/);
      } finally {
        assert.equal(await stop(running), 0, running.output());
        await app.huey.close();
      }
      assert.doesNotMatch(running.output(), /ERROR|WARN/, "a retirement is not a failure");
    });
  }

  it("is refused unless a whole number >= 1, on the command line and in the options", async () => {
    const cases: [string, RegExp][] = [
      ["0", /^huey: Cannot start consumer: max tasks must be an integer >= 1: 0 /],
      ["1.5", /^huey: Cannot start consumer: max tasks must be an integer >= 1: 1.5 /],
      ["many", /^huey: --max-tasks expects a number: many /],
    ];
    for (const [bad, message] of cases) {
      const running = startConsumer([(await freshApp(dir)).url, "-M", bad]);
      const { code } = await running.exited;
      assert.equal(code, 2);
      assert.match(running.output().trim(), message);
    }
    assert.throws(() => resolveConsumerOptions({ maxTasks: 0 }), ConfigurationError);
    assert.equal(resolveConsumerOptions({ maxTasks: 5 }).maxTasks, 5);
    assert.equal(resolveConsumerOptions().maxTasks, undefined, "never recycled by default");
  });

  it("recycles an embedded consumer's async worker, running its startup hooks again", async () => {
    const huey = new MemoryHuey({ logger: silent });
    let startups = 0;
    huey.onStartup(() => void startups++);
    const add = huey.task("add", (a: number, b: number) => a + b);
    const embedded = new Consumer(huey, { maxTasks: 3, initialDelay: 0.01, maxDelay: 0.05 });
    await embedded.start();
    try {
      const group = await add.map(Array.from({ length: 7 }, (_, i) => [i, 1] as [number, number]));
      assert.deepEqual(await group.get({ blocking: true, timeout: 10 }), [1, 2, 3, 4, 5, 6, 7]);
      assert.equal(startups, 3, "the first worker, then one after 3 tasks and one after 6");
    } finally {
      await embedded.stop();
    }
  });
});
