/* Sihha appointments pages: what they share (language, texts from the catalogue, API
 * calls with the caller's token, problems shown in the page's language, Algiers time,
 * a clinic terminal's enrolment and short-lived tokens). Plain script, no build step,
 * loaded in <head>. Exposes window.Appt. */
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
      window.location.replace(window.location.pathname + "?" + params.toString() + window.location.hash);
    }
  })();

  // a terminal's enrolment link (`#enrol=<one-time code>`) is taken from the address at
  // once, before anything loads: the code must not stay in the address bar, the history
  // or a screenshot (`Appt.enrol` reads it). No page keeps a fragment.
  var enrolmentFragment = "";
  if (!Appt.redirecting && window.location.hash) {
    enrolmentFragment = window.location.hash.replace(/^#/, "");
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

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
  // The IT unit registers the terminal (`POST /auth/terminals`) and gets a one-time
  // code; the page, opened once with `#enrol=<code>`, claims the terminal's device
  // credential with it and keeps it in localStorage; on every start it exchanges the
  // credential for a 10-minute access token and renews it a minute before it expires
  // (retrying every 15 s while the service cannot be reached). A refused credential
  // (the terminal was revoked) is forgotten and the page says the terminal must be
  // enrolled again (docs/identity.md, "Clinic terminals").
  var TERMINAL_KEY = "sihha.terminal.";
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  // an establishment code: the pattern of sihha_contracts.types.FacilityCode, from the page
  var FACILITY = new RegExp(document.documentElement.getAttribute("data-facility-pattern") || "^$");
  var RENEW_BEFORE_MS = 60 * 1000;
  var MIN_RENEW_MS = 10 * 1000;
  var RETRY_SIGN_IN_MS = 15 * 1000;

  function readTerminal(key) {
    var local = storage("localStorage");
    try { return JSON.parse((local && local.getItem(key)) || "null"); } catch (e) { return null; }
  }
  function forgetTerminal(key) {
    var local = storage("localStorage");
    if (local) local.removeItem(key);
  }

  /** Claim the device credential with the one-time code and keep it. */
  function claim(key, code, role) {
    return Appt.api("POST", "/auth/terminals/enrol", { enrolment_code: code }).then(
      function (credential) {
        if (credential.role !== role) {
          Appt.showMessage("terminal.wrong_role");
          return;
        }
        var local = storage("localStorage");
        if (local) {
          local.setItem(key, JSON.stringify({
            credential: credential.device_credential,
            facility: credential.facility_id,
            terminal: String(credential.terminal_id).toLowerCase(),
            role: credential.role,
            enrolled_at: new Date().toISOString()
          }));
        }
      },
      function () { /* the banner says why (an invalid, used or expired code) */ }
    );
  }

  /**
   * The terminal of this page, enrolled with `role` (the page's one terminal role,
   * e.g. "scheduler"). Resolves to {token, facility, terminal, role, renew()} once
   * signed in: `terminal.token` is always the current access token; `renew()` asks for
   * a new one now (after a 401: a revoked terminal learns it at once). Resolves to null
   * when the page has no valid enrolment; `onRevoked` is called if the credential is
   * refused later (the page must then stop).
   */
  Appt.enrol = function (role, onRevoked) {
    var key = TERMINAL_KEY + role;
    var fields = new URLSearchParams(enrolmentFragment);
    enrolmentFragment = "";
    var code = (fields.get("enrol") || "").trim();
    var claimed = Promise.resolve();
    if (code) {
      if (code.length < 8) Appt.showMessage("terminal.enrolment_invalid");
      else claimed = claim(key, code, role);
    } else if (fields.get("token")) {
      Appt.showMessage("terminal.enrolment_invalid"); // an old `#token=` link: never kept
    }
    return claimed.then(function () {
      var stored = readTerminal(key);
      if (!stored || !stored.credential || stored.role !== role ||
          !FACILITY.test(stored.facility || "") || !UUID.test(stored.terminal || "")) {
        return null;
      }
      return signIn(key, stored, onRevoked);
    });
  };

  function signIn(key, stored, onRevoked) {
    var terminal = {
      token: null, facility: stored.facility, terminal: stored.terminal, role: stored.role
    };
    var timer = null;
    var stopped = false;
    return new Promise(function (resolve) {
      var first = true;
      function obtain() {
        if (stopped) return;
        window.clearTimeout(timer);
        Appt.api("POST", "/auth/terminal-token", { device_credential: stored.credential })
          .then(function (answer) {
            terminal.token = answer.access_token;
            var lifetime = Math.max(Number(answer.expires_in) || 0, 0) * 1000;
            timer = window.setTimeout(obtain, Math.max(lifetime - RENEW_BEFORE_MS, MIN_RENEW_MS));
            if (first) { first = false; resolve(terminal); }
          }, function (problem) {
            if (problem && problem.status === 401) {
              stopped = true;
              forgetTerminal(key);
              terminal.token = null;
              Appt.showMessage("terminal.revoked", { sticky: true });
              if (first) { first = false; resolve(null); } else if (onRevoked) onRevoked();
              return;
            }
            // the network or the service is away: keep the current token, try again
            timer = window.setTimeout(obtain, RETRY_SIGN_IN_MS);
          });
      }
      terminal.renew = obtain;
      obtain();
    });
  }

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
