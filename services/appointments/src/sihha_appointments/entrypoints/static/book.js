/* The citizen's booking page: specialty → place → slot → hold → confirm → code and QR. */
(function () {
  "use strict";
  var t = Appt.t;
  var cursor = null;
  var current = null; // the hold, then the booking

  function token() { return Appt.citizenToken(); }

  function slotLine(item) {
    return Appt.dateTime(item.starts_at) + " · " + Appt.place(item);
  }

  function search(more) {
    var params = new URLSearchParams({ specialty: document.getElementById("specialty").value, limit: "10" });
    var facility = document.getElementById("facility").value;
    if (facility) params.set("facility_id", facility);
    if (more && cursor) params.set("cursor", cursor);
    Appt.api("GET", "/slots?" + params.toString(), undefined, token()).then(function (page) {
      var list = document.getElementById("slots");
      if (!more) list.textContent = "";
      page.items.forEach(function (item) {
        var row = document.createElement("li");
        var label = document.createElement("span");
        label.textContent = slotLine(item);
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        button.textContent = t("book.hold");
        button.setAttribute("data-slot", item.slot_id);
        button.addEventListener("click", function () { hold(item); });
        row.appendChild(label);
        row.appendChild(button);
        list.appendChild(row);
      });
      cursor = page.next_cursor;
      document.getElementById("more").hidden = !cursor;
      document.getElementById("no-slots").hidden = list.children.length > 0;
    }, function () {});
  }

  function hold(item) {
    var body = { slot_id: item.slot_id, language: Appt.lang };
    var referral = document.getElementById("referral").value.trim();
    if (referral) body.referral_code = referral;
    Appt.api("POST", "/holds", body, token()).then(function (held) {
      current = held;
      document.getElementById("held-slot").textContent = slotLine(held);
      document.getElementById("held-until").textContent = t("book.held_until", { time: Appt.time(held.hold_expires_at) });
      document.getElementById("choose").hidden = true;
      document.getElementById("held").hidden = false;
    }, function (problem) {
      if (problem && problem.code === "slot-full") search(false);
    });
  }

  function confirm() {
    Appt.api("POST", "/holds/" + current.booking_id + "/confirm", undefined, token()).then(function (booking) {
      current = booking;
      document.getElementById("held").hidden = true;
      document.getElementById("done").hidden = false;
      document.getElementById("done-slot").textContent = slotLine(booking);
      document.getElementById("booking-code").textContent = booking.booking_code;
      fetch("/bookings/" + booking.booking_id + "/qr.svg", { headers: { Authorization: "Bearer " + token() } })
        .then(function (answer) { return answer.blob(); })
        .then(function (blob) { document.getElementById("booking-qr").src = URL.createObjectURL(blob); });
    }, function () {});
  }

  function release() {
    Appt.api("DELETE", "/holds/" + current.booking_id, undefined, token()).then(function () {
      document.getElementById("held").hidden = true;
      document.getElementById("choose").hidden = false;
      search(false);
    }, function () {});
  }

  function start() {
    Appt.api("GET", "/establishments").then(function (places) {
      var select = document.getElementById("facility");
      places.forEach(function (place) {
        var option = document.createElement("option");
        option.value = place.code;
        option.textContent = Appt.lang === "ar" ? place.name_ar : place.name_fr;
        select.appendChild(option);
      });
    }, function () {});
    document.getElementById("search-form").addEventListener("submit", function (event) {
      event.preventDefault();
      search(false);
    });
    document.getElementById("more").addEventListener("click", function () { search(true); });
    document.getElementById("confirm").addEventListener("click", confirm);
    document.getElementById("release").addEventListener("click", release);
    Appt.onLanguage(function () {
      if (current) {
        document.getElementById("held-slot").textContent = slotLine(current);
        document.getElementById("done-slot").textContent = slotLine(current);
      }
    });
    Appt.signIn(function () { document.getElementById("choose").hidden = false; });
  }

  Appt.ready(start);
})();
