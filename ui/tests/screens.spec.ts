// Every screen and state of the window in Chromium, against a mocked IPC (tests/mock-ipc.ts).
// The real app against a real service is tests/tests/it/desktop.rs.
import { expect, type Page, test } from "@playwright/test";
import { active, entitlements, history, overview, posture, suspended } from "./fixtures";
import { calls, emit, installMock, reply, type Replies } from "./mock-ipc";

const signedIn: Replies = {
  passkey_methods: { ok: ["security_key", "browser"] },
  overview: { ok: overview({ state: "idle" }) },
  entitlements: { ok: entitlements },
  check_posture: { ok: posture },
  history: { ok: history },
};

async function open(page: Page, replies: Replies): Promise<void> {
  await installMock(page, replies);
  await page.goto("/");
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: test.info().outputPath(`${name}.png`), fullPage: true });
}

test("the service not running, then started: try again", async ({ page }) => {
  await open(page, {
    ...signedIn,
    overview: { error: { code: "service-unreachable", message: "cannot reach the Daypass tunnel service at /run/daypass/tunneld.sock: it is not running" } },
  });
  await expect(page.locator("[data-screen=problem]")).toContainText("it is not running");
  await expect(page.locator("[data-screen=problem]")).toContainText("Start it");
  await shot(page, "service-unreachable");
  await reply(page, "overview", { ok: overview({ state: "idle" }) });
  await page.getByRole("button", { name: "Try again" }).click();
  await expect(page.getByRole("heading", { name: "No access right now" })).toBeVisible();
});

test("a service talking to another broker than IT's configuration is refused", async ({ page }) => {
  await open(page, {
    ...signedIn,
    overview: { error: { code: "wrong-broker", message: "the Daypass tunnel service talks to another broker (https://evil) than /etc/daypass/config.toml names" } },
  });
  await expect(page.locator("[data-screen=problem][data-code=wrong-broker]")).toContainText("Contact IT");
  await shot(page, "wrong-broker");
});

test("first run: enroll with an invite through the browser", async ({ page }) => {
  await open(page, {
    ...signedIn,
    overview: { ok: overview({ state: "idle" }, null) },
    enroll: { ok: "ana", page: "https://broker.corp.example:8443/passkeys/ceremony?c=1", delayMs: 600 },
  });
  await expect(page.getByRole("heading", { name: "Welcome to Daypass" })).toBeVisible();
  await shot(page, "first-run");
  const form = page.locator("form[data-form=enroll]");
  await form.getByLabel("Invite code").fill("inv_demo");
  await form.getByLabel(/web browser/).check();
  await reply(page, "overview", { ok: overview({ state: "idle" }) });
  await reply(page, "enroll", { ok: "ana", page: "https://broker.corp.example:8443/passkeys/ceremony?c=1", delayMs: 600 });
  await form.getByRole("button", { name: "Enroll with my passkey" }).click();
  await expect(form.locator(".hint a")).toHaveText("https://broker.corp.example:8443/passkeys/ceremony?c=1");
  await expect(page.locator(".notice")).toContainText("this device is enrolled");
  await expect(page.getByRole("heading", { name: "No access right now" })).toBeVisible();
  expect(await calls(page, "enroll")).toEqual([{ invite: "inv_demo", method: "browser" }]);
});

test("an expired invite and a refused sign-in say what to do", async ({ page }) => {
  await open(page, {
    ...signedIn,
    overview: { ok: overview({ state: "idle" }, null) },
    enroll: { error: { code: "forbidden", message: "this invite expired: ask IT for a new one" } },
    sign_in: { error: { code: "authenticator", message: "no FIDO2 security key is plugged in: plug one in, or choose the browser" } },
  });
  const enroll = page.locator("form[data-form=enroll]");
  await enroll.getByLabel("Invite code").fill("inv_old");
  await enroll.getByRole("button", { name: "Enroll with my passkey" }).click();
  await expect(enroll.getByRole("alert")).toHaveText("this invite expired: ask IT for a new one");
  const signIn = page.locator("form[data-form=sign-in]");
  await signIn.getByLabel("User name").fill("ana");
  await signIn.getByRole("button", { name: "Sign in with my passkey" }).click();
  await expect(signIn.getByRole("alert")).toContainText("no FIDO2 security key is plugged in");
  expect(await calls(page, "sign_in")).toEqual([{ person: "ana", method: "security_key" }]);
  await shot(page, "sign-in-refused");
});

test("posture: each check, its evidence, how to fix it, what it blocks; check again; export", async ({ page }) => {
  await open(page, { ...signedIn, export_posture: { ok: "/home/ana/Downloads/daypass-posture-ana-laptop-20261124T180000.html" } });
  await page.getByRole("button", { name: "Device posture" }).click();
  const table = page.locator("[data-posture] table");
  await expect(table.locator("tr[data-outcome=fail]")).toContainText("not encrypted");
  await expect(table.locator("tr[data-outcome=fail]")).toContainText("Turn on full-disk encryption");
  await expect(table.locator("tr[data-outcome=unknown]")).toContainText("Unknown");
  await expect(table.locator("tr[data-outcome=pass]")).toContainText("Pass");
  await expect(page.locator(".blocking")).toHaveText("disk encryption keeps prod closed.");
  await expect(page.locator("[data-compliant=false]")).toBeVisible();
  await shot(page, "posture");
  await page.getByRole("button", { name: "Check again" }).click();
  await expect.poll(async () => (await calls(page, "check_posture")).length).toBe(2);
  await page.getByRole("button", { name: "Export report (HTML)" }).click();
  await expect(page.locator("[data-exported]")).toContainText("daypass-posture-ana-laptop-20261124T180000.html");
  expect(await calls(page, "export_posture")).toEqual([{ format: "html" }]);
});

test("request: entitlements, blocked resources, the ticket checked as typed, then pending and active", async ({ page }) => {
  const ticket = (verdict: string, message: string) => ({
    ok: { key: "x", verdict, message, summary: "Migrate staging", status: verdict === "closed" ? "Done" : "In Progress" },
  });
  await open(page, {
    ...signedIn,
    check_ticket: {
      byArg: "ticket",
      cases: {
        "OPS-404": ticket("unknown", "ticket OPS-404 does not exist: check the key"),
        "OPS-7": ticket("closed", "ticket OPS-7 is Done: access needs an open ticket"),
        "OPS-8": ticket("not_yours", "ticket OPS-8 is assigned to ben, not to you"),
      },
      otherwise: ticket("usable", "OPS-142 is open and yours to work on"),
    },
    request_access: { ok: { state: "pending", request: "r9" } },
  });
  await page.getByRole("button", { name: "Request access" }).first().click();
  await expect(page.getByRole("heading", { name: "Request access" })).toBeVisible();
  const prod = page.locator(".resource", { hasText: "prod" });
  await expect(prod.locator("[data-blocked]")).toContainText("disk encryption must pass");
  await expect(prod.getByRole("checkbox")).toBeDisabled();
  await expect(page.locator(".resource", { hasText: "db" })).toContainText("db:staging");
  await expect(page.locator(".resource", { hasText: "db" })).toContainText("up to 8 h");

  const field = page.getByLabel("Ticket");
  const status = page.locator("#ticket-status");
  for (const [key, says] of [
    ["OPS 1", "not a ticket key"],
    ["OPS-404", "does not exist"],
    ["OPS-7", "access needs an open ticket"],
    ["OPS-8", "not to you"],
    ["OPS-142", "open and yours"],
  ]) {
    await field.fill(key);
    await expect(status).toContainText(says);
  }
  await shot(page, "request-form");

  await page.getByLabel(/grafana/).check();
  await page.getByLabel(/^db/).check();
  const options = await page.getByLabel("For how long").locator("option").allTextContents();
  expect(options[options.length - 1]).toBe("1 h");
  await page.getByLabel("For how long").selectOption({ label: "30 min" });
  await page.getByRole("button", { name: "Request access", exact: true }).last().click();
  await expect(page.getByRole("alert")).toContainText("Say why");
  await page.getByLabel(/Why/).fill("run the migration");
  await reply(page, "overview", { ok: overview({ state: "pending", request: "r9" }) });
  await page.locator("form[data-form=request] button[type=submit]").click();
  await expect(page.getByRole("heading", { name: "Waiting for approval" })).toBeVisible();
  expect(await calls(page, "request_access")).toEqual([
    { form: { resources: ["db", "grafana"], ticket: "OPS-142", duration: "30m", reason: "run the migration" } },
  ]);
  await shot(page, "pending");

  // The approvers decide while the window is open: it changes by itself.
  await emit(page, "overview", overview(active(3 * 3600 + 125)));
  await expect(page.getByRole("heading", { name: "Access active" })).toBeVisible();
  await expect(page.locator("[data-ticket]")).toHaveText("OPS-142");
  await expect(page.locator("table")).toContainText("10.20.0.10/32");
  const first = await page.locator("[data-not-after]").textContent();
  await expect.poll(() => page.locator("[data-not-after]").textContent(), { timeout: 3000 }).not.toBe(first);
  expect(first).toMatch(/^3:0[12]:\d\d$/);
  await shot(page, "active");
});

test("active: the warning before expiry, the notice, expiry, and disconnect", async ({ page }) => {
  await open(page, { ...signedIn, overview: { ok: overview(active(700)) }, disconnect: { ok: { state: "closed", reason: "disconnected", detail: null } } });
  await expect(page.getByRole("heading", { name: "Access active" })).toBeVisible();
  const disconnect = page.getByRole("button", { name: "Disconnect now" });
  await disconnect.focus();
  await emit(page, "overview", overview(active(699)));
  await expect(disconnect).toBeFocused();
  await emit(page, "overview", overview(active(590, true)));
  await emit(page, "notice", "Access ends soon: Your access ends in 9 min. Save your work.");
  await expect(page.locator("main [role=alert]")).toContainText("ends soon");
  await expect(page.locator(".notice")).toContainText("ends in 9 min");
  await shot(page, "expiring");
  await emit(page, "overview", overview({ state: "closed", reason: "expired", detail: null }));
  await expect(page.getByRole("heading", { name: "Access ended" })).toBeVisible();
  await expect(page.locator("[data-state=closed-expired]")).toContainText("The tunnel is closed");
  await shot(page, "expired");

  await emit(page, "overview", overview(active(300)));
  await reply(page, "overview", { ok: overview({ state: "closed", reason: "disconnected", detail: null }) });
  await page.getByRole("button", { name: "Disconnect now" }).click();
  await expect(page.locator("[data-state=closed-disconnected]")).toBeVisible();
});

test("suspended: what failed, what to do, a way to check again, and the release", async ({ page }) => {
  await open(page, { ...signedIn, overview: { ok: overview(suspended(1800)) } });
  await expect(page.getByRole("heading", { name: "Access suspended" })).toBeVisible();
  await expect(page.locator("main [role=alert]")).toContainText("firewall (for the organisation's policy)");
  await expect(page.locator("[data-fix]")).toContainText("sudo ufw enable");
  await expect(page.locator("[data-not-after]")).toBeVisible();
  await shot(page, "suspended");
  await page.getByRole("button", { name: "Check posture again" }).click();
  await expect(page.locator("[data-screen=posture]")).toBeVisible();
  await emit(page, "overview", overview(active(1790)));
  await page.getByRole("button", { name: "Access", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Access active" })).toBeVisible();
  await expect(page.locator("[data-suspended]")).toHaveCount(0);
});

test("denied, with the approver's reason; revoked", async ({ page }) => {
  await open(page, { ...signedIn, overview: { ok: overview({ state: "closed", reason: "denied", detail: "use staging first" }) } });
  await expect(page.getByRole("heading", { name: "Request denied" })).toBeVisible();
  await expect(page.locator("[data-detail]")).toHaveText("use staging first");
  await shot(page, "denied");
  await emit(page, "overview", overview({ state: "closed", reason: "revoked", detail: "contract ended" }));
  await expect(page.locator("[data-state=closed-revoked]")).toContainText("contract ended");
});

test("history of this device's requests", async ({ page }) => {
  await open(page, signedIn);
  await page.getByRole("button", { name: "History" }).click();
  await expect(page.locator("tr[data-status=denied]")).toContainText("use staging first");
  await expect(page.locator("tr[data-status=granted]")).toContainText("OPS-142");
  await expect(page.locator("tr[data-status=granted]")).toContainText("2 h");
  await shot(page, "history");
});

test("the tray's quick action opens the request form; the service going away is shown", async ({ page }) => {
  await open(page, signedIn);
  await expect(page.getByRole("heading", { name: "No access right now" })).toBeVisible();
  await emit(page, "tray-action", "request");
  await expect(page.getByRole("heading", { name: "Request access" })).toBeFocused();
  await emit(page, "service-lost", { code: "service-unreachable", message: "the tunnel service closed the connection" });
  await expect(page.locator("[data-screen=problem]")).toContainText("closed the connection");
});

test("keyboard only: sign in, then ask for access without the mouse", async ({ page }) => {
  await open(page, {
    ...signedIn,
    overview: { ok: overview({ state: "idle" }, null) },
    sign_in: { ok: "ana" },
    check_ticket: { ok: { key: "OPS-142", verdict: "usable", message: "OPS-142 is open and yours to work on", summary: null, status: null } },
    request_access: { ok: active(1800) },
  });
  await page.locator("#person").focus();
  await page.keyboard.type("ana");
  await reply(page, "overview", { ok: overview({ state: "idle" }) });
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "No access right now" })).toBeVisible();
  // Tab to the navigation's "Request access" and press it.
  let found = false;
  for (let i = 0; i < 12 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(() => document.activeElement?.getAttribute("data-view") === "request");
  }
  expect(found).toBe(true);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Request access" })).toBeFocused();
  await expect(page.locator("#res-db")).toBeVisible();
  await page.keyboard.press("Tab");
  await expect(page.locator("#res-db")).toBeFocused();
  await page.keyboard.press("Space");
  // Past the disabled prod and to grafana, ticket, duration, reason, submit.
  await page.locator("#ticket").focus();
  await page.keyboard.type("OPS-142");
  await expect(page.locator("#ticket-status")).toContainText("open and yours");
  await page.keyboard.press("Tab");
  await expect(page.locator("#duration")).toBeFocused();
  await page.keyboard.press("Tab");
  await page.keyboard.type("migration");
  await reply(page, "overview", { ok: overview(active(1800)) });
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Access active" })).toBeVisible();
  expect((await calls(page, "request_access"))[0]).toMatchObject({ form: { resources: ["db"], ticket: "OPS-142", reason: "migration" } });
});

test("readable at 200 % zoom: nothing scrolls sideways, every screen", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 480, height: 360 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await open(page, { ...signedIn, overview: { ok: overview(active(3600)) } });
  for (const view of ["Access", "Request access", "Device posture", "History"]) {
    await page.locator(`nav button`, { hasText: new RegExp(`^${view}$`) }).click();
    await expect(page.locator("main h1")).toBeVisible();
    await page.waitForTimeout(200);
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(sideways, `${view} scrolls sideways`).toBeLessThanOrEqual(0);
    await shot(page, `zoom-200-${view.toLowerCase().replace(/ /g, "-")}`);
  }
  await context.close();
});
