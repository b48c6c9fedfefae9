/* The ticket kiosk: service → priority (or booking code) → ticket printed. */
(function () {
  "use strict";
  var Sihha = window.Sihha;
  if (!Sihha || Sihha.redirecting) return;

  var RETRIES = 3;            // network failures retried with the same Idempotency-Key
  var BACK_TO_START_MS = 45000;
  var REFRESH_SERVICES_MS = 5 * 60 * 1000;

  var terminal = null;
  var establishment = null;
  var services = [];
  var chosen = null;          // the chosen service
  var attempt = null;         // {signature, key}: one issuing intent, whatever the retries
  var busy = false;
  var ticket = null;          // the last ticket issued
  var backTimer = null;

  function $(id) { return document.getElementById(id); }

  function show(step) {
    ["step-service", "step-priority", "step-booking", "step-issuing", "step-ticket"].forEach(
      function (id) { $(id).hidden = id !== step; }
    );
    var heading = document.querySelector("#" + step + " h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  function facilityPath() {
    return "/establishments/" + encodeURIComponent(terminal.facility);
  }

  // -- services ---------------------------------------------------------------------

  function renderServices() {
    var box = $("services");
    box.textContent = "";
    box.setAttribute("aria-busy", "false");
    services.forEach(function (service) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "big choice service";
      button.setAttribute("data-service", service.service_code);
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = Sihha.pick(service, "name");
      var other = document.createElement("span");
      var otherLang = Sihha.lang === "ar" ? "fr" : "ar";
      other.className = "other";
      other.lang = otherLang;
      other.dir = otherLang === "ar" ? "rtl" : "ltr";
      other.textContent = service["name_" + otherLang] || "";
      button.appendChild(name);
      button.appendChild(other);
      button.addEventListener("click", function () { chooseService(service); });
      box.appendChild(button);
    });
    $("no-services").hidden = services.length > 0;
  }

  function loadEstablishment() {
    return Sihha.api("GET", facilityPath(), { token: terminal.token }).then(
      function (data) {
        establishment = data;
        services = (data.services || []).filter(function (s) { return s.active; });
        Sihha.setClinicName(data);
        Sihha.hideError();
        renderServices();
      },
      function (error) {
        Sihha.showError(error);
        window.setTimeout(loadEstablishment, 15000);
      }
    );
  }

  function chooseService(service) {
    chosen = service;
    $("chosen-service").textContent = Sihha.pick(service, "name");
    show("step-priority");
  }

  // -- issuing: one Idempotency-Key per intent, reused by every retry of it -----------

  function keyFor(path, body) {
    var signature = path + " " + JSON.stringify(body);
    if (!attempt || attempt.signature !== signature) {
      attempt = { signature: signature, key: Sihha.uuid() };
    }
    return attempt.key;
  }

  function send(path, body, key, left) {
    return Sihha.api("POST", path, {
      token: terminal.token, body: body, idempotencyKey: key, timeoutMs: 10000
    }).catch(function (error) {
      var retryable = error.network || error.status === 502 || error.status === 503 ||
        error.status === 504;
      if (retryable && left > 0) {
        return new Promise(function (resolve) {
          window.setTimeout(resolve, (RETRIES - left + 1) * 1000);
        }).then(function () { return send(path, body, key, left - 1); });
      }
      throw error;
    });
  }

  function issue(path, body, returnTo) {
    if (busy) return; // a double tap is the same attempt, already on its way
    busy = true;
    Sihha.hideError();
    var key = keyFor(path, body);
    show("step-issuing");
    send(path, body, key, RETRIES).then(
      function (issued) {
        busy = false;
        attempt = null;
        showTicket(issued);
      },
      function (error) {
        busy = false; // the same choice again reuses the key: still at most one ticket
        Sihha.showError(error);
        show(returnTo);
      }
    );
  }

  function choosePriority(priority) {
    if (priority === "appointment") {
      showBooking();
      return;
    }
    issue(facilityPath() + "/tickets",
      { service_code: chosen.service_code, priority: priority, channel: "kiosk" },
      "step-priority");
  }

  function showBooking() {
    $("booking-code").value = "";
    show("step-booking");
    $("booking-code").focus();
  }

  // -- the ticket -----------------------------------------------------------------------

  function line(className, text, lang) {
    var p = document.createElement("p");
    p.className = className;
    if (lang) {
      p.lang = lang;
      p.dir = lang === "ar" ? "rtl" : "ltr";
    }
    p.textContent = text;
    return p;
  }

  function serviceOf(code) {
    var list = (establishment && establishment.services) || [];
    for (var i = 0; i < list.length; i++) if (list[i].service_code === code) return list[i];
    return { name_fr: code, name_ar: code };
  }

  function renderTicket() {
    if (!ticket) return;
    var box = $("ticket-print");
    box.textContent = "";
    var service = serviceOf(ticket.service_code);
    var clinic = establishment || {};
    box.appendChild(line("t-clinic", clinic.name_ar || clinic.name_fr || "", "ar"));
    box.appendChild(line("t-clinic", clinic.name_fr || "", "fr"));
    box.appendChild(line("t-service", service.name_ar || "", "ar"));
    box.appendChild(line("t-service", service.name_fr || "", "fr"));
    var number = document.createElement("p");
    number.className = "t-number";
    var bdi = document.createElement("bdi");
    bdi.dir = "ltr";
    bdi.textContent = ticket.label;
    number.appendChild(bdi);
    box.appendChild(number);
    box.appendChild(line("t-priority",
      Sihha.text("priority_" + ticket.priority, null, "ar") + " · " +
      Sihha.text("priority_" + ticket.priority, null, "fr")));
    if (typeof ticket.ahead === "number") {  // the people ahead when the ticket was printed
      box.appendChild(line("t-ahead", Sihha.t("people_ahead", { n: ticket.ahead }, "ar"), "ar"));
      box.appendChild(line("t-ahead", Sihha.t("people_ahead", { n: ticket.ahead }, "fr"), "fr"));
    }
    var time = line("t-time", Sihha.formatTime(ticket.issued_at, { date: true }));
    time.dir = "ltr";
    box.appendChild(time);
    var qr = document.createElement("img");
    qr.className = "t-qr";
    qr.alt = Sihha.t("scan_to_follow");
    qr.src = "/terminals/qr/" + encodeURIComponent(ticket.ticket_id) + ".svg";
    box.appendChild(qr);
    box.appendChild(line("t-scan", Sihha.t("scan_to_follow", null, "ar"), "ar"));
    box.appendChild(line("t-scan", Sihha.t("scan_to_follow", null, "fr"), "fr"));
    box.appendChild(line("t-wait", Sihha.t("please_wait", null, "ar"), "ar"));
    box.appendChild(line("t-wait", Sihha.t("please_wait", null, "fr"), "fr"));
    return qr;
  }

  function printWhenReady(qr) {
    var printed = false;
    function go() {
      if (printed || $("step-ticket").hidden) return;
      printed = true;
      window.print();
    }
    if (qr.complete) go();
    else {
      qr.addEventListener("load", go);
      qr.addEventListener("error", go);
      window.setTimeout(go, 3000); // never hold the ticket back for its QR code
    }
  }

  function showTicket(issued) {
    ticket = issued;
    // the people ahead, asked once before printing (a second is not worth a lost ticket)
    var asked = Sihha.api("GET", "/tickets/" + encodeURIComponent(issued.ticket_id) + "/status", {})
      .then(function (status) { if (ticket === issued) ticket.ahead = status.ahead; }, function () {});
    var timeout = new Promise(function (resolve) { window.setTimeout(resolve, 1000); });
    Promise.race([asked, timeout]).then(function () { if (ticket === issued) printTicket(); });
  }

  function printTicket() {
    var qr = renderTicket();
    show("step-ticket");
    printWhenReady(qr);
    window.clearTimeout(backTimer);
    backTimer = window.setTimeout(restart, BACK_TO_START_MS);
  }

  function restart() {
    window.clearTimeout(backTimer);
    chosen = null;
    ticket = null;
    $("ticket-print").textContent = "";
    show("step-service");
  }

  function start(enrolled) {
    terminal = enrolled;
    if (!terminal) return;
    Sihha.startHeartbeat(terminal, "kiosk");
    loadEstablishment();
    window.setInterval(function () { if (!busy) loadEstablishment(); }, REFRESH_SERVICES_MS);

    document.querySelectorAll("[data-priority]").forEach(function (button) {
      button.addEventListener("click", function () {
        choosePriority(button.getAttribute("data-priority"));
      });
    });
    document.querySelectorAll(".back").forEach(function (button) {
      button.addEventListener("click", restart);
    });
    $("to-booking").addEventListener("click", showBooking);
    $("booking-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = $("booking-code");
      var code = input.value.replace(/\s+/g, "").toUpperCase();
      input.value = code;
      if (!/^[A-Z0-9]{4,16}$/.test(code)) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      input.removeAttribute("aria-invalid");
      issue(facilityPath() + "/check-in", { booking_code: code }, "step-booking");
    });
    $("print-again").addEventListener("click", function () { window.print(); });
    $("done").addEventListener("click", restart);

    Sihha.onLanguage(function () {
      renderServices();
      if (chosen) $("chosen-service").textContent = Sihha.pick(chosen, "name");
      if (ticket) $("ticket-print").querySelector(".t-qr").alt = Sihha.t("scan_to_follow");
    });
  }

  Sihha.ready(function () {
    Sihha.enrol("kiosk", { roles: ["kiosk"] }).then(start);
  });
})();
