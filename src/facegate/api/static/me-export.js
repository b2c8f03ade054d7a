// The resident's data as a page to read and print: the export API's answer, in labelled
// sections, in the page's language. Never a template, hash or score (the API holds none).
"use strict";
(() => {
  const { t, api, when, say, row, reasonText, errorText } = window.FG;
  const $ = (id) => document.getElementById(id);
  //: Gate decisions shown: the most recent ones (the audit section lists everything).
  const RECENT_DECISIONS = 50;
  const DECISION = /^decision\./;

  /** A word for ``key`` if the page has one, else ``fallback`` (a stored code as it is). */
  const word = window.FG.wordOr;

  function fill(sectionId, rows) {
    const body = $(sectionId).querySelector("tbody");
    body.replaceChildren();
    if (!rows.length) {
      const empty = row([t("exp_empty")]);
      empty.firstChild.colSpan = $(sectionId).querySelectorAll("th").length;
      body.append(empty);
      return;
    }
    for (const cells of rows) body.append(row(cells));
  }

  const kindWord = (kind) => word("credential_kind_" + kind, word("accepts_" + kind, kind));
  const actionWord = (action) => word("exp_act_" + String(action).replace(/\./g, "_"), action);

  function show(data) {
    const subject = data.subject || {};
    $("exp-exported-at").textContent = when(data.exported_at);
    $("exp-name").textContent = subject.display_name || "—";
    $("exp-site").textContent = (subject.site_name || "") + " (" + (subject.site_code || "") + ")";
    $("exp-operator").textContent = subject.operator || "—";
    $("exp-kind").textContent = word("kind_" + subject.kind, subject.kind || "");
    $("exp-status").textContent = subject.moved_out_at
      ? t("status_moved_out") + " · " + when(subject.moved_out_at)
      : word("status_" + subject.status, subject.status || "");
    $("exp-registered").textContent = when(subject.created_at);
    fill("exp-consents", (data.consents || []).map((c) => [
      c.notice_version, word("method_" + c.method, c.method), when(c.given_at),
      c.withdrawn_at ? when(c.withdrawn_at) : "—",
    ]));
    // A visitor pass's one-time code is listed with the passes, not as my own way in.
    const passCodes = new Set((data.visitor_passes || []).map((p) => p.credential_id));
    const own = (data.credentials || []).filter((c) => !passCodes.has(c.id));
    fill("exp-credentials", own.map((c) => [
      kindWord(c.kind), word("credential_status_" + c.status, c.status), when(c.created_at),
      c.used_at ? when(c.used_at) : "—",
    ]));
    const templates = data.face_templates || { count: 0, held: [] };
    $("exp-template-count").textContent = String(templates.count ?? 0);
    fill("exp-enrollments", (templates.held || []).map((h) => [h.model_name, when(h.created_at)]));
    fill("exp-passes", (data.visitor_passes || []).map((p) => [
      p.label || "—", (p.gates || []).join(", "),
      when(p.valid_from) + " – " + when(p.valid_until), word("pass_status_" + p.status, p.status),
    ]));
    const events = data.audit_events || [];
    const decisions = events.filter((e) => DECISION.test(e.action)).slice(-RECENT_DECISIONS)
      .reverse();
    fill("exp-decisions", decisions.map((e) => {
      const detail = e.detail || {};
      return [when(e.at), detail.gate || "—", kindWord(detail.kind || "face"),
        word("exp_outcome_" + detail.outcome, detail.outcome || "—"),
        detail.reason ? reasonText(detail.reason) : "—"];
    }));
    fill("exp-audit", events.slice().reverse().map((e) => [
      when(e.at), actionWord(e.action), e.actor,
    ]));
    $("export-body").hidden = false;
    say($("export-message"), "", null);
  }

  $("export-print").addEventListener("click", () => window.print());

  api("GET", "/me/export").then(show).catch((error) => {
    if (error.status === 401) {
      window.location.href = "/me";
      return;
    }
    say($("export-message"), errorText(error), "bad");
  });
})();
