// Resident self-service: visitor passes. Make a one-time pass (gates, a time window, an
// optional label), see its code and QR code once, list my passes and revoke one.
"use strict";
(() => {
  const { t, api, act, items, when, say, row, button, errorText } = window.FG;
  const $ = (id) => document.getElementById(id);
  const form = $("pass-form");
  const message = $("pass-message");
  const listMessage = $("pass-list-message");
  //: A new pass lasts this long unless the resident changes it.
  const DEFAULT_HOURS = 4;

  /** ``date`` as the value of a datetime-local input (local time, minutes). */
  function localValue(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate())
      + "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
  }

  function defaultWindow() {
    const start = new Date();
    start.setSeconds(0, 0);
    form.valid_from.value = localValue(start);
    form.valid_until.value = localValue(new Date(start.getTime() + DEFAULT_HOURS * 3600e3));
  }

  async function loadGates() {
    const gates = items(await api("GET", "/me/passes/gates"));
    const box = $("pass-gates");
    for (const old of box.querySelectorAll("label")) old.remove();
    for (const gate of gates) {
      const label = document.createElement("label");
      label.className = "check";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "gate";
      input.value = gate.code;
      input.checked = gates.length === 1;
      label.append(input, " " + (gate.name || gate.code));
      box.append(label);
    }
    $("pass-create").disabled = gates.length === 0;
    if (!gates.length) say(message, t("pass_no_gates"), "bad");
  }

  function windowText(pass) {
    return when(pass.valid_from) + " – " + when(pass.valid_until);
  }

  async function loadPasses() {
    const passes = items(await api("GET", "/me/passes"));
    const body = $("pass-table").querySelector("tbody");
    body.replaceChildren();
    for (const pass of passes) {
      const revocable = pass.status === "active" || pass.status === "upcoming";
      const action = revocable
        ? button(t("pass_revoke"), (event) => revoke(event.currentTarget, pass), "secondary")
        : "";
      const tr = row([pass.label || "—", pass.gates.join(", "), windowText(pass),
        t("pass_status_" + pass.status), action]);
      tr.dataset.status = pass.status;
      tr.dataset.pass = pass.id;
      body.append(tr);
    }
    $("pass-none").hidden = passes.length > 0;
  }

  function revoke(control, pass) {
    act(control, listMessage, async () => {
      await api("POST", "/me/passes/" + encodeURIComponent(pass.id) + "/revoke");
      await loadPasses();
      say(listMessage, t("pass_revoked") + (pass.label ? " · " + pass.label : ""), "good");
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const gates = Array.from(form.querySelectorAll("input[name=gate]:checked"), (i) => i.value);
    if (!gates.length) {
      say(message, t("pass_pick_gate"), "bad");
      return;
    }
    act(form, message, async (key) => {
      $("pass-output").hidden = true;
      const json = {
        gates,
        valid_from: new Date(form.valid_from.value).toISOString(),
        valid_until: new Date(form.valid_until.value).toISOString(),
      };
      const label = form.label.value.trim();
      if (label) json.label = label;
      const issued = await api("POST", "/me/passes", { json, key });
      $("pass-code").textContent = issued.code;
      $("pass-qr").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(issued.qr_svg);
      $("pass-when").textContent = windowText(issued.visitor_pass) + " · "
        + issued.visitor_pass.gates.join(", ");
      $("pass-output").hidden = false;
      form.label.value = "";
      say(message, t("pass_created"), "good");
      $("pass-output").scrollIntoView({ block: "nearest" });
      await loadPasses();
    });
  });

  document.addEventListener("fg:resident", () => {
    if (!form.valid_from.value) defaultWindow();
    Promise.all([loadGates(), loadPasses()]).catch((error) => {
      say(listMessage, errorText(error), "bad");
    });
  });
})();
