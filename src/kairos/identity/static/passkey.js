// Passkeys on identity's pages: the "Sign in with a passkey" button of the sign-in page (and, where the browser
// offers it, the passkey in the e-mail field's autofill: WebAuthn conditional mediation), and "Use a passkey
// instead" on the second-step page. Asks identity for WebAuthn options, lets the browser's authenticator answer
// (WebAuthn Level 3 JSON helpers), sends the answer back, then goes where identity says. Without this script, or
// in a browser without passkeys, the button stays hidden and the forms work as they are.
(function () {
  "use strict";
  var button = document.getElementById("passkey");
  var failed = document.getElementById("passkey-failed");
  if (!button) return;
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    button.hidden = true;
    return;
  }
  var optionsUrl = button.dataset.options || "passkey/options";
  var answerUrl = button.dataset.answer || "passkey";
  var headers = { "X-CSRF-Token": button.dataset.csrf, "Content-Type": "application/json" };
  var waiting = null; // the autofill's pending request, abandoned when the button is pressed

  async function ceremony(mediation, signal) {
    var options = await fetch(optionsUrl, { method: "POST", headers: headers, credentials: "same-origin" });
    if (!options.ok) throw new Error("no options");
    var asked = await options.json();
    var request = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(asked.public_key) };
    if (mediation) request.mediation = mediation;
    if (signal) request.signal = signal;
    var credential = await navigator.credentials.get(request);
    var answer = await fetch(answerUrl, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: JSON.stringify({
        challenge_id: asked.challenge_id,
        credential: credential.toJSON(),
        next: button.dataset.next || "",
      }),
    });
    if (!answer.ok) throw new Error("refused");
    window.location.assign((await answer.json()).location);
  }

  button.hidden = false;
  ["passkey-section", "passkey-help"].forEach(function (id) {
    var shown = document.getElementById(id);
    if (shown) shown.hidden = false;
  });
  button.addEventListener("click", async function () {
    if (waiting) waiting.abort();
    waiting = null;
    failed.hidden = true;
    button.setAttribute("aria-busy", "true");
    try {
      await ceremony(null, null);
    } catch (error) {
      failed.hidden = false;
    } finally {
      button.removeAttribute("aria-busy");
    }
  });

  if (button.dataset.conditional === "true" && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available) return;
      waiting = new AbortController();
      ceremony("conditional", waiting.signal).catch(function (error) {
        // Abandoned for the button, or nothing chosen: the person goes on with the password or the button.
        if (error && error.name !== "AbortError" && error.name !== "NotAllowedError") failed.hidden = false;
      });
    });
  }
})();
