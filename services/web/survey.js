// The survey after a visit (SUMANTAB / IKM), on the visit page once it has ended and on
// /status for an ended visit not yet answered. One screen: six rows of big choices, a yes/no,
// an optional comment. It asks POST /api/v1/survey/state whether to show itself, and answers
// with the seat's link (the visit page's own /v/<link>; /status is given the family's stable
// link by code and NIK). Once answered: thanks, and the form does not come back. Reads t, say
// and LANG (i18n.js); state for tests in window.tatapSurvey.
"use strict";

(() => {
  const QUESTIONS = [["overall", 4], ["registration", 4], ["on_time", 4], ["officers", 4],
    ["sound", 5], ["picture", 5]];
  const TIMEOUT_MS = 30000;
  const RETRIES_MS = [1000, 2000, 4000, 8000];  // the end may reach the page before the disk
  const survey = (window.tatapSurvey = { state: null, sent: null });
  let credential = null;  // {link} once known

  async function post(path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const resp = await fetch(path, { method: "POST", signal: controller.signal,
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      return { status: resp.status, body: await resp.json().catch(() => null) };
    } catch (err) {
      return { status: 0, body: null };
    } finally {
      clearTimeout(timer);
    }
  }

  function node(tag, attrs, key) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, value);
    if (key) say(el, key);
    return el;
  }

  function choices(name, values, keyOf) {
    const set = node("fieldset", { class: "sv-q", "data-q": name });
    set.append(node("legend", {}, `sv_${name}`));
    const row = node("div", { class: `sv-choices sv-${values.length}` });
    for (const value of values) {
      const label = node("label", { class: "sv-choice" });
      const input = node("input", { type: "radio", name: `sv-${name}`, value: String(value) });
      label.append(input, node("span", {}, keyOf(value)));
      if (!keyOf(value)) label.lastChild.textContent = String(value);
      row.append(label);
    }
    set.append(row);
    return set;
  }

  function form() {
    const box = node("form", { id: "survey-form", class: "sv", novalidate: "" });
    box.append(node("h2", {}, "sv_title"), node("p", { class: "sv-intro" }, "sv_intro"));
    for (const [name, top] of QUESTIONS) {
      const values = Array.from({ length: top }, (_, i) => i + 1);
      box.append(choices(name, values, (v) => (top === 4 ? `sv_${name}_${v}` : "")));
    }
    box.append(choices("asked_to_pay", ["yes", "no"], (v) => `sv_${v}`));
    const comment = node("label", { class: "sv-comment" });
    comment.append(node("span", {}, "sv_comment"),
      node("textarea", { id: "sv-comment", maxlength: "1000", rows: "3" }));
    const error = node("p", { id: "sv-error", class: "sv-error", role: "alert", hidden: "" });
    const send = node("button", { type: "submit", id: "sv-send" }, "sv_send");
    box.append(comment, error, send);
    box.addEventListener("submit", (event) => { event.preventDefault(); submit(box); });
    return box;
  }

  function chosen(box, name) {
    const input = box.querySelector(`input[name="sv-${name}"]:checked`);
    return input ? input.value : null;
  }

  function answers(box) {
    const out = { language: LANG === "en" ? "en" : "id" };
    const missing = [];
    for (const [name] of QUESTIONS) {
      const value = chosen(box, name);
      if (value === null) missing.push(name); else out[name] = Number(value);
    }
    const pay = chosen(box, "asked_to_pay");
    if (pay === null) missing.push("asked_to_pay"); else out.asked_to_pay = pay === "yes";
    out.comment = box.querySelector("#sv-comment").value.trim();
    for (const set of box.querySelectorAll("fieldset")) {
      set.classList.toggle("sv-missing", missing.includes(set.dataset.q));
    }
    return missing.length ? null : out;
  }

  async function submit(box) {
    const error = box.querySelector("#sv-error");
    const body = answers(box);
    if (!body) { say(error, "sv_missing"); error.hidden = false; return; }
    const send = box.querySelector("#sv-send");
    send.disabled = true;
    say(send, "sv_sending");
    const resp = await post("/api/v1/survey", { ...credential, ...body });
    send.disabled = false;
    say(send, "sv_send");
    const code = resp.body && resp.body.error && resp.body.error.code;
    if (resp.status === 201 || code === "already_answered") { survey.sent = body; return thank(); }
    error.hidden = false;
    if (resp.status === 0) say(error, "sv_err_network");
    else if (resp.status === 429) say(error, "sv_err_rate");
    else if (code === "survey_not_open") say(error, "sv_err_closed");
    else say(error, "sv_err_other");
  }

  function place() {
    let box = document.getElementById("survey");
    if (!box) box = node("div", { id: "survey" });
    // The visit page shows one section at a time: the survey goes in the one shown.
    const shown = [...document.querySelectorAll("main > section")].find((s) => !s.hidden);
    if (document.body.dataset.state && shown && box.parentElement !== shown) {
      shown.append(box);
      shown.classList.add("sv-host");  // taller than a phone's screen: scroll from the top
    }
    return box;
  }

  function thank() {
    survey.state = "answered";
    const box = place();
    box.replaceChildren(node("p", { class: "sv-thanks", role: "status" }, "sv_thanks"));
    box.hidden = false;
  }

  function showForm() {
    survey.state = "open";
    const box = place();
    box.replaceChildren(form());
    box.hidden = false;
  }

  // Ask whether this seat is asked the survey; `asked` is {link} or {code, nik_last4}.
  async function offer(asked) {
    for (let attempt = 0; ; attempt++) {
      const resp = await post("/api/v1/survey/state", asked);
      const state = resp.status === 200 ? resp.body.state : null;
      if (resp.body && resp.body.link) credential = { link: resp.body.link };
      else if (asked.link) credential = { link: asked.link };
      if (state === "open") return showForm();
      if (state === "answered") return thank();
      survey.state = state || "error";
      if (!(state === "not_yet" || resp.status === 0) || attempt >= RETRIES_MS.length) return;
      await new Promise((resolve) => setTimeout(resolve, RETRIES_MS[attempt]));
    }
  }

  // The visit page: the link is in its address; it offers the survey once the visit is over
  // (ended while here, or opened after its end).
  function onVisitPage() {
    const link = decodeURIComponent(location.pathname.split("/v/")[1] || "");
    let asked = false;
    const watch = () => {
      const state = document.body.dataset.state;
      const over = state === "ended" || (state === "error" && window.tatap && window.tatap.errorCode === "visit_over");
      if (over && !asked && link) { asked = true; offer({ link }); }
    };
    new MutationObserver(watch).observe(document.body, { attributes: true, attributeFilter: ["data-state"] });
    watch();
  }

  // /status: each lookup's answer comes as a `tatap:status` event; an ended visit offers it.
  function onStatusPage() {
    document.addEventListener("tatap:status", (event) => {
      const box = document.getElementById("survey");
      if (box) box.hidden = true;
      survey.state = null;
      const { answer, asked } = event.detail;
      if (answer && answer.status === "ended") offer(asked);
    });
  }

  if (location.pathname.startsWith("/v/")) onVisitPage();
  else onStatusPage();
})();
