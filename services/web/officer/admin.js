// What the administration pages share: the facility a page works on (the session's own, or, for
// staff of every facility, one picked from those taking requests: the page's #facility-pick label
// holding a #facility select), the page's status lines (#page-status, #page-error), a field asked
// for in the confirmation, and a change made and reported.
"use strict";

function note(key, vars) {
  say($("page-status"), key, vars);
  $("page-status").hidden = false;
  $("page-error").hidden = true;
}

function failed(resp) {
  Staff.sayFailure($("page-error"), resp);
  $("page-status").hidden = true;
}

// A labelled input for the confirmation dialog (a reason, a new password).
function askField(key, type) {
  const label = el("label", "field");
  const input = el("input");
  input.type = type || "text";
  input.maxLength = 200;
  label.append(said("span", "", key), input);
  return label;
}

// Makes a change through the API and says how it went: ``done`` (a text key, with the values
// ``vars`` makes of the answer) or the failure. Resolves to the answer, or null if it failed.
async function change(method, path, body, done, vars) {
  const resp = await Staff.api(method, path, body);
  if (resp.status >= 200 && resp.status < 300) {
    note(done, vars ? vars(resp.body) : {});
    return resp.body;
  }
  failed(resp);
  return null;
}

const Facility = {
  id: "",
  tz: "Asia/Jakarta",

  // Calls ``onChange`` with the facility now, and again whenever another is picked
  // (officerFacility, nav.js).
  async choose(session, onChange) {
    await officerFacility(session, (id, tz) => {
      Facility.id = id;
      Facility.tz = tz;
      onChange();
    });
  },

  forget() {
    Facility.id = "";
    $("facility-pick").hidden = true;
  },
};
window.Facility = Facility;
