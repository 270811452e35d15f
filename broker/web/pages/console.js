// The broker's pages: sign in or enroll with a passkey (the broker sets the session cookie); signed
// in, add another passkey after confirming with an existing one, make the pages' changes (approve
// after a passkey confirmation, deny, revoke, invite, answer access reviews from the keyboard, …)
// and keep live sections up to date. Changes carry the session's CSRF token from the page's
// <meta name="csrf-token">.
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

  // Sections that follow the broker by themselves: each names a small JSON address (data-watch)
  // and what it said when the page was made (data-seen); when that changes, the section is fetched
  // again and replaced, without reloading the page.
  // Fetches the page once and replaces the sections with these ids by their fresh copies.
  async function refresh(ids) {
    const resp = await fetch(location.pathname + location.search, { credentials: "same-origin" });
    if (!resp.ok) return;
    const page = new DOMParser().parseFromString(await resp.text(), "text/html");
    for (const id of ids) {
      const fresh = page.getElementById(id);
      const current = document.getElementById(id);
      if (fresh && current) current.replaceWith(document.adoptNode(fresh));
    }
  }

  async function watchAll() {
    for (const section of document.querySelectorAll("[data-watch]")) {
      // Someone typing in a form is not interrupted; the section catches up on the next round.
      if (section.contains(document.activeElement) && document.activeElement.tagName === "INPUT") continue;
      try {
        const resp = await fetch(section.dataset.watch, { credentials: "same-origin" });
        if (!resp.ok) continue;
        if (JSON.stringify(await resp.json()) !== section.dataset.seen) await refresh([section.id]);
      } catch (_) {
        // The broker is briefly unreachable: try again on the next round.
      }
    }
  }
  if (document.querySelector("[data-watch]")) setInterval(watchAll, 3000);

  // The reviews page: answers go with the reason typed once above the list; the next item takes
  // the focus after each answer. Keys, outside text fields: j/↓ next, k/↑ previous, x select,
  // a select all, y keep, n remove, b keep the selected (after a passkey confirmation), / the
  // reason; Esc in the reason goes back to the list.
  const reviewRows = () => [...document.querySelectorAll("#desk tr[data-item]")];

  async function review(ids, verdict, row) {
    const reason = document.getElementById("review-reason");
    if (!reason.value.trim()) {
      status.textContent = "Type the reason for your answer first (press / to go there).";
      reason.focus();
      return;
    }
    const at = Math.max(0, reviewRows().indexOf(row));
    try {
      let answer;
      if (verdict === "bulk-keep") {
        status.textContent = "Confirm with your passkey to keep " + ids.length + " items.";
        await ceremony("step-up");
        answer = await call("/console/api/reviews/keep", { items: ids, reason: reason.value });
      } else {
        answer = await call("/console/api/reviews/items/" + ids[0], { verdict, reason: reason.value });
      }
      await refresh(["desk"]);
      const rows = reviewRows();
      const next = rows[Math.min(at, rows.length - 1)];
      if (next) next.focus();
      status.textContent = answer.message;
    } catch (e) {
      status.textContent = e.message;
    }
  }

  function keepSelected() {
    const ids = [...document.querySelectorAll("#desk input.pick:checked")].map((box) => box.value);
    if (ids.length === 0) {
      status.textContent = "Select the items to keep first (x, or a for all).";
      return;
    }
    review(ids, "bulk-keep", null);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("#desk button[data-verdict]");
    if (button) {
      const row = button.closest("tr[data-item]");
      review([row.dataset.item], button.dataset.verdict, row);
    } else if (event.target.closest("#keep-selected")) {
      keepSelected();
    }
  });

  document.addEventListener("keydown", (event) => {
    if (!document.getElementById("desk") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.matches("input:not([type=checkbox]), select, textarea")) {
      if (event.key === "Escape") (reviewRows()[0] || event.target).focus();
      return;
    }
    const rows = reviewRows();
    const row = event.target.closest ? event.target.closest("tr[data-item]") : null;
    const at = rows.indexOf(row);
    const move = (to) => rows[Math.max(0, Math.min(rows.length - 1, to))]?.focus();
    const actions = {
      j: () => move(at + 1),
      ArrowDown: () => move(at + 1),
      k: () => move(at < 0 ? 0 : at - 1),
      ArrowUp: () => move(at < 0 ? 0 : at - 1),
      x: () => {
        const box = row && row.querySelector("input.pick");
        if (box) box.checked = !box.checked;
      },
      a: () => rows.forEach((r) => (r.querySelector("input.pick").checked = true)),
      y: () => row && review([row.dataset.item], "keep", row),
      n: () => row && review([row.dataset.item], "remove", row),
      b: () => keepSelected(),
      "/": () => document.getElementById("review-reason").focus(),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // Forms that change something (class "act"): their fields go as JSON to data-endpoint, after a
  // passkey confirmation first when the form asks for one (data-step-up); the broker's answer is
  // shown, and the sections of the page are brought up to date.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.classList.contains("act")) return;
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      if (form.dataset.stepUp) {
        status.textContent = "Confirm with your passkey to " + form.dataset.stepUp + ".";
        await ceremony("step-up");
      }
      const fields = Object.fromEntries(new FormData(form).entries());
      const answer = await call(form.dataset.endpoint, fields);
      // The sections first, then the answer: whoever reads the answer finds the page as it now is
      // (and does not type into a form that is about to be replaced).
      await refresh([...document.querySelectorAll("main section[id]")].map((section) => section.id));
      status.textContent = answer.message || form.dataset.done || "Done.";
    } catch (e) {
      status.textContent = e.message;
    } finally {
      button.disabled = false;
    }
  });
})();
