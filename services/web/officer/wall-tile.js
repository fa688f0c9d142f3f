// One tile of the live wall: an officer's receive-only monitor of one visit (signaling/PROTOCOL.md
// §3, "Officers see media only through the terminal"). The tile takes a monitor token, opens /ws,
// and offers the visit room's terminal one connection of four recvonly transceivers: video and
// audio of the inmate (the terminal's own), then video and audio of the family (the guest as the
// terminal receives it). The family's phone never sends to an officer. A dropped socket comes back
// with backoff and a fresh offer (wall-media.js); `ended` shows the reason and frees the tile.
"use strict";

// The canned notices come from TATAP_PROTOCOL.notices (PROTOCOL.md §3); their labels are the
// notice_* texts.
const WALL_END_REASONS = ["completed", "terminated", "hangup", "no_show", "failed", "cancelled"];
// What the tile says after a close that must not be retried, by the close's name.
const WALL_FINAL = { REPLACED: "replaced", FORBIDDEN: "forbidden", NOT_FOUND: "not_found",
  CONFLICT: "visit_full" };
const WALL_PING_MS = 10000;
const WALL_WARN_MS = 5 * 60000;
const WALL_LOW_MS = 60000;

class WallTile {
  // ``row``: the visit's board row; ``onFreed(tile)``: the visit is over or cannot be watched.
  constructor(row, onFreed) {
    this.visitId = row.id;
    this.row = row;
    this.onFreed = onFreed;
    this.token = "";
    this.ws = null;
    this.iceServers = [];
    this.attempts = 0;
    this.timer = 0;
    this.pingSentAt = 0;
    this.lastPingAt = 0;
    this.remainingMs = null;
    this.remainingAt = 0;
    this.muted = { family: false, inmate: false };
    this.over = false;  // ended, refused for good, or removed: never reconnects
    this.el = this.build();
    this.media = new WallMedia({ send: (msg) => this.send(msg), say: (key) => this.say(key),
      videos: this.videos, waitFamily: this.waitFamily });
  }

  get pc() {
    return this.media.pc;
  }

  // ---- the tile's elements -------------------------------------------------------------------

  build() {
    const tile = el("article", "wall-tile");
    tile.dataset.visit = this.visitId;
    const head = el("div", "tile-head");
    this.title = el("span", "tile-title");
    this.clock = el("span", "tile-clock", "--:--");
    this.focusButton = this.button("tile_focus", () => this.toggleFocus(), "focus");
    const remove = this.button("tile_remove", () => this.remove(), "remove");
    head.append(this.title, this.clock, this.focusButton, remove);
    const videos = el("div", "tile-videos");
    this.videos = {};
    for (const side of ["inmate", "family"]) {
      const box = el("figure", `tile-video ${side}`);
      const video = el("video", side);
      video.autoplay = video.playsInline = video.muted = true;  // audio off until asked
      const label = said("figcaption", "", `tile_${side}`);
      box.append(video, label);
      videos.append(box);
      this.videos[side] = video;
    }
    this.waitFamily = said("p", "tile-wait", "tile_wait_family");
    videos.querySelector(".family").append(this.waitFamily);
    this.status = el("p", "tile-status");
    this.status.setAttribute("role", "status");
    tile.append(head, videos, this.status, this.controls());
    this.describe();
    return tile;
  }

  controls() {
    const bar = el("div", "tile-controls");
    this.soundButton = this.button("tile_sound_off", () => this.toggleSound(), "sound");
    this.soundButton.setAttribute("aria-pressed", "false");
    this.muteButtons = {
      family: this.button("tile_mute_family", () => this.mute("family"), "mute-family"),
      inmate: this.button("tile_mute_inmate", () => this.mute("inmate"), "mute-inmate"),
    };
    for (const b of Object.values(this.muteButtons)) b.setAttribute("aria-pressed", "false");
    this.noticeSelect = el("select", "notice");
    this.noticeSelect.append(said("option", "", "tile_notice_pick"));
    this.noticeSelect.firstChild.value = "";
    for (const code of window.TATAP_PROTOCOL.notices) {
      const option = said("option", "", `notice_${code}`);
      option.value = code;
      this.noticeSelect.append(option);
    }
    const send = this.button("tile_notice", () => this.notice(), "send-notice");
    const stop = this.button("tile_terminate", () => this.terminate(), "terminate danger");
    this.live = [this.muteButtons.family, this.muteButtons.inmate, this.noticeSelect, send, stop];
    bar.append(this.soundButton, this.muteButtons.family, this.muteButtons.inmate,
      this.noticeSelect, send, stop);
    return bar;
  }

  button(key, onClick, className) {
    const b = said("button", `small ${className}`, key);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  describe() {
    const v = this.row;
    const text = [v.room_name, v.code, v.inmate_number && `${v.inmate_number} ${v.inmate_name}`,
      v.family_name].filter(Boolean).join(" · ");
    this.title.textContent = this.title.title = text;
  }

  update(row) {
    this.row = { ...this.row, ...row };
    this.describe();
  }

  say(key, vars) {
    say(this.status, key || "", vars);
    this.status.hidden = !key;
  }

  // ---- the socket ----------------------------------------------------------------------------

  async start() {
    this.say("tile_connecting");
    const resp = await Staff.api("POST", `/api/v1/visits/${encodeURIComponent(this.visitId)}/monitor`);
    if (this.over) return;
    if (resp.status === 200 && resp.body && resp.body.token) {
      this.token = resp.body.token;
      return this.connect();
    }
    const code = resp.body && resp.body.error && resp.body.error.code;
    if (resp.status === 0 || resp.status >= 500 || resp.status === 429) return this.retry();
    if (code === "visit_over") return this.ended(null);
    this.refused(code);
  }

  connect() {
    clearTimeout(this.timer);
    if (this.over) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: this.token }));
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (err) { return; }
      this.handle(msg).catch((err) => console.error("wall: message failed", msg.type, err));
    };
    ws.onclose = (ev) => this.closed(ws, ev.code);
    this.pingSentAt = 0;
    this.lastPingAt = performance.now();
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  closed(ws, code) {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.over) return;
    const CLOSE = window.TATAP_PROTOCOL.close;
    if (code === CLOSE.ENDED || code === CLOSE.VISIT_OVER) return this.ended(this.endReason);
    if (window.TATAP_PROTOCOL.final.includes(code)) {
      const name = Object.keys(CLOSE).find((key) => CLOSE[key] === code);
      return this.refused(this.lastError || WALL_FINAL[name] || "other");
    }
    this.say("tile_reconnecting");
    this.el.classList.add("reconnecting");
    if (code === CLOSE.UNAUTHORIZED) this.token = "";  // expired or revoked: a new one
    this.retry();
  }

  retry() {
    // Full jitter, 0.5 s doubling to 10 s, as the family page (PROTOCOL.md §5).
    const ceiling = Math.min(10000, 500 * 2 ** this.attempts);
    this.attempts = Math.min(this.attempts + 1, 10);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => (this.token ? this.connect() : this.start()),
      100 + Math.random() * ceiling);
  }

  // A half-open socket shows no close for minutes: a ping unanswered for 10 s ends it.
  liveness() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    if (this.pingSentAt && now - this.pingSentAt > WALL_PING_MS) {
      ws.onclose = ws.onmessage = null;
      ws.close();
      this.closed(ws, 1006);
    } else if (!this.pingSentAt && now - this.lastPingAt >= WALL_PING_MS) {
      this.pingSentAt = this.lastPingAt = now;
      this.send({ type: "ping" });
    }
  }

  async handle(msg) {
    switch (msg.type) {
      case "welcome": return this.welcome(msg);
      case "time":
      case "warning": return this.setRemaining(msg.remaining_ms);
      case "peer-joined":
        if (msg.peer.role === "terminal") return this.media.offer(msg.peer.id, this.iceServers);
        return;
      case "peer-left":
        if (msg.peer.role === "terminal" && msg.reason === "left") {
          this.media.close();
          this.say("tile_wait_room");
        }
        return;
      case "signal": return this.media.signal(msg.from, msg.data);
      case "muted": return this.setMuted(msg.side, msg.muted);
      case "ended": this.endReason = msg.reason; return;
      case "error":
        this.lastError = msg.code;
        if (msg.code === "not_recorded") this.say("tile_e_not_recorded");
        return;
      case "pong": this.pingSentAt = 0; return;
    }
  }

  welcome(msg) {
    this.attempts = 0;
    this.lastError = null;
    this.el.classList.remove("reconnecting");
    this.iceServers = msg.ice_servers || [];
    this.muted = { family: false, inmate: false };  // the server says again what is muted
    this.paintMutes();
    const terminal = msg.peers.find((p) => p.role === "terminal" && p.present);
    if (terminal) return this.media.offer(terminal.id, this.iceServers);
    this.media.close();
    this.say("tile_wait_room");
  }

  // ---- the clock -----------------------------------------------------------------------------

  setRemaining(ms) {
    this.remainingMs = ms;
    this.remainingAt = performance.now();
    this.tick();
  }

  tick() {
    this.liveness();
    if (this.remainingMs === null || this.over) return;
    const left = Math.max(0, this.remainingMs - (performance.now() - this.remainingAt));
    const s = Math.ceil(left / 1000);
    const pad = (n) => String(n).padStart(2, "0");
    this.clock.textContent = `${Math.floor(s / 60)}:${pad(s % 60)}`;
    this.clock.classList.toggle("warn", left <= WALL_WARN_MS && left > WALL_LOW_MS);
    this.clock.classList.toggle("low", left <= WALL_LOW_MS);
  }

  // ---- the officer's controls ----------------------------------------------------------------

  toggleSound() {
    const on = this.videos.inmate.muted;  // muted now: turn it on
    for (const video of Object.values(this.videos)) video.muted = !on;
    this.soundButton.setAttribute("aria-pressed", String(on));
    say(this.soundButton, on ? "tile_sound_on" : "tile_sound_off");
  }

  toggleFocus() {
    const focused = this.el.classList.toggle("focused");
    say(this.focusButton, focused ? "tile_unfocus" : "tile_focus");
    this.focusButton.setAttribute("aria-pressed", String(focused));
  }

  mute(side) {
    this.send({ type: "mute", side, muted: !this.muted[side] });
  }

  setMuted(side, muted) {
    if (!(side in this.muted)) return;
    this.muted[side] = muted === true;
    this.paintMutes();
  }

  paintMutes() {
    for (const [side, b] of Object.entries(this.muteButtons)) {
      b.setAttribute("aria-pressed", String(this.muted[side]));
      say(b, this.muted[side] ? `tile_unmute_${side}` : `tile_mute_${side}`);
    }
  }

  notice() {
    const code = this.noticeSelect.value;
    if (!code) return this.noticeSelect.focus();
    if (this.send({ type: "notice", code })) {
      this.say("tile_notice_sent");
      this.noticeSelect.value = "";
    }
  }

  // Behind the console's confirmation, with a mandatory reason; through the API, which answers
  // once the end is on disk, whatever the state of this tile's socket.
  async terminate() {
    const field = el("label", "field");
    const reason = el("textarea");
    reason.maxLength = 500;
    reason.rows = 3;
    field.append(said("span", "", "terminate_reason"), reason);
    const ok = await Staff.confirm("ask_terminate", { code: this.row.code || this.visitId }, field,
      () => (reason.value.trim() ? "" : "need_reason"));
    if (!ok) return;
    const path = `/api/v1/visits/${encodeURIComponent(this.visitId)}/terminate`;
    const resp = await Staff.api("POST", path, { reason: reason.value.trim() });
    if (resp.status !== 202) Staff.sayFailure(this.status, resp);
  }

  // ---- the end -------------------------------------------------------------------------------

  ended(reason) {
    const known = WALL_END_REASONS.includes(reason) ? reason : "unknown";
    this.finish();
    this.el.dataset.ended = known;
    this.say("tile_ended", { reason: t(`end_${known}`) });
  }

  refused(code) {
    this.finish();
    this.el.dataset.refused = code || "other";
    this.say(TEXTS.id[`tile_e_${code}`] ? `tile_e_${code}` : "tile_e_other");
  }

  finish() {
    this.over = true;
    this.el.classList.add("over");
    for (const control of this.live) control.disabled = true;
    this.stop();
    this.onFreed(this);
  }

  stop() {
    this.over = true;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = null;
      ws.close(1000);
    }
    this.media.close();
  }

  remove() {
    this.stop();
    this.el.remove();
    this.onFreed(this);
  }
}
window.WallTile = WallTile;
