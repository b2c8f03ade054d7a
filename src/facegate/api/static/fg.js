// Shared helpers for facegate's pages: translated strings and same-origin JSON calls.
"use strict";
window.FG = (() => {
  const strings = JSON.parse(document.getElementById("fg-strings").textContent);
  const t = (key) => (key in strings ? strings[key] : key);
  /** The word for ``key``, or ``fallback`` when the pages have none. */
  const wordOr = (key, fallback) => (key in strings ? strings[key] : fallback);
  /** The server's limits (``pages.page_limits``), for checks before sending. */
  const limits = JSON.parse(document.getElementById("fg-limits").textContent);

  /**
   * Call /api/v1 with the session cookie (or a device key); throws Error with .status,
   * .code, .reason, .problems and .detail (the whole error body). ``options.key`` is sent
   * as the Idempotency-Key header, so a repeated create is done once.
   */
  async function api(method, path, options = {}) {
    const headers = { Accept: "application/json" };
    if (options.key) headers["Idempotency-Key"] = options.key;
    let body;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.json);
    } else if (options.form !== undefined) {
      body = options.form;
    }
    if (options.token) headers.Authorization = "Bearer " + options.token;
    const response = await fetch("/api/v1" + path, {
      method, headers, body, credentials: "same-origin",
    });
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      const detail = data && data.error ? data.error : {};
      const error = new Error(detail.message || response.statusText || String(response.status));
      error.status = response.status;
      error.code = detail.code;
      error.reason = detail.reason;
      error.problems = detail.problems;
      error.detail = detail;
      throw error;
    }
    return data;
  }

  /** A list from a response that is a list or an object holding one. */
  function items(data) {
    if (Array.isArray(data)) return data;
    if (data && typeof data === "object") {
      for (const value of Object.values(data)) if (Array.isArray(value)) return value;
    }
    return [];
  }

  const reasonText = (code) => (code ? wordOr("reason_" + code, code) : "");

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(document.documentElement.lang) : "";
  }

  const known = (key) => key in strings;

  /**
   * The plain-language words for an API error, in the page's language: the most specific of
   * ``err_<code>_<reason>``, ``err_<code>`` (plus ``field_<name>`` for each malformed
   * field), else ``err_unknown``. The API's English message is never shown on a page.
   */
  function errorText(error) {
    const code = error && error.code;
    if (code === "invalid_request" && Array.isArray(error.problems) && error.problems.length) {
      const fields = error.problems
        // "body.gates.1": the field is the last part that is not a list index.
        .map((p) => String(p.where || "").split(".").filter((part) => !/^\d+$/.test(part)).pop())
        .map((name) => (known("field_" + name) ? t("field_" + name) : ""))
        .filter((text, index, all) => text && all.indexOf(text) === index);
      if (fields.length) return fields.join(" ");
    }
    let text = t("err_unknown");
    if (code && error.reason && known("err_" + code + "_" + error.reason)) {
      text = t("err_" + code + "_" + error.reason);
    } else if (code && known("err_" + code)) {
      text = t("err_" + code);
    } else if (!error || !error.status) {
      text = t("err_network");
    }
    const until = error && error.detail && error.detail.until;
    if (until) text += " " + t("err_until") + " " + when(until);
    return text;
  }

  /** Show ``text`` in ``element`` (a message placed next to the action) and bring it into view. */
  function say(element, text, tone) {
    element.textContent = text;
    element.classList.toggle("bad", tone === "bad");
    element.classList.toggle("good", tone === "good");
    if (text && element.scrollIntoView) element.scrollIntoView({ block: "nearest" });
  }

  const newKey = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16)).join(""));

  /**
   * Run one state-changing action from ``control`` (a button or a form): the button(s) are
   * disabled while it is pending, so a double click does it once; ``message`` is cleared
   * first and shows the error in plain words if it fails. ``work`` receives a fresh
   * idempotency key to pass to ``api(..., { key })``. Resolves to work's result, or
   * undefined after a failure (already shown).
   */
  async function act(control, message, work) {
    const buttons = control instanceof HTMLFormElement
      ? Array.from(control.querySelectorAll("button")) : [control];
    if (buttons.some((b) => b.dataset.pending === "1")) return undefined;
    for (const b of buttons) { b.dataset.pending = "1"; b.disabled = true; }
    if (message) say(message, "", null);
    try {
      return await work(newKey());
    } catch (error) {
      if (message) say(message, errorText(error), "bad");
      return undefined;
    } finally {
      for (const b of buttons) { delete b.dataset.pending; b.disabled = false; }
    }
  }

  function row(cells) {
    const tr = document.createElement("tr");
    for (const value of cells) {
      const td = document.createElement("td");
      if (value instanceof Node) td.append(value); else td.textContent = value ?? "";
      tr.append(td);
    }
    return tr;
  }

  function button(label, onClick, className) {
    const element = document.createElement("button");
    element.type = "button";
    element.textContent = label;
    if (className) element.className = className;
    element.addEventListener("click", onClick);
    return element;
  }

  function download(name, data) {
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  return { t, wordOr, limits, api, items, reasonText, when, say, errorText, act, newKey, row, button, download };
})();
