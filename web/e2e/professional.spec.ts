import * as OTPAuth from "otpauth";

import { expect, expectAccessible, screenshot, test } from "./support";

const DOCTOR = {
  email: "doctor@harbour.demo.kairos.test",
  password: "demo tulip harbour lantern",
  name: "Dr. Mira Haddad",
};

test("a professional signs in with a second factor and changes their working week", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("main").getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("E-mail address").fill(DOCTOR.email);
  await page.getByLabel("Password").fill(DOCTOR.password);
  await page.getByRole("button", { name: "Sign in" }).click();

  // A professional must have a second factor: the first sign-in sets up an authenticator app, whose
  // codes (RFC 6238) this test computes from the key the page shows in text.
  await expect(page).toHaveURL(/\/mfa\/enrol/);
  const secret = (await page.locator(".secret code").innerText()).replace(/\s+/g, "");
  const authenticator = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
  await page.locator("#code").fill(authenticator.generate());
  await page.locator("#code").press("Enter");
  await page.locator("a.button").click(); // on, past the recovery codes

  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${DOCTOR.name}` })).toBeVisible();
  await expect(page.getByRole("list", { name: "Roles" })).toHaveText("Professional");
  await page.getByRole("navigation").getByRole("link", { name: "Availability" }).click();

  await expect(page.getByRole("heading", { level: 1, name: "Availability" })).toBeVisible();
  await page.getByLabel("Whose availability").selectOption({ label: DOCTOR.name });
  const thursday = page.getByRole("group", { name: "Working hours on Thursday" });
  await expect(thursday.getByLabel("From")).toHaveCount(2); // the demo week: mornings and afternoons
  await expectAccessible(page);
  await screenshot(page, "08-availability");

  // Thursday afternoons off, and a week of holiday.
  await thursday.getByRole("button", { name: /^Remove Working hours on Thursday 14:00/ }).click();
  await page.getByRole("button", { name: "Add days off" }).click();
  await page.getByLabel("First day").fill("2027-08-02");
  await page.getByLabel("Last day").fill("2027-08-06");
  await page.getByRole("button", { name: "Save the availability" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The availability is saved." })).toBeVisible();

  // Read back from the service.
  await page.reload();
  await expect(page.getByRole("group", { name: "Working hours on Thursday" }).getByLabel("From")).toHaveCount(1);
  await expect(page.getByRole("group", { name: "Working hours on Friday" }).getByLabel("From")).toHaveCount(2);
  await expect(page.getByLabel("First day")).toHaveValue("2027-08-02");
});
