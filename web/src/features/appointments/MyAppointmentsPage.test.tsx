import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DIRECTORY_ROUTES, REQUESTED } from "../../test/fixtures";
import { fakeServer, renderPage } from "../../test/render";
import { MyAppointmentsPage } from "./MyAppointmentsPage";

const LIST = "GET /api/v1/appointments/appointments";
const PAGE = { path: "/appointments" };

const COMING = { ...REQUESTED, starts_at: "2099-03-02T09:00:00Z", ends_at: "2099-03-02T09:20:00Z" };
const LATER = { ...COMING, id: "0192f000-0000-7000-8000-0000000000e2", starts_at: "2099-03-09T09:00:00Z" };
const OLD = {
  ...REQUESTED,
  id: "0192f000-0000-7000-8000-0000000000e3",
  status: "fulfilled",
  starts_at: "2020-01-06T09:00:00Z",
};
const OLDER = {
  ...OLD,
  id: "0192f000-0000-7000-8000-0000000000e4",
  status: "cancelled",
  starts_at: "2019-01-07T09:00:00Z",
};

function when(iso: string, locale = "en-US") {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short", timeZone: zone }).format(
    new Date(iso),
  );
}

test("what is coming, soonest first, and the past, latest first, each with its status and a link", async () => {
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    [LIST]: (request) => {
      const query = new URL(request.url).searchParams;
      if (query.get("from")) return { body: { items: [COMING], next_cursor: null } };
      return { body: { items: [OLDER, OLD], next_cursor: null } };
    },
  });
  await renderPage(<MyAppointmentsPage />, { ...PAGE, server });

  const upcoming = await screen.findByRole("list", { name: "Coming up" });
  const coming = within(upcoming).getByRole("listitem");
  expect(coming).toHaveTextContent(when(COMING.starts_at));
  expect(coming).toHaveTextContent("Dr. Mira Haddad · Consultation");
  expect(coming).toHaveTextContent("Requested, waiting for the practice");
  expect(within(coming).getByRole("link", { name: `Details — ${when(COMING.starts_at)}` })).toHaveAttribute(
    "href",
    `/appointments/${COMING.id}`,
  );

  const past = await screen.findByRole("list", { name: "Past" });
  const items = within(past).getAllByRole("listitem");
  expect(items.map((item) => item.querySelector("time")?.getAttribute("datetime"))).toEqual([
    OLD.starts_at,
    OLDER.starts_at,
  ]);
  expect(items[0]).toHaveTextContent("Took place");
  expect(items[1]).toHaveTextContent("Cancelled");

  const asked = server.requests.filter((request) => request.url.includes("/appointments/appointments"));
  const queries = asked.map((request) => new URL(request.url).searchParams);
  expect(queries.every((query) => query.get("patient") === "me")).toBe(true);
  const from = queries.find((query) => query.has("from"))?.get("from");
  const to = queries.find((query) => query.has("to"))?.get("to");
  expect(from).toBe(to); // one "now" splits coming from past
});

test("more of what is coming is fetched with the next page's cursor", async () => {
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    [LIST]: (request) => {
      const query = new URL(request.url).searchParams;
      if (!query.get("from")) return { body: { items: [], next_cursor: null } };
      return query.get("cursor") === "page-2"
        ? { body: { items: [LATER], next_cursor: null } }
        : { body: { items: [COMING], next_cursor: "page-2" } };
    },
  });
  await renderPage(<MyAppointmentsPage />, { ...PAGE, server });
  const user = userEvent.setup();

  await user.click(await screen.findByRole("button", { name: "Show more" }));

  const upcoming = screen.getByRole("list", { name: "Coming up" });
  await waitFor(() => expect(within(upcoming).getAllByRole("listitem")).toHaveLength(2));
  expect(screen.queryByRole("button", { name: "Show more" })).not.toBeInTheDocument();
  expect(screen.getByText("No past appointments.")).toBeInTheDocument();
});

test("empty lists say so, and a failure offers to try again, in French", async () => {
  let fail = true;
  const server = fakeServer({
    ...DIRECTORY_ROUTES,
    [LIST]: (request) =>
      fail && new URL(request.url).searchParams.get("from")
        ? { status: 503, body: { title: "Service indisponible", status: 503 } }
        : { body: { items: [], next_cursor: null } },
  });
  await renderPage(<MyAppointmentsPage />, { ...PAGE, server, language: "fr" });
  const user = userEvent.setup();

  expect(screen.getByRole("heading", { level: 1, name: "Mes rendez-vous" })).toBeInTheDocument();
  expect(await screen.findByRole("alert")).toHaveTextContent("Service indisponible");
  expect(await screen.findByText("Aucun rendez-vous passé.")).toBeInTheDocument();
  fail = false;
  await user.click(screen.getByRole("button", { name: "Réessayer" }));
  expect(await screen.findByText("Rien à venir.")).toBeInTheDocument();
});
