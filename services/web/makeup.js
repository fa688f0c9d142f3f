// /status: an ended visit whose family was offered a make-up visit (its lookup answer has
// `makeup`) lets the family pick a free slot (GET .../days and .../slots, as /register does)
// and take it (POST /api/v1/requests/makeup); the answer is the new visit, approved, shown as
// any lookup (status.js's show). Reads t, say (i18n.js), api, sayFailure, clear (book.js),
// localDate, localTime (times.js). State for tests in window.tatapMakeup.
"use strict";

(() => {
  const mk = (window.tatapMakeup = { state: null });
  let asked = null;  // {code, nik_last4} of the ended visit
  let offer = null;  // the answer's `makeup`
  let tz = "UTC";

  function option(value, text) {
    const el = document.createElement("option");
    el.value = value;
    el.textContent = text;
    return el;
  }

  async function loadDays() {
    const path = `/api/v1/facilities/${encodeURIComponent(offer.facility_id)}/days?kind=${offer.kind}`;
    const resp = await api("GET", path);
    if (resp.status !== 200) { sayFailure($("makeup-error"), resp); return; }
    const free = resp.body.days.filter((d) => d.free > 0);
    $("makeup-day").replaceChildren(...free.map((d) => option(d.date,
      localDate(Date.parse(`${d.date}T12:00:00Z`), "UTC"))));
    $("makeup-pick").hidden = free.length === 0;
    if (!free.length) { say($("makeup-error"), "makeup_none"); $("makeup-error").hidden = false; return; }
    await loadSlots();
  }

  async function loadSlots() {
    const date = $("makeup-day").value;
    const path = `/api/v1/facilities/${encodeURIComponent(offer.facility_id)}/slots?date=${date}&kind=${offer.kind}`;
    const resp = await api("GET", path);
    if (resp.status !== 200) { sayFailure($("makeup-error"), resp); return; }
    $("makeup-slot").replaceChildren(...resp.body.slots.map((s) => option(String(s.start_ms),
      `${localTime(s.start_ms, tz)}–${localTime(s.end_ms, tz)}`)));
    mk.state = "picking";
  }

  async function take() {
    clear($("makeup-error"));
    const button = $("makeup-take");
    button.disabled = true;
    const start_ms = Number($("makeup-slot").value);
    const resp = await api("POST", "/api/v1/requests/makeup", { ...asked, start_ms });
    button.disabled = false;
    if (resp.status !== 201) {
      sayFailure($("makeup-error"), resp);
      if (resp.status === 409) await loadDays();
      return;
    }
    $("code").value = resp.body.code;
    show(resp.body);  // status.js: the new visit, approved, with its link
    say($("makeup-used"), "makeup_taken", { code: resp.body.code });
    $("makeup").hidden = false;
    $("makeup-pick").hidden = true;
    $("makeup-used").hidden = false;
    mk.state = "taken";
  }

  document.addEventListener("tatap:status", (event) => {
    const { answer } = event.detail;
    $("makeup").hidden = true;
    clear($("makeup-error"));
    mk.state = null;
    if (answer.status !== "ended" || !answer.makeup) return;
    asked = event.detail.asked;
    offer = answer.makeup;
    tz = (answer.facility && answer.facility.timezone) || "UTC";
    $("makeup").hidden = false;
    $("makeup-used").hidden = !offer.used_code;
    $("makeup-pick").hidden = Boolean(offer.used_code);
    if (offer.used_code) { say($("makeup-used"), "makeup_used", { code: offer.used_code }); mk.state = "used"; return; }
    loadDays();
  });
  $("makeup-day").addEventListener("change", loadSlots);
  $("makeup-take").addEventListener("click", take);
})();
