// A stand-in for Tauri's IPC inside the page, for the window's Playwright tests: commands answer
// from `replies` (set per test, changeable while it runs), events are pushed with `emit`, and
// every call is recorded. Installed with page.addInitScript before the window's script runs.
import type { Page } from "@playwright/test";

/// `{ ok }` resolves, `{ error }` rejects (a Problem), `{ byArg, cases, otherwise }` picks by an
/// argument's value; `page` sends a browser address down the command's channel first; `delayMs`
/// holds the answer back.
export type Reply =
  | { ok: unknown; page?: string; delayMs?: number }
  | { error: { code: string; message: string }; delayMs?: number }
  | { byArg: string; cases: Record<string, Reply>; otherwise: Reply };

export type Replies = Record<string, Reply>;

declare global {
  interface Window {
    __daypass: {
      replies: Replies;
      calls: { cmd: string; args: Record<string, unknown> }[];
      emit(event: string, payload: unknown): void;
    };
  }
}

export async function installMock(page: Page, replies: Replies): Promise<void> {
  await page.addInitScript((initial: Replies) => {
    const callbacks = new Map<number, (value: unknown) => void>();
    const listeners = new Map<string, number[]>();
    let next = 1;
    const pick = (reply: Reply | undefined, args: Record<string, unknown>): Reply | undefined => {
      if (reply && "byArg" in reply) {
        const value = String(args[reply.byArg]);
        return pick(reply.cases[value] ?? reply.otherwise, args);
      }
      return reply;
    };
    const mock = {
      replies: initial,
      calls: [] as { cmd: string; args: Record<string, unknown> }[],
      emit(event: string, payload: unknown) {
        for (const id of listeners.get(event) ?? []) callbacks.get(id)?.({ event, id, payload });
      },
    };
    (window as unknown as { __daypass: typeof mock }).__daypass = mock;
    (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {
      metadata: { currentWindow: { label: "main" }, currentWebview: { windowLabel: "main", label: "main" } },
      transformCallback(cb: (v: unknown) => void) {
        const id = next++;
        callbacks.set(id, cb);
        return id;
      },
      unregisterCallback(id: number) {
        callbacks.delete(id);
      },
      async invoke(cmd: string, args: Record<string, unknown> = {}) {
        if (cmd === "plugin:event|listen") {
          const event = String(args.event);
          listeners.set(event, [...(listeners.get(event) ?? []), Number(args.handler)]);
          return Number(args.handler);
        }
        if (cmd.startsWith("plugin:event|")) return null;
        const recorded: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(args)) if (k !== "page") recorded[k] = v;
        mock.calls.push({ cmd, args: recorded });
        const reply = pick(mock.replies[cmd], args);
        if (!reply) throw { code: "mock", message: `the test gave no reply for ${cmd}` };
        const channel = args.page as { id?: number } | undefined;
        if ("page" in reply && reply.page && channel?.id !== undefined) {
          callbacks.get(channel.id)?.({ message: reply.page, index: 0 });
        }
        if ("delayMs" in reply && reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        if ("error" in reply) throw reply.error;
        if ("ok" in reply) return reply.ok;
        return null;
      },
    };
  }, replies);
}

export async function calls(page: Page, cmd: string): Promise<Record<string, unknown>[]> {
  return page.evaluate((c) => window.__daypass.calls.filter((x) => x.cmd === c).map((x) => x.args), cmd);
}

export async function reply(page: Page, cmd: string, r: Reply): Promise<void> {
  await page.evaluate(([c, value]) => {
    window.__daypass.replies[c as string] = value as Reply;
  }, [cmd, r] as const);
}

export async function emit(page: Page, event: string, payload: unknown): Promise<void> {
  await page.evaluate(([e, p]) => window.__daypass.emit(e as string, p), [event, payload] as const);
}
