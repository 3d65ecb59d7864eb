/**
 * Crontab-style schedules for periodic tasks (huey's `crontab()`).
 *
 * A schedule is a function the scheduler calls once a minute with the
 * current time; it returns `true` when the periodic task should be enqueued.
 *
 * @module
 */

import { ConfigurationError } from "./errors.ts";

/**
 * The fields of a {@link crontab}. Each field is a comma-separated list of
 * pieces; a piece is `*` (every value), `*\/n` (every n-th value counted from
 * the field's minimum), `m-n` (inclusive range), `m-n/s` (every s-th value
 * from m to n) or a single integer `m`. A number acts like its string.
 * Whitespace around pieces is ignored.
 *
 * @example Every 10 minutes from 9 to 11 and from 16 to 18
 * ```ts
 * import { crontab, type CrontabOptions } from "./crontab.ts";
 * const options: CrontabOptions = { minute: "*\/10", hour: "9-11,16-18" };
 * const schedule = crontab(options);
 * console.log(schedule(new Date("2026-01-05T09:40:00Z"))); // true
 * ```
 */
export interface CrontabOptions {
  /** Minute of the hour, 0-59. @default "*" */
  minute?: string | number;
  /** Hour of the day, 0-23. @default "*" */
  hour?: string | number;
  /** Day of the month, 1-31. @default "*" */
  day?: string | number;
  /** Month of the year, 1-12 (1 = January). @default "*" */
  month?: string | number;
  /**
   * Day of the week, 0-6 (0 = Sunday, 6 = Saturday). As in huey, a date must
   * match both `day` and `dayOfWeek` (cron would accept either).
   * @default "*"
   */
  dayOfWeek?: string | number;
  /**
   * Read the date in UTC (`true`) or in the local time zone (`false`).
   * Unset: follow the consumer's `utc` setting.
   * @default undefined
   */
  utc?: boolean;
}

/**
 * A periodic schedule: called once a minute with the current time; returns
 * true when the task should run. `utc` is the consumer's setting (default
 * true) and is ignored when the schedule fixed its own.
 *
 * @example A hand-written schedule: weekdays at 08:30 UTC
 * ```ts
 * import type { PeriodicSchedule } from "./crontab.ts";
 * const weekdayMornings: PeriodicSchedule = (date) =>
 *   date.getUTCDay() >= 1 && date.getUTCDay() <= 5 &&
 *   date.getUTCHours() === 8 && date.getUTCMinutes() === 30;
 * console.log(weekdayMornings(new Date("2026-11-23T08:30:00Z"))); // true (a Monday)
 * ```
 */
export type PeriodicSchedule = (date: Date, utc?: boolean) => boolean;

/**
 * A {@link PeriodicSchedule} built by {@link crontab}, carrying the fields it
 * was built from.
 *
 * @example Inspect a schedule
 * ```ts
 * import { crontab, type Crontab } from "./crontab.ts";
 * const backup: Crontab = crontab({ minute: 0, hour: 3 });
 * console.log(backup.spec.hour); // "3"
 * console.log(String(backup)); // crontab(minute=0, hour=3, day=*, month=*, dayOfWeek=*)
 * ```
 */
export interface Crontab extends PeriodicSchedule {
  /** The fields as given (numbers turned into strings), `"*"` by default. */
  readonly spec: Readonly<Required<Omit<CrontabOptions, "utc">>>;
  /** The `utc` option as given; unset means "follow the consumer". */
  readonly utc?: boolean;
  /** E.g. `crontab(minute=*\/3, hour=*, day=*, month=*, dayOfWeek=*)`. */
  toString(): string;
}

type FieldName = "minute" | "hour" | "day" | "month" | "dayOfWeek";

interface Field {
  readonly name: FieldName;
  readonly min: number;
  readonly max: number;
}

/** In the order huey's repr and our toString() list them. */
const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "dayOfWeek", min: 0, max: 6 },
];

const KNOWN_KEYS: readonly string[] = [...FIELDS.map((f) => f.name), "utc"];

const EVERY = /^\*\/(\d+)$/;
const RANGE = /^(\d+)-(\d+)(?:\/(\d+))?$/;
const SINGLE = /^\d+$/;

function fail(message: string): never {
  throw new ConfigurationError(`Cannot build crontab: ${message}`);
}

/** Normalizes a key so `minutes`, `Minute` and `day_of_week` find their field. */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[_\s-]/g, "").replace(/s$/, "");
}

function checkKeys(options: object): void {
  for (const key of Object.keys(options)) {
    if (KNOWN_KEYS.includes(key)) continue;
    const guess = KNOWN_KEYS.find((known) => normalizeKey(known) === normalizeKey(key));
    const hint = guess ? `did you mean ${guess}?` : `expected one of ${KNOWN_KEYS.join(", ")}`;
    fail(`unknown option ${JSON.stringify(key)}; ${hint}`);
  }
}

/** Turns one field's spec into a lookup table indexed by value. */
function parseField(field: Field, spec: string): Uint8Array {
  const { name, min, max } = field;
  const allowed = new Uint8Array(max + 1);
  const quoted = JSON.stringify(spec);
  const inRange = (piece: string, value: number): number => {
    if (value < min || value > max) {
      fail(`${name} ${JSON.stringify(piece)} is out of range ${min}-${max}`);
    }
    return value;
  };
  const addStep = (from: number, to: number, step: number): void => {
    for (let value = from; value <= to; value += step) allowed[value] = 1;
  };
  const pieces = spec.split(",");
  for (const raw of pieces) {
    const piece = raw.trim();
    if (piece === "") {
      fail(
        pieces.length === 1
          ? `${name} is empty: ${quoted}`
          : `${name} ${quoted} has an empty piece between commas`,
      );
    }
    if (piece === "*") {
      addStep(min, max, 1);
      continue;
    }
    const every = EVERY.exec(piece);
    if (every) {
      const step = Number(every[1]);
      if (step < 1) fail(`${name} ${JSON.stringify(piece)} has a step of 0; use */1 or more`);
      addStep(min, max, step);
      continue;
    }
    const range = RANGE.exec(piece);
    if (range) {
      const from = inRange(piece, Number(range[1]));
      const to = inRange(piece, Number(range[2]));
      if (from > to) {
        fail(`${name} ${JSON.stringify(piece)} is a reversed range; write ${to}-${from}`);
      }
      const step = range[3] === undefined ? 1 : Number(range[3]);
      if (step < 1) fail(`${name} ${JSON.stringify(piece)} has a step of 0; use /1 or more`);
      addStep(from, to, step);
      continue;
    }
    if (SINGLE.test(piece)) {
      allowed[inRange(piece, Number(piece))] = 1;
      continue;
    }
    fail(`${name} ${JSON.stringify(piece)} is not *, */n, m-n or m`);
  }
  return allowed;
}

function fieldSpec(name: FieldName, value: unknown): string {
  if (value === undefined) return "*";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return fail(`${name} must be a string or a number: ${String(value)}`);
}

/**
 * Builds a schedule from crontab-style fields, as huey's `crontab()`: the
 * returned function is true for a date whose minute, hour, day, month and
 * day of week all match. Unset fields match everything.
 *
 * The date is read in UTC when the consumer runs with `utc: true` (the
 * default) and in local time otherwise; `utc` given here wins over the
 * consumer's setting. Values are precomputed, so a call is a few lookups.
 *
 * @throws {ConfigurationError} on an unknown option or a field that is out
 * of range or not `*`, `*\/n`, `m-n`, `m-n/s` or `m`; the message names the
 * field and the value.
 *
 * @example Every three minutes
 * ```ts
 * import { crontab } from "./crontab.ts";
 * const everyThree = crontab({ minute: "*\/3" });
 * console.log(everyThree(new Date("2026-11-22T10:06:00Z"))); // true
 * console.log(everyThree(new Date("2026-11-22T10:07:00Z"))); // false
 * ```
 *
 * @example Mondays to Fridays at 03:00 local time, whatever the consumer says
 * ```ts
 * import { crontab } from "./crontab.ts";
 * const nightly = crontab({ minute: 0, hour: 3, dayOfWeek: "1-5", utc: false });
 * console.log(nightly(new Date(2026, 10, 23, 3, 0), true)); // true: a Monday, local time
 * ```
 */
export function crontab(options: CrontabOptions = {}): Crontab {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    fail(`options must be an object: ${String(options)}`);
  }
  checkKeys(options);
  const fixedUtc = options.utc;
  if (fixedUtc !== undefined && typeof fixedUtc !== "boolean") {
    fail(`utc must be a boolean: ${String(fixedUtc)}`);
  }
  const given = {
    minute: fieldSpec("minute", options.minute),
    hour: fieldSpec("hour", options.hour),
    day: fieldSpec("day", options.day),
    month: fieldSpec("month", options.month),
    dayOfWeek: fieldSpec("dayOfWeek", options.dayOfWeek),
  };
  const minutes = parseField(FIELDS[0], given.minute);
  const hours = parseField(FIELDS[1], given.hour);
  const days = parseField(FIELDS[2], given.day);
  const months = parseField(FIELDS[3], given.month);
  const weekdays = parseField(FIELDS[4], given.dayOfWeek);

  const schedule = (date: Date, utc: boolean = true): boolean => {
    const time = date.getTime();
    if (Number.isNaN(time)) {
      throw new TypeError(`Cannot match crontab: date is invalid: ${String(date)}`);
    }
    if (fixedUtc ?? utc) {
      return minutes[date.getUTCMinutes()] === 1 && hours[date.getUTCHours()] === 1 &&
        days[date.getUTCDate()] === 1 && months[date.getUTCMonth() + 1] === 1 &&
        weekdays[date.getUTCDay()] === 1;
    }
    return minutes[date.getMinutes()] === 1 && hours[date.getHours()] === 1 &&
      days[date.getDate()] === 1 && months[date.getMonth() + 1] === 1 &&
      weekdays[date.getDay()] === 1;
  };

  const spec = Object.freeze(given);
  const text = `crontab(${FIELDS.map((f) => `${f.name}=${spec[f.name]}`).join(", ")}${
    fixedUtc === undefined ? "" : `, utc=${fixedUtc}`
  })`;
  Object.defineProperties(schedule, {
    spec: { value: spec, enumerable: true },
    utc: { value: fixedUtc, enumerable: true },
    toString: { value: () => text },
  });
  return schedule as Crontab;
}
