// The broker's pages: sign in or enroll with a passkey (the broker sets the session cookie), and,
// signed in, add another passkey after confirming with an existing one. Changes carry the
// session's CSRF token from the page's <meta name="csrf-token">.
"use strict";

(() => {
  const status = document.getElementById("status");
  const csrf = document.querySelector('meta[name="csrf-token"]');

  async function call(path, body) {
    const headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf.content;
    const resp = await fetch(path, {
      method: "POST",
      headers,
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    const answer = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(answer.detail || resp.statusText);
    return answer;
  }

  // One ceremony: start it, ask the authenticator, finish it; resolves to the broker's answer.
  async function ceremony(kind, start) {
    const challenge = await call("/console/api/" + kind + "/start", start);
    status.textContent = "Waiting for your passkey…";
    const credential = await Webauthn.perform(challenge.options);
    return call("/console/api/" + kind + "/finish", { ceremony: challenge.ceremony, credential });
  }

  function on(formId, action) {
    const form = document.getElementById(formId);
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button");
      button.disabled = true;
      status.textContent = "Starting…";
      try {
        await action(form);
      } catch (e) {
        status.textContent = e.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  on("sign-in", async (form) => {
    const answer = await ceremony("sign-in", { person: form.elements.person.value });
    location.assign(answer.next);
  });

  on("enroll", async (form) => {
    const answer = await ceremony("enroll", { invite: form.elements.invite.value });
    location.assign(answer.next);
  });

  on("add-passkey", async (form) => {
    status.textContent = "First confirm with a passkey you have.";
    await ceremony("step-up");
    await ceremony("passkeys/add", { name: form.elements.name.value });
    location.reload();
  });
})();
