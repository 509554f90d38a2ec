import { base64urlToBytes, bytesToBase64url, creationOptions } from "./webauthn";

test("base64url without padding both ways", () => {
  const bytes = new Uint8Array([251, 255, 0, 1, 2]);
  expect(bytesToBase64url(bytes)).toBe("-_8AAQI");
  expect(Array.from(base64urlToBytes("-_8AAQI"))).toEqual(Array.from(bytes));
});

test("the service's JSON options become the binary options the browser takes", () => {
  const options = creationOptions({
    rp: { id: "localhost", name: "Kairos" },
    user: { id: "AQID", name: "pat@example.org", displayName: "Pat" },
    challenge: "BAUG",
    pubKeyCredParams: [{ type: "public-key", alg: -7 }],
    excludeCredentials: [{ id: "BwgJ", type: "public-key", transports: ["internal"] }],
  });
  expect(Array.from(options.user.id as Uint8Array)).toEqual([1, 2, 3]);
  expect(Array.from(options.challenge as Uint8Array)).toEqual([4, 5, 6]);
  expect(Array.from(options.excludeCredentials?.[0]?.id as Uint8Array)).toEqual([7, 8, 9]);
  expect(options.extensions).toEqual({ credProps: true });
});
