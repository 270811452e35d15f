// The screen when the app cannot work: the service is not running, talks to another broker than
// IT's configuration names, or the configuration itself is wrong. It says what to do.

import type { Problem } from "../bindings";
import { h } from "../dom";

const ADVICE: Record<string, string> = {
  "service-unreachable":
    "The Daypass service runs in the background and opens the tunnel. Start it (or ask IT to), then try again.",
  "wrong-broker": "Nothing can be requested until the service and IT's configuration agree. Contact IT.",
  config: "IT's configuration for this app could not be used. Contact IT with the message above.",
};

export function problemScreen(problem: Problem, retry: () => void): HTMLElement {
  return h(
    "section",
    { class: "problem", "data-screen": "problem", "data-code": problem.code },
    h("h1", { tabindex: "-1" }, "Daypass cannot work right now"),
    h("p", { class: "error" }, problem.message),
    h("p", {}, ADVICE[problem.code] ?? "Try again; if it keeps happening, contact IT."),
    h("button", { type: "button", onclick: retry }, "Try again"),
  );
}
