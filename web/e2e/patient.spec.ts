import { PATIENT, expect, expectAccessible, expectFitsPhone, screenshot, signIn, storedUser, test } from "./support";

test("the landing page offers sign-in, in English or French, and is accessible", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Appointments without the phone calls");
  await expect(page.getByRole("main").getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, "01-landing");

  await page.getByLabel("Language").selectOption("fr");
  await expect(page.getByRole("main").getByRole("button", { name: "Se connecter" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "fr");
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Des rendez-vous sans coups de fil");
  await page.getByLabel("Langue").selectOption("en");
  await expect(page.getByRole("main").getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
});

test("a deep link to an unknown page shows the app's own not-found page", async ({ page }) => {
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
});

test("a patient signs in, requests an appointment, follows it, cancels it and signs out", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("main").getByRole("button", { name: "Sign in", exact: true }).click();

  // Identity's sign-in page, reached through the authorization request (code + PKCE).
  await expect(page).toHaveURL(/\/api\/v1\/identity\/sign-in/);
  await expect(page.getByLabel("E-mail address", { exact: true })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, "02-identity-sign-in");
  await page.getByLabel("E-mail address", { exact: true }).fill(PATIENT.email);
  await page.getByLabel("Password").fill(PATIENT.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();

  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${PATIENT.name}` })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("list", { name: "Roles" })).toHaveText("Patient");
  await expect(page.getByText(PATIENT.email)).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, "03-signed-in");

  // Find the professional by name, then one of their free times.
  await page.getByRole("main").getByRole("link", { name: "Find a professional" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Find a professional" })).toBeVisible();
  await page.getByLabel("Field").selectOption({ label: "Medical practice" });
  await page.getByRole("searchbox", { name: "Name, specialty or place" }).fill("haddad");
  const found = page.getByRole("list", { name: "Professionals" }).locator(":scope > li");
  await expect(found).toHaveCount(1);
  await expect(found).toContainText("General practice");
  await expect(found).toContainText("Earliest free time:");
  await expectAccessible(page);
  await screenshot(page, "04-find-professional");
  await expectFitsPhone(page);
  await page.getByRole("link", { name: "See free times — Dr. Mira Haddad" }).click();

  await expect(page.getByRole("heading", { level: 1, name: "Request an appointment" })).toBeVisible();
  await expect(page.getByLabel("Professional")).toHaveValue(/[0-9a-f-]{36}/);
  await page.getByLabel("Type of appointment").selectOption({ label: "Consultation (20 minutes)" });
  const times = page.getByRole("group", { name: "Free times" });
  await expect(times.getByText(/^Week of /)).toBeVisible();

  // Nothing sent without a time and the practice's required question: each says so.
  await page.getByRole("button", { name: "Send the request" }).click();
  await expect(times).toBeFocused();
  await expect(times.getByText("This field is required.")).toBeVisible();
  await expect(page.getByLabel(/Reason for the visit/)).toHaveAttribute("aria-invalid", "true");

  // Two weeks ahead: past the cancellation cut-off and any notice, so the flow can cancel it after.
  await times.getByRole("button", { name: "Next week" }).click();
  await times.getByRole("button", { name: "Next week" }).click();
  await expect(times.getByRole("radio").first()).toBeVisible();
  // A random one of the free times, so that a run against a long-lived backend finds it free.
  const count = await times.getByRole("radio").count();
  await times
    .getByRole("radio")
    .nth(Math.floor(Math.random() * count))
    .check();
  await page.getByLabel(/Reason for the visit/).fill("A cough that will not go away");
  await page.getByLabel(/First visit to this practice/).check();
  await page.getByLabel("Message to the practice").fill("Mornings suit me best.");
  await expectAccessible(page);
  await screenshot(page, "05-request-form");
  await page.getByRole("button", { name: "Send the request" }).click();

  await expect(page).toHaveURL(/\/appointments\/[0-9a-f-]{36}$/);
  const appointmentPath = new URL(page.url()).pathname;
  await expect(page.getByRole("status").filter({ hasText: "Your request was sent." })).toBeVisible();
  await expect(page.getByTestId("appointment-status")).toHaveText("Requested, waiting for the practice");
  await expect(page.getByText("Dr. Mira Haddad")).toBeVisible();
  await expect(page.getByRole("listitem").filter({ hasText: /^Requested by you/ })).toHaveCount(1);
  await expectAccessible(page);
  await screenshot(page, "06-appointment");

  // On a phone: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await expectAccessible(page);
  await screenshot(page, "06-appointment-phone");
  await page.setViewportSize({ width: 1280, height: 720 });

  // "My appointments" lists it as coming up, waiting for the practice.
  await page.getByRole("navigation").getByRole("link", { name: "My appointments" }).click();
  const coming = page
    .getByRole("list", { name: "Coming up" })
    .getByRole("listitem")
    .filter({
      has: page.locator(`a[href="${appointmentPath}"]`),
    });
  await expect(coming).toContainText("Requested, waiting for the practice");
  await expect(coming).toContainText("Dr. Mira Haddad · Consultation");
  await expect(page.getByRole("heading", { level: 2, name: "Past" })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, "09-my-appointments");
  await expectFitsPhone(page);
  await coming.getByRole("link", { name: /^Details/ }).click();
  await expect(page).toHaveURL(new RegExp(`${appointmentPath}$`));

  // A reload is a deep link: the gateway serves the app, the session survives in this tab.
  await page.reload();
  await expect(page.getByTestId("appointment-status")).toHaveText("Requested, waiting for the practice");

  await page.getByRole("button", { name: "Cancel the appointment" }).click();
  await expect(page.getByLabel("Reason for cancelling")).toHaveAttribute("aria-invalid", "true");
  await page.getByLabel("Reason for cancelling").fill("I feel better");
  await page.getByRole("button", { name: "Cancel the appointment" }).click();
  await expect(page.getByTestId("appointment-status")).toHaveText("Cancelled");
  await expect(page.getByRole("listitem").filter({ hasText: /^Cancelled by you/ })).toContainText("I feel better");
  await screenshot(page, "07-cancelled");

  // RP-initiated logout: to identity's end-session endpoint, and back to the app's home page.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await expect(page.getByRole("main").getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  expect(await storedUser(page)).toBeNull();
  // The identity session ended too: signing in again asks for the password.
  await page.getByRole("main").getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByLabel("Password")).toBeVisible();
});

test("the access token is renewed with the refresh token before it expires", async ({ page }) => {
  await page.clock.install();
  await page.goto("/");
  await signIn(page);
  const first = await storedUser(page);
  expect(first?.refresh_token).toBeTruthy();

  // Access tokens live ten minutes; oidc-client-ts renews one a minute before it expires.
  await page.clock.fastForward("09:10");
  await expect.poll(async () => (await storedUser(page))?.access_token).not.toBe(first?.access_token);
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${PATIENT.name}` })).toBeVisible();
});

test("a problem from the server is shown with its title and detail", async ({ page, consoleErrors }) => {
  consoleErrors.expect(/status of 404/);
  await page.goto("/");
  await signIn(page);
  await page.goto("/appointments/0192f000-0000-7000-8000-000000000000");
  await expect(page.getByRole("alert")).toContainText("Not Found");
  await expect(page.getByRole("alert")).toContainText("appointment 0192f000-0000-7000-8000-000000000000");
  await expect(page.getByRole("button", { name: "Try again" })).toBeVisible();
});
