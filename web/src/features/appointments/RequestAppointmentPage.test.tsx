import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DIRECTORY_ROUTES, DOCTOR, REQUESTED, SLOT, SLOT_ROUTES } from "../../test/fixtures";
import { fakeServer, renderPage } from "../../test/render";
import { RequestAppointmentPage } from "./RequestAppointmentPage";

const PAGE = { path: "/appointments/new" };

test("it lists who can be booked and the chosen domain's types, questions included", async () => {
  await renderPage(<RequestAppointmentPage />, { ...PAGE, server: fakeServer(DIRECTORY_ROUTES) });
  const user = userEvent.setup();

  await user.selectOptions(await screen.findByLabelText("Professional"), "Dr. Mira Haddad — Medical practice");

  expect(screen.getByRole("option", { name: "Consultation (20 minutes)" })).toBeInTheDocument();
  expect(screen.getByRole("group", { name: "Questions from the practice" })).toBeInTheDocument();
  expect(screen.getByLabelText(/Reason for the visit/)).toHaveAttribute("aria-required", "true");
  expect(screen.getByRole("checkbox", { name: "First visit to this practice" })).not.toBeChecked();
});

test("nothing is sent while a required field is empty, and each field says why", async () => {
  const server = fakeServer(DIRECTORY_ROUTES);
  await renderPage(<RequestAppointmentPage />, { ...PAGE, server });
  const user = userEvent.setup();
  await user.selectOptions(await screen.findByLabelText("Professional"), DOCTOR.id);

  await user.click(screen.getByRole("button", { name: "Send the request" }));

  for (const label of ["Type of appointment", /Reason for the visit/]) {
    expect(screen.getByLabelText(label)).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText(label)).toHaveAccessibleDescription(/This field is required/);
  }
  expect(screen.getByLabelText("Type of appointment")).toHaveFocus();
  expect(server.requests.filter((request) => request.method === "POST")).toHaveLength(0);

  // With a type, the free times appear; no time chosen is an error of the group of times, focused.
  await user.selectOptions(screen.getByLabelText("Type of appointment"), "consultation");
  await user.type(screen.getByLabelText(/Reason for the visit/), "A cough");
  await user.click(screen.getByRole("button", { name: "Send the request" }));
  const times = screen.getByRole("group", { name: "Free times" });
  expect(times).toHaveFocus();
  expect(times).toHaveAccessibleDescription(/This field is required/);
  expect(server.requests.filter((request) => request.method === "POST")).toHaveLength(0);
});

test("arriving from the directory, the professional is chosen already", async () => {
  const server = fakeServer({ ...DIRECTORY_ROUTES, ...SLOT_ROUTES });
  await renderPage(<RequestAppointmentPage />, { path: "/appointments/new", search: `?resource=${DOCTOR.id}`, server });

  expect(await screen.findByLabelText("Professional")).toHaveValue(DOCTOR.id);
  expect(screen.getByLabelText("Type of appointment")).toHaveValue("");
});

test("a filled-in request is sent with the domain's answers and an aware start time", async () => {
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    ...SLOT_ROUTES,
    "POST /api/v1/appointments/appointments": () => ({ status: 201, body: REQUESTED }),
  });
  await renderPage(<RequestAppointmentPage />, { ...PAGE, server });
  const user = userEvent.setup();
  await user.selectOptions(await screen.findByLabelText("Professional"), DOCTOR.id);
  await user.selectOptions(screen.getByLabelText("Type of appointment"), "consultation");
  await user.click(await screen.findByRole("radio"));
  await user.type(screen.getByLabelText(/Reason for the visit/), "A cough");
  await user.click(screen.getByLabelText("First visit to this practice"));
  await user.type(screen.getByLabelText("Message to the practice"), "Mornings suit me best.");

  await user.click(screen.getByRole("button", { name: "Send the request" }));

  await waitFor(() => expect(screen.getByText("elsewhere")).toBeInTheDocument()); // on to the appointment's page
  const sent = server.requests.find((request) => request.method === "POST");
  expect(sent?.headers.get("Authorization")).toBe("Bearer header.payload.signature");
  expect(await sent?.json()).toEqual({
    resource_id: DOCTOR.id,
    appointment_type: "consultation",
    starts_at: SLOT.starts_at,
    message: "Mornings suit me best.",
    answers: { reason: "A cough", first_visit: true },
  });
});

test("a refusal from the service is shown with its title and detail", async () => {
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    ...SLOT_ROUTES,
    "POST /api/v1/appointments/appointments": () => ({
      status: 409,
      body: {
        type: "urn:kairos:problem:time-taken",
        title: "This time is no longer free",
        status: 409,
        detail: "Taken at 09:00",
      },
    }),
  });
  await renderPage(<RequestAppointmentPage />, { ...PAGE, server });
  const user = userEvent.setup();
  await user.selectOptions(await screen.findByLabelText("Professional"), DOCTOR.id);
  await user.selectOptions(screen.getByLabelText("Type of appointment"), "consultation");
  await user.click(await screen.findByRole("radio"));
  await user.type(screen.getByLabelText(/Reason for the visit/), "A cough");

  await user.click(screen.getByRole("button", { name: "Send the request" }));

  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("This time is no longer free");
  expect(alert).toHaveTextContent("Taken at 09:00");
  expect(screen.getByRole("button", { name: "Send the request" })).toBeEnabled();
  // The time was taken: the free times are asked again, and the user chooses anew.
  const slotRequests = () => server.requests.filter((request) => request.url.includes("/slots")).length;
  await waitFor(() => expect(slotRequests()).toBe(2));
  await user.click(await screen.findByRole("radio"));

  // Sent again unchanged, it is the same command (same Idempotency-Key); changed, a new one.
  await user.click(screen.getByRole("button", { name: "Send the request" }));
  await waitFor(() => expect(slotRequests()).toBe(3));
  await user.click(await screen.findByRole("radio"));
  await user.type(screen.getByLabelText("Message to the practice"), "Any time.");
  await user.click(screen.getByRole("button", { name: "Send the request" }));
  await waitFor(() => expect(server.requests.filter((request) => request.method === "POST")).toHaveLength(3));
  const keys = server.requests
    .filter((request) => request.method === "POST")
    .map((request) => request.headers.get("Idempotency-Key"));
  expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  expect(keys[1]).toBe(keys[0]);
  expect(keys[2]).not.toBe(keys[0]);
});

test("the directory's loading, empty and failed states", async () => {
  const empty = fakeServer({
    "GET /api/v1/appointments/resources": () => ({ body: { items: [], next_cursor: null } }),
    "GET /api/v1/appointments/domains": () => ({ body: [] }),
  });
  const { unmount } = await renderPage(<RequestAppointmentPage />, { ...PAGE, server: empty });
  expect(screen.getByRole("status")).toHaveTextContent("Loading…");
  expect(await screen.findByText("No professional can be booked yet.")).toBeInTheDocument();
  unmount();

  const down = fakeServer({
    "GET /api/v1/appointments/resources": () => ({ status: 503, body: { title: "Service Unavailable", status: 503 } }),
    "GET /api/v1/appointments/domains": () => ({ body: [] }),
  });
  await renderPage(<RequestAppointmentPage />, { ...PAGE, server: down });
  expect(await screen.findByRole("alert")).toHaveTextContent("Service Unavailable");
  expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
});
