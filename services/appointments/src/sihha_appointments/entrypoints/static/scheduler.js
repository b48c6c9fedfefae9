/* The scheduler's day view: slots and bookings with arrivals and no-shows (refreshed
 * every 5 seconds), the no-show rates, and a practitioner's absence in one action.
 * Enrolled once with #token=…&facility=31-PC-001. */
(function () {
  "use strict";
  var t = Appt.t;
  var KEY = "sihha.scheduler";
  var enrolment = null;

  function enrol() {
    var local = null;
    try { local = window.localStorage; } catch (e) { local = null; }
    var fragment = new URLSearchParams(window.location.hash.slice(1));
    if (fragment.get("token") && fragment.get("facility")) {
      enrolment = { token: fragment.get("token"), facility: fragment.get("facility") };
      if (local) local.setItem(KEY, JSON.stringify(enrolment));
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    } else if (local && local.getItem(KEY)) {
      enrolment = JSON.parse(local.getItem(KEY));
    }
    return enrolment !== null;
  }

  function base() { return "/establishments/" + enrolment.facility; }

  function load() {
    var day = document.getElementById("day").value;
    Appt.api("GET", base() + "/days/" + day, undefined, enrolment.token).then(function (view) {
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
    Appt.api("GET", base() + "/no-show-rates?from=" + day + "&to=" + day, undefined, enrolment.token)
      .then(function (rates) {
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

  function start() {
    if (!enrol()) { document.getElementById("not-enrolled").hidden = false; return; }
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
      Appt.api("POST", base() + "/practitioners/" + encodeURIComponent(ref) + "/absences", {
        day: document.getElementById("day").value,
        bookings: document.getElementById("resolution").value
      }, enrolment.token).then(function (result) {
        document.getElementById("absent-result").textContent = t("sched.absent_done", {
          moved: result.moved.length, cancelled: result.cancelled.length
        });
        load();
      }, function () {});
    });
    Appt.onLanguage(load);
    load();
    window.setInterval(load, 5000);
  }

  Appt.ready(start);
})();
