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
