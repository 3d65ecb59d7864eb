/**
 * The consumer's log output: level, format and destination from the CLI.
 *
 * @module
 */
import { appendFileSync } from "node:fs";
import { createLogger, formatLine } from "../logger.ts";
import type { Logger, LogLevel } from "../logger.ts";

/** Options of {@link consumerLogger}. */
export interface ConsumerLoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Append to this file instead of stderr. */
  logfile?: string;
  /** `HH:MM:SS message` lines. @default false */
  simple?: boolean;
  /** Prefix naming the process or worker, e.g. `worker 2`. */
  source?: string;
}

/**
 * The consumer's logger: `2026-11-23T09:30:00.000Z INFO [pid] message`, or
 * with `simple` `09:30:00 message`, to stderr or appended to `logfile`.
 *
 * @example
 * ```ts
 * import { consumerLogger } from "./logging.ts";
 * const logger = consumerLogger({ level: "debug", simple: true });
 * logger.info("consumer started");
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
      const line = formatLine(level, `${source}${message}`, details);
      // formatLine gives "<ISO time> <LEVEL> <text>"; the simple form keeps HH:MM:SS and the text.
      return options.simple
        ? `${line.slice(11, 19)} ${line.slice(line.indexOf(" ", 25) + 1)}`
        : line;
    },
  });
}
