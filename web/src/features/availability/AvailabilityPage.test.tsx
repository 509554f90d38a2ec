import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DOCTOR } from "../../test/fixtures";
import { PATIENT, PROFESSIONAL, fakeServer, renderPage } from "../../test/render";
import { AvailabilityPage } from "./AvailabilityPage";
import type { Schedule } from "./weekly";

const SCHEDULE_PATH = `/api/v1/appointments/resources/${DOCTOR.id}/schedule`;
const STORED: Schedule = {
  zone: "Europe/Paris",
  valid_from: "2026-11-25",
  valid_until: null,
  working_hours: [
    { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", start_time: "09:00:00", duration_minutes: 210 },
    { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", start_time: "14:00:00", duration_minutes: 210 },
  ],
  breaks: [],
  days_off: [],
  extra_hours: [{ day: "2026-12-19", start_time: "09:00:00", duration_minutes: 120 }],
};

function practice(schedule: () => { status?: number; body?: unknown }) {
  const saved: unknown[] = [];
  const server = fakeServer({
    "GET /api/v1/appointments/resources": (request) => {
      expect(new URL(request.url).searchParams.get("organisation_id")).toBe(PROFESSIONAL.organisation);
      return { body: { items: [DOCTOR], next_cursor: null } };
    },
    [`GET ${SCHEDULE_PATH}`]: schedule,
    [`PUT ${SCHEDULE_PATH}`]: async (request) => {
      saved.push(await request.json());
      return { status: 204 };
    },
  });
  return { server, saved };
}

const PAGE = { path: "/availability" };

test("the week is shown per day; a change is saved as weekly rules, days off included", async () => {
  const { server, saved } = practice(() => ({ body: STORED }));
  await renderPage(<AvailabilityPage user={PROFESSIONAL} />, { ...PAGE, server });
  const user = userEvent.setup();

  const thursday = await screen.findByRole("group", { name: "Working hours on Thursday" });
  const inputs = within(thursday).getAllByLabelText(/From|To/);
  expect(inputs.map((input) => (input as HTMLInputElement).value)).toEqual(["09:00", "12:30", "14:00", "17:30"]);
  expect(screen.getByRole("group", { name: "Working hours on Sunday" })).toHaveTextContent("Closed");

  await user.click(within(thursday).getByRole("button", { name: "Remove Working hours on Thursday 14:00–17:30" }));
  await user.click(within(screen.getByRole("group", { name: "Breaks on Monday" })).getByRole("button"));
  await user.click(screen.getByRole("button", { name: "Add days off" }));
  // A date input's own widget is the browser's; here its value is set as the widget would.
  fireEvent.change(screen.getByLabelText("First day"), { target: { value: "2026-12-24" } });
  fireEvent.change(screen.getByLabelText("Last day"), { target: { value: "2026-12-26" } });
  await user.click(screen.getByRole("button", { name: "Save the availability" }));

  expect(await screen.findByText("The availability is saved.")).toBeInTheDocument();
  expect(saved).toEqual([
    {
      ...STORED,
      working_hours: [
        { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", start_time: "09:00", duration_minutes: 210 },
        { rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,FR", start_time: "14:00", duration_minutes: 210 },
      ],
      // A day's first period starts as 09:00–17:00, to be adjusted.
      breaks: [{ rule: "FREQ=WEEKLY;BYDAY=MO", start_time: "09:00", duration_minutes: 480 }],
      days_off: [{ first_day: "2026-12-24", last_day: "2026-12-26" }],
    },
  ]);
}, 15_000);

test("a period ending before it starts, or overlapping another, is marked and nothing is sent", async () => {
  const { server, saved } = practice(() => ({ body: STORED }));
  await renderPage(<AvailabilityPage user={PROFESSIONAL} />, { ...PAGE, server });
  const user = userEvent.setup();
  const monday = await screen.findByRole("group", { name: "Working hours on Monday" });

  const [, firstEnd] = within(monday).getAllByLabelText(/From|To/);
  await user.clear(firstEnd as HTMLElement);
  await user.type(firstEnd as HTMLElement, "15:00");
  await user.click(screen.getByRole("button", { name: "Save the availability" }));

  expect(firstEnd).toHaveAttribute("aria-invalid", "true");
  expect(firstEnd).toHaveAccessibleDescription("This overlaps another period of the day.");
  expect(screen.getByText("Fix the periods marked above first.")).toBeInTheDocument();
  expect(saved).toEqual([]);
});

test("a resource without hours yet starts empty and needs some before saving", async () => {
  const { server, saved } = practice(() => ({
    status: 404,
    body: { type: "urn:kairos:problem:no-schedule", title: "No working hours yet", status: 404 },
  }));
  await renderPage(<AvailabilityPage user={PROFESSIONAL} />, { ...PAGE, server });
  const user = userEvent.setup();

  expect(await screen.findByText("No working hours yet: add some, then save.")).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Save the availability" }));
  expect(screen.getByRole("alert")).toHaveTextContent("Add at least one period of working hours.");

  await user.click(within(screen.getByRole("group", { name: "Working hours on Monday" })).getByRole("button"));
  await user.click(screen.getByRole("button", { name: "Copy Monday to every weekday" }));
  await user.click(screen.getByRole("button", { name: "Save the availability" }));
  await waitFor(() => expect(saved).toHaveLength(1));
  expect(saved[0]).toMatchObject({
    zone: DOCTOR.zone,
    working_hours: [{ rule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", start_time: "09:00", duration_minutes: 480 }],
  });
});

test("a refusal is shown; a patient has no practice to manage; in French", async () => {
  const { server } = practice(() => ({ status: 403, body: { title: "Forbidden", status: 403, detail: "not yours" } }));
  const { unmount } = await renderPage(<AvailabilityPage user={PROFESSIONAL} />, { ...PAGE, server, language: "fr" });
  expect(await screen.findByRole("alert")).toHaveTextContent("not yours");
  expect(screen.getByRole("button", { name: "Réessayer" })).toBeInTheDocument();
  unmount();

  await renderPage(<AvailabilityPage user={PATIENT} />, PAGE);
  expect(screen.getByText("Only the people of a practice manage its availability.")).toBeInTheDocument();
});
