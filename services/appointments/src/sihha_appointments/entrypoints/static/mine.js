/* "My bookings": cancel, reschedule, and the waitlist (join, accept, decline, leave). */
(function () {
  "use strict";
  var t = Appt.t;
  function token() { return Appt.citizenToken(); }

  function button(label, kind, action) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = kind;
    element.textContent = label;
    element.addEventListener("click", action);
    return element;
  }

  function loadBookings() {
    Appt.api("GET", "/bookings/mine", undefined, token()).then(function (bookings) {
      var list = document.getElementById("bookings");
      list.textContent = "";
      bookings.forEach(function (booking) {
        var row = document.createElement("li");
        row.setAttribute("data-booking", booking.booking_id);
        var text = document.createElement("span");
        text.textContent = Appt.dateTime(booking.starts_at) + " · " + Appt.place(booking) + " · " +
          Appt.status(booking.status) + (booking.booking_code ? " · " + booking.booking_code : "");
        row.appendChild(text);
        if (booking.status === "booked") {
          row.appendChild(button(t("mine.cancel"), "danger", function () {
            Appt.api("POST", "/bookings/" + booking.booking_id + "/cancel", {}, token()).then(loadBookings, function () {});
          }));
          row.appendChild(button(t("mine.reschedule"), "secondary", function () { offerSlots(booking); }));
        }
        list.appendChild(row);
      });
      document.getElementById("no-bookings").hidden = bookings.length > 0;
    }, function () {});
  }

  function offerSlots(booking) {
    var params = new URLSearchParams({ specialty: booking.specialty_code, facility_id: booking.facility_id, limit: "5" });
    Appt.api("GET", "/slots?" + params.toString(), undefined, token()).then(function (page) {
      var list = document.getElementById("reschedule-slots");
      list.textContent = "";
      page.items.forEach(function (item) {
        var row = document.createElement("li");
        row.appendChild(button(Appt.dateTime(item.starts_at), "secondary", function () {
          Appt.api("POST", "/bookings/" + booking.booking_id + "/reschedule", { slot_id: item.slot_id }, token())
            .then(function () { document.getElementById("reschedule").hidden = true; loadBookings(); }, function () {});
        }));
        list.appendChild(row);
      });
      document.getElementById("reschedule").hidden = false;
    }, function () {});
  }

  function loadEntries() {
    Appt.api("GET", "/waitlist/mine", undefined, token()).then(function (entries) {
      var list = document.getElementById("entries");
      list.textContent = "";
      entries.forEach(function (entry) {
        var row = document.createElement("li");
        row.setAttribute("data-entry", entry.entry_id);
        var text = document.createElement("span");
        text.textContent = entry.specialty_code + " · " + entry.facility_id + " · " + Appt.status(entry.status) +
          (entry.offer_expires_at ? " · " + t("mine.offer_until", { time: Appt.time(entry.offer_expires_at) }) : "");
        row.appendChild(text);
        var path = "/waitlist/" + entry.entry_id;
        if (entry.status === "offered") {
          row.appendChild(button(t("mine.accept"), "primary", function () {
            Appt.api("POST", path + "/accept", undefined, token()).then(refresh, function () {});
          }));
          row.appendChild(button(t("mine.decline"), "secondary", function () {
            Appt.api("POST", path + "/decline", undefined, token()).then(refresh, function () {});
          }));
        }
        if (entry.status === "waiting" || entry.status === "offered") {
          row.appendChild(button(t("mine.leave"), "danger", function () {
            Appt.api("DELETE", path, undefined, token()).then(refresh, function () {});
          }));
        }
        list.appendChild(row);
      });
    }, function () {});
  }

  function refresh() { loadBookings(); loadEntries(); }

  function start() {
    document.getElementById("join-form").addEventListener("submit", function (event) {
      event.preventDefault();
      Appt.api("POST", "/waitlist", {
        specialty_code: document.getElementById("w-specialty").value.trim().toUpperCase(),
        facility_id: document.getElementById("w-facility").value.trim().toUpperCase(),
        first_day: document.getElementById("w-first").value,
        last_day: document.getElementById("w-last").value,
        language: Appt.lang
      }, token()).then(loadEntries, function () {});
    });
    Appt.onLanguage(refresh);
    Appt.signIn(function () {
      document.getElementById("bookings-card").hidden = false;
      document.getElementById("waitlist-card").hidden = false;
      refresh();
    });
  }

  Appt.ready(start);
})();
