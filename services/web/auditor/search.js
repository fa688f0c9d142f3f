// The auditor's search: the filters as the audit API takes them (one search for the API, the CLI
// and this page), a page of events at a time, newest or oldest first; export of the same filter
// as CSV or JSON lines (the bytes `tatap audit export` writes). Starts the console (Staff.start).
"use strict";

const Search = {
  cursors: [null],  // the cursor of each page seen so far (null: the first page)
  page: 0,
  next: null,
  params: null,  // the filters of the search shown
  tz: "Asia/Jakarta",
  facility: "",  // "" : every facility the auditor reaches
};

function when(ms, tz) {
  return `${localDate(ms, tz)} ${localTime(ms, tz)} ${zoneName(tz)}`;
}

// The form's filters as the API's query parameters.
function filterParams() {
  const form = $("filters");
  const params = new URLSearchParams();
  for (const name of ["inmate", "visitor", "terminal", "officer", "kind", "end_reason", "action"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  const since = form.elements.since.value;
  const until = form.elements.until.value;
  if (since) params.set("since_ms", String(wallMs(since, "00:00", Search.tz)));
  if (until) params.set("until_ms", String(wallMs(until, "00:00", Search.tz) + 86400000));
  if (Search.facility) params.set("facility", Search.facility);
  return params;
}

async function runSearch(event) {
  if (event) event.preventDefault();
  Search.params = filterParams();
  Search.cursors = [null];
  Search.page = 0;
  await loadPage();
}

async function loadPage() {
  const params = new URLSearchParams(Search.params);
  const order = $("filters").elements.order.value;
  params.set("order", order);
  params.set("limit", "50");
  const cursor = Search.cursors[Search.page];
  if (cursor !== null) params.set(order === "desc" ? "before" : "after", String(cursor));
  const resp = await Staff.api("GET", `/api/v1/audit/events?${params}`);
  $("search-error").hidden = true;
  if (resp.status !== 200) {
    if (Staff.session) Staff.sayFailure($("search-error"), resp);
    return;
  }
  Search.next = order === "desc" ? resp.body.next_before : resp.body.next_after;
  renderEvents(resp.body.events);
}

function renderEvents(events) {
  const body = $("events").querySelector("tbody");
  body.replaceChildren(...events.map(eventRow));
  $("events").hidden = events.length === 0;
  $("search-empty").hidden = events.length !== 0;
  $("prev-page").disabled = Search.page === 0;
  $("next-page").disabled = Search.next === null || Search.next === undefined;
  say($("page-no"), "page_no", { n: Search.page + 1 });
}

function eventRow(event) {
  const row = el("tr");
  row.dataset.seq = event.seq;
  row.append(el("td", "num", String(event.seq)), el("td", "", when(event.ts_ms, Search.tz)),
    el("td", "", event.action), el("td", "", `${event.actor.role}:${event.actor.id}`));
  const visit = el("td");
  if (event.visit_id) {
    const open = el("button", "link", event.visit_id);
    open.type = "button";
    open.addEventListener("click", () => Timeline.open(event.visit_id, Search.tz));
    visit.append(open);
  }
  row.append(visit, el("td", "details", JSON.stringify(event.details)));
  return row;
}

function exportAs(format) {
  const params = filterParams();
  params.set("format", format);
  // A plain navigation: the browser saves the streamed file (the session cookie goes with it).
  const link = el("a");
  link.href = `/api/v1/audit/export?${params}`;
  link.download = `audit.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
}

function showTab(name) {
  for (const tab of ["search", "verify", "reports"]) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(tab).hidden = tab !== name;
  }
  $("timeline").hidden = true;
}

function fillChoices(select, values, label) {
  for (const value of values) {
    const option = el("option");
    option.value = value;
    if (label) say(option, label(value));
    else option.textContent = value;
    select.append(option);
  }
}

function pickFacilities(session) {
  const region = session.facilities || [];
  const own = session.facility;
  Search.facility = "";  // a new session starts over every facility it reaches
  Search.tz = own ? own.timezone : region.length ? region[0].timezone : "Asia/Jakarta";
  $("facility-pick").hidden = region.length < 2;
  const select = $("facility");
  select.replaceChildren(said("option", "", "all_region"));
  select.firstChild.value = "";
  for (const f of region) {
    const option = el("option", "", f.name);
    option.value = f.id;
    select.append(option);
  }
  if (region.length > 1) {
    const names = region.map((f) => f.name).join(", ");
    $("who").textContent = `${session.username} · ${names}`;
  }
}

function onSession(session) {
  pickFacilities(session);
  showTab("search");
  runSearch();
}

function setUp() {
  const form = $("filters");
  fillChoices(form.elements.kind, FACTS.visit_kinds || [], (k) => `kind_${k}`);
  fillChoices(form.elements.end_reason, FACTS.end_reasons || [], (r) => `end_${r}`);
  fillChoices(form.elements.action, FACTS.audit_actions || []);
  form.addEventListener("submit", runSearch);
  $("export-csv").addEventListener("click", () => exportAs("csv"));
  $("export-jsonl").addEventListener("click", () => exportAs("jsonl"));
  $("prev-page").addEventListener("click", () => { Search.page -= 1; loadPage(); });
  $("next-page").addEventListener("click", () => {
    Search.cursors[Search.page + 1] = Search.next;
    Search.page += 1;
    loadPage();
  });
  $("tab-search").addEventListener("click", () => showTab("search"));
  $("tab-verify").addEventListener("click", () => showTab("verify"));
  $("facility").addEventListener("change", () => {
    Search.facility = $("facility").value;
    const chosen = (Staff.session.facilities || []).find((f) => f.id === Search.facility);
    if (chosen) Search.tz = chosen.timezone;
    runSearch();
  });
  $("timeline-back").addEventListener("click", () => showTab("search"));
  $("verify-run").addEventListener("click", Verify.run);
  Staff.start(onSession, () => {
    $("events").querySelector("tbody").replaceChildren();
    $("timeline-events").replaceChildren();
  });
}

setUp();
