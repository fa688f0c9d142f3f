// The walk-in page: a family at the gate gets a video visit starting now. The officer finds
// the inmate (number or name), picks a room the server says is free now (its terminal online,
// nothing booked or closed), types the visitor's name (and phone, if given) and starts it; the
// page then shows the family link as a QR code (made by the server) and as text with "copy".
// The link is shown once: it is kept on this page only, never stored or sent elsewhere.
"use strict";

const ROOMS_POLL_MS = 10000;
const SEARCH_DELAY_MS = 250;
const Walk = {
  facility: "",
  tz: "Asia/Jakarta",
  inmates: [],
  inmate: null,  // the inmate picked
  rooms: [],
  lengthS: 0,  // how long a walk-in lasts (the facility's regular visit)
  room: "",  // the terminal id of the room picked
  searchTimer: 0,
  searchSeq: 0,  // answers to older searches are dropped
  roomsTimer: 0,
};

function node(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function inmateLabel(inmate) {
  return `${inmate.number} · ${inmate.name}`;
}

function showError(key, vars) {
  say($("walkin-error"), key, vars);
  $("walkin-error").hidden = !key;
}

function scheduleSearch() {
  clearTimeout(Walk.searchTimer);
  Walk.searchTimer = setTimeout(search, SEARCH_DELAY_MS);
}

async function search() {
  const text = $("inmate-q").value.trim();
  const seq = ++Walk.searchSeq;
  if (text.length < 2 || !Walk.facility) {
    Walk.inmates = [];
    renderInmates();
    return;
  }
  const query = new URLSearchParams({ facility: Walk.facility, q: text });
  const resp = await Staff.api("GET", `/api/v1/inmates?${query}`);
  if (seq !== Walk.searchSeq) return;
  if (resp.status !== 200) {
    if (Staff.session) Staff.sayFailure($("walkin-error"), resp);
    return;
  }
  Walk.inmates = resp.body.inmates;
  renderInmates(true);
}

function renderInmates(searched) {
  const list = $("inmates");
  const shown = Walk.inmate && !Walk.inmates.some((i) => i.id === Walk.inmate.id)
    ? [Walk.inmate, ...Walk.inmates] : Walk.inmates;
  const items = shown.map((inmate) => {
    const li = node("li");
    const label = node("label", "choice");
    const radio = node("input");
    radio.type = "radio";
    radio.name = "inmate";
    radio.value = inmate.id;
    radio.checked = Walk.inmate !== null && Walk.inmate.id === inmate.id;
    radio.addEventListener("change", () => { Walk.inmate = inmate; showError(""); showRef(); });
    const text = node("span");
    say(text, "inmate_pick", { number: inmate.number, name: inmate.name, block: inmate.block || "-" });
    label.append(radio, text);
    if (inmate.status === "remand") {
      const why = node("span", "tag remand");
      say(why, "inmate_remand");
      label.append(why);
    }
    li.append(label);
    return li;
  });
  if (searched && !items.length) {
    const none = node("li", "muted");
    say(none, "inmates_none");
    items.push(none);
  }
  list.replaceChildren(...items);
}

// A remand inmate's visit needs the detaining authority's letter number, as an approval does.
function showRef() {
  $("ref-field").hidden = !(Walk.inmate && Walk.inmate.status === "remand");
}

async function loadRooms(background) {
  if (!Walk.facility || !Staff.session) return;
  const query = new URLSearchParams({ facility: Walk.facility });
  const resp = await Staff.api("GET", `/api/v1/visits/walk-in/rooms?${query}`, null, background);
  if (resp.status !== 200) {
    if (Staff.session) Staff.sayFailure($("walkin-error"), resp);
    return;
  }
  Walk.rooms = resp.body.rooms;
  Walk.lengthS = resp.body.length_s;
  if (!Walk.rooms.some((r) => r.terminal_id === Walk.room && r.free)) Walk.room = "";
  renderRooms();
}

function roomState(room) {
  if (room.free) return ["room_free", {}];
  if (room.closed) return ["room_closed", {}];
  if (!room.online) return ["room_offline", {}];
  return ["room_booked", { time: localTime(room.busy_until_ms, Walk.tz) }];
}

function renderRooms() {
  const items = Walk.rooms.map((room) => {
    const li = node("li");
    const label = node("label", `choice room ${room.free ? "free" : "taken"}`);
    const radio = node("input");
    radio.type = "radio";
    radio.name = "room";
    radio.value = room.terminal_id;
    radio.disabled = !room.free;
    radio.checked = room.terminal_id === Walk.room;
    radio.addEventListener("change", () => { Walk.room = room.terminal_id; showError(""); });
    const state = node("span", `tag ${room.free ? "ok" : "off"}`);
    say(state, ...roomState(room));
    label.append(radio, node("strong", "", room.room_name), node("span", "muted", room.terminal_name), state);
    li.append(label);
    return li;
  });
  $("rooms").replaceChildren(...items);
  $("rooms-empty").hidden = Walk.rooms.length > 0;
}

function roomName(terminalId) {
  const room = Walk.rooms.find((r) => r.terminal_id === terminalId);
  return room ? room.room_name : terminalId;
}

async function start(event) {
  event.preventDefault();
  const name = $("visitor-name").value.trim();
  if (!Walk.inmate) return showError("need_inmate");
  if (!Walk.room) return showError("need_room");
  if (!name) return showError("need_name");
  const remand = Walk.inmate.status === "remand";
  const ref = remand ? $("permission-ref").value.trim() : "";
  if (remand && !ref) return showError("need_ref");
  showError("");
  const room = roomName(Walk.room);
  const inmate = inmateLabel(Walk.inmate);
  const minutes = Math.round(Walk.lengthS / 60);
  const ok = await Staff.confirm("ask_walkin", { visitor: name, inmate, room, min: minutes });
  if (!ok) return;
  const button = $("walkin-start");
  button.disabled = true;
  const resp = await Staff.api("POST", "/api/v1/visits/walk-in", {
    terminal_id: Walk.room, inmate_id: Walk.inmate.id, visitor_name: name,
    phone: $("visitor-phone").value.trim(), permission_ref: ref,
  });
  button.disabled = false;
  if (resp.status === 201) {
    showDone(resp.body, { visitor: name, inmate, room });
    return;
  }
  refused(resp);
  loadRooms(false);
}

// A refusal in the officer's language: the walk-in's own reasons, a field's problem as the
// server words it in both languages, else the console's general texts.
function refused(resp) {
  const error = (resp.body && resp.body.error) || {};
  const details = error.details || {};
  if (details.field === "permission_ref") {
    showError("need_ref");
  } else if (details.reason && TEXTS.id[`e_walkin_${details.reason}`]) {
    showError(`e_walkin_${details.reason}`);
  } else if (details.messages) {
    $("walkin-error").textContent = details.messages[LANG] || details.messages.id;
    $("walkin-error").dataset.t = "";
    $("walkin-error").hidden = false;
  } else if (resp.status === 409) {
    showError("e_walkin_booked");
  } else if (resp.status === 404) {
    showError("e_walkin_not_found");
  } else {
    Staff.sayFailure($("walkin-error"), resp);
  }
}

function showDone(answer, what) {
  const visit = answer.visit;
  say($("done-what"), "done_what", { ...what, code: visit.code,
    start: localTime(visit.start_ms, Walk.tz), end: localTime(visit.end_ms, Walk.tz),
    zone: zoneName(Walk.tz) });
  const qr = $("walkin-qr");
  qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(answer.qr_svg)}`;
  qr.alt = t("qr_alt");
  $("walkin-link").value = answer.link;
  $("copy-note").textContent = "";
  $("walkin-form").hidden = true;
  $("walkin-done").hidden = false;
  $("walkin-copy").focus();
}

async function copyLink() {
  const input = $("walkin-link");
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    say($("copy-note"), "copied");
  } catch (err) {
    say($("copy-note"), document.execCommand && document.execCommand("copy") ? "copied" : "copy_failed");
  }
}

function reset() {
  $("walkin-qr").removeAttribute("src");
  $("walkin-link").value = "";
  $("walkin-done").hidden = true;
  $("walkin-form").hidden = false;
  $("walkin-form").reset();
  Walk.inmate = null;
  Walk.inmates = [];
  Walk.room = "";
  renderInmates();
  showRef();
  showError("");
  loadRooms(false);
  $("inmate-q").focus();
}

$("inmate-q").addEventListener("input", scheduleSearch);
$("walkin-form").addEventListener("submit", start);
$("walkin-copy").addEventListener("click", copyLink);
$("walkin-next").addEventListener("click", reset);
document.addEventListener("tatap:lang", () => { renderInmates(); renderRooms(); });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") loadRooms(true);
});

Staff.start(
  (session) => {
    officerFacility(session, (id, tz) => {
      Walk.facility = id;
      Walk.tz = tz;
      Walk.inmate = null;
      Walk.room = "";
      search();
      loadRooms(false);
    });
    clearInterval(Walk.roomsTimer);
    Walk.roomsTimer = setInterval(() => {
      if (document.visibilityState === "visible" && !$("confirm").open) loadRooms(true);
    }, ROOMS_POLL_MS);
  },
  () => {
    clearInterval(Walk.roomsTimer);
    Walk.facility = "";
    reset();
  },
);
