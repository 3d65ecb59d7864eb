import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { crontab } from "../lib/crontab.ts";
import type { CrontabOptions } from "../lib/crontab.ts";
import { ConfigurationError } from "../lib/errors.ts";

/** A UTC date, month 1-12. */
function utcDate(year: number, month: number, day: number, hour = 0, minute = 0): Date {
  return new Date(Date.UTC(year, month - 1, day, hour, minute));
}

/** The values 0..count-1 for which `test` holds. */
function matching(count: number, test: (value: number) => boolean): number[] {
  const out: number[] = [];
  for (let value = 0; value < count; value++) if (test(value)) out.push(value);
  return out;
}

/** The minutes of the hour 10:00-10:59 UTC on 2026-01-05 that match. */
function minutesOf(options: CrontabOptions): number[] {
  const schedule = crontab(options);
  return matching(60, (m) => schedule(utcDate(2026, 1, 5, 10, m)));
}

/** The hours of 2026-01-05 UTC (at minute 0) that match. */
function hoursOf(options: CrontabOptions): number[] {
  const schedule = crontab(options);
  return matching(24, (h) => schedule(utcDate(2026, 1, 5, h, 0)));
}

/** The days of March 2026 (31 days) at 00:00 UTC that match. */
function daysOf(options: CrontabOptions): number[] {
  const schedule = crontab(options);
  return matching(32, (d) => d >= 1 && schedule(utcDate(2026, 3, d)));
}

/** The months of 2026 (on the 1st, 00:00 UTC) that match, 1-12. */
function monthsOf(options: CrontabOptions): number[] {
  const schedule = crontab(options);
  return matching(13, (m) => m >= 1 && schedule(utcDate(2026, m, 1)));
}

/** The days of the week (0 = Sunday) that match, using the week of Sunday 2026-11-22. */
function weekdaysOf(options: CrontabOptions): number[] {
  const schedule = crontab(options);
  return matching(7, (w) => schedule(utcDate(2026, 11, 22 + w)));
}

function assertConfigError(options: CrontabOptions, ...parts: string[]): void {
  assertConfigErrorOf(() => crontab(options), ...parts);
}

describe("crontab fields", () => {
  it("an empty crontab matches every minute", () => {
    const every = crontab();
    assert.equal(every(utcDate(2026, 1, 1, 0, 0)), true);
    assert.equal(every(utcDate(2026, 12, 31, 23, 59)), true);
    assert.equal(minutesOf({}).length, 60);
  });

  it("minute accepts *, */n, m-n, m-n/s, m and lists", () => {
    assert.equal(minutesOf({ minute: "*" }).length, 60);
    assert.deepEqual(minutesOf({ minute: "*/15" }), [0, 15, 30, 45]);
    assert.deepEqual(minutesOf({ minute: "10-13" }), [10, 11, 12, 13]);
    assert.deepEqual(minutesOf({ minute: "10-30/10" }), [10, 20, 30]);
    assert.deepEqual(minutesOf({ minute: "7" }), [7]);
    assert.deepEqual(minutesOf({ minute: "0,5-6,*/20" }), [0, 5, 6, 20, 40]);
  });

  it("*/3 minutes matches every third minute starting at 0", () => {
    const minutes = minutesOf({ minute: "*/3" });
    assert.equal(minutes.length, 20);
    assert.deepEqual(minutes.slice(0, 4), [0, 3, 6, 9]);
    assert.equal(minutes.at(-1), 57);
  });

  it("hour accepts *, */n, m-n, m-n/s, m and lists", () => {
    assert.equal(hoursOf({ hour: "*" }).length, 24);
    assert.deepEqual(hoursOf({ hour: "*/4" }), [0, 4, 8, 12, 16, 20]);
    assert.deepEqual(hoursOf({ hour: "22-23" }), [22, 23]);
    assert.deepEqual(hoursOf({ hour: "1-9/4" }), [1, 5, 9]);
    assert.deepEqual(hoursOf({ hour: "3" }), [3]);
    assert.deepEqual(hoursOf({ hour: "0,12" }), [0, 12]);
  });

  it("day accepts *, */n counted from 1, m-n, m-n/s, m and lists", () => {
    assert.equal(daysOf({ day: "*" }).length, 31);
    assert.deepEqual(daysOf({ day: "*/10" }), [1, 11, 21, 31]);
    assert.deepEqual(daysOf({ day: "28-31" }), [28, 29, 30, 31]);
    assert.deepEqual(daysOf({ day: "1-15/7" }), [1, 8, 15]);
    assert.deepEqual(daysOf({ day: "15" }), [15]);
    assert.deepEqual(daysOf({ day: "1,31" }), [1, 31]);
  });

  it("day 31 never matches a 30-day month", () => {
    const schedule = crontab({ day: 31 });
    const aprilDays = matching(31, (d) => d >= 1 && schedule(utcDate(2026, 4, d)));
    assert.deepEqual(aprilDays, []);
  });

  it("month accepts *, */n counted from 1 (January), m-n, m-n/s, m and lists", () => {
    assert.equal(monthsOf({ month: "*" }).length, 12);
    assert.deepEqual(monthsOf({ month: "*/3" }), [1, 4, 7, 10]);
    assert.deepEqual(monthsOf({ month: "6-8" }), [6, 7, 8]);
    assert.deepEqual(monthsOf({ month: "1-12/6" }), [1, 7]);
    assert.deepEqual(monthsOf({ month: "12" }), [12]);
    assert.deepEqual(monthsOf({ month: "2,11" }), [2, 11]);
  });

  it("month 1 is January and 12 is December", () => {
    const january = crontab({ month: 1 });
    assert.equal(january(utcDate(2026, 1, 31, 12)), true);
    assert.equal(january(utcDate(2026, 2, 1, 12)), false);
    const december = crontab({ month: "12" });
    assert.equal(december(utcDate(2026, 12, 25)), true);
    assert.equal(december(utcDate(2026, 11, 25)), false);
  });

  it("dayOfWeek accepts *, m-n, m-n/s, m, names and lists, and refuses */n as huey does", () => {
    assert.equal(weekdaysOf({ dayOfWeek: "*" }).length, 7);
    assertConfigError({ dayOfWeek: "*/2" }, 'dayOfWeek "*/2"', "*/n is not allowed", "0,2,4,6");
    assert.deepEqual(weekdaysOf({ dayOfWeek: "1-5" }), [1, 2, 3, 4, 5]);
    assert.deepEqual(weekdaysOf({ dayOfWeek: "mon-fri" }), [1, 2, 3, 4, 5]);
    assert.deepEqual(weekdaysOf({ dayOfWeek: "SUN,sat" }), [0, 6]);
    assert.deepEqual(weekdaysOf({ dayOfWeek: "5-7" }), [0, 5, 6], "7 is Sunday, as in cron");
    assert.deepEqual(weekdaysOf({ dayOfWeek: 7 }), [0]);
    assert.deepEqual(weekdaysOf({ dayOfWeek: "1-5/2" }), [1, 3, 5]);
    assert.deepEqual(weekdaysOf({ dayOfWeek: "3" }), [3]);
    assert.deepEqual(weekdaysOf({ dayOfWeek: "0,6" }), [0, 6]);
  });

  it("dayOfWeek 0 is Sunday and 6 is Saturday", () => {
    const sunday = utcDate(2026, 11, 22, 12, 0);
    assert.equal(sunday.getUTCDay(), 0);
    assert.equal(crontab({ dayOfWeek: 0 })(sunday), true);
    assert.equal(crontab({ dayOfWeek: 1 })(sunday), false);
    assert.equal(crontab({ dayOfWeek: 6 })(utcDate(2026, 11, 28, 12, 0)), true);
    assert.equal(crontab({ dayOfWeek: 6 })(sunday), false);
  });

  it("numbers act like their strings", () => {
    assert.deepEqual(minutesOf({ minute: 5 }), minutesOf({ minute: "5" }));
    assert.deepEqual(hoursOf({ hour: 0 }), [0]);
    assert.deepEqual(crontab({ minute: 5, day: 1 }).spec, {
      minute: "5",
      hour: "*",
      day: "1",
      month: "*",
      dayOfWeek: "*",
    });
  });

  it("whitespace around pieces is ignored", () => {
    assert.deepEqual(minutesOf({ minute: " 1 , 2-3 ,*/30 " }), [0, 1, 2, 3, 30]);
    assert.deepEqual(hoursOf({ hour: "\t* " }).length, 24);
  });

  it("overlapping pieces match each value once", () => {
    assert.deepEqual(minutesOf({ minute: "1-3,2-4,3" }), [1, 2, 3, 4]);
  });
});

describe("crontab matching", () => {
  it("the guide's example matches 36 minutes a day: every 10 minutes in 9-11 and 16-18", () => {
    const schedule = crontab({ minute: "*/10", hour: "9-11,16-18" });
    const matches: string[] = [];
    const start = utcDate(2026, 6, 15);
    for (let i = 0; i < 24 * 60; i++) {
      const date = new Date(start.getTime() + i * 60_000);
      if (schedule(date)) matches.push(date.toISOString().slice(11, 16));
    }
    assert.equal(matches.length, 6 * 6);
    assert.deepEqual(matches.slice(0, 7), [
      "09:00",
      "09:10",
      "09:20",
      "09:30",
      "09:40",
      "09:50",
      "10:00",
    ]);
    assert.equal(matches.at(-1), "18:50");
    assert.equal(matches.includes("12:00"), false);
    assert.equal(matches.includes("16:00"), true);
  });

  it("ignores seconds and milliseconds within the minute", () => {
    const schedule = crontab({ minute: 30, hour: 12 });
    assert.equal(schedule(new Date("2026-01-05T12:30:59.999Z")), true);
    assert.equal(schedule(new Date("2026-01-05T12:31:00.000Z")), false);
  });

  it("requires every field to match", () => {
    const schedule = crontab({ minute: 0, hour: 3, day: 1, month: 2 });
    assert.equal(schedule(utcDate(2026, 2, 1, 3, 0)), true);
    assert.equal(schedule(utcDate(2026, 2, 1, 3, 1)), false);
    assert.equal(schedule(utcDate(2026, 2, 1, 4, 0)), false);
    assert.equal(schedule(utcDate(2026, 2, 2, 3, 0)), false);
    assert.equal(schedule(utcDate(2026, 3, 1, 3, 0)), false);
  });

  it("requires both day and dayOfWeek to match (huey ANDs them, unlike cron)", () => {
    // 2026-11-22 is a Sunday; 2026-11-01 is also a Sunday; 2026-11-23 is a Monday.
    const schedule = crontab({ day: 22, dayOfWeek: 0 });
    assert.equal(schedule(utcDate(2026, 11, 22, 8)), true);
    assert.equal(schedule(utcDate(2026, 11, 1, 8)), false, "Sunday but not the 22nd");
    assert.equal(schedule(utcDate(2026, 12, 22, 8)), false, "the 22nd but a Tuesday");
    const fridayThe13th = crontab({ day: 13, dayOfWeek: 5 });
    const year = matching(365, (i) => fridayThe13th(utcDate(2026, 1, 1 + i)));
    assert.deepEqual(year.map((i) => utcDate(2026, 1, 1 + i).toISOString().slice(0, 10)), [
      "2026-02-13",
      "2026-03-13",
      "2026-11-13",
    ]);
  });

  it("reads the date in UTC by default", () => {
    const schedule = crontab({ minute: 15, hour: 4, day: 22, month: 11, dayOfWeek: 0 });
    assert.equal(schedule(utcDate(2026, 11, 22, 4, 15)), true);
    assert.equal(schedule(utcDate(2026, 11, 22, 4, 15), true), true);
  });

  it("reads the date in local time when the consumer passes utc=false", () => {
    const schedule = crontab({ minute: 15, hour: 4, day: 22, month: 11, dayOfWeek: 0 });
    const local = new Date(2026, 10, 22, 4, 15);
    assert.equal(local.getHours(), 4);
    assert.equal(schedule(local, false), true);
    // Read in UTC, the same instant matches only where local time equals UTC.
    const sameInUtc = local.getUTCHours() === 4 && local.getUTCMinutes() === 15 &&
      local.getUTCDate() === 22;
    assert.equal(schedule(local, true), sameInUtc);
  });

  it("local and UTC readings each follow their own getters over a whole day", () => {
    const schedule = crontab({ minute: "*/20", hour: "6-7" });
    const start = new Date(2026, 5, 15, 0, 0);
    for (let i = 0; i < 24 * 60; i++) {
      const date = new Date(start.getTime() + i * 60_000);
      const localExpected = date.getMinutes() % 20 === 0 &&
        (date.getHours() === 6 || date.getHours() === 7);
      const utcExpected = date.getUTCMinutes() % 20 === 0 &&
        (date.getUTCHours() === 6 || date.getUTCHours() === 7);
      assert.equal(schedule(date, false), localExpected);
      assert.equal(schedule(date, true), utcExpected);
    }
  });

  it("the crontab's utc option wins over the consumer's argument", () => {
    const local = new Date(2026, 10, 22, 4, 15);
    const localOnly = crontab({ minute: 15, hour: 4, utc: false });
    assert.equal(localOnly.utc, false);
    assert.equal(localOnly(local), true);
    assert.equal(localOnly(local, true), true);
    assert.equal(localOnly(local, false), true);

    const instant = utcDate(2026, 11, 22, 4, 15);
    const utcOnly = crontab({ minute: 15, hour: 4, utc: true });
    assert.equal(utcOnly.utc, true);
    assert.equal(utcOnly(instant, false), true);
    assert.equal(utcOnly(instant, true), true);
  });

  it("follows the consumer when no utc option is given", () => {
    assert.equal(crontab({ minute: 1 }).utc, undefined);
  });

  it("throws TypeError for an invalid date", () => {
    assert.throws(() => crontab()(new Date(Number.NaN)), {
      name: "TypeError",
      message: "Cannot match crontab: date is invalid: Invalid Date",
    });
  });
});

describe("crontab validation", () => {
  it("rejects values out of range, naming the field and the value", () => {
    assertConfigError({ minute: "61" }, 'minute "61" is out of range 0-59');
    assertConfigError({ minute: 60 }, 'minute "60" is out of range 0-59');
    assertConfigError({ hour: "24" }, 'hour "24" is out of range 0-23');
    assertConfigError({ day: "0" }, 'day "0" is out of range 1-31');
    assertConfigError({ day: "32" }, 'day "32" is out of range 1-31');
    assertConfigError({ month: "0" }, 'month "0" is out of range 1-12');
    assertConfigError({ month: "13" }, 'month "13" is out of range 1-12');
    assertConfigError({ dayOfWeek: "8" }, 'dayOfWeek "8" is out of range 0-7');
    assertConfigError({ hour: "20-25" }, 'hour "20-25" is out of range 0-23');
    assertConfigError({ minute: "5,70" }, 'minute "70" is out of range 0-59');
  });

  it("rejects pieces that are not *, */n, m-n or m", () => {
    assertConfigError({ hour: "a-b" }, 'hour "a-b" is not *, */n, m-n or m');
    assertConfigError({ minute: "every" }, 'minute "every"', "is not *, */n, m-n or m");
    assertConfigError({ day: "*/" }, 'day "*/"');
    assertConfigError({ month: "1-" }, 'month "1-"');
    assertConfigError({ dayOfWeek: "monday" }, 'dayOfWeek "monday"');
    assertConfigError(
      { dayOfWeek: "mon-fry" },
      'dayOfWeek "mon-fry"',
      'unknown name "fry"',
      "sun-sat",
    );
    assertConfigError({ hour: "mon" }, 'hour "mon"', 'unknown name "mon"');
    assertConfigError({ minute: "1 - 3" }, 'minute "1 - 3"');
  });

  it("rejects non-integers and negative numbers", () => {
    assertConfigError({ minute: 1.5 }, 'minute "1.5"');
    assertConfigError({ hour: "2.0" }, 'hour "2.0"');
    assertConfigError({ day: -1 }, 'day "-1"');
    assertConfigError({ month: Number.NaN }, 'month "NaN"');
  });

  it("rejects a step of zero", () => {
    assertConfigError({ minute: "*/0" }, 'minute "*/0"', "step of 0");
    assertConfigError({ hour: "1-5/0" }, 'hour "1-5/0"', "step of 0");
  });

  it("rejects reversed ranges", () => {
    assertConfigError({ minute: "5-3" }, 'minute "5-3"', "reversed");
    assertConfigError({ dayOfWeek: "6-0" }, 'dayOfWeek "6-0"', "reversed");
  });

  it("rejects empty fields and empty pieces", () => {
    assertConfigError({ minute: "" }, "minute", '""', "empty");
    assertConfigError({ hour: "  " }, "hour", '"  "', "empty");
    assertConfigError({ day: "1,,2" }, 'day "1,,2"', "empty");
    assertConfigError({ month: "3," }, 'month "3,"', "empty");
  });

  it("rejects unknown option keys, naming them", () => {
    assertConfigError({ minutes: "5" } as CrontabOptions, '"minutes"', "did you mean minute?");
    assertConfigError({ day_of_week: 1 } as CrontabOptions, '"day_of_week"', "dayOfWeek");
    assertConfigError({ second: 1 } as CrontabOptions, '"second"', "minute, hour");
  });

  it("rejects field values of the wrong type and a non-boolean utc", () => {
    assertConfigError({ minute: true } as unknown as CrontabOptions, "minute", "true");
    assertConfigError({ hour: null } as unknown as CrontabOptions, "hour", "null");
    assertConfigError({ utc: "yes" } as unknown as CrontabOptions, "utc", "yes");
  });

  it("treats an undefined field like an unset one", () => {
    assert.equal(crontab({ minute: undefined }).spec.minute, "*");
  });
});

describe("crontab description", () => {
  it("spec keeps the fields as given, * by default", () => {
    const schedule = crontab({ minute: " */3 ", dayOfWeek: 0 });
    assert.deepEqual(schedule.spec, {
      minute: " */3 ",
      hour: "*",
      day: "*",
      month: "*",
      dayOfWeek: "0",
    });
    assert.equal(Object.isFrozen(schedule.spec), true);
  });

  it("toString lists every field in order", () => {
    assert.equal(
      crontab({ minute: "*/3" }).toString(),
      "crontab(minute=*/3, hour=*, day=*, month=*, dayOfWeek=*)",
    );
    assert.equal(
      String(crontab({ minute: 0, hour: "9-11,16-18", day: 1, month: "*/2", dayOfWeek: "1-5" })),
      "crontab(minute=0, hour=9-11,16-18, day=1, month=*/2, dayOfWeek=1-5)",
    );
  });

  it("toString shows a fixed utc option", () => {
    assert.equal(
      `${crontab({ hour: 3, utc: false })}`,
      "crontab(minute=*, hour=3, day=*, month=*, dayOfWeek=*, utc=false)",
    );
  });
});

describe("crontab beyond huey's fields", () => {
  it("month takes names, as values and in ranges", () => {
    assert.deepEqual(monthsOf({ month: "jan,JUL" }), [1, 7]);
    assert.deepEqual(monthsOf({ month: "mar-may" }), [3, 4, 5]);
  });

  it("hourly() and daily() are huey's shorthands", () => {
    assert.equal(
      String(crontab.hourly()),
      "crontab(minute=0, hour=*, day=*, month=*, dayOfWeek=*)",
    );
    assert.equal(String(crontab.daily()), "crontab(minute=0, hour=0, day=*, month=*, dayOfWeek=*)");
    assert.equal(crontab.daily()(utcDate(2026, 3, 9, 0, 0)), true);
    assert.equal(crontab.daily()(utcDate(2026, 3, 9, 1, 0)), false);
  });

  it("takes a five-field cron string with names, and cron's @ shorthands", () => {
    const work = crontab("*/5 9-17 * * mon-fri");
    assert.deepEqual(work.spec, {
      minute: "*/5",
      hour: "9-17",
      day: "*",
      month: "*",
      dayOfWeek: "mon-fri",
    });
    assert.equal(work(utcDate(2026, 11, 23, 9, 5)), true); // a Monday
    assert.equal(work(utcDate(2026, 11, 22, 9, 5)), false); // a Sunday
    assert.equal(work(utcDate(2026, 11, 23, 18, 0)), false);
    assert.deepEqual(crontab("@daily").spec, crontab.daily().spec);
    assert.deepEqual(crontab(" 0  3 1 * * ").spec.hour, "3");
    assertConfigErrorOf(() => crontab("* * * *"), "five fields", '"* * * *"');
    assertConfigErrorOf(() => crontab("61 * * * *"), 'minute "61" is out of range 0-59');
    assertConfigErrorOf(
      () => crontab("* * * * *", { minute: 1 } as never),
      'unknown option "minute" with a cron string',
    );
  });

  it("rejects a schedule that can never run, at declaration", () => {
    assertConfigError({ day: 31, month: 2 }, 'day "31" and month "2" never fall on one date');
    assertConfigError({ day: "30,31", month: "feb" }, "never");
    assertConfigError({ day: 31, month: "4,6,9,11" }, "never");
    assert.ok(crontab({ day: 29, month: 2 }), "the 29th of February exists in leap years");
    assert.ok(crontab({ day: 31, month: "2,3" }));
    assert.equal(
      crontab({ day: 29, month: 2 }).nextRun(utcDate(2026, 3, 1)).toISOString(),
      "2028-02-29T00:00:00.000Z",
    );
  });

  it("ANDs day and dayOfWeek as huey does, or ORs them as cron does with dayOr", () => {
    const huey = crontab({ minute: 0, hour: 0, day: 1, dayOfWeek: "mon" });
    const cron = crontab({ minute: 0, hour: 0, day: 1, dayOfWeek: "mon", dayOr: true });
    const days = (schedule: (d: Date) => boolean) =>
      matching(31, (d) => d >= 1 && schedule(utcDate(2026, 6, d))); // June has 30 days
    assert.deepEqual(days(huey), [1], "June 1st 2026 is a Monday");
    assert.deepEqual(days(cron), [1, 8, 15, 22, 29]);
    // Only one of the two restricted: dayOr changes nothing.
    assert.deepEqual(days(crontab({ minute: 0, hour: 0, day: 15, dayOr: true })), [15]);
    assert.equal(
      String(cron),
      "crontab(minute=0, hour=0, day=1, month=*, dayOfWeek=mon, dayOr=true)",
    );
  });

  it("reads a timezone's wall clock, winter and summer", () => {
    const nine = crontab({ minute: 0, hour: 9, timezone: "America/New_York" });
    assert.equal(nine(utcDate(2026, 1, 15, 14, 0)), true, "EST is UTC-5");
    assert.equal(nine(utcDate(2026, 7, 15, 13, 0)), true, "EDT is UTC-4");
    assert.equal(nine(utcDate(2026, 7, 15, 14, 0)), false);
    assert.equal(
      nine(utcDate(2026, 7, 15, 13, 0), false),
      true,
      "the consumer's utc does not matter",
    );
    assert.equal(nine.timezone, "America/New_York");
    assertConfigError(
      { timezone: "Mars/Olympus" },
      'timezone "Mars/Olympus" is not an IANA time zone',
    );
    assertConfigError({ timezone: "UTC", utc: true }, "utc and timezone exclude each other");
  });

  it("runs a fixed-hour job once across daylight-saving changes, and a wildcard-hour job as the clock says", () => {
    const zone = "America/New_York";
    /** The UTC times a schedule matches, minute by minute, from `from` for `hours`. */
    const runs = (options: CrontabOptions, from: Date, hours: number) => {
      const schedule = crontab({ ...options, timezone: zone });
      const out: string[] = [];
      for (let m = 0; m < hours * 60; m++) {
        const at = new Date(from.getTime() + m * 60_000);
        if (schedule(at)) out.push(at.toISOString().slice(11, 16));
      }
      return out;
    };
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT, so 02:30 never shows.
    const spring = utcDate(2026, 3, 8, 5, 0); // 00:00 EST
    assert.deepEqual(runs({ minute: 30, hour: 2 }, spring, 6), ["07:00"], "at 03:00 EDT, once");
    assert.deepEqual(runs({ minute: 30, hour: 3 }, spring, 6), ["07:30"]);
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST, so 01:30 shows twice.
    const fall = utcDate(2026, 11, 1, 4, 0); // 00:00 EDT
    assert.deepEqual(runs({ minute: 30, hour: 1 }, fall, 6), ["05:30"], "the first 01:30 only");
    assert.deepEqual(runs({ minute: "0,30" }, fall, 3), [
      "04:00",
      "04:30",
      "05:00",
      "05:30",
      "06:00",
      "06:30",
    ]);
  });

  it("nextRun(after) is the first matching minute after `after`, across days and DST", () => {
    const standup = crontab("0 9 * * mon-fri", { timezone: "Europe/Berlin" });
    // Friday 2026-11-27 12:00 UTC -> Monday 2026-11-30 09:00 CET (08:00 UTC).
    assert.equal(
      standup.nextRun(utcDate(2026, 11, 27, 12)).toISOString(),
      "2026-11-30T08:00:00.000Z",
    );
    assert.equal(
      standup.nextRun(utcDate(2026, 11, 30, 7, 59)).toISOString(),
      "2026-11-30T08:00:00.000Z",
    );
    assert.equal(
      standup.nextRun(utcDate(2026, 11, 30, 8, 0)).toISOString(),
      "2026-12-01T08:00:00.000Z",
    );
    const everyThree = crontab({ minute: "*/3" });
    assert.equal(
      everyThree.nextRun(utcDate(2026, 1, 1, 10, 4)).toISOString(),
      "2026-01-01T10:06:00.000Z",
    );
    // Local time and the consumer's utc setting.
    const local = crontab({ minute: 0, hour: 3 });
    const next = local.nextRun(new Date(2026, 0, 10, 12, 0), false);
    assert.deepEqual([next.getHours(), next.getMinutes(), next.getDate()], [3, 0, 11]);
    // The skipped 02:30 of the spring change runs at 03:00 EDT.
    const early = crontab({ minute: 30, hour: 2, timezone: "America/New_York" });
    assert.equal(early.nextRun(utcDate(2026, 3, 8, 0)).toISOString(), "2026-03-08T07:00:00.000Z");
    assert.equal(
      early.nextRun(utcDate(2026, 3, 8, 7, 0)).toISOString(),
      "2026-03-09T06:30:00.000Z",
    );
    // Agrees with matching minute by minute.
    const odd = crontab("15,45 */7 * jan,jul sat");
    let at = utcDate(2026, 1, 1).getTime();
    for (let i = 0; i < 5; i++) {
      const found = odd.nextRun(new Date(at)).getTime();
      for (let t = at + 60_000; t < found; t += 60_000) assert.equal(odd(new Date(t)), false);
      assert.equal(odd(new Date(found)), true);
      at = found;
    }
  });
});

function assertConfigErrorOf(build: () => unknown, ...parts: string[]): void {
  assert.throws(build, (err: unknown) => {
    assert.ok(err instanceof ConfigurationError, `expected ConfigurationError, got ${err}`);
    assert.match(err.message, /^Cannot build crontab: /);
    for (const part of parts) {
      assert.ok(err.message.includes(part), `${JSON.stringify(err.message)} lacks ${part}`);
    }
    return true;
  });
}
