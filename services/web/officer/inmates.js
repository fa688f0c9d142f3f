// The inmate import: an SDP export (CSV or XLSX) uploaded, its columns mapped (guessed from the
// header first), previewed row by row with each row's change or errors, and only on confirmation
// applied. The confirmation sends the same file with the preview's digest, so what is applied is
// what was shown; rows in error are skipped (the server counts them in the audit).
"use strict";

const FIELDS = ["number", "name", "block", "status"];
const Import = { file: null, preview: null };

function columnsQuery() {
  const query = new URLSearchParams();
  for (const field of FIELDS) {
    const select = $(`map-${field}`);
    if (select && select.value) query.set(field, select.value);
  }
  return query;
}

async function preview(query) {
  if (!Import.file || !Facility.id) return;
  $("page-error").hidden = true;
  const path = `/api/v1/facilities/${encodeURIComponent(Facility.id)}/inmates/preview?${query}`;
  const resp = await Staff.api("POST", path, Import.file);
  if (resp.status !== 200) {
    Import.preview = null;
    $("preview").hidden = true;
    failed(resp);
    return;
  }
  Import.preview = resp.body;
  render();
}

function render() {
  const p = Import.preview;
  $("preview").hidden = !p;
  if (!p) return;
  const mapping = $("mapping");
  const legend = mapping.querySelector("legend");
  mapping.replaceChildren(legend, ...FIELDS.map((field) => {
    const label = el("label");
    const select = el("select");
    select.id = `map-${field}`;
    const none = el("option", "", "—");
    none.value = "";
    select.append(none, ...p.header.map((name) => {
      const option = el("option", "", name);
      option.value = name;
      return option;
    }));
    select.value = p.columns[field] || "";
    select.addEventListener("change", () => preview(columnsQuery()));
    label.append(said("span", "", `field_${field}`), select);
    return label;
  }));
  say($("counts"), "counts", { total: p.total, ...p.counts });
  $("errors-box").hidden = p.errors.length === 0;
  $("errors").tBodies[0].replaceChildren(...p.errors.map((e) => {
    const tr = el("tr", "bad");
    tr.append(el("td", "", String(e.line)), el("td", "", e.number),
      el("td", "", e.errors.map((code) => t(`row_${code}`)).join("; ")));
    return tr;
  }));
  $("rows").tBodies[0].replaceChildren(...p.rows.map((r) => {
    const tr = el("tr", r.errors.length ? "bad" : `change-${r.change}`);
    const change = r.errors.length ? t("skipped") : t(`change_${r.change}`);
    tr.append(el("td", "", String(r.line)), el("td", "", r.number), el("td", "", r.name),
      el("td", "", r.block), el("td", "", t(`inmate_${r.status}`)), el("td", "", change));
    return tr;
  }));
  $("apply").disabled = p.total === p.counts.errors;
}

async function apply() {
  const p = Import.preview;
  if (!p) return;
  const good = p.total - p.counts.errors;
  const ok = await Staff.confirm("ask_apply", { good, errors: p.counts.errors, ...p.counts });
  if (!ok) return;
  const query = columnsQuery();
  query.set("digest", p.digest);
  const path = `/api/v1/facilities/${encodeURIComponent(Facility.id)}/inmates/import?${query}`;
  if (await change("POST", path, Import.file, "applied", (b) => b)) {
    Import.preview = null;
    $("preview").hidden = true;
    $("upload-form").reset();
  }
}

$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  Import.file = $("file").files[0] || null;
  $("page-status").hidden = true;
  preview(new URLSearchParams());
});
$("apply").addEventListener("click", apply);
document.addEventListener("tatap:lang", render);

Staff.start(
  (session) => Facility.choose(session, () => {
    Import.preview = null;
    render();
  }),
  () => {
    Facility.forget();
    Import.file = Import.preview = null;
    $("preview").hidden = true;
  },
);
