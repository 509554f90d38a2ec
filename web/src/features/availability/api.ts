// The appointments service, as the availability editor uses it.
import type { Api } from "../../api/client";
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
