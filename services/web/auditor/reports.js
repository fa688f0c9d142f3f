// The auditor's monthly reports: a facility (or, for a regional auditor, the whole region) and
// a month; the report is the server's HTML (the page, CSV and PDF are one rendering), its
// <main> shown here. Each figure's "see events" link names the search's filters in the hash
// (/auditor#search?action=...&since=...): opening it fills the search form and runs it.
"use strict";

const Reports = { shown: null };  // the query of the report on screen

function reportQuery(format) {
  const form = $("report-form");
  const params = new URLSearchParams({ month: form.elements.month.value, lang: LANG });
  if (form.elements.facility.value) params.set("facility", form.elements.facility.value);
  if (format) params.set("format", format);
  return params;
}

async function showReport(event) {
  if (event) event.preventDefault();
  if (!$("report-form").reportValidity()) return;
  const params = reportQuery("html");
  say($("report-body"), "r_loading");
  $("report-error").hidden = true;
  let resp;
  try {
    resp = await fetch(`/api/v1/reports/monthly?${params}`, { credentials: "same-origin" });
  } catch (err) {
    resp = null;
  }
  if (!resp || resp.status !== 200) {
    $("report-body").replaceChildren();
    let body = null;
    try { body = resp ? await resp.json() : null; } catch (err) { body = null; }
    Staff.sayFailure($("report-error"), { status: resp ? resp.status : 0, body });
    return;
  }
  const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
  const main = doc.querySelector("main.report");
  $("report-body").dataset.t = "";
  $("report-body").replaceChildren(document.importNode(main, true));
  Reports.shown = params;
}

function download(format) {
  const link = el("a");
  link.href = `/api/v1/reports/monthly?${reportQuery(format)}`;
  document.body.append(link);
  link.click();
  link.remove();
}

// A figure's source: the search form filled from the hash, then run.
function openSource() {
  if (!location.hash.startsWith("#search?")) return;
  const params = new URLSearchParams(location.hash.slice("#search?".length));
  const form = $("filters");
  for (const name of ["inmate", "visitor", "terminal", "officer", "kind", "end_reason", "action", "since", "until"]) {
    form.elements[name].value = params.get(name) || "";
  }
  const facility = params.get("facility") || "";
  if ((Staff.session.facilities || []).some((f) => f.id === facility)) {
    $("facility").value = facility;
    Search.facility = facility;
  }
  showTab("search");
  runSearch();
}

function pickReportFacilities(session) {
  const region = session.facilities || [];
  const select = $("report-form").elements.facility;
  select.replaceChildren(said("option", "", "all_region"));
  select.firstChild.value = "";
  for (const f of region) {
    const option = el("option", "", f.name);
    option.value = f.id;
    select.append(option);
  }
  $("report-facility-pick").hidden = region.length < 2;
  const now = new Date();
  const last = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  $("report-form").elements.month.value =
    `${last.getFullYear()}-${String(last.getMonth() + 1).padStart(2, "0")}`;
}

function setUpReports() {
  $("tab-reports").addEventListener("click", () => showTab("reports"));
  $("report-form").addEventListener("submit", showReport);
  $("report-csv").addEventListener("click", () => download("csv"));
  $("report-pdf").addEventListener("click", () => download("pdf"));
  window.addEventListener("hashchange", () => { if (Staff.session) openSource(); });
  // The report is the server's text: a language switch asks for it again.
  document.addEventListener("tatap:lang", () => { if (Reports.shown) showReport(); });
  document.addEventListener("tatap:session", (event) => {
    pickReportFacilities(event.detail);
    $("report-body").replaceChildren();
    Reports.shown = null;
    openSource();
  });
}

setUpReports();
