import type { Appointment, Domain, Resource } from "../features/appointments/api";
import type { Slot } from "../features/booking/api";
import { addDays, startOfWeek } from "../features/booking/week";
import { PATIENT } from "./render";

export const DOCTOR: Resource = {
  id: "0192f000-0000-7000-8000-0000000000d1",
  organisation_id: "0192f000-0000-7000-8000-00000000a001",
  kind: "professional",
  display_name: "Dr. Mira Haddad",
  zone: "Europe/Paris",
  domain: "medical",
};

const TYPE_DEFAULTS = {
  buffer_before_minutes: 0,
  buffer_after_minutes: 0,
  needs_approval: true,
  capacity: 1,
  minimum_notice_minutes: 0,
};

export const MEDICAL: Domain = {
  name: "medical",
  version: 1,
  label: "Medical practice",
  terminology: { client: "patient", professional: "doctor" },
  appointment_types: [
    { ...TYPE_DEFAULTS, code: "consultation", label: "Consultation", duration_minutes: 20, buffer_after_minutes: 5 },
    { ...TYPE_DEFAULTS, code: "follow-up", label: "Follow-up", duration_minutes: 15, needs_approval: false },
  ],
  form_schema: {
    type: "object",
    properties: {
      reason: { type: "string", title: "Reason for the visit", minLength: 3, maxLength: 500 },
      first_visit: { type: "boolean", title: "First visit to this practice" },
    },
    required: ["reason"],
  },
  reason_codes: ["fully_booked"],
  hold_minutes: 5,
  waitlist_offer_minutes: 120,
};

export const REQUESTED: Appointment = {
  id: "0192f000-0000-7000-8000-0000000000e1",
  resource_id: DOCTOR.id,
  organisation_id: DOCTOR.organisation_id,
  patient: PATIENT.subject,
  appointment_type: "consultation",
  starts_at: "2026-12-01T09:00:00Z",
  ends_at: "2026-12-01T09:20:00Z",
  status: "pending",
  message: "Mornings suit me best.",
  answers: {},
  version: 1,
  history: [
    {
      kind: "requested",
      actor: PATIENT.subject,
      occurred_at: "2026-11-25T14:30:00Z",
      reason: null,
      data: {},
    },
  ],
};

export const DIRECTORY_ROUTES = {
  "GET /api/v1/appointments/resources": () => ({ body: { items: [DOCTOR], next_cursor: null } }),
  "GET /api/v1/appointments/domains": () => ({ body: [MEDICAL] }),
};

/** A free slot on Wednesday 09:00 of the current week (local time): the slot picker opens on this week. */
export const SLOT: Slot = (() => {
  const starts = addDays(startOfWeek(new Date()), 2);
  starts.setHours(9, 0, 0, 0);
  return {
    starts_at: starts.toISOString(),
    ends_at: new Date(starts.getTime() + 20 * 60_000).toISOString(),
    resource_id: DOCTOR.id,
    seats_left: 1,
  };
})();

export const SLOT_ROUTES = {
  [`GET /api/v1/appointments/resources/${DOCTOR.id}/slots`]: () => ({ body: [SLOT] }),
};
