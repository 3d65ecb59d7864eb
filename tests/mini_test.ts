import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { crontab, MiniHuey } from "../mod.ts";
import { fakeClock, silent } from "./helpers.ts";

/** Wait (real time, bounded) until `check` holds: the scheduler ticks at most a second apart. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("MiniHuey", () => {
  const started: MiniHuey[] = [];
  afterEach(async () => {
    for (const mini of started.splice(0)) await mini.stop();
  });
  const make = (options: ConstructorParameters<typeof MiniHuey>[0] = {}) => {
    const mini = new MiniHuey({ logger: silent, ...options });
    started.push(mini);
    return mini;
  };

  it("runs tasks in this process once started; results are read as with any Huey", async () => {
    const mini = make();
    const add = mini.task("add", async (a: number, b: number) => a + b);
    const early = await add(1, 2);
    assert.equal(await mini.storage.queueSize(), 1, "waits in memory until start()");
    await mini.start();
    assert.equal(mini.isRunning, true);
    assert.equal(await early.get({ blocking: true, timeout: 5 }), 3);
    assert.equal(await (await add(2, 3)).get({ blocking: true, timeout: 5 }), 5);
    await mini.stop();
    assert.equal(mini.isRunning, false);
  });

  it("runs a scheduled task when its time comes on the MiniHuey's clock", async () => {
    const clock = fakeClock();
    const mini = make({ clock });
    const hello = mini.task("hello", (name: string) => `hi ${name}`);
    await mini.start();
    const r = await hello.schedule(["ann"], { delay: 60 });
    assert.equal((await mini.scheduled()).length, 1);
    clock.advance(61);
    assert.equal(await r.get({ blocking: true, timeout: 5 }), "hi ann");
  });

  it("runs periodic tasks, and a schedule that throws does not stop the others", async () => {
    const clock = fakeClock(Date.UTC(2026, 11, 1, 12, 0, 30));
    const mini = make({ clock });
    const ran: string[] = [];
    mini.periodicTask("every_minute", crontab({ minute: "*" }), () => void ran.push("tick"));
    mini.periodicTask("broken", () => {
      throw new Error("bad validator");
    }, () => void ran.push("never"));
    await mini.start();
    await until(() => ran.length === 1);
    clock.advance(60);
    await until(() => ran.length === 2);
    assert.deepEqual(ran, ["tick", "tick"]);
  });

  it("shares one event loop: poolSize tasks overlap their waits", async () => {
    const mini = make({ poolSize: 4 });
    let running = 0;
    let most = 0;
    const nap = mini.task("nap", async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 50));
      running--;
    });
    await mini.start();
    const group = await nap.map([[], [], [], []]);
    await until(async () => (await mini.storage.queueSize()) === 0 && running === 0 && most > 0);
    assert.equal(group.length, 4);
    assert.equal(most, 4);
  });
});
