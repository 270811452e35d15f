// This device's requests and grants, newest first, with how each ended.

import type { HistoryEntry } from "../bindings";
import type { Context } from "../app";
import { h } from "../dom";
import { spoken, when } from "../format";
import { problemOf } from "../ipc";

export function historyScreen(ctx: Context): HTMLElement {
  const body = h("div", {}, h("p", { class: "quiet" }, "Loading…"));
  void ctx.ipc
    .history()
    .then((entries) => body.replaceChildren(table(entries)))
    .catch((e) => body.replaceChildren(h("p", { class: "error" }, problemOf(e).message)));
  return h("section", { "data-screen": "history" }, h("h1", { tabindex: "-1" }, "History"), body);
}

function table(entries: HistoryEntry[]): HTMLElement {
  if (entries.length === 0) return h("p", {}, "No requests from this device yet.");
  return h(
    "table",
    {},
    h("caption", {}, "Requests from this device"),
    h(
      "thead",
      {},
      h("tr", {}, ["When", "Resources", "Ticket", "For", "Outcome", "Reason"].map((t) => h("th", { scope: "col" }, t))),
    ),
    h(
      "tbody",
      {},
      entries.map((e) =>
        h(
          "tr",
          { "data-request": e.request, "data-status": e.status },
          h("td", {}, when(e.created_at)),
          h("td", {}, e.resources.join(", ")),
          h("td", {}, e.ticket),
          h("td", {}, spoken(e.duration_seconds)),
          h("td", {}, e.status, e.denial_reason ? h("span", { class: "quiet" }, `: ${e.denial_reason}`) : null),
          h("td", {}, e.reason),
        ),
      ),
    ),
  );
}
