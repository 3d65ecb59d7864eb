/**
 * A {@link MetricsSnapshot} in Prometheus' text exposition format (0.0.4),
 * what the dashboard serves at `/metrics`.
 *
 * @module
 */
import type { MetricsSnapshot } from "./metrics.ts";

/** The content type of {@link metricsText}'s output. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A label value escaped as the format requires: backslash, double quote and newline. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function header(lines: string[], name: string, type: string, help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

/**
 * Render `snapshot` as Prometheus text: `huey_tasks_total{task,outcome}`,
 * the `huey_task_duration_seconds` histogram, `huey_messages_set_aside_total`
 * and the queue gauges, each with its HELP and TYPE lines.
 *
 * @example
 * ```ts
 * import { MemoryHuey, metricsText } from "../mod.ts";
 * const huey = new MemoryHuey();
 * console.log(metricsText(await huey.metrics()).includes("huey_queue_depth 0")); // true
 * ```
 */
export function metricsText(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  header(lines, "huey_tasks_total", "counter", "Task runs, by task and how they ended.");
  for (const m of snapshot.tasks) {
    lines.push(`huey_tasks_total{task="${label(m.task)}",outcome="${m.outcome}"} ${m.count}`);
  }
  header(
    lines,
    "huey_task_duration_seconds",
    "histogram",
    "How long task functions ran, by task and how they ended.",
  );
  for (const m of snapshot.tasks) {
    if (!m.timed) continue;
    const labels = `task="${label(m.task)}",outcome="${m.outcome}"`;
    snapshot.bounds.forEach((bound, i) => {
      lines.push(`huey_task_duration_seconds_bucket{${labels},le="${bound}"} ${m.buckets[i]}`);
    });
    lines.push(`huey_task_duration_seconds_bucket{${labels},le="+Inf"} ${m.timed}`);
    lines.push(`huey_task_duration_seconds_sum{${labels}} ${m.durationSum}`);
    lines.push(`huey_task_duration_seconds_count{${labels}} ${m.timed}`);
  }
  header(
    lines,
    "huey_messages_set_aside_total",
    "counter",
    "Messages set aside without running (undecodable, unknown task, too many deliveries).",
  );
  lines.push(`huey_messages_set_aside_total ${snapshot.setAside}`);
  const gauges: [string, number, string][] = [
    ["huey_queue_depth", snapshot.queue.queued, "Messages waiting in the queue."],
    ["huey_scheduled_tasks", snapshot.queue.scheduled, "Tasks in the schedule."],
    ["huey_running_tasks", snapshot.queue.running, "Messages leased to a consumer."],
    ["huey_results", snapshot.queue.results, "Keys in the result store."],
    ["huey_dead_letters", snapshot.queue.deadLetters, "Messages in the dead-letter store."],
  ];
  for (const [name, value, help] of gauges) {
    header(lines, name, "gauge", help);
    lines.push(`${name} ${value}`);
  }
  return lines.join("\n") + "\n";
}
