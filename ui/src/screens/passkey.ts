// The passkey part shared by enrollment and sign-in: the choice of method, and the browser
// address shown while the browser confirms.

import type { PasskeyMethod } from "../bindings";
import { h } from "../dom";

export const METHOD_LABEL: Record<PasskeyMethod, string> = {
  security_key: "Security key (USB) or this computer's passkey dialog",
  browser: "Passkey in my web browser (phone, synced or platform passkey)",
  test_token: "Test token (demo and tests only)",
};

export function methodChoice(name: string, methods: PasskeyMethod[]): HTMLElement {
  return h(
    "fieldset",
    {},
    h("legend", {}, "Confirm with"),
    methods.map((m, i) =>
      h(
        "label",
        { class: "choice" },
        h("input", { type: "radio", name, value: m, checked: i === 0 }),
        METHOD_LABEL[m],
      ),
    ),
  );
}

export function chosenMethod(form: HTMLFormElement, name: string): PasskeyMethod {
  const picked = form.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`);
  return (picked?.value ?? "security_key") as PasskeyMethod;
}

/// Where the browser address appears when the browser method is used.
export function browserHint(): { el: HTMLElement; showPage(url: string): void } {
  const el = h("p", { class: "hint", hidden: true });
  return {
    el,
    showPage(url: string) {
      el.hidden = false;
      el.replaceChildren(
        "Confirm in your browser. If it did not open, open this address: ",
        h("a", { href: url, target: "_blank", rel: "noreferrer" }, url),
      );
    },
  };
}
