import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { DOCTOR, MEDICAL } from "../../test/fixtures";
import { fakeServer, renderPage } from "../../test/render";
import type { Professional } from "./api";
import { FindProfessionalPage } from "./FindProfessionalPage";

const LAWYER = {
  ...DOCTOR,
  id: "0192f000-0000-7000-8000-0000000000d2",
  display_name: "Hélène Lindqvist",
  domain: "legal",
  zone: "Europe/Stockholm",
};
const LEGAL = { ...MEDICAL, name: "legal", label: "Law firm" };

const HADDAD: Professional = {
  user_id: "0192f000-0000-7000-8000-00000000b001",
  organisation_id: DOCTOR.organisation_id,
  display_name: "Dr. Mira Haddad",
  specialty: "General practice",
  languages: ["en", "fr"],
  location: "Marseille",
  resources: [
    { id: DOCTOR.id, kind: "professional", display_name: DOCTOR.display_name, zone: DOCTOR.zone, domain: "medical" },
  ],
  earliest_free: {
    starts_at: "2026-12-01T08:00:00Z",
    ends_at: "2026-12-01T08:20:00Z",
    resource_id: DOCTOR.id,
    appointment_type: "consultation",
  },
};
const LINDQVIST: Professional = {
  ...HADDAD,
  user_id: "0192f000-0000-7000-8000-00000000b002",
  display_name: "Hélène Lindqvist",
  specialty: "Family law",
  location: "Stockholm",
  resources: [{ ...HADDAD.resources[0]!, id: LAWYER.id, display_name: LAWYER.display_name, domain: "legal" }],
  earliest_free: null,
};

function directory(listed: Professional[] = [HADDAD, LINDQVIST]) {
  return fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [MEDICAL, LEGAL] }),
    "GET /api/v1/appointments/directory": (request) => {
      const query = new URL(request.url).searchParams;
      const q = query.get("q")?.toLowerCase();
      const found = listed.filter(
        (professional) =>
          (!query.get("specialty") || professional.specialty === query.get("specialty")) &&
          (!query.get("domain") || professional.resources[0]?.domain === query.get("domain")) &&
          (!q || professional.display_name.toLowerCase().includes(q)),
      );
      return { body: { items: found, next_cursor: null } };
    },
    "GET /api/v1/appointments/resources": (request) => {
      const domain = new URL(request.url).searchParams.get("domain");
      const all = [DOCTOR, LAWYER];
      return { body: { items: all.filter((resource) => !domain || resource.domain === domain), next_cursor: null } };
    },
  });
}

test("the directory lists each professional's specialty, place and earliest free time in the user's zone", async () => {
  await renderPage(<FindProfessionalPage />, { path: "/professionals", server: directory() });

  const results = await screen.findByRole("list", { name: "Professionals" });
  const items = within(results)
    .getAllByRole("listitem")
    .filter((item) => item.classList.contains("result"));
  expect(items).toHaveLength(2);
  expect(items[0]).toHaveTextContent("General practice · Marseille · Medical practice");
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const earliest = new Intl.DateTimeFormat("en-US", { dateStyle: "full", timeStyle: "short", timeZone: zone }).format(
    new Date(HADDAD.earliest_free!.starts_at),
  );
  expect(items[0]).toHaveTextContent(`Earliest free time: ${earliest}`);
  expect(items[1]).toHaveTextContent("No free time in the next four weeks.");
  const book = within(items[0]!).getByRole("link", { name: "See free times — Dr. Mira Haddad" });
  expect(book).toHaveAttribute("href", `/appointments/new?resource=${DOCTOR.id}`);
});

test("field, specialty and words are asked of the directory", async () => {
  const server = directory();
  await renderPage(<FindProfessionalPage />, { path: "/professionals", server });
  const user = userEvent.setup();
  await screen.findByRole("list", { name: "Professionals" });

  await user.selectOptions(screen.getByLabelText("Specialty"), "Family law");
  expect(await screen.findByText("Found: 1")).toBeInTheDocument();
  expect(new URL(server.requests.at(-1)?.url ?? "").searchParams.get("specialty")).toBe("Family law");
  expect(screen.getByRole("heading", { name: "Hélène Lindqvist" })).toBeInTheDocument();

  await user.selectOptions(screen.getByLabelText("Specialty"), "All specialties");
  await user.selectOptions(screen.getByLabelText("Field"), "Medical practice");
  await user.type(screen.getByRole("searchbox", { name: "Name, specialty or place" }), "haddad");
  await waitFor(() => expect(new URL(server.requests.at(-1)?.url ?? "").searchParams.get("q")).toBe("haddad"));
  expect(new URL(server.requests.at(-1)?.url ?? "").searchParams.get("domain")).toBe("medical");
  expect(await screen.findByRole("heading", { name: "Dr. Mira Haddad" })).toBeInTheDocument();

  await user.type(screen.getByRole("searchbox", { name: "Name, specialty or place" }), "x");
  expect(await screen.findByText("Nobody matches this search.")).toBeInTheDocument();
});

test("while the directory lists nobody, the bookable resources are listed, the name matched here", async () => {
  await renderPage(<FindProfessionalPage />, { path: "/professionals", server: directory([]) });
  const user = userEvent.setup();

  const results = await screen.findByRole("list", { name: "Professionals" });
  expect(within(results).getAllByRole("listitem")).toHaveLength(2);
  expect(within(results).getAllByRole("listitem")[0]).toHaveTextContent(
    "Medical practice · Professional · Europe/Paris",
  );
  await user.type(screen.getByRole("searchbox", { name: "Name, specialty or place" }), "helene");
  await waitFor(() => expect(screen.getByText("Found: 1")).toBeInTheDocument());
  expect(screen.queryByText("Dr. Mira Haddad")).not.toBeInTheDocument();
});

test("loading and failure, in French", async () => {
  const server = fakeServer({
    "GET /api/v1/appointments/domains": () => ({ body: [] }),
    "GET /api/v1/appointments/directory": () => ({ status: 503, body: { title: "Service Unavailable", status: 503 } }),
  });
  await renderPage(<FindProfessionalPage />, { path: "/professionals", server, language: "fr" });

  expect(screen.getByRole("heading", { level: 1, name: "Trouver un professionnel" })).toBeInTheDocument();
  expect(screen.getByRole("status")).toHaveTextContent("Chargement…");
  expect((await screen.findAllByRole("alert"))[0]).toHaveTextContent("Service Unavailable");
  expect(screen.getAllByRole("button", { name: "Réessayer" }).length).toBeGreaterThan(0);
});
