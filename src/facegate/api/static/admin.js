// The administrator console: everything goes through /api/v1/sites/{site}/... with the
// HttpOnly session cookie; only the site code is kept (sessionStorage) to build the paths.
"use strict";
(() => {
  const { t, api, items, reasonText, when, say, row, button } = window.FG;
  const $ = (id) => document.getElementById(id);
  const SITE_KEY = "fg_admin_site";
  const site = () => sessionStorage.getItem(SITE_KEY);
  const base = () => "/sites/" + encodeURIComponent(site());
  const message = $("console-message");
  let credentialTarget = null;

  function fail(error) { say(message, t("error") + ": " + error.message, "bad"); }

  function showSignin() {
    $("console").hidden = true;
    $("signin").hidden = false;
  }

  async function loadConsole() {
    const info = await api("GET", base());
    $("site-name").textContent = info.name || info.code;
    $("compliance-link").href = "/api/v1" + base() + "/compliance?format=html";
    $("signin").hidden = true;
    $("console").hidden = false;
    await Promise.all([loadResidents(), loadGates(), loadDevices(), loadDecisions(), loadNotice()]
      .map((p) => p.catch(fail)));
  }

  function showSecret(label, who, value, expires) {
    $("secret-label").textContent = label;
    $("secret-for").textContent = who;
    $("secret-value").textContent = value;
    $("secret-note").textContent = (expires ? t("expires_at") + " " + when(expires) + " · " : "")
      + t("shown_once");
    $("secret-output").hidden = false;
  }

  async function loadResidents() {
    const body = $("residents").querySelector("tbody");
    const subjects = items(await api("GET", base() + "/subjects"));
    body.replaceChildren();
    for (const subject of subjects) {
      const who = subject.name || subject.id;
      const path = base() + "/subjects/" + encodeURIComponent(subject.id);
      const actions = document.createElement("span");
      actions.append(
        button(t("issue_signin_code"), () => api("POST", path + "/signin-codes")
          .then((d) => showSecret(t("signin_code"), who, d.code, d.expires_at)).catch(fail)),
        button(t("issue_otp"), () => api("POST", path + "/credentials/otp")
          .then((d) => showSecret(t("otp_code"), who, d.code, d.expires_at)).catch(fail)),
        button(t("issue_pin"), () => askCredential("pin", subject, who), "secondary"),
        button(t("issue_card"), () => askCredential("card", subject, who), "secondary"),
        button(t("show_credentials"), () => showCredentials(subject, who).catch(fail), "secondary"),
        button(t("paper_consent"), () => askConsent(subject, who), "secondary"),
      );
      if (subject.kind === "resident" && !subject.moved_out_at) {
        actions.append(button(t("move_out"), () => moveOut(path, who), "secondary"));
      }
      actions.append(button(t("delete_subject"), () => deleteSubject(path, who), "danger"));
      const status = subject.moved_out_at ? t("status_moved_out") : t("status_" + subject.status);
      const tr = row([who, subject.resident_number || "", t("kind_" + subject.kind), status,
        subject.has_active_consent ? t("consent_given") : t("consent_none"),
        String(subject.template_count ?? 0), actions]);
      tr.dataset.subjectId = subject.id;
      tr.dataset.residentNumber = subject.resident_number || "";
      tr.dataset.name = who;
      body.append(tr);
    }
  }

  async function moveOut(path, who) {
    if (!confirm(t("confirm_move_out") + "\n" + who)) return;
    try {
      await api("POST", path + "/move-out");
      say(message, t("done") + ": " + t("move_out") + " · " + who, "good");
      await loadResidents();
    } catch (error) { fail(error); }
  }

  async function deleteSubject(path, who) {
    if (!confirm(t("confirm_delete") + "\n" + who)) return;
    try {
      const receipt = await api("DELETE", path + "?reason=request");
      $("receipt-for").textContent = who;
      $("receipt-reason").textContent = t("deletion_reason_" + receipt.reason);
      $("receipt-templates").textContent = String(receipt.templates_deleted);
      $("receipt-credentials").textContent = String(receipt.credentials_deleted);
      $("receipt-keys").textContent = String(receipt.keys_destroyed);
      $("receipt-id").textContent = receipt.id;
      $("receipt-output").hidden = false;
      $("credentials-panel").hidden = true;
      say(message, t("done") + ": " + t("delete_subject") + " · " + who, "good");
      await loadResidents();
    } catch (error) { fail(error); }
  }

  async function showCredentials(subject, who) {
    const path = base() + "/subjects/" + encodeURIComponent(subject.id) + "/credentials";
    const credentials = items(await api("GET", path));
    const body = $("credentials").querySelector("tbody");
    body.replaceChildren();
    for (const c of credentials) {
      const revoke = c.status !== "active" ? "" : button(t("revoke"), () =>
        api("DELETE", base() + "/credentials/" + encodeURIComponent(c.id))
          .then(() => {
            say(message, t("credential_revoked") + " · " + who, "good");
            return showCredentials(subject, who);
          }).catch(fail), "secondary");
      const tr = row([t("credential_kind_" + c.kind), t("credential_status_" + c.status),
        when(c.created_at), revoke]);
      tr.dataset.credentialId = c.id;
      body.append(tr);
    }
    $("credentials-for").textContent = who;
    $("credentials-panel").hidden = false;
  }

  let consentTarget = null;

  function askConsent(subject, who) {
    consentTarget = { subject, who };
    const form = $("consent-form");
    $("consent-for").textContent = t("paper_consent") + " · " + who;
    form.evidence.value = "";
    form.hidden = false;
    form.evidence.focus();
  }

  $("consent-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!consentTarget) return;
    const { subject, who } = consentTarget;
    const json = { evidence: form.evidence.value, method: form.elements["method"].value };
    try {
      await api("POST", base() + "/subjects/" + encodeURIComponent(subject.id) + "/consents",
        { json });
      form.hidden = true;
      say(message, t("done") + ": " + t("record_consent") + " · " + who, "good");
      await loadResidents();
    } catch (error) { fail(error); }
  });

  function askCredential(kind, subject, who) {
    credentialTarget = { kind, subject, who };
    const form = $("credential-form");
    form.querySelector("span").textContent =
      (kind === "pin" ? t("pin") : t("card_number")) + " · " + who;
    form.secret.value = "";
    form.secret.type = kind === "pin" ? "password" : "text";
    form.hidden = false;
    form.secret.focus();
  }

  $("credential-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!credentialTarget) return;
    const { kind, subject, who } = credentialTarget;
    const path = base() + "/subjects/" + encodeURIComponent(subject.id) + "/credentials/" + kind;
    const json = kind === "pin" ? { pin: form.secret.value } : { card_number: form.secret.value };
    try {
      await api("POST", path, { json });
      form.hidden = true;
      say(message, t("done") + ": " + (kind === "pin" ? t("issue_pin") : t("issue_card"))
        + " · " + who, "good");
    } catch (error) { fail(error); }
  });

  async function loadGates() {
    const body = $("gates").querySelector("tbody");
    body.replaceChildren();
    for (const gate of items(await api("GET", base() + "/gates"))) {
      const accepts = ["face", "card", "pin", "otp"].filter((k) => gate["accepts_" + k]);
      const tr = row([gate.code, gate.name, accepts.join(", "), t("liveness_" + gate.liveness),
        button(t("edit"), () => editGate(gate), "secondary")]);
      tr.dataset.gate = gate.code;
      body.append(tr);
    }
  }

  const GATE_KINDS = ["face", "card", "pin", "otp"];
  let gateTarget = null;

  function editGate(gate) {
    gateTarget = gate;
    const form = $("gate-form");
    $("gate-code").textContent = gate.code;
    form.elements["name"].value = gate.name;
    for (const k of GATE_KINDS) form["accepts_" + k].checked = Boolean(gate["accepts_" + k]);
    form.elements["liveness"].value = gate.liveness;
    say($("gate-message"), "");
    form.hidden = false;
  }

  $("gate-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!gateTarget) return;
    const json = { name: form.elements["name"].value, liveness: form.elements["liveness"].value };
    for (const k of GATE_KINDS) json["accepts_" + k] = form["accepts_" + k].checked;
    try {
      const gate = await api("PUT", base() + "/gates/" + encodeURIComponent(gateTarget.code),
        { json });
      form.hidden = true;
      say(message, t("done") + ": " + t("edit_gate") + " · " + gate.code, "good");
      await loadGates();
    } catch (error) {
      // The API's own words: e.g. why a face-only gate is refused.
      say($("gate-message"), error.message, "bad");
    }
  });

  async function loadDevices() {
    const body = $("devices").querySelector("tbody");
    body.replaceChildren();
    for (const device of items(await api("GET", base() + "/devices"))) {
      const revoke = device.revoked_at ? "" : button(t("revoke"), () =>
        api("DELETE", base() + "/devices/" + encodeURIComponent(device.id))
          .then(loadDevices).catch(fail), "secondary");
      body.append(row([device.name, (device.gates || []).join(", "),
        device.revoked_at ? t("revoke") + " " + when(device.revoked_at) : "", revoke]));
    }
  }

  async function loadDecisions() {
    const body = $("decisions").querySelector("tbody");
    body.replaceChildren();
    for (const decision of items(await api("GET", base() + "/decisions?limit=50"))) {
      const d = decision.detail || {};
      // A failed liveness check names which check refused the face (d.check), never a score.
      const reason = reasonText(d.reason) + (d.check ? " · " + t("check_" + d.check) : "");
      body.append(row([when(decision.at), d.gate, d.kind,
        d.outcome ? t("outcome_" + d.outcome) : decision.action, reason]));
    }
  }

  async function loadNotice() {
    const notices = items(await api("GET", base() + "/notices"));
    const current = notices.reduce((a, b) => (!a || (b.seq ?? 0) > (a.seq ?? 0) ? b : a), null);
    const form = $("notice-form");
    $("notice-current").textContent = current ? current.version : t("none");
    form.content.value = current ? JSON.stringify(current.content, null, 2) : "";
  }

  $("admin-signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    say($("signin-message"), t("working"));
    try {
      const session = await api("POST", "/auth/admin",
        { json: { username: form.username.value, password: form.password.value } });
      form.password.value = "";
      sessionStorage.setItem(SITE_KEY, session.site);
      say($("signin-message"), "");
      await loadConsole();
    } catch (error) { say($("signin-message"), error.message, "bad"); }
  });

  $("sign-out").addEventListener("click", async () => {
    try { await api("POST", "/auth/logout"); } catch (error) { /* signed out either way */ }
    sessionStorage.removeItem(SITE_KEY);
    showSignin();
  });

  $("add-resident").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const json = { name: form.elements["name"].value, kind: form.kind.value, adult: form.adult.checked };
    if (form.expires.value) json.expires = form.expires.value + "T23:59:59Z";
    try {
      const subject = await api("POST", base() + "/subjects", { json });
      form.reset();
      say(message, t("done") + ": " + t("add_resident") + " · " + (subject.name || ""), "good");
      await loadResidents();
    } catch (error) { fail(error); }
  });

  $("add-device").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const gates = form.gates.value.split(",").map((g) => g.trim()).filter(Boolean);
    try {
      const made = await api("POST", base() + "/devices", { json: { name: form.elements["name"].value, gates } });
      const link = location.origin + "/kiosk#gate=" + encodeURIComponent(gates[0])
        + "&key=" + encodeURIComponent(made.api_key);
      $("device-key").textContent = made.api_key;
      $("kiosk-link").href = link;
      $("kiosk-link").textContent = link;
      $("device-output").hidden = false;
      form.elements["name"].value = "";
      await loadDevices();
    } catch (error) { fail(error); }
  });

  $("refresh-decisions").addEventListener("click", () => loadDecisions().catch(fail));

  $("verify-audit").addEventListener("click", async () => {
    try {
      const r = await api("POST", base() + "/audit/verify");
      say($("audit-result"), r.ok ? "✔ " + r.events_checked
        : "✘ #" + r.first_bad_event_id + " " + (r.reason || ""), r.ok ? "good" : "bad");
    } catch (error) { say($("audit-result"), error.message, "bad"); }
  });

  $("run-retention").addEventListener("click", async () => {
    try {
      const r = await api("POST", base() + "/retention/run");
      const erased = Object.entries(r.erased || {}).map(([k, v]) => k + ": " + v).join(", ");
      say($("retention-result"), "✔ " + (erased || "0"), "good");
    } catch (error) { say($("retention-result"), error.message, "bad"); }
  });

  $("notice-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    let content;
    try { content = JSON.parse(form.content.value); } catch (error) {
      say(message, t("invalid_json"), "bad");
      return;
    }
    try {
      const r = await api("POST", base() + "/notices", { json: { version: form.version.value, content } });
      form.version.value = "";
      say(message, t("done") + ": " + t("publish_notice") + " " + r.notice.version, "good");
      await loadNotice();
    } catch (error) { fail(error); }
  });

  (async () => {
    if (site()) {
      try { await loadConsole(); return; } catch (error) { sessionStorage.removeItem(SITE_KEY); }
    }
    showSignin();
  })();
})();
