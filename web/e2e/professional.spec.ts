import type { Browser, Page } from "@playwright/test";
import * as OTPAuth from "otpauth";

import { PATIENT, expect, expectAccessible, expectFitsPhone, screenshot, signIn, test } from "./support";

const DOCTOR = {
  email: "doctor@harbour.demo.kairos.test",
  password: "demo tulip harbour lantern",
  name: "Dr. Mira Haddad",
};

const PATIENT_NAME = "Pat Jensen"; // the demo patient's name at identity

/** The patient, in a browser context of their own (as on their own computer), failing on console errors. */
async function patientPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({
    baseURL: test.info().project.use.baseURL,
    locale: "en-GB",
    timezoneId: "Europe/Paris",
    bypassCSP: true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`${page.url()}: ${error.message}`));
  return { page, errors };
}

/** A request to Dr. Haddad, `weeks` weeks ahead at a random free time; the appointment page's path. */
async function requestAppointment(page: Page, weeks: number): Promise<string> {
  await page.goto("/professionals");
  await page.getByRole("searchbox", { name: "Name, specialty or place" }).fill("haddad");
  await page.getByRole("link", { name: "See free times — Dr. Mira Haddad" }).click();
  await page.getByLabel("Type of appointment").selectOption({ label: "Consultation (20 minutes)" });
  const times = page.getByRole("group", { name: "Free times" });
  for (let week = 0; week < weeks; week += 1) await times.getByRole("button", { name: "Next week" }).click();
  await expect(times.getByRole("radio").first()).toBeVisible();
  const count = await times.getByRole("radio").count();
  await times
    .getByRole("radio")
    .nth(Math.floor(Math.random() * count))
    .check();
  await page.getByLabel(/Reason for the visit/).fill("Knee pain after running");
  await page.getByLabel("Message to the practice").fill("Any afternoon is fine.");
  await page.getByRole("button", { name: "Send the request" }).click();
  await expect(page).toHaveURL(/\/appointments\/[0-9a-f-]{36}$/);
  return new URL(page.url()).pathname;
}

test("a professional signs in with a second factor, approves a patient's request and changes their week", async ({
  page,
  browser,
}) => {
  test.slow(); // two people's sessions, one after the other

  // The patient asks for an appointment and keeps its page open.
  const patient = await patientPage(browser);
  await patient.page.goto("/");
  await signIn(patient.page, PATIENT);
  const appointmentPath = await requestAppointment(patient.page, 3);
  await expect(patient.page.getByTestId("appointment-status")).toHaveText("Requested, waiting for the practice");

  await page.goto("/");
  await page.getByRole("main").getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("E-mail address", { exact: true }).fill(DOCTOR.email);
  await page.getByLabel("Password").fill(DOCTOR.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();

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

  // The inbox: the patient's request, with their answers; approved.
  await page.getByRole("navigation").getByRole("link", { name: "Requests" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Requests" })).toBeVisible();
  const request = page
    .getByRole("list", { name: "Requests" })
    .locator(":scope > li")
    .filter({ has: page.locator(`a[href="${appointmentPath}"]`) });
  await expect(request).toContainText("Any afternoon is fine.");
  // Who the patient is (their name, from identity's events) and their answers, without asking for more.
  await expect(request).toContainText(PATIENT_NAME);
  await expect(request).toContainText("Knee pain after running");
  await request.getByRole("button", { name: "Decision history" }).click();
  await expect(request.getByRole("list", { name: "History" })).toContainText("Requested by the patient");
  await expectAccessible(page);
  await screenshot(page, "10-inbox");
  await expectFitsPhone(page);
  const startsAt = await request.locator("h2 time").getAttribute("datetime");
  await request.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByRole("status").filter({ hasText: /^Approved: the request of / })).toBeVisible();
  await expect(page.locator(`a[href="${appointmentPath}"]`)).toHaveCount(0);

  // The agenda of that week shows it, a link to the appointment.
  const day = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Paris" }).format(new Date(startsAt ?? ""));
  await page.goto(`/agenda?date=${day}`);
  await expect(page.getByRole("heading", { level: 1, name: "Agenda" })).toBeVisible();
  const booked = page.locator(`.agenda a[href="${appointmentPath}"]`);
  await expect(booked).toContainText("Consultation, Dr. Mira Haddad");
  const bookedItem = page.locator(".agenda-item").filter({ has: page.locator(`a[href="${appointmentPath}"]`) });
  await expect(bookedItem).toContainText(PATIENT_NAME);
  await expectAccessible(page);
  await screenshot(page, "11-agenda");
  await expectFitsPhone(page);
  await page.getByRole("button", { name: "Day", exact: true }).click();
  await page.getByRole("button", { name: "Next day" }).click();
  await page.getByRole("button", { name: "Previous day" }).click();
  await expect(booked).toBeVisible();

  // The patient's page changed by itself (the resource's live stream), no reload.
  await expect(patient.page.getByTestId("appointment-status")).toHaveText("Booked");
  await expect(patient.page.getByRole("listitem").filter({ hasText: /^Approved by the practice/ })).toHaveCount(1);
  await expectAccessible(patient.page);
  await screenshot(patient.page, "12-patient-sees-booked");
  expect(patient.errors, "console errors of the patient's page").toEqual([]);
  await patient.page.context().close();

  // The working week.
  await page.getByRole("navigation").getByRole("link", { name: "Availability" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Availability" })).toBeVisible();
  await page.getByLabel("Whose availability").selectOption({ label: DOCTOR.name });
  const thursday = page.getByRole("group", { name: "Working hours on Thursday" });
  await expect(thursday.getByLabel("From")).toHaveCount(2); // the demo week: mornings and afternoons
  await expectAccessible(page);
  await screenshot(page, "08-availability");
  await expectFitsPhone(page);

  // Thursday afternoons off, and a week of holiday.
  await thursday.getByRole("button", { name: /^Remove Working hours on Thursday 14:00/ }).click();
  await page.getByRole("button", { name: "Add days off" }).click();
  await page.getByLabel("First day", { exact: true }).fill("2027-08-02");
  await page.getByLabel("Last day").fill("2027-08-06");
  await page.getByRole("button", { name: "Save the availability" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The availability is saved." })).toBeVisible();

  // Read back from the service.
  await page.reload();
  await expect(page.getByRole("group", { name: "Working hours on Thursday" }).getByLabel("From")).toHaveCount(1);
  await expect(page.getByRole("group", { name: "Working hours on Friday" }).getByLabel("From")).toHaveCount(2);
  await expect(page.getByLabel("First day", { exact: true })).toHaveValue("2027-08-02");

  // The appointment's day closed in bulk: the preview names the booked appointment in the way; applied, it is
  // listed among the recent changes, and undone from there.
  const bulk = page.getByRole("region", { name: "Change several at once" });
  await bulk.getByRole("button", { name: "Change several at once" }).click();
  await expect(bulk.getByRole("list", { name: "Recent changes" }).or(bulk.getByText("No change yet."))).toBeVisible();
  await bulk.getByRole("checkbox", { name: DOCTOR.name }).check();
  await bulk.getByLabel("First closed day").fill(day);
  await bulk.getByLabel("Last closed day").fill(day);
  await bulk.getByRole("button", { name: "Preview the change" }).click();
  const preview = page.getByRole("region", { name: "What it changes" });
  await expect(preview.locator(`a[href="${appointmentPath}"]`)).toContainText("Booked");
  await expect(preview).toContainText("→ 0 minutes");
  await expectAccessible(page);
  await screenshot(page, "40-bulk-preview");
  await bulk.getByRole("button", { name: "Apply the change" }).click();
  await expect(bulk.getByRole("status").filter({ hasText: "The change is applied." })).toBeVisible();
  const recent = bulk.getByRole("list", { name: "Recent changes" }).locator(":scope > li").first();
  await expect(recent).toContainText(`Closed ${day} – ${day}`);
  await expect(recent).toContainText(DOCTOR.name);
  await screenshot(page, "41-bulk-applied");
  await recent.getByRole("button", { name: `Undo: Closed ${day} – ${day}` }).click();
  await expect(bulk.getByRole("status").filter({ hasText: "The change is undone." })).toBeVisible();
  await expect(recent).toContainText("Undone");
  await expectAccessible(page);
  await screenshot(page, "42-bulk-undone");
});
