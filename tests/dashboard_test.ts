/**
 * The dashboard handler on a real SQLite file: what each path answers,
 * that GET changes nothing, the checks an action must pass (CSRF), the auth
 * hook, escaping, bad input, a storage that fails, and the two ways to
 * serve it (node:http through nodeListener, serveDashboard on this runtime).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { crontab, nodeListener, serveDashboard, SqliteHuey } from "../mod.ts";
import type { Overview } from "../mod.ts";
import { runtimeName } from "../lib/runtime.ts";
import { dashboardFlags } from "../lib/dashboard/command.ts";
import { freshApp, startConsumer, stop, tempDir, uniqueName, until } from "./process_helpers.ts";

const dir = tempDir("huey-dashboard-");
const ORIGIN = "http://dash.test";

function app() {
  const huey = new SqliteHuey({ name: "dash", filename: join(dir, `${uniqueName()}.db`) });
  after(() => huey.close());
  const add = huey.task("add", (a: number, b: number) => a + b);
  const evil = huey.task("<script>alert(1)</script>", (s: string) => s);
  huey.periodicTask("report", crontab({ minute: "*/5" }), () => {});
  return { huey, add, evil };
}

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return new Request(`${ORIGIN}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-huey-dashboard": "1",
      origin: ORIGIN,
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("dashboard handler", () => {
  it("serves the page under its prefix, redirects the bare prefix, and answers 404 with a message elsewhere", async () => {
    const { huey } = app();
    const dashboard = huey.dashboard({ prefix: "/admin/huey/" });
    const page = await dashboard(new Request(`${ORIGIN}/admin/huey/`));
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /^text\/html/);
    assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
    assert.match(await page.text(), /<title>huey dashboard<\/title>/);
    const bare = await dashboard(new Request(`${ORIGIN}/admin/huey`));
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get("location"), "/admin/huey/");
    for (const path of ["/admin/huey/nope", "/admin/hueyx/", "/", "/admin/huey/api/overview/x"]) {
      const response = await dashboard(new Request(`${ORIGIN}${path}`));
      assert.equal(response.status, 404, path);
      assert.match((await response.json()).error, /^Not found: /);
    }
    const put = await dashboard(new Request(`${ORIGIN}/admin/huey/`, { method: "PUT" }));
    assert.equal(put.status, 405);
    assert.match((await put.json()).error, /Method PUT is not allowed/);
  });

  it("shows the queue, schedule, tasks, periodic tasks and errors as JSON; the page holds none of it", async () => {
    const { huey, add, evil } = app();
    await add(1, 2);
    await evil("<img src=x onerror=alert(2)>");
    await add.schedule([3, 4], { delay: 600 });
    await huey.storage.putError("garbage", "SerializationError: not a message", huey.now());
    const dashboard = huey.dashboard();
    const response = await dashboard(new Request(`${ORIGIN}/api/overview`));
    assert.equal(response.status, 200);
    const overview = (await response.json()) as Overview;
    assert.deepEqual(overview.pending.map((t) => [t.name, t.args]), [
      ["add", "[1,2]"],
      ["<script>alert(1)</script>", '["<img src=x onerror=alert(2)>"]'],
    ]);
    assert.deepEqual(overview.scheduled.map((t) => t.args), ["[3,4]"]);
    assert.ok(overview.scheduled[0].eta! > huey.now() + 590_000);
    assert.deepEqual(overview.tasks.map((t) => t.name).sort(), [
      "<script>alert(1)</script>",
      "add",
      "report",
    ]);
    assert.equal(overview.periodic[0].name, "report");
    assert.match(overview.periodic[0].schedule, /^crontab\(minute=\*\/5/);
    assert.equal(overview.periodic[0].nextRun! % 300_000, 0);
    assert.deepEqual(
      overview.deadLetters.map((d) => [d.reason, d.args]),
      [["SerializationError: not a message", "garbage"]],
    );
    assert.equal(overview.metrics.queue.queued, 2);
    assert.equal(overview.metrics.queue.scheduled, 1);
    const page = await (await dashboard(new Request(`${ORIGIN}/`))).text();
    assert.doesNotMatch(page, /alert\(/, "the page carries no data: the script renders it as text");
    assert.doesNotMatch(page, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it("serves Prometheus text at /metrics", async () => {
    const { huey } = app();
    const response = await huey.dashboard()(new Request(`${ORIGIN}/metrics`));
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.match(text, /^# TYPE huey_tasks_total counter$/m);
    assert.match(text, /^huey_queue_depth 0$/m);
  });

  it("changes nothing on GET: an action's path answers 404 to GET, and the storage is as it was", async () => {
    const { huey, add } = app();
    const dashboard = huey.dashboard();
    for (const path of ["/api/revoke", "/api/restore", "/api/requeue", "/api/cancel"]) {
      const response = await dashboard(new Request(`${ORIGIN}${path}?task=add&id=x`));
      assert.equal(response.status, 404, path);
    }
    assert.equal(await huey.isRevoked(add), false);
  });

  it("revokes and restores a task type by POST from its own origin", async () => {
    const { huey, add } = app();
    const dashboard = huey.dashboard();
    const revoked = await dashboard(post("/api/revoke", { task: "add" }));
    assert.equal(revoked.status, 200);
    assert.deepEqual(await revoked.json(), { ok: true, task: "add", revoked: true });
    assert.equal(await huey.isRevoked(add), true);
    const overview =
      (await (await dashboard(new Request(`${ORIGIN}/api/overview`))).json()) as Overview;
    assert.equal(overview.tasks.find((t) => t.name === "add")!.revoked, true);
    assert.equal((await dashboard(post("/api/restore", { task: "add" }))).status, 200);
    assert.equal(await huey.isRevoked(add), false);
  });

  it("requeues a dead letter by POST: it goes back to the queue and leaves the store", async () => {
    const { huey, add } = app();
    const dashboard = huey.dashboard();
    await huey.storage.putError(huey.encodeTask(add.s(1, 2)), "Error: boom", huey.now());
    const [letter] = await huey.deadLetters();
    const overview =
      (await (await dashboard(new Request(`${ORIGIN}/api/overview`))).json()) as Overview;
    assert.deepEqual(overview.deadLetters.map((d) => [d.id, d.taskName, d.args]), [[
      letter.id,
      "add",
      "[1,2]",
    ]]);
    const missing = await dashboard(post("/api/requeue", { id: "nosuch" }));
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error, /No dead letter "nosuch"/);
    const requeued = await dashboard(post("/api/requeue", { id: letter.id }));
    assert.deepEqual(await requeued.json(), { ok: true, requeued: 1 });
    assert.equal(await huey.storage.queueSize(), 1);
    assert.deepEqual(await huey.deadLetters(), []);
    assert.equal((await huey.executeNext())?.value, 3);
    assert.deepEqual(await (await dashboard(post("/api/requeue", { id: "all" }))).json(), {
      ok: true,
      requeued: 0,
    });
  });

  it("cancels a waiting task by POST: it never runs; an unknown id is 404, a bad one 400", async () => {
    const { huey, add } = app();
    const dashboard = huey.dashboard();
    const result = await add(1, 2);
    const cancelled = await dashboard(post("/api/cancel", { id: result.id }));
    assert.deepEqual(await cancelled.json(), { ok: true, cancelled: true });
    const outcome = await huey.executeNext();
    assert.notEqual(outcome?.status, "complete");
    assert.equal(outcome?.value, undefined);
    const unknown = await dashboard(post("/api/cancel", { id: "nosuch" }));
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).error, /No task "nosuch" to cancel/);
    const bad = await dashboard(post("/api/cancel", { id: "%lock:x" }));
    assert.equal(bad.status, 400);
  });

  it("refuses an action without the header, from another origin, or not in JSON (CSRF), changing nothing", async () => {
    const { huey, add } = app();
    const dashboard = huey.dashboard();
    const cases: [Request, number, RegExp][] = [
      [
        post("/api/revoke", { task: "add" }, { origin: "http://evil.test" }),
        403,
        /from http:\/\/evil\.test/,
      ],
      [post("/api/revoke", { task: "add" }, { "x-huey-dashboard": "" }), 403, /X-Huey-Dashboard/],
      [
        post("/api/revoke", "task=add", { "content-type": "application/x-www-form-urlencoded" }),
        415,
        /application\/json/,
      ],
    ];
    for (const [request, status, message] of cases) {
      const response = await dashboard(request);
      assert.equal(response.status, status);
      assert.match((await response.json()).error, message);
    }
    assert.equal(await huey.isRevoked(add), false);
  });

  it("answers 400 or 404 with a message for bad bodies, unknown tasks and missing rooms", async () => {
    const { huey } = app();
    const dashboard = huey.dashboard();
    const cases: [Request, number, RegExp][] = [
      [post("/api/revoke", "{not json"), 400, /Cannot read the body as JSON/],
      [post("/api/revoke", { task: 7 }), 400, /task is number/],
      [post("/api/revoke", { task: "nosuch" }), 404, /Unknown task "nosuch"/],
      [post("/api/nope", { id: "x" }), 404, /Not found: POST \/api\/nope/],
    ];
    for (const [request, status, message] of cases) {
      const response = await dashboard(request);
      assert.equal(response.status, status, String(message));
      assert.match((await response.json()).error, message);
    }
  });

  it("asks the auth hook first: false answers 401 on every path", async () => {
    const { huey, add } = app();
    const seen: string[] = [];
    const dashboard = huey.dashboard({
      auth: (request) => {
        seen.push(new URL(request.url).pathname);
        return request.headers.get("authorization") === "Bearer ok";
      },
    });
    for (const request of [new Request(`${ORIGIN}/`), post("/api/revoke", { task: "add" })]) {
      const response = await dashboard(request);
      assert.equal(response.status, 401);
      assert.deepEqual(await response.json(), { error: "Not authorized" });
    }
    assert.equal(await huey.isRevoked(add), false);
    const ok = await dashboard(
      new Request(`${ORIGIN}/metrics`, { headers: { authorization: "Bearer ok" } }),
    );
    assert.equal(ok.status, 200);
    assert.deepEqual(seen, ["/", "/api/revoke", "/metrics"]);
  });

  it("answers 503 with a message when the storage fails, and keeps answering", async () => {
    const { huey } = app();
    const dashboard = huey.dashboard();
    await huey.storage.close();
    for (const path of ["/api/overview", "/metrics"]) {
      const response = await dashboard(new Request(`${ORIGIN}${path}`));
      assert.equal(response.status, 503, path);
      assert.match((await response.json()).error, /^Cannot read the storage: /);
    }
    assert.equal(
      (await dashboard(new Request(`${ORIGIN}/`))).status,
      200,
      "the page needs no storage",
    );
  });

  it("rejects bad options with a typed error naming them", () => {
    const { huey } = app();
    assert.throws(() => huey.dashboard({ prefix: "admin" }), TypeError);
    assert.throws(() => huey.dashboard({ prefix: "/a b" }), /prefix must be/);
    assert.throws(() => huey.dashboard({ limit: 0 }), RangeError);
    assert.throws(() => huey.dashboard({ auth: "yes" as never }), /auth must be a function/);
  });
});

describe("serving the dashboard", () => {
  it("runs in node:http through nodeListener, actions included", async () => {
    const { huey, add } = app();
    const server = createServer(nodeListener(huey.dashboard({ prefix: "/admin/huey" })));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/huey`;
    const overview = await fetch(`${base}/api/overview`);
    assert.equal(overview.status, 200);
    assert.equal(((await overview.json()) as Overview).name, "dash");
    const revoke = await fetch(`${base}/api/revoke`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-huey-dashboard": "1",
        origin: new URL(base).origin,
      },
      body: JSON.stringify({ task: "add" }),
    });
    assert.equal(revoke.status, 200);
    assert.equal(await huey.isRevoked(add), true);
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });

  it("serveDashboard listens on this runtime's own server until close()", async () => {
    const { huey } = app();
    const server = await serveDashboard(huey, { port: 0, prefix: "/huey" });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/huey\/$/);
      const response = await fetch(`${server.url}metrics`);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /huey_queue_depth 0/);
    } finally {
      await server.close();
    }
    await assert.rejects(serveDashboard(huey, { port: 70000 }), RangeError);
  });
});

describe("the dashboard command", () => {
  it("parses its flags, naming a bad one", () => {
    assert.deepEqual(dashboardFlags(["--port", "9000", "--prefix", "/q", "-H", "0.0.0.0"]), {
      port: 9000,
      prefix: "/q",
      hostname: "0.0.0.0",
    });
    assert.throws(() => dashboardFlags(["--port", "http"]), /--port must be 0-65535: http/);
    assert.throws(() => dashboardFlags(["--colour"]), /Unknown option '--colour'/);
  });

  it("huey dashboard app.ts serves the app's dashboard from its own process until SIGINT, then exits 0", async () => {
    const app = await freshApp(dir);
    after(() => app.app.huey.close());
    await app.app.add(1, 2);
    const running = startConsumer(["dashboard", app.url, "--port", "0", "--prefix", "/ops"]);
    const output = running.output;
    await until(
      () => /Dashboard of consumer-test at http:\S+\/ops\//.test(output()),
      20_000,
      output,
    );
    const url = /at (http:\S+)/.exec(output())![1];
    const overview = await fetch(`${url}api/overview`);
    assert.equal(overview.status, 200);
    assert.equal(((await overview.json()) as Overview).pending[0].name, "add");
    const code = await stop(running);
    // Deno's node:child_process reports a signalled child as killed even when it exited 0.
    assert.ok(
      code === 0 || (code === null && runtimeName() === "deno"),
      `exit ${code}: ${output()}`,
    );
  });
});
