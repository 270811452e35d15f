// First run and signing in: enroll with the invite IT sent (registers a passkey and binds this
// device's keys), or sign in with a passkey already enrolled.

import type { PasskeyMethod } from "../bindings";
import type { Context } from "../app";
import { h } from "../dom";
import { problemOf } from "../ipc";
import { browserHint, chosenMethod, methodChoice } from "./passkey";

interface CeremonyForm {
  name: string;
  title: string;
  intro?: string;
  field: { id: string; label: string; autocomplete: string };
  submit: string;
  /// Runs the ceremony with the field's value; `onPage` shows the browser's address.
  run(value: string, method: PasskeyMethod, onPage: (url: string) => void): Promise<void>;
}

/// A form that asks for one value and confirms with a passkey, saying what went wrong in place.
function ceremonyForm(ctx: Context, spec: CeremonyForm): HTMLElement {
  const hint = browserHint();
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const methodName = `${spec.name}-method`;
  return h(
    "form",
    {
      "data-form": spec.name,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        const value = (form.elements.namedItem(spec.field.id) as HTMLInputElement).value;
        error.hidden = true;
        const buttons = [...form.querySelectorAll("button")];
        buttons.forEach((b) => (b.disabled = true));
        form.setAttribute("aria-busy", "true");
        try {
          await spec.run(value, chosenMethod(form, methodName), hint.showPage);
        } catch (err) {
          error.textContent = problemOf(err).message;
          error.hidden = false;
        } finally {
          buttons.forEach((b) => (b.disabled = false));
          form.setAttribute("aria-busy", "false");
        }
      },
    },
    h("h2", {}, spec.title),
    spec.intro ? h("p", {}, spec.intro) : null,
    h(
      "label",
      { for: spec.field.id },
      spec.field.label,
      h("input", {
        id: spec.field.id,
        name: spec.field.id,
        autocomplete: spec.field.autocomplete,
        required: true,
        spellcheck: "false",
      }),
    ),
    methodChoice(methodName, ctx.methods),
    h("button", { type: "submit" }, spec.submit),
    hint.el,
    error,
  );
}

export function welcomeScreen(ctx: Context): HTMLElement {
  const signIn = ceremonyForm(ctx, {
    name: "sign-in",
    title: "Sign in",
    field: { id: "person", label: "User name", autocomplete: "username" },
    submit: "Sign in with my passkey",
    run: async (person, method, onPage) => {
      await ctx.ipc.signIn(person, method, onPage);
      await ctx.refresh();
    },
  });
  const enroll = ceremonyForm(ctx, {
    name: "enroll",
    title: "First time here? Enroll this device",
    intro: "Enter the invite code IT sent you. You will register a passkey, and this device will be bound to you.",
    field: { id: "invite", label: "Invite code", autocomplete: "off" },
    submit: "Enroll with my passkey",
    run: async (invite, method, onPage) => {
      const person = await ctx.ipc.enroll(invite, method, onPage);
      ctx.notice(`Welcome, ${person}: this device is enrolled and you are signed in.`);
      await ctx.refresh();
    },
  });
  return h(
    "section",
    { "data-screen": "welcome" },
    h("h1", { tabindex: "-1" }, "Welcome to Daypass"),
    h("p", {}, "Daypass opens exactly the systems your ticket needs, for as long as it needs them."),
    h("div", { class: "columns" }, signIn, enroll),
  );
}
