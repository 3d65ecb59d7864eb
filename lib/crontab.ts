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
 * Whitespace around pieces is ignored. `month` also takes the names
 * `jan`-`dec` and `dayOfWeek` the names `sun`-`sat` (any case), as values
 * and in ranges (`mon-fri`).
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
   * Day of the week, 0-7 (0 and 7 = Sunday, 6 = Saturday). As in huey, a
   * date must match both `day` and `dayOfWeek` (see `dayOr`), and `*\/n` is
   * refused here (list the days instead).
   * @default "*"
   */
  dayOfWeek?: string | number;
  /**
   * Read the date in UTC (`true`) or in the local time zone (`false`).
   * Unset: follow the consumer's `utc` setting. Not with `timezone`.
   * @default undefined
   */
  utc?: boolean;
  /**
   * Read the date in this IANA time zone (`"Europe/Berlin"`), whatever the
   * consumer's setting. Across a daylight-saving change a schedule with a
   * fixed hour runs once: at a wall-clock time the change skips, it runs
   * right after the change; at one it repeats, only the first time.
   * @default undefined
   */
  timezone?: string;
  /**
   * Match a date when `day` OR `dayOfWeek` matches, as cron does when both
   * are restricted, instead of huey's AND.
   * @default false
   */
  dayOr?: boolean;
}

/** What a {@link crontab} cron string takes besides its five fields. */
export type CrontabStringOptions = Pick<CrontabOptions, "utc" | "timezone" | "dayOr">;

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
  readonly spec: Readonly<Record<CrontabField, string>>;
  /** The `utc` option as given; unset means "follow the consumer". */
  readonly utc?: boolean;
  /** The `timezone` option as given. */
  readonly timezone?: string;
  /** True when `day` OR `dayOfWeek` is enough. */
  readonly dayOr: boolean;
  /**
   * The first minute after `after` that this schedule matches (what the
   * consumer would enqueue next), read as the schedule is (its `timezone`,
   * its `utc`, or the consumer's `utc` given here).
   */
  nextRun(after: Date, utc?: boolean): Date;
  /** E.g. `crontab(minute=*\/3, hour=*, day=*, month=*, dayOfWeek=*)`. */
  toString(): string;
}

/** The names of a crontab's five fields, in cron's order. */
export type CrontabField = "minute" | "hour" | "day" | "month" | "dayOfWeek";

interface Field {
  readonly name: CrontabField;
  readonly min: number;
  readonly max: number;
  /** Names accepted for values, lower case, the first for `min`. */
  readonly names?: readonly string[];
}

const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

/** In the order huey's repr, cron strings and our toString() list them. */
const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  // 7 is Sunday too, as in cron; it is folded onto 0.
  { name: "dayOfWeek", min: 0, max: 7, names: WEEKDAYS },
];

const SETTINGS = ["utc", "timezone", "dayOr"] as const;
const KNOWN_KEYS: readonly string[] = [...FIELDS.map((f) => f.name), ...SETTINGS];

const EVERY = /^\*\/(\d+)$/;
const VALUE = "(\\d+|[a-z]{3})";
const RANGE = new RegExp(`^${VALUE}-${VALUE}(?:/(\\d+))?$`, "i");
const SINGLE = new RegExp(`^${VALUE}$`, "i");

/** Cron's shorthands for whole strings. */
const SHORTHANDS: Readonly<Record<string, string>> = {
  "@hourly": "0 * * * *",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@weekly": "0 0 * * 0",
  "@monthly": "0 0 1 * *",
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
};

/** Days in each month, February in a leap year: the dates that can exist. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const MINUTE = 60_000;

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
  const { name, min, max, names } = field;
  const allowed = new Uint8Array(max + 1);
  const quoted = JSON.stringify(spec);
  const value = (piece: string, text: string): number => {
    const named = names?.indexOf(text.toLowerCase()) ?? -1;
    if (named >= 0) return min + named;
    if (!/^\d+$/.test(text)) {
      fail(
        `${name} ${JSON.stringify(piece)} uses an unknown name ${JSON.stringify(text)}${
          names ? `; expected ${names[0]}-${names[names.length - 1]}` : ""
        }`,
      );
    }
    const number = Number(text);
    if (number < min || number > max) {
      fail(`${name} ${JSON.stringify(piece)} is out of range ${min}-${max}`);
    }
    return number;
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
      addStep(min, names === WEEKDAYS ? max - 1 : max, 1);
      continue;
    }
    const every = EVERY.exec(piece);
    if (every) {
      const step = Number(every[1]);
      if (step < 1) fail(`${name} ${JSON.stringify(piece)} has a step of 0; use */1 or more`);
      if (names === WEEKDAYS) {
        fail(
          `${name} ${
            JSON.stringify(piece)
          }: */n is not allowed for dayOfWeek, as in huey; list the days (e.g. 0,2,4,6)`,
        );
      }
      addStep(min, max, step);
      continue;
    }
    const range = RANGE.exec(piece);
    if (range) {
      const from = value(piece, range[1]);
      const to = value(piece, range[2]);
      if (from > to) {
        fail(`${name} ${JSON.stringify(piece)} is a reversed range; write ${range[2]}-${range[1]}`);
      }
      const step = range[3] === undefined ? 1 : Number(range[3]);
      if (step < 1) fail(`${name} ${JSON.stringify(piece)} has a step of 0; use /1 or more`);
      addStep(from, to, step);
      continue;
    }
    if (SINGLE.test(piece)) {
      allowed[value(piece, piece)] = 1;
      continue;
    }
    fail(`${name} ${JSON.stringify(piece)} is not *, */n, m-n or m${names ? " (or a name)" : ""}`);
  }
  if (names === WEEKDAYS && allowed[7]) allowed[0] = 1;
  return allowed;
}

function fieldSpec(name: CrontabField, value: unknown): string {
  if (value === undefined) return "*";
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return fail(`${name} must be a string or a number: ${String(value)}`);
}

/** The wall-clock fields a schedule matches: month 1-12, weekday 0-6 (Sunday 0). */
interface WallTime {
  minute: number;
  hour: number;
  day: number;
  month: number;
  weekday: number;
}

/** How a schedule reads an instant (ms since the epoch, at a whole minute). */
interface Clock {
  read(time: number): WallTime;
  /** Minutes the wall clock is ahead of UTC at `time`; absent where it never changes. */
  offset?(time: number): number;
}

const UTC_CLOCK: Clock = {
  read(time) {
    const d = new Date(time);
    const [minute, hour, day] = [d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate()];
    return { minute, hour, day, month: d.getUTCMonth() + 1, weekday: d.getUTCDay() };
  },
};

const LOCAL_CLOCK: Clock = {
  read(time) {
    const d = new Date(time);
    return {
      minute: d.getMinutes(),
      hour: d.getHours(),
      day: d.getDate(),
      month: d.getMonth() + 1,
      weekday: d.getDay(),
    };
  },
  offset: (time) => -new Date(time).getTimezoneOffset(),
};

/** A clock in the IANA zone `timeZone`; a ConfigurationError names a zone the runtime does not know. */
function zoneClock(timeZone: string): Clock {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
  } catch (error) {
    fail(
      `timezone ${JSON.stringify(timeZone)} is not an IANA time zone this runtime knows (${
        (error as Error).message
      }); e.g. "Europe/Berlin"`,
    );
  }
  const fields = (time: number) => {
    const out: Record<string, string> = {};
    for (const part of format.formatToParts(time)) out[part.type] = part.value;
    return out;
  };
  return {
    read(time) {
      const f = fields(time);
      return {
        minute: Number(f.minute),
        hour: Number(f.hour),
        day: Number(f.day),
        month: Number(f.month),
        weekday: WEEKDAYS.indexOf(f.weekday.toLowerCase() as typeof WEEKDAYS[number]),
      };
    },
    offset(time) {
      const f = fields(time);
      const wall = Date.UTC(+f.year, +f.month - 1, +f.day, +f.hour, +f.minute);
      return Math.round((wall - Math.floor(time / MINUTE) * MINUTE) / MINUTE);
    },
  };
}

/** The compiled fields, and how to match a wall-clock time and an instant. */
class Matcher {
  readonly #minutes: Uint8Array;
  readonly #hours: Uint8Array;
  readonly #days: Uint8Array;
  readonly #months: Uint8Array;
  readonly #weekdays: Uint8Array;
  /** Day OR weekday (both restricted and `dayOr`). */
  readonly #either: boolean;
  /** A fixed hour: daylight-saving changes are smoothed (see `timezone`). */
  readonly #fixedHour: boolean;

  constructor(spec: Record<CrontabField, string>, dayOr: boolean) {
    const [minutes, hours, days, months, weekdays] = FIELDS.map((f) => parseField(f, spec[f.name]));
    this.#minutes = minutes;
    this.#hours = hours;
    this.#days = days;
    this.#months = months;
    this.#weekdays = weekdays;
    const every = (table: Uint8Array, from: number, to: number) =>
      table.subarray(from, to + 1).every((v) => v === 1);
    this.#either = dayOr && !every(days, 1, 31) && !every(weekdays, 0, 6);
    this.#fixedHour = !every(hours, 0, 23);
    if (
      !this.#either &&
      !MONTH_DAYS.some((n, m) => months[m + 1] && days.subarray(1, n + 1).includes(1))
    ) {
      fail(
        `day ${JSON.stringify(spec.day)} and month ${
          JSON.stringify(spec.month)
        } never fall on one date (e.g. day 31 of February): the schedule would never run`,
      );
    }
  }

  #dayMatches(w: WallTime): boolean {
    if (this.#months[w.month] !== 1) return false;
    const day = this.#days[w.day] === 1;
    const weekday = this.#weekdays[w.weekday] === 1;
    return this.#either ? day || weekday : day && weekday;
  }

  #matches(w: WallTime): boolean {
    return this.#minutes[w.minute] === 1 && this.#hours[w.hour] === 1 && this.#dayMatches(w);
  }

  /**
   * Whether the whole minute `time` matches on `clock`. With a fixed hour
   * and a clock that changes its offset: the first minute after a jump
   * forward matches if a skipped wall-clock minute would have, and the
   * second pass of a repeated wall-clock minute does not.
   */
  matchesAt(time: number, clock: Clock): boolean {
    const wall = clock.read(time);
    const smooth = this.#fixedHour && clock.offset !== undefined;
    if (this.#matches(wall)) return !(smooth && this.#repeated(time, clock));
    return smooth && this.#skippedMatch(time, clock);
  }

  #skippedMatch(time: number, clock: Clock): boolean {
    const before = clock.offset!(time - MINUTE);
    const skipped = clock.offset!(time) - before;
    if (skipped <= 0) return false;
    // The wall-clock minutes between the last one shown and this one.
    const lastShown = time - MINUTE + before * MINUTE;
    for (let k = 1; k <= skipped; k++) {
      if (this.#matches(UTC_CLOCK.read(lastShown + k * MINUTE))) return true;
    }
    return false;
  }

  #repeated(time: number, clock: Clock): boolean {
    // Offset changes are months apart: three hours back is before any recent one.
    const earlier = clock.offset!(time - 180 * MINUTE);
    const back = earlier - clock.offset!(time);
    return back > 0 && clock.offset!(time - back * MINUTE) === earlier;
  }

  /** The first whole minute after `after` that matches on `clock`. */
  next(after: number, clock: Clock): number {
    let time = Math.floor(after / MINUTE) * MINUTE + MINUTE;
    const smooth = this.#fixedHour && clock.offset !== undefined;
    // Impossible dates are refused at construction; a leap day on a given
    // weekday is the longest wait (28 years: about 20,000 day steps).
    for (let steps = 0; steps < 1_000_000; steps++) {
      const w = clock.read(time);
      if (!this.#dayMatches(w)) {
        // To the next midnight, less an hour while more than one is left,
        // so a daylight-saving change cannot make it overshoot.
        const toMidnight = (23 - w.hour) * 60 + 60 - w.minute;
        time += (toMidnight > 60 ? toMidnight - 60 : toMidnight) * MINUTE;
        continue;
      }
      if (this.#hours[w.hour] !== 1 || this.#minutes[w.minute] !== 1) {
        if (smooth && this.#skippedMatch(time, clock)) return time;
        let minute = w.minute + 1;
        if (this.#hours[w.hour] === 1) {
          while (minute < 60 && this.#minutes[minute] !== 1) minute++;
        } else minute = 60;
        time += (minute - w.minute) * MINUTE;
        continue;
      }
      if (!(smooth && this.#repeated(time, clock))) return time;
      time += MINUTE;
    }
    throw new RangeError(
      `Cannot find the next run of a crontab after ${new Date(after).toISOString()}`,
    );
  }
}

/** The schedule's clock for the consumer's `utc` setting. */
function clockFor(settings: CrontabStringOptions, zone: Clock | undefined, utc: boolean): Clock {
  return zone ?? ((settings.utc ?? utc) ? UTC_CLOCK : LOCAL_CLOCK);
}

function build(options: CrontabOptions): Crontab {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    fail(`options must be an object: ${String(options)}`);
  }
  checkKeys(options);
  const { utc: fixedUtc, timezone, dayOr = false } = options;
  if (fixedUtc !== undefined && typeof fixedUtc !== "boolean") {
    fail(`utc must be a boolean: ${String(fixedUtc)}`);
  }
  if (typeof dayOr !== "boolean") fail(`dayOr must be a boolean: ${String(dayOr)}`);
  if (timezone !== undefined && typeof timezone !== "string") {
    fail(`timezone must be a string such as "Europe/Berlin": ${String(timezone)}`);
  }
  if (timezone !== undefined && fixedUtc !== undefined) {
    fail(`utc and timezone exclude each other: utc=${fixedUtc}, timezone=${timezone}`);
  }
  const spec = Object.freeze(
    Object.fromEntries(FIELDS.map((f) => [f.name, fieldSpec(f.name, options[f.name])])) as Record<
      CrontabField,
      string
    >,
  );
  const matcher = new Matcher(spec, dayOr);
  const zone = timezone === undefined ? undefined : zoneClock(timezone);

  const schedule = (date: Date, utc: boolean = true): boolean => {
    const time = date.getTime();
    if (Number.isNaN(time)) {
      throw new TypeError(`Cannot match crontab: date is invalid: ${String(date)}`);
    }
    return matcher.matchesAt(Math.floor(time / MINUTE) * MINUTE, clockFor(options, zone, utc));
  };
  const nextRun = (after: Date, utc: boolean = true): Date => {
    const time = after.getTime();
    if (Number.isNaN(time)) throw new TypeError(`Cannot find the next run: after is invalid`);
    return new Date(matcher.next(time, clockFor(options, zone, utc)));
  };
  const settings = [
    fixedUtc === undefined ? "" : `, utc=${fixedUtc}`,
    timezone === undefined ? "" : `, timezone=${timezone}`,
    dayOr ? ", dayOr=true" : "",
  ].join("");
  const text = `crontab(${FIELDS.map((f) => `${f.name}=${spec[f.name]}`).join(", ")}${settings})`;
  Object.defineProperties(schedule, {
    spec: { value: spec, enumerable: true },
    utc: { value: fixedUtc, enumerable: true },
    timezone: { value: timezone, enumerable: true },
    dayOr: { value: dayOr, enumerable: true },
    nextRun: { value: nextRun },
    toString: { value: () => text },
  });
  return schedule as Crontab;
}

/** The five fields of a cron string (or shorthand such as `@daily`). */
function parseCronString(cron: string): Record<CrontabField, string> {
  const expanded = SHORTHANDS[cron.trim().toLowerCase()] ?? cron;
  const parts = expanded.trim().split(/\s+/);
  if (parts.length !== 5) {
    fail(
      `a cron string has five fields (minute hour day month dayOfWeek): ${JSON.stringify(cron)}`,
    );
  }
  return Object.fromEntries(FIELDS.map((f, i) => [f.name, parts[i]])) as Record<
    CrontabField,
    string
  >;
}

/** {@link crontab} and its shorthands. */
export interface CrontabFactory {
  /** A schedule from huey's fields. */
  (options?: CrontabOptions): Crontab;
  /** A schedule from a five-field cron string: `"*\/5 9-17 * * mon-fri"`, or `@hourly`, `@daily`, ... */
  (cron: string, options?: CrontabStringOptions): Crontab;
  /** Every hour, on the hour (huey's `crontab.hourly()`). */
  hourly(options?: CrontabStringOptions): Crontab;
  /** Every day at midnight (huey's `crontab.daily()`). */
  daily(options?: CrontabStringOptions): Crontab;
}

/**
 * Builds a schedule from crontab-style fields, as huey's `crontab()`: the
 * returned function is true for a date whose minute, hour, day, month and
 * day of week all match (`dayOr: true`: day or day of week, as cron).
 * Unset fields match everything. Also takes a five-field cron string with
 * month and weekday names (`crontab("0 9 * * mon-fri")`).
 *
 * The date is read in UTC when the consumer runs with `utc: true` (the
 * default) and in local time otherwise; `utc` given here wins over the
 * consumer's setting, and `timezone` over both. `nextRun(after)` says when
 * it next matches. Values are precomputed, so a call is a few lookups.
 *
 * @throws {ConfigurationError} on an unknown option, a field that is out of
 * range or not `*`, `*\/n`, `m-n`, `m-n/s`, `m` or a name, an unknown time
 * zone, or a schedule that can never run (day 31 of February); the message
 * names the field and the value.
 *
 * @example Every three minutes
 * ```ts
 * import { crontab } from "./crontab.ts";
 * const everyThree = crontab({ minute: "*\/3" });
 * console.log(everyThree(new Date("2026-11-22T10:06:00Z"))); // true
 * console.log(everyThree(new Date("2026-11-22T10:07:00Z"))); // false
 * ```
 *
 * @example Weekdays at 09:00 in Berlin, and when that is next
 * ```ts
 * import { crontab } from "./crontab.ts";
 * const standup = crontab("0 9 * * mon-fri", { timezone: "Europe/Berlin" });
 * console.log(standup.nextRun(new Date("2026-11-27T12:00:00Z")).toISOString()); // 2026-11-30T08:00:00.000Z
 * ```
 *
 * @example Mondays to Fridays at 03:00 local time, whatever the consumer says
 * ```ts
 * import { crontab } from "./crontab.ts";
 * const nightly = crontab({ minute: 0, hour: 3, dayOfWeek: "1-5", utc: false });
 * console.log(nightly(new Date(2026, 10, 23, 3, 0), true)); // true: a Monday, local time
 * ```
 */
export const crontab: CrontabFactory = Object.assign(
  (options: CrontabOptions | string = {}, settings: CrontabStringOptions = {}): Crontab => {
    if (typeof options !== "string") return build(options);
    if (typeof settings !== "object" || settings === null) {
      fail(`options must be an object: ${String(settings)}`);
    }
    for (const key of Object.keys(settings)) {
      if (!(SETTINGS as readonly string[]).includes(key)) {
        fail(
          `unknown option ${JSON.stringify(key)} with a cron string; expected ${
            SETTINGS.join(", ")
          }`,
        );
      }
    }
    return build({ ...parseCronString(options), ...settings });
  },
  {
    hourly: (settings: CrontabStringOptions = {}) => build({ minute: 0, ...settings }),
    daily: (settings: CrontabStringOptions = {}) => build({ minute: 0, hour: 0, ...settings }),
  },
) as CrontabFactory;
