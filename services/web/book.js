// What the booking pages share: the API call, errors as sentences in the page's language, the
// language toggle, and times shown in the facility's time zone. Reads TEXTS, t, say, LANG and
// setLanguage (i18n.js); the facts the server shares sit in the #facts data block.
"use strict";

const $ = (id) => document.getElementById(id);
const FACTS = JSON.parse(($("facts") || { textContent: "{}" }).textContent);
const API_TIMEOUT_MS = 30000;  // a weak phone link is slow, but a dead one must not hang a step
// The names Indonesians read on clocks, which Intl gives only in some locales.
const ZONES = { "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
  "Asia/Jayapura": "WIT" };

// fetch as JSON: {status, body, retryAfterS}; status 0 when the network failed.
async function api(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), API_TIMEOUT_MS);
  try {
    const resp = await fetch(path, {
      method, signal: controller.signal, headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    let answer = null;
    try { answer = await resp.json(); } catch (err) { answer = null; }
    return { status: resp.status, body: answer, retryAfterS: Number(resp.headers.get("Retry-After")) || 0 };
  } catch (err) {
    return { status: 0, body: null, retryAfterS: 0 };
  } finally {
    clearTimeout(timer);
  }
}

function errorOf(resp) {
  return (resp.body && resp.body.error) || {};
}

// Show a server text given in both languages; it follows later language switches.
function sayBoth(el, messages) {
  delete el.dataset.t;
  el.dataset.msgs = JSON.stringify(messages);
  el.textContent = messages[LANG] || messages.id || "";
}

// Say in ``el`` why ``resp`` failed, in the page's language; unhides ``el``.
function sayFailure(el, resp) {
  const error = errorOf(resp);
  const messages = error.details && error.details.messages;
  delete el.dataset.msgs;
  if (resp.status === 0) say(el, "err_network");
  else if (resp.status === 429) say(el, "err_rate", { min: Math.max(1, Math.ceil(resp.retryAfterS / 60)) });
  else if (resp.status === 409 && TEXTS.id[`c_${error.code}`]) say(el, `c_${error.code}`);
  else if (messages) sayBoth(el, messages);
  else say(el, "err_other");
  el.hidden = false;
}

function clear(el) {
  say(el, "");
  delete el.dataset.msgs;
  el.hidden = true;
}

function switchLanguage(lang) {
  setLanguage(lang);
  const title = document.querySelector("header .title");
  if (title) document.title = `Tatap · ${title.textContent}`;
  for (const el of document.querySelectorAll("[data-msgs]")) {
    const messages = JSON.parse(el.dataset.msgs);
    el.textContent = messages[LANG] || messages.id || "";
  }
  document.dispatchEvent(new Event("tatap:lang"));
}

function locale() {
  return LANG === "id" ? "id-ID" : "en-GB";
}

function zoneName(tz) {
  return ZONES[tz] || tz;
}

function localDate(ms, tz) {
  return new Intl.DateTimeFormat(locale(), { timeZone: tz, weekday: "long", day: "numeric",
    month: "long", year: "numeric" }).format(new Date(ms));
}

function localTime(ms, tz) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit",
    hour12: false }).format(new Date(ms)).replace(":", LANG === "id" ? "." : ":");
}

(() => {
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => switchLanguage(button.dataset.lang));
  }
  switchLanguage(LANG);
})();
