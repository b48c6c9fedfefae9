/* The consultation room's prescription (prescription.html): search the nomenclature as
 * the doctor types, build the lines, check (warnings inline, each overridden with a
 * reason), sign, print. Signs in with the counter terminal's device credential (a consultation
 * room's terminal, enrolled with the doctor role). */
(function () {
  "use strict";
  var t = Sihha.t;
  var terminal = null;
  var ticketId = null;
  var lines = [];          // {registration|code, name, list_class, element}
  var warnings = [];       // the last check's warnings
  var signed = null;       // the signed prescription
  var searchTimer = null;
  var searchSeq = 0;
  // keys marked in adapters/prescription_pdf.py (LIST_TEXTS)
  var LIST_KEY = "prescription.list.";

  function $(id) { return document.getElementById(id); }
  function facilityPath() { return "/establishments/" + encodeURIComponent(terminal.facility); }

  function notice(key, values) { $("notice").textContent = key ? t(key, values) : ""; }

  function search() {
    var q = $("rx-search").value.trim();
    var seq = ++searchSeq;
    if (!q) { $("rx-results").textContent = ""; return; }
    Sihha.api("GET", "/nomenclature/search?limit=12&q=" + encodeURIComponent(q), { token: terminal.token })
      .then(function (data) {
        if (seq !== searchSeq) return; // an older answer arriving late
        renderResults(data.products);
      }, Sihha.showError);
  }

  function renderResults(products) {
    var list = $("rx-results");
    list.textContent = "";
    if (!products.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = t("prescription.page.no-results");
      list.appendChild(none);
      return;
    }
    var codes = {};
    products.forEach(function (product) {
      list.appendChild(resultItem(
        product.brand + " — " + product.form + " " + product.dosage,
        product.dci,
        { registration: product.registration, name: product.brand + " " + product.dosage, list_class: product.list_class }
      ));
      if (!codes[product.code]) {
        codes[product.code] = true;
        list.appendChild(resultItem(
          t("prescription.page.dci-any", { dci: product.dci + " " + product.form + " " + product.dosage }),
          product.code,
          { code: product.code, name: product.dci + " " + product.dosage, list_class: product.list_class }
        ));
      }
    });
  }

  function resultItem(label, detail, line) {
    var item = document.createElement("li");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "rx-result";
    button.textContent = label;
    var small = document.createElement("small");
    small.textContent = " " + detail;
    button.appendChild(small);
    button.addEventListener("click", function () { addLine(line); });
    item.appendChild(button);
    return item;
  }

  function addLine(line) {
    var node = $("rx-line-template").content.firstElementChild.cloneNode(true);
    node.querySelector(".rx-name").textContent = line.name;
    node.querySelector(".rx-list").textContent = t(LIST_KEY + line.list_class);
    node.querySelector(".rx-remove").addEventListener("click", function () {
      lines = lines.filter(function (l) { return l !== line; });
      node.remove();
      changed();
    });
    node.querySelectorAll("input, select").forEach(function (field) {
      field.addEventListener("change", changed);
    });
    line.element = node;
    lines.push(line);
    $("rx-lines").appendChild(node);
    $("rx-search").value = "";
    $("rx-results").textContent = "";
    changed();
    $("rx-search").focus();
  }

  function changed() {
    $("rx-empty").hidden = lines.length > 0;
    notice(null);
  }

  function value(line, selector) { return line.element.querySelector(selector).value; }
  function number(line, selector) { return parseInt(value(line, selector), 10) || 0; }

  function body() {
    var overrides = [];
    document.querySelectorAll(".rx-reason").forEach(function (input) {
      if (input.value.trim()) overrides.push({ key: input.getAttribute("data-key"), reason: input.value.trim() });
    });
    return {
      ticket_id: ticketId,
      overrides: overrides,
      lines: lines.map(function (line) {
        var out = {
          dose: parseFloat(value(line, ".rx-dose")) || 0,
          dose_unit: value(line, ".rx-unit"),
          route: value(line, ".rx-route"),
          frequency_per_day: number(line, ".rx-per-day"),
          duration_days: number(line, ".rx-days"),
          quantity: number(line, ".rx-quantity"),
          renewals: number(line, ".rx-renewals"),
          instructions: value(line, ".rx-instructions")
        };
        var words = value(line, ".rx-in-words").trim();
        if (words) out.quantity_in_words = words;
        if (line.registration) out.registration = line.registration; else out.code = line.code;
        return out;
      })
    };
  }

  function showWarnings(found) {
    // keep what the doctor already wrote for a warning still there
    var reasons = {};
    document.querySelectorAll(".rx-reason").forEach(function (input) {
      reasons[input.getAttribute("data-key")] = input.value;
    });
    warnings = found;
    var list = $("rx-warning-list");
    list.textContent = "";
    found.forEach(function (warning) {
      var item = document.createElement("li");
      item.className = "rx-warning";
      var text = document.createElement("p");
      text.textContent = warning.text ? (warning.text[Sihha.lang] || warning.text.fr) : warning.key;
      var input = document.createElement("input");
      input.type = "text";
      input.className = "rx-reason";
      input.maxLength = 300;
      input.setAttribute("data-key", warning.key);
      input.placeholder = t("prescription.page.reason");
      input.setAttribute("aria-label", t("prescription.page.reason"));
      input.value = reasons[warning.key] || "";
      item.appendChild(text);
      item.appendChild(input);
      list.appendChild(item);
    });
    $("rx-warnings").hidden = found.length === 0;
  }

  function check() {
    if (!lines.length) return Promise.resolve();
    Sihha.hideError();
    return Sihha.api("POST", facilityPath() + "/prescriptions/check", { token: terminal.token, body: body() })
      .then(function (data) {
        showWarnings(data.warnings);
        notice(data.warnings.length ? "prescription.page.warnings-found" : "prescription.page.no-warnings");
      }, Sihha.showError);
  }

  function sign() {
    if (!lines.length || signed) return;
    Sihha.hideError();
    Sihha.api("POST", facilityPath() + "/prescriptions", { token: terminal.token, body: body() })
      .then(function (prescription) {
        signed = prescription;
        $("rx-code").textContent = prescription.code;
        $("rx-signed").hidden = false;
        $("rx-sign").disabled = true;
        $("rx-check").disabled = true;
        notice("prescription.page.signed");
      }, function (error) {
        if (error.code === "prescription-warnings-pending" && error.problem) {
          // the warnings come with the refusal: show them, each with its reason field
          check();
        }
        Sihha.showError(error);
      });
  }

  function print() {
    if (!signed) return;
    var path = facilityPath() + "/prescriptions/" + encodeURIComponent(signed.prescription_id) +
      "/pdf?lang=" + Sihha.lang;
    window.fetch(path, { headers: { Authorization: "Bearer " + terminal.token }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Sihha.ApiError(response.status, null);
        return response.blob();
      })
      .then(function (pdf) {
        var url = URL.createObjectURL(pdf);
        window.open(url, "_blank");
        notice("prescription.page.printed");
      }, Sihha.showError);
  }

  function start(enrolled) {
    terminal = enrolled;
    if (!terminal) return;
    ticketId = new URLSearchParams(window.location.search).get("ticket");
    if (!ticketId) {
      Sihha.showError({ message: "prescription.page.no-ticket" });
      return;
    }
    $("rx-patient").textContent = t("prescription.page.patient", { ticket: ticketId.slice(0, 8) });
    $("rx-search").addEventListener("input", function () {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(search, 150);
    });
    $("rx-check").addEventListener("click", check);
    $("rx-sign").addEventListener("click", sign);
    $("rx-print").addEventListener("click", print);
    changed();
  }

  Sihha.ready(function () {
    // the consultation room's counter terminal (enrolled with the doctor role): its
    // credential, kept by the counter page, signs this page in too
    Sihha.enrol("counter", { counter: true }).then(start);
  });
})();
