import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DIRECTORY_ROUTES, REQUESTED } from "../../test/fixtures";
import { PATIENT, fakeServer, renderPage } from "../../test/render";
import { AppointmentPage } from "./AppointmentPage";

const PAGE = { path: `/appointments/${REQUESTED.id}`, route: "/appointments/:appointmentId" };
const READ = `GET /api/v1/appointments/appointments/${REQUESTED.id}`;

test("it shows the status, the time in the user's zone and the history, in French", async () => {
  const server = fakeServer({ ...DIRECTORY_ROUTES, [READ]: () => ({ body: REQUESTED }) });
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server, language: "fr" });

  expect(await screen.findByTestId("appointment-status")).toHaveTextContent("Demandé, en attente du cabinet");
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const when = new Intl.DateTimeFormat("fr", { dateStyle: "full", timeStyle: "short", timeZone: zone }).format(
    new Date(REQUESTED.starts_at),
  );
  expect(screen.getByText(when)).toBeInTheDocument();
  expect(screen.getByText("Dr. Mira Haddad")).toBeInTheDocument();
  expect(screen.getByText("Consultation")).toBeInTheDocument();
  const history = screen.getByRole("list");
  expect(within(history).getByRole("listitem")).toHaveTextContent(/^Demandé par vous, /);
});

test("a cancellation needs a reason, and the page shows the new status after", async () => {
  let current = REQUESTED;
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    [READ]: () => ({ body: current }),
    [`POST /api/v1/appointments/appointments/${REQUESTED.id}/cancellation`]: async (request) => {
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
  expect(await screen.findByTestId("appointment-status")).toHaveTextContent("Cancelled");
  expect(screen.getByText("Reason: I feel better")).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Cancel the appointment" })).not.toBeInTheDocument();
});

test("an appointment the user may not see is a problem with the service's title and detail", async () => {
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    [READ]: () => ({ status: 404, body: { title: "Not Found", status: 404, detail: `appointment ${REQUESTED.id}` } }),
  });
  await renderPage(<AppointmentPage user={PATIENT} />, { ...PAGE, server });

  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("Not Found");
  expect(alert).toHaveTextContent(`appointment ${REQUESTED.id}`);
});
