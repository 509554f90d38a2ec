// Weeks and days in the browser's own zone (the zone the user reads times in): Monday to Sunday, ISO 8601.

/** Midnight on the Monday of the week `date` falls in, local time. */
export function startOfWeek(date: Date): Date {
  const monday = new Date(date);
  monday.setHours(0, 0, 0, 0);
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  return monday;
}

/** The same local wall time `days` later (23 or 25 hours across a DST change, never a shifted midnight). */
export function addDays(date: Date, days: number): Date {
  const later = new Date(date);
  later.setDate(later.getDate() + days);
  return later;
}

/** A local calendar day as `YYYY-MM-DD`, the key slots are grouped by. */
export function dayKey(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The seven local days of the week starting at `monday`. */
export function daysOfWeek(monday: Date): Date[] {
  return Array.from({ length: 7 }, (_, index) => addDays(monday, index));
}

/** Items grouped by the local day their `starts_at` falls on, in time order within a day. */
export function byDay<T extends { starts_at: string }>(items: readonly T[]): Map<string, T[]> {
  const days = new Map<string, T[]>();
  const sorted = [...items].sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  for (const item of sorted) {
    const key = dayKey(new Date(item.starts_at));
    days.set(key, [...(days.get(key) ?? []), item]);
  }
  return days;
}
