/* Sihha terminals: what every page shares (language, enrolment, API calls, errors,
 * heartbeat, Algiers time). Plain script, no build step; loaded in <head> so that a
 * remembered language is applied before the page is drawn, before the kit's terminal
 * client (/auth/terminal-client.js, window.SihhaTerminal: the enrolment itself), which
 * `Sihha.enrol` drives. Exposes window.Sihha. */
(function () {
  "use strict";

  var LANG_KEY = "sihha.lang";
  var LANGS = ["ar", "fr"];
  var TIME_ZONE = "Africa/Algiers";
  var HEARTBEAT_MS = 60 * 1000;

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: keep going */ }
  }

  var Sihha = (window.Sihha = {});
  Sihha.lang = document.documentElement.lang === "fr" ? "fr" : "ar";
  Sihha.redirecting = false;

  // -- the language: ?lang= wins and is remembered; otherwise the remembered one -----
  (function chooseLanguage() {
    var params = new URLSearchParams(window.location.search);
    var asked = params.get("lang");
    if (LANGS.indexOf(asked) >= 0) {
      storageSet(LANG_KEY, asked);
      return;
    }
    var remembered = storageGet(LANG_KEY);
    if (LANGS.indexOf(remembered) >= 0 && remembered !== Sihha.lang) {
      params.set("lang", remembered);
      Sihha.redirecting = true; // the page scripts do nothing on this load
      // the terminal client leaves the enrolment link's fragment to the page asked for
      document.documentElement.setAttribute("data-redirecting", "true");
      window.location.replace(
        window.location.pathname + "?" + params.toString() + window.location.hash
      );
    }
  })();

  // the service's message catalogue in both languages (GET /i18n/{lang}.json): the page
  // switches language in place, and a kiosk prints its tickets in both
  var strings = { ar: {}, fr: {} };
  var catalogues = Promise.all(LANGS.map(function (lang) {
    return window.fetch("/i18n/" + lang + ".json", { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (table) { strings[lang] = table; }, function () { /* keys shown */ });
  }));
  function allStrings() { return strings; }

  /** Run `start` once the page is parsed and the catalogues are loaded. */
  Sihha.ready = function (start) {
    var parsed = new Promise(function (resolve) {
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", resolve);
      } else {
        resolve();
      }
    });
    Promise.all([parsed, catalogues]).then(function () { start(); });
  };

  /** The string `key` in the page's language (or in `lang`), `{name}` filled from `values`. */
  Sihha.t = function (key, values, lang) {
    var table = allStrings()[lang || Sihha.lang] || {};
    var text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : key;
    if (values) {
      text = text.replace(/\{(\w+)\}/g, function (whole, name) {
        return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
      });
    }
    return text;
  };

  /** `Sihha.t` for a key built at run time ("status_" + status): such keys are listed
   * in pages.py (SCRIPT_KEYS), where the catalogue check finds them. */
  Sihha.text = function (key, values, lang) { return Sihha.t(key, values, lang); };

  /** Pick the field of the page's language from a bilingual object: name_fr / name_ar. */
  Sihha.pick = function (object, stem) {
    if (!object) return "";
    return object[stem + "_" + Sihha.lang] || object[stem + "_fr"] || object[stem + "_ar"] || "";
  };

  var languageListeners = [];
  Sihha.onLanguage = function (listener) { languageListeners.push(listener); };

  function translatePage() {
    var t = Sihha.t;
    document.querySelectorAll("[data-i18n]").forEach(function (element) {
      element.textContent = t(element.getAttribute("data-i18n"));
    });
    document.querySelectorAll("[data-i18n-label]").forEach(function (element) {
      element.setAttribute("aria-label", t(element.getAttribute("data-i18n-label")));
    });
    document.querySelectorAll(".lang-switch [data-lang]").forEach(function (link) {
      if (link.getAttribute("data-lang") === Sihha.lang) link.setAttribute("aria-current", "true");
      else link.removeAttribute("aria-current");
    });
    var titleKey = document.body.getAttribute("data-title-key");
    if (titleKey) document.title = t(titleKey) + " · " + t("app_name");
  }

  /** Switch the page to `lang` in place (no reload: a board keeps its live feed). */
  Sihha.setLanguage = function (lang) {
    if (LANGS.indexOf(lang) < 0) return;
    Sihha.lang = lang;
    storageSet(LANG_KEY, lang);
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === "ar" ? "rtl" : "ltr";
    var params = new URLSearchParams(window.location.search);
    params.set("lang", lang);
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
    translatePage();
    if (lastBanner) showBanner(lastBanner);
    updateNetStatus();
    languageListeners.forEach(function (listener) { listener(lang); });
  };

  // -- enrolment: the kit's terminal client (/auth/terminal-client.js), which has
  // already taken the enrolment link's fragment from the address; the page says what it
  // reports in its language ------------------------------------------------------------

  function showNotEnrolled() {
    var panel = document.getElementById("not-enrolled");
    var main = document.getElementById("main");
    if (panel) panel.hidden = false;
    if (main) main.hidden = true;
  }

  function reportEnrolment(event, error) {
    if (event === "enrolment_invalid") Sihha.showError({ message: "enrolment_invalid" });
    else if (event === "wrong_role") Sihha.showError({ message: "enrolment_wrong_role" });
    else if (event === "claim_failed") Sihha.showError(error);
    else if (event === "renew_failed" && !error.network) Sihha.showError(error);
    else if (event === "revoked") {
      Sihha.showError({ message: "terminal_revoked" });
      showNotEnrolled();
    }
  }

  var tokenListeners = [];
  /** Call `listener(token)` with every access token the terminal obtains. */
  Sihha.onToken = function (listener) { tokenListeners.push(listener); };

  // the signed-in terminal: a data call refused with 401 asks it for a new token at once
  var signedIn = null;

  /**
   * The terminal's enrolment, for a page of this `kind` (kiosk, counter, display,
   * pharmacy): its credential is kept as `sihha.terminal.<kind>`. Its enrolment link
   * carries `#enrol=<one-time code>` (`&counter=<uuid>` for a counter). options:
   * {counter: true} (the page needs its counter), {roles: [...]} (the terminal roles
   * the page works with). Resolves to {token, facility, terminal, counter, role} once
   * signed in (`token` renewed before it expires), or to null (the page then says it is
   * not enrolled). A revoked terminal says so and stops.
   */
  Sihha.enrol = function (kind, options) {
    return window.SihhaTerminal.enrol({
      kind: kind,
      counter: Boolean(options && options.counter),
      roles: (options && options.roles) || null,
      api: function (method, path, body) { return Sihha.api(method, path, { body: body }); },
      report: reportEnrolment,
      onCredential: function (terminal) {
        var label = document.getElementById("terminal-id");
        if (label) label.textContent = terminal.facility + " · " + terminal.terminal.slice(0, 8);
      },
      onToken: function (token) {
        tokenListeners.forEach(function (listener) { listener(token); });
      }
    }).then(function (terminal) {
      if (!terminal) showNotEnrolled();
      signedIn = terminal;
      return terminal;
    });
  };

  Sihha.forget = function (kind) { window.SihhaTerminal.forget(kind); };

  // -- errors: one banner, the API's own words in the page's language --------------------

  var lastBanner = null;

  function bannerText(error) {
    if (error.message && !error.problem && !error.network && !error.status) {
      return Sihha.t(error.message);
    }
    if (error.network) return Sihha.t("error_network");
    var problem = error.problem;
    if (problem) {
      var detail = problem["detail_" + Sihha.lang] || problem.detail;
      if (typeof detail === "string" && detail) return detail;
    }
    return Sihha.t("error_unexpected", { status: error.status || "?" });
  }

  function showBanner(error) {
    var banner = document.getElementById("banner");
    var text = document.getElementById("banner-text");
    if (!banner || !text) return;
    lastBanner = error;
    text.textContent = bannerText(error);
    banner.hidden = false;
  }

  /** Show an error: an ApiError, or {message: "<string key>"}. Never a stack trace. */
  Sihha.showError = function (error) {
    showBanner(error || { status: 0 });
  };

  Sihha.hideError = function () {
    var banner = document.getElementById("banner");
    if (banner) banner.hidden = true;
    lastBanner = null;
  };

  // -- the API -----------------------------------------------------------------------------

  function ApiError(status, problem, network) {
    this.name = "ApiError";
    this.status = status;
    this.problem = problem || null;
    this.network = Boolean(network);
    this.code = problem && problem.code ? problem.code : null;
  }
  Sihha.ApiError = ApiError;

  var online = null;
  function updateNetStatus() {
    var element = document.getElementById("net-status");
    if (!element || online === null) return;
    element.textContent = online ? Sihha.t("online") : Sihha.t("offline");
    element.className = "net-status " + (online ? "is-online" : "is-offline");
  }
  function setOnline(value) {
    if (online === value) return;
    online = value;
    updateNetStatus();
  }

  /**
   * Call the JSON API. options: {body, token, idempotencyKey, timeoutMs}.
   * Resolves to the parsed JSON (null for 204); rejects with an ApiError.
   */
  Sihha.api = function (method, path, options) {
    options = options || {};
    var headers = { Accept: "application/json", "Accept-Language": Sihha.lang };
    if (options.token) headers.Authorization = "Bearer " + options.token;
    if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
    var init = { method: method, headers: headers, cache: "no-store", credentials: "omit" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    if (controller) init.signal = controller.signal;
    var timer = controller
      ? window.setTimeout(function () { controller.abort(); }, options.timeoutMs || 15000)
      : null;
    return window.fetch(path, init).then(
      function (response) {
        if (timer) window.clearTimeout(timer);
        setOnline(true);
        if (response.status === 204) return null;
        var type = response.headers.get("content-type") || "";
        var parse = type.indexOf("json") >= 0
          ? response.json().catch(function () { return null; })
          : Promise.resolve(null);
        return parse.then(function (data) {
          if (response.ok) return data;
          if (response.status === 401 && signedIn && options.token === signedIn.token) {
            signedIn.renew(); // an expired token is replaced; a revoked terminal stops
          }
          throw new ApiError(response.status, data && typeof data === "object" ? data : null);
        });
      },
      function () {
        if (timer) window.clearTimeout(timer);
        setOnline(false);
        throw new ApiError(0, null, true);
      }
    );
  };

  /**
   * Hand the bearer token to `POST /auth/stream-session`, which keeps it in an HttpOnly
   * cookie that the event streams accept: an EventSource sends no header, and a token in
   * its URL would be written in every proxy's log. Call it before opening a stream and
   * whenever the token changes. Resolves when the cookie is set; rejects with an ApiError.
   */
  Sihha.streamSession = function (token) {
    return window.fetch("/auth/stream-session", {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Accept-Language": Sihha.lang },
      cache: "no-store",
      credentials: "same-origin" // the answer's cookie must be kept
    }).then(
      function (response) {
        setOnline(true);
        if (response.ok) return null;
        return response.json().catch(function () { return null; }).then(function (problem) {
          throw new ApiError(response.status, problem);
        });
      },
      function () {
        setOnline(false);
        throw new ApiError(0, null, true);
      }
    );
  };

  /** A random UUID v4 (crypto.randomUUID needs HTTPS; a clinic LAN may be plain HTTP). */
  Sihha.uuid = function () {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  };

  /** Tell the service this terminal is alive: now, then every minute. */
  Sihha.startHeartbeat = function (terminal, kind) {
    function beat() {
      Sihha.api(
        "POST",
        "/establishments/" + encodeURIComponent(terminal.facility) + "/terminals/" +
          encodeURIComponent(terminal.terminal) + "/heartbeat",
        { token: terminal.token, body: { kind: kind } }
      ).catch(function (error) {
        // a lost network shows in the footer; a refused token must be seen by someone
        if (!error.network) Sihha.showError(error);
      });
    }
    beat();
    return window.setInterval(beat, HEARTBEAT_MS);
  };

  // -- time: always Algiers, whatever the terminal's own setting ---------------------------

  function parts(date, withDate) {
    var options = {
      timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      numberingSystem: "latn"
    };
    if (withDate) {
      options.day = "2-digit";
      options.month = "2-digit";
      options.year = "numeric";
    }
    var found = {};
    new Intl.DateTimeFormat("fr-DZ", options).formatToParts(date).forEach(function (part) {
      found[part.type] = part.value;
    });
    return found;
  }

  /** "08:30", or "25/11/2026 08:30" with {date: true}, in Algiers time. */
  Sihha.formatTime = function (value, options) {
    var date = value instanceof Date ? value : new Date(value);
    if (isNaN(date.getTime())) return "";
    var withDate = Boolean(options && options.date);
    var p = parts(date, withDate);
    var time = p.hour + ":" + p.minute;
    return withDate ? p.day + "/" + p.month + "/" + p.year + " " + time : time;
  };

  function tick() {
    var clock = document.getElementById("clock");
    if (!clock) return;
    var now = new Date();
    clock.textContent = Sihha.formatTime(now);
    clock.setAttribute("datetime", now.toISOString());
  }

  Sihha.setClinicName = function (establishment) {
    var element = document.getElementById("clinic-name");
    if (element && establishment) element.textContent = Sihha.pick(establishment, "name");
  };

  /** The ticket label "MG-042" as its parts: {service: "MG", number: 42}. */
  Sihha.splitLabel = function (label) {
    var match = /^([A-Z]+)-0*([0-9]+)$/.exec(label || "");
    return match ? { service: match[1], number: parseInt(match[2], 10) } : { service: label, number: "" };
  };

  document.addEventListener("DOMContentLoaded", function () {
    if (Sihha.redirecting) return;
    var close = document.getElementById("banner-close");
    if (close) close.addEventListener("click", Sihha.hideError);
    document.querySelectorAll(".lang-switch [data-lang]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        Sihha.setLanguage(link.getAttribute("data-lang"));
      });
    });
    tick();
    window.setInterval(tick, 10 * 1000);
  });
})();
