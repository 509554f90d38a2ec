import { organisationOf, rolesOf, userManagerSettings } from "./session";

function token(claims: object): string {
  const encode = (part: object) =>
    btoa(JSON.stringify(part)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${encode({ alg: "RS256", typ: "at+jwt" })}.${encode(claims)}.signature`;
}

test("the client signs in with the code flow at identity behind this origin, and renews with a refresh token", () => {
  const settings = userManagerSettings("http://127.0.0.1:8000", sessionStorage);

  expect(settings).toMatchObject({
    authority: "http://127.0.0.1:8000/api/v1/identity",
    client_id: "kairos-web",
    redirect_uri: "http://127.0.0.1:8000/auth/callback",
    post_logout_redirect_uri: "http://127.0.0.1:8000/",
    response_type: "code",
    automaticSilentRenew: true,
  });
  expect(settings.scope?.split(" ")).toEqual(["openid", "profile", "email", "offline_access"]);
});

test("roles are read from the access token's claims", () => {
  expect(rolesOf(token({ sub: "u1", roles: ["patient", "operator"] }))).toEqual(["patient", "operator"]);
  expect(rolesOf(token({ sub: "u1" }))).toEqual([]);
  expect(rolesOf("opaque-token")).toEqual([]);
});

test("the organisation is read from the access token's org claim", () => {
  expect(organisationOf(token({ sub: "u1", org: "0192f000-0000-7000-8000-00000000a001" }))).toBe(
    "0192f000-0000-7000-8000-00000000a001",
  );
  expect(organisationOf(token({ sub: "u1" }))).toBeUndefined();
});
