/**
 * A consumer process (`cli.ts`) on a deep queue of a storage whose calls
 * are synchronous underneath (SQLite, files) must still let its event loop
 * turn: timers (lease renewal, task timeouts, the scheduler) fire on time
 * and SIGINT stops it at once, not once the queue is empty.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consumer, fast, freshApp, stop } from "./process_helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "huey-busy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/*
 * The target is 100 ms for both. Measured here on SQLite (Deno,
 * two cores shared with other work): 30-150 ms from SIGINT to exit, timers
 * 1-5 ms late at the median and 130 ms at worst; before the fix 10 s and
 * 12 s. The bounds leave headroom for a loaded CI machine.
 *
 * The file driver's timers are held to the same bound (before the fix: one
 * tick, 2 s late), its SIGINT to a loose one: each of its operations is one
 * synchronous stretch of 5-30 ms (it lists the queue directory), and a busy
 * Deno looks for signals only every few dozen turns of its event loop, so
 * SIGINT to exit there measured 20 ms to 1.7 s (4.6 s before the fix).
 */
const STOP_BOUND_MS = { SQLite: 1000, file: 5000 };
const LATENESS_BOUND_MS = 250;

/** The event-loop probe's file (see tests/fixtures/consumer_app.ts). */
interface Probe {
  ticks: number;
  worst: number;
  lates: number[];
}

let n = 0;

describe("a busy consumer process", { timeout: 120_000 }, () => {
  // The file driver lists its queue directory on every dequeue: a shallower queue keeps it
  // as busy.
  for (const [storage, queued] of [["SQLite", 100_000], ["file", 4000]] as const) {
    it(`on ${storage} with ${queued} tasks queued keeps its event loop turning: a 50 ms timer fires within ${LATENESS_BOUND_MS} ms of its time, SIGINT stops it within ${STOP_BOUND_MS[storage]} ms`, async () => {
      const probe = join(dir, `probe-${n}.json`);
      const files = storage === "file" ? join(dir, `files-${n}`) : undefined;
      if (files) mkdirSync(files);
      n++;
      const { url, app } = await freshApp(dir, { probe, files });
      await app.add.map(Array.from({ length: queued }, (_, i) => [i, 1] as [number, number]));
      const running = await consumer([url, "-w", "4", "-n", ...fast]);
      let stopped = false;
      try {
        // Busy for a while: long enough for a starved loop to show.
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const left = await app.huey.storage.queueSize();
        assert.ok(left > 0, "the consumer is still busy when SIGINT comes");
        const start = performance.now();
        running.child.kill("SIGINT");
        await running.exited;
        stopped = true;
        const stopMs = performance.now() - start;
        const takenAfter = left - (await app.huey.storage.queueSize());
        const { ticks, worst, lates }: Probe = existsSync(probe)
          ? JSON.parse(readFileSync(probe, "utf8"))
          : { ticks: 0, worst: Infinity, lates: [] };
        const median = [...lates].sort((a, b) => a - b)[Math.floor(lates.length / 2)];
        const figures = `SIGINT to exit ${stopMs.toFixed(0)} ms, ${takenAfter} tasks taken ` +
          `after SIGINT; ${ticks} timer ticks, median ${median} ms late, worst ${
            worst.toFixed(1)
          } ms`;
        console.log(`busy ${storage} consumer: ${figures}`);
        assert.ok(ticks >= 10, figures);
        assert.ok(worst < LATENESS_BOUND_MS, figures);
        assert.ok(stopMs < STOP_BOUND_MS[storage], figures);
      } finally {
        if (!stopped) await stop(running);
        await app.huey.close();
      }
    });
  }
});
