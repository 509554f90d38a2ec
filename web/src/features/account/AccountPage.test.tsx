import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { onTestFinished } from "vitest";

import { PATIENT, PROFESSIONAL, fakeServer, renderPage, type Handler } from "../../test/render";
import { AccountPage } from "./AccountPage";
import type { Consent, DataRequest, Profile, ProfessionalProfile, Purpose, Session } from "./api";
import { deviceName } from "./SessionsSection";

const ME = "/api/v1/identity/me";

const PROFILE: Profile = {
  user_id: PATIENT.subject,
  email: PATIENT.email ?? "",
  display_name: "Pat Jensen",
  given_name: "Pat",
  family_name: "Jensen",
  phone: null,
  locale: "en",
  zone: "Europe/Paris",
  notifications: {
    appointment_updates: ["email", "in_app"],
    reminders: ["email"],
    messages: ["in_app"],
    documents: ["in_app"],
    account_security: ["email"],
  },
  updated_at: null,
};

const SESSIONS: Session[] = [
  {
    id: "0192f000-0000-7000-8000-0000000005a1",
    created_at: "2026-11-20T08:00:00Z",
    last_seen_at: "2026-11-25T08:00:00Z",
    expires_at: "2026-12-20T08:00:00Z",
    user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36",
    is_current: true,
  },
  {
    id: "0192f000-0000-7000-8000-0000000005a2",
    created_at: "2026-11-21T18:00:00Z",
    last_seen_at: "2026-11-22T18:00:00Z",
    expires_at: "2026-12-21T18:00:00Z",
    user_agent: "Mozilla/5.0 (iPhone; CPU iPhone OS 19_0 like Mac OS X) Version/19.0 Mobile/15E148 Safari/604.1",
    is_current: false,
  },
];

const PURPOSES: Purpose[] = [
  { name: "terms_of_service", version: "2026-11", description: "The terms of using Kairos." },
  { name: "reminders_by_sms", version: "2026-11", description: "Appointment reminders by text message." },
];

const TERMS: Consent = {
  id: "0192f000-0000-7000-8000-0000000006a1",
  purpose: "terms_of_service",
  version: "2026-11",
  granted_at: "2026-11-01T10:00:00Z",
  closed_at: null,
  closed_by: null,
  is_current: true,
};

const EXPORT: DataRequest = {
  id: "0192f000-0000-7000-8000-0000000007a1",
  kind: "export",
  status: "complete",
  requested_at: "2026-11-24T10:00:00Z",
  deadline: "2026-12-24T10:00:00Z",
  completed_at: "2026-11-24T10:01:00Z",
  failed_at: null,
  failure_reason: null,
  answered: ["identity", "appointments"],
  waiting_for: [],
  download_url: `http://kairos.test${ME}/data-requests/0192f000-0000-7000-8000-0000000007a1/download`,
  receipt_url: null,
};

/** The identity service's "me" endpoints with the given data; each call recorded. */
function account(overrides: Record<string, Handler> = {}) {
  return fakeServer({
    [`GET ${ME}/profile`]: () => ({ body: PROFILE }),
    [`GET ${ME}/sessions`]: () => ({ body: { items: SESSIONS, next_cursor: null } }),
    "GET /api/v1/identity/consents/purposes": () => ({ body: PURPOSES }),
    [`GET ${ME}/consents`]: () => ({ body: { items: [TERMS], next_cursor: null } }),
    [`GET ${ME}/data-requests`]: () => ({ body: { items: [], next_cursor: null } }),
    [`GET ${ME}/mfa`]: () => ({ body: { totp_enrolled: false, recovery_codes_left: 0, passkeys: 0, required: false } }),
    [`GET ${ME}/passkeys`]: () => ({ body: [] }),
    [`GET ${ME}/grants`]: () => ({ body: { items: [], next_cursor: null } }),
    ...overrides,
  });
}

function sent(server: ReturnType<typeof fakeServer>, method: string, path: string) {
  return server.requests.filter((request) => request.method === method && new URL(request.url).pathname === path);
}

const PAGE = { path: "/account" };

// Typing into a page with every time zone as an option takes a while in jsdom.
test(
  "the profile shows its fields; only the changes are sent, and the form says it saved",
  { timeout: 30_000 },
  async () => {
    const server = account({
      [`PATCH ${ME}/profile`]: async (request) => {
        const changes = (await request.json()) as Partial<Profile>;
        return { body: { ...PROFILE, ...changes, updated_at: "2026-11-25T12:00:00Z" } };
      },
    });
    await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server });
    const user = userEvent.setup();

    const profile = await screen.findByRole("region", { name: "Profile" });
    const name = await within(profile).findByLabelText("Name shown to others");
    expect(name).toHaveValue("Pat Jensen");
    expect(within(profile).getByLabelText("Time zone")).toHaveValue("Europe/Paris");
    // Security notices always go by e-mail: that box is checked and cannot be unchecked.
    expect(within(profile).getByRole("checkbox", { name: "Account security: E-mail" })).toBeDisabled();

    await user.type(within(profile).getByLabelText("Mobile phone"), "+33612345678");
    await user.selectOptions(within(profile).getByLabelText("Time zone"), "America/Toronto");
    await user.clear(within(profile).getByLabelText("Given name"));
    await user.click(within(profile).getByRole("checkbox", { name: "Reminders: Text message" }));
    await user.click(within(profile).getByRole("button", { name: "Save" }));

    expect(await within(profile).findByText("Saved.")).toBeInTheDocument();
    const [patch] = sent(server, "PATCH", `${ME}/profile`);
    expect(await patch?.json()).toEqual({
      given_name: null,
      phone: "+33612345678",
      zone: "America/Toronto",
      notifications: { ...PROFILE.notifications, reminders: ["email", "sms"] },
    });
  },
);

test("a refused change shows the service's problem with the field it is about", async () => {
  const server = account({
    [`PATCH ${ME}/profile`]: () => ({
      status: 422,
      body: {
        type: "https://kairos.example/problems/validation",
        title: "Unprocessable Content",
        status: 422,
        errors: [{ location: ["body", "phone"], message: "String should match pattern" }],
      },
    }),
  });
  await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();
  const profile = await screen.findByRole("region", { name: "Profile" });
  await user.type(await within(profile).findByLabelText("Mobile phone"), "0612");
  await user.click(within(profile).getByRole("button", { name: "Save" }));
  const alert = await within(profile).findByRole("alert");
  expect(alert).toHaveTextContent("Unprocessable Content");
  expect(alert).toHaveTextContent("phone: String should match pattern");
});

test("sessions: this device is marked; another is signed out alone, or all others at once", async () => {
  const server = account({
    [`DELETE ${ME}/sessions/${SESSIONS[1]?.id}`]: () => ({ status: 204 }),
    [`DELETE ${ME}/sessions`]: () => ({ status: 204 }),
  });
  await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();
  const sessions = await screen.findByRole("region", { name: "Where you are signed in" });
  const items = await within(sessions).findAllByRole("listitem");
  expect(items[0]).toHaveTextContent("Chrome, Linux (This device)");
  expect(within(items[0]!).queryByRole("button")).toBeNull(); // this one signs out with "Sign out" above

  await user.click(within(items[1]!).getByRole("button", { name: /^Sign out Safari, iPhone, signed in/ }));
  expect(await within(sessions).findByText("That device is signed out.")).toBeInTheDocument();
  expect(sent(server, "DELETE", `${ME}/sessions/${SESSIONS[1]?.id}`)).toHaveLength(1);

  await user.click(within(sessions).getByRole("button", { name: "Sign out everywhere else" }));
  expect(await within(sessions).findByText("Every other device is signed out.")).toBeInTheDocument();
  const [all] = sent(server, "DELETE", `${ME}/sessions`);
  expect(new URL(all!.url).searchParams.get("keep_current")).toBe("true");
});

test("a device is named from its browser's User-Agent", () => {
  expect(deviceName("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/150.0 Safari/537.36 Edg/150.0")).toBe(
    "Edge, Windows",
  );
  expect(deviceName(null)).toBeNull();
});

test("consents: a purpose is agreed to at its current version, and one agreed to can be withdrawn", async () => {
  let history = [TERMS];
  const server = account({
    [`GET ${ME}/consents`]: () => ({ body: { items: history, next_cursor: null } }),
    [`POST ${ME}/consents`]: async (request) => {
      const body = (await request.json()) as { purpose: string; version: string };
      const record = { ...TERMS, id: "0192f000-0000-7000-8000-0000000006a2", ...body };
      history = [...history, record];
      return { status: 201, body: record };
    },
    [`DELETE ${ME}/consents/terms_of_service`]: () => {
      const closed = {
        ...TERMS,
        closed_at: "2026-11-25T12:00:00Z",
        closed_by: "withdrawn" as const,
        is_current: false,
      };
      history = [closed, ...history.slice(1)];
      return { body: closed };
    },
  });
  await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();

  const sms = await screen.findByTestId("consent-reminders_by_sms");
  expect(sms).toHaveTextContent("Not agreed");
  await user.click(within(sms).getByRole("button", { name: "Agree to: Appointment reminders by text message." }));
  await waitFor(() => expect(screen.getByTestId("consent-reminders_by_sms")).toHaveTextContent("Agreed on"));
  const [grant] = sent(server, "POST", `${ME}/consents`);
  expect(await grant?.json()).toEqual({ purpose: "reminders_by_sms", version: "2026-11" });

  const terms = screen.getByTestId("consent-terms_of_service");
  await user.click(within(terms).getByRole("button", { name: "Withdraw consent to: The terms of using Kairos." }));
  await waitFor(() => expect(screen.getByTestId("consent-terms_of_service")).toHaveTextContent("Not agreed"));
  const consents = screen.getByRole("region", { name: "Consents" });
  await user.click(within(consents).getByText("History"));
  expect(within(consents).getByRole("table")).toHaveTextContent("withdrawn");
});

test("data: none yet, then an export asked for; a complete one is downloaded with the access token", async () => {
  let requests: DataRequest[] = [];
  const server = account({
    [`GET ${ME}/data-requests`]: () => ({ body: { items: requests, next_cursor: null } }),
    [`POST ${ME}/data-requests`]: () => {
      requests = [EXPORT];
      return { status: 201, body: EXPORT };
    },
    [`GET ${ME}/data-requests/${EXPORT.id}/download`]: () => ({ body: { identity: {} } }),
  });
  // jsdom has no object URLs: the page gets a URL that has them (setup.ts puts the real one back).
  vi.stubGlobal(
    "URL",
    class extends URL {
      static override createObjectURL = vi.fn(() => "blob:export");
      static override revokeObjectURL = vi.fn();
    },
  );
  const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
  onTestFinished(() => click.mockRestore());
  await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();

  const data = await screen.findByRole("region", { name: "Your data" });
  expect(await within(data).findByText("No requests yet.")).toBeInTheDocument();
  await user.click(within(data).getByRole("button", { name: "Ask for a copy of my data" }));
  expect(await within(data).findByText("Copy of my data")).toBeInTheDocument();
  expect(within(data).getByText(/Complete/)).toBeInTheDocument();
  expect(await sent(server, "POST", `${ME}/data-requests`)[0]?.json()).toEqual({ kind: "export" });

  await user.click(within(data).getByRole("button", { name: "Download the copy" }));
  await waitFor(() => expect(click).toHaveBeenCalled());
  const [download] = sent(server, "GET", `${ME}/data-requests/${EXPORT.id}/download`);
  expect(download?.headers.get("Authorization")).toBe(`Bearer ${PATIENT.accessToken}`);
});

test("erasure asks for confirmation first, and a refusal (sign-in too old) is shown", async () => {
  const server = account({
    [`POST ${ME}/data-requests`]: () => ({
      status: 403,
      body: { title: "Sign in again", status: 403, detail: "Erasure needs a sign-in in the last 10 minutes" },
    }),
  });
  await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();
  const data = await screen.findByRole("region", { name: "Your data" });
  await user.click(within(data).getByRole("button", { name: "Erase my account" }));
  expect(sent(server, "POST", `${ME}/data-requests`)).toHaveLength(0);
  await user.click(within(data).getByRole("button", { name: "I understand: erase my account" }));
  expect(await within(data).findByRole("alert")).toHaveTextContent("Erasure needs a sign-in in the last 10 minutes");
  expect(await sent(server, "POST", `${ME}/data-requests`)[0]?.json()).toEqual({ kind: "erasure" });
});

test("a professional without a profile starts a draft and submits it for verification", async () => {
  const path = `${ME}/professional-profiles/${PROFESSIONAL.organisation}`;
  const submitted: ProfessionalProfile = {
    user_id: PROFESSIONAL.subject,
    organisation_id: PROFESSIONAL.organisation ?? "",
    display_name: PROFESSIONAL.name,
    status: "submitted",
    specialty: "Cardiology",
    licence_number: "RPPS 10001234567",
    issuing_authority: "Ordre des médecins",
    languages: ["fr", "en"],
    location: null,
    document_ids: [],
    submitted_at: "2026-11-25T12:00:00Z",
    decided_at: null,
    decided_by: null,
    rejection_reason: null,
    verified_at: null,
    expires_at: null,
    is_listed: false,
  };
  const server = account({
    [`GET ${path}`]: () => ({ status: 404, body: { title: "Not Found", status: 404 } }),
    [`POST ${path}/submission`]: () => ({ body: submitted }),
  });
  await renderPage(<AccountPage user={PROFESSIONAL} />, { ...PAGE, server });
  const user = userEvent.setup();
  const section = await screen.findByRole("region", { name: "Professional profile" });
  expect(await within(section).findByTestId("professional-status")).toHaveTextContent("Draft, not submitted");
  await user.type(within(section).getByLabelText("Specialty or practice area"), "Cardiology");
  await user.type(within(section).getByLabelText("Licence number"), "RPPS 10001234567");
  await user.type(within(section).getByLabelText("Issuing authority"), "Ordre des médecins");
  await user.type(within(section).getByLabelText("Languages you work in"), "fr, en");
  await user.click(within(section).getByRole("button", { name: "Submit for verification" }));
  expect(await within(section).findByText("Submitted for verification.")).toBeInTheDocument();
  expect(within(section).getByTestId("professional-status")).toHaveTextContent("Submitted, waiting for a decision");
  expect(within(section).queryByRole("button", { name: "Save the draft" })).toBeNull();
  expect(await sent(server, "POST", `${path}/submission`)[0]?.json()).toEqual({
    specialty: "Cardiology",
    licence_number: "RPPS 10001234567",
    issuing_authority: "Ordre des médecins",
    languages: ["fr", "en"],
    location: null,
    document_ids: [],
  });
});

test("each part loads on its own: one failing shows its error and a retry, the others still show", async () => {
  let fail = true;
  const server = account({
    [`GET ${ME}/sessions`]: () =>
      fail
        ? { status: 503, body: { title: "Service Unavailable", status: 503 } }
        : { body: { items: SESSIONS, next_cursor: null } },
  });
  await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();
  const sessions = screen.getByRole("region", { name: "Where you are signed in" });
  expect(within(sessions).getByText("Loading…")).toBeInTheDocument();
  expect(await within(sessions).findByRole("alert")).toHaveTextContent("Service Unavailable");
  expect(await screen.findByLabelText("Name shown to others")).toHaveValue("Pat Jensen");
  fail = false;
  await user.click(within(sessions).getByRole("button", { name: "Try again" }));
  expect(await within(sessions).findAllByRole("listitem")).toHaveLength(2);
});

test("in French", async () => {
  await renderPage(<AccountPage user={PATIENT} />, { ...PAGE, server: account(), language: "fr" });
  expect(await screen.findByRole("heading", { level: 1, name: "Votre compte" })).toBeInTheDocument();
  expect(await screen.findByLabelText("Fuseau horaire")).toHaveValue("Europe/Paris");
  // Identity's own enrolment page, which sends the person back to this page afterwards.
  expect(await screen.findByRole("link", { name: "Configurer une application d’authentification" })).toHaveAttribute(
    "href",
    "/api/v1/identity/mfa/enrol?next=%2Faccount%3Fmfa%3Denrolled",
  );
});
