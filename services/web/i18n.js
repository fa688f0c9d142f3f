// Language of the family pages: Indonesian first, English second. The page's texts script
// defines TEXTS ({id: {...}, en: {...}}) before this one; t(key, vars) picks the current text.
"use strict";

function pickLanguage() {
  // ?lang=en in a link (one sent by WhatsApp, say) wins, and is remembered.
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked && TEXTS[asked]) {
    localStorage.setItem("tatap.lang", asked);
    return asked;
  }
  const saved = localStorage.getItem("tatap.lang");
  if (saved && TEXTS[saved]) return saved;
  const wanted = (navigator.languages || [navigator.language || "id"]).map((l) => l.slice(0, 2));
  return wanted.find((l) => l === "id" || l === "en") || "id";
}

let LANG = pickLanguage();

function t(key, vars) {
  let text = (TEXTS[LANG] && TEXTS[LANG][key]) || TEXTS.id[key] || key;
  for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
  return text;
}

function setLanguage(lang) {
  if (!TEXTS[lang]) return;
  LANG = lang;
  localStorage.setItem("tatap.lang", lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) {
    el.textContent = el.dataset.t ? t(el.dataset.t, JSON.parse(el.dataset.vars || "{}")) : "";
  }
  for (const el of document.querySelectorAll("[data-lang]")) {
    el.setAttribute("aria-pressed", String(el.dataset.lang === lang));
  }
}

// Show a text by key; it follows later language switches.
function say(el, key, vars) {
  el.dataset.t = key || "";
  el.dataset.vars = JSON.stringify(vars || {});
  el.textContent = key ? t(key, vars) : "";
}
