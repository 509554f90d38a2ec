// The appointments service, as the availability editor uses it.
import type { Api, AppointmentsSchemas } from "../../api/client";
import { ProblemError, unwrap } from "../../api/problem";
import type { Resource } from "../booking/api";
import type { Schedule } from "./weekly";

export function listOrganisationResources(api: Api, organisationId: string): Promise<Resource[]> {
  return unwrap(
    api.appointments.GET("/api/v1/appointments/resources", {
      params: { query: { organisation_id: organisationId, limit: 200 } },
    }),
  ).then((page) => page.items);
}

/** A resource's schedule; null while it has no working hours yet. */
export async function readSchedule(api: Api, resourceId: string): Promise<Schedule | null> {
  try {
    return await unwrap(
      api.appointments.GET("/api/v1/appointments/resources/{resource_id}/schedule", {
        params: { path: { resource_id: resourceId } },
      }),
    );
  } catch (error) {
    if (error instanceof ProblemError && error.problem.type === "urn:kairos:problem:no-schedule") return null;
    throw error;
  }
}

export async function saveSchedule(api: Api, resourceId: string, schedule: Schedule): Promise<void> {
  const { error, response } = await api.appointments.PUT("/api/v1/appointments/resources/{resource_id}/schedule", {
    params: { path: { resource_id: resourceId } },
    body: schedule,
  });
  if (!response.ok) await unwrap(Promise.resolve({ error, response }));
}

export type BulkChangeCreate = AppointmentsSchemas["BulkChangeCreate"];
export type BulkChangeRead = AppointmentsSchemas["BulkChangeRead"];
export type RecentChange = AppointmentsSchemas["RecentChangeRead"];

/** One availability change for many resources: a preview (nothing written) or applied (undoable). */
export function changeInBulk(api: Api, body: BulkChangeCreate, preview: boolean, idempotencyKey?: string) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/availability/bulk-changes", {
      params: { query: { preview } },
      body,
      // Applying once only, even when sent again after a lost answer; a preview is always computed afresh.
      ...(idempotencyKey ? { headers: { "Idempotency-Key": idempotencyKey } } : {}),
    }),
  );
}

/** The bulk changes the caller may undo, latest first. */
export async function listRecentChanges(
  api: Api,
  cursor?: string,
): Promise<{ items: RecentChange[]; next: string | null }> {
  const page = await unwrap(
    api.appointments.GET("/api/v1/appointments/availability/bulk-changes", {
      params: { query: { limit: 10, ...(cursor ? { cursor } : {}) } },
    }),
  );
  return { items: page.items, next: page.next_cursor ?? null };
}

/** Restores the schedules a change replaced; a 409 says a later change touched them. */
export function undoChange(api: Api, changeId: string, idempotencyKey: string) {
  return unwrap(
    api.appointments.POST("/api/v1/appointments/availability/bulk-changes/{change_id}/undo", {
      params: { path: { change_id: changeId } },
      headers: { "Idempotency-Key": idempotencyKey },
    }),
  );
}
