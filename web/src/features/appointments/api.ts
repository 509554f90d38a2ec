// The appointments service, as this feature uses it.
import type { Api, AppointmentsSchemas } from "../../api/client";
import { unwrap } from "../../api/problem";

export type Resource = AppointmentsSchemas["ResourceRead"];
export type Domain = AppointmentsSchemas["DomainRead"];
export type AppointmentType = AppointmentsSchemas["AppointmentTypeModel"];
export type AppointmentCreate = AppointmentsSchemas["AppointmentCreate"];
export type Appointment = AppointmentsSchemas["AppointmentWithHistory"];
export type HistoryEntry = AppointmentsSchemas["HistoryEntry"];

export interface Directory {
  resources: Resource[];
  domains: Map<string, Domain>;
}

const PAGE_SIZE = 200; // the service's largest page; a directory beyond it needs search (issue 7 §2)

/** Who can be booked, and the domains that say which appointment types and questions apply. */
export async function loadDirectory(api: Api): Promise<Directory> {
  const [resources, domains] = await Promise.all([
    unwrap(api.appointments.GET("/api/v1/appointments/resources", { params: { query: { limit: PAGE_SIZE } } })),
    unwrap(api.appointments.GET("/api/v1/appointments/domains")),
  ]);
  return { resources: resources.items, domains: new Map(domains.map((domain) => [domain.name, domain])) };
}

/**
 * An Idempotency-Key for a command, the same for as long as its body stays the same: sending the same
 * request again after a lost answer replays the first answer instead of acting twice, and lets the
 * gateway retry it on another instance.
 */
export function idempotencyKeys() {
  let last: { body: string; key: string } | undefined;
  return (body: unknown): string => {
    const serialized = JSON.stringify(body);
    if (last?.body !== serialized) last = { body: serialized, key: crypto.randomUUID() };
    return last.key;
  };
}

export function requestAppointment(api: Api, body: AppointmentCreate, idempotencyKey: string) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/appointments", {
      body,
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}

export function readAppointment(api: Api, appointmentId: string) {
  return unwrap(
    api.appointments.GET("/api/v1/appointments/appointments/{appointment_id}", {
      params: { path: { appointment_id: appointmentId } },
    }),
  );
}

export function cancelAppointment(api: Api, appointmentId: string, reason: string, idempotencyKey: string) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/appointments/{appointment_id}/cancellation", {
      params: { path: { appointment_id: appointmentId } },
      body: { reason },
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}

/** Statuses in which the appointment still holds its time and can be cancelled (FHIR R4 Appointment.status). */
export const ACTIVE_STATUSES: ReadonlySet<string> = new Set(["proposed", "pending", "booked", "waitlist"]);

export type AppointmentSummary = AppointmentsSchemas["AppointmentRead"];
export type AppointmentStatus = AppointmentsSchemas["Status"];

export interface AppointmentQuery {
  status?: AppointmentStatus[];
  resourceId?: string;
  /** A patient's subject, or "me". */
  patient?: string;
  /** Starting at or after. */
  from?: Date;
  /** Starting before. */
  to?: Date;
  cursor?: string;
  limit?: number;
}

export interface AppointmentPage {
  items: AppointmentSummary[];
  nextCursor: string | null;
}

/** One page of the appointments the caller may see, by start time (a patient's own, an organisation's). */
export async function listAppointments(api: Api, query: AppointmentQuery): Promise<AppointmentPage> {
  const page = await unwrap(
    api.appointments.GET("/api/v1/appointments/appointments", {
      params: {
        query: {
          limit: query.limit ?? 50,
          ...(query.status?.length ? { status: query.status } : {}),
          ...(query.resourceId ? { resource_id: query.resourceId } : {}),
          ...(query.patient ? { patient: query.patient } : {}),
          ...(query.from ? { from: query.from.toISOString() } : {}),
          ...(query.to ? { to: query.to.toISOString() } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        },
      },
    }),
  );
  return { items: page.items, nextCursor: page.next_cursor ?? null };
}

/**
 * Every appointment that matches, page after page, up to `max` (an agenda's week, a patient's past): the
 * service pages by start time only, oldest first.
 */
export async function listAllAppointments(
  api: Api,
  query: AppointmentQuery,
  max = 1000,
): Promise<AppointmentSummary[]> {
  const found: AppointmentSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await listAppointments(api, { ...query, limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    found.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && found.length < max);
  return found;
}

/** The appointment's event stream: each change with who made it, when and why (and what was asked). */
export function readHistory(api: Api, appointmentId: string): Promise<HistoryEntry[]> {
  return unwrap(
    api.appointments.GET("/api/v1/appointments/appointments/{appointment_id}/history", {
      params: { path: { appointment_id: appointmentId } },
    }),
  );
}

export function rescheduleAppointment(
  api: Api,
  appointmentId: string,
  body: { starts_at: string; reason: string },
  idempotencyKey: string,
) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/appointments/{appointment_id}/reschedule", {
      params: { path: { appointment_id: appointmentId } },
      body,
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}

/** The patient's answer to the time the practice proposed: accepted (booked) or rejected (cancelled). */
export function answerProposal(
  api: Api,
  appointmentId: string,
  body: { accept: boolean; reason?: string | null },
  idempotencyKey: string,
) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/appointments/{appointment_id}/proposal/answer", {
      params: { path: { appointment_id: appointmentId } },
      body,
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}

/**
 * The appointment as an iCalendar file. It is asked with the access token (a plain link could not carry
 * it), then handed to the browser as a download.
 */
export async function readCalendarFile(api: Api, appointmentId: string): Promise<Blob> {
  return unwrap(
    api.appointments.GET("/api/v1/appointments/appointments/{appointment_id}.ics", {
      params: { path: { appointment_id: appointmentId } },
      parseAs: "blob",
    }),
  );
}

/** The answers to the domain's questions, as the request recorded them (its first event). */
export function answersOf(history: readonly HistoryEntry[]): Record<string, unknown> {
  const requested = history.find((entry) => entry.kind === "requested");
  const answers = requested?.data.answers;
  return typeof answers === "object" && answers !== null ? (answers as Record<string, unknown>) : {};
}

/** The time the practice proposed, from the latest `proposed` event. */
export function proposedPeriodOf(history: readonly HistoryEntry[]): { starts_at: string; ends_at: string } | null {
  const proposed = history.filter((entry) => entry.kind === "proposed").at(-1);
  const period = proposed?.data.period as { starts_at?: unknown; ends_at?: unknown } | undefined;
  return typeof period?.starts_at === "string" && typeof period.ends_at === "string"
    ? { starts_at: period.starts_at, ends_at: period.ends_at }
    : null;
}
