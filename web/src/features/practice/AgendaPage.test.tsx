import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DOCTOR, MEDICAL, REQUESTED } from "../../test/fixtures";
import { PROFESSIONAL, fakeServer, renderPage } from "../../test/render";
import { addDays, dayKey, startOfWeek } from "../booking/week";
import { AgendaPage, dayOf } from "./AgendaPage";

const ROOM = { ...DOCTOR, id: "0192f000-0000-7000-8000-0000000000d3", display_name: "Treatment room", kind: "room" };
const AUTH = { status: "signed-in" as const, user: PROFESSIONAL };

/** Booked on Tuesday 1 December 2026 at 10:00 local time. */
const TUESDAY = new Date(2026, 11, 1, 10, 0);
const BOOKED = {
  ...REQUESTED,
  status: "booked",
  starts_at: TUESDAY.toISOString(),
  ends_at: new Date(TUESDAY.getTime() + 20 * 60_000).toISOString(),
};

function agenda() {
  return fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [MEDICAL] }),
    "GET /api/v1/appointments/resources": () => ({ body: { items: [DOCTOR, ROOM], next_cursor: null } }),
    "GET /api/v1/appointments/appointments": (request) => {
      const query = new URL(request.url).searchParams;
      const from = Date.parse(query.get("from") ?? "");
      const to = Date.parse(query.get("to") ?? "");
      const inRange = Date.parse(BOOKED.starts_at) >= from && Date.parse(BOOKED.starts_at) < to;
      const forResource = !query.get("resource_id") || query.get("resource_id") === BOOKED.resource_id;
      return { body: { items: inRange && forResource ? [BOOKED] : [], next_cursor: null } };
    },
  });
}

function time(date: Date) {
  return new Intl.DateTimeFormat("en-US", { timeStyle: "short" }).format(date);
}

test("a week of booked appointments, by day, each a link to the appointment", async () => {
  const server = agenda();
  await renderPage(<AgendaPage user={PROFESSIONAL} />, {
    path: "/agenda",
    search: "?date=2026-12-03",
    auth: AUTH,
    server,
  });

  const tuesday = await screen.findByRole("region", { name: "Tuesday, December 1" });
  const link = within(tuesday).getByRole("link", { name: `${time(TUESDAY)} Consultation, Dr. Mira Haddad` });
  expect(link).toHaveAttribute("href", `/appointments/${BOOKED.id}`);
  expect(screen.getByRole("region", { name: "Monday, November 30" })).toHaveTextContent("Nothing booked.");
  expect(screen.getAllByRole("heading", { level: 3 })).toHaveLength(7);
  expect(screen.getByRole("button", { name: "Week" })).toHaveAttribute("aria-pressed", "true");

  const asked = new URL(server.requests.find((request) => request.url.includes("/appointments?"))?.url ?? "");
  expect(asked.searchParams.get("from")).toBe(new Date(2026, 10, 30).toISOString());
  expect(asked.searchParams.get("to")).toBe(new Date(2026, 11, 7).toISOString());
  expect(asked.searchParams.getAll("status")).toEqual(["booked", "arrived", "checked-in", "fulfilled", "noshow"]);
});

test("the day view, day by day with the keyboard, and one person's agenda", async () => {
  const server = agenda();
  await renderPage(<AgendaPage user={PROFESSIONAL} />, {
    path: "/agenda",
    search: "?date=2026-11-30&view=day",
    auth: AUTH,
    server,
  });
  const user = userEvent.setup();

  expect(await screen.findByText("Nothing booked in this period.")).toBeInTheDocument();
  screen.getByRole("button", { name: "Next day" }).focus();
  await user.keyboard("{Enter}");
  expect(await screen.findByRole("link", { name: /Consultation, Dr. Mira Haddad/ })).toBeInTheDocument();
  expect(screen.getByRole("heading", { level: 2 })).toHaveTextContent("Tuesday, December 1");

  await user.selectOptions(screen.getByLabelText("Whose agenda"), "Treatment room");
  expect(await screen.findByText("Nothing booked in this period.")).toBeInTheDocument();
  const last = new URL(server.requests.at(-1)?.url ?? "");
  expect(last.searchParams.get("resource_id")).toBe(ROOM.id);

  await user.click(screen.getByRole("button", { name: "Week" }));
  await waitFor(() => expect(screen.getByRole("button", { name: "Next week" })).toBeInTheDocument());
});

test("a failure offers to try again, in French", async () => {
  const server = fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [MEDICAL] }),
    "GET /api/v1/appointments/resources": () => ({ body: { items: [DOCTOR], next_cursor: null } }),
    "GET /api/v1/appointments/appointments": () => ({ status: 500, body: { title: "Erreur interne", status: 500 } }),
  });
  await renderPage(<AgendaPage user={PROFESSIONAL} />, { path: "/agenda", auth: AUTH, server, language: "fr" });
  expect(await screen.findByRole("alert")).toHaveTextContent("Erreur interne");
  expect(screen.getByRole("button", { name: "Réessayer" })).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Semaine" })).toHaveAttribute("aria-pressed", "true");
});

test("a day in the address is local midnight; anything else is today", () => {
  expect(dayOf("2026-12-01")).toEqual(new Date(2026, 11, 1));
  const today = new Date(2026, 5, 15, 14, 30);
  expect(dayOf("yesterday", today)).toEqual(new Date(2026, 5, 15));
  expect(dayKey(addDays(startOfWeek(dayOf("2026-12-03")), 6))).toBe("2026-12-06");
});
