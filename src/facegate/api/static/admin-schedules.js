// The console's gate schedules (site administrators only): for a gate, when each way in
// (face, card, PIN, one-time code) may open it, as weekly windows in local time. Saving
// replaces the gate's schedule; a schedule that would let only the face in at some time is
// refused by the server and the reason is shown next to the save button.
"use strict";
(() => {
  const { t, api, items, say, act, errorText } = window.FG;
  const $ = (id) => document.getElementById(id);
  if (!$("schedules")) return;
  const KINDS = ["face", "card", "pin", "otp"];
  const DAYS = [0, 1, 2, 3, 4, 5, 6];
  const message = $("sched-message");
  let site = null;

  const path = () => "/sites/" + encodeURIComponent(site) + "/gates/"
    + encodeURIComponent($("sched-gate").value) + "/schedule";

  function labelled(text, control) {
    const label = document.createElement("label");
    label.append(text + " ", control);
    return label;
  }

  function windowRow(spec) {
    const box = document.createElement("div");
    box.className = "sched-window";
    const kind = document.createElement("select");
    kind.name = "kind";
    for (const value of KINDS) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = t("sched_kind_" + value);
      kind.append(option);
    }
    kind.value = spec.kind;
    const days = document.createElement("fieldset");
    days.className = "sched-days";
    const legend = document.createElement("legend");
    legend.textContent = t("sched_days");
    days.append(legend);
    for (const day of DAYS) {
      const check = document.createElement("input");
      check.type = "checkbox";
      check.value = String(day);
      check.checked = spec.days.includes(day);
      const label = document.createElement("label");
      label.className = "check";
      label.append(check, t("sched_day_" + day));
      days.append(label);
    }
    const start = document.createElement("input");
    start.type = "time";
    start.name = "start";
    start.value = spec.start;
    const end = document.createElement("input");
    end.type = "time";
    end.name = "end";
    // A time input cannot show 24:00: 23:59 stands for the end of the day.
    end.value = spec.end === "24:00" ? "23:59" : spec.end;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = t("sched_remove");
    remove.addEventListener("click", () => { box.remove(); showEmpty(); });
    box.append(labelled(t("sched_kind"), kind), days, labelled(t("sched_start"), start),
      labelled(t("sched_end"), end), remove);
    return box;
  }

  function showEmpty() {
    $("sched-none").hidden = $("sched-windows").children.length > 0;
  }

  function show(schedule) {
    $("sched-timezone").value = schedule.timezone;
    $("sched-windows").replaceChildren(...items(schedule.windows).map(windowRow));
    showEmpty();
  }

  function collect() {
    return Array.from($("sched-windows").children, (box) => {
      const end = box.querySelector("input[name=end]").value;
      return {
        kind: box.querySelector("select[name=kind]").value,
        days: Array.from(box.querySelectorAll(".sched-days input:checked"), (c) => Number(c.value)),
        start: box.querySelector("input[name=start]").value,
        end: end === "23:59" ? "24:00" : end,
      };
    });
  }

  async function loadSchedule() {
    if (!$("sched-gate").value) return;
    show(await api("GET", path()));
  }

  async function load() {
    const gates = items(await api("GET", "/sites/" + encodeURIComponent(site) + "/gates"));
    const select = $("sched-gate");
    const chosen = select.value;
    select.replaceChildren(...gates.map((gate) => {
      const option = document.createElement("option");
      option.value = gate.code;
      option.textContent = gate.name ? gate.name + " (" + gate.code + ")" : gate.code;
      return option;
    }));
    if (gates.some((gate) => gate.code === chosen)) select.value = chosen;
    await loadSchedule();
  }

  $("sched-gate").addEventListener("change", () => {
    say(message, "", null);
    loadSchedule().catch((error) => say(message, errorText(error), "bad"));
  });

  $("sched-add").addEventListener("click", () => {
    $("sched-windows").append(windowRow({ kind: "card", days: DAYS, start: "06:00", end: "23:00" }));
    showEmpty();
  });

  $("sched-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const windows = collect();
    if (windows.some((w) => !w.days.length)) {
      say(message, t("sched_pick_day"), "bad");
      return;
    }
    act(event.currentTarget, message, async () => {
      const saved = await api("PUT", path(),
        { json: { timezone: $("sched-timezone").value.trim(), windows } });
      show(saved);
      say(message, t("sched_saved"), "good");
    });
  });

  document.addEventListener("fg:console", (event) => {
    if (!event.detail || event.detail.role !== "admin") return;
    site = event.detail.site;
    load().catch((error) => say(message, errorText(error), "bad"));
  });
})();
