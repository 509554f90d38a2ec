// The "Use a passkey" button of the second-step page: asks identity for WebAuthn options, lets the browser's
// authenticator answer (WebAuthn Level 3 JSON helpers), sends the answer back, then goes where identity says.
(function () {
  "use strict";
  var button = document.getElementById("passkey");
  var failed = document.getElementById("passkey-failed");
  if (!button) return;
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    button.hidden = true;
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async function () {
    var headers = { "X-CSRF-Token": button.dataset.csrf, "Content-Type": "application/json" };
    failed.hidden = true;
    try {
      var options = await fetch("passkey/options", { method: "POST", headers: headers, credentials: "same-origin" });
      if (!options.ok) throw new Error("no options");
      var ceremony = await options.json();
      var credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(ceremony.public_key),
      });
      var answer = await fetch("passkey", {
        method: "POST",
        headers: headers,
        credentials: "same-origin",
        body: JSON.stringify({
          challenge_id: ceremony.challenge_id,
          credential: credential.toJSON(),
          next: button.dataset.next || "",
        }),
      });
      if (!answer.ok) throw new Error("refused");
      window.location.assign((await answer.json()).location);
    } catch (error) {
      failed.hidden = false;
    }
  });
})();
