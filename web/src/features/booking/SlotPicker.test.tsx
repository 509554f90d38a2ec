import { act, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";

import { fakeEventSources } from "../../test/eventSource";
import { DOCTOR, SLOT } from "../../test/fixtures";
import { fakeServer, renderPage } from "../../test/render";
import { SlotPicker } from "./SlotPicker";
import { addDays, startOfWeek } from "./week";

const SLOTS = `GET /api/v1/appointments/resources/${DOCTOR.id}/slots`;

function Picker() {
  const [value, setValue] = useState("");
  return (
    <>
      <SlotPicker id="slot" resourceId={DOCTOR.id} appointmentType="consultation" value={value} onChange={setValue} />
      <output>{value}</output>
    </>
  );
}

test("this week's free times, by day in the user's zone, chosen with the keyboard", async () => {
  const later = { ...SLOT, starts_at: new Date(Date.parse(SLOT.starts_at) + 30 * 60_000).toISOString() };
  const server = fakeServer({ [SLOTS]: () => ({ body: [later, SLOT] }) });
  await renderPage(<Picker />, { server });
  const user = userEvent.setup();

  const monday = startOfWeek(new Date());
  const asked = new URL(server.requests[0]?.url ?? "");
  expect(asked.searchParams.get("appointment_type")).toBe("consultation");
  expect(asked.searchParams.get("from")).toBe(monday.toISOString());
  expect(asked.searchParams.get("to")).toBe(addDays(monday, 7).toISOString());
  expect(asked.searchParams.get("zone")).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);

  const wednesday = new Intl.DateTimeFormat("en-US", { weekday: "long", day: "numeric", month: "long" }).format(
    new Date(SLOT.starts_at),
  );
  const day = await screen.findByRole("group", { name: wednesday });
  const times = day.querySelectorAll("input[type=radio]");
  expect(times).toHaveLength(2);
  expect(times[0]).toHaveAttribute("value", SLOT.starts_at); // in time order

  await user.tab(); // "Previous week" is disabled on the current week: the first stop is "Next week"
  expect(screen.getByRole("button", { name: "Next week" })).toHaveFocus();
  await user.tab();
  expect(times[0]).toHaveFocus();
  await user.keyboard("{ArrowDown}");
  expect(times[1]).toBeChecked();
  expect(screen.getByText(later.starts_at)).toBeInTheDocument();
});

test("weeks go forward and back, never before this one; an empty week says so", async () => {
  const server = fakeServer({ [SLOTS]: () => ({ body: [] }) });
  await renderPage(<Picker />, { server });
  const user = userEvent.setup();

  expect(await screen.findByText("No free time this week. Try the next one.")).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Previous week" })).toBeDisabled();
  await user.click(screen.getByRole("button", { name: "Next week" }));
  await waitFor(() => expect(server.requests).toHaveLength(2));
  const next = addDays(startOfWeek(new Date()), 7);
  expect(new URL(server.requests[1]?.url ?? "").searchParams.get("from")).toBe(next.toISOString());
  await user.click(screen.getByRole("button", { name: "Previous week" }));
  expect(screen.getByRole("button", { name: "Previous week" })).toBeDisabled();
});

test("a failure offers to try again", async () => {
  let calls = 0;
  const server = fakeServer({
    [SLOTS]: () =>
      ++calls === 1 ? { status: 404, body: { title: "Unknown appointment type", status: 404 } } : { body: [SLOT] },
  });
  await renderPage(<Picker />, { server, language: "fr" });
  const user = userEvent.setup();

  expect(await screen.findByRole("alert")).toHaveTextContent("Unknown appointment type");
  await user.click(screen.getByRole("button", { name: "Réessayer" }));
  expect(await screen.findByRole("radio")).toBeInTheDocument();
  expect(screen.getByRole("group", { name: "Créneaux libres" })).toHaveAccessibleDescription(
    /^Heures dans votre fuseau horaire/,
  );
});

test("a time someone else takes disappears at once, and a chosen one is unchosen with a word why", async () => {
  const streams = fakeEventSources();
  const later = { ...SLOT, starts_at: new Date(Date.parse(SLOT.starts_at) + 30 * 60_000).toISOString() };
  let free = [SLOT, later];
  const server = fakeServer({ [SLOTS]: () => ({ body: free }) });
  await renderPage(<Picker />, { server });
  const user = userEvent.setup();
  await user.click(await screen.findByRole("radio", { name: new RegExp(timeOf(SLOT.starts_at)) }));
  const [stream] = streams.open(`/resources/${DOCTOR.id}/slots/stream`);
  expect(stream).toBeDefined();

  // A change in another week is not this week's business.
  act(() => stream?.push("slots-changed", { from: "2001-01-01T09:00:00Z", until: "2001-01-01T09:20:00Z" }));
  free = [later];
  act(() => stream?.push("slots-changed", { from: SLOT.starts_at, until: SLOT.ends_at }));

  await waitFor(() => expect(screen.getAllByRole("radio")).toHaveLength(1));
  expect(server.requests).toHaveLength(2); // the first answer, and once after the change in this week
  expect(screen.getByText(/^The time you chose was just taken/)).toHaveAttribute("role", "status");
  expect(screen.getByRole("radio")).not.toBeChecked();
  expect(screen.queryByText("Loading…")).not.toBeInTheDocument();
});

function timeOf(iso: string): string {
  return new Intl.DateTimeFormat("en", { timeStyle: "short" }).format(new Date(iso));
}
