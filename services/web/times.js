// Times in the facility's time zone, for the family pages and the staff consoles alike. Reads
// LANG (i18n.js).
"use strict";

// The names Indonesians read on clocks, which Intl gives only in some locales.
const ZONES = { "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
  "Asia/Jayapura": "WIT" };

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
