/* The IT units' monitor: queue depths, dead letters, conflicts and the last event per
 * establishment (GET /monitor/status every 5 s), and the live events (GET /monitor/stream).
 * Texts come from the service's catalogue (GET /i18n/{lang}.json) in the page's language. */
"use strict";
(function () {
  const lang = document.documentElement.lang === "ar" ? "ar" : "fr";
  const $ = (id) => document.getElementById(id);
  let texts = {};
  let source = null;
  let timer = null;

  /** The text of `key`, its `{name}` fields filled from `values`. */
  function t(key, values) {
    const text = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole);
  }

  /** An instant the API gives in Algiers time ("2026-12-01T10:00:00+01:00") as people
   * read it, "01/12/2026 10:00"; anything else as it is. */
  function when(iso) {
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
    return m ? `${m[3]}/${m[2]}/${m[1]} ${m[4]}:${m[5]}` : iso;
  }

  /** A table cell; its value isolated (<bdi>), so that a date, a code or a number keeps
   * its own direction in an Arabic row. */
  function cell(text, cls) {
    const td = document.createElement("td");
    const value = document.createElement("bdi");
    value.textContent = text ?? "—";
    td.append(value);
    if (cls) td.className = cls;
    return td;
  }

  function bearer() {
    return { authorization: "Bearer " + $("token").value.trim() };
  }

  async function refresh() {
    const response = await fetch("/monitor/status", { headers: bearer() });
    if (!response.ok) { $("state").textContent = t("monitor.error", { status: response.status }); return; }
    const s = await response.json();
    $("asof").textContent = when(s.data_as_of) || "—";
    $("pending").textContent = s.deliveries_pending;
    $("stale").textContent = s.stale_projections.length ? s.stale_projections.join(", ") : "—";
    const consumers = $("consumers");
    consumers.replaceChildren();
    for (const c of s.consumers) {
      const tr = document.createElement("tr");
      tr.append(cell(c.consumer), cell(c.queue_depth), cell(c.dead_letters, c.dead_letters ? "bad" : "ok"),
        cell(c.lag_seconds), cell(when(c.last_occurred_at)));
      consumers.append(tr);
    }
    $("conflicts-total").textContent = s.conflicts_total;
    const conflicts = $("conflicts");
    conflicts.replaceChildren();
    for (const c of s.conflicts) {
      const tr = document.createElement("tr");
      tr.append(cell(when(c.received_at)), cell(c.event_type), cell(c.facility_id),
        cell(c.producer + " " + c.aggregate_id + " · " + c.sequence), cell(c.event_id, "bad"),
        cell(c.kept_event_id));
      conflicts.append(tr);
    }
    const facilities = $("facilities");
    facilities.replaceChildren();
    for (const f of s.establishments) {
      const tr = document.createElement("tr");
      const minutes = f.seconds_since == null ? null : Math.round(f.seconds_since / 60);
      tr.append(cell(f.facility_id), cell((lang === "ar" ? f.name_ar : f.name_fr) || f.facility_id),
        cell(when(f.last_event_at)), cell(f.last_event_type), cell(minutes, minutes > 120 ? "bad" : ""));
      facilities.append(tr);
    }
  }

  function show(e) {
    const line = document.createElement("div");
    line.textContent = e.missed ? t("monitor.missed", { count: e.missed })
      : `${e.occurred_at}  ${e.facility_id}  ${e.event_type} v${e.schema_version}` +
        (e.known ? "" : "  (" + t("monitor.unknown_type") + ")");
    const box = $("events");
    box.prepend(line);
    while (box.childNodes.length > 500) box.lastChild.remove();
  }

  /** Follow the live events with the browser's EventSource. It cannot send the token as a
   * header, and a token in a URL is logged: the token is first handed to
   * POST /auth/stream-session, which keeps it in an HttpOnly cookie the stream accepts. */
  async function follow() {
    if (source) source.close();
    const session = await fetch("/auth/stream-session", { method: "POST", headers: bearer() });
    if (!session.ok) { $("state").textContent = t("monitor.error", { status: session.status }); return; }
    const params = new URLSearchParams();
    if ($("facility").value.trim()) params.set("facility_id", $("facility").value.trim());
    if ($("type").value.trim()) params.append("event_type", $("type").value.trim());
    source = new EventSource("/monitor/stream?" + params);
    source.addEventListener("open", () => { $("state").textContent = t("monitor.connected"); });
    source.addEventListener("event", (message) => show(JSON.parse(message.data)));
    source.addEventListener("missed", (message) => show(JSON.parse(message.data)));
    source.addEventListener("error", () => {
      // the browser reconnects by itself unless the stream was refused (then it is closed)
      $("state").textContent = source.readyState === EventSource.CLOSED
        ? t("monitor.stream_refused") : t("monitor.reconnecting");
    });
  }

  fetch("/i18n/" + lang + ".json").then((answer) => answer.json()).then((loaded) => { texts = loaded; });
  $("follow").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
    follow().catch((error) => { $("state").textContent = String(error); });
    if (timer) clearInterval(timer);
    timer = setInterval(refresh, 5000);
  });
})();
