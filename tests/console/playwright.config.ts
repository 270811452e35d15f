// Playwright drives Debian's Chromium (never a downloaded browser) against the broker that
// tests/tests/it/console.rs started; that test passes the broker's address and pinned key in the
// environment and runs `npx playwright test` here.
import { defineConfig } from "@playwright/test";

const spki = process.env.DAYPASS_BROKER_SPKI ?? "";

export default defineConfig({
  testDir: ".",
  workers: 1,
  timeout: 120_000,
  reporter: [["list"]],
  outputDir: process.env.DAYPASS_ARTIFACTS ? `${process.env.DAYPASS_ARTIFACTS}/results` : "test-results",
  use: {
    baseURL: process.env.DAYPASS_BROKER_URL,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Trust the broker's self-signed certificate by its key only (a secure context for WebAuthn).
        `--ignore-certificate-errors-spki-list=${spki}`,
      ],
    },
  },
});
