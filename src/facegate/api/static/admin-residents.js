// The console's residents (admin_residents.html): search and pages from the server, each
// resident's actions, registering a child with their guardian, CSV import (dry run first)
// and export, and the printable sign-in slip. Starts when admin.js announces the console
// ("fg:console"); every state change goes through FG.act, every error through errorText.
"use strict";
(() => {
  const { t, wordOr, api, when, say, row, button, act, errorText, download } = window.FG;
  const $ = (id) => document.getElementById(id);
  const PER_PAGE = 50;
  //: Under this age a guardian consents for the child (R-04).
  const GUARDIAN_AGE = window.FG.limits.guardian_consent_age;
  //: Residents offered as guardians while typing a name.
  const GUARDIAN_CHOICES = 8;
  const SEARCH_DELAY_MS = 250;
  let session = null;
  let page = 1;
  const base = () => "/sites/" + encodeURIComponent(session.site);
  const pathOf = (subject) => base() + "/subjects/" + encodeURIComponent(subject.id);
  const may = (...roles) => session !== null && roles.includes(session.role);
  const message = $("residents-message");
  //: A word with {name} placeholders filled in.
  const fill = (key, values) => t(key).replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
  const day = (iso) => (iso ? new Date(iso).toLocaleDateString(document.documentElement.lang) : "");

  function adminOnly(element) {
    element.dataset.roles = "admin";
    return element;
  }

  function ageOn(born, today) {
    const b = new Date(born + "T00:00:00");
    let age = today.getFullYear() - b.getFullYear();
    const before = today.getMonth() < b.getMonth()
      || (today.getMonth() === b.getMonth() && today.getDate() < b.getDate());
    if (before) age -= 1;
    return age;
  }
  const isChild = (born) => Boolean(born) && ageOn(born, new Date()) < GUARDIAN_AGE;

  function home(subject) {
    const parts = [];
    if (subject.building) parts.push(fill("res_home_building", { v: subject.building }));
    if (subject.unit) parts.push(fill("res_home_unit", { v: subject.unit }));
    if (subject.household) parts.push(subject.household);
    // "12栋3单元1202" reads as one address in Chinese; "Bldg 12, unit 3, 1202" in English.
    return parts.join(document.documentElement.lang.startsWith("zh") ? "" : ", ");
  }

  // The list

  async function loadResidents() {
    const form = $("resident-search");
    const params = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE) });
    for (const name of ["q", "building", "status"]) {
      const value = form.elements[name].value.trim();
      if (value && value !== "all") params.set(name, value);
    }
    const data = await api("GET", base() + "/subjects/search?" + params);
    const pages = Math.max(1, Math.ceil(data.total / data.per_page));
    if (!data.items.length && page > pages) {
      // The last page emptied (a deletion, a move-out under a filter): show the new last one.
      page = pages;
      return loadResidents();
    }
    const body = $("residents").querySelector("tbody");
    body.replaceChildren(...data.items.map(residentRow));
    $("residents-count").textContent = data.total
      ? fill("res_count", { total: data.total, page: data.page, pages }) : t("res_none_found");
    $("residents-prev").disabled = page <= 1;
    $("residents-next").disabled = page >= pages;
  }

  const reload = () => loadResidents().catch((error) => say(message, errorText(error), "bad"));

  function statusText(subject) {
    if (subject.moved_out_at) {
      return fill("res_moved_out_on",
        { moved: day(subject.moved_out_at), erase: day(subject.erase_after) });
    }
    return t("status_" + subject.status);
  }

  function consentText(subject) {
    if (subject.moved_out_at) return t("res_consent_ended");
    return subject.has_active_consent ? t("consent_given") : t("consent_none");
  }

  function residentRow(subject) {
    const who = subject.name || subject.id;
    const name = document.createElement("span");
    name.textContent = who;
    if (subject.minor) {
      const badge = document.createElement("span");
      badge.className = "res-badge";
      badge.textContent = t("res_child");
      name.append(" ", badge);
    }
    const tr = row([name, subject.resident_number || "", home(subject), t("kind_" + subject.kind),
      statusText(subject), consentText(subject), String(subject.template_count ?? 0),
      actionsOf(subject, who)]);
    // Labels for the narrow layout, where each row is a card (app.css).
    const heads = Array.from($("residents").querySelectorAll("thead th"), (th) => th.textContent);
    Array.from(tr.children).forEach((td, i) => { td.dataset.label = heads[i] || ""; });
    tr.dataset.subjectId = subject.id;
    tr.dataset.residentNumber = subject.resident_number || "";
    tr.dataset.name = who;
    if (subject.moved_out_at) tr.dataset.movedOut = "yes";
    return tr;
  }

  function actionsOf(subject, who) {
    const actions = document.createElement("span");
    actions.className = "res-actions";
    const path = pathOf(subject);
    if (!subject.moved_out_at) {
      actions.append(
        button(t("issue_signin_code"), (event) => act(event.currentTarget, message, async (key) => {
          const issued = await api("POST", path + "/signin-codes", { key });
          showSecret(t("signin_code"), who, issued.code, issued.expires_at, true);
        })),
        button(t("issue_otp"), (event) => act(event.currentTarget, message, async (key) => {
          const issued = await api("POST", path + "/credentials/otp", { key });
          showSecret(t("otp_code"), who, issued.code, issued.expires_at, false);
        })),
        button(t("issue_pin"), () => askCredential("pin", subject, who), "secondary"),
        button(t("issue_card"), () => askCredential("card", subject, who), "secondary"),
        button(t("show_credentials"), (event) => act(event.currentTarget, message,
          () => showCredentials(subject, who)), "secondary"),
        button(t("paper_consent"), () => askConsent(subject, who), "secondary"),
      );
      if (subject.kind === "resident") {
        actions.append(adminOnly(button(t("move_out"),
          (event) => moveOut(event.currentTarget, path, who), "secondary")));
      }
    }
    // What a moved-out resident still needs: their data's export, and erasure now.
    actions.append(
      button(t("res_export_one"), (event) => act(event.currentTarget, message, async () => {
        download("subject-" + (subject.resident_number || subject.id) + ".json",
          await api("GET", path + "/export"));
      }), "secondary"),
      adminOnly(button(t("delete_subject"),
        (event) => deleteSubject(event.currentTarget, path, who), "danger")),
    );
    return actions;
  }

  // The slip of a one-time code (printable); a sign-in code names the community and /me.

  function showSecret(label, who, value, expires, signin) {
    $("secret-label").textContent = label;
    $("secret-for").textContent = who;
    $("secret-value").textContent = value;
    $("slip-signin").hidden = !signin;
    $("slip-steps").hidden = !signin;
    $("slip-site").textContent = session.site;
    $("slip-address").textContent = location.origin + "/me";
    $("secret-note").textContent = (expires ? t("expires_at") + " " + when(expires) + " · " : "")
      + t("shown_once");
    const slip = $("secret-output");
    slip.hidden = false;
    slip.scrollIntoView({ block: "nearest" });
  }

  $("slip-print").addEventListener("click", () => {
    document.body.classList.add("print-slip");
    window.print();
  });
  window.addEventListener("afterprint", () => document.body.classList.remove("print-slip"));

  function moveOut(control, path, who) {
    if (!confirm(t("confirm_move_out") + "\n" + who)) return;
    act(control, message, async (key) => {
      await api("POST", path + "/move-out", { key });
      say(message, t("done") + ": " + t("move_out") + " · " + who, "good");
      await loadResidents();
    });
  }

  function deleteSubject(control, path, who) {
    if (!confirm(t("confirm_delete") + "\n" + who)) return;
    act(control, message, async () => {
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
    });
  }

  async function showCredentials(subject, who) {
    const note = $("credentials-message");
    const credentials = await api("GET", pathOf(subject) + "/credentials");
    const body = $("credentials").querySelector("tbody");
    body.replaceChildren();
    for (const c of credentials) {
      const revoke = c.status !== "active" ? "" : button(t("revoke"), (event) =>
        act(event.currentTarget, note, async () => {
          await api("DELETE", base() + "/credentials/" + encodeURIComponent(c.id));
          await showCredentials(subject, who);
          say(note, t("credential_revoked") + " · " + who, "good");
        }), "secondary");
      const tr = row([t("credential_kind_" + c.kind), t("credential_status_" + c.status),
        when(c.created_at), revoke]);
      tr.dataset.credentialId = c.id;
      body.append(tr);
    }
    $("credentials-for").textContent = who;
    say(note, "");
    $("credentials-panel").hidden = false;
    $("credentials-panel").scrollIntoView({ block: "nearest" });
  }

  // Paper consent; for a child, the guardian is recorded first and consents for them.

  let consentTarget = null;

  function askConsent(subject, who) {
    consentTarget = { subject, who, guardians: [] };
    const form = $("consent-form");
    form.reset();
    $("consent-for").textContent = t("paper_consent") + " · " + who;
    $("consent-guardian").hidden = !subject.minor;
    $("consent-guardian-choice").hidden = true;
    showNewGuardian(subject.minor);
    say($("consent-message"), "");
    form.hidden = false;
    form.scrollIntoView({ block: "nearest" });
    (subject.minor ? form.elements["guardian_name"] : form.evidence).focus();
    if (subject.minor) {
      act(form, $("consent-message"), () => offerRecordedGuardians(subject));
    }
  }

  // A child's recorded guardians are offered first: the same guardian is not recorded twice.
  async function offerRecordedGuardians(subject) {
    const guardians = await api("GET", pathOf(subject) + "/guardians");
    if (!guardians.length || !consentTarget || consentTarget.subject.id !== subject.id) return;
    const select = $("consent-form").elements["guardian_id"];
    const options = guardians.map((g) => {
      const option = document.createElement("option");
      option.value = g.id;
      option.textContent = g.name + " · " + t("res_relation_" + g.relation);
      return option;
    });
    const fresh = document.createElement("option");
    fresh.value = "";
    fresh.textContent = t("res_guardian_new");
    select.replaceChildren(...options, fresh);
    $("consent-guardian-choice").hidden = false;
    showNewGuardian(false);
  }

  function showNewGuardian(shown) {
    const form = $("consent-form");
    $("consent-guardian-new").hidden = !shown;
    form.elements["guardian_name"].required = shown;
    form.elements["guardian_born"].required = shown;
  }

  $("consent-form").elements["guardian_id"].addEventListener("change", (event) => {
    showNewGuardian(event.currentTarget.value === "");
  });

  async function addGuardian(subject, form, key) {
    return api("POST", pathOf(subject) + "/guardians", {
      key,
      json: { name: form.elements["guardian_name"].value.trim(),
        relation: form.elements["relation"].value, born: form.elements["guardian_born"].value },
    });
  }

  async function recordConsent(subject, form, guardian, key) {
    const json = { evidence: form.elements["evidence"].value.trim(),
      method: form.elements["method"].value };
    if (guardian) json.guardian_id = guardian.id;
    return api("POST", pathOf(subject) + "/consents", { json, key });
  }

  $("consent-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!consentTarget) return;
    const { subject, who } = consentTarget;
    const picked = $("consent-guardian-choice").hidden ? "" : form.elements["guardian_id"].value;
    act(form, $("consent-message"), async (key) => {
      let guardian = picked ? { id: picked } : null;
      if (subject.minor && !guardian) guardian = await addGuardian(subject, form, key + ":guardian");
      await recordConsent(subject, form, guardian, key);
      form.hidden = true;
      say(message, t("done") + ": " + t("record_consent") + " · " + who, "good");
      await loadResidents();
    });
  });

  // PIN and card

  let credentialTarget = null;

  function askCredential(kind, subject, who) {
    credentialTarget = { kind, subject, who };
    const form = $("credential-form");
    form.querySelector("span").textContent =
      (kind === "pin" ? t("pin") : t("card_number")) + " · " + who;
    form.secret.value = "";
    form.secret.type = kind === "pin" ? "password" : "text";
    form.secret.inputMode = "numeric";
    say($("credential-message"), "");
    form.hidden = false;
    form.scrollIntoView({ block: "nearest" });
    form.secret.focus();
  }

  $("credential-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    if (!credentialTarget) return;
    const { kind, subject, who } = credentialTarget;
    const json = kind === "pin" ? { pin: form.secret.value } : { card_number: form.secret.value };
    act(form, $("credential-message"), async (key) => {
      await api("POST", pathOf(subject) + "/credentials/" + kind, { json, key });
      form.hidden = true;
      say(message, t("done") + ": " + (kind === "pin" ? t("issue_pin") : t("issue_card"))
        + " · " + who, "good");
    });
  });

  // Registering

  function showGuardianFields() {
    const form = $("add-resident");
    const child = isChild(form.elements["born"].value);
    $("guardian-fields").hidden = !child;
    form.elements["guardian_name"].required = child;
    form.elements["guardian_born"].required = child;
    form.adult.disabled = Boolean(form.elements["born"].value);
    if (form.elements["born"].value) form.adult.checked = !child;
  }

  $("add-resident").elements["born"].addEventListener("input", showGuardianFields);
  $("add-resident").elements["born"].addEventListener("change", showGuardianFields);

  // Guardians are picked from the site's adult residents as their name is typed.
  let guardianTimer = 0;
  function offerGuardians(event) {
    clearTimeout(guardianTimer);
    const text = event.currentTarget.value.trim();
    guardianTimer = setTimeout(async () => {
      if (!session || !text) return;
      const params = new URLSearchParams({ q: text, status: "active", per_page: "20" });
      try {
        const found = await api("GET", base() + "/subjects/search?" + params);
        const options = found.items.filter((s) => !s.minor && s.name).slice(0, GUARDIAN_CHOICES)
          .map((s) => {
            const option = document.createElement("option");
            option.value = s.name;
            option.label = [s.name, home(s)].filter(Boolean).join(" · ");
            return option;
          });
        $("guardian-options").replaceChildren(...options);
      } catch (error) { /* only suggestions: typing a name still works */ }
    }, SEARCH_DELAY_MS);
  }
  for (const form of [$("add-resident"), $("consent-form")]) {
    form.elements["guardian_name"].addEventListener("input", offerGuardians);
  }

  $("add-resident").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const note = $("add-resident-message");
    act(form, note, async (key) => {
      const born = form.elements["born"].value;
      if (!born && !form.adult.checked) {
        say(note, t("res_born_or_adult"), "bad");
        return;
      }
      const json = { name: form.elements["name"].value.trim(), kind: form.kind.value,
        adult: !born && form.adult.checked };
      if (born) json.born = born;
      for (const field of ["building", "unit", "household"]) {
        const value = form.elements[field].value.trim();
        if (value) json[field] = value;
      }
      if (form.expires.value) json.expires = form.expires.value + "T23:59:59Z";
      const subject = await api("POST", base() + "/subjects", { json, key });
      let text = t("done") + ": " + t("add_resident") + " · " + subject.name;
      let tone = "good";
      if (subject.minor) {
        try {
          const guardian = await addGuardian(subject, form, key + ":guardian");
          if (form.elements["evidence"].value.trim()) {
            await recordConsent(subject, form, guardian, key + ":consent");
          }
          text = t("res_child_registered") + " · " + subject.name;
        } catch (error) {
          text = t("res_child_partly") + " " + errorText(error);
          tone = "bad";
        }
      }
      form.reset();
      showGuardianFields();
      page = 1;
      await loadResidents();
      say(note, text, tone);
    });
  });

  // Import and export

  function problemRow(problem) {
    const where = problem.line === 0 ? t("res_import_whole_file") : String(problem.line);
    let column = wordOr("import_column_" + problem.column, problem.column);
    if (problem.column === null || problem.column === undefined) {
      column = problem.line === 0 ? "" : t("res_import_whole_line");
    }
    const text = problem.other_line ? fill("res_import_same_as", { line: problem.other_line })
      : wordOr("import_reason_" + problem.reason, t("err_unknown"));
    const tr = row([where, column, text]);
    tr.dataset.line = String(problem.line);
    tr.dataset.reason = problem.reason;
    return tr;
  }

  function showProblems(problems) {
    const table = $("import-problems");
    table.querySelector("tbody").replaceChildren(...problems.map(problemRow));
    table.hidden = problems.length === 0;
  }

  function runImport(dryRun) {
    const form = $("import-form");
    const note = $("import-message");
    act(form, note, async (key) => {
      showProblems([]);
      const file = form.elements["file"].files[0];
      if (!file) {
        say(note, t("res_import_pick_file"), "bad");
        return;
      }
      const data = new FormData();
      data.append("file", file);
      let report;
      try {
        report = await api("POST", base() + "/subjects/import?dry_run=" + String(dryRun),
          { form: data, key: dryRun ? undefined : key });
      } catch (error) {
        if (error.code !== "import_refused") throw error;
        report = { problems: error.detail.problems || [], rows: error.detail.rows };
      }
      if (report.problems.length) {
        showProblems(report.problems);
        say(note, fill("res_import_bad", { count: report.problems.length }), "bad");
      } else if (dryRun) {
        say(note, fill("res_import_ok", { rows: report.rows }), "good");
      } else {
        form.reset();
        page = 1;
        await loadResidents();
        say(note, fill("res_import_done", { count: report.imported }), "good");
      }
    });
  }

  $("import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runImport(true);
  });
  $("import-run").addEventListener("click", () => runImport(false));

  // Search and pages

  $("resident-search").addEventListener("submit", (event) => {
    event.preventDefault();
    page = 1;
    act(event.currentTarget, message, loadResidents);
  });
  $("residents-prev").addEventListener("click", (event) => {
    page = Math.max(1, page - 1);
    act(event.currentTarget, message, loadResidents);
  });
  $("residents-next").addEventListener("click", (event) => {
    page += 1;
    act(event.currentTarget, message, loadResidents);
  });

  document.addEventListener("fg:console", (event) => {
    session = event.detail;
    if (!may("admin", "operator")) return;
    $("residents-export").href = "/api/v1" + base() + "/subjects.csv";
    page = 1;
    reload();
  });

  document.addEventListener("fg:signed-out", () => {
    session = null;
    $("residents").querySelector("tbody").replaceChildren();
    $("secret-output").hidden = true;
    $("receipt-output").hidden = true;
    $("credentials-panel").hidden = true;
  });
})();
