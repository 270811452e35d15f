// Runs one passkey ceremony that the Daypass app (or CLI) started: fetches its options from the
// broker, asks the browser's authenticator, and posts the answer back to the app's loopback address
// with the state value the app chose. Nothing is kept in the page.
"use strict";

const params = new URLSearchParams(location.search);
const status = document.getElementById("status");
const retry = document.getElementById("retry");

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
    options = body.options;
  } catch (e) {
    status.textContent = "This sign-in cannot continue: " + e.message;
    sendBack({ error: "the broker said: " + e.message });
    return;
  }
  document.getElementById("what").textContent = Webauthn.registers(options)
    ? "Create a passkey for your Daypass account on this device."
    : "Sign in to Daypass with your passkey.";
  status.textContent = "Waiting for your passkey…";
  try {
    const credential = await Webauthn.perform(options);
    status.textContent = "Done. You can close this window and return to Daypass.";
    sendBack({ credential: JSON.stringify(credential) });
  } catch (e) {
    status.textContent = e.message;
    retry.hidden = false;
    sendBack({ error: e.cancelled ? "cancelled in the browser" : e.message });
  }
}

retry.addEventListener("click", run);
run();
