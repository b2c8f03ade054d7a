// Resident self-service: sign in with the front desk's code, see where you are (a checklist
// and the next step), read the notice in both languages, give (explicitly) or withdraw face
// consent (withdrawal and deletion asked once more in a dialog), export, ways in without face.
"use strict";
(() => {
  const { t, api, act, items, when, say, download } = window.FG;
  const $ = (id) => document.getElementById(id);
  // Each language's column is labelled in that language.
  const LABELS = JSON.parse($("fg-notice-labels").textContent);
  let noticeVersion = null;

  function showSignin() {
    $("self").hidden = true;
    $("signin").hidden = false;
  }

  /** The checklist and the one next step, from what /me says. */
  function showProgress(subject, credentials) {
    const consented = Boolean(subject.has_active_consent);
    const enrolled = (subject.template_count ?? 0) > 0;
    const steps = {
      // The notice is on this page; having consented means it was read and accepted.
      notice: consented || enrolled,
      consent: consented,
      face: enrolled,
      alt: credentials.length > 0,
    };
    for (const item of $("me-steps").querySelectorAll("li")) {
      const done = steps[item.dataset.step];
      item.dataset.done = done ? "yes" : "no";
      item.querySelector(".me-step-state").textContent = t(done ? "me_step_done" : "me_step_todo");
    }
    const next = !consented ? "me_next_consent" : enrolled ? "me_next_ready" : "me_next_enroll";
    $("me-next").textContent = t(next);
    $("me-next-box").dataset.next = next;
  }

  async function load() {
    const me = await api("GET", "/me");
    const subject = me.subject;
    $("me-name").textContent = subject.name || subject.display_name || "";
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
      ? [...new Set(credentials.map((c) => t("use_" + c.kind)))].join(", ") : t("none");
    showProgress(subject, credentials);
    $("consent-give").disabled = !$("consent-check").checked;
    $("consent-withdraw").disabled = !subject.has_active_consent;
    $("delete-face").disabled = !subject.has_active_consent && !subject.template_count;
    $("signin").hidden = true;
    $("self").hidden = false;
    await loadNotice();
    document.dispatchEvent(new CustomEvent("fg:resident"));
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

  /**
   * Ask once more before an act that erases data: resolves true only for the dialog's
   * confirm button (cancel, Escape or closing it do nothing).
   */
  function confirmed(which) {
    const dialog = $("confirm");
    $("confirm-title").textContent = t("me_confirm_" + which + "_title");
    $("confirm-body").textContent = t("me_confirm_" + which + "_body");
    $("confirm-yes").textContent = t("me_confirm_" + which + "_yes");
    dialog.dataset.which = which;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"),
        { once: true });
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }

  $("resident-signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    act(form, $("signin-message"), async () => {
      await api("POST", "/auth/resident",
        { json: { site: form.site.value.trim(), code: form.code.value.trim() } });
      form.code.value = "";
      await load();
    });
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

  const consentMessage = $("consent-message");

  $("consent-give").addEventListener("click", (event) => {
    if (!$("consent-check").checked) {
      say(consentMessage, t("consent_tick_first"), "bad");
      return;
    }
    act(event.currentTarget, consentMessage, async (key) => {
      await api("POST", "/me/consent",
        { json: { accept: true, notice_version: noticeVersion }, key });
      $("consent-check").checked = false;
      await load();
      say(consentMessage, t("consent_given") + " · " + $("me-next").textContent, "good");
    });
  });

  $("consent-withdraw").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    if (!(await confirmed("withdraw"))) return;
    act(button, consentMessage, async (key) => {
      await api("POST", "/me/consent/withdraw", { key });
      await load();
      say(consentMessage, t("me_withdrawn"), "good");
    });
  });

  $("delete-face").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    if (!(await confirmed("delete"))) return;
    act(button, consentMessage, async () => {
      await api("DELETE", "/me/face");
      await load();
      say(consentMessage, t("face_deleted"), "good");
    });
  });

  $("export").addEventListener("click", (event) => {
    act(event.currentTarget, $("export-message"), async () => {
      download("facegate-my-data.json", await api("GET", "/me/export"));
    });
  });

  $("pin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const message = $("pin-message");
    act(form, message, async (key) => {
      try {
        await api("POST", "/me/credentials/pin", { json: { pin: form.pin.value }, key });
      } catch (error) {
        // The rule is on screen already; say it again with the refusal.
        if (error.status === 422) error.reason = error.reason || "pin_rule";
        throw error;
      } finally {
        form.pin.value = "";
      }
      await load();
      say(message, t("pin_set"), "good");
    });
  });

  $("get-otp").addEventListener("click", (event) => {
    act(event.currentTarget, $("otp-message"), async (key) => {
      const issued = await api("POST", "/me/credentials/otp", { key });
      $("otp-value").textContent = issued.code;
      $("otp-expires").textContent = when(issued.expires_at);
      $("otp-output").hidden = false;
      await load();
      $("otp-output").scrollIntoView({ block: "nearest" });
    });
  });

  load().catch(showSignin);
})();
