// The family's (or teacher's) visit page: link → token → waiting room → call → ended screen.
// State for tests and support lives in window.tatap.
"use strict";

const $ = (id) => document.getElementById(id);
// Close codes and the early-join window come from the server (inline, as /static/protocol.js).
const PROTOCOL = window.TATAP_PROTOCOL;
const CLOSE = PROTOCOL.close;
// What to say after a close that must not be retried (PROTOCOL.final), by the close's name.
const FINAL_TEXTS = { REPLACED: "replaced", FORBIDDEN: "forbidden", NOT_FOUND: "not_found",
  CONFLICT: "visit_full", VISIT_OVER: "visit_over" };
const REASONS = ["completed", "terminated", "hangup", "no_show", "failed", "cancelled"];

const tatap = (window.tatap = {
  state: "loading", remainingMs: null, endMs: null, endedReason: null, errorCode: null,
  pcs: {}, peers: {}, me: null, visit: null, welcomes: [], ws: null, firstFrameMs: null, marks: {},
  muted: { family: false, inmate: false },
});

// An officer watches through the visit room's terminal only (PROTOCOL.md §3): this page never
// offers to, answers or announces an officer's seat.
function isOfficer(peerId) {
  return (tatap.peers[peerId] || {}).role === "officer";
}

// Milestones of this page load in ms since the link was opened (first time each), for support
// and for the join-to-first-frame measurement.
function mark(name) {
  if (!(name in tatap.marks)) tatap.marks[name] = Math.round(performance.now());
}

let token = null;
let localStream = null;
let peers = null;
let remainingAt = 0;
let attempts = 0;
let reconnectTimer = null;
let bannerTimer = null;
const chains = {};
let mediaReady;
const mediaChosen = new Promise((resolve) => { mediaReady = resolve; });
let peersCreated;
const peersReady = new Promise((resolve) => { peersCreated = resolve; });
let lastError = null;
let lastDetails = null;
// The server's clock minus ours, from /api/v1/join: a phone's clock may be minutes off.
let skewMs = 0;
// Liveness: a half-open socket (a phone that changed networks) shows no close for minutes.
const PING_MS = window.tatapPingMs || 10000;
let pingSentAt = 0;
let lastPingAt = 0;
let pingId = 0;

function show(screen) {
  for (const el of document.querySelectorAll("main > section")) el.hidden = el.id !== `screen-${screen}`;
}

function setState(state) {
  tatap.state = state;
  document.body.dataset.state = state;
}

function status(key) {
  say($("status"), key);
  $("status").hidden = !key;
}

function stopReconnecting() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
}

function fail(code, vars) {
  setState("error");
  stopReconnecting();
  tatap.errorCode = code;
  if (peers) peers.closeAll();
  stopLocal();
  const key = `error_${code}`;
  say($("error-text"), TEXTS.id[key] ? key : "error_other", vars);
  show("error");
}

// ---- link → token -------------------------------------------------------------------------

// The node puts the link's answer in the page (a round trip less on a slow phone link); it is
// used once, and every later exchange (a new token after 4401) asks /api/v1/join.
let inPage = readInPage();

function readInPage() {
  const block = $("joined");
  let answer = null;
  try { answer = JSON.parse(block ? block.textContent : "null"); } catch (err) { answer = null; }
  if (block) block.remove();
  return answer && answer.token ? { ok: true, body: answer } : null;
}

async function exchange() {
  const link = decodeURIComponent(location.pathname.split("/v/")[1] || "");
  let res;
  try {
    res = await fetch("/api/v1/join", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ link }) });
  } catch (err) {
    return null;
  }
  if (res.status >= 500) return null;
  return { ok: res.ok, body: await res.json().catch(() => ({})) };
}

async function join() {
  const answer = inPage || await exchange();
  inPage = null;
  if (!answer) {
    say($("loading-text"), "error_network");
    return "retry";
  }
  const body = answer.body;
  if (!answer.ok) {
    const code = (body.error && body.error.code) || "other";
    // The visit ended while we were away: that is its end, not a refusal.
    if (code === "visit_over" && tatap.welcomes.length) ended(endReason(body.error.details));
    else fail(code);
    return false;
  }
  attempts = 0;
  if (typeof body.now_ms === "number") skewMs = body.now_ms - Date.now();
  mark("joined");
  token = body.token;
  tatap.me = body.you;
  tatap.visit = body.visit;
  return true;
}

function backoff() {
  // Full jitter, 0.5 s doubling to 10 s (PROTOCOL.md §5).
  const ceiling = Math.min(10000, 500 * 2 ** attempts);
  attempts = Math.min(attempts + 1, 10);
  return 100 + Math.random() * ceiling;
}

// ---- the waiting room: camera and microphone ----------------------------------------------

async function startCamera() {
  $("device-error").hidden = true;
  say($("wait-text"), "camera_starting");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return deviceError("camera_insecure");
  }
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true },
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") return deviceError("camera_denied");
    if (name === "NotFoundError" || name === "OverconstrainedError") return deviceError("camera_missing");
    if (name === "NotReadableError" || name === "AbortError") return deviceError("camera_busy");
    return deviceError("camera_other");
  }
  if (tatap.state === "error") return stopLocal(); // the link turned out to be no good
  mark("camera");
  $("preview").hidden = false;
  for (const el of [$("preview"), $("self")]) el.srcObject = localStream;
  say($("wait-text"), "camera_ok");
  applyMute();
  mediaReady(localStream);
}

async function joinWithoutCamera() {
  // Still send the voice if a microphone works; else only watch and listen.
  $("device-error").hidden = true;
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    localStream = null;
  }
  applyMute();
  mediaReady(localStream);
}

function deviceError(key) {
  $("preview").hidden = true;
  say($("device-error-text"), key);
  $("device-error").hidden = false;
  say($("wait-text"), "");
}

function stopLocal() {
  if (localStream) for (const track of localStream.getTracks()) track.stop();
}

// ---- the socket ----------------------------------------------------------------------------

function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  // The socket boot.js opened with the page, once, if it still stands; else a new one.
  const early = window.tatapEarly;
  window.tatapEarly = null;
  const usable = early && early.readyState <= WebSocket.OPEN;
  const ws = usable ? early : new WebSocket(socketUrl());
  tatap.ws = ws;
  // Handlers right away: the open event may fire before any later await returns.
  ws.onopen = () => {
    mark("socket");
    ws.send(JSON.stringify({ type: "hello", token }));
  };
  if (ws.readyState === WebSocket.OPEN) ws.onopen();
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (err) { return; }
    handle(msg).catch((err) => console.error("tatap: message failed", msg.type, err));
  };
  ws.onclose = (ev) => closed(ws, ev.code);
  pingSentAt = 0;
  lastPingAt = performance.now();
}

function liveness() {
  const ws = tatap.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const now = performance.now();
  if (pingSentAt && now - pingSentAt > PING_MS) {
    // No pong: the socket is dead even if the browser has not noticed. Same token, new socket.
    ws.onclose = ws.onmessage = null;
    ws.close();
    closed(ws, 1006);
  } else if (!pingSentAt && now - lastPingAt >= PING_MS) {
    pingSentAt = lastPingAt = now;
    ws.send(JSON.stringify({ type: "ping", id: ++pingId }));
  }
}

function send(msg) {
  const ws = tatap.ws;
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function closed(ws, code) {
  if (tatap.ws !== ws) return;
  tatap.ws = null;
  if (tatap.state === "ended" || tatap.state === "error") return;
  if (code === CLOSE.ENDED) return ended(tatap.endedReason);
  // Back just after the end: the visit is over, not refused (we were in it).
  if (code === CLOSE.VISIT_OVER && tatap.welcomes.length) return ended(endReason(lastDetails));
  if (PROTOCOL.final.includes(code)) {
    // The `error` that came just before the close says it best, when we have words for it.
    return fail(lastError && TEXTS.id[`error_${lastError}`] ? lastError : finalText(code));
  }
  if (code === CLOSE.TOO_EARLY) return; // too early: handle() already scheduled the retry
  if (tatap.state === "call") setState("reconnecting");
  status("reconnecting");
  const again = async () => {
    if (tatap.state === "ended" || tatap.state === "error") return;
    if (code === CLOSE.UNAUTHORIZED) { // the token is no good: get a new one
      const joined = await join();
      if (joined === "retry" && tatap.state !== "ended" && tatap.state !== "error") {
        reconnectTimer = setTimeout(again, backoff());
      }
      if (joined !== true) return;
    }
    connect();
  };
  reconnectTimer = setTimeout(again, backoff());
}

function finalText(code) {
  const name = Object.keys(CLOSE).find((key) => CLOSE[key] === code);
  return FINAL_TEXTS[name] || "other";
}

function endReason(details) {
  const reason = details && details.reason;
  return REASONS.includes(reason) ? reason : "completed";
}

async function handle(msg) {
  switch (msg.type) {
    case "welcome": return welcome(msg);
    case "time": return setRemaining(msg.remaining_ms);
    case "warning": setRemaining(msg.remaining_ms); return warn(msg.remaining_ms);
    case "peer-joined":
      tatap.peers[msg.peer.id] = { role: msg.peer.role, present: true };
      if (msg.peer.role === "officer") return;
      // It joined later, so it offers: an offer of ours still pending is void (see peers.js).
      if (peers) chain(msg.peer.id, async () => peers.expectOffer(msg.peer.id));
      return status(peers && Object.keys(peers.pcs).length ? "" : "connecting_media");
    case "peer-left": return peerLeft(msg.peer, msg.reason);
    // A signal may come while the camera is still starting: it waits for the connections.
    case "signal":
      if (isOfficer(msg.from)) return;
      return chain(msg.from, async () => (await peersReady).signal(msg.from, msg.data));
    case "muted": return mutedBy(msg.side, msg.muted);
    case "notice": return banner(`notice_${msg.code}`, {}, 12000);
    case "inmate-ready": return inmateReady(msg.at_ms);
    case "ended": return ended(msg.reason);
    case "error": return serverError(msg);
    case "pong": pingSentAt = 0; return;
  }
}

function serverError(msg) {
  tatap.errorCode = lastError = msg.code;
  lastDetails = msg.details || null;
  if (msg.code === "visit_not_open" && msg.details && msg.details.start_ms) {
    // The window opens early (PROTOCOL.md §6), by the server's clock.
    const at = msg.details.start_ms - PROTOCOL.early_join_ms - skewMs;
    const time = new Date(msg.details.start_ms).toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit" });
    say($("wait-note"), "error_visit_not_open", { time });
    $("wait-note").hidden = false;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, Math.max(1000, at - Date.now() + Math.random() * 1000));
  }
}

function chain(peerId, work) {
  // One negotiation step at a time per participant, in arrival order.
  chains[peerId] = (chains[peerId] || Promise.resolve()).then(work).catch((err) =>
    console.error("tatap: negotiation failed", err));
  return chains[peerId];
}

async function welcome(msg) {
  attempts = 0;
  lastError = lastDetails = null;
  $("wait-note").hidden = true;
  mark("welcome");
  tatap.welcomes.push(msg);
  tatap.me = msg.you;
  tatap.endMs = msg.visit.end_ms;
  for (const p of msg.peers) tatap.peers[p.id] = { role: p.role, present: p.present };
  const stream = await mediaChosen;
  if (tatap.state === "ended" || tatap.state === "error") return;
  if (!peers) {
    peers = new Peers({ send, iceServers: msg.ice_servers, localStream: stream, onTrack: addRemote,
      onState: peerState, onGone: removeRemote });
    tatap.pcs = peers.pcs;
    peersCreated(peers);
  }
  setState("call");
  show("call");
  const present = msg.peers.filter((p) => p.present);
  const waiting = tatap.inmateReadyMs ? "inmate_ready" : "waiting_inmate";
  status(present.some((p) => p.role !== "officer") ? "connecting_media" : waiting);
  // The server counts `connected` only while both sides are present, and the last one may have
  // gone into a dead socket: say it again after every welcome while media flows (recorded once).
  if (Object.values(peers.pcs).some((pc) => pc.connectionState === "connected")) send({ type: "connected" });
  // We joined later than everyone present (or came back): we offer, replacing any old connection.
  applyMute();
  for (const p of present) {
    if (p.role !== "officer") chain(p.id, () => peers.offer(p.id).then(() => mark("offer")));
  }
}

// An officer has brought the inmate to the visit room: said while the family still waits
// (it may come before the welcome has been handled; the welcome then says it).
function inmateReady(atMs) {
  tatap.inmateReadyMs = atMs;
  const up = peers && Object.values(peers.pcs).some((pc) => pc.connectionState === "connected");
  if (tatap.state === "call" && !up) status("inmate_ready");
}

function peerLeft(peer, reason) {
  if (!tatap.peers[peer.id]) tatap.peers[peer.id] = { role: peer.role };
  tatap.peers[peer.id].present = false;
  if (reason === "left") {
    if (peers) peers.close(peer.id);
  } else if (peer.role !== "officer") {
    // Only its socket may have dropped; say so only when its picture is gone too.
    const pc = peers && peers.pcs[peer.id];
    if (!pc || pc.connectionState !== "connected") status("peer_dropped");
  }
}

function peerState(peerId, state) {
  if (state === "connected") {
    mark("connected");
    status("");
    send({ type: "connected" });
  }
}

// An officer muted (or unmuted) one side; this page obeys for its own (the guest's, "family"):
// the microphone's track is disabled (it sends silence) and the page says so. The terminal also
// stops playing this side's sound, so a page that ignored this would still not be heard.
function mutedBy(side, muted) {
  if (!(side in tatap.muted)) return;
  tatap.muted[side] = muted === true;
  applyMute();
}

function applyMute() {
  const off = tatap.muted.family;
  if (localStream) for (const track of localStream.getAudioTracks()) track.enabled = !off;
  $("mic-muted").hidden = !off;
}

// ---- videos --------------------------------------------------------------------------------

function addRemote(peerId, stream) {
  let tile = document.querySelector(`[data-peer="${CSS.escape(peerId)}"]`);
  const role = (tatap.peers[peerId] || {}).role || "";
  if (!tile) {
    tile = document.createElement("div");
    tile.className = `tile role-${role}`;
    tile.dataset.peer = peerId;
    tile.innerHTML = `<video autoplay playsinline></video><span class="label"></span>`;
    say(tile.querySelector(".label"), `role_${role}`);
    // The inmate (terminal) first: it is the large picture.
    const remotes = $("remotes");
    if (role === "terminal") remotes.prepend(tile); else remotes.append(tile);
  }
  const video = tile.querySelector("video");
  if (video.srcObject !== stream) {
    video.srcObject = stream;
    const first = () => {
      mark("first_frame");
      if (tatap.firstFrameMs === null) tatap.firstFrameMs = performance.now();
    };
    // The first decoded frame: whichever the browser reports first.
    video.addEventListener("loadeddata", first, { once: true });
    video.addEventListener("resize", first, { once: true });
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(first);
    // It carries the sound, so it is not muted: a browser (iOS Safari) may refuse to play it
    // until the user touches the page.
    playRemote(video);
  }
  $("remotes").dataset.count = $("remotes").children.length;
}

function playRemote(video) {
  const played = video.play();
  if (played && played.catch) played.catch(() => { $("tap-play").hidden = false; });
}

function tapToPlay() {
  $("tap-play").hidden = true;
  for (const video of document.querySelectorAll("#remotes video")) playRemote(video);
}

function removeRemote(peerId) {
  const tile = document.querySelector(`[data-peer="${CSS.escape(peerId)}"]`);
  if (tile) tile.remove();
  $("remotes").dataset.count = $("remotes").children.length;
}

// ---- the clock -----------------------------------------------------------------------------

function setRemaining(ms) {
  // The server's count is the truth; between its messages we count down locally.
  tatap.remainingMs = ms;
  remainingAt = performance.now();
  tick();
}

function tick() {
  if (tatap.remainingMs === null) return;
  const left = Math.max(0, tatap.remainingMs - (performance.now() - remainingAt));
  const s = Math.ceil(left / 1000);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  $("countdown-value").textContent = (hh ? `${hh}:${pad(mm)}` : `${mm}`) + `:${pad(ss)}`;
  $("countdown").classList.toggle("low", left <= 60000);
  // The server ends the visit on time; if it cannot be reached then, the time is up all the same
  // (the terminal hangs up on its own too): stop here instead of reconnecting for ever.
  // In `call` too: behind a half-open socket the server's `ended` cannot arrive either.
  const live = tatap.state === "reconnecting" || tatap.state === "call";
  if (left === 0 && live && performance.now() - remainingAt > tatap.remainingMs + 5000) {
    ended("completed");
  }
}

function warn(ms) {
  const s = Math.round(ms / 1000);
  if (s >= 120) banner("warning", { min: Math.round(s / 60) }, 15000);
  else banner("warning_s", { sec: s }, 15000);
}

function banner(key, vars, ms) {
  say($("banner"), key, vars);
  $("banner").hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => { $("banner").hidden = true; }, ms);
}

// ---- the end -------------------------------------------------------------------------------

function ended(reason) {
  if (tatap.state === "ended") return;
  tatap.endedReason = reason || null;
  setState("ended");
  stopReconnecting();
  if (peers) peers.closeAll();
  stopLocal();
  say($("ended-text"), REASONS.includes(reason) ? `ended_${reason}` : "ended_unknown");
  show("ended");
}

function hangup() {
  if (!confirm(t("hangup_confirm"))) return;
  send({ type: "leave" });
}

// ---- start ---------------------------------------------------------------------------------

async function main() {
  setLanguage(LANG);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  $("retry").addEventListener("click", startCamera);
  $("no-camera").addEventListener("click", joinWithoutCamera);
  $("hangup").addEventListener("click", hangup);
  $("tap-play").addEventListener("click", tapToPlay);
  setInterval(tick, 250);
  setInterval(liveness, Math.min(1000, PING_MS / 4));
  window.addEventListener("online", () => {
    if (tatap.state === "ended" || tatap.state === "error") return;
    if (reconnectTimer && !tatap.ws) { attempts = 0; connect(); }
  });
  show("loading");
  // The camera check starts with the page, alongside the link check: it is the slowest step.
  const camera = startCamera();
  for (;;) {
    const joined = await join();
    if (joined === true) break;
    if (joined !== "retry") return stopLocal();
    await new Promise((resolve) => setTimeout(resolve, backoff()));
  }
  show("wait");
  setState("waiting");
  // The first offer waits for the camera, not for the socket.
  connect();
  await camera;
}

main();
