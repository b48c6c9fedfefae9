/* The pharmacy (pharmacy.html): scan or type a prescription's code, verify it, dispense
 * line by line (a part of a line, another brand of the same DCI, form and dosage). */
(function () {
  "use strict";
  var t = Sihha.t;
  var terminal = null;
  var code = null;
  var prescription = null;
  // keys marked in service_layer/prescription_views.py (STATUS_TEXTS)
  var STATUS_KEY = "prescription.status.";

  function $(id) { return document.getElementById(id); }
  function pharmacyPath() { return "/pharmacies/" + encodeURIComponent(terminal.facility); }
  function notice(key, values) { $("notice").textContent = key ? t(key, values) : ""; }

  function verify() {
    var text = $("ph-code").value.trim();
    if (!text) return;
    Sihha.hideError();
    notice(null);
    Sihha.api("POST", pharmacyPath() + "/prescriptions/verify", { token: terminal.token, body: { code: text } })
      .then(function (data) {
        code = text;
        show(data);
      }, function (error) {
        $("ph-prescription").hidden = true;
        Sihha.showError(error);
      });
  }

  function show(data) {
    prescription = data;
    $("ph-prescription").hidden = false;
    $("ph-status").textContent = t(STATUS_KEY + data.status);
    $("ph-status").className = "pill status-" + data.status;
    $("ph-meta").textContent = t("pharmacy.page.meta", {
      facility: data.facility_id,
      issued: Sihha.formatTime(data.issued_at, { date: true }),
      valid: Sihha.formatTime(data.valid_until, { date: true })
    });
    var rows = $("ph-lines");
    rows.textContent = "";
    data.lines.forEach(function (line) {
      var row = document.createElement("tr");
      row.setAttribute("data-line", line.line_no);
      var cells = [
        String(line.line_no),
        (line.brand || t("prescription.page.dci-any", { dci: line.dci })) + " — " + line.form + " " + line.dosage,
        line.remaining + " / " + line.quantity
      ];
      cells.forEach(function (text) {
        var cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      var now = document.createElement("td");
      var input = document.createElement("input");
      input.type = "number";
      input.min = "0";
      input.max = String(line.remaining);
      input.value = "0";
      input.className = "ph-now";
      input.setAttribute("aria-label", t("pharmacy.page.now"));
      input.disabled = line.remaining === 0;
      now.appendChild(input);
      row.appendChild(now);
      var product = document.createElement("td");
      var select = document.createElement("select");
      select.className = "ph-product";
      select.setAttribute("aria-label", t("pharmacy.page.product"));
      select.disabled = line.remaining === 0;
      product.appendChild(select);
      row.appendChild(product);
      rows.appendChild(row);
      loadProducts(line, select);
    });
  }

  function loadProducts(line, select) {
    Sihha.api("GET", "/nomenclature/codes/" + encodeURIComponent(line.code) + "/products", { token: terminal.token })
      .then(function (data) {
        data.products.forEach(function (product) {
          var option = document.createElement("option");
          option.value = product.registration;
          option.textContent = product.brand + (product.registration === line.registration ? " ✓" : "");
          if (product.registration === line.registration) option.selected = true;
          select.appendChild(option);
        });
      }, Sihha.showError);
  }

  function dispense() {
    if (!prescription) return;
    var items = [];
    document.querySelectorAll("#ph-lines tr").forEach(function (row) {
      var quantity = parseInt(row.querySelector(".ph-now").value, 10) || 0;
      if (quantity > 0) {
        items.push({
          line_no: parseInt(row.getAttribute("data-line"), 10),
          quantity: quantity,
          registration: row.querySelector(".ph-product").value || null
        });
      }
    });
    if (!items.length) { notice("pharmacy.page.nothing"); return; }
    Sihha.hideError();
    Sihha.api("POST", pharmacyPath() + "/dispenses", { token: terminal.token, body: { code: code, items: items } })
      .then(function (data) {
        show(data);
        notice("pharmacy.page.dispensed");
      }, Sihha.showError);
  }

  function start(enrolled) {
    terminal = enrolled;
    if (!terminal) return;
    $("ph-verify").addEventListener("click", verify);
    $("ph-verify").disabled = false; // disabled in the page until the terminal is signed in
    $("ph-code").addEventListener("keydown", function (event) {
      if (event.key === "Enter") verify(); // a scanner types the code then Enter
    });
    $("ph-dispense").addEventListener("click", dispense);
  }

  Sihha.ready(function () {
    Sihha.enrol("pharmacy", { roles: ["pharmacist"] }).then(start);
  });
})();
