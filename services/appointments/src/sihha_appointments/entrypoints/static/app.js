/* Sihha appointments pages: what they share (language, texts from the catalogue, API
 * calls with the caller's token, problems shown in the page's language, Algiers time,
 * a clinic terminal's enrolment through the kit's terminal client). Plain script, no
 * build step, loaded in <head> before the kit's /auth/terminal-client.js
 * (window.SihhaTerminal). Exposes window.Appt. */
(function () {
  "use strict";
  var LANG_KEY = "sihha.lang";
  var TOKEN_KEY = "sihha.citizen.token";
  var TIME_ZONE = "Africa/Algiers";
  var Appt = (window.Appt = {});
  var texts = {};

  function storage(kind) {
    try { return window[kind]; } catch (e) { return null; }
  }
  Appt.lang = document.documentElement.lang === "fr" ? "fr" : "ar";
  Appt.redirecting = false;

  (function rememberedLanguage() {
    var params = new URLSearchParams(window.location.search);
    var asked = params.get("lang");
    var local = storage("localStorage");
    if (asked === "ar" || asked === "fr") {
      if (local) local.setItem(LANG_KEY, asked);
    } else if (local && (local.getItem(LANG_KEY) === "fr") !== (Appt.lang === "fr") && local.getItem(LANG_KEY)) {
      params.set("lang", local.getItem(LANG_KEY));
      Appt.redirecting = true; // the page scripts do nothing on this load
      // the terminal client leaves the enrolment link's fragment to the page asked for
      document.documentElement.setAttribute("data-redirecting", "true");
      window.location.replace(window.location.pathname + "?" + params.toString() + window.location.hash);
    }
  })();

  /** The text of `key` in the page's language, `{name}` fields filled from `values`. */
  function t(key, values) {
    var text = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
    if (values) {
      text = text.replace(/\{(\w+)\}/g, function (whole, name) {
        return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
      });
    }
    return text;
  }
  Appt.t = t;

  function translate() {
    document.querySelectorAll("[data-i18n]").forEach(function (element) {
      element.textContent = t(element.getAttribute("data-i18n"));
    });
    document.querySelectorAll("[data-i18n-label]").forEach(function (element) {
      element.setAttribute("aria-label", t(element.getAttribute("data-i18n-label")));
    });
    document.querySelectorAll(".lang-switch [data-lang]").forEach(function (link) {
      if (link.getAttribute("data-lang") === Appt.lang) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
    document.title = t(document.body.getAttribute("data-title-key")) + " · " + t("app.name");
  }

  var listeners = [];
  Appt.onLanguage = function (listener) { listeners.push(listener); };

  Appt.loadTexts = function (lang) {
    return fetch("/i18n/" + lang + ".json").then(function (answer) { return answer.json(); })
      .then(function (loaded) { texts = loaded; });
  };

  Appt.setLanguage = function (lang) {
    Appt.lang = lang;
    var local = storage("localStorage");
    if (local) local.setItem(LANG_KEY, lang);
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === "ar" ? "rtl" : "ltr";
    var params = new URLSearchParams(window.location.search);
    params.set("lang", lang);
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
    return Appt.loadTexts(lang).then(function () {
      translate();
      listeners.forEach(function (listener) { listener(lang); });
    });
  };

  // -- times in Algiers, whatever the browser's own zone ------------------------------
  Appt.dateTime = function (iso) {
    var locale = Appt.lang === "ar" ? "ar-DZ-u-nu-latn" : "fr-DZ";
    return new Intl.DateTimeFormat(locale, {
      timeZone: TIME_ZONE, weekday: "long", day: "numeric", month: "long",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).format(new Date(iso));
  };
  Appt.time = function (iso) {
    return new Intl.DateTimeFormat("fr-DZ", {
      timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).format(new Date(iso));
  };
  Appt.today = function () {
    return new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE }).format(new Date());
  };

  // -- the banner shows problems in the page's language ------------------------------
  // a terminal told it must be enrolled again keeps saying so (its later calls fail too)
  var stickyBanner = false;
  Appt.showProblem = function (problem) {
    if (stickyBanner) return;
    var banner = document.getElementById("banner");
    var text = problem && (Appt.lang === "ar" ? problem.detail_ar : problem.detail_fr);
    var element = document.getElementById("banner-text");
    element.removeAttribute("data-i18n");
    element.textContent = text || t("error.network");
    banner.hidden = false;
    banner.setAttribute("data-code", (problem && problem.code) || "network");
  };
  /** Show the page's own text `key` in the banner (it follows the language switch);
   * {sticky: true}: nothing replaces or hides it any more. */
  Appt.showMessage = function (key, options) {
    stickyBanner = Boolean(options && options.sticky);
    var banner = document.getElementById("banner");
    var element = document.getElementById("banner-text");
    element.setAttribute("data-i18n", key);
    element.textContent = t(key);
    banner.hidden = false;
    banner.setAttribute("data-code", key);
  };
  Appt.hideProblem = function () {
    if (!stickyBanner) document.getElementById("banner").hidden = true;
  };

  // -- tokens -------------------------------------------------------------------------
  Appt.citizenToken = function () {
    var session = storage("sessionStorage");
    return session ? session.getItem(TOKEN_KEY) : null;
  };
  Appt.setCitizenToken = function (token) {
    var session = storage("sessionStorage");
    if (session) session.setItem(TOKEN_KEY, token);
  };

  /** Call the API; resolves with the JSON answer, rejects with the problem (shown). */
  Appt.api = function (method, path, body, token) {
    var headers = { "Accept-Language": Appt.lang };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (answer) {
        if (answer.status === 204) return null;
        return answer.json().then(function (json) {
          if (!answer.ok) { Appt.showProblem(json); throw json; }
          Appt.hideProblem();
          return json;
        });
      }, function (error) { Appt.showProblem(null); throw error; });
  };

  /** The sign-in card: NIN (and the phone the first time), then the code sent by SMS. */
  Appt.signIn = function (onSignedIn) {
    if (Appt.citizenToken()) { onSignedIn(); return; }
    var card = document.getElementById("signin");
    card.hidden = false;
    var challenge = null;
    document.getElementById("signin-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var phone = document.getElementById("phone").value.trim();
      var body = { nin: document.getElementById("nin").value.trim(), language: Appt.lang };
      if (phone) body.phone = phone;
      Appt.api("POST", "/sign-in", body).then(function (answer) {
        challenge = answer.challenge_id;
        document.getElementById("code-sent").textContent = t("signin.sent_to", { phone: answer.phone_hint });
        document.getElementById("code-form").hidden = false;
        document.getElementById("code").focus();
      }, function () {});
    });
    document.getElementById("code-form").addEventListener("submit", function (event) {
      event.preventDefault();
      Appt.api("POST", "/sign-in/" + challenge + "/verify", { code: document.getElementById("code").value.trim() })
        .then(function (answer) {
          Appt.setCitizenToken(answer.token);
          card.hidden = true;
          onSignedIn();
        }, function () {});
    });
  };

  // -- clinic terminals: enrolled once, then short-lived tokens ---------------------------
  // The kit's terminal client (/auth/terminal-client.js; docs/identity.md, "Clinic
  // terminals") has already taken a terminal's enrolment link (`#enrol=<one-time code>`)
  // from the address (no page keeps a fragment); it claims the device credential, keeps
  // it in localStorage and renews the page's 10-minute tokens. The page says what it
  // reports, in its language.

  function reportEnrolment(event) {
    // an old `#token=` link is never kept; a refused claim or renewal is already in the
    // banner (`Appt.api`)
    if (event === "enrolment_invalid" || event === "old_link") {
      Appt.showMessage("terminal.enrolment_invalid");
    } else if (event === "wrong_role") {
      Appt.showMessage("terminal.wrong_role");
    } else if (event === "revoked") {
      Appt.showMessage("terminal.revoked", { sticky: true });
    }
  }

  /**
   * The terminal of this page, enrolled with `role` (the page's one terminal role,
   * e.g. "scheduler"; its credential is kept as `sihha.terminal.<role>`). Resolves to
   * {token, facility, terminal, role, renew()} once signed in: `terminal.token` is
   * always the current access token; `renew()` asks for a new one now (after a 401: a
   * revoked terminal learns it at once). Resolves to null when the page has no valid
   * enrolment; `onRevoked` is called if the credential is refused later (the page must
   * then stop).
   */
  Appt.enrol = function (role, onRevoked) {
    return window.SihhaTerminal.enrol({
      kind: role,
      roles: [role],
      api: function (method, path, body) { return Appt.api(method, path, body); },
      report: reportEnrolment,
      onRevoked: onRevoked
    });
  };

  Appt.status = function (status) {
    var names = {
      held: t("status.held"), booked: t("status.booked"), arrived: t("status.arrived"),
      no_show: t("status.no_show"), cancelled: t("status.cancelled"),
      expired: t("status.expired"), released: t("status.released"),
      waiting: t("entry.waiting"), offered: t("entry.offered"), accepted: t("entry.accepted"),
      lapsed: t("entry.lapsed"), left: t("entry.left")
    };
    return names[status] || status;
  };

  Appt.place = function (item) {
    return Appt.lang === "ar" ? item.establishment_ar : item.establishment_fr;
  };

  Appt.ready = function (start) {
    document.addEventListener("DOMContentLoaded", function () {
      document.querySelectorAll(".lang-switch [data-lang]").forEach(function (link) {
        link.addEventListener("click", function (event) {
          event.preventDefault();
          Appt.setLanguage(link.getAttribute("data-lang"));
        });
      });
      Appt.loadTexts(Appt.lang).then(start);
    });
  };
})();
