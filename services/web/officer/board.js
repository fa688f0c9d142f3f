// The today board: every visit of the day per visit room, in the facility's time zone, kept live
// by the board's event stream (signaling/PROTOCOL.md §9); "ready" per visit; the alerts, raised
// on time between pushes from the moments the server gives (ready_due_ms, waiting_alert_ms);
// each room's terminals; a printable schedule. A push replaces one row: scroll, focus and an
// open dialog stay as they are. The console's scripts are served as one: this one keeps its
// names to itself.
"use strict";

(() => {

const Board = {
  facility: "",  // the facility followed
  tz: "Asia/Jakarta",
  name: "",
  date: "",  // YYYY-MM-DD shown (facility time)
  // A date the officer picked ("" follows today); an address may name one (?date=YYYY-MM-DD).
  pinned: /^\d{4}-\d{2}-\d{2}$/.test(new URLSearchParams(location.search).get("date") || "")
    ? new URLSearchParams(location.search).get("date") : "",
  rooms: [],  // [{id, name, terminals: [...]}] as the API gives them
  visits: new Map(),  // id -> row
  skew: 0,  // server's now - ours, from the last answer or event
  loading: 0,  // a load in flight (its sequence number), events wait for it
  seq: 0,
  pending: [],  // events that came during a load
  stale: false,  // more came than were held: read the board again
  alertsSeen: "",
  rendered: false,
};
const Live = { source: null, timer: 0, backoffMs: 1000, openedAt: 0, loadedAt: 0 };
const MAX_BACKOFF_MS = 30000;
const GOING_AHEAD = new Set(["scheduled", "inmate_ready", "family_waiting", "live", "ended"]);
const CAN_READY = new Set(["scheduled", "family_waiting"]);

function now() {
  return Date.now() + Board.skew;
}

function clock(ms) {
  return localTime(ms, Board.tz);
}

// YYYY-MM-DD of ``ms`` in the facility's time zone.
function dayOf(ms) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: Board.tz, year: "numeric", month: "2-digit",
    day: "2-digit" }).format(new Date(ms));
}

function roomName(id) {
  const room = Board.rooms.find((r) => r.id === id);
  return room ? room.name : "";
}

function inmateText(v) {
  return `${v.inmate_number} · ${v.inmate_name}`;
}

// --- reading the board and following its stream ---------------------------------------------

async function load() {
  if (!Staff.session || !Board.facility) return;
  const seq = ++Board.seq;
  Board.loading = seq;
  Live.loadedAt = performance.now();
  const query = new URLSearchParams({ facility: Board.facility });
  if (Board.pinned) query.set("date", Board.pinned);
  const resp = await Staff.api("GET", `/api/v1/board?${query}`, null, true);
  if (seq !== Board.seq) return;  // a newer load took over
  Board.loading = 0;
  if (resp.status !== 200) {
    if (Staff.session) Staff.sayFailure($("board-error"), resp);
    return;
  }
  $("board-error").hidden = true;
  const board = resp.body;
  Board.skew = board.now_ms - Date.now();
  Board.tz = board.facility.timezone;
  Board.name = board.facility.name;
  Board.date = board.date;
  Board.rooms = board.rooms;
  Board.visits = new Map(board.visits.map((v) => [v.id, v]));
  const late = Board.pending.filter((e) => e.now_ms >= board.now_ms);
  Board.pending = [];
  for (const event of late) apply(event, false);
  render();
  if (Board.stale) {
    Board.stale = false;
    load();
  }
}

function connect() {
  disconnect();
  if (!Staff.session || !Board.facility) return;
  const query = new URLSearchParams({ facility: Board.facility, [FACTS.background_query]: "1" });
  const source = new EventSource(`/api/v1/board/events?${query}`);
  Live.source = source;
  Live.openedAt = performance.now();
  source.addEventListener("hello", () => {
    Live.backoffMs = 1000;
    showLive(true);
    // What changed while the stream was away is read again, unless a load began since it opened.
    if (Live.loadedAt < Live.openedAt) load();
  });
  source.addEventListener("visit", (e) => received(JSON.parse(e.data)));
  source.addEventListener("terminal", (e) => received(JSON.parse(e.data)));
  source.addEventListener("resync", () => retry(0));
  source.addEventListener("closed", () => retry(0));
  source.onerror = () => retry(Live.backoffMs);
}

function disconnect() {
  clearTimeout(Live.timer);
  if (Live.source) {
    Live.source.onerror = null;
    Live.source.close();
    Live.source = null;
  }
}

// The stream ended or failed: once the session is known to still hold (a background read, which
// logs the console out if not), open it again after ``delayMs``, each failure doubling the next.
function retry(delayMs) {
  disconnect();
  showLive(false);
  const jitter = delayMs ? Math.random() * delayMs * 0.2 : 0;
  Live.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1000, Live.backoffMs * 2));
  Live.timer = setTimeout(async () => {
    const resp = await Staff.api("GET", "/officer/session", null, true);
    if (resp.status === 200 && Staff.session) connect();
    else if (Staff.session) retry(Live.backoffMs);
  }, delayMs + jitter);
}

function showLive(on) {
  const badge = $("board-live");
  badge.className = on ? "live-on" : "live-off";
  say(badge, on ? "live_on" : "live_off");
}

function received(event) {
  if (Board.loading) {
    // Held for the load in flight, within a bound; past it the board is read once more.
    if (Board.pending.length < 1000) Board.pending.push(event);
    else Board.stale = true;
    return;
  }
  apply(event, true);
}

// One pushed row (a visit's with its terminal's, or a terminal's): replaced where it shows.
function apply(event, draw) {
  Board.skew = event.now_ms - Date.now();
  if (event.terminal) {
    for (const room of Board.rooms) {
      const i = room.terminals.findIndex((t) => t.id === event.terminal.id);
      if (i >= 0) room.terminals[i] = event.terminal;
    }
    if (draw) drawTerminals(event.terminal.room_id);
  }
  const v = event.visit;
  if (!v) return;
  const had = Board.visits.get(v.id);
  if (dayOf(v.start_ms) !== Board.date) {
    if (had) {
      Board.visits.delete(v.id);
      if (draw) drawRoom(had.room_id);
    }
    return;
  }
  Board.visits.set(v.id, v);
  if (!draw) return;
  const row = document.querySelector(`#rooms tr[data-id="${CSS.escape(v.id)}"]`);
  if (row && had && had.room_id === v.room_id && had.start_ms === v.start_ms) {
    keepFocus(() => row.replaceWith(visitRow(v)));
  } else {
    if (had && had.room_id !== v.room_id) drawRoom(had.room_id);
    drawRoom(v.room_id);
  }
  drawAlerts(false);
}

// --- drawing ---------------------------------------------------------------------------------

// Runs ``change`` and gives the focus back to the same control of the same row if it was there.
function keepFocus(change) {
  const focused = document.activeElement;
  const row = focused && focused.closest ? focused.closest("tr[data-id]") : null;
  const action = focused && focused.dataset ? focused.dataset.action : "";
  change();
  if (row && action) {
    const again = document.querySelector(
      `#rooms tr[data-id="${CSS.escape(row.dataset.id)}"] [data-action="${action}"]`);
    if (again) again.focus();
  }
}

function render() {
  const y = window.scrollY;
  const noon = Date.parse(`${Board.date}T12:00:00Z`);
  $("board-day").textContent = Board.date ? `${localDate(noon, "UTC")} · ${zoneName(Board.tz)}` : "";
  $("board-date").value = Board.date;
  keepFocus(() => $("rooms").replaceChildren(...Board.rooms.map(roomBlock)));
  $("board-empty").hidden = Board.visits.size > 0;
  drawAlerts(true);
  window.scrollTo(0, y);
  if (!Board.rendered && Board.rooms.length) {
    // For the benchmark (tests/bench/board_page.py): the first board drawn, then painted.
    Board.rendered = true;
    performance.mark("board-rendered");
    requestAnimationFrame(() => setTimeout(() => performance.mark("board-painted")));
  }
}

function visitsOf(roomId) {
  return [...Board.visits.values()].filter((v) => v.room_id === roomId)
    .sort((a, b) => a.start_ms - b.start_ms || a.id.localeCompare(b.id));
}

function roomBlock(room) {
  const block = el("section", "room");
  block.dataset.room = room.id;
  const head = el("div", "room-head");
  head.append(el("h2", "", room.name), terminalsLine(room));
  block.append(head, roomTable(room));
  return block;
}

function roomTable(room) {
  const visits = visitsOf(room.id);
  if (!visits.length) return said("p", "muted room-none", "room_none");
  const table = el("table", "visits");
  const head = el("tr");
  for (const key of ["col_time", "col_state", "col_inmate", "col_family", "col_code"]) {
    head.append(said("th", "", key));
  }
  head.append(el("th"));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  table.tBodies[0].append(...visits.map(visitRow));
  return table;
}

function drawRoom(roomId) {
  const block = document.querySelector(`#rooms section[data-room="${CSS.escape(roomId)}"]`);
  const room = Board.rooms.find((r) => r.id === roomId);
  if (!block || !room) return;
  keepFocus(() => block.lastElementChild.replaceWith(roomTable(room)));
  $("board-empty").hidden = Board.visits.size > 0;
}

function drawTerminals(roomId) {
  const block = document.querySelector(`#rooms section[data-room="${CSS.escape(roomId)}"]`);
  const room = Board.rooms.find((r) => r.id === roomId);
  if (block && room) block.querySelector(".terminals").replaceWith(terminalsLine(room));
  drawAlerts(false);
}

function terminalsLine(room) {
  const line = el("ul", "terminals");
  for (const t of room.terminals) {
    const item = el("li", t.online ? "terminal on" : "terminal off");
    item.dataset.terminal = t.id;
    item.append(el("strong", "", t.name), said("span", "dot", t.online ? "terminal_on" : "terminal_off"));
    if (!t.online) {
      item.append(t.last_seen_ms ? said("span", "muted", "last_seen", { time: clock(t.last_seen_ms) })
        : said("span", "muted", "terminal_never"));
    }
    if (t.agent) item.append(said("span", "muted agent", "agent", { version: t.agent }));
    const busy = t.visit_id && Board.visits.get(t.visit_id);
    if (busy) item.append(said("span", "muted", "in_visit", { code: busy.code }));
    line.append(item);
  }
  return line;
}

function visitRow(v) {
  const tr = el("tr", `visit state-${v.state}`);
  tr.dataset.id = v.id;
  tr.dataset.state = v.state;
  const time = el("td", "time");
  time.append(el("strong", "", clock(v.start_ms)), el("span", "muted", `–${clock(v.end_ms)}`));
  const state = el("td", "state");
  state.append(said("span", `badge ${v.state}`, `st_${v.state}`), stateDetail(v));
  const inmate = el("td", "inmate");
  inmate.append(el("strong", "", v.inmate_number), el("span", "", ` ${v.inmate_name}`));
  const family = el("td", "family");
  family.append(el("span", "", v.family_name));
  if (v.family_nik) family.append(el("span", "nik muted", ` ${v.family_nik}`));
  if (v.priority) family.append(said("span", "tag priority", "priority"));
  if (v.review) family.append(said("span", "tag review", "review"));
  if (v.kind !== "regular") family.append(said("span", "tag", `kind_${v.kind}`));
  const code = el("td", "code");
  code.append(el("code", "", v.code));
  const action = el("td", "action");
  if (v.ready_ms) {
    action.append(said("span", "ready-mark", "ready_at", { time: clock(v.ready_ms) }));
  } else if (CAN_READY.has(v.state)) {
    const button = said("button", "primary ready", "ready");
    button.type = "button";
    button.dataset.action = "ready";
    button.addEventListener("click", () => markReady(v.id, button));
    action.append(button);
  }
  tr.append(time, state, inmate, family, code, action);
  return tr;
}

// What goes beside the state: the countdown of a live visit (ticked by tick()), the wait of a
// family, the reason a visit ended.
function stateDetail(v) {
  const detail = el("span", "detail");
  if (v.state === "live") {
    detail.classList.add("countdown");
    detail.dataset.end = String(v.end_ms);
    detail.textContent = countdown(v.end_ms);
  } else if (v.state === "family_waiting" && v.family_waiting_since_ms) {
    detail.dataset.since = String(v.family_waiting_since_ms);
    detail.textContent = t("waited", { min: minutesSince(v.family_waiting_since_ms) });
  } else if (v.state === "ended" && v.end_reason) {
    say(detail, `end_${v.end_reason}`);
  }
  return detail;
}

function countdown(endMs) {
  const left = Math.max(0, Math.round((endMs - now()) / 1000));
  const mm = Math.floor(left / 60);
  const ss = String(left % 60).padStart(2, "0");
  return t("left", { time: `${mm}:${ss}` });
}

function minutesSince(ms) {
  return Math.max(0, Math.floor((now() - ms) / 60000));
}

// The alerts at now, from the rows: the server's rules, applied at the moments it gave.
function currentAlerts() {
  const at = now();
  const out = [];
  for (const v of Board.visits.values()) {
    if (v.ready_due_ms !== null && v.ready_due_ms <= at && at < v.end_ms) {
      out.push({ kind: "not_ready", visit: v });
    }
    if (v.waiting_alert_ms !== null && v.waiting_alert_ms < at) {
      out.push({ kind: "family_waiting", visit: v });
    }
  }
  for (const room of Board.rooms) {
    for (const terminal of room.terminals) {
      if (!terminal.online) out.push({ kind: "terminal_offline", terminal, room });
    }
  }
  return out;
}

function alertItem(alert) {
  const li = el("li", `alert ${alert.kind}`);
  const v = alert.visit;
  if (alert.kind === "terminal_offline") {
    const since = alert.terminal.last_seen_ms ? t("last_seen", { time: clock(alert.terminal.last_seen_ms) }) : "";
    li.dataset.terminal = alert.terminal.id;
    li.append(said("span", "", "al_terminal_offline",
      { room: alert.room.name, terminal: alert.terminal.name, since }));
    return li;
  }
  li.dataset.id = v.id;
  const vars = { time: clock(v.start_ms), room: roomName(v.room_id), inmate: inmateText(v),
    family: v.family_name };
  if (alert.kind === "not_ready") {
    const minutes = Math.ceil((v.start_ms - now()) / 60000);
    vars.when = minutes > 0 ? t("in_min", { min: minutes }) : t("now");
  } else {
    vars.since = clock(v.family_waiting_since_ms);
    vars.min = minutesSince(v.family_waiting_since_ms);
  }
  li.append(said("span", "", `al_${alert.kind}`, vars));
  if (alert.kind === "not_ready") {
    const button = said("button", "primary ready", "ready");
    button.type = "button";
    button.addEventListener("click", () => markReady(v.id, button));
    li.append(button);
  }
  return li;
}

// Redraws the alerts when what they say changed (at most a minute's count), so a button in them
// keeps its focus between changes.
function drawAlerts(force) {
  const alerts = currentAlerts();
  const seen = JSON.stringify([LANG, alerts.map((a) => [a.kind, a.visit && a.visit.id,
    a.visit && a.visit.family_waiting_since_ms && minutesSince(a.visit.family_waiting_since_ms),
    a.visit && Math.ceil((a.visit.start_ms - now()) / 60000),
    a.terminal && [a.terminal.id, a.terminal.last_seen_ms]])]);
  if (!force && seen === Board.alertsSeen) return;
  Board.alertsSeen = seen;
  $("alert-list").replaceChildren(...alerts.map(alertItem));
  $("alerts-none").hidden = alerts.length > 0;
  $("alerts").classList.toggle("raised", alerts.length > 0);
}

// Every second: the countdowns and waits move, alerts fall due, and at midnight today moves on.
function tick() {
  if (!Board.date) return;
  for (const el of document.querySelectorAll("#rooms .countdown")) {
    el.textContent = countdown(Number(el.dataset.end));
  }
  for (const el of document.querySelectorAll("#rooms [data-since]")) {
    el.textContent = t("waited", { min: minutesSince(Number(el.dataset.since)) });
  }
  drawAlerts(false);
  if (!Board.pinned && !Board.loading && dayOf(now()) !== Board.date) load();
}

// --- actions ---------------------------------------------------------------------------------

async function markReady(id, button) {
  const v = Board.visits.get(id);
  if (!v) return;
  button.disabled = true;
  const resp = await Staff.api("POST", `/api/v1/visits/${encodeURIComponent(id)}/ready`);
  button.disabled = false;
  if (resp.status === 200) {
    say($("board-status"), "marked_ready", { inmate: inmateText(v), room: roomName(v.room_id) });
    $("board-status").hidden = false;
    $("board-error").hidden = true;
    // The stream brings the row; the answer already says when, so the row need not wait for it.
    if (!Board.visits.get(id).ready_ms) {
      Board.visits.set(id, { ...Board.visits.get(id), ready_ms: resp.body.ready_ms });
      const row = document.querySelector(`#rooms tr[data-id="${CSS.escape(id)}"]`);
      if (row) keepFocus(() => row.replaceWith(visitRow(Board.visits.get(id))));
    }
    return;
  }
  $("board-status").hidden = true;
  if (resp.status === 409) {
    say($("board-error"), "ready_conflict");
    $("board-error").hidden = false;
    load();
  } else {
    Staff.sayFailure($("board-error"), resp);
  }
}

// The printed schedule: the visits going ahead, per room and time, with the inmate's block, so
// that officers can fetch inmates from their blocks.
function printable() {
  const out = $("print-schedule");
  const title = el("h1", "", t("schedule_title", { facility: Board.name }));
  const day = el("p", "", `${$("board-day").textContent} · ${t("printed", { time: clock(now()) })} ${zoneName(Board.tz)}`);
  const table = el("table", "schedule");
  const head = el("tr");
  for (const key of ["col_room", "col_time", "col_inmate", "col_block", "col_family", "col_code"]) {
    head.append(el("th", "", t(key)));
  }
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  for (const room of Board.rooms) {
    for (const v of visitsOf(room.id).filter((x) => GOING_AHEAD.has(x.state))) {
      const tr = el("tr");
      tr.append(el("td", "", room.name), el("td", "", `${clock(v.start_ms)}–${clock(v.end_ms)}`),
        el("td", "", inmateText(v)), el("td", "", v.inmate_block),
        el("td", "", v.family_name), el("td", "", v.code));
      table.tBodies[0].append(tr);
    }
  }
  out.replaceChildren(title, day, table);
}

// --- wiring ----------------------------------------------------------------------------------

async function pickBoardFacility() {
  const failure = await Staff.pickFacility($("board-facility"), $("board-facility-pick"), follow);
  if (failure) Staff.sayFailure($("board-error"), failure);
}

function follow(facility, tz) {
  Board.facility = facility;
  Board.tz = tz;
  Board.visits = new Map();
  Board.rooms = [];
  connect();
  load();
}

function stop() {
  disconnect();
  Board.facility = "";
  Board.visits = new Map();
  Board.rooms = [];
  Board.date = "";
  Board.pinned = "";
  Board.rendered = false;
  $("board-facility-pick").hidden = true;
  $("rooms").replaceChildren();
  $("alert-list").replaceChildren();
}

document.addEventListener("tatap:session", (event) => {
  const session = event.detail;
  if (session.facility) follow(session.facility.id, session.facility.timezone);
  else pickBoardFacility();
});
document.addEventListener("tatap:logout", stop);
document.addEventListener("tatap:lang", () => { if (Board.date) render(); });
$("board-date").addEventListener("change", () => {
  const picked = $("board-date").value;
  Board.pinned = picked && picked !== dayOf(now()) ? picked : "";
  load();
});
$("board-print").addEventListener("click", () => {
  printable();
  window.print();
});
window.addEventListener("beforeprint", printable);
setInterval(tick, 1000);
window.officerBoard = { Board, Live, load, printable };
})();
