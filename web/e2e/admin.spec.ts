import type { Page } from "@playwright/test";
import * as OTPAuth from "otpauth";

import { expect, expectAccessible, expectFitsPhone, screenshot, test } from "./support";

const ADMIN = { email: "admin@harbour.demo.kairos.test", name: "Ada Admin" };
const PASSWORD = "demo tulip harbour lantern";
const LAWYER = { email: "lawyer@lindqvist.demo.kairos.test", name: "Erik Lindqvist" };
const ASSISTANT = { email: "assistant@lindqvist.demo.kairos.test", name: "Priya Rao" };

/** First sign-in of an account whose role needs a second factor: set up the authenticator app on the way. */
async function signInEnrolling(page: Page, account: { email: string; name: string }) {
  await page.goto("/");
  await page.getByRole("main").getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("E-mail address", { exact: true }).fill(account.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/mfa\/enrol/);
  const secret = (await page.locator(".secret code").innerText()).replace(/\s+/g, "");
  const authenticator = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
  await page.locator("#code").fill(authenticator.generate());
  await page.locator("#code").press("Enter");
  await page.locator("a.button").click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.name}` })).toBeVisible();
}

test("a domain admin adds a question to a domain's request form, previews it, saves it and reads it back", async ({
  page,
}) => {
  // A domain admin must have a second factor: the first sign-in sets up an authenticator app (RFC 6238
  // codes computed from the key the page shows in text), as for the professional.
  await signInEnrolling(page, ADMIN);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Domains" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Domains" })).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, "30-admin-domains");
  await expectFitsPhone(page);

  // Harbour's own domain (a domain admin changes only one no other organisation books under). The
  // question is optional and taken out again at the end: the patient flows book under this domain.
  await page.getByRole("link", { name: "Edit Medical practice" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Domain: Medical practice" })).toBeVisible();
  const title = `Case number ${Date.now()}`;
  await page.getByRole("button", { name: "Add a question" }).click();
  // The new question is the last; its group's name follows its title, so it is found by its place.
  const question = page.locator("fieldset.field-editor").last();
  await expect(question).toHaveAccessibleName(/^Question \d+: question_\d+$/);
  await question.getByLabel("Question", { exact: true }).fill(title);
  const key = `case_number_${Date.now()}`;
  await question.getByLabel("Key", { exact: true }).fill(key);
  await question.getByLabel("Kind of answer").selectOption("text");
  await question.getByLabel("Maximum length").fill("40");

  const preview = page.getByTestId("form-preview");
  await expect(preview.getByLabel(title)).toBeVisible();
  await preview.getByLabel(title).fill("2026-CV-0042");
  await expectAccessible(page);
  await screenshot(page, "31-admin-form-preview");
  await expectFitsPhone(page);

  // An auto-approval rule no request can meet (its answer is asked by no question) and a longer hold: saved,
  // read back, then taken out again with the question.
  const approval = page.getByRole("region", { name: "Automatic approval" });
  await approval.getByRole("button", { name: "Add a rule" }).click();
  const rule = approval.getByTestId("auto-approval-rule").last();
  await rule.getByLabel("Rule name").fill("e2e-never");
  await rule.getByLabel("At least this many hours ahead").fill("48");
  await rule.getByLabel("Answers that must match (JSON)").fill("{not json");
  await expect(rule.getByText("Write a JSON object", { exact: false })).toBeVisible();
  await rule.getByLabel("Answers that must match (JSON)").fill('{"e2e_only": true}');
  const holds = page.getByRole("region", { name: "Holds and waitlist" });
  const holdBefore = await holds.getByLabel("A held slot is kept for (minutes)").inputValue();
  await holds.getByLabel("A held slot is kept for (minutes)").fill("7");
  const notifications = page.getByRole("region", { name: "Notifications" });
  await expect(notifications.getByTestId("notification-rule").first()).toBeVisible();
  await expectAccessible(page);
  await screenshot(page, "54-admin-workflow");
  await expectFitsPhone(page);

  await page.getByRole("button", { name: "Save the domain" }).click();
  await expect(page.getByText(/^Saved as version \d+\.$/)).toBeVisible();

  await page.reload();
  const savedRule = page.getByRole("group", { name: /: e2e-never$/ });
  await expect(savedRule.getByLabel("At least this many hours ahead")).toHaveValue("48");
  await expect(savedRule.getByLabel("Answers that must match (JSON)")).toHaveValue('{"e2e_only":true}');
  await expect(page.getByLabel("A held slot is kept for (minutes)")).toHaveValue("7");
  await savedRule.getByRole("button", { name: "Remove rule e2e-never" }).click();
  await page.getByLabel("A held slot is kept for (minutes)").fill(holdBefore);
  await expect(page.getByRole("heading", { level: 1, name: "Domain: Medical practice" })).toBeVisible();
  await expect(page.getByTestId("form-preview").getByLabel(title)).toBeVisible();
  const saved = page.getByRole("group", { name: new RegExp(`: ${title}$`) });
  await expect(saved.getByLabel("Key", { exact: true })).toHaveValue(key);
  await expect(saved.getByLabel("Maximum length")).toHaveValue("40");
  await screenshot(page, "32-admin-saved");

  await saved.getByRole("button", { name: `Remove ${title}` }).click();
  await expect(page.getByTestId("form-preview").getByLabel(title)).toHaveCount(0);
  await page.getByRole("button", { name: "Save the domain" }).click();
  await expect(page.getByText(/^Saved as version \d+\.$/)).toBeVisible();
});

test("a professional submits their credentials again and their organisation's staff verifies them", async ({
  page,
  browser,
}) => {
  // Lindqvist & Rao's lawyer (verified by the demo data) renews: the same credentials, submitted again. A
  // renewal keeps them listed until decided; the decision here is to verify, so the directory keeps them.
  await signInEnrolling(page, LAWYER);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Account", exact: true }).click();
  const professional = page.getByRole("region", { name: "Professional profile" });
  await expect(professional.getByLabel("Licence number")).toHaveValue("SRA 612345");
  await professional.getByRole("button", { name: "Submit for verification" }).click();
  await expect(professional.getByTestId("professional-status")).toHaveText("Submitted, waiting for a decision");

  // The firm's assistant (staff: professionals:verify) in a browser of their own.
  const staff = await browser.newContext();
  const verifier = await staff.newPage();
  await signInEnrolling(verifier, ASSISTANT);
  await verifier.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Verification" }).click();
  await expect(verifier.getByRole("heading", { level: 1, name: "Professional verification" })).toBeVisible();
  const submission = verifier.getByRole("article", { name: LAWYER.name });
  await expect(submission).toContainText("SRA 612345");
  await expect(submission).toContainText("Solicitors Regulation Authority");
  await expect(submission).toContainText("No documents attached.");
  await expectAccessible(verifier);
  await screenshot(verifier, "52-verification-queue");
  await expectFitsPhone(verifier);

  // Rejecting needs a reason: the button waits for one.
  await submission.getByLabel("Reject").check();
  await expect(submission.getByRole("button", { name: "Reject the submission" })).toBeDisabled();
  await submission.getByLabel("Verify").check();
  const until = `${new Date().getFullYear() + 2}-06-30`;
  await submission.getByLabel("Valid until").fill(until);
  await submission.getByRole("button", { name: "Verify the professional" }).click();
  await expect(verifier.getByText(/^Erik Lindqvist is verified until .*2\d{3}\.$/)).toBeVisible();
  await expect(verifier.getByText("No submission is waiting for a decision.")).toBeVisible();
  await screenshot(verifier, "53-verification-decided");
  await staff.close();

  // The professional sees the decision.
  await page.reload();
  await expect(page.getByTestId("professional-status")).toHaveText("Verified");
  await expect(page.getByRole("region", { name: "Professional profile" })).toContainText(
    "You are listed in the directory.",
  );
});
