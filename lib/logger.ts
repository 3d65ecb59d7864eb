/**
 * A small leveled logger. The consumer configures format and destination;
 * the library only calls it.
 *
 * @module
 */

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** What huey logs through. Any object with these four methods will do (e.g. `console`). */
export interface Logger {
  /** Detail for debugging (`-v`). */
  debug(message: string, ...details: unknown[]): void;
  /** What the consumer is doing. */
  info(message: string, ...details: unknown[]): void;
  /** Something went wrong and was handled. */
  warn(message: string, ...details: unknown[]): void;
  /** Something failed. */
  error(message: string, ...details: unknown[]): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default "warn" */
  level?: LogLevel;
  /** Where a formatted line goes. @default console.error */
  write?: (line: string, level: LogLevel) => void;
  /** Format of a line. @default `${iso time} ${LEVEL} ${message}` */
  format?: (level: LogLevel, message: string, details: unknown[]) => string;
}

/** A log detail as text: an error's stack, a string as it is, anything else as JSON. */
export function describeDetail(detail: unknown): string {
  if (detail instanceof Error) return detail.stack ?? `${detail.name}: ${detail.message}`;
  if (typeof detail === "string") return detail;
  try {
    return JSON.stringify(detail);
  } catch {
    return String(detail);
  }
}

/** The default line format: ISO time, level, message, then any details. */
export function formatLine(level: LogLevel, message: string, details: unknown[]): string {
  const extra = details.length ? " " + details.map(describeDetail).join(" ") : "";
  return `${new Date().toISOString()} ${level.toUpperCase()} ${message}${extra}`;
}

/**
 * Build a {@link Logger} that writes lines at or above `level`.
 *
 * @example Only errors, to stderr
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const logger = createLogger({ level: "error" });
 * logger.info("not written");
 * logger.error("written");
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? "warn"];
  const write = options.write ?? ((line: string) => console.error(line));
  const format = options.format ?? formatLine;
  const at = (level: LogLevel) => (message: string, ...details: unknown[]) => {
    if (RANK[level] >= min) write(format(level, message, details), level);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
