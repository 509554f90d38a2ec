import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DOCTOR } from "../../test/fixtures";
import { PROFESSIONAL, fakeServer, renderPage } from "../../test/render";
import { BulkChanges, changeOf, daysBetween } from "./BulkChanges";

const BULK = "/api/v1/appointments/availability/bulk-changes";
const ROOM = { ...DOCTOR, id: "0192f000-0000-7000-8000-0000000000r2", display_name: "Treatment room 2" };
const CONFLICT = "0192f000-0000-7000-8000-0000000000c1";
const CHANGE_ID = "0192f000-0000-7000-8000-0000000000b1";

function answer(applied: boolean) {
  return {
    change_id: applied ? CHANGE_ID : null,
    applied,
    resources: [
      {
        resource_id: DOCTOR.id,
        changed: true,
        working_time_before: [],
        working_time_after: [],
        minutes_before: 420,
        minutes_after: 0,
        conflicts: [
          {
            appointment_id: CONFLICT,
            starts_at: "2027-08-02T08:00:00Z",
            ends_at: "2027-08-02T08:20:00Z",
            status: "booked",
          },
        ],
      },
    ],
    skipped: [ROOM.id],
  };
}

test("a change is previewed with the appointments in the way, applied, listed, and undone", async () => {
  let recent: unknown[] = [];
  const sent: { preview: string | null; body: unknown; key: string | null }[] = [];
  const server = fakeServer({
    [`POST ${BULK}`]: async (request) => {
      const preview = new URL(request.url).searchParams.get("preview");
      sent.push({ preview, body: await request.json(), key: request.headers.get("Idempotency-Key") });
      if (preview === "false") {
        recent = [
          {
            change_id: CHANGE_ID,
            change: { kind: "close-dates", days: [{ first_day: "2027-08-02", last_day: "2027-08-06" }] },
            applied_by: PROFESSIONAL.subject,
            applied_at: "2026-12-04T10:00:00Z",
            undone_at: null,
            resource_ids: [DOCTOR.id],
          },
        ];
        return { status: 201, body: answer(true) };
      }
      return { body: answer(false) };
    },
    [`GET ${BULK}`]: () => ({ body: { items: recent, next_cursor: null } }),
    [`POST ${BULK}/${CHANGE_ID}/undo`]: () => {
      recent = recent.map((item) => ({ ...(item as object), undone_at: "2026-12-04T10:05:00Z" }));
      return { body: { change_id: CHANGE_ID, undone_at: "2026-12-04T10:05:00Z", restored: [DOCTOR.id] } };
    },
  });
  await renderPage(<BulkChanges resources={[DOCTOR, ROOM]} />, { path: "/availability", server });
  const user = userEvent.setup();
  expect(await screen.findByText("No change yet.")).toBeInTheDocument();

  await user.click(screen.getByRole("button", { name: "Preview the change" }));
  expect(screen.getByRole("alert")).toHaveTextContent("Choose at least one.");

  await user.click(screen.getByRole("checkbox", { name: DOCTOR.display_name }));
  await user.click(screen.getByRole("checkbox", { name: ROOM.display_name }));
  fireEvent.change(screen.getByLabelText("First closed day"), { target: { value: "2027-08-02" } });
  fireEvent.change(screen.getByLabelText("Last closed day"), { target: { value: "2027-08-06" } });
  await user.click(screen.getByRole("button", { name: "Preview the change" }));

  const preview = await screen.findByRole("region", { name: "What it changes" });
  expect(preview).toHaveTextContent("Working time in those days: 420 minutes → 0 minutes");
  expect(within(preview).getByRole("link", { name: /, Booked$/ })).toHaveAttribute("href", `/appointments/${CONFLICT}`);
  expect(preview).toHaveTextContent("Without working hours, left as they are: Treatment room 2");

  await user.click(screen.getByRole("button", { name: "Apply the change" }));
  expect(await screen.findByText("The change is applied.")).toBeInTheDocument();
  const body = {
    resources: { resource_ids: [DOCTOR.id, ROOM.id].sort() },
    change: { kind: "close-dates", days: [{ first_day: "2027-08-02", last_day: "2027-08-06" }] },
  };
  expect(sent.map((item) => [item.preview, item.body, item.key !== null])).toEqual([
    ["true", body, false],
    ["false", body, true],
  ]);

  const list = await screen.findByRole("list", { name: "Recent changes" });
  await user.click(within(list).getByRole("button", { name: "Undo: Closed 2027-08-02 – 2027-08-06" }));
  await waitFor(() => expect(within(list).getByText(/^Undone /)).toBeInTheDocument());
  expect(within(list).queryByRole("button", { name: /^Undo/ })).toBeNull();
}, 30_000); // many steps: slow on a busy machine

test("a refused undo shows the service's reason; a bad range is caught before asking", async () => {
  const server = fakeServer({
    [`GET ${BULK}`]: () => ({
      body: {
        items: [
          {
            change_id: CHANGE_ID,
            change: { kind: "add-hours", days: ["2027-08-07"], start_time: "09:00:00", duration_minutes: 60 },
            applied_by: "admin",
            applied_at: "2026-12-04T10:00:00Z",
            undone_at: null,
            resource_ids: [DOCTOR.id],
          },
        ],
        next_cursor: null,
      },
    }),
    [`POST ${BULK}/${CHANGE_ID}/undo`]: () => ({
      status: 409,
      body: { title: "Changed since", status: 409, detail: "undo the later changes first" },
    }),
  });
  await renderPage(<BulkChanges resources={[DOCTOR]} />, { path: "/availability", server, language: "fr" });
  const user = userEvent.setup();
  await user.click(await screen.findByRole("button", { name: "Annuler : Heures ajoutées le 2027-08-07" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("Changed since");

  expect(
    changeOf({ kind: "close-dates", firstDay: "2027-08-06", lastDay: "2027-08-02", startTime: "", endTime: "" }),
  ).toBe("lastAfterFirst");
  expect(
    changeOf({ kind: "add-hours", firstDay: "2027-08-07", lastDay: "", startTime: "14:00", endTime: "13:00" }),
  ).toBe("endAfterStart");
  expect(daysBetween("2027-02-27", "2027-03-01")).toEqual(["2027-02-27", "2027-02-28", "2027-03-01"]);
});
