// First thing on the visit page, in its head: the socket is the slowest step the page needs, so
// it opens while the rest of the page is still arriving. visit.js adopts it (window.tatapEarly).
"use strict";

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

(() => {
  const block = document.getElementById("joined");
  let answer = null;
  try { answer = JSON.parse(block ? block.textContent : "null"); } catch (err) { answer = null; }
  // Only with the link's answer in the page: without it the page has no token to say hello with.
  if (answer && answer.token) window.tatapEarly = new WebSocket(socketUrl());
})();
