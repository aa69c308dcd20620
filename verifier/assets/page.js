// Session page: follows the session's status over server-sent events and
// shows the result when the wallet has answered. Builds the result with
// textContent only (values come from residents' credentials: never HTML).
"use strict";
(function () {
  var main = document.getElementById("session");
  var statusEl = document.getElementById("status");
  var resultEl = document.getElementById("result");
  var listEl = document.getElementById("disclosed");
  var qrSection = document.getElementById("qr-section");
  var texts = {};
  try {
    texts = JSON.parse(document.getElementById("texts").innerHTML);
  } catch (e) {
    texts = {};
  }
  function t(key) {
    return texts[key] || key;
  }

  function setStatus(kind, text) {
    statusEl.className = "status status-" + kind;
    statusEl.textContent = text;
  }

  function showFailure(reason) {
    main.dataset.status = "FAILED";
    qrSection.hidden = true;
    setStatus("failed", t("failed") + (reason ? " " + reason : ""));
  }

  function row(label, value) {
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.textContent = value;
    listEl.appendChild(dt);
    listEl.appendChild(dd);
  }

  function showResult(view) {
    qrSection.hidden = true;
    listEl.textContent = "";
    (view.attributes || []).forEach(function (a) {
      row(a.label, a.value);
    });
    (view.predicates || []).forEach(function (p) {
      row(p.label, p.value);
    });
    if (view.pseudonym) {
      row(t("pseudonym"), view.pseudonym);
    }
    if (view.valid) {
      main.dataset.status = "DONE";
      setStatus("done", t("done"));
      resultEl.hidden = false;
      document.getElementById("result-heading").focus();
    } else {
      showFailure(view.reason || "");
      if (listEl.childNodes.length > 0) {
        resultEl.hidden = false;
      }
    }
  }

  function fetchResult() {
    fetch("page-result", { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(showResult)
      .catch(function () {
        showFailure(t("no_result"));
      });
  }

  var finished = false;
  function onStatus(status) {
    if (finished) {
      return;
    }
    main.dataset.status = status;
    if (status === "INITIALIZED") {
      setStatus("waiting", t("waiting"));
    } else if (status === "CONNECTED") {
      setStatus("connected", t("connected"));
    } else {
      finished = true;
      if (source) {
        source.close();
      }
      if (status === "DONE") {
        setStatus("connected", t("checking"));
        fetchResult();
      } else if (status === "TIMEOUT") {
        showFailure(t("timeout"));
      } else {
        showFailure(t("cancelled"));
      }
    }
  }

  var source = null;
  if (window.EventSource) {
    source = new EventSource("statusevents");
    source.onmessage = function (ev) {
      try {
        onStatus(JSON.parse(ev.data));
      } catch (e) {
        /* ignore a malformed event; the next one carries the full status */
      }
    };
    source.onerror = function () {
      if (!finished && source.readyState === EventSource.CLOSED) {
        showFailure(t("connection_lost"));
      }
    };
  } else {
    setStatus("failed", t("no_sse"));
  }
})();
