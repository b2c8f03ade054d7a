// The gate kiosk: camera frames to POST /api/v1/decisions (face) every ~1.5 s, the result
// shown big with its reason, and always the non-face ways in (PIN pad, one-time code, card).
// A gate with active liveness answers a live-looking face with a challenge: the kiosk
// prompts each movement and sends the frames back with the challenge's nonce.
// Enroll mode: the resident types their self-service code and frames go to /enrollments.
// The gate code and device key come in the URL fragment (#gate=...&key=...), which never
// reaches the server's logs, and are kept in sessionStorage.
"use strict";
(() => {
  const { t, api, act, errorText, say } = window.FG;
  const $ = (id) => document.getElementById(id);
  const FRAME_INTERVAL_MS = 1500;
  const RESULT_HOLD_MS = 3000;
  const ENROLL_FRAMES = 3;
  const MIN_MEAN = 10; // the fake camera's (and many real ones') first frames are black
  //: Face answers that mean "keep looking at the camera" rather than a final decision.
  const RETRY_REASONS = new Set(["no_face", "poor_quality"]);
  // A challenge (gates with active liveness): time to read each prompt and move, then
  // frames a moment apart while the movement is held.
  const STEP_SETTLE_MS = 1400;
  const STEP_FRAMES = 2;
  const STEP_FRAME_GAP_MS = 350;

  const fragment = new URLSearchParams(location.hash.slice(1));
  for (const name of ["gate", "key"]) {
    if (fragment.get(name)) sessionStorage.setItem("fg_kiosk_" + name, fragment.get(name));
  }
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  const gate = sessionStorage.getItem("fg_kiosk_gate");
  const key = sessionStorage.getItem("fg_kiosk_key");
  const configured = Boolean(gate && key);
  $("not-configured").hidden = configured;

  const video = $("camera");
  const canvas = $("frame");
  const prompt = $("prompt");
  let mode = "gate";
  let busy = false;
  let holdUntil = 0;
  window.frameReady = false;
  window.lastDecision = null;
  window.lastEnrollment = null;
  window.decisionCount = 0;

  /** Draw the current frame on the canvas; its mean brightness (0-255) for tests. */
  window.grab = () => {
    if (!window.frameReady) return { mean: 0, width: 0, height: 0 };
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < pixels.length; i += 4 * 16) {
      sum += pixels[i] + pixels[i + 1] + pixels[i + 2];
      count += 3;
    }
    return { mean: count ? sum / count : 0, width: canvas.width, height: canvas.height };
  };

  const jpeg = () => new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));

  async function frame() {
    const grabbed = window.grab();
    return grabbed.mean > MIN_MEAN ? jpeg() : null;
  }

  function setMode(next) {
    mode = next;
    $("mode-gate").setAttribute("aria-pressed", String(next === "gate"));
    $("mode-enroll").setAttribute("aria-pressed", String(next === "enroll"));
    $("enroll-panel").hidden = next !== "enroll";
    $("alt-form").hidden = next !== "alt";
    if (next !== "alt") {
      for (const b of document.querySelectorAll(".alt-buttons button")) {
        b.setAttribute("aria-pressed", "false");
      }
    }
    prompt.textContent = t("look_at_camera");
  }

  // check: which liveness check refused the face (passive, active, challenge), if one did.
  function showResult(outcome, title, reason, check) {
    const result = $("result");
    result.dataset.outcome = outcome;
    $("result-title").textContent = title;
    $("result-reason").textContent = reason;
    $("result-check").textContent = check ? t("check_" + check) : "";
    $("result-check").hidden = !check;
    result.hidden = false;
    holdUntil = Date.now() + RESULT_HOLD_MS;
  }

  function showDecision(decision) {
    window.lastDecision = decision;
    window.decisionCount += 1;
    // A person matched with an older engine's templates is asked to enroll again.
    const prompted = decision.prompt ? t("prompt_" + decision.prompt) : "";
    const reason = [reasonText(decision.reason), prompted].filter(Boolean).join(" · ");
    showResult(decision.outcome, t("outcome_" + decision.outcome), reason, decision.check);
  }

  // Plain words for an API error in the page's language (never the API's English message).
  function showError(error) {
    window.lastDecision = { outcome: "error", reason: error.code || String(error.status) };
    showResult("deny", t("error"), errorText(error));
  }

  // A decision's reason in words; a reason the kiosk has no words for is not shown as a
  // code (the title already says whether the door opened).
  const reasonText = (code) => (code ? window.FG.wordOr("reason_" + code, "") : "");

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Do the server's challenge: prompt each movement in its order, send the frames back with
  // the nonce. The answer is the gate's decision like any other.
  async function answerChallenge(challenge) {
    window.challengeStartedAt = performance.now(); // for the browser test's timing
    const form = new FormData();
    form.append("gate", gate);
    form.append("kind", "face");
    form.append("challenge", challenge.nonce);
    let count = 0;
    const capture = async () => {
      const blob = await frame();
      if (blob) { form.append("frames", blob, "frame-" + count + ".jpg"); count += 1; }
    };
    window.lastChallenge = challenge.steps.slice();
    for (const step of ["baseline", ...challenge.steps]) {
      prompt.textContent = t("step_" + step);
      window.currentStep = step;
      await sleep(STEP_SETTLE_MS);
      for (let i = 0; i < STEP_FRAMES; i += 1) {
        await capture();
        await sleep(STEP_FRAME_GAP_MS);
      }
    }
    window.currentStep = null;
    return api("POST", "/decisions", { form, token: key });
  }

  async function faceTick() {
    if (!configured || mode !== "gate" || busy || Date.now() < holdUntil) return;
    if (Date.now() >= holdUntil) $("result").hidden = true;
    const blob = await frame();
    if (!blob) return;
    busy = true;
    const form = new FormData();
    form.append("gate", gate);
    form.append("kind", "face");
    form.append("image", blob, "frame.jpg");
    try {
      let decision = await api("POST", "/decisions", { form, token: key });
      if (decision.reason === "challenge_required" && decision.challenge) {
        decision = await answerChallenge(decision.challenge);
        window.challengeAnsweredAt = performance.now(); // for the browser test's timing
      }
      window.lastAttempt = decision;
      if (decision.outcome !== "open" && RETRY_REASONS.has(decision.reason)) {
        prompt.textContent = reasonText(decision.reason);
      } else if (mode === "gate") {
        prompt.textContent = t("look_at_camera");
        showDecision(decision);
      }
    } catch (error) {
      showError(error);
    } finally {
      busy = false;
    }
  }

  async function startCamera() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(
        { video: { width: 640, height: 480 }, audio: false });
      video.srcObject = stream;
      video.addEventListener("loadeddata", () => { window.frameReady = true; }, { once: true });
      await video.play().catch(() => undefined);
    } catch (error) {
      prompt.textContent = t("camera_unavailable");
    }
  }

  // Enroll mode: a few frames, a moment apart, with the resident's sign-in code.
  $("enroll-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!configured) return;
    const message = $("enroll-message");
    act(event.currentTarget, message, async () => {
      busy = true; // no face decisions while the frames are taken
      try {
        const code = $("enroll-code").value.trim();
        const form = new FormData();
        form.append("gate", gate);
        form.append("code", code);
        let taken = 0;
        for (let tries = 0; taken < ENROLL_FRAMES && tries < 40; tries += 1) {
          const blob = await frame();
          if (blob) { form.append("images", blob, "enroll-" + taken + ".jpg"); taken += 1; }
          await sleep(300);
        }
        if (!taken) {
          window.lastEnrollment = { error: "camera_unavailable" };
          say(message, t("camera_unavailable"), "bad");
          return;
        }
        const enrolled = await api("POST", "/enrollments", { form, token: key });
        window.lastEnrollment = enrolled;
        $("enroll-code").value = "";
        showResult("enrolled", t("enrolled"), String(enrolled.enrolled));
        say(message, t("enrolled"), "good"); // on a phone the result above may be off-screen
        setTimeout(() => setMode("gate"), RESULT_HOLD_MS);
      } catch (error) {
        window.lastEnrollment = { error: error.code || String(error.status) };
        throw error; // act shows it next to the form
      } finally {
        busy = false;
      }
    });
  });

  // The non-face ways in: always on screen, whatever the camera does.
  let altKind = null;
  // The keypad types into the resident number first, then (or when tapped) the PIN.
  let keypadTarget = $("alt-secret");
  for (const input of [$("alt-subject"), $("alt-secret")]) {
    input.addEventListener("focus", () => { keypadTarget = input; });
  }
  for (const choice of document.querySelectorAll(".alt-buttons button")) {
    choice.addEventListener("click", () => {
      altKind = choice.dataset.kind;
      setMode("alt");
      for (const other of document.querySelectorAll(".alt-buttons button")) {
        other.setAttribute("aria-pressed", String(other === choice));
      }
      $("alt-subject-label").hidden = altKind !== "pin";
      $("alt-subject").required = altKind === "pin";
      $("alt-secret-label").textContent = t(altKind === "pin" ? "pin_secret" : "use_" + altKind);
      $("alt-secret").type = altKind === "pin" ? "password" : "text";
      $("alt-secret").inputMode = altKind === "card" ? "text" : "numeric";
      $("alt-secret").value = "";
      $("keypad").hidden = altKind === "card";
      $("alt-card-submit").hidden = altKind !== "card";
      say($("alt-message"), "", null);
      $("alt-subject").value = "";
      keypadTarget = altKind === "pin" ? $("alt-subject") : $("alt-secret");
      keypadTarget.focus();
    });
  }
  for (const digit of document.querySelectorAll("#keypad [data-digit]")) {
    digit.addEventListener("click", () => {
      keypadTarget.value += digit.dataset.digit;
      const number = $("alt-subject");
      if (keypadTarget === number && number.value.length >= 6) keypadTarget = $("alt-secret");
    });
  }
  $("keypad-clear").addEventListener("click", () => { keypadTarget.value = ""; });
  $("alt-back").addEventListener("click", () => setMode("gate"));
  $("alt-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!configured || !altKind) return;
    const form = new FormData();
    form.append("gate", gate);
    form.append("kind", altKind);
    form.append("secret", $("alt-secret").value.trim());
    if (altKind === "pin") form.append("resident_number", $("alt-subject").value.trim());
    const message = $("alt-message");
    // act disables the form's buttons while pending: a double tap asks the gate once.
    act(event.currentTarget, message, async () => {
      try {
        const decision = await api("POST", "/decisions", { form, token: key });
        showDecision(decision);
        // Also next to the keypad: on a phone the big result above may be off-screen.
        const words = [$("result-title").textContent, $("result-reason").textContent];
        const tone = decision.outcome === "open" ? "good" : "bad";
        say(message, words.filter(Boolean).join(" · "), tone);
        $("alt-secret").value = "";
        $("alt-subject").value = "";
      } catch (error) {
        window.lastDecision = { outcome: "error", reason: error.code || String(error.status) };
        throw error; // act shows it next to the form
      }
    });
  });

  $("mode-gate").addEventListener("click", () => setMode("gate"));
  $("mode-enroll").addEventListener("click", () => setMode("enroll"));
  if (fragment.get("mode") === "enroll") setMode("enroll");

  startCamera();
  setInterval(() => { faceTick().catch(showError); }, FRAME_INTERVAL_MS);
  setInterval(() => {
    if (mode === "gate" && Date.now() >= holdUntil) $("result").hidden = true;
  }, 500);
  say(prompt, configured ? t("look_at_camera") : t("kiosk_not_configured"));
})();
