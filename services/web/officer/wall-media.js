// The officer's side of one monitor's connection to a visit room's terminal (PROTOCOL.md §7):
// the officer always offers, with exactly four recvonly transceivers: video and audio of the
// inmate, then video and audio of the family (as the terminal receives them, forwarded). The
// first two go to the tile's inmate video, the last two to its family video. A new offer
// replaces the connection (the terminal answers it afresh).
"use strict";

class WallMedia {
  // ``send(msg)``: to the socket; ``say(key)``: the tile's status; ``videos``: {inmate, family};
  // ``waitFamily``: the "waiting for the family" note over the family's video.
  constructor({ send, say, videos, waitFamily }) {
    this.send = send;
    this.say = say;
    this.videos = videos;
    this.waitFamily = waitFamily;
    this.pc = null;
    this.terminalId = "";
  }

  async offer(terminalId, iceServers) {
    this.close();
    this.terminalId = terminalId;
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    const streams = { inmate: new MediaStream(), family: new MediaStream() };
    for (const kind of ["video", "audio", "video", "audio"]) pc.addTransceiver(kind, { direction: "recvonly" });
    pc.ontrack = (ev) => {
      if (this.pc !== pc) return;
      const index = pc.getTransceivers().indexOf(ev.transceiver);
      const side = index < 2 ? "inmate" : "family";
      streams[side].addTrack(ev.track);
      const video = this.videos[side];
      if (video.srcObject !== streams[side]) video.srcObject = streams[side];
      video.play().catch(() => {});
      if (side === "family" && ev.track.kind === "video") this.watchFamily(ev.track);
    };
    pc.onicecandidate = (ev) => {
      if (this.pc !== pc) return;
      const c = ev.candidate;
      this.send({ type: "signal", to: terminalId, data: { candidate: c
        ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null } });
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      if (pc.connectionState === "connected") this.say("");
      if (pc.connectionState === "failed") this.offer(terminalId, iceServers);
    };
    await pc.setLocalDescription(await pc.createOffer());
    if (this.pc !== pc) return;
    this.say("tile_connecting");
    this.send({ type: "signal", to: terminalId, data: { sdp: { type: "offer", sdp: pc.localDescription.sdp } } });
  }

  // Until the terminal has the family's picture its sender has no track: the track stays muted.
  watchFamily(track) {
    const show = () => { this.waitFamily.hidden = !track.muted; };
    track.onmute = track.onunmute = show;
    show();
  }

  async signal(from, data) {
    const pc = this.pc;
    if (!pc || from !== this.terminalId) return;
    if (data.sdp && data.sdp.type === "answer") {
      if (pc.signalingState === "have-local-offer") await pc.setRemoteDescription(data.sdp);
    } else if (data && "candidate" in data && pc.remoteDescription) {
      await pc.addIceCandidate(data.candidate || null).catch(() => {});
    }
  }

  close() {
    if (this.pc) {
      this.pc.ontrack = this.pc.onicecandidate = this.pc.onconnectionstatechange = null;
      this.pc.close();
    }
    this.pc = null;
    for (const video of Object.values(this.videos)) video.srcObject = null;
    this.waitFamily.hidden = false;
  }
}
window.WallMedia = WallMedia;
