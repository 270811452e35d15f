// Where access stands: nothing yet, waiting for approvers (live), active with its resources,
// ticket and a live countdown (or held by the broker until the device's posture is fixed), or ended
// (expired, denied with the reason, revoked, failed).

import type { Access, Closed } from "../bindings";
import type { Context } from "../app";
import { h } from "../dom";
import { clock, secondsUntil, when } from "../format";
import { problemOf } from "../ipc";

const ENDED: Record<Closed, string> = {
  expired: "Your access expired. The tunnel is closed.",
  revoked: "Your access was revoked.",
  denied: "Your request was denied.",
  disconnected: "You disconnected. The tunnel is closed.",
  failed: "Access could not be opened.",
};

export function accessScreen(ctx: Context): HTMLElement {
  const s = ctx.overview.session;
  const requestAgain = h("button", { type: "button", onclick: () => ctx.go("request") }, "Request access");
  switch (s.state) {
    case "idle":
      return section("idle", "No access right now", h("p", {}, "Ask for the systems your ticket needs."), requestAgain);
    case "requesting":
      return section("requesting", "Requesting access…", h("p", {}, "Checking posture and asking the broker."));
    case "pending":
      return section(
        "pending",
        "Waiting for approval",
        h("p", {}, "Your request is with the approvers. This screen changes by itself when they decide."),
        h("p", { class: "quiet" }, `Request ${s.request}`),
        h("progress", { "aria-label": "Waiting for approval" }),
      );
    case "active":
      return active(ctx, s.access);
    case "closed":
      return section(
        `closed-${s.reason}`,
        s.reason === "denied" ? "Request denied" : "Access ended",
        h("p", {}, ENDED[s.reason]),
        s.detail ? h("p", { class: s.reason === "expired" ? "" : "error", "data-detail": "" }, s.detail) : null,
        requestAgain,
      );
  }
}

function section(name: string, title: string, ...body: (HTMLElement | null)[]): HTMLElement {
  return h("section", { "data-screen": "access", "data-state": name }, h("h1", { tabindex: "-1" }, title), ...body);
}

function active(ctx: Context, access: Access): HTMLElement {
  const left = secondsUntil(access.not_after, new Date());
  const held = access.suspended;
  return section(
    held ? "suspended" : "active",
    held ? "Access suspended" : "Access active",
    held
      ? h(
          "div",
          { class: "error", role: "alert", "data-suspended": "" },
          h("p", {}, "Nothing gets through until this device passes its checks again: ", h("strong", {}, held.detail), "."),
          h("p", { "data-fix": "" }, held.fix),
          h("p", { class: "quiet" }, `Suspended since ${when(held.since)}. Your access keeps its end time; it resumes by itself once fixed.`),
          h("button", { type: "button", onclick: () => ctx.go("posture") }, "Check posture again"),
        )
      : null,
    h(
      "p",
      { class: access.expiring ? "countdown expiring" : "countdown" },
      "Time left ",
      h("strong", { "data-not-after": access.not_after, "aria-live": "off" }, clock(left)),
      h("span", { class: "quiet" }, ` (until ${when(access.not_after)})`),
    ),
    access.expiring ? h("p", { class: "warning", role: "alert" }, "Your access ends soon: save your work.") : null,
    h("p", {}, "Ticket ", h("strong", { "data-ticket": "" }, access.ticket)),
    h(
      "table",
      {},
      h("caption", {}, held ? "Granted, held until fixed" : "Open for you now"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Resource"), h("th", { scope: "col" }, "Address"), h("th", { scope: "col" }, "Ports"))),
      h(
        "tbody",
        {},
        access.resources.map((r) => h("tr", {}, h("th", { scope: "row" }, r.name), h("td", {}, r.address), h("td", {}, r.ports))),
      ),
    ),
    h(
      "button",
      {
        type: "button",
        class: "danger",
        onclick: async () => {
          try {
            await ctx.ipc.disconnect();
            await ctx.refresh();
          } catch (e) {
            ctx.notice(problemOf(e).message, "error");
          }
        },
      },
      "Disconnect now",
    ),
  );
}
