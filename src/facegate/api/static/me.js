// Resident self-service: sign in with the front desk's code, read the notice in both
// languages, give (explicitly) or withdraw face consent, export, alternative credentials.
"use strict";
(() => {
  const { t, api, items, when, say, download } = window.FG;
  const $ = (id) => document.getElementById(id);
  const message = $("me-message");
  // Each language's column is labelled in that language.
  const LABELS = JSON.parse($("fg-notice-labels").textContent);
  let noticeVersion = null;

  function fail(error) { say(message, t("error") + ": " + error.message, "bad"); }

  function showSignin() {
    $("self").hidden = true;
    $("signin").hidden = false;
  }

  async function load() {
    const me = await api("GET", "/me");
    const subject = me.subject;
    $("me-name").textContent = subject.name || "";
    $("me-number").textContent = subject.resident_number || "";
    const usable = items(me.consents).filter((c) => c.usable);
    $("me-consent").textContent = subject.has_active_consent
      ? t("consent_given") + (usable.length ? " · " + usable[0].notice_version + " · "
        + when(usable[0].given_at) : "")
      : t("consent_none");
    $("me-consent").dataset.state = subject.has_active_consent ? "given" : "none";
    $("me-templates").textContent = String(subject.template_count ?? 0);
    $("me-reenroll").hidden = !me.face_reenroll;
    const credentials = items(me.credentials).filter((c) => c.status === "active");
    $("me-credentials").textContent = credentials.length
      ? credentials.map((c) => t("use_" + c.kind)).join(", ") : t("none");
    $("consent-give").disabled = !$("consent-check").checked;
    $("consent-withdraw").disabled = !subject.has_active_consent;
    $("signin").hidden = true;
    $("self").hidden = false;
    await loadNotice();
  }

  async function loadNotice() {
    const notice = await api("GET", "/me/notice");
    noticeVersion = notice.version;
    $("notice-version").textContent = notice.version;
    const texts = (notice.content && notice.content.texts) || {};
    for (const lang of ["zh", "en"]) {
      const list = $("notice-" + lang);
      list.replaceChildren();
      for (const [field, label] of LABELS[lang]) {
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.textContent = (texts[lang] || {})[field] || "";
        list.append(dt, dd);
      }
    }
  }

  $("resident-signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    say($("signin-message"), t("working"));
    try {
      await api("POST", "/auth/resident",
        { json: { site: form.site.value.trim(), code: form.code.value.trim() } });
      form.code.value = "";
      say($("signin-message"), "");
      await load();
    } catch (error) { say($("signin-message"), error.message, "bad"); }
  });

  $("sign-out").addEventListener("click", async () => {
    try { await api("POST", "/auth/logout"); } catch (error) { /* signed out either way */ }
    showSignin();
  });

  // consent is a separate, explicit act: the box starts unticked and the button
  // stays disabled until the resident ticks it.
  $("consent-check").addEventListener("change", (event) => {
    $("consent-give").disabled = !event.currentTarget.checked;
  });

  $("consent-give").addEventListener("click", async () => {
    if (!$("consent-check").checked) {
      say(message, t("consent_tick_first"), "bad");
      return;
    }
    try {
      await api("POST", "/me/consent", { json: { accept: true, notice_version: noticeVersion } });
      $("consent-check").checked = false;
      say(message, t("consent_given"), "good");
      await load();
    } catch (error) { fail(error); }
  });

  $("consent-withdraw").addEventListener("click", async () => {
    try {
      await api("POST", "/me/consent/withdraw");
      say(message, t("done") + ": " + t("consent_withdraw"), "good");
      await load();
    } catch (error) { fail(error); }
  });

  $("delete-face").addEventListener("click", async () => {
    try {
      await api("DELETE", "/me/face");
      say(message, t("face_deleted"), "good");
      await load();
    } catch (error) { fail(error); }
  });

  $("export").addEventListener("click", async () => {
    try { download("facegate-my-data.json", await api("GET", "/me/export")); } catch (error) {
      fail(error);
    }
  });

  $("pin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    try {
      await api("POST", "/me/credentials/pin", { json: { pin: form.pin.value } });
      form.pin.value = "";
      say(message, t("pin_set"), "good");
      await load();
    } catch (error) { fail(error); }
  });

  $("get-otp").addEventListener("click", async () => {
    try {
      const issued = await api("POST", "/me/credentials/otp");
      $("otp-value").textContent = issued.code;
      $("otp-expires").textContent = when(issued.expires_at);
      $("otp-output").hidden = false;
    } catch (error) { fail(error); }
  });

  load().catch(showSignin);
})();
