// Browser tests against a running Kairos: `make test` starts the all-in-one shape for them
// (tests/e2e/test_web_app.py); by hand, `make run` and then `npm run test:e2e`.
import { defineConfig } from "@playwright/test";
import { fileURLToPath } from "node:url";

const artifacts = process.env.KAIROS_ARTIFACTS ?? fileURLToPath(new URL("../test-artifacts/web", import.meta.url));

export default defineConfig({
  testDir: "e2e",
  outputDir: `${artifacts}/results`,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1, // one backend, one demo patient: the flows run one after the other
  reporter: [["list"]],
  use: {
    baseURL: process.env.KAIROS_WEB_URL ?? "http://localhost:8000",
    locale: "en-GB",
    timezoneId: "Europe/Paris",
    bypassCSP: true, // to inject axe-core into identity's sign-in page, whose CSP allows no script
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      // Debian's Chromium: Playwright downloads no browser here.
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox", // as root
        "--headless",
        "--disable-gpu",
        "--disable-background-networking", // no calls to Google's services on a closed network
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
});
