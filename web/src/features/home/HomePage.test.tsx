import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { PATIENT, renderPage } from "../../test/render";
import { HomePage } from "./HomePage";

test("signed out, it offers to sign in", async () => {
  const { auth } = await renderPage(<HomePage />, { auth: { status: "signed-out", expired: false } });

  await userEvent.setup().click(screen.getByRole("button", { name: "Sign in" }));

  expect(auth.signIn).toHaveBeenCalledWith("/");
});

test("signed in, it shows the user's name, e-mail address and roles", async () => {
  await renderPage(<HomePage />, {
    auth: { status: "signed-in", user: { ...PATIENT, roles: ["patient", "operator"] } },
  });

  expect(screen.getByRole("heading", { level: 1, name: "Welcome, Pat Jensen" })).toBeInTheDocument();
  expect(screen.getByText("patient@demo.kairos.test")).toBeInTheDocument();
  const roles = screen.getByRole("list", { name: "Roles" });
  expect(roles).toHaveTextContent("Patient");
  expect(roles).toHaveTextContent("Operator");
  expect(screen.getByRole("link", { name: "Request an appointment" })).toHaveAttribute("href", "/appointments/new");
});

test("in French", async () => {
  await renderPage(<HomePage />, { auth: { status: "signed-out", expired: true }, language: "fr" });

  expect(screen.getByRole("button", { name: "Se connecter" })).toBeInTheDocument();
  expect(screen.getByRole("status")).toHaveTextContent("Votre session a pris fin.");
});
