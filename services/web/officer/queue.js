// The officer's approval queue: requests of the officer's facility, soonest first, in the
// facility's time zone; approve (a remand inmate's visit asks for the letter number), reject with
// a canned reason, and per request the messages its family was sent, each with a wa.me link and
// "mark sent". Polls while visible; a poll keeps the open rows open and never interrupts a dialog.
"use strict";

const POLL_MS = 10000;
const Queue = {
  status: "requested",
  items: [],
  seen: "",  // the last answer, to tell whether a poll changed anything
  open: new Set(),  // visit ids whose messages are shown
  messages: new Map(),  // visit id -> its messages, as last read
  timer: 0,
  tz: "Asia/Jakarta",
  facility: "",  // the officer's own; staff of every facility pick one
};

function relationshipLabel(code) {
  const found = (FACTS.relationships || []).find((r) => r.code === code);
  return found ? found[LANG] || found.id : code;
}

function whenOf(item) {
  return `${localDate(item.start_ms, Queue.tz)}, ${localTime(item.start_ms, Queue.tz)} ${zoneName(Queue.tz)}`;
}

function inmateOf(item) {
  return item.inmate ? `${item.inmate.number} · ${item.inmate.name}` : item.inmate_id;
}

function note(key, vars) {
  const status = $("queue-status");
  say(status, key, vars);
  status.hidden = false;
  $("queue-error").hidden = true;
}

function failed(resp) {
  Staff.sayFailure($("queue-error"), resp);
  $("queue-status").hidden = true;
}

async function refresh(background) {
  if (!Staff.session || !Queue.facility) return;
  const query = new URLSearchParams({ status: Queue.status, facility: Queue.facility });
  const resp = await Staff.api("GET", `/api/v1/requests?${query}`, null, background);
  if (resp.status !== 200) {
    if (Staff.session) failed(resp);
    return;
  }
  // A poll that brings nothing new leaves the rows (and the officer's focus) as they are.
  const seen = JSON.stringify(resp.body.requests);
  if (seen !== Queue.seen) {
    Queue.seen = seen;
    Queue.items = resp.body.requests;
    render();
  }
  say($("refreshed"), "refreshed", { time: localTime(Date.now(), Queue.tz) });
  for (const id of Queue.open) {
    if (Queue.items.some((i) => i.id === id)) loadMessages(id, true);
    else Queue.open.delete(id);
  }
}

function render() {
  const list = $("queue");
  const rows = Queue.items.map(row);
  list.replaceChildren(...rows);
  $("queue-empty").hidden = Queue.items.length > 0;
}

function row(item) {
  const li = el("li", "req");
  li.dataset.id = item.id;
  const when = el("div", "when");
  when.append(el("strong", "", `${localTime(item.start_ms, Queue.tz)} ${zoneName(Queue.tz)}`),
    el("span", "", localDate(item.start_ms, Queue.tz)));

  const who = el("div", "who");
  const inmate = el("div", "inmate");
  inmate.append(el("strong", "", inmateOf(item)));
  if (item.inmate) inmate.append(said("span", `tag inmate-${item.inmate.status}`, `inmate_${item.inmate.status}`));
  const visitor = el("div", "visitor");
  const v = item.visitor;
  if (v) {
    visitor.append(el("strong", "", v.name), el("span", "", ` (${relationshipLabel(v.relationship)})`));
    visitor.append(said("span", "label", "nik"), el("span", "nik", v.nik));
    visitor.append(said("span", "label", "phone"), el("span", "phone", v.phone));
  }
  const guest = el("div", "guest");
  if (item.teacher) {
    guest.append(said("span", "label", "teacher"), el("strong", "", item.teacher.name));
    if (item.teacher.contact) guest.append(el("span", "phone", item.teacher.contact));
  }
  if (item.advocate_number) {
    guest.append(said("span", "label", "advocate_number"), el("span", "code", item.advocate_number));
  }
  const flags = el("div", "flags");
  if (v && v.priority) flags.append(said("span", "tag priority", "priority"));
  if (item.review) flags.append(said("span", "tag review", "review"));
  if (item.inmate && item.inmate.status === "remand" && item.status === "requested") {
    flags.append(said("span", "tag remand", "remand"));
  }
  flags.append(said("span", "kind", `kind_${item.kind}`));
  flags.append(said("span", "label", "code"), el("code", "code", item.code));
  who.append(inmate, visitor, ...(guest.childElementCount ? [guest] : []), flags);

  const actions = el("div", "actions");
  if (item.status === "requested") {
    const approve = said("button", "primary approve", "approve");
    approve.type = "button";
    approve.addEventListener("click", () => approveRequest(item));
    const reject = said("button", "danger reject", "reject");
    reject.type = "button";
    reject.addEventListener("click", () => rejectRequest(item));
    actions.append(approve, reject);
  }
  const toggle = said("button", "messages-toggle", Queue.open.has(item.id) ? "hide_messages" : "messages");
  toggle.type = "button";
  toggle.setAttribute("aria-expanded", String(Queue.open.has(item.id)));
  toggle.addEventListener("click", () => toggleMessages(item.id));
  actions.append(toggle);

  const box = el("div", "messages");
  box.hidden = !Queue.open.has(item.id);
  if (Queue.messages.has(item.id)) renderMessages(box, item.id, Queue.messages.get(item.id));
  li.append(when, who, actions, box);
  return li;
}

async function approveRequest(item) {
  const remand = item.inmate && item.inmate.status === "remand";
  let extra = null;
  if (remand) {
    extra = el("label", "field");
    const input = el("input");
    input.id = "permission-ref";
    input.maxLength = 64;
    extra.append(said("span", "", "permission_ref"), input);
  }
  const check = () => (remand && !$("permission-ref").value.trim() ? "need_ref" : "");
  const ok = await Staff.confirm("ask_approve",
    { code: item.code, inmate: inmateOf(item), when: whenOf(item) }, extra, check);
  if (!ok) return;
  const body = remand ? { permission_ref: extra.querySelector("input").value.trim() } : null;
  const resp = await Staff.api("POST", `/api/v1/requests/${encodeURIComponent(item.id)}/approve`, body);
  if (resp.status === 200) note("approved", { code: item.code });
  else failed(resp);
  await refresh(false);
}

async function rejectRequest(item) {
  const extra = el("div", "fields");
  const reasonLabel = el("label", "field");
  const select = el("select");
  select.id = "reject-reason";
  for (const reason of FACTS.reject_reasons) {
    const option = el("option", "", reason[LANG] || reason.id);
    option.value = reason.code;
    select.append(option);
  }
  reasonLabel.append(said("span", "", "reject_reason"), select);
  const noteLabel = el("label", "field");
  const text = el("textarea");
  text.id = "reject-note";
  text.maxLength = 500;
  text.rows = 3;
  noteLabel.append(said("span", "", "reject_note"), text);
  extra.append(reasonLabel, noteLabel);
  const check = () => (select.value === "other" && !text.value.trim() ? "need_note" : "");
  const ok = await Staff.confirm("ask_reject", { code: item.code }, extra, check);
  if (!ok) return;
  const resp = await Staff.api("POST", `/api/v1/requests/${encodeURIComponent(item.id)}/reject`,
    { reason: select.value, note: text.value.trim() });
  if (resp.status === 200) note("rejected", { code: item.code });
  else failed(resp);
  await refresh(false);
}

function boxOf(id) {
  const li = [...$("queue").children].find((node) => node.dataset.id === id);
  return li ? li.querySelector(".messages") : null;
}

async function toggleMessages(id) {
  if (Queue.open.has(id)) Queue.open.delete(id);
  else Queue.open.add(id);
  render();
  if (Queue.open.has(id)) await loadMessages(id, false);
}

async function loadMessages(id, background) {
  const resp = await Staff.api("GET", `/api/v1/requests/${encodeURIComponent(id)}/notifications`,
    null, background);
  if (resp.status !== 200) {
    if (Staff.session) failed(resp);
    return;
  }
  Queue.messages.set(id, resp.body.messages);
  const box = boxOf(id);
  if (box) renderMessages(box, id, resp.body.messages);
}

function renderMessages(box, id, messages) {
  if (!messages.length) {
    box.replaceChildren(said("p", "muted", "no_messages"));
    return;
  }
  const list = el("ul", "message-list");
  for (const m of messages) {
    const li = el("li", `message state-${m.state}`);
    li.dataset.id = m.id;
    const head = el("div", "message-head");
    head.append(said("strong", "", `msg_${m.kind}`), said("span", `tag state`, `state_${m.state}`),
      el("span", "muted", `${localDate(m.created_ms, Queue.tz)} ${localTime(m.created_ms, Queue.tz)}`),
      el("span", "muted", m.phone));
    const text = el("p", "message-text", m.text);
    const actions = el("div", "message-actions");
    if (m.wa_me) {
      const link = said("a", "button wa", "open_whatsapp");
      link.href = m.wa_me;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      actions.append(link);
    }
    if (m.state === "pending" || m.state === "failed") {
      const mark = said("button", "mark-sent", "mark_sent");
      mark.type = "button";
      mark.addEventListener("click", () => markSent(id, m.id));
      actions.append(mark);
    }
    li.append(head, text, actions);
    list.append(li);
  }
  box.replaceChildren(list);
}

async function markSent(visitId, messageId) {
  const path = `/api/v1/requests/${encodeURIComponent(visitId)}/notifications/${encodeURIComponent(messageId)}/sent`;
  const resp = await Staff.api("POST", path);
  if (resp.status === 200) {
    Queue.messages.set(visitId, resp.body.messages);
    const box = boxOf(visitId);
    if (box) renderMessages(box, visitId, resp.body.messages);
    note("marked_sent");
  } else {
    failed(resp);
    await loadMessages(visitId, false);
  }
}

function poll() {
  if (document.visibilityState === "visible" && !$("confirm").open) refresh(true);
}

function selectTab(status) {
  Queue.status = status;
  for (const tab of document.querySelectorAll("[data-status]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.status === status));
  }
  Queue.items = [];
  Queue.seen = "";
  render();
  refresh(false);
}

for (const tab of document.querySelectorAll("[data-status]")) {
  tab.addEventListener("click", () => selectTab(tab.dataset.status));
}
document.addEventListener("visibilitychange", poll);
document.addEventListener("tatap:lang", render);
window.officerQueue = { refresh, Queue };

// Staff of every facility (an admin without one) pick the facility whose queue they work, of
// every facility (one taking no online requests has an empty queue, but walk-ins and a board).
async function pickFacility() {
  const failure = await Staff.pickFacility($("facility"), $("facility-pick"), (id, tz) => {
    Queue.facility = id;
    Queue.tz = tz;
    selectTab(Queue.status);
  });
  if (failure) failed(failure);
}

Staff.start(
  (session) => {
    if (session.facility) {
      Queue.facility = session.facility.id;
      Queue.tz = session.facility.timezone;
      refresh(false);
    } else {
      pickFacility();
    }
    clearInterval(Queue.timer);
    Queue.timer = setInterval(poll, POLL_MS);
  },
  () => {
    clearInterval(Queue.timer);
    Queue.facility = "";
    $("facility-pick").hidden = true;
    Queue.items = [];
    Queue.seen = "";
    Queue.open.clear();
    Queue.messages.clear();
    render();
  },
);
