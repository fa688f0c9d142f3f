// One visit's timeline for an auditor: its facts, every event with actor, time and details, and
// the intervals its media was up drawn as a bar, so that gaps show, coloured by the cause of the
// time lost, with minutes lost per cause. PII comes masked from the API.
"use strict";

const Timeline = {
  async open(visitId, tz) {
    const resp = await Staff.api("GET", `/api/v1/audit/visits/${encodeURIComponent(visitId)}`);
    $("search").hidden = $("verify").hidden = true;
    $("timeline").hidden = false;
    $("timeline-error").hidden = true;
    if (resp.status !== 200) {
      if (Staff.session) Staff.sayFailure($("timeline-error"), resp);
      return;
    }
    Timeline.render(resp.body, tz);
  },

  render(body, tz) {
    const visit = body.visit;
    $("timeline").dataset.visit = visit.id;
    const facts = $("visit-facts");
    facts.replaceChildren();
    const fact = (key, value) => facts.append(said("dt", "", key), value);
    fact("v_code", el("dd", "", visit.code));
    fact("v_kind", said("dd", "", `kind_${visit.kind}`));
    if (visit.inmate) fact("v_inmate", el("dd", "", `${visit.inmate.number} · ${visit.inmate.name}`));
    fact("v_status", el("dd", "", visit.status));
    fact("v_when", el("dd", "", `${when(visit.start_ms, tz)} – ${localTime(visit.end_ms, tz)}`));
    if (visit.end_reason) fact("v_end_reason", said("dd", "", `end_${visit.end_reason}`));
    const people = visit.participants.map((p) => `${p.name} (${p.role})`).join(", ");
    fact("v_people", el("dd", "", people));
    Timeline.bar(body, tz);
    $("timeline-events").replaceChildren(...body.timeline.map((e) => {
      const item = el("li");
      item.dataset.seq = e.seq;
      item.append(el("time", "", when(e.ts_ms, tz)), el("strong", "", e.action),
        el("span", "muted", `${e.actor.role}:${e.actor.id}`),
        el("code", "details", JSON.stringify(e.details)));
      return item;
    }));
  },

  // The media-up intervals on a line over the visit's scheduled time (stretched to media up
  // before or after it), so that a gap reads against the visit's length, not the booking's.
  bar(body, tz) {
    const from = Math.min(body.visit.start_ms, ...body.media.map((m) => m.start_ms));
    const to = Math.max(body.visit.end_ms, ...body.media.map((m) => m.end_ms), from + 1);
    const bar = $("media-bar");
    const piece = (cls, m, title) => {
      const div = el("div", cls);
      div.style.left = `${((m.start_ms - from) / (to - from)) * 100}%`;
      div.style.width = `${Math.max(0.3, ((m.end_ms - m.start_ms) / (to - from)) * 100)}%`;
      div.title = `${localTime(m.start_ms, tz)} – ${localTime(m.end_ms, tz)}${title}`;
      return div;
    };
    // Gaps are drawn over the media-up pieces: a node down hides media nobody could vouch for.
    bar.replaceChildren(...body.media.map((m) => piece("up", m, "")),
      ...body.loss.gaps.map((g) => piece(`gap ${g.cause}`, g, ` · ${t(`cause_${g.cause}`)}`)));
    Timeline.lost(body.loss);
    const upMin = body.media.reduce((sum, m) => sum + (m.end_ms - m.start_ms), 0) / 60000;
    const summary = body.media.length
      ? ["media_summary", { up: upMin.toFixed(1), gaps: Math.max(0, body.media.length - 1) }]
      : ["media_none", {}];
    bar.setAttribute("aria-label", t(...summary));
    $("media-from").textContent = localTime(from, tz);
    $("media-to").textContent = `${localTime(to, tz)} · ${t(...summary)}`;
  },

  // Minutes lost by cause, each with its colour's key (services/reports/lost.py says how).
  lost(loss) {
    $("lost-totals").replaceChildren(...["system", "family", "officer"].map((cause) => {
      const item = said("li", cause, `lost_${cause}`, { min: (loss.lost_ms[cause] / 60000).toFixed(1) });
      item.dataset.cause = cause;
      return item;
    }));
  },
};
window.Timeline = Timeline;
