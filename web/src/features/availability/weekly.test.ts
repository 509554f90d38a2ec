import { periodProblems, planOf, rulesOf, weekdaysOf, type Schedule } from "./weekly";

const DEMO: Schedule = {
  zone: "Europe/Paris",
  valid_from: "2026-11-25",
  working_hours: [
    { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", start_time: "09:00:00", duration_minutes: 210 },
    { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", start_time: "14:00:00", duration_minutes: 210 },
    { rule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA", start_time: "09:00:00", duration_minutes: 120 },
  ],
  breaks: [{ rule: "FREQ=DAILY", start_time: "10:30", duration_minutes: 15 }],
};

test("weekly and daily rules become a grid of periods per weekday; other rules are kept aside", () => {
  const plan = planOf(DEMO);
  expect(plan.hours.MO).toEqual([
    { start: "09:00", end: "12:30" },
    { start: "14:00", end: "17:30" },
  ]);
  expect(plan.hours.SA).toEqual([]);
  expect(plan.otherHours).toEqual([DEMO.working_hours[2]]);
  expect(plan.breaks.SU).toEqual([{ start: "10:30", end: "10:45" }]);
});

test("the grid becomes one weekly rule per distinct period, and reads back the same", () => {
  const plan = planOf(DEMO);
  plan.hours.TH = [{ start: "09:00", end: "12:30" }]; // Thursday afternoons off
  const rules = rulesOf(plan.hours);
  expect(rules).toEqual([
    { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", start_time: "09:00", duration_minutes: 210 },
    { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,FR", start_time: "14:00", duration_minutes: 210 },
  ]);
  expect(planOf({ ...DEMO, working_hours: rules }).hours).toEqual(plan.hours);
});

test("only rules a weekly grid can show are read as one", () => {
  expect(weekdaysOf("RRULE:FREQ=WEEKLY;BYDAY=SU,MO")).toEqual(["MO", "SU"]);
  expect(weekdaysOf("FREQ=WEEKLY;BYDAY=1MO")).toBeNull();
  expect(weekdaysOf("FREQ=WEEKLY;COUNT=3;BYDAY=MO")).toBeNull();
  expect(weekdaysOf("FREQ=MONTHLY;BYDAY=MO")).toBeNull();
});

test("a period must end after it starts, and periods of a day must not overlap", () => {
  const problems = periodProblems([
    { start: "09:00", end: "12:00" },
    { start: "11:00", end: "13:00" },
    { start: "15:00", end: "14:00" },
    { start: "16:00", end: "17:00" },
  ]);
  expect([...problems]).toEqual([
    [2, "order"],
    [0, "overlap"],
    [1, "overlap"],
  ]);
});
