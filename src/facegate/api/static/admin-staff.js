// The console's staff accounts (site administrators only): list, add (the generated password
// is shown once, next to the table), change role, disable or enable, reset a password.
// Loads when admin.js announces the console ("fg:console") for an administrator.
"use strict";
(() => {
  const { t, api, items, say, act, when, row, button } = window.FG;
  const $ = (id) => document.getElementById(id);
  if (!$("staff")) return;
  const ROLES = ["admin", "operator", "auditor"];
  const message = $("staff-message");
  let site = null;

  const base = () => "/sites/" + encodeURIComponent(site) + "/staff";

  function showPassword(username, password) {
    $("staff-secret-for").textContent = username;
    $("staff-secret-value").textContent = password;
    $("staff-secret").hidden = false;
  }

  function state(member) {
    if (member.disabled_at) return t("staff_disabled");
    if (member.locked_until && new Date(member.locked_until) > new Date()) {
      return t("staff_locked_until") + " " + when(member.locked_until);
    }
    return t("staff_active");
  }

  async function change(control, member, json) {
    await act(control, message, async (key) => {
      await api("POST", base() + "/" + encodeURIComponent(member.id), { json, key });
      say(message, t("staff_changed") + " · " + member.username, "good");
      await load();
    });
  }

  function actions(member) {
    const box = document.createElement("span");
    for (const role of ROLES) {
      if (role === member.role) continue;
      const make = button(t("staff_change_role") + " " + t("role_" + role),
        () => change(make, member, { role }), "secondary");
      box.append(make);
    }
    const disabled = Boolean(member.disabled_at);
    const toggle = button(disabled ? t("staff_enable") : t("staff_disable"), () => {
      if (!disabled && !confirm(t("staff_confirm_disable") + "\n" + member.username)) return;
      change(toggle, member, { disabled: !disabled });
    }, disabled ? "secondary" : "danger");
    const reset = button(t("staff_reset_password"), () => {
      if (!confirm(t("staff_confirm_reset") + "\n" + member.username)) return;
      act(reset, message, async (key) => {
        const made = await api("POST",
          base() + "/" + encodeURIComponent(member.id) + "/password", { json: {}, key });
        if (made.password) showPassword(member.username, made.password);
        await load();
      });
    }, "secondary");
    box.append(toggle, reset);
    return box;
  }

  async function load() {
    const body = $("staff-table").querySelector("tbody");
    const staff = items(await api("GET", base()));
    body.replaceChildren();
    for (const member of staff) {
      const tr = row([member.username, t("role_" + member.role), state(member), actions(member)]);
      tr.dataset.staffId = member.id;
      tr.dataset.username = member.username;
      body.append(tr);
    }
  }

  $("staff-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    act(form, $("staff-form-message"), async (key) => {
      const json = { username: form.elements["username"].value.trim(), role: form.role.value };
      if (form.password.value) json.password = form.password.value;
      const made = await api("POST", base(), { json, key });
      form.reset();
      say($("staff-form-message"), t("staff_created") + " · " + made.staff.username + " · "
        + t("role_" + made.staff.role), "good");
      if (made.password) showPassword(made.staff.username, made.password);
      await load();
    });
  });

  document.addEventListener("fg:console", (event) => {
    site = event.detail.site;
    $("staff-secret").hidden = true;
    if (event.detail.role !== "admin") return;
    load().catch((error) => say(message, window.FG.errorText(error), "bad"));
  });

  document.addEventListener("fg:signed-out", () => {
    site = null;
    $("staff-table").querySelector("tbody").replaceChildren();
    $("staff-secret").hidden = true;
  });
})();
