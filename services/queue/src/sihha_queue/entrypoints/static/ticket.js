/* A ticket's status on the patient's phone (what the ticket's QR code opens). Public. */
(function () {
  "use strict";
  var Sihha = window.Sihha;
  if (!Sihha || Sihha.redirecting) return;

  var REFRESH_MS = 20000;
  var ticketId = null;
  var status = null;
  var updatedAt = null;
  var timer = null;
  var FINAL = ["completed", "no_show", "cancelled"];

  function $(id) { return document.getElementById(id); }

  function render() {
    if (!status) return;
    $("st-label").textContent = status.label;
    $("st-service").textContent = Sihha.pick(status, "service_name");
    $("st-status").textContent = Sihha.text("status_" + status.status);
    var called = status.status === "called" && status.counter_label;
    $("st-call").hidden = !called;
    $("st-call").textContent = called ? Sihha.t("go_to_counter", { counter: status.counter_label }) : "";
    var waitingNow = status.status === "waiting";
    $("row-position").hidden = !(waitingNow && status.position !== null);
    $("st-position").textContent = status.position !== null ? String(status.position) : "";
    $("row-wait").hidden = !(waitingNow && status.estimated_wait_minutes !== null);
    $("st-wait").textContent = status.estimated_wait_minutes !== null
      ? Sihha.t("minutes", { n: status.estimated_wait_minutes }) : "";
    $("row-eta").hidden = !(waitingNow && status.estimated_call_at);
    $("st-eta").textContent = status.estimated_call_at || "";
    $("st-waited").textContent = waitingNow ? Sihha.t("waited", { n: status.waited_minutes }) : "";
    $("st-updated").textContent = updatedAt
      ? Sihha.t("updated_at", { time: Sihha.formatTime(updatedAt) }) : "";
    document.body.setAttribute("data-status", status.status);
  }

  function refresh() {
    window.clearTimeout(timer);
    return Sihha.api("GET", "/tickets/" + encodeURIComponent(ticketId) + "/status").then(
      function (data) {
        status = data;
        updatedAt = new Date();
        Sihha.hideError();
        render();
        if (FINAL.indexOf(data.status) < 0) timer = window.setTimeout(refresh, REFRESH_MS);
      },
      function (error) {
        Sihha.showError(error);
        if (error.status !== 404) timer = window.setTimeout(refresh, REFRESH_MS);
      }
    );
  }

  Sihha.ready(function () {
    ticketId = document.body.getAttribute("data-ticket-id");
    refresh();
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && (!status || FINAL.indexOf(status.status) < 0)) {
        refresh();
      }
    });
    Sihha.onLanguage(render);
  });
})();
