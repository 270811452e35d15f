// Every role's main path through the broker's console in real Chromium (an access review answered
// from the keyboard among them), with passkeys from the DevTools virtual authenticator, and the
// refusals: approving one's own request, helpdesk opening the administration page, an expired session. Screenshots of each page go to DAYPASS_ARTIFACTS.
import { expect, test, type Page } from "@playwright/test";

const invites: Record<string, string> = JSON.parse(process.env.DAYPASS_INVITES ?? "{}");
const anaRequest = process.env.DAYPASS_ANA_REQUEST ?? "";
const abeRequest = process.env.DAYPASS_ABE_REQUEST ?? "";
const sessionSeconds = Number(process.env.DAYPASS_SESSION_TTL_SECONDS ?? "0");
const artifacts = process.env.DAYPASS_ARTIFACTS ?? "test-results";

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
}

// A platform authenticator that verifies the user, as a laptop's fingerprint reader would.
async function withPasskeys(page: Page) {
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
}

// Enrolls `person` from their invite on the page; they end up signed in on their home page.
async function enroll(page: Page, person: string) {
  await withPasskeys(page);
  await page.goto("/console/enroll");
  await page.getByLabel("Invite code").fill(invites[person]);
  await page.getByRole("button", { name: "Create my passkey" }).click();
  await expect(page.getByText("Signed in as")).toBeVisible();
}

test("an approver decides with a passkey and cannot approve their own request", async ({ page }) => {
  await enroll(page, "abe");
  await page.getByRole("link", { name: "Approvals" }).click();
  const theirs = page.locator(`article[data-request="${anaRequest}"]`);
  const own = page.locator(`article[data-request="${abeRequest}"]`);
  await expect(theirs).toContainText("asks for db2");
  await expect(own).toContainText("You cannot decide on this request");
  await expect(own.getByRole("button", { name: "Approve with passkey" })).toHaveCount(0);
  await shot(page, "approvals");
  await theirs.getByRole("button", { name: "Approve with passkey" }).click();
  await expect(page.getByRole("status")).toHaveText("Approved.");
  await expect(theirs).toHaveCount(0);
  await shot(page, "approvals-after");
});

test("helpdesk finds a person and their device, and cannot open the administration page", async ({ page }) => {
  await enroll(page, "hal");
  await page.getByRole("link", { name: "Helpdesk" }).click();
  await page.getByLabel("Find a person or device").fill("acme");
  await page.getByRole("button", { name: "Find" }).click();
  await expect(page.getByText("People matching")).toBeVisible();
  await shot(page, "helpdesk");
  await page.getByRole("link", { name: "ana-laptop" }).click();
  await expect(page.getByRole("heading", { name: "Device ana-laptop" })).toBeVisible();
  await shot(page, "helpdesk-device");
  await expect(page.getByRole("link", { name: "Administration" })).toHaveCount(0);
  const refused = await page.goto("/console/admin");
  expect(refused?.status()).toBe(403);
  await expect(page.getByText("The administration page is for admins.")).toBeVisible();
  await shot(page, "helpdesk-refused-admin");
});

test("an admin oversees access and people, adds a contractor, proposes an emergency stop; the audit and reports pages open", async ({ page }) => {
  await enroll(page, "lee");
  await page.getByRole("link", { name: "Administration" }).click();
  await expect(page.getByRole("heading", { name: "Who may request what" })).toBeVisible();
  await expect(page.getByRole("heading", { name: /Live access/ })).toBeVisible();
  await shot(page, "admin");
  await page.getByRole("button", { name: "Invite ana to enroll a passkey" }).click();
  await expect(page.getByRole("status")).toContainText("Invite for ana");
  // A new contractor and their invite in one step, after a passkey confirmation.
  await page.locator("#nc-id").fill("sam");
  await page.locator("#nc-name").fill("Sam Ortiz");
  await page.locator("#nc-email").fill("sam@initech.example");
  await page.locator("#nc-company").fill("Initech");
  await page.locator("#nc-end").fill("2099-03-31");
  await page.getByRole("button", { name: "Add and invite with passkey" }).click();
  await expect(page.getByRole("status")).toContainText("Added sam");
  await expect(page.getByRole("status")).toContainText("dpi_");
  // An emergency stop is proposed with a passkey; it waits for a second admin.
  await page.locator("#stop-reason").fill("drill");
  await page.getByRole("button", { name: "Propose emergency stop with passkey" }).click();
  await expect(page.getByRole("status")).toContainText("a second admin must confirm");
  await expect(page.getByText("it lapses if nobody does within 15 minutes")).toBeVisible();
  await shot(page, "admin-emergency-proposed");
  await page.getByRole("link", { name: "Audit" }).click();
  await expect(page.getByText("The audit chain verifies")).toBeVisible();
  await shot(page, "audit");
  await page.getByRole("link", { name: "Reports" }).click();
  await expect(page.getByRole("heading", { name: "The last 12 weeks" })).toBeVisible();
  await shot(page, "reports");
});

test("an approver goes through an access review from the keyboard", async ({ page }) => {
  await enroll(page, "rae");
  await page.getByRole("link", { name: "Reviews" }).click();
  await expect(page.getByRole("heading", { name: /Zedcorp review — 3 waiting/ })).toBeVisible();
  const rows = page.locator("#desk tr[data-item]");
  await expect(rows).toHaveCount(3);
  await shot(page, "reviews");
  // An answer needs a reason: the page says so and takes the person to the field.
  await rows.first().focus();
  await page.keyboard.press("y");
  await expect(page.getByRole("status")).toContainText("Type the reason");
  await expect(page.locator("#review-reason")).toBeFocused();
  await page.keyboard.type("project ended");
  await page.keyboard.press("Escape");
  await expect(rows.first()).toBeFocused();
  // n removes the focused item; the next one takes the focus.
  await page.keyboard.press("n");
  await expect(page.getByRole("status")).toContainText("Removed");
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toBeFocused();
  // a selects the rest, b keeps them after a passkey confirmation.
  await page.locator("#review-reason").fill("still on the project");
  await page.keyboard.press("Escape");
  await page.keyboard.press("a");
  await expect(page.locator("#desk input.pick:checked")).toHaveCount(2);
  await page.keyboard.press("b");
  await expect(page.getByRole("status")).toHaveText("Kept 2 items.");
  await expect(page.getByText("Nothing waits for your review")).toBeVisible();
  await shot(page, "reviews-done");
});

test("an expired session sends the person back to sign in", async ({ page }) => {
  await enroll(page, "kim");
  await shot(page, "home");
  await page.waitForTimeout((sessionSeconds + 1) * 1000);
  await page.goto("/console");
  await expect(page).toHaveURL(/\/console\/sign-in$/);
  await expect(page.getByRole("heading", { name: "Sign in to Daypass" })).toBeVisible();
  await shot(page, "expired");
});
