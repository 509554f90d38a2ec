// Identity's verification of professionals by their organisation, as the verifier's page uses it.
import type { Api, IdentitySchemas } from "../../api/client";
import { unwrap } from "../../api/problem";
import type { SignedInUser } from "../auth/session";

export type Submission = IdentitySchemas["ProfessionalProfileRead"];
export type Decision = IdentitySchemas["VerificationDecisionCreate"];

const PAGE_SIZE = 200; // the service's largest page

/** Roles that carry `professionals:verify` (identity's domain/roles.py); identity decides who may, per organisation. */
const VERIFYING_ROLES = ["staff", "domain_admin", "operator"];

export function verifiesProfessionals(user: SignedInUser): boolean {
  return user.roles.some((role) => VERIFYING_ROLES.includes(role));
}

/** The organisation's profiles waiting for a decision (`submitted`), every page of them. */
export async function loadSubmissions(api: Api, organisation: string): Promise<Submission[]> {
  const found: Submission[] = [];
  let cursor: string | undefined;
  do {
    const page = await unwrap(
      api.identity.GET("/api/v1/identity/organisations/{organisation_id}/professionals", {
        params: {
          path: { organisation_id: organisation },
          query: { status: "submitted", limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
        },
      }),
    );
    found.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return found.sort((a, b) => (a.submitted_at ?? "").localeCompare(b.submitted_at ?? ""));
}

export function decide(api: Api, submission: Submission, decision: Decision): Promise<Submission> {
  return unwrap(
    api.identity.POST("/api/v1/identity/organisations/{organisation_id}/professionals/{user_id}/decision", {
      params: { path: { organisation_id: submission.organisation_id, user_id: submission.user_id } },
      body: decision,
    }),
  );
}
