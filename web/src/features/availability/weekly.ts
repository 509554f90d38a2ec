// A resource's working week as the editor shows it — per weekday, periods from a start to an end time — and
// the RFC 5545 rules the service keeps (one weekly rule per distinct period, its days in BYDAY).
import type { AppointmentsSchemas } from "../../api/client";

export type Schedule = AppointmentsSchemas["ScheduleWrite"];
export type RecurringPeriod = AppointmentsSchemas["RecurringPeriodModel"];

export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Local wall times, "HH:MM", the end after the start on the same day. */
export interface Period {
  start: string;
  end: string;
}

export type Week = Record<Weekday, Period[]>;

export interface WeekPlan {
  hours: Week;
  breaks: Week;
  /** Rules the editor cannot show as a weekly grid (an INTERVAL, an UNTIL…): kept as they are. */
  otherHours: RecurringPeriod[];
  otherBreaks: RecurringPeriod[];
}

export function emptyWeek(): Week {
  return { MO: [], TU: [], WE: [], TH: [], FR: [], SA: [], SU: [] };
}

function minutesOf(time: string): number {
  const [hours = "0", minutes = "0"] = time.split(":");
  return Number(hours) * 60 + Number(minutes);
}

function timeOf(minutes: number): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
}

/** The weekdays of a rule this editor can show (FREQ=DAILY, or FREQ=WEEKLY with BYDAY); null otherwise. */
export function weekdaysOf(rule: string): Weekday[] | null {
  const parts = new Map(
    rule
      .replace(/^RRULE:/i, "")
      .split(";")
      .filter(Boolean)
      .map((part) => {
        const [name = "", value = ""] = part.split("=");
        return [name.toUpperCase(), value.toUpperCase()] as const;
      }),
  );
  const frequency = parts.get("FREQ");
  const extra = [...parts.keys()].filter((name) => !["FREQ", "BYDAY", "WKST"].includes(name));
  if (extra.length > 0) return null;
  if (frequency === "DAILY" && !parts.has("BYDAY")) return [...WEEKDAYS];
  if (frequency !== "WEEKLY" || !parts.has("BYDAY")) return null;
  const days = (parts.get("BYDAY") ?? "").split(",");
  if (!days.every((day): day is Weekday => (WEEKDAYS as readonly string[]).includes(day))) return null;
  return WEEKDAYS.filter((day) => days.includes(day));
}

function toWeek(periods: readonly RecurringPeriod[]): { week: Week; other: RecurringPeriod[] } {
  const week = emptyWeek();
  const other: RecurringPeriod[] = [];
  for (const period of periods) {
    const days = weekdaysOf(period.rule);
    const start = minutesOf(period.start_time);
    if (days === null || start + period.duration_minutes > 24 * 60) {
      other.push(period);
      continue;
    }
    for (const day of days) week[day].push({ start: timeOf(start), end: timeOf(start + period.duration_minutes) });
  }
  for (const day of WEEKDAYS) week[day].sort((a, b) => minutesOf(a.start) - minutesOf(b.start));
  return { week, other };
}

export function planOf(schedule: Schedule): WeekPlan {
  const hours = toWeek(schedule.working_hours);
  const breaks = toWeek(schedule.breaks ?? []);
  return { hours: hours.week, breaks: breaks.week, otherHours: hours.other, otherBreaks: breaks.other };
}

/** One weekly rule per distinct period, its days together: Mon–Fri 09:00–12:30 is one rule, not five. */
export function rulesOf(week: Week): RecurringPeriod[] {
  const byPeriod = new Map<string, Weekday[]>();
  for (const day of WEEKDAYS) {
    for (const period of week[day]) {
      const key = `${period.start}-${period.end}`;
      byPeriod.set(key, [...(byPeriod.get(key) ?? []), day]);
    }
  }
  return [...byPeriod]
    .map(([key, days]) => {
      const [start = "", end = ""] = key.split("-");
      return {
        rule: `FREQ=WEEKLY;BYDAY=${days.join(",")}`,
        start_time: start,
        duration_minutes: minutesOf(end) - minutesOf(start),
      };
    })
    .sort((a, b) => minutesOf(a.start_time) - minutesOf(b.start_time));
}

export type PeriodProblem = "order" | "overlap";

/** What is wrong with a day's periods, by index: an end not after its start, or two that overlap. */
export function periodProblems(periods: readonly Period[]): Map<number, PeriodProblem> {
  const problems = new Map<number, PeriodProblem>();
  periods.forEach((period, index) => {
    if (!period.start || !period.end || minutesOf(period.end) <= minutesOf(period.start)) problems.set(index, "order");
  });
  const misordered = new Set(problems.keys());
  periods.forEach((period, index) => {
    if (misordered.has(index)) return;
    const overlaps = periods.some(
      (other, otherIndex) =>
        otherIndex !== index &&
        !misordered.has(otherIndex) &&
        minutesOf(period.start) < minutesOf(other.end) &&
        minutesOf(other.start) < minutesOf(period.end),
    );
    if (overlaps) problems.set(index, "overlap");
  });
  return problems;
}
