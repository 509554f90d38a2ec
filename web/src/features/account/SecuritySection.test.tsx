import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";

import { fakeServer, renderPage, type Handler } from "../../test/render";
import type { Grant, Passkey, SecondFactors } from "./api";
import { ApplicationsSection } from "./ApplicationsSection";
import { SecuritySection } from "./SecuritySection";

const ME = "/api/v1/identity/me";
const ENROLLED: SecondFactors = { totp_enrolled: true, recovery_codes_left: 2, passkeys: 0, required: true };
const LAPTOP: Passkey = {
  id: "0192f000-0000-7000-8000-0000000008a1",
  name: "Laptop",
  transports: ["internal"],
  created_at: "2026-11-20T08:00:00Z",
  last_used_at: null,
};

function security(overrides: Record<string, Handler> = {}) {
  return fakeServer({
    [`GET ${ME}/mfa`]: () => ({ body: ENROLLED }),
    [`GET ${ME}/passkeys`]: () => ({ body: [] }),
    ...overrides,
  });
}

test("not set up: a link to identity's enrolment page that comes back here", async () => {
  const server = security({
    [`GET ${ME}/mfa`]: () => ({ body: { totp_enrolled: false, recovery_codes_left: 0, passkeys: 0, required: true } }),
  });
  await renderPage(<SecuritySection create={vi.fn()} />, { path: "/account", server });
  const link = await screen.findByRole("link", { name: "Set up an authenticator app" });
  expect(link).toHaveAttribute("href", "/api/v1/identity/mfa/enrol?next=%2Faccount%3Fmfa%3Denrolled");
  expect(screen.getByText("Your role requires a second factor: set up an authenticator app.")).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Make new recovery codes" })).not.toBeInTheDocument();
});

test("new recovery codes need a code; a wrong one shows the problem, a right one shows the codes once", async () => {
  let answered = 0;
  const server = security({
    [`POST ${ME}/mfa/recovery-codes`]: async (request) => {
      const { code } = (await request.json()) as { code: string };
      answered += 1;
      if (code !== "123456") return { status: 422, body: { title: "The code is not right", status: 422 } };
      return { status: 201, body: { codes: ["aaaa-bbbb", "cccc-dddd"] } };
    },
  });
  await renderPage(<SecuritySection create={vi.fn()} />, { path: "/account", search: "?mfa=enrolled", server });
  const user = userEvent.setup();
  expect(await screen.findByText("Your authenticator app is set up.")).toBeInTheDocument();
  expect(screen.getByText("Recovery codes left: 2. Make new ones before they run out.")).toBeInTheDocument();
  const proof = screen.getByLabelText("A code from your authenticator app, or an unused recovery code");

  await user.type(proof, "000000");
  await user.click(screen.getByRole("button", { name: "Make new recovery codes" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("The code is not right");

  await user.clear(proof);
  await user.type(proof, "123456");
  await user.click(screen.getByRole("button", { name: "Make new recovery codes" }));
  const codes = await screen.findByRole("list", { name: "Your new recovery codes" });
  expect(
    within(codes)
      .getAllByRole("listitem")
      .map((item) => item.textContent),
  ).toEqual(["aaaa-bbbb", "cccc-dddd"]);
  expect(answered).toBe(2);
});

test("passkeys: added with the browser's authenticator, renamed, removed; a cancelled ceremony is said so", async () => {
  let stored: Passkey[] = [];
  const server = security({
    [`GET ${ME}/passkeys`]: () => ({ body: stored }),
    [`POST ${ME}/passkeys/registration-options`]: () => ({
      body: { challenge_id: "0192f000-0000-7000-8000-0000000009a1", public_key: { challenge: "abc" } },
    }),
    [`POST ${ME}/passkeys`]: async (request) => {
      const body = (await request.json()) as { name: string; credential: unknown; challenge_id: string };
      expect(body.credential).toEqual({ id: "made-by-the-authenticator", options: { challenge: "abc" } });
      stored = [{ ...LAPTOP, name: body.name }];
      return { status: 201, body: stored[0] };
    },
    [`PATCH ${ME}/passkeys/${LAPTOP.id}`]: async (request) => {
      const { name } = (await request.json()) as { name: string };
      stored = [{ ...LAPTOP, name }];
      return { body: stored[0] };
    },
    [`DELETE ${ME}/passkeys/${LAPTOP.id}`]: () => {
      stored = [];
      return { status: 204 };
    },
  });
  vi.stubGlobal("PublicKeyCredential", function PublicKeyCredential() {});
  const create = vi
    .fn()
    .mockRejectedValueOnce(new DOMException("cancelled", "NotAllowedError"))
    .mockImplementation((options: Record<string, unknown>) =>
      Promise.resolve({ id: "made-by-the-authenticator", options }),
    );
  await renderPage(<SecuritySection create={create} />, { path: "/account", server });
  const user = userEvent.setup();
  const passkeys = await screen.findByRole("region", { name: "Passkeys" });
  expect(await within(passkeys).findByText("No passkeys yet.")).toBeInTheDocument();

  await user.type(within(passkeys).getByLabelText("Name of the new passkey"), "Laptop");
  await user.click(within(passkeys).getByRole("button", { name: "Add a passkey" }));
  expect(await within(passkeys).findByRole("alert")).toHaveTextContent("No passkey was made");
  await user.click(within(passkeys).getByRole("button", { name: "Add a passkey" }));
  expect(await within(passkeys).findByText('Passkey "Laptop" added.')).toBeInTheDocument();
  expect(await within(passkeys).findByText("Laptop")).toBeInTheDocument();

  await user.click(within(passkeys).getByRole("button", { name: "Rename Laptop" }));
  const newName = within(passkeys).getByLabelText("New name for Laptop");
  await user.clear(newName);
  await user.type(newName, "Phone");
  await user.click(within(passkeys).getByRole("button", { name: "Save" }));
  expect(await within(passkeys).findByText('Renamed to "Phone".')).toBeInTheDocument();

  await user.click(await within(passkeys).findByRole("button", { name: "Remove Phone" }));
  expect(await within(passkeys).findByText("No passkeys yet.")).toBeInTheDocument();
  vi.unstubAllGlobals();
});

test("other applications: none, or each with what it may do, and revoked", async () => {
  const GRANT: Grant = {
    client_id: "calendar-sync",
    client_name: "Calendar Sync",
    scopes: ["appointments:read", "openid"],
    granted_at: "2026-11-01T10:00:00Z",
    revoked_at: null,
  };
  let grants = [GRANT];
  const server = fakeServer({
    [`GET ${ME}/grants`]: () => ({ body: { items: grants, next_cursor: null } }),
    [`DELETE ${ME}/grants/calendar-sync`]: () => {
      grants = [];
      return { body: { ...GRANT, revoked_at: "2026-11-25T10:00:00Z" } };
    },
  });
  await renderPage(<ApplicationsSection />, { path: "/account", server });
  const user = userEvent.setup();
  expect(await screen.findByText("Calendar Sync")).toBeInTheDocument();
  expect(screen.getByText(/may: appointments:read, openid/)).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Revoke access of Calendar Sync" }));
  expect(await screen.findByText("Calendar Sync can no longer use your account.")).toBeInTheDocument();
  expect(await screen.findByText("You have not allowed any other application.")).toBeInTheDocument();
});
