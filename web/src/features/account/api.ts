// The identity service's "me" endpoints, as the account pages use them.
import type { Api, IdentitySchemas } from "../../api/client";
import { ProblemError, unwrap } from "../../api/problem";

export type Profile = IdentitySchemas["ProfileRead"];
export type ProfileUpdate = IdentitySchemas["ProfileUpdate"];
export type Session = IdentitySchemas["SessionRead"];
export type Consent = IdentitySchemas["ConsentRead"];
export type Purpose = IdentitySchemas["PurposeRead"];
export type DataRequest = IdentitySchemas["DataRequestRead"];
export type ProfessionalProfile = IdentitySchemas["ProfessionalProfileRead"];
export type Credentials = IdentitySchemas["CredentialsWrite"];
export type NotificationKind = IdentitySchemas["NotificationKind"];
export type Channel = IdentitySchemas["Channel"];

const PAGE_SIZE = 200; // the service's largest page: more sessions, consents or requests than this are not shown

export const NOTIFICATION_KINDS: NotificationKind[] = [
  "appointment_updates",
  "reminders",
  "messages",
  "documents",
  "account_security",
];
export const CHANNELS: Channel[] = ["email", "sms", "push", "in_app"];

export function loadProfile(api: Api): Promise<Profile> {
  return unwrap(api.identity.GET("/api/v1/identity/me/profile"));
}

export function updateProfile(api: Api, changes: ProfileUpdate): Promise<Profile> {
  return unwrap(api.identity.PATCH("/api/v1/identity/me/profile", { body: changes }));
}

export async function loadSessions(api: Api): Promise<Session[]> {
  const page = await unwrap(
    api.identity.GET("/api/v1/identity/me/sessions", { params: { query: { limit: PAGE_SIZE } } }),
  );
  return page.items;
}

/** Answers 204: no body to unwrap, only the status to check. */
async function noContent(call: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const { error, response } = await call;
  if (!response.ok) await unwrap(Promise.resolve({ error, response }));
}

export function revokeSession(api: Api, sessionId: string): Promise<void> {
  return noContent(
    api.identity.DELETE("/api/v1/identity/me/sessions/{session_id}", {
      params: { path: { session_id: sessionId } },
    }),
  );
}

export function revokeOtherSessions(api: Api): Promise<void> {
  return noContent(api.identity.DELETE("/api/v1/identity/me/sessions", { params: { query: { keep_current: true } } }));
}

export interface Consents {
  purposes: Purpose[];
  history: Consent[];
}

export async function loadConsents(api: Api): Promise<Consents> {
  const [purposes, history] = await Promise.all([
    unwrap(api.identity.GET("/api/v1/identity/consents/purposes")),
    unwrap(api.identity.GET("/api/v1/identity/me/consents", { params: { query: { limit: PAGE_SIZE } } })),
  ]);
  return { purposes, history: history.items };
}

export function grantConsent(api: Api, purpose: Purpose): Promise<Consent> {
  return unwrap(
    api.identity.POST("/api/v1/identity/me/consents", { body: { purpose: purpose.name, version: purpose.version } }),
  );
}

export function withdrawConsent(api: Api, purpose: string): Promise<Consent> {
  return unwrap(api.identity.DELETE("/api/v1/identity/me/consents/{purpose}", { params: { path: { purpose } } }));
}

export async function loadDataRequests(api: Api): Promise<DataRequest[]> {
  const page = await unwrap(
    api.identity.GET("/api/v1/identity/me/data-requests", { params: { query: { limit: PAGE_SIZE } } }),
  );
  return page.items;
}

export function requestData(api: Api, kind: DataRequest["kind"]): Promise<DataRequest> {
  return unwrap(api.identity.POST("/api/v1/identity/me/data-requests", { body: { kind } }));
}

/** The export as a file: fetched with the access token (a plain link would carry none), then saved. */
export async function downloadExport(api: Api, requestId: string): Promise<Blob> {
  const { data, error, response } = await api.identity.GET("/api/v1/identity/me/data-requests/{request_id}/download", {
    params: { path: { request_id: requestId } },
    parseAs: "blob",
  });
  if (!response.ok || data === undefined) return unwrap(Promise.resolve({ error, response }));
  return data;
}

/** One's professional profile in the organisation; null when none is started yet (404). */
export async function loadProfessionalProfile(api: Api, organisation: string): Promise<ProfessionalProfile | null> {
  try {
    return await unwrap(
      api.identity.GET("/api/v1/identity/me/professional-profiles/{organisation_id}", {
        params: { path: { organisation_id: organisation } },
      }),
    );
  } catch (error) {
    if (error instanceof ProblemError && error.problem.status === 404) return null;
    throw error;
  }
}

export function saveProfessionalDraft(api: Api, organisation: string, body: Credentials): Promise<ProfessionalProfile> {
  return unwrap(
    api.identity.PUT("/api/v1/identity/me/professional-profiles/{organisation_id}", {
      params: { path: { organisation_id: organisation } },
      body,
    }),
  );
}

export function submitProfessionalProfile(
  api: Api,
  organisation: string,
  body: Credentials,
): Promise<ProfessionalProfile> {
  return unwrap(
    api.identity.POST("/api/v1/identity/me/professional-profiles/{organisation_id}/submission", {
      params: { path: { organisation_id: organisation } },
      body,
    }),
  );
}

export type SecondFactors = IdentitySchemas["SecondFactorsRead"];
export type Passkey = IdentitySchemas["PasskeyRead"];
export type Grant = IdentitySchemas["ClientGrantRead"];

/** Identity's own page for setting up an authenticator app (the key never reaches this app); back here after. */
export function enrolmentPath(returnTo: string): string {
  return `/api/v1/identity/mfa/enrol?${new URLSearchParams({ next: returnTo }).toString()}`;
}

export function loadSecondFactors(api: Api): Promise<SecondFactors> {
  return unwrap(api.identity.GET("/api/v1/identity/me/mfa"));
}

/** New recovery codes, proven with a current authenticator code or an unused recovery code; shown once. */
export async function regenerateRecoveryCodes(api: Api, code: string): Promise<string[]> {
  const answer = await unwrap(api.identity.POST("/api/v1/identity/me/mfa/recovery-codes", { body: { code } }));
  return answer.codes;
}

export function loadPasskeys(api: Api): Promise<Passkey[]> {
  return unwrap(api.identity.GET("/api/v1/identity/me/passkeys"));
}

/** Register a passkey: the service's options, the browser's authenticator (`create`), the service's check. */
export async function addPasskey(
  api: Api,
  name: string,
  create: (options: Record<string, unknown>) => Promise<Record<string, unknown>>,
): Promise<Passkey> {
  const ceremony = await unwrap(api.identity.POST("/api/v1/identity/me/passkeys/registration-options"));
  const credential = await create(ceremony.public_key);
  return unwrap(
    api.identity.POST("/api/v1/identity/me/passkeys", {
      body: { challenge_id: ceremony.challenge_id, name, credential },
    }),
  );
}

export function renamePasskey(api: Api, passkeyId: string, name: string): Promise<Passkey> {
  return unwrap(
    api.identity.PATCH("/api/v1/identity/me/passkeys/{passkey_id}", {
      params: { path: { passkey_id: passkeyId } },
      body: { name },
    }),
  );
}

export function removePasskey(api: Api, passkeyId: string): Promise<void> {
  return noContent(
    api.identity.DELETE("/api/v1/identity/me/passkeys/{passkey_id}", { params: { path: { passkey_id: passkeyId } } }),
  );
}

export async function loadGrants(api: Api): Promise<Grant[]> {
  const page = await unwrap(
    api.identity.GET("/api/v1/identity/me/grants", { params: { query: { limit: PAGE_SIZE } } }),
  );
  return page.items;
}

export function revokeGrant(api: Api, clientId: string): Promise<Grant> {
  return unwrap(
    api.identity.DELETE("/api/v1/identity/me/grants/{client_id}", { params: { path: { client_id: clientId } } }),
  );
}
