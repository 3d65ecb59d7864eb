/**
 * SqliteStorage under filesystem faults, with real consumer processes
 * (`cli.ts`): a full filesystem, a read-only one. The tests mount a tiny
 * tmpfs, which needs root: they are skipped otherwise, and say so in their
 * names. (A queue deep enough to keep the consumer busy: busy_consumer_test.ts.)
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { sleep } from "../lib/_util.ts";
import {
  consumer,
  fast,
  freshApp,
  printed,
  startConsumer,
  stop,
  until,
} from "./process_helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "huey-sqlite-faults-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const root = userInfo().uid === 0;
const needsRoot = root ? false : "needs root to mount a tmpfs";

let mounts = 0;

/** Mount a fresh tmpfs of `size` (e.g. "2m") under the test directory; returns its path. */
function mountTmpfs(size: string): string {
  const path = join(dir, `mnt-${mounts++}`);
  mkdirSync(path);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", path]);
  return path;
}

function unmount(path: string): void {
  try {
    execFileSync("umount", [path], { stdio: "ignore" });
  } catch {
    // Still open somewhere (a consumer that failed to stop): detach it anyway.
    execFileSync("umount", ["-l", path], { stdio: "ignore" });
  }
}

/** Write `file` until the filesystem has no room left; returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, "w");
  let written = 0;
  try {
    for (const size of [1 << 16, 4096, 512]) {
      const chunk = new Uint8Array(size);
      try {
        for (;;) written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as { code?: string }).code !== "ENOSPC") throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** How many times each task id appears in `lines` as `start <id>`. */
function runsPerTask(lines: string[]): Map<string, number> {
  const runs = new Map<string, number>();
  for (const line of lines) {
    const [word, id] = line.split(" ");
    if (word === "start") runs.set(id, (runs.get(id) ?? 0) + 1);
  }
  return runs;
}

const total = (runs: Map<string, number>) => [...runs.values()].reduce((a, b) => a + b, 0);

describe("SqliteStorage under faults, with consumer processes", { timeout: 180_000 }, () => {
  it(
    "on a full filesystem takes no work and backs off; once space is back every task completes, none run more than twice (root: mounts a 2 MB tmpfs)",
    { skip: needsRoot },
    async () => {
      const mnt = mountTmpfs("2m");
      const { url, app, lines } = await freshApp(dir, { db: join(mnt, "app.db"), lease: 2 });
      const workers = 4;
      let running: Awaited<ReturnType<typeof consumer>> | undefined;
      try {
        const group = await app.slow.map(Array.from({ length: 136 }, () => [20] as [number]));
        running = await consumer([url, "-w", String(workers), "-n", "-d", "0.01", "-m", "0.2"]);
        await until(() => total(runsPerTask(lines())) >= 10, 20_000, running.output);
        fill(join(mnt, "filler"));
        const atFull = total(runsPerTask(lines()));
        await new Promise((resolve) => setTimeout(resolve, 3000));
        const whileFull = total(runsPerTask(lines())) - atFull;
        // Only the tasks already taken when the disk filled may start: nothing is handed out
        // that could not be committed.
        assert.ok(whileFull <= workers, `${whileFull} runs started while the disk was full`);
        // One line for the outage, whichever call met it first (a take, a finish).
        await printed(running, /ERROR Cannot .*database or disk is full/);

        rmSync(join(mnt, "filler"));
        const results = await group.get({ blocking: true, timeout: 60 });
        assert.equal(results.length, 136);
        assert.ok(results.every((r) => r === "finished"));
        const runs = runsPerTask(lines());
        assert.equal(runs.size, 136, "every task ran");
        // A task whose finish failed on the full disk runs once more after its lease: at most
        // two deliveries each.
        const most = Math.max(...runs.values());
        assert.ok(most <= 2, `a task ran ${most} times; ${total(runs)} runs in all`);
        assert.equal(await app.huey.storage.queueSize(), 0);
        assert.equal(await app.huey.storage.leasedSize(), 0);
        assert.deepEqual(await app.huey.storage.errorItems(), []);
      } finally {
        if (running) await stop(running);
        await app.huey.close();
        unmount(mnt);
      }
    },
  );

  it(
    "refuses to start on a read-only database: exits 2 with one line naming the file and read-only; starts once it is writable (root: read-only bind mount and remount of a tmpfs)",
    { skip: needsRoot },
    async () => {
      const mnt = mountTmpfs("8m");
      const view = join(dir, `ro-view-${mounts++}`);
      mkdirSync(view);
      const { url, app } = await freshApp(dir, { db: join(mnt, "app.db") });
      const readOnly = (await freshApp(dir, { db: join(view, "app.db") })).url;
      const refused = async (appUrl: string, file: string) => {
        const running = startConsumer([appUrl, "-n", ...fast]);
        const exit = await Promise.race([running.exited, sleep(15).then(() => undefined)]);
        if (!exit) {
          await stop(running, "SIGTERM");
          const lines = running.output().split("\n").slice(0, 3).join("\n");
          assert.fail(`the consumer started on a read-only database and kept polling:\n${lines}`);
        }
        const output = running.output().trim();
        assert.equal(exit.code, 2, output);
        assert.equal(output.split("\n").length, 1, output);
        assert.match(output, /read-only/);
        assert.ok(output.includes(file), output);
      };
      try {
        const r = await app.add(2, 3);
        // The producer keeps the database open through the writable path, as an app on
        // the host would while a consumer sees it through a read-only mount.
        execFileSync("mount", ["--bind", mnt, view]);
        execFileSync("mount", ["-o", "remount,bind,ro", view]);
        await refused(readOnly, join(view, "app.db"));
        execFileSync("mount", ["-o", "remount,bind,rw", view]);
        const running = await consumer([readOnly, "-n", ...fast]);
        try {
          assert.equal(await r.get({ blocking: true, timeout: 20 }), 5);
        } finally {
          assert.equal(await stop(running), 0, running.output());
        }
        // Closed everywhere, then the whole filesystem read-only.
        await app.huey.close();
        execFileSync("mount", ["-o", "remount,ro", mnt]);
        await refused(url, join(mnt, "app.db"));
      } finally {
        await app.huey.close();
        unmount(view);
        unmount(mnt);
      }
    },
  );
});
