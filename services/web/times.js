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

// Epoch ms of a wall-clock time in ``tz``: ``date`` YYYY-MM-DD and ``hhmm`` HH:MM, as a facility
// officer types them. The zone's offset is read at the guess, then again at the answer (a shift
// between the two, as at a daylight-saving change, is taken from the second).
function wallMs(date, hhmm, tz) {
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi] = hhmm.split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  const offset = (ms) => {
    const parts = {};
    for (const p of new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23",
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" })
      .formatToParts(new Date(ms))) parts[p.type] = Number(p.value);
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute) - ms;
  };
  const first = guess - offset(guess);
  return guess - offset(first);
}
