/* Sihha terminals: what every page shares (language, enrolment, API calls, errors,
 * heartbeat, Algiers time). Plain script, no build step; loaded in <head> so that a
 * remembered language is applied before the page is drawn. Exposes window.Sihha. */
(function () {
  "use strict";

  var LANG_KEY = "sihha.lang";
  var TERMINAL_KEY = "sihha.terminal.";
  var LANGS = ["ar", "fr"];
  // an establishment code: the pattern of sihha_contracts.types.FacilityCode, from the page
  var FACILITY = new RegExp(document.documentElement.getAttribute("data-facility-pattern") || "^$");
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var TIME_ZONE = "Africa/Algiers";
  var HEARTBEAT_MS = 60 * 1000;
  // a terminal's access token lasts minutes: renewed a minute before it expires, and
  // retried every 15 s while the service cannot be reached
  var RENEW_BEFORE_MS = 60 * 1000;
  var MIN_RENEW_MS = 10 * 1000;
  var RETRY_SIGN_IN_MS = 15 * 1000;

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: keep going */ }
  }
  function storageRemove(key) {
    try { window.localStorage.removeItem(key); } catch (e) { /* ignore */ }
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
      window.location.replace(
        window.location.pathname + "?" + params.toString() + window.location.hash
      );
    }
  })();

  // the enrolment link's fragment is taken at once, before anything loads: the one-time
  // code must not stay in the address bar, the history or a screenshot (`Sihha.enrol`
  // reads it)
  var enrolmentFragment = "";
  if (!Sihha.redirecting && window.location.hash) {
    enrolmentFragment = window.location.hash.replace(/^#/, "");
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

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

  // -- enrolment: a one-time code, then a device credential and short-lived tokens ------

  function showNotEnrolled() {
    var panel = document.getElementById("not-enrolled");
    var main = document.getElementById("main");
    if (panel) panel.hidden = false;
    if (main) main.hidden = true;
  }

  function readStored(key) {
    try { return JSON.parse(storageGet(key) || "null"); } catch (e) { return null; }
  }

  /** Claim the device credential with the enrolment link's one-time code and keep it. */
  function claim(key, code, counter, roles) {
    return Sihha.api("POST", "/auth/terminals/enrol", { body: { enrolment_code: code } }).then(
      function (credential) {
        if (roles && roles.indexOf(credential.role) < 0) {
          throw { message: "enrolment_wrong_role" };
        }
        storageSet(key, JSON.stringify({
          credential: credential.device_credential,
          facility: credential.facility_id,
          terminal: String(credential.terminal_id).toLowerCase(),
          role: credential.role,
          counter: counter,
          enrolled_at: new Date().toISOString()
        }));
      }
    );
  }

  /**
   * Keep `terminal.token` a valid access token: obtained with the device credential now,
   * renewed a minute before it expires; each new token is handed to `onToken`'s
   * listeners (a board renews its stream cookie). A refused credential (the terminal was
   * revoked) is forgotten and the page says the terminal must be enrolled again.
   * Resolves once the first token is there; rejects if the credential is refused.
   */
  function keepSignedIn(terminal, key, credential) {
    return new Promise(function (resolve, reject) {
      var first = true;
      function obtain() {
        Sihha.api("POST", "/auth/terminal-token", { body: { device_credential: credential } })
          .then(function (answer) {
            terminal.token = answer.access_token;
            var lifetime = Math.max(Number(answer.expires_in) || 0, 0) * 1000;
            window.setTimeout(obtain, Math.max(lifetime - RENEW_BEFORE_MS, MIN_RENEW_MS));
            tokenListeners.forEach(function (listener) { listener(terminal.token); });
            if (first) { first = false; resolve(terminal); }
          }, function (error) {
            if (error.status === 401) {
              storageRemove(key);
              terminal.token = null;
              Sihha.showError({ message: "terminal_revoked" });
              showNotEnrolled();
              if (first) { first = false; reject(error); }
              return; // stop: nothing more this terminal may do
            }
            // the network or the service is away: keep the current token and try again
            if (!error.network) Sihha.showError(error);
            window.setTimeout(obtain, RETRY_SIGN_IN_MS);
          });
      }
      obtain();
    });
  }

  var tokenListeners = [];
  /** Call `listener(token)` with every access token the terminal obtains. */
  Sihha.onToken = function (listener) { tokenListeners.push(listener); };

  /**
   * The terminal's enrolment, for a page of this `kind` (kiosk, counter, display,
   * pharmacy). Its enrolment link carries `#enrol=<one-time code>` (`&counter=<uuid>`
   * for a counter): the page claims the device credential with it, keeps it in
   * localStorage and has already removed the fragment from the address bar. Then, on
   * every start, it signs in with the credential (`keepSignedIn`). options:
   * {counter: true} (the page needs its counter), {roles: [...]} (the terminal roles
   * the page works with). Resolves to {token, facility, terminal, counter, role} once
   * signed in, or to null (the page then says it is not enrolled).
   */
  Sihha.enrol = function (kind, options) {
    var needCounter = Boolean(options && options.counter);
    var roles = (options && options.roles) || null;
    var key = TERMINAL_KEY + kind;
    var fields = new URLSearchParams(enrolmentFragment);
    enrolmentFragment = "";
    var code = (fields.get("enrol") || "").trim();
    var counter = (fields.get("counter") || "").trim().toLowerCase() || null;
    var claimed = Promise.resolve();
    if (code) {
      if (code.length < 8 || (needCounter && !(counter && UUID.test(counter)))) {
        Sihha.showError({ message: "enrolment_invalid" });
      } else {
        claimed = claim(key, code, counter, roles).catch(Sihha.showError);
      }
    }
    return claimed.then(function () {
      var stored = readStored(key);
      if (!stored || !stored.credential || !FACILITY.test(stored.facility || "") ||
          !UUID.test(stored.terminal || "") ||
          (needCounter && !UUID.test(stored.counter || "")) ||
          (roles && roles.indexOf(stored.role) < 0)) {
        showNotEnrolled();
        return null;
      }
      var terminal = {
        token: null,
        facility: stored.facility,
        terminal: stored.terminal,
        counter: stored.counter || null,
        role: stored.role
      };
      var label = document.getElementById("terminal-id");
      if (label) label.textContent = terminal.facility + " · " + terminal.terminal.slice(0, 8);
      return keepSignedIn(terminal, key, stored.credential).catch(function () { return null; });
    });
  };

  Sihha.forget = function (kind) { storageRemove(TERMINAL_KEY + kind); };

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
