// The appointments service, as finding a professional and a free time uses it.
import type { Api, AppointmentsSchemas } from "../../api/client";
import { unwrap } from "../../api/problem";

export type Slot = AppointmentsSchemas["SlotRead"];
export type Resource = AppointmentsSchemas["ResourceRead"];

const PAGE_SIZE = 200; // the service's largest page

/** Bookable resources, of one domain or all; the service has no search by name, so that is done here. */
export async function listResources(api: Api, domain: string | null): Promise<Resource[]> {
  const page = await unwrap(
    api.appointments.GET("/api/v1/appointments/resources", {
      params: { query: { limit: PAGE_SIZE, ...(domain ? { domain } : {}) } },
    }),
  );
  return page.items;
}

/** A resource's free slots for an appointment type in [from, to), their times in the user's zone. */
export function loadFreeSlots(
  api: Api,
  query: { resourceId: string; appointmentType: string; from: Date; to: Date; zone: string },
): Promise<Slot[]> {
  return unwrap(
    api.appointments.GET("/api/v1/appointments/resources/{resource_id}/slots", {
      params: {
        path: { resource_id: query.resourceId },
        query: {
          appointment_type: query.appointmentType,
          from: query.from.toISOString(),
          to: query.to.toISOString(),
          zone: query.zone,
        },
      },
    }),
  );
}

export type Professional = AppointmentsSchemas["ProfessionalRead"];

export interface DirectoryQuery {
  /** Words of the name, specialty or location. */
  text?: string;
  specialty?: string;
  domain?: string;
}

/** Verified professionals who match, by name, each with their bookable resources and earliest free time. */
export async function searchDirectory(api: Api, query: DirectoryQuery): Promise<Professional[]> {
  const page = await unwrap(
    api.appointments.GET("/api/v1/appointments/directory", {
      params: {
        query: {
          limit: PAGE_SIZE,
          ...(query.text ? { q: query.text } : {}),
          ...(query.specialty ? { specialty: query.specialty } : {}),
          ...(query.domain ? { domain: query.domain } : {}),
        },
      },
    }),
  );
  return page.items;
}
