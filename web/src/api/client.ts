// The typed API clients: one per service, typed by the types generated from its OpenAPI document.
import createClient, { type Middleware } from "openapi-fetch";
import { createContext, useContext } from "react";

import type { paths as AppointmentsPaths } from "./schema/appointments";
import type { components as AppointmentsComponents } from "./schema/appointments";
import type { components as IdentityComponents, paths as IdentityPaths } from "./schema/identity";

export type AppointmentsSchemas = AppointmentsComponents["schemas"];
export type IdentitySchemas = IdentityComponents["schemas"];

export interface ApiOptions {
  baseUrl: string;
  /** The current access token, read at each request so that a renewed token is used at once. */
  accessToken: () => string | undefined;
  fetch?: typeof globalThis.fetch;
}

export function createApi({ baseUrl, accessToken, fetch }: ApiOptions) {
  const bearer: Middleware = {
    onRequest({ request }) {
      const token = accessToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
  const appointments = createClient<AppointmentsPaths>({ baseUrl, ...(fetch ? { fetch } : {}) });
  appointments.use(bearer);
  const identity = createClient<IdentityPaths>({ baseUrl, ...(fetch ? { fetch } : {}) });
  identity.use(bearer);
  // The origin the API is at: what is not called through a client (EventSource streams) is addressed from it.
  return { appointments, identity, baseUrl };
}

export type Api = ReturnType<typeof createApi>;

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (api === null) throw new Error("useApi outside <ApiContext>");
  return api;
}
