// The ticket field's check as the contractor types: the key's form at once, then (after a short
// pause) what the ticket system says: usable, unknown, closed or not theirs. An answer for a key
// that has since changed is dropped.

import type { Ticket } from "./bindings";
import { ticketSyntax } from "./format";

export type TicketState =
  | { kind: "empty" }
  | { kind: "malformed"; message: string }
  | { kind: "checking"; key: string }
  | { kind: "checked"; ticket: Ticket }
  | { kind: "failed"; key: string; message: string };

export class TicketCheck {
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly check: (key: string) => Promise<Ticket>,
    private readonly onState: (state: TicketState) => void,
    private readonly pauseMs = 350,
  ) {}

  /// The field now holds `value`.
  typed(value: string): void {
    const seq = ++this.seq;
    clearTimeout(this.timer);
    const key = value.trim();
    if (key === "") return this.onState({ kind: "empty" });
    const malformed = ticketSyntax(key);
    if (malformed) return this.onState({ kind: "malformed", message: malformed });
    this.onState({ kind: "checking", key });
    this.timer = setTimeout(async () => {
      try {
        const ticket = await this.check(key);
        if (seq === this.seq) this.onState({ kind: "checked", ticket });
      } catch (e) {
        const message = e && typeof e === "object" && "message" in e ? String(e.message) : String(e);
        if (seq === this.seq) this.onState({ kind: "failed", key, message });
      }
    }, this.pauseMs);
  }
}

/// Whether the form may be sent with this ticket state.
export function ticketUsable(state: TicketState): boolean {
  return state.kind === "checked" && state.ticket.verdict === "usable";
}
