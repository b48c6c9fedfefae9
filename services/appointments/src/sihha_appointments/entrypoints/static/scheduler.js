/* The scheduler's day view: slots and bookings with arrivals and no-shows (refreshed
 * every 5 seconds), the no-show rates, and a practitioner's absence in one action.
 * The clinic's scheduling desk is a terminal enrolled once with the link the IT unit
 * gives, `/scheduler#enrol=<one-time code>`; it then signs itself in with short-lived
 * tokens (`Appt.enrol`). */
(function () {
  "use strict";
  if (Appt.redirecting) return;
  var t = Appt.t;
  var desk = null;
  var refresher = null;

  // the old enrolment (a long-lived token kept here) is never used again
  try { window.localStorage.removeItem("sihha.scheduler"); } catch (e) { /* ignore */ }

  function base() { return "/establishments/" + encodeURIComponent(desk.facility); }

  function call(method, path, body) {
    return Appt.api(method, path, body, desk.token).catch(function (problem) {
      // a refused token: renew now (a revoked desk learns it at once and stops)
      if (problem && problem.status === 401 && desk.token) desk.renew();
      throw problem;
    });
  }

  function notEnrolled() {
    if (refresher !== null) window.clearInterval(refresher);
    refresher = null;
    document.getElementById("day-card").hidden = true;
    document.getElementById("not-enrolled").hidden = false;
  }

  function load() {
    if (!desk || !desk.token) return;
    var day = document.getElementById("day").value;
    call("GET", base() + "/days/" + day).then(function (view) {
      var body = document.getElementById("day-rows");
      body.textContent = "";
      var practitioners = {};
      view.slots.forEach(function (slot) {
        practitioners[slot.practitioner_ref] = true;
        var bookings = slot.bookings.length ? slot.bookings : [null];
        bookings.forEach(function (booking) {
          var row = document.createElement("tr");
          if (booking) row.setAttribute("data-booking", booking.booking_id);
          row.setAttribute("data-status", booking ? booking.status : "free");
          [Appt.time(slot.starts_at), slot.specialty_code, slot.practitioner_ref,
           booking && booking.booking_code ? booking.booking_code : "",
           booking ? Appt.status(booking.status) : (slot.open ? t("sched.free") : t("sched.closed"))]
            .forEach(function (value) {
              var cell = document.createElement("td");
              cell.textContent = value;
              row.appendChild(cell);
            });
          body.appendChild(row);
        });
      });
      var totals = view.totals;
      document.getElementById("totals").textContent = t("sched.totals", {
        slots: totals.slots, places: totals.places, booked: totals.booked,
        arrived: totals.arrived, no_show: totals.no_show
      });
      var select = document.getElementById("practitioner");
      var chosen = select.value;
      select.textContent = "";
      Object.keys(practitioners).sort().forEach(function (ref) {
        var option = document.createElement("option");
        option.value = ref;
        option.textContent = ref;
        select.appendChild(option);
      });
      if (chosen) select.value = chosen;
    }, function () {});
    call("GET", base() + "/no-show-rates?from=" + day + "&to=" + day).then(function (rates) {
      var list = document.getElementById("rates");
      list.textContent = "";
      rates.forEach(function (rate) {
        var row = document.createElement("li");
        row.textContent = t("sched.rate_line", {
          specialty: rate.specialty_code, arrived: rate.arrived, no_shows: rate.no_shows,
          rate: rate.no_show_rate === null ? "–" : Math.round(rate.no_show_rate * 100) + " %"
        });
        list.appendChild(row);
      });
    }, function () {});
  }

  function start(terminal) {
    if (!terminal) { notEnrolled(); return; }
    desk = terminal;
    document.getElementById("terminal-id").textContent =
      desk.facility + " · " + desk.terminal.slice(0, 8);
    document.getElementById("day-card").hidden = false;
    var params = new URLSearchParams(window.location.search);
    document.getElementById("day").value = params.get("day") || Appt.today();
    document.getElementById("day-form").addEventListener("submit", function (event) {
      event.preventDefault();
      load();
    });
    document.getElementById("absent-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var ref = document.getElementById("practitioner").value;
      call("POST", base() + "/practitioners/" + encodeURIComponent(ref) + "/absences", {
        day: document.getElementById("day").value,
        bookings: document.getElementById("resolution").value
      }).then(function (result) {
        document.getElementById("absent-result").textContent = t("sched.absent_done", {
          moved: result.moved.length, cancelled: result.cancelled.length
        });
        load();
      }, function () {});
    });
    Appt.onLanguage(load);
    load();
    refresher = window.setInterval(load, 5000);
  }

  Appt.ready(function () {
    Appt.enrol("scheduler", notEnrolled).then(start);
  });
})();
