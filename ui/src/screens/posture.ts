// The device's posture: every check with pass, fail or unknown, the evidence in plain words, how
// to fix it and which resources it keeps closed; "check again"; and the report exported as HTML
// or JSON to attach to a helpdesk ticket.

import type { Check, Outcome, Posture } from "../bindings";
import type { Context } from "../app";
import { h } from "../dom";
import { when } from "../format";
import { problemOf } from "../ipc";

const OUTCOME: Record<Outcome, string> = {
  pass: "Pass",
  fail: "Fail",
  unknown: "Unknown",
  not_applicable: "Not applicable",
};

export function postureScreen(ctx: Context): HTMLElement {
  const body = h("div", { "data-posture": "" }, h("p", { class: "quiet" }, "Checking this device…"));
  const again = h("button", { type: "button", onclick: () => void load() }, "Check again");
  const exported = h("p", { class: "quiet", "aria-live": "polite", "data-exported": "" });
  const exportAs = (format: "html" | "json", label: string) =>
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          try {
            const path = await ctx.ipc.exportPosture(format);
            exported.textContent = `Saved ${path}: attach it to your helpdesk ticket.`;
          } catch (e) {
            ctx.notice(problemOf(e).message, "error");
          }
        },
      },
      label,
    );

  const load = async () => {
    again.setAttribute("disabled", "");
    body.setAttribute("aria-busy", "true");
    try {
      body.replaceChildren(report(await ctx.ipc.checkPosture()));
    } catch (e) {
      body.replaceChildren(h("p", { class: "error" }, problemOf(e).message));
    } finally {
      again.removeAttribute("disabled");
      body.setAttribute("aria-busy", "false");
    }
  };
  void load();

  return h(
    "section",
    { "data-screen": "posture" },
    h("h1", { tabindex: "-1" }, "Device posture"),
    body,
    h("div", { class: "actions" }, again, exportAs("html", "Export report (HTML)"), exportAs("json", "Export report (JSON)")),
    exported,
  );
}

export function report(p: Posture): HTMLElement {
  const blocked = p.checks.filter((c) => c.blocks.length > 0);
  return h(
    "div",
    {},
    h(
      "p",
      { class: p.compliant ? "ok" : "error", "data-compliant": String(p.compliant) },
      p.compliant ? "This device meets your organisation's requirements." : "This device does not meet every requirement.",
      h("span", { class: "quiet" }, ` Checked ${when(p.checked_at)}.`),
    ),
    p.not_sent ? h("p", { class: "warning" }, `The broker did not receive this report (${p.not_sent}); this is the device's own reading.`) : null,
    blocked.length
      ? h(
          "ul",
          { class: "blocking" },
          blocked.map((c) => h("li", {}, `${c.check} keeps ${c.blocks.join(", ")} closed.`)),
        )
      : null,
    h(
      "table",
      {},
      h("caption", {}, "Checks"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Check", "Result", "What we found", "How to fix it"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      h("tbody", {}, p.checks.map(row)),
    ),
  );
}

function row(c: Check): HTMLElement {
  return h(
    "tr",
    { "data-check": c.check, "data-outcome": c.outcome },
    h("th", { scope: "row" }, c.check, c.required ? null : h("span", { class: "quiet" }, " (not required)")),
    h("td", {}, h("span", { class: `outcome ${c.outcome}` }, OUTCOME[c.outcome])),
    h("td", {}, c.evidence.length ? h("ul", {}, c.evidence.map((e) => h("li", {}, e))) : "—"),
    h("td", {}, c.remediation ?? (c.outcome === "pass" ? "Nothing to do." : "—")),
  );
}
