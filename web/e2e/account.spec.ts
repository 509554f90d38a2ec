import * as OTPAuth from "otpauth";

import type { Page } from "@playwright/test";

import { PATIENT, expect, expectAccessible, expectFitsPhone, screenshot, signIn, test } from "./support";

// Not the patient of the other flows: a second factor set up here would be asked for at their next sign-in.
const CLIENT = { email: "client@demo.kairos.test", password: "demo tulip harbour lantern", name: "Chris Okafor" };

test("a patient edits their profile, agrees to a purpose and sees where they are signed in", async ({ page }) => {
  await page.goto("/");
  await signIn(page, PATIENT);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();

  // The profile, from identity's /me/profile with the web app's own access token.
  const profile = page.getByRole("region", { name: "Profile" });
  await expect(profile.getByLabel("Name shown to others")).toHaveValue(PATIENT.name);
  const phone = `+3361${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  await profile.getByLabel("Mobile phone").fill(phone);
  await profile.getByLabel("Time zone").selectOption("Europe/Brussels");
  await profile.getByRole("button", { name: "Save" }).click();
  await expect(profile.getByText("Saved.")).toBeVisible();

  // A consent, granted at the purpose's current version.
  const news = page.getByTestId("consent-product_news");
  await news.getByRole("button", { name: /^Agree to:/ }).click();
  await expect(news).toContainText("Agreed on");
  await expect(news.getByRole("button", { name: /^Withdraw consent to:/ })).toBeVisible();

  // This browser's session is listed, and marked as this device.
  const sessions = page.getByRole("region", { name: "Where you are signed in" });
  await expect(sessions.getByRole("listitem").filter({ hasText: "This device" })).toHaveCount(1);

  await expectAccessible(page);
  await screenshot(page, "20-account");
  await expectFitsPhone(page);

  // Read back from the service after a reload: saved, not just shown.
  await page.reload();
  await expect(page.getByRole("region", { name: "Profile" }).getByLabel("Mobile phone")).toHaveValue(phone);
  await expect(page.getByRole("region", { name: "Profile" }).getByLabel("Time zone")).toHaveValue("Europe/Brussels");
  await expect(page.getByTestId("consent-product_news")).toContainText("Agreed on");

  // In French, the same page.
  await page.getByRole("banner").getByLabel("Language").selectOption("fr");
  await expect(page.getByRole("heading", { level: 1, name: "Votre compte" })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, "21-account-fr");
  await page.getByRole("banner").getByLabel("Langue").selectOption("en");

  // Put the consent back as it was, so that the flow can run again on the same data.
  await page
    .getByTestId("consent-product_news")
    .getByRole("button", { name: /^Withdraw consent to:/ })
    .click();
  await expect(page.getByTestId("consent-product_news")).toContainText("Not agreed");
});

/** As support's signIn, but the sign-in page may also offer "Sign in with a passkey": the exact button. */
async function signInExactly(page: Page, account: typeof CLIENT) {
  await page.getByRole("main").getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("E-mail address", { exact: true }).fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.name}` })).toBeVisible();
}

test("a person sets up an authenticator app from the account page, makes new recovery codes and manages passkeys", async ({
  page,
}) => {
  await page.goto("/");
  await signInExactly(page, CLIENT);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
  const security = page.getByRole("region", { name: "Second factor" });
  await expect(security.getByTestId("second-factors")).toContainText("Not set up");

  // Identity's own enrolment page (the key never passes through the web app), and back to the account page.
  await security.getByRole("link", { name: "Set up an authenticator app" }).click();
  await expect(page).toHaveURL(/\/api\/v1\/identity\/mfa\/enrol\?next=%2Faccount/);
  const secret = (await page.locator(".secret code").innerText()).replace(/\s+/g, "");
  const authenticator = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
  await page.locator("#code").fill(authenticator.generate());
  await page.locator("#code").press("Enter");
  const written = await page.locator("li code").allInnerTexts();
  expect(written).toHaveLength(10);
  await page.locator("a.button").click();
  await expect(page).toHaveURL(/\/account\?mfa=enrolled$/);
  await expect(security.getByText("Your authenticator app is set up.")).toBeVisible();
  await expect(security.getByTestId("second-factors")).toContainText("Recovery codes left10");

  // New recovery codes, proven with one written down at enrolment (a TOTP code is good once per 30 s).
  await security.getByLabel("A code from your authenticator app, or an unused recovery code").fill(written[0] ?? "");
  await security.getByRole("button", { name: "Make new recovery codes" }).click();
  const renewed = security.getByRole("list", { name: "Your new recovery codes" }).getByRole("listitem");
  await expect(renewed).toHaveCount(10);
  expect(await renewed.allInnerTexts()).not.toContain(written[1]);

  // No other application is allowed yet.
  await expect(page.getByRole("region", { name: "Other applications" })).toContainText(
    "You have not allowed any other application.",
  );
  await expectAccessible(page);
  await screenshot(page, "50-account-security");
  await expectFitsPhone(page);

  // Passkeys need a host name (WebAuthn refuses an IP address as the relying party): Kairos's default issuer
  // and the URL `make run` prints are on localhost, and so is this test.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  const passkeys = page.getByRole("region", { name: "Passkeys" });
  await expect(passkeys.getByText("No passkeys yet.")).toBeVisible();
  await passkeys.getByLabel("Name of the new passkey").fill("Test laptop");
  await passkeys.getByRole("button", { name: "Add a passkey" }).click();
  await expect(passkeys.getByText('Passkey "Test laptop" added.')).toBeVisible();
  await expect(passkeys.getByTestId("passkey")).toHaveCount(1);
  await expect(security.getByTestId("second-factors")).toContainText("Passkeys1");

  await passkeys.getByRole("button", { name: "Rename Test laptop" }).click();
  await passkeys.getByLabel("New name for Test laptop").fill("Work laptop");
  await passkeys.getByRole("button", { name: "Save" }).click();
  await expect(passkeys.getByText('Renamed to "Work laptop".')).toBeVisible();
  await page.reload();
  await expect(passkeys.getByTestId("passkey")).toContainText("Work laptop");
  await expectAccessible(page);
  await screenshot(page, "51-account-passkeys");

  await passkeys.getByRole("button", { name: "Remove Work laptop" }).click();
  await expect(passkeys.getByText("No passkeys yet.")).toBeVisible();
});
