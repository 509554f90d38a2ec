import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DOCTOR, MEDICAL } from "../../test/fixtures";
import { fakeServer, renderPage } from "../../test/render";
import { FindProfessionalPage } from "./FindProfessionalPage";

const LAWYER = {
  ...DOCTOR,
  id: "0192f000-0000-7000-8000-0000000000d2",
  display_name: "Hélène Lindqvist",
  domain: "legal",
  zone: "Europe/Stockholm",
};
const LEGAL = { ...MEDICAL, name: "legal", label: "Law firm" };

function directory() {
  return fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [MEDICAL, LEGAL] }),
    "GET /api/v1/appointments/resources": (request) => {
      const domain = new URL(request.url).searchParams.get("domain");
      const all = [DOCTOR, LAWYER];
      return { body: { items: all.filter((resource) => !domain || resource.domain === domain), next_cursor: null } };
    },
  });
}

test("everyone bookable is listed with their field, and each leads to their free times", async () => {
  await renderPage(<FindProfessionalPage />, { path: "/professionals", server: directory() });

  const results = await screen.findByRole("list", { name: "Professionals" });
  const items = within(results).getAllByRole("listitem");
  expect(items).toHaveLength(2);
  expect(items[0]).toHaveTextContent("Dr. Mira Haddad");
  expect(items[0]).toHaveTextContent("Medical practice · Professional · Europe/Paris");
  const book = within(items[0] as HTMLElement).getByRole("link", { name: "See free times — Dr. Mira Haddad" });
  expect(book).toHaveAttribute("href", `/appointments/new?resource=${DOCTOR.id}`);
});

test("the field is asked of the service, the name is matched here without case or accents", async () => {
  const server = directory();
  await renderPage(<FindProfessionalPage />, { path: "/professionals", server });
  const user = userEvent.setup();
  await screen.findByRole("list", { name: "Professionals" });

  await user.selectOptions(screen.getByLabelText("Field"), "Law firm");
  expect(await screen.findByText("Found: 1")).toBeInTheDocument();
  expect(server.requests.at(-1)?.url).toContain("domain=legal");
  expect(screen.getByRole("heading", { name: "Hélène Lindqvist" })).toBeInTheDocument();

  await user.selectOptions(screen.getByLabelText("Field"), "All fields");
  await user.type(await screen.findByRole("searchbox", { name: "Name" }), "helene");
  expect(screen.getByText("Found: 1")).toBeInTheDocument();
  expect(screen.queryByText("Dr. Mira Haddad")).not.toBeInTheDocument();

  await user.type(screen.getByRole("searchbox", { name: "Name" }), "x");
  expect(screen.getByText("Nobody matches this search.")).toBeInTheDocument();
});

test("loading and failure, in French", async () => {
  const server = fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [] }),
    "GET /api/v1/appointments/resources": () => ({ status: 503, body: { title: "Service Unavailable", status: 503 } }),
  });
  await renderPage(<FindProfessionalPage />, { path: "/professionals", server, language: "fr" });

  expect(screen.getByRole("heading", { level: 1, name: "Trouver un professionnel" })).toBeInTheDocument();
  expect(screen.getByRole("status")).toHaveTextContent("Chargement…");
  expect(await screen.findByRole("alert")).toHaveTextContent("Service Unavailable");
  expect(screen.getByRole("button", { name: "Réessayer" })).toBeInTheDocument();
});
