import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { MEDICAL } from "../../test/fixtures";
import { PATIENT, fakeServer, renderPage } from "../../test/render";
import type { SignedInUser } from "../auth/session";
import type { Domain, DomainWrite } from "./api";
import { DomainEditorPage } from "./DomainEditorPage";
import { DomainsPage } from "./DomainsPage";

const ADMIN: SignedInUser = {
  ...PATIENT,
  subject: "0192f000-0000-7000-8000-0000000000cc",
  name: "Ada Admin",
  email: "admin@harbour.demo.kairos.test",
  roles: ["domain_admin"],
  organisation: "0192f000-0000-7000-8000-00000000a001",
};

const DOMAIN: Domain = {
  ...MEDICAL,
  cancellation: { cutoff_hours: 24, reason_required: true, max_reschedules: 2 },
  auto_approval: [],
};
const DOMAIN_PATH = "/api/v1/appointments/domains/medical";

function domainServer(put: (body: DomainWrite) => { status?: number; body?: unknown }) {
  const saved: DomainWrite[] = [];
  const server = fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [DOMAIN] }),
    [`GET ${DOMAIN_PATH}`]: () => ({ body: DOMAIN }),
    [`PUT ${DOMAIN_PATH}`]: async (request) => {
      const body = (await request.json()) as DomainWrite;
      saved.push(body);
      return put(body);
    },
  });
  return { server, saved };
}

const EDITOR = { path: "/admin/domains/medical", route: "/admin/domains/:name" };

test("the domains are listed for a domain admin, each leading to its editor", async () => {
  const { server } = domainServer(() => ({}));
  await renderPage(<DomainsPage user={ADMIN} />, { path: "/admin/domains", server });
  const link = await screen.findByRole("link", { name: "Edit Medical practice" });
  expect(link).toHaveAttribute("href", "/admin/domains/medical");
  expect(screen.getByRole("table")).toHaveTextContent("Consultation, Follow-up");
});

test("someone who administers no domain is told so, and nothing is asked of the service", async () => {
  const { server } = domainServer(() => ({}));
  await renderPage(<DomainsPage user={PATIENT} />, { path: "/admin/domains", server });
  expect(screen.getByRole("heading", { name: "For domain administrators" })).toBeInTheDocument();
  await renderPage(<DomainEditorPage user={PATIENT} />, { ...EDITOR, server });
  expect(server.requests).toHaveLength(0);
});

test(
  "a question added to the form shows in the live preview and is saved in the domain's JSON Schema",
  { timeout: 30_000 },
  async () => {
    const { server, saved } = domainServer((body) => ({ body: { ...body, name: "medical", version: 2 } }));
    await renderPage(<DomainEditorPage user={ADMIN} />, { ...EDITOR, server });
    const user = userEvent.setup();

    const preview = await screen.findByTestId("form-preview");
    expect(within(preview).getByLabelText(/Reason for the visit/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Add a question" }));
    const question = screen.getByRole("group", { name: "Question 3: question_3" });
    await user.type(within(question).getByLabelText("Question"), "Preferred language");
    await user.selectOptions(within(question).getByLabelText("Kind of answer"), "choice");
    await user.type(within(question).getByLabelText("Choices"), "English{Enter}French");
    await user.click(within(question).getByLabelText("Required"));
    const key = within(question).getByLabelText("Key");
    await user.clear(key);
    await user.type(key, "language");

    const asked = within(preview).getByRole("combobox", { name: /Preferred language/ });
    expect(
      within(asked)
        .getAllByRole("option")
        .map((option) => option.textContent),
    ).toEqual(["—", "English", "French"]);

    // Moved first, it comes first in the preview too.
    await user.click(screen.getByRole("button", { name: "Move Preferred language up" }));
    await user.click(screen.getByRole("button", { name: "Move Preferred language up" }));
    const labels = within(preview)
      .getAllByText((_, element) => element?.tagName === "LABEL")
      .map((label) => label.textContent);
    expect(labels[0]).toMatch(/^Preferred language/);

    await user.click(screen.getByRole("button", { name: "Save the domain" }));
    expect(await screen.findByText("Saved as version 2.")).toBeInTheDocument();
    expect(saved).toHaveLength(1);
    const [body] = saved;
    expect(body?.form_schema).toEqual({
      type: "object",
      properties: {
        language: { type: "string", title: "Preferred language", enum: ["English", "French"] },
        reason: { type: "string", title: "Reason for the visit", minLength: 3, maxLength: 500 },
        first_visit: { type: "boolean", title: "First visit to this practice" },
      },
      required: ["language", "reason"],
    });
    expect(Object.keys(body?.form_schema?.properties as object)).toEqual(["language", "reason", "first_visit"]);
    // What the page does not edit goes back as it was.
    expect(body?.appointment_types).toEqual(
      DOMAIN.appointment_types.map((type) => ({ ...type, booking_horizon_days: null })),
    );
    expect(body?.hold_minutes).toBe(5);
    expect(body).not.toHaveProperty("version");
  },
);

test("the domain's settings are edited: a type's duration, reason codes, cancellation policy", async () => {
  const { server, saved } = domainServer((body) => ({ body: { ...body, name: "medical", version: 2 } }));
  await renderPage(<DomainEditorPage user={ADMIN} />, { ...EDITOR, server });
  const user = userEvent.setup();
  const consultation = await screen.findByRole("group", { name: "Type 1: Consultation" });
  const duration = within(consultation).getByLabelText("Duration (minutes)");
  await user.clear(duration);
  await user.type(duration, "30");
  await user.click(within(consultation).getByLabelText("Needs approval by the practice"));
  await user.type(screen.getByLabelText("Reason codes, one per line"), "{Enter}needs_referral");
  await user.clear(screen.getByLabelText("Times a client may reschedule"));
  await user.click(screen.getByRole("button", { name: "Save the domain" }));
  await waitFor(() => expect(saved).toHaveLength(1));
  expect(saved[0]?.appointment_types[0]).toMatchObject({ duration_minutes: 30, needs_approval: false });
  expect(saved[0]?.reason_codes).toEqual(["fully_booked", "needs_referral"]);
  expect(saved[0]?.cancellation).toEqual({ cutoff_hours: 24, reason_required: true, max_reschedules: null });
});

test("a question with a bad key is not sent; a refusal by the service shows its problem details", async () => {
  const { server, saved } = domainServer(() => ({
    status: 422,
    body: {
      title: "Unprocessable Content",
      status: 422,
      errors: [{ location: ["body", "appointment_types", 0, "duration_minutes"], message: "Input should be > 0" }],
    },
  }));
  await renderPage(<DomainEditorPage user={ADMIN} />, { ...EDITOR, server });
  const user = userEvent.setup();
  await user.click(await screen.findByRole("button", { name: "Add a question" }));
  const question = screen.getByRole("group", { name: "Question 3: question_3" });
  await user.clear(within(question).getByLabelText("Key"));
  await user.type(within(question).getByLabelText("Key"), "Bad Key");
  expect(within(question).getByLabelText("Key")).toHaveAccessibleDescription(/Use lower-case letters/);
  await user.click(screen.getByRole("button", { name: "Save the domain" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("Correct the marked fields first.");
  expect(saved).toHaveLength(0);

  await user.click(within(question).getByRole("button", { name: "Remove Bad Key" }));
  await user.click(screen.getByRole("button", { name: "Save the domain" }));
  const alert = await screen.findByRole("alert");
  await waitFor(() => expect(alert).toHaveTextContent("duration_minutes: Input should be > 0"));
  expect(saved).toHaveLength(1);
});

test("loading, then an error with a retry", async () => {
  let fail = true;
  const server = fakeServer({
    [`GET ${DOMAIN_PATH}`]: () =>
      fail ? { status: 404, body: { title: "Not Found", status: 404 } } : { body: DOMAIN },
  });
  await renderPage(<DomainEditorPage user={ADMIN} />, { ...EDITOR, server, language: "fr" });
  expect(screen.getByText("Chargement…")).toBeInTheDocument();
  expect(await screen.findByRole("alert")).toHaveTextContent("Not Found");
  fail = false;
  await userEvent.setup().click(screen.getByRole("button", { name: "Réessayer" }));
  expect(await screen.findByRole("heading", { level: 1, name: "Domaine : Medical practice" })).toBeInTheDocument();
});
