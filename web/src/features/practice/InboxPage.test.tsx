import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { Appointment } from "../appointments/api";
import { DOCTOR, MEDICAL, REQUESTED, SLOT, SLOT_ROUTES } from "../../test/fixtures";
import { PATIENT, PROFESSIONAL, fakeServer, renderPage } from "../../test/render";
import { InboxPage } from "./InboxPage";

const PAGE = { path: "/inbox", auth: { status: "signed-in" as const, user: PROFESSIONAL } };
const SECOND: Appointment = {
  ...REQUESTED,
  id: "0192f000-0000-7000-8000-0000000000e2",
  starts_at: "2026-12-02T10:00:00Z",
  ends_at: "2026-12-02T10:20:00Z",
  message: null,
};

/** As the service lists it: the patient's name from identity's events, the answers to the domain's questions. */
const NAMED: Appointment = {
  ...REQUESTED,
  patient_name: "Pat Jensen",
  answers: { reason: "A cough", first_visit: false },
};

function when(iso: string) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return new Intl.DateTimeFormat("en-US", { dateStyle: "full", timeStyle: "short", timeZone: zone }).format(
    new Date(iso),
  );
}

/** A practice with two pending requests; deciding one takes it out of the pending list. */
function practice() {
  let pending = [NAMED, SECOND];
  const decidedOne = (id: string) => {
    pending = pending.filter((request) => request.id !== id);
  };
  const server = fakeServer({
    ...SLOT_ROUTES,
    "GET /api/v1/appointments/domains": () => ({ body: [MEDICAL] }),
    "GET /api/v1/appointments/resources": () => ({ body: { items: [DOCTOR], next_cursor: null } }),
    "GET /api/v1/appointments/appointments": () => ({ body: { items: pending, next_cursor: null } }),
    [`GET /api/v1/appointments/appointments/${REQUESTED.id}/history`]: () => ({
      body: [{ ...REQUESTED.history[0], data: { answers: { reason: "A cough", first_visit: false } } }],
    }),
    [`POST /api/v1/appointments/appointments/${REQUESTED.id}/decision`]: () => {
      decidedOne(REQUESTED.id);
      return { body: { ...REQUESTED, status: "booked" } };
    },
    [`POST /api/v1/appointments/appointments/${SECOND.id}/proposal`]: () => {
      decidedOne(SECOND.id);
      return { body: { ...SECOND, status: "proposed" } };
    },
    "POST /api/v1/appointments/appointments/decisions": async (request) => {
      const { decisions } = (await request.json()) as { decisions: { appointment_id: string }[] };
      return {
        body: {
          results: decisions.map(({ appointment_id }) => {
            if (appointment_id === SECOND.id)
              return {
                appointment_id,
                outcome: "problem",
                problem: { title: "Illegal transition", status: 409, detail: "already decided" },
              };
            decidedOne(appointment_id);
            return { appointment_id, outcome: "ok", appointment: { ...REQUESTED, status: "cancelled" } };
          }),
        },
      };
    },
  });
  return server;
}

test("pending requests, with the patient's name, message and answers, and the history on demand", async () => {
  const server = practice();
  await renderPage(<InboxPage user={PROFESSIONAL} />, { ...PAGE, server });
  const user = userEvent.setup();

  const list = await screen.findByRole("list", { name: "Requests" });
  const [first, second] = within(list).getAllByRole("listitem", { name: /./ });
  expect(first).toHaveAccessibleName(when(REQUESTED.starts_at));
  expect(first).toHaveTextContent("Mornings suit me best.");
  expect(first).toHaveTextContent("Dr. Mira Haddad");
  expect(first).toHaveTextContent("Consultation");
  expect(first).toHaveTextContent("Pat Jensen");
  expect(within(first!).getByText("A cough")).toBeInTheDocument();
  expect(within(first!).getByText("Reason for the visit")).toBeInTheDocument();
  expect(second).toHaveTextContent("No message");
  expect(second).toHaveTextContent(`Patient ${REQUESTED.patient.slice(0, 8)} (no name known)`);
  expect(second).toHaveTextContent("No answers to the practice’s questions.");
  const asked = new URL(server.requests.find((request) => request.url.includes("/appointments?"))?.url ?? "");
  expect(asked.searchParams.getAll("status")).toEqual(["pending"]);

  await user.click(within(first!).getByRole("button", { name: "Decision history" }));
  expect(await within(first!).findByRole("list", { name: "History" })).toHaveTextContent("Requested by the patient");
});

test("one approved, one proposed another time: each leaves the list with a word", async () => {
  const server = practice();
  await renderPage(<InboxPage user={PROFESSIONAL} />, { ...PAGE, server });
  const user = userEvent.setup();
  const list = await screen.findByRole("list", { name: "Requests" });

  await user.click(within(list).getAllByRole("button", { name: "Approve" })[0]!);
  expect(await screen.findByText(`Approved: the request of ${when(REQUESTED.starts_at)}.`)).toBeInTheDocument();
  await waitFor(() => expect(within(list).getAllByRole("listitem", { name: /./ })).toHaveLength(1));

  await user.click(within(list).getByRole("button", { name: "Propose another time" }));
  const form = screen.getByRole("form", { name: /^Propose another time for the request of / });
  await user.click(within(form).getByRole("button", { name: "Send the proposal" }));
  expect(within(form).getByText("Choose a free time.")).toBeInTheDocument();
  await user.click(await within(form).findByRole("radio"));
  await user.type(within(form).getByLabelText("Note to the patient"), "Wednesday is better for us");
  await user.click(within(form).getByRole("button", { name: "Send the proposal" }));

  expect(await screen.findByText("No request is waiting.")).toBeInTheDocument();
  const sent = server.requests.find((request) => request.url.endsWith("/proposal"));
  expect(await sent?.json()).toEqual({ starts_at: SLOT.starts_at, reason: "Wednesday is better for us" });
});

test("several declined at once with one reason; each request's outcome is listed", async () => {
  const server = practice();
  await renderPage(<InboxPage user={PROFESSIONAL} />, { ...PAGE, server, language: "en" });
  const user = userEvent.setup();

  await user.click(await screen.findByRole("checkbox", { name: "Select all" }));
  expect(screen.getByRole("group", { name: "Selected: 2" })).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Decline selected" }));
  const form = screen.getByRole("form", { name: "Decline 2 requests" });
  await user.selectOptions(within(form).getByLabelText("Reason"), "Fully booked");
  await user.click(within(form).getByRole("button", { name: "Decline" }));

  const results = await screen.findByRole("region", { name: "Results" });
  expect(within(results).getByRole("status")).toHaveTextContent("1 done, 1 not done.");
  expect(results).toHaveTextContent(`${when(REQUESTED.starts_at)}: done`);
  expect(results).toHaveTextContent(`${when(SECOND.starts_at)}: Illegal transition — already decided`);
  const sent = server.requests.find((request) => request.url.endsWith("/decisions"));
  expect(await sent?.json()).toEqual({
    decisions: [REQUESTED, SECOND].map((request) => ({
      appointment_id: request.id,
      decision: "decline",
      reason_code: "fully_booked",
      reason: null,
    })),
  });
  // What failed stays selected, to try again.
  await waitFor(() => expect(screen.getByRole("group", { name: "Selected: 1" })).toBeInTheDocument());
});

test("empty, failed, and not for patients, in French", async () => {
  const server = fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [MEDICAL] }),
    "GET /api/v1/appointments/resources": () => ({ body: { items: [DOCTOR], next_cursor: null } }),
    "GET /api/v1/appointments/appointments": () => ({ status: 403, body: { title: "Interdit", status: 403 } }),
  });
  await renderPage(<InboxPage user={PROFESSIONAL} />, { ...PAGE, server, language: "fr" });
  expect(await screen.findByRole("alert")).toHaveTextContent("Interdit");
  expect(screen.getByRole("button", { name: "Réessayer" })).toBeInTheDocument();

  await renderPage(<InboxPage user={PATIENT} />, { path: "/inbox", language: "fr" });
  expect(screen.getByText("Seules les personnes d’un cabinet voient ses demandes et son agenda.")).toBeInTheDocument();
});
