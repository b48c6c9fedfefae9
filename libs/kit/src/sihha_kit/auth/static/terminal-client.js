/* Sihha clinic terminals: the browser's side of the kit's terminal enrolment
 * (sihha_kit.auth.enrolment; docs/identity.md, "Clinic terminals"), served by every
 * service that enrols terminals at /auth/terminal-client.js?v=<content hash>.
 *
 * A terminal's page is opened once with `#enrol=<one-time code>` (and `&counter=<id>`
 * for a counter): the fragment never reaches a server, and this script removes it from
 * the address as soon as it is loaded. The page then claims the terminal's device
 * credential with the code (`POST /auth/terminals/enrol`) and keeps it in localStorage
 * (`sihha.terminal.<kind>`); on every start it exchanges it for a short-lived access
 * token (`POST /auth/terminal-token`, a body, never an address) and renews it a minute
 * before it expires, retrying every 15 s while the service cannot be reached. A refused
 * credential (the terminal was revoked) is forgotten and the terminal stops.
 *
 * The script shows nothing itself: the page's own script tells the user, in the page's
 * language and with its own catalogue's keys, what `report(event, error)` says:
 * "enrolment_invalid", "wrong_role", "claim_failed", "old_link", "renew_failed",
 * "revoked". Plain script, no build step, loaded in <head> after the page's shared
 * script (which may set data-redirecting on <html> to keep the fragment for the page it
 * redirects to). Exposes window.SihhaTerminal. */
(function () {
  "use strict";

  var KEY_PREFIX = "sihha.terminal.";
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var RENEW_BEFORE_MS = 60 * 1000;
  var MIN_RENEW_MS = 10 * 1000;
  var RETRY_SIGN_IN_MS = 15 * 1000;
  var MIN_CODE_LENGTH = 8;

  // the enrolment link's fragment is taken at once, before anything loads: the one-time
  // code must not stay in the address bar, the history or a screenshot
  var fragment = "";
  if (window.location.hash && !document.documentElement.hasAttribute("data-redirecting")) {
    fragment = window.location.hash.replace(/^#/, "");
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  function local() {
    try { return window.localStorage; } catch (e) { return null; }
  }
  function readStored(key) {
    var storage = local();
    try { return JSON.parse((storage && storage.getItem(key)) || "null"); } catch (e) { return null; }
  }
  function store(key, value) {
    var storage = local();
    try { if (storage) storage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  function forget(key) {
    var storage = local();
    try { if (storage) storage.removeItem(key); } catch (e) { /* ignore */ }
  }

  function facilityPattern() {
    // the pattern of sihha_contracts.types.FacilityCode, from the page
    return new RegExp(document.documentElement.getAttribute("data-facility-pattern") || "^$");
  }

  function isRefused(error) { return Boolean(error) && error.status === 401; }

  /**
   * The terminal of this page. options:
   *   kind      the page's kind, its credential's storage key (sihha.terminal.<kind>)
   *   api       function (method, path, body) → Promise of the JSON answer, rejected
   *             with an error whose `status` is the HTTP status (0 or none: network)
   *   roles     the terminal roles the page works with (null: any)
   *   counter   true: the link must name its counter (`&counter=<uuid>`), kept with it
   *   report    function (event, error): tell the user (see above)
   *   onCredential function (terminal): a credential is there, before signing in
   *   onToken   function (token): every access token obtained
   *   onRevoked function (): the credential was refused after the first sign-in
   * Resolves to {token, facility, terminal, counter, role, renew()} once signed in
   * (`token` is always the current access token; `renew()` asks for a new one now, as
   * after a 401 on a data call: a revoked terminal learns it at once), or to null when
   * the page has no valid enrolment or the credential is refused.
   */
  function enrol(options) {
    var key = KEY_PREFIX + options.kind;
    var roles = options.roles || null;
    var needCounter = Boolean(options.counter);
    var report = options.report || function () {};
    var fields = new URLSearchParams(fragment);
    fragment = "";
    var code = (fields.get("enrol") || "").trim();
    var counter = (fields.get("counter") || "").trim().toLowerCase() || null;
    var claimed = Promise.resolve();
    if (code) {
      if (code.length < MIN_CODE_LENGTH || (needCounter && !(counter && UUID.test(counter)))) {
        report("enrolment_invalid");
      } else {
        claimed = claim(options, key, code, needCounter ? counter : null, roles);
      }
    } else if (fields.get("token")) {
      report("old_link"); // a link of the old kind (`#token=`): its token is never kept
    }
    return claimed.then(function () {
      var stored = readStored(key);
      if (!stored || !stored.credential || !facilityPattern().test(stored.facility || "") ||
          !UUID.test(stored.terminal || "") ||
          (needCounter && !UUID.test(stored.counter || "")) ||
          (roles && roles.indexOf(stored.role) < 0)) {
        return null;
      }
      return signIn(options, key, stored);
    });
  }

  /** Claim the device credential with the one-time code and keep it. */
  function claim(options, key, code, counter, roles) {
    var report = options.report || function () {};
    return options.api("POST", "/auth/terminals/enrol", { enrolment_code: code }).then(
      function (credential) {
        if (roles && roles.indexOf(credential.role) < 0) {
          report("wrong_role");
          return;
        }
        var kept = {
          credential: credential.device_credential,
          facility: credential.facility_id,
          terminal: String(credential.terminal_id).toLowerCase(),
          role: credential.role
        };
        if (counter) kept.counter = counter;
        kept.enrolled_at = new Date().toISOString();
        store(key, kept);
      },
      function (error) { report("claim_failed", error); }
    );
  }

  function signIn(options, key, stored) {
    var report = options.report || function () {};
    var terminal = {
      token: null,
      facility: stored.facility,
      terminal: stored.terminal,
      counter: stored.counter || null,
      role: stored.role
    };
    if (options.onCredential) options.onCredential(terminal);
    var timer = null;
    var stopped = false;
    var asking = false; // one request at a time, however many calls ask for a renewal
    return new Promise(function (resolve) {
      var first = true;
      function obtain() {
        if (stopped || asking) return;
        asking = true;
        window.clearTimeout(timer);
        options.api("POST", "/auth/terminal-token", { device_credential: stored.credential })
          .then(function (answer) {
            asking = false;
            if (stopped) return;
            terminal.token = answer.access_token;
            var lifetime = Math.max(Number(answer.expires_in) || 0, 0) * 1000;
            timer = window.setTimeout(obtain, Math.max(lifetime - RENEW_BEFORE_MS, MIN_RENEW_MS));
            if (options.onToken) options.onToken(terminal.token);
            if (first) { first = false; resolve(terminal); }
          }, function (error) {
            asking = false;
            if (stopped) return;
            if (isRefused(error)) {
              stopped = true; // nothing more this terminal may do
              forget(key);
              terminal.token = null;
              report("revoked", error);
              if (first) { first = false; resolve(null); } else if (options.onRevoked) options.onRevoked();
              return;
            }
            // the network or the service is away: keep the current token, try again
            report("renew_failed", error);
            timer = window.setTimeout(obtain, RETRY_SIGN_IN_MS);
          });
      }
      terminal.renew = obtain;
      obtain();
    });
  }

  window.SihhaTerminal = {
    enrol: enrol,
    /** Forget this page kind's credential (the terminal must be enrolled again). */
    forget: function (kind) { forget(KEY_PREFIX + kind); }
  };
})();
