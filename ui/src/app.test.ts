import { beforeEach, describe, expect, it, vi } from "vitest";
import { App, screenKey } from "./app";
import type { Overview, Posture } from "./bindings";
import type { Ipc } from "./ipc";
import { blockedBy, ticketLine } from "./screens/request";

const overview = (session: Overview["session"], signed_in: string | null = "ana"): Overview => ({
  device: "ana-laptop",
  signed_in,
  broker: { url: "https://broker.corp", managed: true, source: "/etc/daypass/config.toml" },
  session,
});

const active = (seconds_left: number, expiring = false): Overview["session"] => ({
  state: "active",
  access: {
    grant: "g1",
    ticket: "OPS-1",
    resources: [{ name: "db", address: "10.20.0.10/32", ports: "tcp 5432" }],
    not_after: new Date(Date.now() + seconds_left * 1000).toISOString(),
    seconds_left,
    expiring,
    suspended: null,
  },
});

function fakeIpc(first: Overview): Ipc {
  const rejected = () => Promise.reject({ code: "x", message: "not in this test" });
  return {
    overview: vi.fn(async () => first),
    passkeyMethods: vi.fn(async () => ["security_key" as const]),
    enroll: vi.fn(rejected),
    signIn: vi.fn(rejected),
    signOut: vi.fn(async () => null),
    checkPosture: vi.fn(rejected),
    entitlements: vi.fn(async () => []),
    checkTicket: vi.fn(rejected),
    requestAccess: vi.fn(rejected),
    disconnect: vi.fn(rejected),
    history: vi.fn(async () => []),
    exportPosture: vi.fn(rejected),
  };
}

describe("the window", () => {
  let root: { header: HTMLElement; main: HTMLElement; notices: HTMLElement };
  beforeEach(() => {
    document.body.innerHTML = "";
    root = { header: document.createElement("header"), main: document.createElement("main"), notices: document.createElement("div") };
    document.body.append(root.header, root.main, root.notices);
  });

  it("shows a held access with what to fix, and the countdown again once released", async () => {
    const app = new App(fakeIpc(overview(active(600))), root);
    await app.refresh();
    const held = active(590);
    if (held.state === "active") {
      held.access.suspended = {
        detail: "firewall (for the organisation's policy)",
        fix: "Turn on the firewall: sudo ufw enable (Ubuntu).",
        since: new Date().toISOString(),
      };
    }
    app.accept(overview(held));
    expect(root.main.querySelector("[data-state]")?.getAttribute("data-state")).toBe("suspended");
    expect(root.main.querySelector("h1")?.textContent).toBe("Access suspended");
    expect(root.main.querySelector("[data-fix]")?.textContent).toMatch(/sudo ufw enable/);
    app.accept(overview(active(580)));
    expect(root.main.querySelector("[data-state]")?.getAttribute("data-state")).toBe("active");
    expect(root.main.querySelector("[data-suspended]")).toBeNull();
  });

  it("re-renders for a new state but not for a countdown tick, so focus stays put", async () => {
    const app = new App(fakeIpc(overview(active(600))), root);
    await app.refresh();
    const button = root.main.querySelector("button");
    expect(button?.textContent).toBe("Disconnect now");
    app.accept(overview(active(599)));
    expect(root.main.querySelector("button")).toBe(button);
    app.accept(overview(active(599, true)));
    expect(root.main.querySelector("[role=alert]")?.textContent).toMatch(/ends soon/);
    app.accept(overview({ state: "closed", reason: "denied", detail: "not this week" }));
    expect(root.main.querySelector("h1")?.textContent).toBe("Request denied");
    expect(root.main.querySelector("[data-detail]")?.textContent).toBe("not this week");
  });

  it("shows first run when nobody is signed in, and the problem when the service is gone", async () => {
    const app = new App(fakeIpc(overview({ state: "idle" }, null)), root);
    await app.refresh();
    expect(root.main.querySelector("[data-screen=welcome]")).not.toBeNull();
    app.lost({ code: "service-unreachable", message: "cannot reach the Daypass tunnel service" });
    expect(root.main.querySelector("[data-screen=problem]")?.textContent).toMatch(/Start it/);
  });

  it("keys screens by what they show", () => {
    expect(screenKey(overview(active(10)), null, "access")).toBe(screenKey(overview(active(9)), null, "access"));
    expect(screenKey(overview(active(10)), null, "access")).not.toBe(screenKey(overview(active(10)), null, "history"));
  });

  it("names the checks that keep a resource closed and says what the ticket check found", () => {
    const posture: Posture = {
      compliant: false,
      checked_at: "2026-11-24T18:00:00Z",
      not_sent: null,
      checks: [
        { check: "disk encryption", outcome: "fail", required: true, evidence: [], remediation: null, blocks: ["prod"] },
        { check: "firewall", outcome: "pass", required: true, evidence: [], remediation: null, blocks: [] },
      ],
    };
    expect(blockedBy(posture, "prod")).toEqual(["disk encryption"]);
    expect(blockedBy(posture, "db")).toEqual([]);
    expect(ticketLine({ kind: "checked", ticket: { key: "OPS-1", verdict: "closed", message: "OPS-1 is Done", summary: "w", status: "Done" } })).toEqual({
      text: "OPS-1 is Done — w (Done)",
      cls: "error",
    });
  });
});
