// /register: one page, one step at a time, no reload between them: facility → inmate (number
// and a name check) → visitor → special needs → kind → date and a free slot → the visit code.
// State for tests lives in window.tatapRegister.
"use strict";

const STEPS = ["facility", "inmate", "visitor", "needs", "kind", "when", "done"];
// Where each field the server may name is typed.
const FIELD_STEP = { facility_id: "facility", inmate_number: "inmate", inmate_name: "inmate",
  name: "visitor", nik: "visitor", phone: "visitor", relationship: "visitor", kind: "kind",
  guests: "kind", "guests[0].name": "kind", "guests[0].contact": "kind", advocate_number: "kind",
  start_ms: "when" };
// Where an error about a field (as the server names it) or an input (by its id) is shown,
// err-<this>, when that is not err-<the name itself>.
const ERROR_AT = { facility: "facility_id", guests: "teacher_name",
  "guests[0].name": "teacher_name", "guests[0].contact": "teacher_contact" };
// What each kind asks for besides the visitor, in the kind step.
const KIND_INPUTS = { regular: [], education: ["teacher_name", "teacher_contact"],
  legal: ["advocate_number"] };
const reg = (window.tatapRegister = { step: "facility", code: null });
let facilities = [];
const dayCache = new Map();  // "facility|kind" → [{date, free}], the booking window's dates
const slotCache = new Map();  // "facility|kind|date" → [{start_ms, end_ms}] (one per start)

function facility() {
  return facilities.find((f) => f.id === $("facility").value) || null;
}

function kind() {
  return document.querySelector("input[name=kind]:checked").value;
}

function go(name) {
  reg.step = name;
  for (const step of STEPS) $(`step-${step}`).hidden = step !== name;
  const n = STEPS.indexOf(name) + 1;
  if (name === "done") clear($("progress"));
  else { say($("progress"), "step_of", { n, total: STEPS.length - 1 }); $("progress").hidden = false; }
  window.scrollTo(0, 0);
  const first = $(`step-${name}`).querySelector("input:not([type=hidden]), select, h1");
  if (first) first.focus({ preventScroll: true });
  if (name === "kind") offerKinds();
  if (name === "when") loadDates();
}

// Show an error under the input the server's ``field`` (or the page's input id) is typed in.
function fieldError(field, key, messages) {
  const id = ERROR_AT[field] || field;
  const el = $(`err-${id}`);
  const input = document.querySelector(`[aria-describedby~="err-${id}"]`);
  if (!el) return false;
  if (messages) sayBoth(el, messages); else say(el, key);
  el.hidden = false;
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

function clearErrors(step) {
  for (const el of $(`step-${step}`).querySelectorAll(".err, .note")) clear(el);
  for (const el of $(`step-${step}`).querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

// Every empty required input of the step is marked; true when there is none.
function filled(step, ids) {
  let ok = true;
  for (const id of ids) {
    if (!$(id).value.trim()) {
      fieldError(id, "required");
      if (ok) $(id).focus();
      ok = false;
    }
  }
  return ok;
}

async function loadFacilities() {
  const resp = await api("GET", "/api/v1/facilities");
  if (resp.status !== 200) { sayFailure($("err-facility_id"), resp); return; }
  facilities = resp.body.facilities;
  for (const option of [...$("facility").options].slice(1)) option.remove();
  for (const f of facilities) {
    const option = document.createElement("option");
    option.value = f.id;
    option.textContent = f.name;
    $("facility").append(option);
  }
  if (facilities.length === 1) $("facility").value = facilities[0].id;
  if (!facilities.length) fieldError("facility_id", "facility_none");
  fillRelationships();
}

// The relationships the facility accepts (all of them if it says nothing), never "teacher": a
// teacher is the second guest of an education visit, not the one who registers.
function fillRelationships() {
  const f = facility();
  const allowed = f && Array.isArray(f.relationships) ? f.relationships : null;
  const select = $("relationship");
  const chosen = select.value;
  for (const option of [...select.options].slice(1)) option.remove();
  for (const r of FACTS.relationships) {
    if (r.code === "teacher" || (allowed && !allowed.includes(r.code))) continue;
    const option = document.createElement("option");
    option.value = r.code;
    option.textContent = r[LANG] || r.id;
    select.append(option);
  }
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : "";
}

// An advocate makes a legal visit; a family member a family or an education visit.
function offerKinds() {
  const advocate = $("relationship").value === "advocate";
  $("kind-legal-row").hidden = !advocate;
  $("kind-regular-row").hidden = advocate;
  $("kind-education-row").hidden = advocate;
  if (advocate) $("kind-legal").checked = true;
  else if (kind() === "legal") $("kind-regular").checked = true;
  showKindFields();
}

function showKindFields() {
  $("education-fields").hidden = kind() !== "education";
  $("legal-fields").hidden = kind() !== "legal";
}

async function checkInmate() {
  clearErrors("inmate");
  if (!filled("inmate", ["inmate_number", "inmate_name"])) return;
  const button = $("step-inmate").querySelector("[type=submit]");
  button.disabled = true;
  const resp = await api("POST", "/api/v1/inmates/check", { facility_id: $("facility").value,
    inmate_number: $("inmate_number").value.trim(), name: $("inmate_name").value.trim() });
  button.disabled = false;
  if (resp.status === 200 && resp.body.match) go("visitor");
  else if (resp.status === 200) fieldError("inmate_name", "inmate_mismatch");
  else sayFailure($("err-inmate_name"), resp);
}

async function slotsOf(date) {
  const key = `${facility().id}|${kind()}|${date}`;
  if (!slotCache.has(key)) {
    const path = `/api/v1/facilities/${encodeURIComponent(facility().id)}/slots?date=${date}&kind=${kind()}`;
    const resp = await api("GET", path);
    if (resp.status !== 200) return resp;
    const starts = new Map();
    for (const s of resp.body.slots) if (!starts.has(s.start_ms)) starts.set(s.start_ms, s);
    slotCache.set(key, [...starts.values()]);
  }
  return slotCache.get(key);
}

// The booking window's dates with their count of free times, in one call.
async function daysOf() {
  const key = `${facility().id}|${kind()}`;
  if (!dayCache.has(key)) {
    const path = `/api/v1/facilities/${encodeURIComponent(facility().id)}/days?kind=${kind()}`;
    const resp = await api("GET", path);
    if (resp.status !== 200) return resp;
    dayCache.set(key, resp.body.days);
  }
  return dayCache.get(key);
}

// Every date of the window, those without a free time greyed out; the first free one's slots
// shown. One call for the list; a day's slots when it is shown.
async function loadDates() {
  const select = $("date");
  select.replaceChildren();
  clear($("err-date"));
  say($("slots-note"), "slots_loading");
  $("slots").replaceChildren();
  const days = await daysOf();
  if (!Array.isArray(days)) { say($("slots-note"), ""); sayFailure($("err-date"), days); return; }
  for (const d of days) {
    const option = document.createElement("option");
    option.value = d.date;
    option.disabled = !d.free;
    select.append(option);
  }
  labelDates();
  const open = days.find((d) => d.free);
  if (!open) { say($("slots-note"), "days_none"); return; }
  select.value = open.date;
  await showSlots();
}

function labelDates() {
  const tz = facility() ? facility().timezone : "UTC";
  for (const option of $("date").options) {
    // Noon of that day: its name is the same wherever the phone's clock is.
    const date = localDate(Date.parse(`${option.value}T12:00:00Z`), tz);
    option.textContent = option.disabled ? t("day_full", { date }) : date;
  }
}

async function showSlots() {
  const date = $("date").value;
  const box = $("slots");
  const chosen = reg.startMs;
  box.replaceChildren();
  reg.startMs = null;
  say($("slots-note"), "slots_loading");
  const slots = await slotsOf(date);
  if (!Array.isArray(slots)) { sayFailure($("err-date"), slots); return; }
  if (!slots.length) { say($("slots-note"), "slots_none"); return; }
  const tz = facility().timezone;
  say($("slots-note"), "times_in", { tz: zoneName(tz) });
  for (const s of slots) {
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "slot";
    input.value = String(s.start_ms);
    input.checked = s.start_ms === chosen;
    input.addEventListener("change", () => { reg.startMs = s.start_ms; clear($("err-start_ms")); });
    const text = document.createElement("span");
    text.className = "time";
    text.dataset.ms = String(s.start_ms);
    text.textContent = localTime(s.start_ms, tz);
    label.append(input, " ", text);
    box.append(label);
    if (input.checked) reg.startMs = s.start_ms;
  }
}

function requestBody() {
  const body = {
    facility_id: $("facility").value,
    inmate_number: $("inmate_number").value.trim(),
    inmate_name: $("inmate_name").value.trim(),
    kind: kind(),
    start_ms: reg.startMs,
    visitor: { name: $("name").value, nik: $("nik").value, phone: $("phone").value,
      relationship: $("relationship").value },
    priority: [...document.querySelectorAll("input[name=need]")].some((c) => c.checked),
  };
  if (body.kind === "education") {
    body.guests = [{ name: $("teacher_name").value, contact: $("teacher_contact").value }];
  }
  if (body.kind === "legal") body.advocate_number = $("advocate_number").value;
  return body;
}

async function submit() {
  clearErrors("when");
  if (!reg.startMs) { fieldError("start_ms", "pick_slot"); return; }
  const button = $("submit");
  button.disabled = true;
  say(button, "sending");
  const resp = await api("POST", "/api/v1/requests", requestBody());
  button.disabled = false;
  say(button, "submit");
  if (resp.status === 201) { done(resp.body); return; }
  const error = errorOf(resp);
  const field = error.details && error.details.field;
  if (resp.status === 400 && FIELD_STEP[field]) {
    go(FIELD_STEP[field]);
    const messages = error.details.messages;
    if (field === "start_ms") { dayCache.clear(); slotCache.clear(); fieldError("start_ms", "pick_slot"); }
    else if (!fieldError(field, "err_other", messages)) sayFailure($("submit-error"), resp);
    return;
  }
  if (resp.status === 404) { go("inmate"); fieldError("inmate_number", "err_inmate_unknown"); return; }
  sayFailure($("submit-error"), resp);
  if (error.code === "slot_full") {
    dayCache.clear();
    for (const key of [...slotCache.keys()]) if (key.endsWith(`|${$("date").value}`)) slotCache.delete(key);
    await showSlots();
  }
}

function done(made) {
  reg.code = made.code;
  $("visit-code").textContent = made.code;
  $("to-status").href = `/status?code=${encodeURIComponent(made.code)}`;
  reg.made = made;
  sayWhen();
  go("done");
}

function sayWhen() {
  if (!reg.made) return;
  const tz = facility().timezone;
  const kindKey = `kind_${kind()}`;
  say($("done-when"), "summary", { kind: t(kindKey), date: localDate(reg.made.start_ms, tz),
    time: `${localTime(reg.made.start_ms, tz)} ${zoneName(tz)}` });
}

function onStep(name, handler) {
  $(`step-${name}`).addEventListener("submit", (event) => { event.preventDefault(); handler(); });
}

(() => {
  onStep("facility", () => {
    clearErrors("facility");
    // The list did not come (a dead link at load): "Next" asks again.
    if (!facilities.length) loadFacilities();
    else if (filled("facility", ["facility"])) go("inmate");
  });
  onStep("inmate", checkInmate);
  onStep("visitor", () => {
    clearErrors("visitor");
    if (filled("visitor", ["name", "nik", "phone", "relationship"])) go("needs");
  });
  onStep("needs", () => go("kind"));
  onStep("kind", () => {
    clearErrors("kind");
    if (filled("kind", KIND_INPUTS[kind()])) go("when");
  });
  onStep("when", submit);
  for (const button of document.querySelectorAll(".back")) {
    button.addEventListener("click", () => go(STEPS[Math.max(0, STEPS.indexOf(reg.step) - 1)]));
  }
  $("facility").addEventListener("change", () => { dayCache.clear(); slotCache.clear(); fillRelationships(); });
  $("date").addEventListener("change", () => { clear($("err-start_ms")); showSlots(); });
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", showKindFields);
  }
  for (const input of document.querySelectorAll("input, select")) {
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  }
  document.addEventListener("tatap:lang", () => {
    fillRelationships();
    labelDates();
    const tz = facility() ? facility().timezone : "UTC";
    for (const el of document.querySelectorAll(".time")) el.textContent = localTime(Number(el.dataset.ms), tz);
    sayWhen();
  });
  go("facility");
  loadFacilities();
})();
