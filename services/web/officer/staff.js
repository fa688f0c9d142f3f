// Staff accounts, for admins: the accounts of the admin's facility (or of all, for an admin of
// every facility), create one with an initial password, reset a password, disable. The API
// refuses everyone else; the page then says so and shows nothing.
"use strict";

const Accounts = { list: [], facilities: new Map() };

function facilities(listed) {
  const chosen = $("s-facility").value;
  Accounts.facilities = new Map(listed.map((f) => [f.id, f.name]));
  const options = [...Accounts.facilities].map(([id, name]) => {
    const option = el("option", "", name);
    option.value = id;
    return option;
  });
  if (!Staff.session.facility) {
    const every = said("option", "", "all_facilities");
    every.value = "";
    options.unshift(every);
  }
  $("s-facility").replaceChildren(...options);
  if (chosen && Accounts.facilities.has(chosen)) $("s-facility").value = chosen;
}

async function load() {
  const resp = await Staff.api("GET", "/api/v1/staff");
  if (resp.status !== 200) {
    $("staff-form").hidden = $("accounts").hidden = true;
    failed(resp);
    return;
  }
  $("staff-form").hidden = $("accounts").hidden = false;
  Accounts.list = resp.body.staff;
  facilities(resp.body.facilities);
  render();
}

function render() {
  $("accounts").tBodies[0].replaceChildren(...Accounts.list.map((a) => {
    const tr = el("tr", a.disabled ? "disabled" : "");
    tr.dataset.username = a.username;
    const facility = a.facility_id ? Accounts.facilities.get(a.facility_id) || a.facility_id
      : t("all_facilities");
    const actions = el("div", "actions");
    if (!a.disabled && Staff.session && a.id !== Staff.session.staff_id) {
      const reset = said("button", "small", "reset_password");
      reset.type = "button";
      reset.addEventListener("click", () => resetPassword(a));
      const disable = said("button", "danger small", "disable");
      disable.type = "button";
      disable.addEventListener("click", () => disableAccount(a));
      actions.append(reset, disable);
    }
    tr.append(el("td", "", a.username), said("td", "", `role_${a.role}`), el("td", "", facility),
      said("td", "", a.disabled ? "state_disabled" : "state_active"), el("td"));
    tr.lastChild.append(actions);
    return tr;
  }));
}

async function create(event) {
  event.preventDefault();
  const body = { username: $("s-username").value.trim(), role: $("s-role").value,
    password: $("s-password").value, facility_id: $("s-facility").value };
  const ok = await Staff.confirm("ask_create", { username: body.username, role: t(`role_${body.role}`) });
  if (!ok) return;
  const made = await change("POST", "/api/v1/staff", body, "created", (b) => b);
  $("s-password").value = "";
  if (made) {
    $("staff-form").reset();
    await load();
  }
}

async function resetPassword(account) {
  const input = askField("new_password", "password");
  const ok = await Staff.confirm("ask_reset", { username: account.username }, input,
    () => (input.querySelector("input").value.length >= 10 ? "" : "need_password"));
  if (!ok) return;
  const password = input.querySelector("input").value;
  const path = `/api/v1/staff/${encodeURIComponent(account.id)}/password`;
  await change("POST", path, { password }, "password_reset", (b) => b);
}

async function disableAccount(account) {
  const input = askField("reason");
  const ok = await Staff.confirm("ask_disable", { username: account.username }, input);
  if (!ok) return;
  const reason = input.querySelector("input").value.trim();
  const path = `/api/v1/staff/${encodeURIComponent(account.id)}/disable`;
  if (await change("POST", path, { reason }, "disabled", (b) => b)) await load();
}

$("staff-form").addEventListener("submit", create);
document.addEventListener("tatap:lang", render);

Staff.start(
  load,
  () => {
    Accounts.list = [];
    render();
  },
);
