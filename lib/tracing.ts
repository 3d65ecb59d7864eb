/**
 * OpenTelemetry, when the app has `@opentelemetry/api`: a producer writes
 * its active trace context into the task (`Task.trace`, W3C `traceparent`
 * and `tracestate` through the registered propagator), and the consumer runs
 * the task function inside a span (`huey.run <task name>`, kind CONSUMER)
 * whose parent is that context, so one trace crosses from the web request
 * into the task, in whichever process runs it. Without the package (or
 * without an SDK registered) nothing is written and nothing is wrapped: the
 * cost is one check per enqueue and per run.
 *
 * The package is looked up once, when this module loads, by a name the npm
 * build does not see, so it stays an optional dependency of the app's
 * choosing (`npm i @opentelemetry/api`, or an import map entry on Deno).
 *
 * @module
 */

/** The subset of `@opentelemetry/api` used here. */
interface OtelApi {
  context: {
    active(): unknown;
    with<T>(context: unknown, fn: () => T): T;
  };
  propagation: {
    inject(context: unknown, carrier: Record<string, string>): void;
    extract(context: unknown, carrier: Record<string, string>): unknown;
  };
  trace: {
    getTracer(name: string): {
      startSpan(name: string, options: unknown, context?: unknown): OtelSpan;
    };
    setSpan(context: unknown, span: OtelSpan): unknown;
  };
  SpanKind: { CONSUMER: number };
  SpanStatusCode: { ERROR: number };
}

interface OtelSpan {
  setStatus(status: { code: number; message?: string }): void;
  recordException(error: unknown): void;
  end(): void;
}

// A variable, not a literal: the npm build lists literal imports as dependencies.
const OTEL = "@opentelemetry/api";

async function load(): Promise<OtelApi | undefined> {
  try {
    const api = (await import(OTEL)) as OtelApi & { default?: OtelApi };
    return api.propagation ? api : api.default;
  } catch {
    return undefined;
  }
}

const api: OtelApi | undefined = await load();

/** The instrumentation's name on spans. */
const TRACER = "huey";

/**
 * The active trace context as a carrier for `Task.trace`, or undefined when
 * there is none (no package, no SDK, no active span).
 *
 * @example
 * ```ts
 * import { traceCarrier } from "./tracing.ts";
 * console.log(traceCarrier()); // undefined outside a traced request
 * ```
 */
export function traceCarrier(): Record<string, string> | undefined {
  if (!api) return undefined;
  const carrier: Record<string, string> = {};
  api.propagation.inject(api.context.active(), carrier);
  return Object.keys(carrier).length ? carrier : undefined;
}

/**
 * Run `fn` (a task function's call) in a span named after `task`, a child of
 * the context the producer wrote in `task.trace` (or of none); the span
 * ends when `fn` settles, with an error status when it throws. Without the
 * package, just `fn()`.
 *
 * @example
 * ```ts
 * import { traced } from "./tracing.ts";
 * console.log(await traced({ id: "1", name: "add", retries: 0 }, () => 3)); // 3
 * ```
 */
export function traced<T>(
  task: { id: string; name: string; retries: number; trace?: Record<string, string> },
  fn: () => T,
): T | Promise<Awaited<T>> {
  if (!api) return fn();
  const otel = api;
  const parent = task.trace
    ? otel.propagation.extract(otel.context.active(), task.trace)
    : otel.context.active();
  const span = otel.trace.getTracer(TRACER).startSpan(`huey.run ${task.name}`, {
    kind: otel.SpanKind.CONSUMER,
    attributes: {
      "messaging.system": "huey",
      "messaging.operation": "process",
      "messaging.message.id": task.id,
      "huey.task.name": task.name,
      "huey.task.retries": task.retries,
    },
  }, parent);
  const fail = (error: unknown) => {
    span.recordException(error);
    span.setStatus({ code: otel.SpanStatusCode.ERROR, message: String(error) });
  };
  return otel.context.with(otel.trace.setSpan(parent, span), async (): Promise<Awaited<T>> => {
    try {
      return await fn();
    } catch (error) {
      fail(error);
      throw error;
    } finally {
      span.end();
    }
  });
}
