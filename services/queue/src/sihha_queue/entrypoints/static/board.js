/* The waiting-room display board: live calls from the board's Server-Sent Events. */
(function () {
  "use strict";
  var Sihha = window.Sihha;
  if (!Sihha || Sihha.redirecting) return;

  var SHOWN = 8;              // the latest call plus the ones before it
  var terminal = null;
  var establishment = null;
  var calls = [];             // newest first: {ticket_id, label, service_code, counter_label, at}
  var source = null;
  var retryMs = 2000;
  var retryTimer = null;
  var audio = null;

  function $(id) { return document.getElementById(id); }

  function serviceName(code) {
    var list = (establishment && establishment.services) || [];
    for (var i = 0; i < list.length; i++) {
      if (list[i].service_code === code) return Sihha.pick(list[i], "name");
    }
    return "";
  }

  // -- drawing ------------------------------------------------------------------------

  function render() {
    var latest = calls[0];
    $("now-empty").hidden = Boolean(latest);
    $("now-call").hidden = !latest;
    if (latest) {
      $("now-label").textContent = latest.label;
      $("now-counter").textContent = latest.counter_label || "";
      $("now-service").textContent = serviceName(latest.service_code);
    }
    var list = $("history");
    list.textContent = "";
    $("history-section").hidden = calls.length < 2;
    calls.slice(1, SHOWN).forEach(function (call) {
      var item = document.createElement("li");
      var label = document.createElement("bdi");
      label.className = "h-label";
      label.textContent = call.label;
      var counter = document.createElement("bdi");
      counter.className = "h-counter";
      counter.textContent = call.counter_label || "";
      var time = document.createElement("span");
      time.className = "h-time";
      time.dir = "ltr";
      time.textContent = Sihha.formatTime(call.at);
      item.appendChild(label);
      item.appendChild(counter);
      item.appendChild(time);
      list.appendChild(item);
    });
  }

  function flash() {
    var box = $("now");
    box.classList.remove("flash");
    void box.offsetWidth; // restart the animation
    box.classList.add("flash");
  }

  // -- sound: a two-tone chime made here, then the call-out spoken ---------------------

  function audioContext() {
    if (audio) return audio;
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    audio = new Context();
    return audio;
  }

  function checkSound() {
    var context = audioContext();
    var blocked = context && context.state === "suspended";
    $("enable-sound").hidden = !blocked;
  }

  function chime() {
    var context = audioContext();
    if (!context) return;
    if (context.state === "suspended") {
      context.resume().catch(function () { /* needs a touch: the button says so */ });
    }
    var start = context.currentTime + 0.05;
    [880, 659.25].forEach(function (frequency, index) {
      var oscillator = context.createOscillator();
      var gain = context.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      var at = start + index * 0.45;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 1.1);
      oscillator.connect(gain);
      gain.connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + 1.2);
    });
    window.setTimeout(checkSound, 300);
  }

  function voiceFor(lang) {
    if (!("speechSynthesis" in window)) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf(lang) === 0) return voices[i];
    }
    return null;
  }

  function speak(call) {
    if (!("speechSynthesis" in window) || !("SpeechSynthesisUtterance" in window)) return;
    var parts = Sihha.splitLabel(call.label);
    var order = Sihha.lang === "ar" ? ["ar", "fr"] : ["fr", "ar"];
    order.forEach(function (lang) {
      var voice = voiceFor(lang);
      if (!voice) return;
      var utterance = new window.SpeechSynthesisUtterance(Sihha.t("speech", {
        service: parts.service, number: parts.number, counter: call.counter_label || ""
      }, lang));
      utterance.voice = voice;
      utterance.lang = voice.lang;
      utterance.rate = 0.9;
      window.speechSynthesis.speak(utterance);
    });
  }

  function announce(call) {
    flash();
    chime();
    window.setTimeout(function () { speak(call); }, 1300);
  }

  // -- the live feed ----------------------------------------------------------------------

  function connectionLost(lost) {
    $("reconnecting").hidden = !lost;
    document.body.setAttribute("data-feed", lost ? "lost" : "live");
  }

  // the id of the last event received: a new EventSource opened after an error names it
  // (`?last_event_id=`) and gets the calls it missed; the browser's own reconnections send
  // it by themselves (Last-Event-ID)
  var lastEventId = "";
  function remember(event) {
    if (event.lastEventId) lastEventId = event.lastEventId;
  }

  function onState(event) {
    remember(event);
    var data = JSON.parse(event.data);
    calls = (data.called || []).slice(0, SHOWN);
    calls.forEach(function (call) { if (call.id) announced[call.id] = true; });
    retryMs = 2000;
    connectionLost(false);
    render();
  }

  // the ids of the calls already shown: the server may send one in the state and again in
  // the stream (it subscribes before it reads the state, so that none falls in between)
  var announced = {};

  function onCall(event) {
    remember(event);
    var call = JSON.parse(event.data);
    if (call.id && announced[call.id]) return;
    if (call.id) announced[call.id] = true;
    calls = calls.filter(function (c) { return c.ticket_id !== call.ticket_id; });
    calls.unshift(call);
    calls = calls.slice(0, SHOWN);
    render();
    announce(call);
  }

  function retryLater() {
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  }

  function openStream() {
    if (source) source.close();
    // the token travels in the stream cookie (Sihha.streamSession), never in the URL
    var url = "/establishments/" + encodeURIComponent(terminal.facility) + "/board" +
      (lastEventId ? "?last_event_id=" + encodeURIComponent(lastEventId) : "");
    source = new window.EventSource(url);
    source.addEventListener("state", onState);
    source.addEventListener("called", onCall);
    source.addEventListener("recalled", onCall);
    source.addEventListener("error", function () {
      connectionLost(true);
      if (source.readyState === window.EventSource.CLOSED) {
        // refused (token, network, proxy): the browser gives up; say why, try again later
        loadEstablishment();
        retryLater();
      }
      // otherwise EventSource reconnects by itself; its first event redraws the board
    });
  }

  function connect() {
    window.clearTimeout(retryTimer);
    Sihha.streamSession(terminal.token).then(openStream, function (error) {
      connectionLost(true);
      if (!error.network) Sihha.showError(error);
      retryLater();
    });
  }

  function loadEstablishment() {
    return Sihha.api("GET", "/establishments/" + encodeURIComponent(terminal.facility),
      { token: terminal.token }).then(
      function (data) {
        establishment = data;
        Sihha.setClinicName(data);
        Sihha.hideError();
        render();
      },
      function (error) { if (!error.network) Sihha.showError(error); }
    );
  }

  function start(enrolled) {
    terminal = enrolled;
    if (!terminal) return;
    Sihha.startHeartbeat(terminal, "display");
    loadEstablishment();
    connect();
    // every renewed token goes to the stream cookie at once: when the stream's own token
    // expires the server ends it, and the browser reconnects with the new one
    Sihha.onToken(function (token) {
      Sihha.streamSession(token).catch(function () { /* the next renewal tries again */ });
    });
    checkSound();
    $("enable-sound").addEventListener("click", function () {
      var context = audioContext();
      if (context) context.resume().then(checkSound, checkSound);
      if ("speechSynthesis" in window) window.speechSynthesis.getVoices();
    });
    if ("speechSynthesis" in window) window.speechSynthesis.getVoices(); // voices load lazily
    window.setInterval(function () { loadEstablishment(); }, 10 * 60 * 1000);
    Sihha.onLanguage(render);
  }

  Sihha.ready(function () {
    Sihha.enrol("display", { roles: ["display"] }).then(start);
  });
})();
