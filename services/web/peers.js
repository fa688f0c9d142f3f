// The page's WebRTC side: one RTCPeerConnection per other participant of the visit.
// The later joiner offers (PROTOCOL.md §7). A new offer from a participant we already have a
// connection with replaces it: that is how a reconnecting side restarts ICE with an aiortc
// terminal, which cannot restart ICE on a live connection.
// Glare (both sides offer at once, e.g. both came back together): the page keeps its own offer and
// ignores the other's; the terminal yields and answers ours. A participant that (re)joins after us
// offers, so `expectOffer` drops an offer of ours still waiting for its answer.
"use strict";

class Peers {
  constructor({ send, iceServers, localStream, onTrack, onState, onGone }) {
    this.send = send;
    this.iceServers = iceServers || [];
    this.localStream = localStream;
    this.onTrack = onTrack;
    this.onState = onState;
    this.onGone = onGone;
    this.pcs = {};
    this.offerers = {};
  }

  create(peerId) {
    this.close(peerId);
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pcs[peerId] = pc;
    const stream = this.localStream;
    if (stream && stream.getTracks().length) {
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    }
    // Without a camera (or a microphone) still ask to receive both.
    for (const kind of ["audio", "video"]) {
      if (!stream || !stream.getTracks().some((tr) => tr.kind === kind)) {
        pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    pc.onicecandidate = (ev) => {
      if (this.pcs[peerId] !== pc) return;
      const c = ev.candidate;
      this.send({ type: "signal", to: peerId,
        data: { candidate: c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null } });
    };
    pc.ontrack = (ev) => {
      if (this.pcs[peerId] === pc) this.onTrack(peerId, ev.streams[0] || new MediaStream([ev.track]));
    };
    pc.onconnectionstatechange = () => {
      if (this.pcs[peerId] !== pc) return;
      this.onState(peerId, pc.connectionState);
      if (pc.connectionState === "failed" && this.offerers[peerId]) this.offer(peerId);
    };
    return pc;
  }

  async offer(peerId) {
    const pc = this.create(peerId);
    this.offerers[peerId] = true;
    await pc.setLocalDescription(await pc.createOffer());
    this.send({ type: "signal", to: peerId, data: { sdp: { type: "offer", sdp: pc.localDescription.sdp } } });
  }

  async signal(from, data) {
    const sdp = data.sdp;
    if (sdp && sdp.type === "offer") {
      const mine = this.pcs[from];
      if (mine && this.offerers[from] && mine.signalingState === "have-local-offer") return;
      const pc = this.create(from);
      this.offerers[from] = false;
      await pc.setRemoteDescription(sdp);
      await pc.setLocalDescription(await pc.createAnswer());
      this.send({ type: "signal", to: from, data: { sdp: { type: "answer", sdp: pc.localDescription.sdp } } });
    } else if (sdp && sdp.type === "answer") {
      const pc = this.pcs[from];
      if (pc && pc.signalingState === "have-local-offer") await pc.setRemoteDescription(sdp);
    } else if ("candidate" in data) {
      const pc = this.pcs[from];
      if (pc && pc.remoteDescription) {
        await pc.addIceCandidate(data.candidate || null).catch(() => {});
      }
    }
  }

  expectOffer(peerId) {
    const pc = this.pcs[peerId];
    if (pc && pc.signalingState === "have-local-offer") this.close(peerId);
    this.offerers[peerId] = false;
  }

  close(peerId) {
    const pc = this.pcs[peerId];
    if (!pc) return;
    delete this.pcs[peerId];
    pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null;
    pc.close();
    this.onGone(peerId);
  }

  closeAll() {
    for (const peerId of Object.keys(this.pcs)) this.close(peerId);
  }
}
