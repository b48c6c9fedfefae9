/* A counter or consultation room: call, recall, serve, route, cancel, and the queue. */
(function () {
  "use strict";
  var Sihha = window.Sihha;
  if (!Sihha || Sihha.redirecting) return;

  var WAITING_REFRESH_MS = 5000;
  var CURRENT_KEY = "sihha.counter.current.";

  var terminal = null;
  var establishment = null;
  var counter = null;         // {counter_id, service_code, label}
  var current = null;         // {ticket, explanation_fr, explanation_ar}
  var waiting = [];
  var busy = false;
  // bumped when an action on the counter's tickets starts and when it ends: a read sent
  // before (the waiting list, the open ticket) may be answered after it, and is stale
  var changes = 0;
  var lastNotice = null;      // {key, values}

  function $(id) { return document.getElementById(id); }
  function facilityPath() { return "/establishments/" + encodeURIComponent(terminal.facility); }
  function counterPath() {
    return facilityPath() + "/counters/" + encodeURIComponent(terminal.counter);
  }
  function ticketPath(ticket) {
    return facilityPath() + "/tickets/" + encodeURIComponent(ticket.ticket_id);
  }

  function serviceName(code) {
    var list = (establishment && establishment.services) || [];
    for (var i = 0; i < list.length; i++) {
      if (list[i].service_code === code) return Sihha.pick(list[i], "name");
    }
    return code;
  }

  // -- the ticket at the counter, kept across a reload ------------------------------

  function saveCurrent() {
    try {
      if (current) window.localStorage.setItem(CURRENT_KEY + terminal.counter, JSON.stringify(current));
      else window.localStorage.removeItem(CURRENT_KEY + terminal.counter);
    } catch (e) { /* storage unavailable: the page still works until a reload */ }
  }

  function loadCurrent() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(CURRENT_KEY + terminal.counter) || "null");
      return stored && stored.ticket && stored.ticket.ticket_id ? stored : null;
    } catch (e) {
      return null;
    }
  }

  function setCurrent(ticket, explanation) {
    if (ticket && (ticket.status === "called" || ticket.status === "in_service")) {
      current = {
        ticket: ticket,
        explanation_fr: explanation ? explanation.explanation_fr : (current && current.ticket.ticket_id === ticket.ticket_id ? current.explanation_fr : null),
        explanation_ar: explanation ? explanation.explanation_ar : (current && current.ticket.ticket_id === ticket.ticket_id ? current.explanation_ar : null)
      };
    } else {
      current = null;
    }
    saveCurrent();
    renderCurrent();
  }

  function renderCurrent() {
    var has = Boolean(current);
    $("current-none").hidden = has;
    $("current-ticket").hidden = !has;
    var status = has ? current.ticket.status : null;
    if (has) {
      $("current-label").textContent = current.ticket.label;
      $("current-status").textContent = Sihha.text("status_" + status);
      $("current-status").className = "pill status-" + status;
      $("current-priority").textContent = Sihha.text("priority_" + current.ticket.priority);
      $("current-priority").className = "pill priority-" + current.ticket.priority;
      var why = current["explanation_" + Sihha.lang] || current.explanation_fr;
      $("current-why").hidden = !why;
      $("current-why-text").textContent = why || "";
    }
    var enable = {
      "btn-call-next": !has,
      "btn-recall": status === "called",
      "btn-start": status === "called",
      "btn-no-show": status === "called",
      "btn-complete": status === "in_service",
      "btn-route": status === "in_service",
      "route-service": status === "in_service",
      "btn-cancel": status === "called",
      "cancel-reason": status === "called"
    };
    Object.keys(enable).forEach(function (id) { $(id).disabled = busy || !enable[id]; });
    // the doctor writes the prescription of the patient being served (prescription.js)
    var prescribe = $("btn-prescribe");
    prescribe.hidden = status !== "in_service";
    if (has) {
      prescribe.href = "/terminals/prescription?ticket=" + encodeURIComponent(current.ticket.ticket_id) +
        "&lang=" + Sihha.lang;
    }
    document.querySelectorAll(".call-this").forEach(function (button) {
      button.disabled = busy || has;
    });
  }

  function notice(key, values) {
    lastNotice = key ? { key: key, values: values || {} } : null;
    var shown = {};
    Object.keys((lastNotice && lastNotice.values) || {}).forEach(function (name) {
      shown[name] = lastNotice.values[name];
    });
    // a service is named in the language of the moment, also after a switch
    if (shown.service_code) shown.service = serviceName(shown.service_code);
    $("notice").textContent = key ? Sihha.t(key, shown) : "";
  }

  // -- calling the API ----------------------------------------------------------------

  function act(path, body) {
    if (busy) return Promise.reject(null);
    busy = true;
    changes += 1;
    renderCurrent();
    Sihha.hideError();
    return Sihha.api("POST", path, { token: terminal.token, body: body }).then(
      function (data) {
        busy = false;
        changes += 1;
        return data;
      },
      function (error) {
        busy = false;
        changes += 1;
        renderCurrent();
        Sihha.showError(error);
        throw null; // handled
      }
    );
  }

  function ignore() { /* the error is in the banner already */ }

  function callNext() {
    act(counterPath() + "/call-next").then(function (data) {
      if (!data.ticket) {
        setCurrent(null);
        notice("queue_empty");
      } else {
        notice(null);
        setCurrent(data.ticket, data);
      }
      refreshWaiting();
    }, function () {
      // refused, e.g. "counter busy": the counter has a ticket open that this page does
      // not know (the answer to an earlier call was lost). Show it; the agent carries on.
      syncCurrent();
    });
  }

  /** The server's word on this counter's open ticket (after a reload, a lost answer). */
  function syncCurrent() {
    if (busy) return Promise.resolve();
    var asked = changes;
    return Sihha.api("GET", counterPath() + "/current", { token: terminal.token }).then(
      function (data) {
        if (busy || asked !== changes) return; // an action since: this answer is stale
        var known = current && data.ticket && current.ticket.ticket_id === data.ticket.ticket_id;
        if (!known) setCurrent(data.ticket || null);
      },
      function (error) { if (!error.network) Sihha.showError(error); }
    );
  }

  function callThis(ticket) {
    act(counterPath() + "/call", { ticket_id: ticket.ticket_id, reason: $("call-reason").value })
      .then(function (called) {
        notice(null);
        var reason = Sihha.text("reason_" + $("call-reason").value, null, "fr");
        setCurrent(called, {
          explanation_fr: reason,
          explanation_ar: Sihha.text("reason_" + $("call-reason").value, null, "ar")
        });
        refreshWaiting();
      }, ignore);
  }

  function onTicket(action, body) {
    if (!current) return;
    var ticket = current.ticket;
    act(ticketPath(ticket) + "/" + action, body).then(function (data) {
      if (action === "route") {
        notice("routed_done", {
          from: data.finished.label, to: data.routed.label, service_code: data.routed.service_code
        });
        setCurrent(null);
      } else {
        if (action === "no-show") {
          notice(data.status === "waiting" ? "no_show_requeued" : "no_show_final", { label: data.label });
        } else if (action === "complete") {
          notice("completed_msg", { label: data.label });
        } else if (action === "cancel") {
          notice("cancelled_msg", { label: data.label });
        } else {
          notice(null);
        }
        setCurrent(data);
      }
      refreshWaiting();
    }, ignore);
  }

  // -- the queue of the counter's service -------------------------------------------------

  function renderWaiting() {
    var body = $("waiting-rows");
    body.textContent = "";
    waiting.forEach(function (ticket) {
      var row = document.createElement("tr");
      var label = document.createElement("td");
      var bdi = document.createElement("bdi");
      bdi.className = "label";
      bdi.textContent = ticket.label;
      label.appendChild(bdi);
      var priority = document.createElement("td");
      priority.textContent = Sihha.text("priority_" + ticket.priority);
      priority.className = "priority-" + ticket.priority;
      var arrived = document.createElement("td");
      arrived.dir = "ltr";
      arrived.textContent = Sihha.formatTime(ticket.arrived_at);
      var action = document.createElement("td");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "call-this secondary";
      button.textContent = Sihha.t("call_this");
      button.setAttribute("aria-label", Sihha.t("call_this") + " " + ticket.label);
      button.addEventListener("click", function () { callThis(ticket); });
      action.appendChild(button);
      row.appendChild(label);
      row.appendChild(priority);
      row.appendChild(arrived);
      row.appendChild(action);
      body.appendChild(row);
    });
    $("waiting-empty").hidden = waiting.length > 0;
    $("waiting-table").hidden = waiting.length === 0;
    $("waiting-count").textContent = Sihha.t("waiting_count", { n: waiting.length });
    renderCurrent();
  }

  function refreshWaiting() {
    if (!counter) return Promise.resolve();
    var asked = changes;
    return Sihha.api("GET", facilityPath() + "/tickets?service_code=" +
      encodeURIComponent(counter.service_code), { token: terminal.token }).then(
      function (list) {
        if (asked !== changes) return; // sent before an action: the next read tells
        waiting = list || [];
        renderWaiting();
      },
      function (error) { if (!error.network) Sihha.showError(error); }
    );
  }

  /** The stored ticket may have moved on elsewhere (cancelled at reception...): check it. */
  function refreshCurrent() {
    if (!current || busy) return Promise.resolve();
    var id = current.ticket.ticket_id;
    var asked = changes;
    return Sihha.api("GET", "/tickets/" + encodeURIComponent(id) + "/status").then(
      function (status) {
        if (!current || current.ticket.ticket_id !== id || busy || asked !== changes) return;
        if (status.status !== current.ticket.status) {
          current.ticket.status = status.status;
          if (status.status !== "called" && status.status !== "in_service") current = null;
          saveCurrent();
          renderCurrent();
        }
      },
      function (error) {
        if (asked !== changes) return;
        if (error.status === 404 && current && current.ticket.ticket_id === id) setCurrent(null);
      }
    );
  }

  function renderHeader() {
    if (!counter) return;
    $("counter-label").textContent = counter.label;
    $("counter-service").textContent = serviceName(counter.service_code);
    var select = $("route-service");
    var chosen = select.value;
    select.textContent = "";
    ((establishment && establishment.services) || []).forEach(function (service) {
      if (!service.active || service.service_code === counter.service_code) return;
      var option = document.createElement("option");
      option.value = service.service_code;
      option.textContent = Sihha.pick(service, "name") + " (" + service.service_code + ")";
      select.appendChild(option);
    });
    if (chosen) select.value = chosen;
  }

  function loadEstablishment() {
    return Sihha.api("GET", facilityPath(), { token: terminal.token }).then(
      function (data) {
        establishment = data;
        Sihha.setClinicName(data);
        counter = null;
        (data.counters || []).forEach(function (c) {
          if (c.counter_id === terminal.counter && c.active) counter = c;
        });
        if (!counter) {
          Sihha.showError({ message: "unknown_counter" });
          return;
        }
        Sihha.hideError();
        renderHeader();
        refreshWaiting();
      },
      function (error) {
        Sihha.showError(error);
        window.setTimeout(loadEstablishment, 15000);
      }
    );
  }

  function start(enrolled) {
    terminal = enrolled;
    if (!terminal) return;
    current = loadCurrent();
    renderCurrent();
    Sihha.startHeartbeat(terminal, "counter");
    loadEstablishment().then(syncCurrent);
    window.setInterval(function () {
      refreshWaiting();
      refreshCurrent();
    }, WAITING_REFRESH_MS);
    refreshCurrent();

    $("btn-call-next").addEventListener("click", callNext);
    $("btn-recall").addEventListener("click", function () { onTicket("recall"); });
    $("btn-start").addEventListener("click", function () { onTicket("start"); });
    $("btn-no-show").addEventListener("click", function () { onTicket("no-show"); });
    $("btn-complete").addEventListener("click", function () { onTicket("complete"); });
    $("btn-route").addEventListener("click", function () {
      if ($("route-service").value) onTicket("route", { to_service_code: $("route-service").value });
    });
    $("btn-cancel").addEventListener("click", function () {
      onTicket("cancel", { reason: $("cancel-reason").value });
    });

    Sihha.onLanguage(function () {
      renderHeader();
      renderCurrent();
      renderWaiting();
      if (lastNotice) notice(lastNotice.key, lastNotice.values);
    });
  }

  Sihha.ready(function () {
    Sihha.enrol("counter", { counter: true }).then(start);
  });
})();
