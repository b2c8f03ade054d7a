// The console's gates (edit, open remotely), gate devices (a gate picker), the access log
// (filters, paging, CSV export, live feed), the audit check and retention run in words, and
// the notice form. admin.js signs in and announces the session with "fg:console".
"use strict";
(() => {
  const { t, api, items, when, say, row, button, act, errorText } = window.FG;
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  const GATE_KINDS = ["face", "card", "pin", "otp"];
  const NOTICE_FIELDS = ["purpose", "method", "scope", "retention", "storage_location",
    "processor", "contact", "withdrawal"];
  const NOTICE_LANGS = ["zh", "en"];
  const NOTICE_GROUPS = ["purposes", "methods", "scope"];
  const NOTICE_TEXT_MAX = window.FG.limits.notice_text_length;
  const NOTICE_DAYS_MAX = window.FG.limits.max_retention_days;
  //: Retention reasons always named in the retention run's words, even at 0.
  const RETENTION_ALWAYS = ["move_out", "expiry"];

  let session = null;
  let gates = [];
  let offset = 0;
  let total = 0;
  let live = null;
  const base = () => "/sites/" + encodeURIComponent(session.site);
  const may = (...roles) => session !== null && roles.includes(session.role);
  const zh = () => document.documentElement.lang.startsWith("zh");
  const list = (words) => words.join(zh() ? "、" : ", ");

  /** The word ``key`` with each ``{name}`` replaced. */
  function fill(key, values) {
    return Object.entries(values).reduce(
      (text, [name, value]) => text.split("{" + name + "}").join(String(value)), t(key));
  }

  /** The word for a code, or the code itself when no word exists yet. */
  function word(prefix, code) {
    return code ? window.FG.wordOr(prefix + code, code) : "";
  }

  // Gates

  async function loadGates() {
    gates = items(await api("GET", base() + "/gates"));
    const body = $("gates").querySelector("tbody");
    body.replaceChildren();
    for (const gate of gates) {
      const accepts = GATE_KINDS.filter((k) => gate["accepts_" + k]).map((k) => t("log_kind_" + k));
      const actions = document.createElement("span");
      actions.append(button(t("edit"), () => editGate(gate), "secondary"),
        button(t("log_open_gate"), () => askOpen(gate)));
      const tr = row([gate.code, gate.name, list(accepts), t("liveness_" + gate.liveness), actions]);
      tr.dataset.gate = gate.code;
      body.append(tr);
    }
    fillGatePicker();
    fillGateFilter();
  }

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
    form.elements["name"].focus();
  }

  $("gate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!gateTarget) return;
    const json = { name: form.elements["name"].value, liveness: form.elements["liveness"].value };
    for (const k of GATE_KINDS) json["accepts_" + k] = form["accepts_" + k].checked;
    act(form, $("gate-message"), async () => {
      const gate = await api("PUT", base() + "/gates/" + encodeURIComponent(gateTarget.code),
        { json });
      form.hidden = true;
      say($("gates-message"), t("done") + ": " + t("edit_gate") + " · " + gate.name, "good");
      await loadGates();
    });
  });

  // Opening a gate from the console: a dialog asks why (audited).

  let openTarget = null;

  function askOpen(gate) {
    openTarget = gate;
    const form = $("open-form");
    $("open-gate-name").textContent = gate.name;
    form.why.value = "";
    say($("open-message"), "");
    $("open-dialog").showModal();
    form.why.focus();
  }

  $("open-cancel").addEventListener("click", () => $("open-dialog").close());

  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const why = form.why.value;
    if (!why) {
      say($("open-message"), t("field_why"), "bad");
      form.why.focus();
      return;
    }
    act(form, $("open-message"), async (key) => {
      const gate = openTarget;
      await api("POST", base() + "/gates/" + encodeURIComponent(gate.code) + "/open",
        { json: { why }, key });
      $("open-dialog").close();
      say($("gates-message"), t("log_opened") + " · " + gate.name, "good");
      if (!live && may("admin", "auditor")) await loadLog();
    });
  });

  // Devices

  async function loadDevices() {
    const names = Object.fromEntries(gates.map((g) => [g.code, g.name]));
    const body = $("devices").querySelector("tbody");
    body.replaceChildren();
    for (const device of items(await api("GET", base() + "/devices"))) {
      const revoke = device.revoked_at ? "" : button(t("revoke"), (event) => {
        if (!confirm(t("log_device_confirm_revoke") + "\n" + device.name)) return undefined;
        return act(event.currentTarget, $("devices-message"), async () => {
          await api("DELETE", base() + "/devices/" + encodeURIComponent(device.id));
          await loadDevices();
        });
      }, "secondary");
      const served = (device.gates || []).map((code) => names[code] || code);
      const tr = row([device.name, list(served),
        device.revoked_at ? t("revoke") + " " + when(device.revoked_at) : "", revoke]);
      tr.dataset.deviceId = device.id;
      body.append(tr);
    }
  }

  function fillGatePicker() {
    const box = $("device-gates");
    for (const old of box.querySelectorAll("label")) old.remove();
    $("device-no-gates").hidden = gates.length > 0;
    for (const gate of gates) {
      const label = document.createElement("label");
      label.className = "check";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "gates";
      input.value = gate.code;
      // One gate: it is the one this device serves.
      input.checked = gates.length === 1;
      label.append(input, " " + gate.name + " (" + gate.code + ")");
      box.append(label);
    }
  }

  $("add-device").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const chosen = Array.from(form.querySelectorAll("input[name=gates]:checked"), (i) => i.value);
    if (!chosen.length) {
      say($("device-message"), t("log_device_need_gate"), "bad");
      return;
    }
    act(form, $("device-message"), async (key) => {
      const made = await api("POST", base() + "/devices",
        { json: { name: form.elements["name"].value, gates: chosen }, key });
      const link = location.origin + "/kiosk#gate=" + encodeURIComponent(chosen[0])
        + "&key=" + encodeURIComponent(made.api_key);
      $("device-key").textContent = made.api_key;
      $("kiosk-link").href = link;
      $("kiosk-link").textContent = link;
      $("device-output").hidden = false;
      form.elements["name"].value = "";
      say($("device-message"), t("log_device_registered") + " · " + made.device.name, "good");
      await loadDevices();
    });
  });

  // The access log

  function fillGateFilter() {
    const select = $("log-filter").elements["gate"];
    const chosen = select.value;
    for (const old of Array.from(select.options).slice(1)) old.remove();
    for (const gate of gates) select.add(new Option(gate.name, gate.code));
    select.value = chosen;
  }

  /** A date input's day as the start of that local day, ISO (``next``: the day after). */
  function dayStart(value, next) {
    const [y, m, d] = value.split("-").map(Number);
    return new Date(y, m - 1, d + (next ? 1 : 0)).toISOString();
  }

  function filterQuery() {
    const form = $("log-filter");
    const query = new URLSearchParams();
    if (form.elements["from"].value) query.set("from", dayStart(form.elements["from"].value));
    if (form.elements["to"].value) query.set("to", dayStart(form.elements["to"].value, true));
    for (const name of ["gate", "outcome", "kind", "person"]) {
      const value = form.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    return query;
  }

  function personText(d) {
    if (d.person_state === "known" && d.person) return d.person;
    if (d.person_state === "visitor") return fill("log_person_visitor", { name: d.person || "" });
    if (d.person_state === "staff") return t("log_person_staff") + (d.person ? " " + d.person : "");
    return word("log_person_", d.person_state);
  }

  function decisionRow(d) {
    const reason = document.createElement("span");
    reason.textContent = word("log_reason_", d.reason)
      + (d.check ? " · " + word("log_check_", d.check) : "");
    if (d.why) reason.append(" · " + word("log_why_", d.why));
    const why = button(t("xp_why"), (event) =>
      act(event.currentTarget, $("log-message"), () => explain(d.id)), "secondary log-why");
    why.setAttribute("aria-label", t("xp_why") + " · " + when(d.at) + " · " + (d.gate_name || d.gate || ""));
    reason.append(" ", why);
    const outcome = document.createElement("span");
    outcome.className = "log-outcome log-" + (d.outcome || "none");
    outcome.textContent = word("log_outcome_", d.outcome);
    const tr = row([when(d.at), d.gate_name || d.gate || "",
      d.device_name || (d.kind === "remote" ? t("log_console") : ""), personText(d),
      word("log_kind_", d.kind), outcome, reason]);
    tr.dataset.decisionId = String(d.id);
    tr.dataset.kind = d.kind || "";
    return tr;
  }

  // Why one decision went the way it did: the explanation's codes in words, never a score.

  async function explain(id) {
    const x = await api("GET", base() + "/decisions/" + encodeURIComponent(id) + "/explanation");
    const dl = $("why-list");
    dl.replaceChildren();
    const add = (key, text) => {
      const dt = document.createElement("dt");
      dt.textContent = t(key);
      const dd = document.createElement("dd");
      dd.textContent = text;
      dl.append(dt, dd);
    };
    add("xp_outcome", word("log_outcome_", x.outcome));
    add("xp_kind", word("log_kind_", x.kind));
    add("xp_reason", word("log_reason_", x.reason)
      + (x.check ? " · " + word("log_check_", x.check) : ""));
    if (x.quality_reasons.length) {
      add("xp_quality", list(x.quality_reasons.map((c) => word("xp_quality_", c))));
    }
    if (x.liveness) add("xp_liveness", word("xp_liveness_", x.liveness));
    if (x.margin_band) add("xp_margin", word("xp_band_", x.margin_band));
    if (x.template) {
      add("xp_template", "…" + x.template.id_suffix + " · " + (x.template.state === "erased"
        ? t("xp_template_erased") : t("xp_enrolled_at") + " " + when(x.template.enrolled_at)));
    }
    if (x.operating_point) add("xp_point", word("xp_point_", x.operating_point));
    if (x.model) add("xp_model", x.model);
    if (x.engine) add("xp_engine", x.engine);
    $("why-dialog").showModal();
  }

  $("why-close").addEventListener("click", () => $("why-dialog").close());

  function showRange(shown) {
    $("log-range").textContent = total === 0 ? t("log_empty")
      : fill("log_page", { from: offset + 1, to: offset + shown, total });
    $("log-prev").disabled = offset === 0;
    $("log-next").disabled = offset + shown >= total;
  }

  async function loadLog() {
    const query = filterQuery();
    query.set("offset", String(offset));
    query.set("limit", String(PAGE));
    const page = await api("GET", base() + "/decisions/log?" + query);
    total = page.total;
    const body = $("decisions").querySelector("tbody");
    body.replaceChildren(...page.items.map(decisionRow));
    showRange(page.items.length);
  }

  $("log-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    act(event.currentTarget, $("log-message"), loadLog);
  });

  $("log-reset").addEventListener("click", () => {
    $("log-filter").reset();
    offset = 0;
    act($("log-filter"), $("log-message"), loadLog);
  });

  $("log-prev").addEventListener("click", (event) => {
    offset = Math.max(0, offset - PAGE);
    act(event.currentTarget, $("log-message"), loadLog);
  });

  $("log-next").addEventListener("click", (event) => {
    offset += PAGE;
    act(event.currentTarget, $("log-message"), loadLog);
  });

  $("log-export").addEventListener("click", (event) => {
    const query = filterQuery();
    if (!query.has("from") || !query.has("to")) {
      say($("log-message"), t("log_export_needs_range"), "bad");
      return;
    }
    query.set("tz", String(-new Date().getTimezoneOffset()));
    query.set("lang", zh() ? "zh" : "en");
    act(event.currentTarget, $("log-message"), async () => {
      const text = await api("GET", base() + "/decisions.csv?" + query);
      // The byte order mark is kept, so a spreadsheet reads the names as UTF-8.
      const blob = new Blob(["\ufeff" + String(text).replace(/^\ufeff/, "")],
        { type: "text/csv;charset=utf-8" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "decisions-" + session.site + "-" + $("log-filter").elements["from"].value
        + "-" + $("log-filter").elements["to"].value + ".csv";
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      say($("log-message"), t("log_exported") + " · " + link.download, "good");
    });
  });

  // The live feed: server-sent events prepend each new decision.

  /** Whether a decision from the feed passes the log's filters (dates aside). */
  function passes(d) {
    const form = $("log-filter").elements;
    for (const name of ["gate", "outcome", "kind"]) {
      if (form[name].value && form[name].value !== d[name]) return false;
    }
    const person = form["person"].value.trim().toLowerCase();
    return !person || (d.person || "").toLowerCase().includes(person);
  }

  function startLive() {
    live = new EventSource("/api/v1" + base() + "/decisions/stream");
    live.addEventListener("open", () => say($("live-status"), t("log_live_on"), "good"));
    live.addEventListener("decision", (event) => {
      const d = JSON.parse(event.data);
      if (!passes(d) || document.querySelector(`#decisions tr[data-decision-id="${d.id}"]`)) return;
      const tr = decisionRow(d);
      tr.classList.add("log-new");
      $("decisions").querySelector("tbody").prepend(tr);
      total += 1;
      showRange($("decisions").querySelectorAll("tbody tr").length);
    });
    live.addEventListener("error", () => {
      if (live && live.readyState === EventSource.CLOSED) stopLive();
      else say($("live-status"), t("log_live_lost"), "bad");
    });
    $("live-toggle").textContent = t("log_live_stop");
    $("live-toggle").setAttribute("aria-pressed", "true");
  }

  function stopLive() {
    if (live) live.close();
    live = null;
    say($("live-status"), t("log_live_off"));
    $("live-toggle").textContent = t("log_live_start");
    $("live-toggle").setAttribute("aria-pressed", "false");
  }

  $("live-toggle").addEventListener("click", () => (live ? stopLive() : startLive()));

  // The audit check and the retention run, in words.

  $("verify-audit").addEventListener("click", (event) => {
    act(event.currentTarget, $("audit-result"), async () => {
      const r = await api("POST", base() + "/audit/verify");
      if (r.ok) {
        say($("audit-result"), r.events_checked && r.last_event_at
          ? fill("log_audit_ok", { count: r.events_checked, last: when(r.last_event_at) })
          : t("log_audit_ok_empty"), "good");
      } else {
        say($("audit-result"), r.first_bad_event_id
          ? fill("log_audit_broken", { event: r.first_bad_event_id })
          : t("log_audit_broken_unknown"), "bad");
      }
    });
  });

  $("run-retention").addEventListener("click", (event) => {
    act(event.currentTarget, $("retention-result"), async () => {
      const r = await api("POST", base() + "/retention/run");
      const erased = { ...Object.fromEntries(RETENTION_ALWAYS.map((k) => [k, 0])), ...r.erased };
      const parts = Object.entries(erased)
        .filter(([reason, n]) => n > 0 || RETENTION_ALWAYS.includes(reason))
        .map(([reason, n]) => fill(t("log_retention_" + reason) === "log_retention_" + reason
          ? "log_retention_other" : "log_retention_" + reason, { n }));
      const total = Object.values(erased).reduce((a, b) => a + b, 0);
      say($("retention-result"), t("log_retention_done") + " "
        + (total ? parts.join(zh() ? "；" : "; ") : t("log_retention_nothing")), "good");
    });
  });

  // The notice form: labelled fields, prefilled from the current version.

  /** The next version after ``version``: its last number plus one, else "-2" added. */
  function nextVersion(version) {
    const match = /^(.*?)(\d+)$/.exec(version || "");
    if (!match) return version ? version + "-2" : "1";
    return match[1] + String(Number(match[2]) + 1).padStart(match[2].length, "0");
  }

  async function loadNotice() {
    const notices = items(await api("GET", base() + "/notices"));
    const current = notices.reduce((a, b) => (!a || (b.seq ?? 0) > (a.seq ?? 0) ? b : a), null);
    const form = $("notice-form");
    $("notice-current").textContent = current ? current.version : t("none");
    clearNoticeErrors();
    form.version.value = nextVersion(current ? current.version : "");
    const content = current ? current.content : {};
    form.retention_days.value = content.retention_days ?? "";
    for (const group of NOTICE_GROUPS) {
      const chosen = new Set(content[group] || []);
      for (const box of form.querySelectorAll(`input[name=${group}]`)) box.checked = chosen.has(box.value);
    }
    const texts = content.texts || {};
    for (const lang of NOTICE_LANGS) {
      for (const field of NOTICE_FIELDS) {
        form.elements["text_" + lang + "_" + field].value = (texts[lang] || {})[field] || "";
      }
    }
  }

  function clearNoticeErrors() {
    for (const slot of $("notice-form").querySelectorAll("[data-error-for]")) slot.textContent = "";
    for (const bad of $("notice-form").querySelectorAll("[aria-invalid]")) bad.removeAttribute("aria-invalid");
  }

  function markNotice(name, text) {
    const form = $("notice-form");
    const slot = form.querySelector(`[data-error-for="${name}"]`);
    if (slot) slot.textContent = text;
    const control = form.elements[name];
    if (control && control.setAttribute) control.setAttribute("aria-invalid", "true");
  }

  /** The form's content, or null after marking each bad field in words. */
  function noticeContent() {
    const form = $("notice-form");
    clearNoticeErrors();
    let ok = true;
    const bad = (name, key) => { ok = false; markNotice(name, t(key)); };
    if (!form.version.value.trim()) bad("version", "log_notice_required");
    const days = Number(form.retention_days.value);
    if (!Number.isInteger(days) || days < 1 || days > NOTICE_DAYS_MAX) {
      bad("retention_days", "log_notice_days_range");
    }
    const content = { retention_days: days, texts: {} };
    for (const group of NOTICE_GROUPS) {
      content[group] = Array.from(form.querySelectorAll(`input[name=${group}]:checked`), (b) => b.value);
      if (!content[group].length) bad(group, "log_notice_pick_one");
    }
    for (const lang of NOTICE_LANGS) {
      content.texts[lang] = {};
      for (const field of NOTICE_FIELDS) {
        const name = "text_" + lang + "_" + field;
        const value = form.elements[name].value.trim();
        if (!value) bad(name, "log_notice_required");
        else if (value.length > NOTICE_TEXT_MAX) bad(name, "log_notice_too_long");
        content.texts[lang][field] = value;
      }
    }
    return ok ? content : null;
  }

  $("notice-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const content = noticeContent();
    if (!content) {
      say($("notice-message"), t("log_notice_fix"), "bad");
      const first = form.querySelector("[aria-invalid]");
      if (first) first.focus();
      return;
    }
    act(form, $("notice-message"), async (key) => {
      const version = form.version.value.trim();
      const r = await api("POST", base() + "/notices", { json: { version, content }, key });
      await loadNotice();
      say($("notice-message"), t("log_notice_published") + " " + r.notice.version
        + (r.consents_needing_renewal ? " · " + r.consents_needing_renewal + " "
          + t("log_notice_renewals") : ""), "good");
    });
  });

  // Loaded when the console is shown; each part only for the roles that may use it.

  document.addEventListener("fg:console", (event) => {
    session = event.detail;
    offset = 0;
    const shown = (message) => (error) => say($(message), errorText(error), "bad");
    if (may("admin")) {
      loadGates().then(loadDevices).catch(shown("gates-message"));
      loadNotice().catch(shown("notice-message"));
    } else if (may("auditor")) {
      loadGates().catch(shown("log-message"));  // the log's gate filter
    }
    if (may("admin", "auditor")) loadLog().catch(shown("log-message"));
  });

  document.addEventListener("fg:signed-out", () => {
    if (live) stopLive();
    session = null;
  });
})();
