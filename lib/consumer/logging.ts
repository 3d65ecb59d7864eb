/**
 * The consumer's log output: level, format and destination from the CLI.
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import { createLogger, describeDetail, formatLine } from "../logger.ts";
import type { Logger, LogLevel } from "../logger.ts";

/** How a log line is written: `text` (`<time> <LEVEL> message`) or `json` (one object a line). */
export type LogFormat = "text" | "json";

/** The log formats `--log-format` accepts. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** Options of {@link consumerLogger}. */
export interface ConsumerLoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Append to this file instead of stderr. */
  logfile?: string;
  /** `HH:MM:SS message` lines (text format only). @default false */
  simple?: boolean;
  /** Prefix naming the process or worker, e.g. `worker 2`. */
  source?: string;
  /**
   * `json`: one object a line, `{ time, level, message, task?, id?, source?, details? }`,
   * for log collectors. @default "text"
   */
  format?: LogFormat;
  /**
   * The app's task names: a JSON line about a task (its message names it
   * as huey prints a task, `name: id`) gets `task` and `id` fields.
   */
  taskNames?: () => readonly string[];
}

/**
 * The task named in `message` (huey writes a task as `name: id`), found by
 * the app's task names, longest first, so that `send.email: 1` is not read
 * as task `send`.
 */
function taskIn(
  message: string,
  names: readonly string[],
): { task: string; id: string } | undefined {
  for (const name of [...names].sort((a, b) => b.length - a.length)) {
    let at = message.indexOf(`${name}: `);
    while (at >= 0) {
      if (at === 0 || message[at - 1] === " ") {
        const id = /^\S+/.exec(message.slice(at + name.length + 2))?.[0].replace(/[,;)]$/, "");
        if (id) return { task: name, id };
      }
      at = message.indexOf(`${name}: `, at + 1);
    }
  }
  return undefined;
}

/** One JSON object for a log line (see {@link ConsumerLoggerOptions.format}). */
function jsonLine(
  level: LogLevel,
  message: string,
  details: unknown[],
  options: ConsumerLoggerOptions,
): string {
  const task = taskIn(message, options.taskNames?.() ?? []);
  return JSON.stringify({
    time: new Date().toISOString(),
    level,
    message,
    ...task,
    ...(options.source ? { source: options.source } : {}),
    ...(details.length ? { details: details.map(describeDetail).join("\n") } : {}),
  });
}

/**
 * The consumer's logger: `2026-11-23T09:30:00.000Z INFO [pid] message`, or
 * with `simple` `09:30:00 message`, or with `format: "json"` one JSON object
 * a line, to stderr or appended to `logfile`.
 *
 * @example
 * ```ts
 * import { consumerLogger } from "./logging.ts";
 * const logger = consumerLogger({ level: "debug", simple: true });
 * logger.info("consumer started");
 * const json = consumerLogger({ format: "json", taskNames: () => ["add"] });
 * json.info("Executing add: 42"); // {"time":"...","level":"info","message":"Executing add: 42","task":"add","id":"42"}
 * ```
 */
export function consumerLogger(options: ConsumerLoggerOptions = {}): Logger {
  const source = options.source ? `[${options.source}] ` : "";
  const write = options.logfile
    ? (line: string) => appendFileSync(options.logfile!, line + "\n")
    : (line: string) => console.error(line);
  return createLogger({
    level: options.level ?? "info",
    write,
    format: (level, message, details) => {
      if (options.format === "json") return jsonLine(level, message, details, options);
      const line = formatLine(level, `${source}${message}`, details);
      // formatLine gives "<ISO time> <LEVEL> <text>"; the simple form keeps HH:MM:SS and the text.
      return options.simple
        ? `${line.slice(11, 19)} ${line.slice(line.indexOf(" ", 25) + 1)}`
        : line;
    },
  });
}
