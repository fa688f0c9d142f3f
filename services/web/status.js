// /status: a visit code and the NIK's last 4 digits → the request's state; once approved, the
// join link, a calendar file and a cancel button; once over, the survey (survey.js). ?code= prefills the code. State for tests
// lives in window.tatapStatus.
"use strict";

const st = (window.tatapStatus = { state: null, answer: null });

function who() {
  return { code: $("code").value.trim().toUpperCase(), nik_last4: $("nik_last4").value.trim() };
}

async function check() {
  for (const id of ["err-code", "err-nik_last4", "ask-error"]) clear($(id));
  const asked = who();
  if (!asked.code) { $("err-code").hidden = false; say($("err-code"), "required"); return; }
  if (!/^\d{4}$/.test(asked.nik_last4)) {
    $("err-nik_last4").hidden = false;
    say($("err-nik_last4"), "required");
    return;
  }
  const button = $("check");
  button.disabled = true;
  say(button, "checking");
  const resp = await api("POST", "/api/v1/requests/lookup", asked);
  button.disabled = false;
  say(button, "check");
  if (resp.status === 200) { show(resp.body); return; }
  $("result").hidden = true;
  if (resp.status === 404) { say($("ask-error"), "not_found"); $("ask-error").hidden = false; }
  else sayFailure($("ask-error"), resp);
  st.state = "error";
}

function show(answer) {
  st.answer = answer;
  st.state = answer.status;
  $("result").hidden = false;
  $("result-code").textContent = answer.code;
  say($("state"), `st_${answer.status}`);
  render();
  $("requested-hint").hidden = answer.status !== "requested";
  $("rejected").hidden = answer.status !== "rejected";
  $("approved").hidden = !(["approved", "live"].includes(answer.status) && answer.link);
  $("revoked").hidden = !answer.link_revoked;
  $("cancel-box").hidden = !["requested", "approved"].includes(answer.status);
  if (answer.link) $("join").href = answer.link;
  clear($("result-error"));
  // What else the page offers for this answer (survey.js) listens for this.
  document.dispatchEvent(new CustomEvent("tatap:status", { detail: { answer, asked: who() } }));
  $("result").scrollIntoView({ block: "start" });
}

// What depends on the language: the date and the rejection's reason.
function render() {
  const answer = st.answer;
  if (!answer) return;
  const tz = (answer.facility && answer.facility.timezone) || "UTC";
  if (answer.start_ms) {
    say($("when"), "when", { date: localDate(answer.start_ms, tz), start: localTime(answer.start_ms, tz),
      end: localTime(answer.end_ms, tz), tz: zoneName(tz) });
  } else clear($("when"));
  if (answer.reason) sayBoth($("reason"), answer.reason.messages);
  $("note").textContent = answer.note || "";
}

// RFC 5545: CRLF line ends, lines folded at 75 octets, times in UTC.
function icsTime(ms) {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

function icsText(text) {
  return text.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,").replace(/\n/g, "\\n");
}

function fold(line) {
  const bytes = new TextEncoder().encode(line);
  if (bytes.length <= 75) return line;
  const parts = [];
  let rest = line;
  let limit = 75;
  while (new TextEncoder().encode(rest).length > limit) {
    let cut = limit;
    while (new TextEncoder().encode(rest.slice(0, cut)).length > limit) cut--;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut);
    limit = 74;  // a folded line starts with a space
  }
  parts.push(rest);
  return parts.join("\r\n ");
}

function calendar(answer) {
  const lines = [
    "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Tatap//Kunjungan Video//ID", "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH", "BEGIN:VEVENT",
    `UID:${answer.code}-${answer.start_ms}@${location.host}`,
    `DTSTAMP:${icsTime(Date.now())}`,
    `DTSTART:${icsTime(answer.start_ms)}`,
    `DTEND:${icsTime(answer.end_ms)}`,
    `SUMMARY:${icsText(t("ics_summary", { code: answer.code }))}`,
    `DESCRIPTION:${icsText(t("join_hint"))}`,
    `URL:${answer.link}`,
    "END:VEVENT", "END:VCALENDAR",
  ];
  return lines.map(fold).join("\r\n") + "\r\n";
}

function downloadCalendar() {
  const answer = st.answer;
  const blob = new Blob([calendar(answer)], { type: "text/calendar;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = `tatap-${answer.code}.ics`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

async function cancel() {
  if (!window.confirm(t("cancel_confirm"))) return;
  const button = $("cancel");
  button.disabled = true;
  const resp = await api("POST", "/api/v1/requests/cancel", who());
  button.disabled = false;
  if (resp.status === 200) show(resp.body);
  else sayFailure($("result-error"), resp);
}

(() => {
  st.calendar = () => calendar(st.answer);
  $("ask").addEventListener("submit", (event) => { event.preventDefault(); check(); });
  $("ics").addEventListener("click", downloadCalendar);
  $("cancel").addEventListener("click", cancel);
  document.addEventListener("tatap:lang", render);
  const code = new URLSearchParams(location.search).get("code");
  if (code) { $("code").value = code.slice(0, 16).toUpperCase(); $("nik_last4").focus(); }
  st.state = "ready";
})();
