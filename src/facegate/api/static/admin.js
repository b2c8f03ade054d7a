// The staff console: everything goes through /api/v1/sites/{site}/... with the HttpOnly
// session cookie. The page asks the server which session it holds (GET /auth/session), so
// a new tab opens the console straight away; the session's role decides what is shown
// (elements marked data-roles; the server refuses the rest whatever the page shows).
// Other console scripts hear "fg:console" (detail: the session) once it is shown, and
// "fg:signed-out".
"use strict";
(() => {
  const { t, api, act } = window.FG;
  const $ = (id) => document.getElementById(id);
  //: Written by earlier versions of this page; removed so no script trusts a stale site.
  const SITE_KEY = "fg_admin_site";
  //: The session this page holds: { role, site, expires_at }, or null.
  let session = null;
  const site = () => (session ? session.site : "");
  const base = () => "/sites/" + encodeURIComponent(site());
  const message = $("console-message");

  function showSignin() {
    session = null;
    sessionStorage.removeItem(SITE_KEY);
    delete document.body.dataset.role;
    $("console").hidden = true;
    $("signin").hidden = false;
  }

  async function loadConsole() {
    sessionStorage.removeItem(SITE_KEY);
    document.body.dataset.role = session.role;
    $("session-role").textContent = t("role_" + session.role);
    const info = await api("GET", base());
    $("site-name").textContent = info.name || info.code;
    $("compliance-link").href = "/api/v1" + base() + "/compliance?format=html";
    $("signin").hidden = true;
    $("console").hidden = false;
    // Residents: admin-residents.js; gates, devices, the access log, audit and notice:
    // admin-log.js; both on "fg:console".
    document.dispatchEvent(new CustomEvent("fg:console", { detail: { ...session } }));
  }

  $("admin-signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    act(form, $("signin-message"), async () => {
      const opened = await api("POST", "/auth/admin",
        { json: { username: form.username.value, password: form.password.value } });
      form.password.value = "";
      session = { role: opened.role, site: opened.site, expires_at: opened.expires_at };
      await loadConsole();
    });
  });

  $("sign-out").addEventListener("click", (event) => {
    act(event.currentTarget, message, async () => {
      try { await api("POST", "/auth/logout"); } catch (error) { /* signed out either way */ }
      showSignin();
      document.dispatchEvent(new CustomEvent("fg:signed-out"));
    });
  });

  // A session still valid (another tab, a reload) opens the console without signing in.
  (async () => {
    try {
      const held = await api("GET", "/auth/session");
      if (held.role !== "resident") {
        session = held;
        await loadConsole();
        return;
      }
    } catch (error) { /* 401: no session, so the sign-in form */ }
    showSignin();
  })();
})();
