// The app's commands and events, typed with the bindings generated from the Rust side. The
// window calls nothing else: every answer comes from the controller in the app's Rust half.

import { Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AccessForm,
  Entitlement,
  ExportFormat,
  HistoryEntry,
  Overview,
  PasskeyMethod,
  Posture,
  Problem,
  Session,
  Ticket,
} from "./bindings";

function withPage(onPage: (url: string) => void): Channel<string> {
  const page = new Channel<string>();
  page.onmessage = onPage;
  return page;
}

export const ipc = {
  overview: () => invoke<Overview>("overview"),
  passkeyMethods: () => invoke<PasskeyMethod[]>("passkey_methods"),
  enroll: (invite: string, method: PasskeyMethod, onPage: (url: string) => void) =>
    invoke<string>("enroll", { invite, method, page: withPage(onPage) }),
  signIn: (person: string, method: PasskeyMethod, onPage: (url: string) => void) =>
    invoke<string>("sign_in", { person, method, page: withPage(onPage) }),
  signOut: () => invoke<null>("sign_out"),
  checkPosture: () => invoke<Posture>("check_posture"),
  entitlements: () => invoke<Entitlement[]>("entitlements"),
  checkTicket: (ticket: string) => invoke<Ticket>("check_ticket", { ticket }),
  requestAccess: (form: AccessForm) => invoke<Session>("request_access", { form }),
  disconnect: () => invoke<Session>("disconnect"),
  history: () => invoke<HistoryEntry[]>("history"),
  exportPosture: (format: ExportFormat) => invoke<string>("export_posture", { format }),
};

export type Ipc = typeof ipc;

/// A command's refusal as the controller said it (or what else went wrong, in the same shape).
export function problemOf(e: unknown): Problem {
  if (e && typeof e === "object" && "message" in e && "code" in e) {
    return e as Problem;
  }
  return { code: "app", message: String(e) };
}

/// The events the Rust side pushes.
export interface Events {
  overview: Overview;
  notice: string;
  "service-lost": Problem;
  "tray-action": string;
}

export function on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): Promise<UnlistenFn> {
  return listen<Events[K]>(event, (e) => handler(e.payload));
}
