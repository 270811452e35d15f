import { describe, expect, it } from "vitest";
import { clock, durationChoices, durationText, secondsUntil, spoken, ticketSyntax } from "./format";

describe("format", () => {
  it("counts down in hours, minutes and seconds", () => {
    expect(clock(3723)).toBe("1:02:03");
    expect(clock(2525)).toBe("42:05");
    expect(clock(9)).toBe("0:09");
    expect(clock(-5)).toBe("0:00");
  });

  it("measures time left against the wall clock, never below zero", () => {
    const now = new Date("2026-11-24T18:00:00Z");
    expect(secondsUntil("2026-11-24T18:10:00Z", now)).toBe(600);
    expect(secondsUntil("2026-11-24T17:00:00Z", now)).toBe(0);
  });

  it("offers durations up to the shortest maximum of the chosen resources", () => {
    expect(durationChoices(2 * 3600)).toEqual([60, 900, 1800, 3600, 7200]);
    expect(durationChoices(45 * 60)).toEqual([60, 900, 1800, 2700]);
    expect(durationChoices(0)).toEqual([]);
    expect(durationChoices(45 * 60).map(durationText)).toEqual(["1m", "15m", "30m", "45m"]);
    expect(spoken(5400)).toBe("1 h 30 min");
    expect(spoken(8 * 3600)).toBe("8 h");
  });

  it("says what is wrong with a ticket key before asking anyone", () => {
    expect(ticketSyntax("OPS-142")).toBeNull();
    expect(ticketSyntax("")).toMatch(/Enter the ticket/);
    expect(ticketSyntax("OPS 142")).toMatch(/not a ticket key/);
    expect(ticketSyntax("../x")).toMatch(/not a ticket key/);
    expect(ticketSyntax("A".repeat(65))).toMatch(/at most 64/);
  });
});
