// The live wall: 1, 4 or 6 tiles of visits being watched (wall-tile.js), picked from the visits
// under way on the today board (GET /api/v1/board, kept live by its event stream as the terminals
// panel is). The layout and the watched visits are kept in sessionStorage, so a reload (or a
// console reopened in the same tab) puts the same visits back on the wall.
"use strict";

(() => {

const LAYOUTS = [1, 4, 6];
const STORE_KEY = "tatap.wall";
const REOPEN_MS = 5000;
// A visit may be joined from 5 minutes before its start (PROTOCOL.md §6).
const OPEN_STATES = new Set(["scheduled", "inmate_ready", "family_waiting", "live"]);

const Wall = {
  facility: "",
  tz: "Asia/Jakarta",
  skew: 0,
  rooms: new Map(),  // room id -> name
  visits: new Map(),  // visit id -> board row
  layout: 4,
  slots: [],  // per tile position: a WallTile or null
  source: null,
  reopenTimer: 0,
};
window.tatapWall = Wall;

function saved() {
  try {
    const data = JSON.parse(sessionStorage.getItem(STORE_KEY) || "{}");
    const layout = LAYOUTS.includes(data.layout) ? data.layout : 4;
    const visits = Array.isArray(data.visits) ? data.visits.filter((v) => typeof v === "string") : [];
    return { layout, visits: visits.slice(0, layout) };
  } catch (err) {
    return { layout: 4, visits: [] };
  }
}

function save() {
  const visits = Wall.slots.filter((tile) => tile && !tile.over).map((tile) => tile.visitId);
  sessionStorage.setItem(STORE_KEY, JSON.stringify({ layout: Wall.layout, visits }));
}

function watched(visitId) {
  return Wall.slots.some((tile) => tile && !tile.over && tile.visitId === visitId);
}

function rowOf(visitId) {
  const row = Wall.visits.get(visitId) || { id: visitId };
  return { ...row, room_name: Wall.rooms.get(row.room_id) || "" };
}

// ---- tiles -------------------------------------------------------------------------------------

function setLayout(layout) {
  Wall.layout = layout;
  // Tiles beyond the new layout are let go.
  for (const tile of Wall.slots.slice(layout)) if (tile) tile.stop();
  Wall.slots = Array.from({ length: layout }, (_, i) => Wall.slots[i] || null);
  for (const button of document.querySelectorAll("#wall-layout button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.layout) === layout));
  }
  paint();
  save();
}

function place(visitId) {
  if (watched(visitId)) return;
  const free = Wall.slots.findIndex((tile) => !tile || tile.over);
  if (free < 0) {
    say($("wall-note"), "wall_full");
    $("wall-note").hidden = false;
    return;
  }
  $("wall-note").hidden = true;
  const old = Wall.slots[free];
  if (old) old.el.remove();
  const tile = new WallTile(rowOf(visitId), freed);
  Wall.slots[free] = tile;
  paint();
  save();
  tile.start();
}

// A tile whose visit ended (it stays, saying why, until its place is taken) or was removed.
function freed(tile) {
  const at = Wall.slots.indexOf(tile);
  if (at >= 0 && !tile.el.isConnected) Wall.slots[at] = null;
  paint();
  save();
}

function paint() {
  const grid = $("wall-grid");
  grid.dataset.layout = Wall.layout;
  const cells = Wall.slots.map((tile) => {
    if (tile) return tile.el;
    return said("div", "wall-tile empty", "wall_empty");
  });
  grid.replaceChildren(...cells);
  renderPicker();
}

function clear() {
  for (const tile of Wall.slots) if (tile) tile.stop();
  Wall.slots = Wall.slots.map(() => null);
}

// ---- the visits under way ---------------------------------------------------------------------

function underWay(v) {
  const now = Date.now() + Wall.skew;
  return OPEN_STATES.has(v.state) && now < v.end_ms && now >= v.start_ms - 5 * 60000;
}

function renderPicker() {
  const rows = [...Wall.visits.values()].filter(underWay).sort((a, b) => a.start_ms - b.start_ms);
  $("wall-visits").replaceChildren(...rows.map((v) => {
    const item = el("li", `pick state-${v.state}`);
    item.dataset.id = v.id;
    const what = el("span", "pick-what");
    what.append(el("strong", "", `${Wall.rooms.get(v.room_id) || ""} · ${v.code}`),
      el("span", "", `${localTime(v.start_ms, Wall.tz)}–${localTime(v.end_ms, Wall.tz)}`),
      el("span", "", `${v.inmate_number} ${v.inmate_name}`), el("span", "", v.family_name));
    const on = watched(v.id);
    const add = said("button", "small add", on ? "wall_pick_on" : "wall_pick_add");
    add.type = "button";
    add.disabled = on;
    add.addEventListener("click", () => place(v.id));
    item.append(what, add);
    return item;
  }));
  $("wall-pick-none").hidden = rows.length > 0;
}

async function load() {
  if (!Wall.facility || !Staff.session) return;
  const query = new URLSearchParams({ facility: Wall.facility });
  const resp = await Staff.api("GET", `/api/v1/board?${query}`, null, true);
  if (resp.status !== 200) {
    if (Staff.session) Staff.sayFailure($("wall-error"), resp);
    return;
  }
  $("wall-error").hidden = true;
  const board = resp.body;
  Wall.skew = board.now_ms - Date.now();
  Wall.tz = board.facility.timezone;
  Wall.rooms = new Map(board.rooms.map((r) => [r.id, r.name]));
  Wall.visits = new Map(board.visits.map((v) => [v.id, v]));
  for (const tile of Wall.slots) if (tile) tile.update(rowOf(tile.visitId));
  renderPicker();
}

function onVisit(event) {
  const data = JSON.parse(event.data);
  if (typeof data.now_ms === "number") Wall.skew = data.now_ms - Date.now();
  if (!data.visit) return;
  Wall.visits.set(data.visit.id, data.visit);
  for (const tile of Wall.slots) if (tile && tile.visitId === data.visit.id) tile.update(rowOf(data.visit.id));
  renderPicker();
}

function open() {
  close();
  if (!Wall.facility || !Staff.session) return;
  const query = new URLSearchParams({ facility: Wall.facility });
  const source = new EventSource(`/api/v1/board/events?${query}`);
  Wall.source = source;
  source.addEventListener("hello", load);
  source.addEventListener("visit", onVisit);
  source.addEventListener("resync", load);
  source.addEventListener("closed", () => { close(); reopenSoon(); });
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) reopenSoon(); };
}

// A stream refused for good: check the session through the API and try again while it holds.
function reopenSoon() {
  clearTimeout(Wall.reopenTimer);
  Wall.reopenTimer = setTimeout(async () => {
    await load();
    if (Staff.session) open();
  }, REOPEN_MS);
}

function close() {
  if (Wall.source) Wall.source.close();
  Wall.source = null;
}

// ---- start -------------------------------------------------------------------------------------

for (const button of document.querySelectorAll("#wall-layout button")) {
  button.addEventListener("click", () => setLayout(Number(button.dataset.layout)));
}
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape") return;
  for (const tile of Wall.slots) if (tile && tile.el.classList.contains("focused")) tile.toggleFocus();
});
document.addEventListener("tatap:lang", renderPicker);
setInterval(() => { for (const tile of Wall.slots) if (tile) tile.tick(); }, 250);

Staff.start(
  (session) => {
    officerFacility(session, async (id, tz) => {
      const changed = Wall.facility && Wall.facility !== id;
      Wall.facility = id;
      Wall.tz = tz;
      if (changed) {
        clear();
        sessionStorage.removeItem(STORE_KEY);
      }
      const kept = saved();
      setLayout(kept.layout);
      await load();
      open();
      for (const visitId of kept.visits) place(visitId);
    });
  },
  () => {
    close();
    clearTimeout(Wall.reopenTimer);
    clear();
    Wall.facility = "";
    paint();
  },
);

})();
