import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Ticket } from "./bindings";
import { TicketCheck, type TicketState, ticketUsable } from "./ticket";

const ticket = (key: string, verdict: Ticket["verdict"]): Ticket => ({
  key,
  verdict,
  message: `${key} is ${verdict}`,
  summary: null,
  status: null,
});

describe("the ticket field's check", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("checks only after a pause and drops answers for keys since changed", async () => {
    const asked: string[] = [];
    const states: TicketState[] = [];
    const check = new TicketCheck(
      async (key) => {
        asked.push(key);
        return ticket(key, key === "OPS-2" ? "not_yours" : "usable");
      },
      (s) => states.push(s),
      300,
    );
    check.typed("OPS-1");
    check.typed("OPS-2");
    await vi.advanceTimersByTimeAsync(400);
    expect(asked).toEqual(["OPS-2"]);
    const last = states[states.length - 1];
    expect(last).toEqual({ kind: "checked", ticket: ticket("OPS-2", "not_yours") });
    expect(ticketUsable(last)).toBe(false);
  });

  it("refuses a malformed key at once without asking", async () => {
    const ask = vi.fn(async (key: string) => ticket(key, "usable"));
    const states: TicketState[] = [];
    const check = new TicketCheck(ask, (s) => states.push(s), 300);
    check.typed("OPS 1");
    await vi.advanceTimersByTimeAsync(400);
    expect(ask).not.toHaveBeenCalled();
    expect(states).toEqual([{ kind: "malformed", message: expect.stringMatching(/not a ticket key/) }]);
  });

  it("says when the check itself failed", async () => {
    const states: TicketState[] = [];
    const check = new TicketCheck(
      async () => Promise.reject({ code: "broker-unreachable", message: "the broker cannot be reached" }),
      (s) => states.push(s),
      10,
    );
    check.typed("OPS-9");
    await vi.advanceTimersByTimeAsync(20);
    expect(states[states.length - 1]).toEqual({ kind: "failed", key: "OPS-9", message: "the broker cannot be reached" });
  });
});
