import { answersOf, hoursOf, workflowDraftOf, workflowOf, workflowProblems } from "./workflow";

test("a domain's workflow settings survive the editor unchanged", () => {
  const fields = {
    auto_approval: [
      {
        name: "follow-ups",
        appointment_types: ["follow_up"],
        minimum_notice_hours: 24,
        maximum_notice_hours: null,
        returning_patients_only: true,
        answers: { first_visit: false },
      },
    ],
    hold_minutes: 5,
    waitlist_offer_minutes: 120,
    notifications: [
      {
        change: "reminder" as const,
        recipients: ["patient" as const],
        channels: ["sms" as const],
        before_hours: [24, 2],
      },
    ],
  };
  expect(workflowOf(workflowDraftOf(fields))).toEqual(fields);
});

test("no rules of the domain's own: the defaults (null), shown as a starting point", () => {
  const draft = workflowDraftOf({ notifications: null });
  expect(draft.defaults).toBe(true);
  expect(draft.notifications.length).toBeGreaterThan(0);
  expect(workflowOf(draft).notifications).toBeNull();
  expect(workflowOf({ ...draft, defaults: false }).notifications).toHaveLength(draft.notifications.length);
});

test("answers must be a JSON object and reminder hours positive numbers", () => {
  expect(answersOf("")).toEqual({});
  expect(answersOf('{"a": 1}')).toEqual({ a: 1 });
  expect(answersOf("[1]")).toBeNull();
  expect(answersOf("{nope")).toBeNull();
  expect(hoursOf("24, 2")).toEqual([24, 2]);
  expect(hoursOf("24, soon")).toBeNull();
  expect(hoursOf("-1")).toBeNull();
  const draft = workflowDraftOf({
    auto_approval: [{ name: "r", minimum_notice_hours: 0, returning_patients_only: false, answers: {} }],
    notifications: [{ change: "reminder", recipients: ["patient"], channels: ["email"], before_hours: [24] }],
  });
  const [rule] = draft.rules;
  const [reminder] = draft.notifications;
  expect(workflowProblems(draft).size).toBe(0);
  const broken = {
    ...draft,
    rules: draft.rules.map((item) => ({ ...item, answers: "{" })),
    notifications: draft.notifications.map((item) => ({ ...item, beforeHours: "x" })),
  };
  expect(workflowProblems(broken)).toEqual(new Set([`${rule?.uid}-answers`, `${reminder?.uid}-hours`]));
});
