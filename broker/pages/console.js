// The broker's pages: sign in or enroll with a passkey (the broker sets the session cookie); signed
// in, add another passkey after confirming with an existing one, and approve (after confirming with
// a passkey) or deny requests on the approvals page, whose list follows new requests. Changes carry
// the session's CSRF token from the page's <meta name="csrf-token">.
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

  // The approvals page: decisions on the requests in #inbox, which follows new requests by itself.
  const inbox = document.getElementById("inbox");
  if (inbox) {
    async function refreshInbox() {
      const resp = await fetch(location.pathname, { credentials: "same-origin" });
      if (!resp.ok) return;
      const page = new DOMParser().parseFromString(await resp.text(), "text/html");
      const fresh = page.getElementById("inbox");
      if (fresh) document.getElementById("inbox").replaceWith(document.adoptNode(fresh));
    }

    async function decide(form, path, body, done) {
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        await call("/console/api/requests/" + form.dataset.request + "/" + path, body);
        status.textContent = done;
        await refreshInbox();
      } catch (e) {
        status.textContent = e.message;
        button.disabled = false;
      }
    }

    document.addEventListener("submit", async (event) => {
      const form = event.target;
      if (form.classList.contains("approve")) {
        event.preventDefault();
        status.textContent = "Confirm with your passkey to approve.";
        try {
          await ceremony("step-up");
        } catch (e) {
          status.textContent = e.message;
          return;
        }
        await decide(form, "approve", { comment: form.elements.comment.value || null }, "Approved.");
      } else if (form.classList.contains("deny")) {
        event.preventDefault();
        await decide(form, "deny", { reason: form.elements.reason.value }, "Denied.");
      }
    });

    // Someone typing in a form is not interrupted; the list catches up on the next round.
    setInterval(async () => {
      const current = document.getElementById("inbox");
      if (current.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
      try {
        const resp = await fetch("/console/api/approvals", { credentials: "same-origin" });
        if (!resp.ok) return;
        const ids = (await resp.json()).join(",");
        if (ids !== current.dataset.ids) await refreshInbox();
      } catch (_) {
        // The broker is briefly unreachable: try again on the next round.
      }
    }, 3000);
  }
})();
