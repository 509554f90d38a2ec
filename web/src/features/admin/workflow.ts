// A domain's workflow settings as the editor holds them (numbers and JSON as typed) ⇄ the service's DomainWrite
// fields: auto-approval rules, notification rules, how long holds and waitlist offers last.
import type { AppointmentsSchemas } from "../../api/client";

export type AutoApprovalRule = AppointmentsSchemas["AutoApprovalRuleModel"];
export type NotificationRule = AppointmentsSchemas["NotificationRuleModel"];
export type Change = NotificationRule["change"];
export type Recipient = NotificationRule["recipients"][number];
export type Channel = NotificationRule["channels"][number];

export const CHANGES: Change[] = [
  "requested",
  "approved",
  "declined",
  "cancelled",
  "proposed",
  "proposal_accepted",
  "proposal_rejected",
  "rescheduled",
  "arrived",
  "checked_in",
  "fulfilled",
  "no_show",
  "entered_in_error",
  "waitlist_offered",
  "reminder",
];
export const RECIPIENTS: Recipient[] = ["patient", "professional", "staff"];
export const CHANNELS: Channel[] = ["email", "sms", "push", "in_app"];

const rule = (change: Change, recipients: string, channels: string, before_hours: number[] = []): NotificationRule => ({
  change,
  recipients: recipients.split(" ") as Recipient[],
  channels: channels.split(" ") as Channel[],
  before_hours,
});

/** What a domain without rules of its own gets: the appointments service's DEFAULT_RULES
 * (src/kairos/appointments/domain/notifications.py), the starting point of a domain's own rules. */
export const DEFAULT_NOTIFICATIONS: NotificationRule[] = [
  rule("requested", "professional staff", "in_app email"),
  rule("requested", "patient", "email"),
  rule("approved", "patient", "email push in_app"),
  rule("declined", "patient", "email push in_app"),
  rule("cancelled", "patient professional staff", "email in_app"),
  rule("proposed", "patient", "email push in_app"),
  rule("proposal_accepted", "professional staff", "in_app email"),
  rule("proposal_rejected", "professional staff", "in_app email"),
  rule("rescheduled", "patient professional staff", "email in_app"),
  rule("no_show", "patient", "email"),
  rule("waitlist_offered", "patient", "email push sms"),
  rule("reminder", "patient", "email push", [24]),
];

export interface RuleDraft {
  uid: string;
  name: string;
  types: string[];
  minimumNotice: string;
  maximumNotice: string;
  returningOnly: boolean;
  answers: string; // a JSON object, as typed
}

export interface NotificationDraft {
  uid: string;
  change: Change;
  recipients: Recipient[];
  channels: Channel[];
  beforeHours: string; // "24, 2"
}

export interface WorkflowDraft {
  rules: RuleDraft[];
  holdMinutes: string;
  waitlistMinutes: string;
  /** The service's default notification rules (`notifications: null`), or the domain's own below. */
  defaults: boolean;
  notifications: NotificationDraft[];
}

export interface WorkflowFields {
  auto_approval: AutoApprovalRule[];
  hold_minutes: number;
  waitlist_offer_minutes: number;
  notifications: NotificationRule[] | null;
}

let counter = 0;
export const nextUid = (prefix: string) => `${prefix}-${(counter += 1)}`;

export function ruleDraft(rule: AutoApprovalRule): RuleDraft {
  return {
    uid: nextUid("rule"),
    name: rule.name,
    types: rule.appointment_types ?? [],
    minimumNotice: String(rule.minimum_notice_hours ?? 0),
    maximumNotice: rule.maximum_notice_hours == null ? "" : String(rule.maximum_notice_hours),
    returningOnly: rule.returning_patients_only ?? false,
    answers: Object.keys(rule.answers ?? {}).length ? JSON.stringify(rule.answers) : "",
  };
}

export function notificationDraft(rule: NotificationRule): NotificationDraft {
  return {
    uid: nextUid("notification"),
    change: rule.change,
    recipients: [...rule.recipients],
    channels: [...rule.channels],
    beforeHours: (rule.before_hours ?? []).join(", "),
  };
}

export function workflowDraftOf(domain: Partial<WorkflowFields>): WorkflowDraft {
  return {
    rules: (domain.auto_approval ?? []).map(ruleDraft),
    holdMinutes: String(domain.hold_minutes ?? 5),
    waitlistMinutes: String(domain.waitlist_offer_minutes ?? 120),
    defaults: domain.notifications == null,
    notifications: (domain.notifications ?? DEFAULT_NOTIFICATIONS).map(notificationDraft),
  };
}

/** "24, 2" → [24, 2]; null when a part is not a number. */
export function hoursOf(text: string): number[] | null {
  const parts = text
    .split(/[\s,;]+/)
    .map((part) => part.trim())
    .filter(Boolean);
  const hours = parts.map(Number);
  return hours.every((hour) => Number.isFinite(hour) && hour > 0) ? hours : null;
}

/** A JSON object typed in, or null when it is not one; empty text is no condition ({}). */
export function answersOf(text: string): Record<string, unknown> | null {
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null; // not JSON: the field is marked
  }
}

/** The ids (`<uid>-answers`, `<uid>-hours`) of fields the editor must mark before saving. */
export function workflowProblems(draft: WorkflowDraft): Set<string> {
  const problems = new Set<string>();
  for (const rule of draft.rules) if (answersOf(rule.answers) === null) problems.add(`${rule.uid}-answers`);
  if (!draft.defaults)
    for (const notification of draft.notifications)
      if (notification.change === "reminder" && hoursOf(notification.beforeHours) === null)
        problems.add(`${notification.uid}-hours`);
  return problems;
}

const numberOr = (text: string, fallback: number | null) => (text.trim() === "" ? fallback : Number(text));

/** The fields to send; out-of-range numbers and empty names are left for the service to refuse (422). */
export function workflowOf(draft: WorkflowDraft): WorkflowFields {
  return {
    auto_approval: draft.rules.map((rule) => ({
      name: rule.name.trim(),
      appointment_types: rule.types,
      minimum_notice_hours: numberOr(rule.minimumNotice, 0) ?? 0,
      maximum_notice_hours: numberOr(rule.maximumNotice, null),
      returning_patients_only: rule.returningOnly,
      answers: answersOf(rule.answers) ?? {},
    })),
    hold_minutes: numberOr(draft.holdMinutes, 5) ?? 5,
    waitlist_offer_minutes: numberOr(draft.waitlistMinutes, 120) ?? 120,
    notifications: draft.defaults
      ? null
      : draft.notifications.map((notification) => ({
          change: notification.change,
          recipients: notification.recipients,
          channels: notification.channels,
          before_hours: notification.change === "reminder" ? (hoursOf(notification.beforeHours) ?? []) : [],
        })),
  };
}
