import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { PATIENT, PROFESSIONAL, fakeServer, renderPage } from "../../test/render";
import type { Submission } from "./api";
import { VerificationPage, defaultExpiry } from "./VerificationPage";

const ORGANISATION = "0192f000-0000-7000-8000-00000000a001";
const STAFF = { ...PROFESSIONAL, name: "Sam Reception", roles: ["staff"] };
const LIST = `/api/v1/identity/organisations/${ORGANISATION}/professionals`;

const SUBMITTED: Submission = {
  user_id: "0192f000-0000-7000-8000-0000000000bb",
  organisation_id: ORGANISATION,
  display_name: "Dr. Mira Haddad",
  status: "submitted",
  specialty: "General practice",
  licence_number: "GMC 7012345",
  issuing_authority: "General Medical Council",
  languages: ["en", "fr"],
  location: "1 Quay Street",
  document_ids: ["0192f000-0000-7000-8000-00000000d0c1"],
  submitted_at: "2026-11-24T10:00:00Z",
  decided_at: null,
  decided_by: null,
  rejection_reason: null,
  verified_at: null,
  expires_at: null,
  is_listed: false,
};

test("a verifier reads a submission with its documents and rejects it with a reason", async () => {
  let pending = [SUBMITTED];
  const decisions: unknown[] = [];
  const server = fakeServer({
    [`GET ${LIST}`]: (request) => {
      expect(new URL(request.url).searchParams.get("status")).toBe("submitted");
      return { body: { items: pending, next_cursor: null } };
    },
    [`POST ${LIST}/${SUBMITTED.user_id}/decision`]: async (request) => {
      decisions.push(await request.json());
      pending = [];
      return { body: { ...SUBMITTED, status: "rejected", rejection_reason: "Licence not found" } };
    },
  });
  await renderPage(<VerificationPage user={STAFF} />, { path: "/verification", server });
  const user = userEvent.setup();
  const card = await screen.findByRole("article", { name: "Dr. Mira Haddad" });
  expect(card).toHaveTextContent("GMC 7012345");
  expect(card).toHaveTextContent("0192f000-0000-7000-8000-00000000d0c1");
  expect(within(card).getByLabelText("Valid until")).toHaveValue(defaultExpiry(new Date()));

  await user.click(within(card).getByLabelText("Reject"));
  expect(within(card).getByRole("button", { name: "Reject the submission" })).toBeDisabled();
  await user.type(within(card).getByLabelText("Reason"), "Licence not found");
  await user.click(within(card).getByRole("button", { name: "Reject the submission" }));

  expect(await screen.findByText("Dr. Mira Haddad's submission is rejected.")).toBeInTheDocument();
  expect(await screen.findByText("No submission is waiting for a decision.")).toBeInTheDocument();
  expect(decisions).toEqual([{ decision: "reject", reason: "Licence not found" }]);
});

test("a refused decision shows the service's problem and keeps the submission", async () => {
  const server = fakeServer({
    [`GET ${LIST}`]: () => ({ body: { items: [SUBMITTED], next_cursor: null } }),
    [`POST ${LIST}/${SUBMITTED.user_id}/decision`]: () => ({
      status: 422,
      body: { title: "The expiry is not valid", status: 422, detail: "at most five years ahead" },
    }),
  });
  await renderPage(<VerificationPage user={STAFF} />, { path: "/verification", server });
  const user = userEvent.setup();
  const card = await screen.findByRole("article", { name: "Dr. Mira Haddad" });
  await user.click(within(card).getByRole("button", { name: "Verify the professional" }));
  expect(await within(card).findByRole("alert")).toHaveTextContent("at most five years ahead");
});

test("loading fails with a retry", async () => {
  const server = fakeServer({
    [`GET ${LIST}`]: () => ({ status: 503, body: { title: "Service Unavailable", status: 503 } }),
  });
  await renderPage(<VerificationPage user={STAFF} />, { path: "/verification", server });
  expect(await screen.findByRole("alert")).toHaveTextContent("Service Unavailable");
  expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
});

test("someone who verifies no one is told the page is not for them", async () => {
  await renderPage(<VerificationPage user={PATIENT} />, { path: "/verification" });
  expect(screen.getByText("Only staff, domain administrators and operators verify professionals.")).toBeInTheDocument();
});
