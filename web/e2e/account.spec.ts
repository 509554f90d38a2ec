import { PATIENT, expect, expectAccessible, screenshot, signIn, test } from "./support";

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
