// Runs one passkey ceremony that the Daypass app (or CLI) started: fetches its options from the
// broker, asks the browser's authenticator, and posts the answer back to the app's loopback address
// with the state value the app chose. Nothing is kept in the page.
"use strict";

const params = new URLSearchParams(location.search);
const status = document.getElementById("status");
const retry = document.getElementById("retry");

function fromB64url(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buf) {
  let s = "";
  for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Only the app on this machine may receive the answer.
function loopback(raw) {
  try {
    const u = new URL(raw);
    const local = u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]";
    return u.protocol === "http:" && local ? u : null;
  } catch (_) {
    return null;
  }
}

function sendBack(fields) {
  const back = loopback(params.get("return") || "");
  const form = document.getElementById("back");
  form.action = back.href;
  form.elements.state.value = params.get("state") || "";
  form.elements.credential.value = fields.credential || "";
  form.elements.error.value = fields.error || "";
  form.submit();
}

function registrationJson(c) {
  return {
    id: c.id,
    rawId: toB64url(c.rawId),
    type: c.type,
    extensions: {},
    response: {
      attestationObject: toB64url(c.response.attestationObject),
      clientDataJSON: toB64url(c.response.clientDataJSON),
    },
  };
}

function assertionJson(c) {
  return {
    id: c.id,
    rawId: toB64url(c.rawId),
    type: c.type,
    extensions: {},
    response: {
      authenticatorData: toB64url(c.response.authenticatorData),
      clientDataJSON: toB64url(c.response.clientDataJSON),
      signature: toB64url(c.response.signature),
      userHandle: c.response.userHandle ? toB64url(c.response.userHandle) : null,
    },
  };
}

async function run() {
  retry.hidden = true;
  if (!loopback(params.get("return") || "") || !params.get("state") || !params.get("c")) {
    status.textContent = "This link is incomplete. Start again from the Daypass app.";
    return;
  }
  let options;
  try {
    const resp = await fetch("/api/v1/passkeys/ceremonies/" + encodeURIComponent(params.get("c")));
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.detail || resp.statusText);
    options = body.options.publicKey;
  } catch (e) {
    status.textContent = "This sign-in cannot continue: " + e.message;
    sendBack({ error: "the broker said: " + e.message });
    return;
  }
  const registering = Boolean(options.user);
  document.getElementById("what").textContent = registering
    ? "Create a passkey for your Daypass account on this device."
    : "Sign in to Daypass with your passkey.";
  status.textContent = "Waiting for your passkey…";
  options.challenge = fromB64url(options.challenge);
  for (const list of [options.excludeCredentials, options.allowCredentials]) {
    for (const c of list || []) c.id = fromB64url(c.id);
  }
  try {
    let credential;
    if (registering) {
      options.user.id = fromB64url(options.user.id);
      credential = registrationJson(await navigator.credentials.create({ publicKey: options }));
    } else {
      credential = assertionJson(await navigator.credentials.get({ publicKey: options }));
    }
    status.textContent = "Done. You can close this window and return to Daypass.";
    sendBack({ credential: JSON.stringify(credential) });
  } catch (e) {
    const cancelled = e.name === "NotAllowedError";
    status.textContent = cancelled
      ? "The passkey request was cancelled or timed out."
      : "Your passkey could not be used: " + e.message;
    retry.hidden = false;
    sendBack({ error: cancelled ? "cancelled in the browser" : e.message });
  }
}

retry.addEventListener("click", run);
run();
