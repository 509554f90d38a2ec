import { addDays, byDay, dayKey, daysOfWeek, startOfWeek } from "./week";

// The test runner's zone is whatever the machine has: these use local wall times on both sides.

test("a week starts on Monday at midnight, whatever day and time it is asked from", () => {
  const sunday = new Date(2026, 11, 6, 23, 30);
  const monday = new Date(2026, 10, 30, 0, 0);
  expect(startOfWeek(sunday)).toEqual(monday);
  expect(startOfWeek(new Date(2026, 10, 30, 8, 0))).toEqual(monday);
  expect(daysOfWeek(monday).map(dayKey)).toEqual([
    "2026-11-30",
    "2026-12-01",
    "2026-12-02",
    "2026-12-03",
    "2026-12-04",
    "2026-12-05",
    "2026-12-06",
  ]);
});

test("adding days keeps the wall time across a month's end", () => {
  expect(dayKey(addDays(new Date(2026, 0, 30, 9), 3))).toBe("2026-02-02");
  expect(addDays(new Date(2026, 0, 30, 9), 3).getHours()).toBe(9);
});

test("slots are grouped by their local day and sorted by time", () => {
  const at = (day: number, hour: number) => new Date(2026, 11, day, hour).toISOString();
  const grouped = byDay([{ starts_at: at(2, 14) }, { starts_at: at(1, 9) }, { starts_at: at(2, 9) }]);
  expect([...grouped.keys()]).toEqual(["2026-12-01", "2026-12-02"]);
  expect(grouped.get("2026-12-02")?.map((slot) => new Date(slot.starts_at).getHours())).toEqual([9, 14]);
});
