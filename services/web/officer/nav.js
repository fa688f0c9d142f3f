// The officer console's menu: one entry per page, the current one marked. Each page of the
// console loads this file; its texts are the nav_* keys of officer/texts.js.
"use strict";

const OFFICER_PAGES = [
  ["/officer", "nav_requests"],
  ["/officer/walk-in", "nav_walkin"],
  ["/officer/terminals", "nav_terminals"],
];

(function buildOfficerNav() {
  const links = OFFICER_PAGES.map(([path, key]) => {
    const link = document.createElement("a");
    link.href = path;
    say(link, key);
    if (path === location.pathname) link.setAttribute("aria-current", "page");
    return link;
  });
  document.getElementById("nav").replaceChildren(...links);
})();

// The facility a page works on: the officer's own, or (staff of every facility) the one picked
// from those taking requests. Calls onPick(id, timezone) now and at each change of the pick.
async function officerFacility(session, onPick) {
  const pick = document.getElementById("facility-pick");
  if (session.facility) {
    pick.hidden = true;
    onPick(session.facility.id, session.facility.timezone);
    return;
  }
  const resp = await Staff.api("GET", "/api/v1/facilities");
  if (resp.status !== 200) return;
  const select = document.getElementById("facility");
  select.replaceChildren(...resp.body.facilities.map((f) => {
    const option = document.createElement("option");
    option.textContent = f.name;
    option.value = f.id;
    option.dataset.tz = f.timezone;
    return option;
  }));
  const choose = () => {
    const option = select.selectedOptions[0];
    if (option) onPick(option.value, option.dataset.tz);
  };
  select.onchange = choose;
  pick.hidden = false;
  choose();
}
