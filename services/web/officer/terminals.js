// The terminals panel: each visit-room PC online or offline, when it was last seen, the visit
// it sits in, and its agent's version. Read from the today board (GET /api/v1/board), then kept
// live by the board's event stream: each `terminal` or `visit` event replaces its row; `resync`
// and `closed` read the board again (a cookie session's stream ends at its idle time; the
// browser's EventSource reconnects, and one refused for good is reopened after a check).
"use strict";

const REOPEN_MS = 5000;
const Panel = {
  facility: "",
  tz: "Asia/Jakarta",
  rooms: new Map(),  // room id -> name
  terminals: new Map(),  // terminal id -> its board row
  visits: new Map(),  // visit id -> its board row (for the code and the people)
  source: null,
  reopenTimer: 0,
};

function cell(text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (text !== undefined) td.textContent = text;
  return td;
}

function seenText(row) {
  if (row.online) return ["seen_now", {}];
  if (row.last_seen_ms === null) return ["never_seen", {}];
  return ["", {}];
}

function visitText(row) {
  if (!row.visit_id) return "—";
  const visit = Panel.visits.get(row.visit_id);
  if (!visit) return row.visit_id;
  const span = `${localTime(visit.start_ms, Panel.tz)}–${localTime(visit.end_ms, Panel.tz)}`;
  return `${visit.code} · ${span} · ${visit.inmate_number} ${visit.inmate_name}`;
}

function render() {
  const rows = [...Panel.terminals.values()].sort((a, b) =>
    (Panel.rooms.get(a.room_id) || "").localeCompare(Panel.rooms.get(b.room_id) || "")
    || a.name.localeCompare(b.name));
  $("terminal-rows").replaceChildren(...rows.map((row) => {
    const tr = document.createElement("tr");
    tr.dataset.id = row.id;
    tr.className = row.online ? "online" : "offline";
    const state = document.createElement("span");
    state.className = `tag ${row.online ? "ok" : "off"}`;
    say(state, row.online ? "online" : "offline");
    const stateCell = cell(undefined, "state");
    stateCell.append(state);
    const seen = cell(undefined, "seen");
    const [key, vars] = seenText(row);
    if (key) say(seen, key, vars);
    else seen.textContent = `${localDate(row.last_seen_ms, Panel.tz)} ${localTime(row.last_seen_ms, Panel.tz)}`;
    tr.append(cell(Panel.rooms.get(row.room_id) || row.room_id), cell(row.name), stateCell, seen,
      cell(visitText(row), "visit"), cell(row.agent || "—", "agent"));
    return tr;
  }));
  $("terminals-empty").hidden = Panel.terminals.size > 0;
}

async function load() {
  if (!Panel.facility || !Staff.session) return;
  const query = new URLSearchParams({ facility: Panel.facility });
  const resp = await Staff.api("GET", `/api/v1/board?${query}`, null, true);
  if (resp.status !== 200) {
    if (Staff.session) Staff.sayFailure($("terminals-error"), resp);
    return;
  }
  $("terminals-error").hidden = true;
  const board = resp.body;
  Panel.tz = board.facility.timezone;
  Panel.rooms = new Map(board.rooms.map((r) => [r.id, r.name]));
  Panel.terminals = new Map(board.rooms.flatMap((r) => r.terminals).map((t) => [t.id, t]));
  Panel.visits = new Map(board.visits.map((v) => [v.id, v]));
  render();
  liveNote(true);
}

function liveNote(on) {
  say($("live-note"), on ? "live_on" : "live_off", { time: localTime(Date.now(), Panel.tz) });
}

function onRow(event) {
  const data = JSON.parse(event.data);
  if (data.visit) Panel.visits.set(data.visit.id, data.visit);
  if (data.terminal) Panel.terminals.set(data.terminal.id, data.terminal);
  render();
  liveNote(true);
}

function open() {
  close();
  if (!Panel.facility || !Staff.session) return;
  const query = new URLSearchParams({ facility: Panel.facility });
  const source = new EventSource(`/api/v1/board/events?${query}`);
  Panel.source = source;
  source.addEventListener("hello", load);  // each (re)connection starts from the board
  source.addEventListener("terminal", onRow);
  source.addEventListener("visit", onRow);
  source.addEventListener("resync", load);
  source.addEventListener("closed", () => { close(); reopenSoon(); });
  source.onerror = () => {
    liveNote(false);
    if (source.readyState === EventSource.CLOSED) reopenSoon();
  };
}

// A stream refused for good (a 401 after the session ended, a 429): check the session through
// the API (which shows the login if it is over), and try again while it holds.
function reopenSoon() {
  clearTimeout(Panel.reopenTimer);
  Panel.reopenTimer = setTimeout(async () => {
    await load();
    if (Staff.session) open();
  }, REOPEN_MS);
}

function close() {
  if (Panel.source) Panel.source.close();
  Panel.source = null;
}

document.addEventListener("tatap:lang", render);

Staff.start(
  (session) => {
    officerFacility(session, (id, tz) => {
      Panel.facility = id;
      Panel.tz = tz;
      Panel.terminals.clear();
      render();
      open();
    });
  },
  () => {
    close();
    clearTimeout(Panel.reopenTimer);
    Panel.facility = "";
    Panel.terminals.clear();
    render();
  },
);
