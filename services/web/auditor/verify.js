// Verify for an auditor: the whole chain checked on the server (OK with events and checkpoints
// counted, or the first bad row), and the external witness's last head and its age.
"use strict";

const Verify = {
  async run() {
    const button = $("verify-run");
    button.disabled = true;
    const resp = await Staff.api("GET", "/api/v1/audit/verify");
    button.disabled = false;
    $("verify-error").hidden = true;
    if (resp.status !== 200) {
      if (Staff.session) Staff.sayFailure($("verify-error"), resp);
      return;
    }
    Verify.render(resp.body);
  },

  render(body) {
    const result = $("verify-result");
    result.hidden = false;
    result.className = `verdict ${body.ok ? "ok" : "bad"}`;
    const line = el("p", "headline");
    if (body.ok) say(line, "verify_ok", { events: body.events, checkpoints: body.checkpoints });
    else if (body.first_bad_seq !== null) say(line, "verify_bad", { seq: body.first_bad_seq });
    else say(line, "verify_bad_noseq", { problem: body.problem });
    const parts = [line];
    if (!body.ok && body.problem) parts.push(said("p", "problem", "verify_problem", { problem: body.problem }));
    result.replaceChildren(...parts);
    result.dataset.ok = String(body.ok);
    result.dataset.firstBad = body.first_bad_seq === null ? "" : String(body.first_bad_seq);
    Verify.witness(body.witness || { configured: false });
  },

  witness(w) {
    const out = $("witness");
    if (!w.configured) return say(out, "witness_none");
    if (w.error) return say(out, "witness_error");
    if (w.seq === null) return say(out, "witness_empty");
    const hash = w.hash.slice(0, 12);
    if (w.age_s === null) return say(out, "witness_head_noage", { seq: w.seq, hash, heads: w.heads });
    return say(out, "witness_head", { seq: w.seq, hash, heads: w.heads, age: Verify.age(w.age_s) });
  },

  age(seconds) {
    if (seconds < 120) return t("age_s", { n: seconds });
    if (seconds < 7200) return t("age_min", { n: Math.round(seconds / 60) });
    if (seconds < 172800) return t("age_h", { n: Math.round(seconds / 3600) });
    return t("age_d", { n: Math.round(seconds / 86400) });
  },
};
window.Verify = Verify;
