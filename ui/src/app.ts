// The window: which screen shows (a problem with the service, first run, or the signed-in views),
// the header with its navigation, notices, and the one-second countdown tick.

import type { Overview, PasskeyMethod, Problem } from "./bindings";
import { h, show } from "./dom";
import { clock, secondsUntil } from "./format";
import { type Ipc, problemOf } from "./ipc";
import { accessScreen } from "./screens/access";
import { historyScreen } from "./screens/history";
import { postureScreen } from "./screens/posture";
import { problemScreen } from "./screens/problem";
import { requestScreen } from "./screens/request";
import { welcomeScreen } from "./screens/welcome";

export type View = "access" | "request" | "posture" | "history";

export const VIEWS: { view: View; label: string }[] = [
  { view: "access", label: "Access" },
  { view: "request", label: "Request access" },
  { view: "posture", label: "Device posture" },
  { view: "history", label: "History" },
];

/// What a screen may do.
export interface Context {
  ipc: Ipc;
  overview: Overview;
  methods: PasskeyMethod[];
  go(view: View): void;
  refresh(): Promise<void>;
  notice(text: string, kind?: "info" | "error"): void;
}

export interface Root {
  header: HTMLElement;
  main: HTMLElement;
  notices: HTMLElement;
}

/// The parts of an overview that change what a screen shows (the countdown alone does not).
export function screenKey(o: Overview | null, problem: Problem | null, view: View): string {
  if (problem) return `problem:${problem.code}:${problem.message}`;
  if (!o) return "loading";
  const s = o.session;
  const session =
    s.state === "active"
      ? `active:${s.access.grant}:${s.access.expiring}:${s.access.suspended?.fix ?? ""}`
      : s.state === "pending"
        ? `pending:${s.request}`
        : s.state === "closed"
          ? `closed:${s.reason}:${s.detail ?? ""}`
          : s.state;
  return `${o.signed_in ?? ""}|${view}|${session}`;
}

export class App {
  private overview: Overview | null = null;
  private problem: Problem | null = null;
  private view: View = "access";
  private methods: PasskeyMethod[] = [];
  private shown = "";

  constructor(
    private readonly ipc: Ipc,
    private readonly root: Root,
  ) {}

  async start(): Promise<void> {
    this.methods = await this.ipc.passkeyMethods().catch(() => ["security_key", "browser"] as PasskeyMethod[]);
    await this.refresh();
    setInterval(() => this.tick(), 1000);
  }

  /// Asks the service where things stand and shows it.
  async refresh(): Promise<void> {
    try {
      this.accept(await this.ipc.overview());
    } catch (e) {
      this.problem = problemOf(e);
      this.render();
    }
  }

  /// A new overview (from a command or pushed by the service).
  accept(overview: Overview): void {
    this.overview = overview;
    this.problem = null;
    this.render();
    this.tick();
  }

  lost(problem: Problem): void {
    this.problem = problem;
    this.render();
  }

  go(view: View): void {
    this.view = view;
    this.render(true);
  }

  notice(text: string, kind: "info" | "error" = "info"): void {
    const item = h(
      "p",
      { class: `notice ${kind}`, role: kind === "error" ? "alert" : undefined },
      text,
      h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"),
    );
    this.root.notices.append(item);
    // Information goes after a while; errors stay until dismissed.
    if (kind === "info") setTimeout(() => item.remove(), 15_000);
    while (this.root.notices.children.length > 3) this.root.notices.firstElementChild?.remove();
  }

  private render(force = false): void {
    const key = screenKey(this.overview, this.problem, this.view);
    if (!force && key === this.shown) return;
    this.shown = key;
    if (this.problem) {
      show(this.root.header);
      show(this.root.main, problemScreen(this.problem, () => this.refresh()));
    } else if (this.overview && !this.overview.signed_in) {
      show(this.root.header, this.header(this.overview, false));
      show(this.root.main, welcomeScreen(this.context(this.overview)));
    } else if (this.overview) {
      show(this.root.header, this.header(this.overview, true));
      const ctx = this.context(this.overview);
      const screen = {
        access: accessScreen,
        request: requestScreen,
        posture: postureScreen,
        history: historyScreen,
      }[this.view](ctx);
      show(this.root.main, screen);
    }
    const heading = this.root.main.querySelector<HTMLElement>("h1");
    if (force && heading) heading.focus();
  }

  private context(overview: Overview): Context {
    return {
      ipc: this.ipc,
      overview,
      methods: this.methods,
      go: (v) => this.go(v),
      refresh: () => this.refresh(),
      notice: (t, k) => this.notice(t, k),
    };
  }

  private header(o: Overview, signedIn: boolean): HTMLElement {
    const who = signedIn ? `${o.signed_in} on ${o.device}` : `Device ${o.device}`;
    const nav = signedIn
      ? h(
          "nav",
          { "aria-label": "Daypass" },
          h(
            "ul",
            {},
            VIEWS.map(({ view, label }) =>
              h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    class: "tab",
                    "data-view": view,
                    "aria-current": view === this.view ? "page" : undefined,
                    onclick: () => this.go(view),
                  },
                  label,
                ),
              ),
            ),
          ),
        )
      : null;
    const signOut = signedIn
      ? h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: async () => {
              try {
                await this.ipc.signOut();
                this.view = "access";
                await this.refresh();
              } catch (e) {
                this.notice(problemOf(e).message, "error");
              }
            },
          },
          "Sign out",
        )
      : null;
    return h(
      "div",
      { class: "bar" },
      h("span", { class: "brand" }, "Daypass"),
      h("span", { class: "who" }, who),
      h(
        "span",
        { class: "broker", title: `from ${o.broker.source}` },
        o.broker.url,
        o.broker.managed ? h("span", { class: "badge" }, "managed by IT") : null,
      ),
      signOut,
      nav,
    );
  }

  /// Moves every countdown on by the wall clock (the service's own tick is the authority).
  private tick(): void {
    for (const el of this.root.main.querySelectorAll<HTMLElement>("[data-not-after]")) {
      el.textContent = clock(secondsUntil(el.dataset.notAfter ?? "", new Date()));
    }
  }
}
