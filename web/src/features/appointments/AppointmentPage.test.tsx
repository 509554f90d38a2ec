import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { vi } from "vitest";

import { fakeEventSources } from "../../test/eventSource";
import { DIRECTORY_ROUTES, DOCTOR, REQUESTED, SLOT, SLOT_ROUTES } from "../../test/fixtures";
import { PATIENT, PROFESSIONAL, fakeServer, renderPage, type Handler } from "../../test/render";
import type { Appointment } from "./api";
import { AppointmentPage } from "./AppointmentPage";

const PAGE = { path: `/appointments/${REQUESTED.id}`, route: "/appointments/:appointmentId" };
const BASE = `/api/v1/appointments/appointments/${REQUESTED.id}`;

/** The service as this page sees it: the appointment as it is now, and its history. */
function serving(current: () => Appointment, more: Record<string, Handler> = {}) {
  return fakeServer({
    ...DIRECTORY_ROUTES,
    ...SLOT_ROUTES,
    [`GET ${BASE}`]: () => ({ body: current() }),
    [`GET ${BASE}/history`]: () => ({ body: current().history }),
    ...more,
  });
}

test("it shows the status, the time in the user's zone and the history, in French", async () => {
  const server = serving(() => REQUESTED);
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server, language: "fr" });

  expect(await screen.findByTestId("appointment-status")).toHaveTextContent("Demandé, en attente du cabinet");
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const when = new Intl.DateTimeFormat("fr", { dateStyle: "full", timeStyle: "short", timeZone: zone }).format(
    new Date(REQUESTED.starts_at),
  );
  expect(screen.getByText(when)).toBeInTheDocument();
  expect(screen.getByText("Dr. Mira Haddad")).toBeInTheDocument();
  expect(screen.getByText("Consultation")).toBeInTheDocument();
  const history = screen.getByRole("list", { name: "Historique" });
  expect(within(history).getByRole("listitem")).toHaveTextContent(/^Demandé par vous, /);
  expect(server.requests.some((request) => request.url.endsWith(`${BASE}/history`))).toBe(true);
});

test("a cancellation needs a reason, and the page shows the new status after", async () => {
  let current = REQUESTED;
  const server = serving(() => current, {
    [`POST ${BASE}/cancellation`]: async (request) => {
      const { reason } = (await request.json()) as { reason: string };
      current = {
        ...REQUESTED,
        status: "cancelled",
        history: [
          ...REQUESTED.history,
          { kind: "cancelled", actor: PATIENT.subject, occurred_at: "2026-11-25T15:00:00Z", reason, data: {} },
        ],
      };
      return { body: current };
    },
  });
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();
  const cancel = await screen.findByRole("button", { name: "Cancel the appointment" });

  await user.click(cancel);
  expect(screen.getByLabelText("Reason for cancelling")).toHaveAttribute("aria-invalid", "true");

  await user.type(screen.getByLabelText("Reason for cancelling"), "I feel better");
  await user.click(cancel);

  expect(await screen.findByText("The appointment is cancelled.")).toBeInTheDocument();
  await waitFor(() => expect(screen.getByTestId("appointment-status")).toHaveTextContent("Cancelled"));
  expect(screen.getByText("Reason: I feel better")).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Cancel the appointment" })).not.toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Move the appointment" })).not.toBeInTheDocument();
});

test("the status changes on the page when the practice decides, told by the resource's live stream", async () => {
  const streams = fakeEventSources();
  let current = REQUESTED;
  const server = serving(() => current);
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server });
  expect(await screen.findByTestId("appointment-status")).toHaveTextContent("Requested, waiting for the practice");
  // The page's own stream, and the one of the slot picker in "move this appointment".
  const open = streams.open(`/resources/${DOCTOR.id}/slots/stream`);
  expect(open.length).toBeGreaterThan(0);

  current = {
    ...REQUESTED,
    status: "booked",
    history: [
      ...REQUESTED.history,
      { kind: "approved", actor: "a-doctor", occurred_at: "2026-11-25T16:00:00Z", reason: null, data: {} },
    ],
  };
  for (const stream of open) {
    act(() => stream.push("ready", { resource_id: DOCTOR.id }));
    act(() =>
      stream.push("slots-changed", { resource_id: DOCTOR.id, from: REQUESTED.starts_at, until: REQUESTED.ends_at }),
    );
  }

  await waitFor(() => expect(screen.getByTestId("appointment-status")).toHaveTextContent("Booked"));
  expect(screen.getByRole("list", { name: "History" })).toHaveTextContent("Approved by the practice");
  expect(screen.queryByText("Loading…")).not.toBeInTheDocument(); // refreshed in place
});

test("the patient accepts the time the practice proposed", async () => {
  let current: Appointment = { ...REQUESTED, status: "proposed" };
  const server = serving(() => current, {
    [`POST ${BASE}/proposal/answer`]: async (request) => {
      expect(await request.json()).toEqual({ accept: true });
      current = { ...current, status: "booked" };
      return { body: current };
    },
  });
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();

  const proposal = await screen.findByRole("group", { name: "The practice proposes another time" });
  await user.click(within(proposal).getByRole("button", { name: "Accept this time" }));

  expect(await screen.findByText(/You accepted the proposed time/)).toBeInTheDocument();
  await waitFor(() => expect(screen.getByTestId("appointment-status")).toHaveTextContent("Booked"));
  const sent = server.requests.find((request) => request.method === "POST");
  expect(sent?.headers.get("Idempotency-Key")).toBeTruthy();
});

test("moving the appointment takes a free time and a reason; the policy's refusal is shown as it comes", async () => {
  const server = serving(() => REQUESTED, {
    [`POST ${BASE}/reschedule`]: () => ({
      status: 409,
      body: {
        type: "urn:kairos:problem:cutoff-passed",
        title: "Too late to change",
        status: 409,
        detail: "Appointments cannot be moved later than 24 hours before they start.",
      },
    }),
  });
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();
  const move = await screen.findByRole("button", { name: "Move the appointment" });

  await user.click(move);
  expect(screen.getByText("Choose a free time.")).toBeInTheDocument();
  const form = screen.getByRole("form", { name: "Move this appointment" });
  await user.click(await within(form).findByRole("radio"));
  await user.click(move);
  expect(screen.getByLabelText("Reason for moving")).toHaveAttribute("aria-invalid", "true");
  await user.type(screen.getByLabelText("Reason for moving"), "A meeting at work");
  await user.click(move);

  const alert = await within(form).findByRole("alert");
  expect(alert).toHaveTextContent("Too late to change");
  expect(alert).toHaveTextContent("Appointments cannot be moved later than 24 hours before they start.");
  const sent = server.requests.find((request) => request.method === "POST");
  expect(await sent?.json()).toEqual({ starts_at: SLOT.starts_at, reason: "A meeting at work" });
});

test("the practice sees the patient's answers and declines with a reason code", async () => {
  let current: Appointment = {
    ...REQUESTED,
    history: [{ ...REQUESTED.history[0]!, data: { answers: { reason: "A cough", first_visit: true } } }],
  };
  const server = serving(() => current, {
    [`POST ${BASE}/decision`]: async (request) => {
      expect(await request.json()).toEqual({ decision: "decline", reason_code: "fully_booked", reason: null });
      current = { ...current, status: "cancelled" };
      return { body: current };
    },
  });
  await renderPage(<AppointmentPage user={PROFESSIONAL} />, { ...PAGE, server });
  const user = userEvent.setup();

  expect(await screen.findByText("Patient’s message")).toBeInTheDocument();
  expect(screen.getByText("Reason for the visit").nextElementSibling).toHaveTextContent("A cough");
  expect(screen.getByText("First visit to this practice").nextElementSibling).toHaveTextContent("Yes");
  expect(screen.getByRole("list", { name: "History" })).toHaveTextContent("Requested by the patient");

  await user.click(screen.getByRole("button", { name: "Decline" }));
  const form = screen.getByRole("form", { name: /^Decline the request of / });
  await user.click(within(form).getByRole("button", { name: "Decline" }));
  expect(within(form).getByLabelText("Reason")).toHaveAttribute("aria-invalid", "true");
  await user.selectOptions(within(form).getByLabelText("Reason"), "Fully booked");
  await user.click(within(form).getByRole("button", { name: "Decline" }));

  expect(await screen.findByText(/^Declined: the request of /)).toBeInTheDocument();
  await waitFor(() => expect(screen.getByTestId("appointment-status")).toHaveTextContent("Cancelled"));
});

test("'Add to calendar' downloads the .ics, asked with the access token", async () => {
  const createObjectURL = vi.fn(() => "blob:calendar");
  vi.stubGlobal("URL", Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
  const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
  const server = serving(() => REQUESTED, {
    [`GET ${BASE}.ics`]: () => ({ body: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" }),
  });
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server });
  const user = userEvent.setup();

  await user.click(await screen.findByRole("button", { name: "Add to calendar (.ics)" }));

  await waitFor(() => expect(click).toHaveBeenCalled());
  const asked = server.requests.find((request) => request.url.endsWith(".ics"));
  expect(asked?.headers.get("Authorization")).toBe(`Bearer ${PATIENT.accessToken}`);
  expect(createObjectURL).toHaveBeenCalled();
  click.mockRestore();
});

test("an appointment the user may not see is a problem with the service's title and detail", async () => {
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    [`GET ${BASE}`]: () => ({
      status: 404,
      body: { title: "Not Found", status: 404, detail: `appointment ${REQUESTED.id}` },
    }),
    [`GET ${BASE}/history`]: () => ({ status: 404, body: { title: "Not Found", status: 404 } }),
  });
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server });

  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("Not Found");
  expect(alert).toHaveTextContent(`appointment ${REQUESTED.id}`);
});
