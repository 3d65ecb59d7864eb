/**
 * OpenTelemetry across processes: a producer enqueues inside a span (a web
 * request, say); a consumer process (`cli.ts`) with its own SDK runs the
 * task in a child span of it, on SQLite and on Redis. Without a producer
 * span the message carries no trace context and the run's span is a root.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { appPath, consumer, fast, stop, tempDir, uniqueName, until } from "./process_helpers.ts";
import type { App, Running } from "./process_helpers.ts";
import type { AppConfig } from "./fixtures/consumer_app.ts";
import { registerTracing, unregisterTracing } from "./fixtures/tracing.ts";
import type { SpanLine } from "./fixtures/tracing.ts";
import { describeWithRedis } from "./redis_server.ts";

const dir = tempDir("huey-tracing-");
registerTracing();
after(unregisterTracing);
const tracer = trace.getTracer("test");

/** An app module whose process registers the SDK, exporting spans to its own file. */
async function tracedApp(config: Partial<AppConfig>) {
  const id = uniqueName();
  const spansFile = join(dir, `${id}.spans`);
  const url = join(dir, `${id}_app.ts`);
  // URLs written as literals: the npm build's copy points them at its .js files.
  const tracing = JSON.stringify(new URL("./fixtures/tracing.ts", import.meta.url).href);
  writeFileSync(
    url,
    `import { registerTracing } from ${tracing};\n` +
      `import { makeApp } from ${JSON.stringify(pathToFileURL(appPath).href)};\n` +
      `registerTracing(${JSON.stringify(spansFile)});\n` +
      `export const app = makeApp(${JSON.stringify({ db: join(dir, `${id}.db`), ...config })});\n` +
      `export const huey = app.huey;\n`,
  );
  const app: App = (await import(pathToFileURL(url).href)).app;
  const spans = (): SpanLine[] =>
    existsSync(spansFile)
      ? readFileSync(spansFile, "utf8").trim().split("\n").map((l) => JSON.parse(l))
      : [];
  return { url, app, spans };
}

function tracingTests(storage: string, config: () => Partial<AppConfig>) {
  describe(
    `tracing on ${storage} (a consumer process with its own SDK)`,
    { timeout: 60_000 },
    () => {
      let t: Awaited<ReturnType<typeof tracedApp>>;
      let running: Running;
      before(async () => {
        t = await tracedApp(config());
        running = await consumer([t.url, "-n", ...fast]);
      });
      after(async () => {
        if (running) await stop(running);
        await t?.app.huey.close();
      });

      it("runs a task in a child span of the producer's span, across processes", async () => {
        const { add, flaky } = t.app;
        const request = tracer.startSpan("GET /signup");
        const [ok] = await context.with(
          trace.setSpan(context.active(), request),
          async () => [await add(1, 2), await flaky()],
        );
        request.end();
        const { traceId, spanId } = request.spanContext();
        assert.equal(await ok.get({ blocking: true, timeout: 10 }), 3);
        // (flaky's first attempt fails and is retried a second later; its spans tell both.)
        await until(
          () => t.spans().filter((s) => s.traceId === traceId).length >= 3,
          10_000,
          running.output,
        );
        const runs = t.spans().filter((s) => s.traceId === traceId);
        const addRun = runs.find((s) => s.name === "huey.run add")!;
        assert.equal(addRun.parentSpanId, spanId, "the run's parent is the request's span");
        assert.equal(addRun.kind, 4 /* CONSUMER */);
        assert.equal(addRun.attributes["messaging.message.id"], ok.id);
        assert.equal(addRun.status, SpanStatusCode.UNSET);
        const flakyRuns = runs.filter((s) => s.name === "huey.run flaky");
        assert.deepEqual(
          flakyRuns.map((s) => [s.parentSpanId, s.status]),
          [[spanId, SpanStatusCode.ERROR], [spanId, SpanStatusCode.UNSET]],
          "the failed attempt and its retry, both in the request's trace",
        );
      });

      it("writes no trace context without a producer span, and the run's span is a root", async () => {
        const { huey, add } = t.app;
        const task = add.s(5, 5);
        assert.equal(task.trace, undefined);
        assert.doesNotMatch(huey.encodeTask(task), /trace/);
        const result = await huey.enqueue(task);
        assert.equal(await result.get({ blocking: true, timeout: 10 }), 10);
        await until(
          () => t.spans().some((s) => s.attributes["messaging.message.id"] === task.id),
          10_000,
        );
        const run = t.spans().find((s) => s.attributes["messaging.message.id"] === task.id)!;
        assert.equal(run.parentSpanId, undefined);
      });
    },
  );
}

tracingTests("SQLite", () => ({}));
await describeWithRedis("tracing on Redis (a consumer process with its own SDK)", (server) => {
  after(() => server.stop());
  tracingTests("Redis", () => ({ redis: server.url, name: `trace-${uniqueName()}` }));
});

describe("the trace field of a message", () => {
  it("is checked like every field: a message with a bad one is refused, naming it", async () => {
    const { app } = await tracedApp({});
    after(() => app.huey.close());
    const message = JSON.parse(app.huey.encodeTask(app.add.s(1, 2)).replace(/^\w:/, ""));
    for (const bad of [5, [], {}, { traceparent: "x".repeat(513) }, { "Bad Name": "x" }]) {
      const data = app.huey.encodeTask(app.add.s(1, 2)).replace(
        /\{.*\}$/,
        JSON.stringify({ ...message, trace: bad }),
      );
      assert.throws(
        () => app.huey.decodeTask(data),
        /trace must be a trace context/,
        JSON.stringify(bad),
      );
    }
  });
});
