import { expect, test as base, type Page } from "@playwright/test";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const ARTIFACTS = process.env.KAIROS_ARTIFACTS ?? fileURLToPath(new URL("../../test-artifacts/web", import.meta.url));

export const PATIENT = {
  email: "patient@demo.kairos.test",
  password: "demo tulip harbour lantern",
  name: "Pat Jensen",
};

interface ConsoleErrors {
  /** A console error the test provokes on purpose (Chromium logs every 4xx response it loads). */
  expect: (pattern: RegExp) => void;
}

/** Every test fails on a console error or an uncaught exception in the page, unless it expected it. */
export const test = base.extend<{ consoleErrors: ConsoleErrors }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      const expected: RegExp[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`${page.url()}: ${message.text()}`);
      });
      page.on("pageerror", (error) => errors.push(`${page.url()}: ${error.message}`));
      await use({ expect: (pattern) => expected.push(pattern) });
      const unexpected = errors.filter((error) => !expected.some((pattern) => pattern.test(error)));
      expect(unexpected, "console errors").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** axe-core's WCAG 2.x A/AA rules on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page) {
  await page.addScriptTag({ path: AXE });
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run: (context: Document, options: object) => Promise<AxeResults> } }).axe.run(
      document,
      { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] } },
    ),
  );
  const blocking = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
    );
  expect(blocking, `accessibility of ${page.url()}`).toEqual([]);
}

/** On a phone (390 × 844 CSS pixels): nothing wider than the screen, still accessible; then back to the desktop. */
export async function expectFitsPhone(page: Page) {
  const desktop = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const wider = await page.evaluate(() =>
    Array.from(document.querySelectorAll("body *"))
      .filter((element) => element.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
      .map((element) => `${element.tagName.toLowerCase()}.${element.className}`)
      .slice(0, 5),
  );
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, `width of ${page.url()} on a phone (wider: ${wider.join(", ")})`).toBeLessThanOrEqual(390);
  await expectAccessible(page);
  if (desktop) await page.setViewportSize(desktop);
}

interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

export async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

/** Through identity's own sign-in page, as a person would. */
export async function signIn(page: Page, account = PATIENT) {
  await page.getByRole("main").getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByLabel("E-mail address", { exact: true })).toBeVisible();
  await page.getByLabel("E-mail address", { exact: true }).fill(account.email);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.name}` })).toBeVisible();
}

/** The session oidc-client-ts keeps for this tab (sessionStorage), as the app sees it. */
export async function storedUser(page: Page): Promise<StoredUser | null> {
  return page.evaluate(() => {
    const key = Object.keys(sessionStorage).find((name) => name.startsWith("oidc.user:"));
    return key ? (JSON.parse(sessionStorage.getItem(key) ?? "null") as StoredUser | null) : null;
  });
}

interface StoredUser {
  access_token: string;
  refresh_token?: string;
}
