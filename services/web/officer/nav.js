// The officer console's menu across its pages: the sections of /officer (by hash) and the pages
// of their own. Each page of the console loads this file; session.js builds the menu from it and
// marks the current entry. Its texts are the nav_* keys of officer/texts.js.
"use strict";

Staff.navPages = [
  ["/officer#today", "nav_today"],
  ["/officer#requests", "nav_requests"],
  ["/officer/walk-in", "nav_walkin"],
  ["/officer/wall", "nav_wall"],
  ["/officer/terminals", "nav_terminals"],
  ["/officer/schedule", "nav_schedule"],
  ["/officer/inmates", "nav_inmates"],
  ["/officer/staff", "nav_staff", ["admin"]],
];

// The facility a page works on: the officer's own, or (staff of every facility) the one picked
// from every facility, taking online requests or not. Calls onPick(id, timezone) now and at each change of the pick.
async function officerFacility(session, onPick) {
  const pick = document.getElementById("facility-pick");
  if (session.facility) {
    pick.hidden = true;
    onPick(session.facility.id, session.facility.timezone);
    return;
  }
  await Staff.pickFacility(document.getElementById("facility"), pick, onPick);
}
