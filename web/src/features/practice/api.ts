// The appointments service, as a practice's inbox and agenda use it.
import type { Api, AppointmentsSchemas } from "../../api/client";
import { unwrap } from "../../api/problem";
import type { Domain } from "../appointments/api";

export type DecisionItem = AppointmentsSchemas["DecisionItem"];
export type DecisionOutcome = AppointmentsSchemas["DecisionOutcome"];

export function listDomains(api: Api): Promise<Map<string, Domain>> {
  return unwrap(api.appointments.GET("/api/v1/appointments/domains")).then(
    (domains) => new Map(domains.map((domain) => [domain.name, domain])),
  );
}

export function approve(api: Api, appointmentId: string, idempotencyKey: string) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/appointments/{appointment_id}/decision", {
      params: { path: { appointment_id: appointmentId } },
      body: { decision: "approve" },
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}

export function decline(
  api: Api,
  appointmentId: string,
  body: { reason_code: string; reason: string | null },
  idempotencyKey: string,
) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/appointments/{appointment_id}/decision", {
      params: { path: { appointment_id: appointmentId } },
      body: { decision: "decline", ...body },
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}

/** Another time for a request; the service reserves it for the patient, who accepts or rejects it. */
export function propose(
  api: Api,
  appointmentId: string,
  body: { starts_at: string; reason: string | null },
  idempotencyKey: string,
) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/appointments/{appointment_id}/proposal", {
      params: { path: { appointment_id: appointmentId } },
      body,
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}

/** Many decisions at once; each is its own transaction, and each has its own outcome (in order). */
export async function decideMany(api: Api, decisions: DecisionItem[], idempotencyKey: string) {
  const answer = await unwrap(
    api.appointments.POST("/api/v1/appointments/appointments/decisions", {
      body: { decisions },
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
  return answer.results;
}
