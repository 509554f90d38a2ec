// The appointments service's domain configuration, as the domain administration pages use it.
import type { Api, AppointmentsSchemas } from "../../api/client";
import { unwrap } from "../../api/problem";
import type { SignedInUser } from "../auth/session";

export type Domain = AppointmentsSchemas["DomainRead"];
export type DomainWrite = AppointmentsSchemas["DomainWrite"];
export type AppointmentType = AppointmentsSchemas["AppointmentTypeModel"];

/** Whether the screens for configuring domains apply; the service decides who may save. */
export function administersDomains(user: SignedInUser): boolean {
  return user.roles.includes("domain_admin") || user.roles.includes("operator");
}

export function listDomains(api: Api): Promise<Domain[]> {
  return unwrap(api.appointments.GET("/api/v1/appointments/domains"));
}

export function readDomain(api: Api, name: string): Promise<Domain> {
  return unwrap(api.appointments.GET("/api/v1/appointments/domains/{name}", { params: { path: { name } } }));
}

export function saveDomain(api: Api, name: string, body: DomainWrite): Promise<Domain> {
  return unwrap(api.appointments.PUT("/api/v1/appointments/domains/{name}", { params: { path: { name } }, body }));
}
