// What the officer console's pages share besides the shell: the facility a page works on. (The
// menu is the shell's: session.js builds it from the pages the server lists for the role.)
"use strict";

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
