// Playwright drives Debian's Chromium (never a downloaded browser) against the built window
// (`vite preview` of dist/), with the Tauri IPC replaced by tests/mock-ipc.ts: every screen and
// state, keyboard use and 200 % zoom. Screenshots go to $DAYPASS_ARTIFACTS (else test-results/).
import { defineConfig } from "@playwright/test";

const port = 4174;

export default defineConfig({
  testDir: "tests",
  workers: 1,
  timeout: 30_000,
  reporter: [["list"]],
  outputDir: process.env.DAYPASS_ARTIFACTS ? `${process.env.DAYPASS_ARTIFACTS}/results` : "test-results",
  webServer: {
    command: `npx vite preview --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 30_000,
  },
  use: {
    baseURL: `http://127.0.0.1:${port}/`,
    viewport: { width: 960, height: 720 },
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
      ],
    },
  },
});
