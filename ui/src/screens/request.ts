// Asking for access: the resources this person may request (tags, maximum duration, and which
// posture check keeps one closed), the ticket (checked as it is typed), how long, and why.

import type { Entitlement, Posture } from "../bindings";
import type { Context } from "../app";
import { h } from "../dom";
import { durationChoices, durationText, spoken } from "../format";
import { problemOf } from "../ipc";
import { TicketCheck, type TicketState, ticketUsable } from "../ticket";

/// The failing checks that keep `resource` closed, by the latest posture check.
export function blockedBy(posture: Posture | null, resource: string): string[] {
  if (!posture) return [];
  return posture.checks.filter((c) => c.blocks.includes(resource)).map((c) => c.check);
}

const VERDICT_CLASS: Record<string, string> = { usable: "ok", unknown: "error", closed: "error", not_yours: "error" };

export function ticketLine(state: TicketState): { text: string; cls: string } {
  switch (state.kind) {
    case "empty":
      return { text: "", cls: "" };
    case "malformed":
      return { text: state.message, cls: "error" };
    case "checking":
      return { text: `Checking ${state.key}…`, cls: "quiet" };
    case "failed":
      return { text: state.message, cls: "error" };
    case "checked": {
      const t = state.ticket;
      const about = t.summary ? ` — ${t.summary}${t.status ? ` (${t.status})` : ""}` : "";
      return { text: `${t.message}${about}`, cls: VERDICT_CLASS[t.verdict] ?? "error" };
    }
  }
}

export function requestScreen(ctx: Context): HTMLElement {
  let entitled: Entitlement[] = [];
  let posture: Posture | null = null;
  let ticket: TicketState = { kind: "empty" };

  const list = h("div", { class: "resources" }, h("p", { class: "quiet" }, "Loading what you may request…"));
  const ticketStatus = h("p", { id: "ticket-status", class: "field-status", "aria-live": "polite" });
  const duration = h("select", { id: "duration", name: "duration", required: true }) as HTMLSelectElement;
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const checker = new TicketCheck(ctx.ipc.checkTicket, (state) => {
    ticket = state;
    const line = ticketLine(state);
    ticketStatus.textContent = line.text;
    ticketStatus.className = `field-status ${line.cls}`;
  });

  const chosen = () =>
    [...list.querySelectorAll<HTMLInputElement>("input[name=resource]:checked")].map((i) => i.value);

  const fillDurations = () => {
    const picked = entitled.filter((e) => chosen().includes(e.resource));
    const max = picked.length ? Math.min(...picked.map((e) => e.max_duration_seconds)) : 0;
    const before = duration.value;
    duration.replaceChildren(
      ...(max === 0
        ? [h("option", { value: "" }, "Choose a resource first")]
        : durationChoices(max).map((s) => h("option", { value: durationText(s) }, spoken(s)))),
    );
    if ([...duration.options].some((o) => o.value === before)) duration.value = before;
  };

  const showResources = () => {
    if (entitled.length === 0) {
      list.replaceChildren(h("p", {}, "You may not request anything yet: ask your Daypass administrator."));
      return;
    }
    const before = new Set(chosen());
    list.replaceChildren(
      h(
        "fieldset",
        {},
        h("legend", {}, "Resources"),
        entitled.map((e) => {
          const blocks = blockedBy(posture, e.resource);
          const id = `res-${e.resource}`;
          return h(
            "div",
            { class: blocks.length ? "resource blocked" : "resource" },
            h("input", {
              type: "checkbox",
              id,
              name: "resource",
              value: e.resource,
              checked: before.has(e.resource) && blocks.length === 0,
              disabled: blocks.length > 0,
              "aria-describedby": `${id}-about`,
              onchange: fillDurations,
            }),
            h("label", { for: id }, h("strong", {}, e.resource), ` ${e.address} ${e.ports}`),
            h(
              "p",
              { id: `${id}-about`, class: "about" },
              e.tags.map((t) => h("span", { class: "tag" }, t)),
              ` up to ${spoken(e.max_duration_seconds)} · ${e.policy}`,
              blocks.length
                ? h("span", { class: "error", "data-blocked": "" }, ` Blocked: ${blocks.join(", ")} must pass (see Device posture).`)
                : null,
            ),
          );
        }),
      ),
    );
    fillDurations();
  };

  void ctx.ipc
    .entitlements()
    .then((e) => {
      entitled = e;
      showResources();
    })
    .catch((e) => list.replaceChildren(h("p", { class: "error" }, problemOf(e).message)));
  void ctx.ipc
    .checkPosture()
    .then((p) => {
      posture = p;
      if (entitled.length) showResources();
    })
    .catch(() => undefined);

  const form = h(
    "form",
    {
      "data-form": "request",
      novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const f = e.currentTarget as HTMLFormElement;
        const reason = (f.elements.namedItem("reason") as HTMLTextAreaElement).value.trim();
        const ticketKey = (f.elements.namedItem("ticket") as HTMLInputElement).value.trim();
        const fail = (text: string, focus: string) => {
          error.textContent = text;
          error.hidden = false;
          (f.elements.namedItem(focus) as HTMLElement | null)?.focus();
        };
        if (chosen().length === 0) return fail("Choose at least one resource.", "resource");
        if (!ticketUsable(ticket)) return fail(ticketLine(ticket).text || "Enter a ticket that is open and yours.", "ticket");
        if (!duration.value) return fail("Choose how long you need access.", "duration");
        if (!reason) return fail("Say why you need access: approvers and auditors read it.", "reason");
        error.hidden = true;
        const submit = f.querySelector<HTMLButtonElement>("button[type=submit]");
        if (submit) submit.disabled = true;
        try {
          await ctx.ipc.requestAccess({ resources: chosen(), ticket: ticketKey, duration: duration.value, reason });
          await ctx.refresh();
          ctx.go("access");
        } catch (err) {
          fail(problemOf(err).message, "ticket");
        } finally {
          if (submit) submit.disabled = false;
        }
      },
    },
    list,
    h(
      "label",
      { for: "ticket" },
      "Ticket",
      h("input", {
        id: "ticket",
        name: "ticket",
        autocomplete: "off",
        spellcheck: "false",
        placeholder: "OPS-142",
        "aria-describedby": "ticket-status",
        oninput: (e: Event) => checker.typed((e.target as HTMLInputElement).value),
      }),
    ),
    ticketStatus,
    h("label", { for: "duration" }, "For how long", duration),
    h(
      "label",
      { for: "reason" },
      "Why (approvers and auditors read this)",
      h("textarea", { id: "reason", name: "reason", rows: "3", maxlength: "2000" }),
    ),
    h("button", { type: "submit" }, "Request access"),
    error,
  );
  return h("section", { "data-screen": "request" }, h("h1", { tabindex: "-1" }, "Request access"), form);
}
