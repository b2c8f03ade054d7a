// Shared helpers for facegate's pages: translated strings and same-origin JSON calls.
"use strict";
window.FG = (() => {
  const strings = JSON.parse(document.getElementById("fg-strings").textContent);
  const t = (key) => (key in strings ? strings[key] : key);

  /** Call /api/v1 with the session cookie (or a device key); throws Error with .status/.code. */
  async function api(method, path, options = {}) {
    const headers = { Accept: "application/json" };
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

  const reasonText = (code) => (code ? t("reason_" + code) === "reason_" + code ? code
    : t("reason_" + code) : "");

  function when(iso) {
    return iso ? new Date(iso).toLocaleString(document.documentElement.lang) : "";
  }

  function say(element, text, tone) {
    element.textContent = text;
    element.classList.toggle("bad", tone === "bad");
    element.classList.toggle("good", tone === "good");
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

  return { t, api, items, reasonText, when, say, row, button, download };
})();
