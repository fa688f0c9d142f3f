// The facility a console page works on: the session's own, or, for staff of every facility, one
// picked from those taking requests (the page's #facility-pick label holding a #facility select).
"use strict";

const Facility = {
  id: "",
  tz: "Asia/Jakarta",

  // Calls ``onChange`` with the facility now, and again whenever another is picked.
  async choose(session, onChange) {
    if (session.facility) {
      Facility.id = session.facility.id;
      Facility.tz = session.facility.timezone;
      onChange();
      return;
    }
    const resp = await Staff.api("GET", "/api/v1/facilities");
    if (resp.status !== 200) return;
    const select = $("facility");
    select.replaceChildren(...resp.body.facilities.map((f) => {
      const option = document.createElement("option");
      option.textContent = f.name;
      option.value = f.id;
      option.dataset.tz = f.timezone;
      return option;
    }));
    const picked = () => {
      const option = select.selectedOptions[0];
      if (!option) return;
      Facility.id = option.value;
      Facility.tz = option.dataset.tz;
      onChange();
    };
    select.onchange = picked;
    $("facility-pick").hidden = false;
    picked();
  },

  forget() {
    Facility.id = "";
    $("facility-pick").hidden = true;
  },
};
window.Facility = Facility;
