// Schedule administration for the officer's facility: each room's slot templates (add, remove),
// the emergency close (its preview counted in the confirmation, then made), blocked dates,
// quotas and accepted relationships (changed by an admin only), and blocked visitors (NIK masked;
// block, lift). Every change asks first and is audited by the server.
"use strict";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const KINDS = ["regular", "education", "legal"];
const Schedule = { data: null };

function base() {
  return `/api/v1/facilities/${encodeURIComponent(Facility.id)}`;
}

function checks(fieldset, names, prefix, checked) {
  const legend = fieldset.querySelector("legend");
  fieldset.replaceChildren(legend, ...names.map((name) => {
    const label = el("label", "check");
    const box = el("input");
    box.type = "checkbox";
    box.value = name;
    box.checked = checked(name);
    label.append(box, said("span", "", `${prefix}${name}`));
    return label;
  }));
}

function ticked(fieldset) {
  return [...fieldset.querySelectorAll("input:checked")].map((b) => b.value).join(",");
}

function when(ms) {
  return `${localDate(ms, Facility.tz)} ${localTime(ms, Facility.tz)}`;
}

async function load() {
  if (!Facility.id) return;
  const resp = await Staff.api("GET", `${base()}/schedule`);
  if (resp.status !== 200) {
    failed(resp);
    return;
  }
  Schedule.data = resp.body;
  render();
}

function render() {
  const data = Schedule.data;
  if (!data) return;
  $("rooms").replaceChildren(...data.rooms.map(roomBlock));
  const room = $("t-room").value;
  $("t-room").replaceChildren(...data.rooms.map((r) => {
    const option = el("option", "", r.name);
    option.value = r.id;
    return option;
  }));
  if (room) $("t-room").value = room;
  $("closures").replaceChildren(...data.closures.map((c) =>
    el("li", "", `${when(c.start_ms)} – ${when(c.end_ms)} · ${c.reason}`)));
  $("blocked-dates").replaceChildren(...data.blocked_dates.map((d) =>
    el("li", "", `${d.date} · ${d.reason}`)));
  $("q-inmate").value = data.quotas.per_inmate;
  $("q-visitor").value = data.quotas.per_visitor;
  const accepted = new Set(data.relationships);
  const relationships = (FACTS.relationships || []).map((r) => r.code);
  checks($("relationships"), relationships, "rel_", (code) => accepted.has(code));
  for (const label of $("relationships").querySelectorAll("label")) {
    const code = label.querySelector("input").value;
    const found = FACTS.relationships.find((r) => r.code === code);
    label.querySelector("span").textContent = found[LANG] || found.id;
  }
  const admin = Staff.session && Staff.session.role === "admin";
  for (const input of document.querySelectorAll("#quota-form input, #quota-form button,"
    + " #relationships-form input, #relationships-form button")) input.disabled = !admin;
  $("admin-only").hidden = admin;
  $("blocks").replaceChildren(...data.blocked_visitors.map(blockRow));
}

function roomBlock(room) {
  const box = el("div", "room");
  box.append(el("h3", "", room.name));
  if (!room.templates.length) box.append(said("p", "muted", "no_templates"));
  const list = el("ul", "plain templates");
  for (const tpl of room.templates) {
    const li = el("li", "template");
    li.dataset.id = tpl.id;
    const days = tpl.weekdays.map((d) => t(`day_${d}`)).join(", ");
    const kinds = tpl.kinds.map((k) => t(`kind_${k}`)).join(", ");
    li.append(el("span", "", `${days} · ${tpl.open}–${tpl.close} · ${tpl.length_min} ${t("minutes")} · ${kinds}`));
    const remove = said("button", "danger small", "remove");
    remove.type = "button";
    remove.addEventListener("click", () => removeTemplate(room, tpl));
    li.append(remove);
    list.append(li);
  }
  box.append(list);
  return box;
}

function blockRow(visitor) {
  const li = el("li", "block");
  li.append(el("span", "", `${visitor.name || "—"} · ${visitor.nik}`));
  if (visitor.until) li.append(said("span", "muted until", "blocked_until", { date: visitor.until }));
  const lift = said("button", "small", "unblock");
  lift.type = "button";
  lift.addEventListener("click", () => unblock(visitor));
  li.append(lift);
  return li;
}

async function addTemplate(event) {
  event.preventDefault();
  const body = { room_id: $("t-room").value, weekdays: ticked($("t-days")),
    open: $("t-open").value, close: $("t-close").value,
    length_min: Number($("t-length").value), kinds: ticked($("t-kinds")) };
  if (!body.weekdays || !body.kinds) {
    say($("page-error"), "need_days_kinds");
    $("page-error").hidden = false;
    return;
  }
  if (await change("POST", `${base()}/templates`, body, "template_added")) await load();
}

async function removeTemplate(room, tpl) {
  const ok = await Staff.confirm("ask_remove_template",
    { room: room.name, open: tpl.open, close: tpl.close });
  if (!ok) return;
  const path = `${base()}/templates/${encodeURIComponent(tpl.id)}`;
  if (await change("DELETE", path, null, "template_removed")) await load();
}

async function closeNow(event) {
  event.preventDefault();
  const start = wallMs($("c-from-date").value, $("c-from-time").value, Facility.tz);
  const end = wallMs($("c-until-date").value, $("c-until-time").value, Facility.tz);
  const reason = $("c-reason").value.trim();
  const query = new URLSearchParams({ start_ms: start, end_ms: end });
  const preview = await Staff.api("GET", `${base()}/closures/preview?${query}`);
  if (preview.status !== 200) {
    failed(preview);
    return;
  }
  const counts = preview.body;
  const ok = await Staff.confirm("ask_close", { from: when(start), until: when(end),
    visits: counts.cancelled, families: counts.families, live: counts.live });
  if (!ok) return;
  const made = await change("POST", `${base()}/closures`, { start_ms: start, end_ms: end, reason },
    "closed", (b) => ({ visits: b.cancelled.length, live: b.ended.length }));
  if (made) {
    $("close-form").reset();
    await load();
  }
}

async function blockDate(event) {
  event.preventDefault();
  const body = { date: $("d-date").value, reason: $("d-reason").value.trim() };
  const ok = await Staff.confirm("ask_block_date", { date: body.date });
  if (!ok) return;
  if (await change("POST", `${base()}/blocked-dates`, body, "date_blocked", (b) => b)) {
    $("date-form").reset();
    await load();
  }
}

async function saveQuotas(event) {
  event.preventDefault();
  const body = { per_inmate: Number($("q-inmate").value), per_visitor: Number($("q-visitor").value) };
  await change("PUT", `${base()}/quotas`, body, "saved");
  await load();
}

async function saveRelationships(event) {
  event.preventDefault();
  const relationships = ticked($("relationships"));
  await change("PUT", `${base()}/relationships`, { relationships }, "saved");
  await load();
}

async function block(event) {
  event.preventDefault();
  const nik = $("b-nik").value.trim();
  const body = { nik, reason: $("b-reason").value.trim() };
  if ($("b-until").value) body.until = $("b-until").value;
  const ok = await Staff.confirm("ask_block", { nik: `…${nik.slice(-4)}` });
  if (!ok) return;
  if (await change("POST", `${base()}/blocks`, body, "blocked")) {
    $("block-form").reset();
    await load();
  }
}

async function unblock(visitor) {
  const field = askField("reason");
  const ok = await Staff.confirm("ask_unblock", { nik: visitor.nik }, field,
    () => (field.querySelector("input").value.trim() ? "" : "need_reason"));
  if (!ok) return;
  const reason = field.querySelector("input").value.trim();
  const body = { visitor_id: visitor.id, reason };
  if (await change("POST", `${base()}/blocks/lift`, body, "unblocked")) await load();
}

checks($("t-days"), WEEKDAYS, "day_", (d) => d !== "sun");
checks($("t-kinds"), KINDS, "kind_", (k) => k === "regular");
$("template-form").addEventListener("submit", addTemplate);
$("close-form").addEventListener("submit", closeNow);
$("date-form").addEventListener("submit", blockDate);
$("quota-form").addEventListener("submit", saveQuotas);
$("relationships-form").addEventListener("submit", saveRelationships);
$("block-form").addEventListener("submit", block);
document.addEventListener("tatap:lang", render);
window.officerSchedule = { load, Schedule };

Staff.start(
  (session) => Facility.choose(session, load),
  () => {
    Facility.forget();
    Schedule.data = null;
  },
);
