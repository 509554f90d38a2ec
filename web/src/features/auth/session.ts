// Sign-in with the identity service: OpenID Connect authorization code flow with PKCE (oidc-client-ts),
// renewal with the refresh token (offline_access), RP-initiated logout.
import { UserManager, WebStorageStateStore, type User, type UserManagerSettings } from "oidc-client-ts";

export const CLIENT_ID: string = import.meta.env.VITE_KAIROS_CLIENT_ID || "kairos-web";

export function userManagerSettings(origin: string, storage: Storage): UserManagerSettings {
  return {
    authority: `${origin}/api/v1/identity`,
    client_id: CLIENT_ID,
    redirect_uri: `${origin}/auth/callback`,
    post_logout_redirect_uri: `${origin}/`,
    response_type: "code", // PKCE (S256) is always on in oidc-client-ts
    scope: "openid profile email offline_access",
    automaticSilentRenew: true, // with a refresh token, renewal is a token request: no iframe, no third-party cookie
    // Tokens live for this tab only; a new tab signs in again (silently, while the identity session lasts).
    userStore: new WebStorageStateStore({ store: storage }),
    stateStore: new WebStorageStateStore({ store: storage }),
  };
}

export function createUserManager(): UserManager {
  return new UserManager(userManagerSettings(window.location.origin, window.sessionStorage));
}

export interface SignedInUser {
  subject: string;
  name: string;
  email: string | undefined;
  roles: string[];
  /** The organisation of a professional, staff member or domain admin; none for a patient. */
  organisation: string | undefined;
  accessToken: string;
}

export function signedInUser(user: User): SignedInUser {
  const profile = user.profile;
  return {
    subject: profile.sub,
    name: profile.name ?? profile.email ?? profile.sub,
    email: profile.email,
    roles: rolesOf(user.access_token),
    organisation: organisationOf(user.access_token),
    accessToken: user.access_token,
  };
}

/**
 * The roles in the access token (identity puts them there, not in the ID token or userinfo). Read only to
 * shape the screens; every service checks the token's signature and the roles itself.
 */
export function rolesOf(accessToken: string): string[] {
  const roles = claimsOf(accessToken).roles;
  return Array.isArray(roles) ? roles.filter((role): role is string => typeof role === "string") : [];
}

/** The organisation the token's roles hold in (`org`), for a professional's, staff's or admin's screens. */
export function organisationOf(accessToken: string): string | undefined {
  const organisation = claimsOf(accessToken).org;
  return typeof organisation === "string" ? organisation : undefined;
}

/** A JWT's payload, unverified (the services verify it); empty for anything else. */
function claimsOf(accessToken: string): Record<string, unknown> {
  const payload = accessToken.split(".")[1];
  if (!payload) return {};
  try {
    const claims: unknown = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof claims === "object" && claims !== null ? (claims as Record<string, unknown>) : {};
  } catch {
    return {}; // not a JWT: no claims to show
  }
}
