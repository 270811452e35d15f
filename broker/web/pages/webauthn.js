// The browser side of a passkey ceremony, shared by the broker's pages: turns the broker's options
// (base64url JSON, as webauthn-rs sends them) into what navigator.credentials wants, and the
// authenticator's answer back into JSON for the broker.
"use strict";

const Webauthn = (() => {
  function fromB64url(s) {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
  }

  function toB64url(buf) {
    let s = "";
    for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
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

  // Whether the options ask to create a passkey (they name a user) rather than to use one.
  function registers(options) {
    return Boolean(options.publicKey.user);
  }

  // Asks the authenticator; resolves to the answer as JSON for the broker. A cancelled or timed-out
  // ceremony rejects with an Error whose `cancelled` is true.
  async function perform(options) {
    const publicKey = options.publicKey;
    publicKey.challenge = fromB64url(publicKey.challenge);
    for (const list of [publicKey.excludeCredentials, publicKey.allowCredentials]) {
      for (const c of list || []) c.id = fromB64url(c.id);
    }
    try {
      if (registers(options)) {
        publicKey.user.id = fromB64url(publicKey.user.id);
        return registrationJson(await navigator.credentials.create({ publicKey }));
      }
      return assertionJson(await navigator.credentials.get({ publicKey }));
    } catch (e) {
      const error = new Error(
        e.name === "NotAllowedError"
          ? "No passkey was used: the request was cancelled or timed out, or this device has no passkey for this account."
          : "Your passkey could not be used: " + e.message,
      );
      error.cancelled = e.name === "NotAllowedError";
      throw error;
    }
  }

  return { perform, registers };
})();
