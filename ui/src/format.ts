// Times and durations as the contractor reads them, and the checks the form makes as they type.

/// A countdown: "1:02:03", "42:05", "0:09".
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/// Seconds from `now` until an RFC 3339 instant (0 once past).
export function secondsUntil(rfc3339: string, now: Date): number {
  return Math.max(0, Math.floor((Date.parse(rfc3339) - now.getTime()) / 1000));
}

/// A duration in words: "8 h", "1 h 30 min", "45 min", "30 s".
export function spoken(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return `${m} min`;
  return `${seconds} s`;
}

/// The service's duration syntax for a number of seconds: "4h", "90m", "45s".
export function durationText(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const PRESETS = [60, 15 * 60, 30 * 60, 3600, 2 * 3600, 4 * 3600, 8 * 3600];

/// The durations offered for resources whose shortest maximum is `max` seconds: the presets up
/// to it, and the maximum itself.
export function durationChoices(max: number): number[] {
  const choices = PRESETS.filter((p) => p < max);
  return max > 0 ? [...choices, max] : [];
}

/// What is wrong with a ticket key as typed, or null: the broker's rule (1 to 64 of letters,
/// digits, '-', '_', '.').
export function ticketSyntax(key: string): string | null {
  const k = key.trim();
  if (k === "") return "Enter the ticket your work is tracked under, e.g. OPS-142.";
  if (k.length > 64) return "A ticket key is at most 64 characters.";
  if (!/^[A-Za-z0-9_.-]+$/.test(k) || k.startsWith(".")) {
    return `"${k}" is not a ticket key: expected something like OPS-142.`;
  }
  return null;
}

/// A date and time in the person's own locale.
export function when(rfc3339: string): string {
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime()) ? rfc3339 : d.toLocaleString();
}
