// The console's front desk: find a resident, record their paper consent, enroll their face
// from 1-3 photos; and test recognition with a photo at a chosen gate (the answer is the
// gate's decision only: open / deny / try another, never a score). Starts on admin.js's
// "fg:console" event (the session's role and site), and forgets everything on sign-out.
"use strict";
(() => {
  const { t, api, items, say, act, errorText } = window.FG;
  const $ = (id) => document.getElementById(id);
  if (!$("frontdesk")) return;

  // The service's request body limit (settings.max_upload_bytes, 8 MiB by default): the
  // photos of one enrollment travel in one request.
  const MAX_UPLOAD_BYTES = window.FG.limits.max_upload_bytes;
  const MAX_PHOTOS = 3;
  const PHOTO_TYPES = ["image/jpeg", "image/png"];
  const MAX_RESULTS = 20;
  // The roles the server lets enroll and test (the section is shown to them only).
  const DESK_ROLES = ["admin", "operator"];
  let site = null;
  let picked = null;
  let cameraStream = null;
  let cameraPhoto = null;

  const base = () => "/sites/" + encodeURIComponent(site);
  const subjectPath = (id) => base() + "/subjects/" + encodeURIComponent(id);

  /** The console was shown for ``session`` ({ role, site }): the front desk's or admin's. */
  async function start(session) {
    reset();
    if (!DESK_ROLES.includes(session.role)) return;
    site = session.site;
    try {
      await loadGates();
    } catch (error) {
      say($("fd-test-message"), errorText(error), "bad");
    }
  }

  function reset() {
    site = null;
    picked = null;
    cameraPhoto = null;
    for (const id of ["fd-find", "fd-consent", "fd-enroll", "fd-test"]) $(id).reset();
    for (const id of ["fd-find-message", "fd-consent-message", "fd-enroll-message",
      "fd-test-message", "fd-camera-note"]) say($(id), "");
    $("fd-results").replaceChildren();
    $("fd-picked").hidden = true;
    $("fd-test-result").hidden = true;
    stopCamera();
  }

  // ---- Finding a resident -------------------------------------------------------------

  /** A page of the site's active residents matching ``query`` (name, resident number or
   * household: the server's search). */
  async function findResidents(query) {
    const params = new URLSearchParams({ status: "active", per_page: String(MAX_RESULTS) });
    if (query) params.set("q", query);
    return items(await api("GET", base() + "/subjects/search?" + params));
  }

  $("fd-find").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const query = form.elements["q"].value.trim();
    const note = $("fd-find-message");
    say(note, "");
    try {
      const found = (await findResidents(query))
        .filter((s) => s.status === "active" && !s.moved_out_at).slice(0, MAX_RESULTS);
      showResults(found);
      if (!found.length) say(note, t("fd_no_results"));
    } catch (error) {
      say(note, errorText(error), "bad");
    }
  });

  function showResults(subjects) {
    const list = $("fd-results");
    list.replaceChildren();
    for (const subject of subjects) {
      const li = document.createElement("li");
      li.dataset.subjectId = subject.id;
      const who = document.createElement("span");
      who.textContent = (subject.name || subject.id)
        + (subject.resident_number ? " · " + subject.resident_number : "");
      const state = document.createElement("span");
      state.className = "fd-result-consent";
      showConsent(state, subject);
      const choose = document.createElement("button");
      choose.type = "button";
      choose.className = "secondary";
      choose.textContent = t("fd_pick");
      choose.addEventListener("click", () => pick(subject.id));
      li.append(who, state, choose);
      list.append(li);
    }
  }

  function showConsent(element, subject) {
    element.classList.toggle("good", Boolean(subject.has_active_consent));
    element.classList.toggle("warn", !subject.has_active_consent);
    element.textContent = subject.has_active_consent ? t("consent_given") : t("consent_none");
  }

  async function pick(id) {
    try {
      picked = await api("GET", subjectPath(id));
    } catch (error) {
      say($("fd-find-message"), errorText(error), "bad");
      return;
    }
    $("fd-picked-name").textContent = picked.name || picked.id;
    const number = picked.resident_number;
    $("fd-picked-number").textContent = number ? "· " + number : "";
    for (const id of ["fd-consent-message", "fd-enroll-message"]) say($(id), "");
    $("fd-consent").hidden = true;
    $("fd-enroll").reset();
    showPicked();
    $("fd-picked").hidden = false;
    $("fd-picked").scrollIntoView({ block: "nearest" });
  }

  function showPicked() {
    const consented = Boolean(picked.has_active_consent);
    const state = $("fd-consent-state");
    state.textContent = consented ? t("fd_consent_on_record") : t("fd_consent_missing");
    state.className = "fd-consent " + (consented ? "good" : "warn");
    $("fd-consent-open").hidden = consented;
    $("fd-picked-templates").textContent = String(picked.template_count ?? 0);
  }

  async function refreshPicked() {
    picked = await api("GET", subjectPath(picked.id));
    showPicked();
    // Other parts of the console (the residents list) may show the new consent or count.
    document.dispatchEvent(new CustomEvent("fg:subject-changed", { detail: { id: picked.id } }));
    // The search result's consent word follows too.
    for (const li of $("fd-results").children) {
      if (li.dataset.subjectId !== picked.id) continue;
      showConsent(li.querySelector(".fd-result-consent"), picked);
    }
  }

  // ---- Consent first ------------------------------------------------------------------

  function openConsent() {
    const form = $("fd-consent");
    form.hidden = false;
    form.elements["evidence"].focus();
  }

  $("fd-consent-open").addEventListener("click", openConsent);

  $("fd-consent").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const message = $("fd-consent-message");
    if (!picked) return;
    const json = {
      evidence: form.elements["evidence"].value,
      method: form.elements["method"].value,
    };
    const done = await act(form, message, async (key) => {
      await api("POST", subjectPath(picked.id) + "/consents", { json, key });
      return true;
    });
    if (!done) return;
    form.hidden = true;
    form.reset();
    say($("fd-enroll-message"), "");
    await refreshPicked().catch((error) => say(message, errorText(error), "bad"));
    say(message, t("fd_consent_recorded"), "good");
  });

  // ---- Enrolling from photos ----------------------------------------------------------

  /** Why these photos cannot be sent (the page's words), or "" when they can. */
  function photoProblem(files) {
    if (files.length < 1 || files.length > MAX_PHOTOS) return t("fd_photo_count");
    if (files.some((f) => !PHOTO_TYPES.includes(f.type))) return t("fd_photo_type");
    if (files.reduce((sum, f) => sum + f.size, 0) > MAX_UPLOAD_BYTES) return t("fd_photo_size");
    return "";
  }

  /** The quality gate's reasons of a refused face, in words ("" when there are none). */
  function qualityText(reasons) {
    const words = (reasons || []).map((r) => t("fd_quality_" + r))
      .filter((text) => !text.startsWith("fd_quality_"));
    const separator = document.documentElement.lang.startsWith("zh") ? "；" : "; ";
    return words.length ? t("fd_quality_reasons") + " " + words.join(separator) : "";
  }

  $("fd-enroll").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const message = $("fd-enroll-message");
    if (!picked) { say(message, t("fd_pick_first"), "bad"); return; }
    const files = Array.from(form.elements["images"].files);
    const problem = photoProblem(files);
    if (problem) { say(message, problem, "bad"); return; }
    const enrolled = await act(form, message, async (key) => {
      const body = new FormData();
      for (const file of files) body.append("images", file, file.name);
      try {
        return await api("POST", subjectPath(picked.id) + "/enrollments", { form: body, key });
      } catch (error) {
        if (String(error.code || "").startsWith("consent") || error.code === "guardian_required") {
          // Consent gates enrollment: offer to record it right here.
          $("fd-consent-open").hidden = false;
        }
        const detail = error.detail || {};
        say(message, [errorText(error), qualityText(detail.reasons)].filter(Boolean).join(" "),
          "bad");
        return undefined;
      }
    });
    if (!enrolled) return;
    form.reset();
    say($("fd-consent-message"), "");
    await refreshPicked().catch((error) => say(message, errorText(error), "bad"));
    say(message, [t("fd_enrolled"), picked.name || picked.id,
      t("fd_templates_added") + " " + enrolled.enrolled].join(" · "), "good");
  });

  // ---- Testing recognition ------------------------------------------------------------

  async function loadGates() {
    const select = $("fd-test").elements["gate"];
    const gates = items(await api("GET", base() + "/gates"));
    select.replaceChildren();
    for (const gate of gates) {
      const option = document.createElement("option");
      option.value = gate.code;
      option.textContent = gate.name ? gate.name + " (" + gate.code + ")" : gate.code;
      select.append(option);
    }
  }

  function stopCamera() {
    if (cameraStream) for (const track of cameraStream.getTracks()) track.stop();
    cameraStream = null;
    $("fd-camera").hidden = true;
    $("fd-camera-take").hidden = true;
  }

  $("fd-camera-open").addEventListener("click", async () => {
    const note = $("fd-camera-note");
    say(note, "");
    try {
      cameraStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    } catch (_) {
      say(note, t("fd_camera_unavailable"), "bad");
      return;
    }
    const video = $("fd-camera");
    video.srcObject = cameraStream;
    video.hidden = false;
    $("fd-camera-take").hidden = false;
  });

  $("fd-camera-take").addEventListener("click", () => {
    const video = $("fd-camera");
    if (!cameraStream || !video.videoWidth) return;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob((blob) => {
      cameraPhoto = blob;
      $("fd-test").elements["image"].value = "";
      stopCamera();
      say($("fd-camera-note"), t("fd_camera_taken"), "good");
    }, "image/jpeg", 0.92);
  });

  $("fd-test").elements["image"].addEventListener("change", () => {
    cameraPhoto = null;
    say($("fd-camera-note"), "");
  });

  function showTest(result) {
    const box = $("fd-test-result");
    box.dataset.outcome = result.outcome;
    $("fd-test-outcome").textContent = t("fd_result_" + result.outcome)
      + (result.outcome === "open" && result.name ? " · " + result.name : "");
    $("fd-test-reason").textContent = window.FG.wordOr("fd_result_" + result.reason,
      t("err_unknown"));
    $("fd-test-quality").textContent = qualityText(result.quality_reasons);
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  $("fd-test").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const message = $("fd-test-message");
    const file = form.elements["image"].files[0];
    const photo = file || cameraPhoto;
    $("fd-test-result").hidden = true;
    if (!photo) { say(message, t("fd_test_need_photo"), "bad"); return; }
    if (file && photoProblem([file])) { say(message, photoProblem([file]), "bad"); return; }
    const result = await act(form, message, async (key) => {
      const body = new FormData();
      body.append("gate", form.elements["gate"].value);
      body.append("image", photo, file ? file.name : "camera.jpg");
      return api("POST", base() + "/recognition-tests", { form: body, key });
    });
    if (result) showTest(result);
  });

  // ---- Shown with the console (admin.js) ---------------------------------------------

  document.addEventListener("fg:console", (event) => start(event.detail));
  document.addEventListener("fg:signed-out", reset);
  // Another part of the console (a residents row's button) may open a resident here.
  document.addEventListener("fg:frontdesk-pick", (event) => { if (site) pick(event.detail.id); });
})();
