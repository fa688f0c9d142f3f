// What the staff consoles share: the session (log in, who is logged in, log out), the API call
// with the session's CSRF token, the language toggle and the confirmation dialog. Reads TEXTS, t,
// say, LANG and setLanguage (i18n.js); the facts the server shares sit in the #facts data block.
// el and said (below) make elements for every console page.
// A console calls Staff.start(onSession, onLogout) last; its other pages follow the session by
// the document's "tatap:session" (detail: the session) and "tatap:logout" events. Each
// <section data-nav="text key"> of #console is a page of the nav, the first shown unless the
// address's #hash names another.
"use strict";

const $ = (id) => document.getElementById(id);
const FACTS = JSON.parse(($("facts") || { textContent: "{}" }).textContent);
const API_TIMEOUT_MS = 20000;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// An element whose text is a key: it follows language switches.
function said(tag, className, key, vars) {
  const node = el(tag, className);
  say(node, key, vars);
  return node;
}

const Staff = {
  session: null,
  active: false,  // the officer clicked or typed since the last background call
  onSession: () => {},
  onLogout: () => {},

  // fetch as JSON: {status, body, retryAfterS}; status 0 when the network failed. A background
  // call (a poll) does not count as use, unless the officer did something since the last one.
  async api(method, path, body, background) {
    const headers = {};
    const raw = body instanceof Blob;  // a file upload goes as it is
    if (body) headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
    if (method !== "GET" && Staff.session) headers[FACTS.csrf_header] = Staff.session.csrf;
    if (background && !Staff.active) headers[FACTS.background_header] = "1";
    Staff.active = false;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), API_TIMEOUT_MS);
    try {
      const resp = await fetch(path, { method, headers, credentials: "same-origin",
        signal: controller.signal, body: raw ? body : body ? JSON.stringify(body) : undefined });
      let answer = null;
      try { answer = await resp.json(); } catch (err) { answer = null; }
      const out = { status: resp.status, body: answer,
        retryAfterS: Number(resp.headers.get("Retry-After")) || 0 };
      const code = answer && answer.error && answer.error.code;
      if (resp.status === 401 && Staff.session) Staff.ended("session_ended");
      if (code === "access_revoked" && Staff.session) Staff.ended("err_disabled");
      return out;
    } catch (err) {
      return { status: 0, body: null, retryAfterS: 0 };
    } finally {
      clearTimeout(timer);
    }
  },

  // Why ``resp`` failed, as a text key and its values.
  failure(resp) {
    const error = (resp.body && resp.body.error) || {};
    if (resp.status === 0) return ["err_network", {}];
    if (resp.status === 429) return ["err_rate", { min: Math.max(1, Math.ceil(resp.retryAfterS / 60)) }];
    if (error.code === "access_revoked") return ["err_disabled", {}];
    if (resp.status === 403) return ["err_forbidden", {}];
    if (TEXTS.id[`e_${error.code}`]) return [`e_${error.code}`, {}];
    if (resp.status >= 500) return ["err_server", {}];
    return ["err_server", {}];
  },

  sayFailure(el, resp) {
    const [key, vars] = Staff.failure(resp);
    say(el, key, vars);
    el.hidden = false;
  },

  // Shows the login form, with ``note`` (a text key) above it; the console is hidden and stops.
  ended(note) {
    const had = Staff.session !== null;
    Staff.session = null;
    $("console").hidden = true;
    $("nav").hidden = $("who").hidden = $("logout").hidden = true;
    $("login").hidden = false;
    say($("login-note"), note || "");
    $("login-note").hidden = !note;
    if ($("confirm").open) $("confirm").close();
    if (had) {
      Staff.onLogout();
      document.dispatchEvent(new Event("tatap:logout"));
    }
    $("username").focus();
  },

  enter(session) {
    const here = location.pathname;
    if (here !== session.console && !here.startsWith(`${session.console}/`)) {
      location.replace(session.console);  // an auditor is sent to its own console
      return;
    }
    Staff.session = session;
    const facility = session.facility ? session.facility.name : t("all_facilities");
    $("who").textContent = `${session.username} · ${facility}`;
    $("login").hidden = true;
    $("console").hidden = false;
    $("nav").hidden = $("who").hidden = $("logout").hidden = false;
    $("login-error").hidden = true;
    for (const link of $("nav").querySelectorAll("a[data-roles]")) {
      link.hidden = !link.dataset.roles.split(" ").includes(session.role);
    }
    Staff.onSession(session);
    document.dispatchEvent(new CustomEvent("tatap:session", { detail: session }));
  },

  // The nav: a link per page, one section shown at a time. A console of several pages names them
  // all in Staff.navPages ([href, text key, roles?]: a page for some roles only is shown to
  // those); otherwise the links are this page's sections (section[data-nav]). A section is
  // chosen by the URL's hash, the first by default.
  buildNav() {
    const sections = [...document.querySelectorAll("#console > section[data-nav]")];
    const pages = Staff.navPages || sections.map((s) => [`#${s.id}`, s.dataset.nav]);
    const links = pages.map(([href, key, roles]) => {
      const link = document.createElement("a");
      link.href = href;
      say(link, key);
      if (roles) {
        link.dataset.roles = roles.join(" ");
        link.hidden = true;  // until the session says whose it is
      }
      return link;
    });
    $("nav").replaceChildren(...links);
    const show = () => {
      const wanted = location.hash.slice(1);
      const current = sections.find((s) => s.id === wanted) || sections[0];
      for (const section of sections) section.hidden = section !== current;
      for (const link of links) {
        const here = link.pathname === location.pathname &&
          (!current || !link.hash || link.hash === `#${current.id}`);
        if (here) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    };
    window.addEventListener("hashchange", show);
    show();
  },

  async login(event) {
    event.preventDefault();
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    $("login-error").hidden = true;
    const resp = await Staff.api("POST", "/officer/login",
      { username: $("username").value, password: $("password").value });
    button.disabled = false;
    $("password").value = "";
    if (resp.status === 200) {
      $("login-note").hidden = true;
      Staff.enter(resp.body);
    } else if (resp.status === 401) {
      say($("login-error"), "err_login");
      $("login-error").hidden = false;
    } else {
      Staff.sayFailure($("login-error"), resp);
    }
  },

  async logout() {
    await Staff.api("POST", "/officer/logout");
    Staff.ended("logged_out");
  },

  // Asks before a change: resolves to true when the officer says yes. ``extra`` (an element)
  // holds the change's own fields; ``check`` may refuse the yes with a text key.
  confirm(key, vars, extra, check) {
    const dialog = $("confirm");
    say($("confirm-text"), key, vars);
    $("confirm-extra").replaceChildren(...(extra ? [extra] : []));
    $("confirm-error").hidden = true;
    return new Promise((resolve) => {
      const done = (answer) => {
        $("confirm-yes").onclick = $("confirm-no").onclick = dialog.oncancel = null;
        dialog.close();
        resolve(answer);
      };
      $("confirm-yes").onclick = () => {
        const problem = check ? check() : "";
        if (problem) {
          say($("confirm-error"), problem);
          $("confirm-error").hidden = false;
          return;
        }
        done(true);
      };
      $("confirm-no").onclick = () => done(false);
      dialog.oncancel = () => done(false);
      dialog.showModal();
      const first = dialog.querySelector("#confirm-extra input, #confirm-extra select");
      (first || $("confirm-no")).focus();
    });
  },

  // Staff of every facility (an admin without one) pick the facility to work, of every facility
  // (taking online requests or not): ``select`` filled and its ``label`` shown,
  // ``choose(id, timezone)`` called now and at each change. The failed answer, or null.
  async pickFacility(select, label, choose) {
    const resp = await Staff.api("GET", "/officer/facilities");
    if (resp.status !== 200) return resp;
    select.replaceChildren(...resp.body.facilities.map((f) => {
      const option = el("option", "", f.name);
      option.value = f.id;
      option.dataset.tz = f.timezone;
      return option;
    }));
    const chosen = () => {
      const option = select.selectedOptions[0];
      if (option) choose(option.value, option.dataset.tz);
    };
    select.onchange = chosen;
    label.hidden = false;
    chosen();
    return null;
  },

  async start(onSession, onLogout) {
    Staff.onSession = onSession;
    Staff.onLogout = onLogout;
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => {
        setLanguage(button.dataset.lang);
        document.dispatchEvent(new Event("tatap:lang"));
      });
    }
    for (const kind of ["pointerdown", "keydown"]) {
      document.addEventListener(kind, () => { Staff.active = true; }, true);
    }
    Staff.buildNav();
    $("login-form").addEventListener("submit", Staff.login);
    $("logout").addEventListener("click", Staff.logout);
    setLanguage(LANG);
    const resp = await Staff.api("GET", "/officer/session");
    if (resp.status === 200) Staff.enter(resp.body);
    else Staff.ended("");
  },
};
window.Staff = Staff;
