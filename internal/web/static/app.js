// GreenLang dashboard: the only script. It shows an upload's progress;
// every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var bar = document.getElementById("upload-progress");
    var status = document.getElementById("upload-status");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round(e.loaded / e.total * 100);
        status.textContent = "Uploading: " + bar.value + " %";
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value"); // indeterminate while the server calculates
      status.textContent = "Calculating…";
    });
    xhr.addEventListener("load", function () {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      document.title = doc.title;
      document.body.replaceWith(doc.body);
      window.scrollTo(0, 0);
    });
    xhr.addEventListener("error", function () { status.textContent = "The upload failed: check the connection and try again."; });
    xhr.send(new FormData(form));
  });
});

// The devices page: latest readings and open alerts from the server's
// event stream (server-sent events), without a reload.
document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("devices");
  if (!table || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var src = new EventSource(table.dataset.live);
  src.addEventListener("live", function (ev) {
    var state = JSON.parse(ev.data);
    state.readings.forEach(function (r) {
      var li = table.querySelector('li[data-key="' + r.device + "/" + r.metric + '"]');
      if (!li) { return; }
      var val = r.value + " " + r.unit;
      if (li.querySelector(".val").textContent !== val) {
        li.querySelector(".val").textContent = val;
        li.querySelector(".at").textContent = r.time;
        li.classList.add("fresh");
        setTimeout(function () { li.classList.remove("fresh"); }, 1500);
      }
    });
    var list = document.getElementById("alerts");
    list.replaceChildren();
    if (state.alerts.length === 0) {
      var none = document.createElement("li");
      none.textContent = "None.";
      list.appendChild(none);
    }
    state.alerts.forEach(function (a) {
      var li = document.createElement("li");
      li.className = "sev-" + a.severity;
      var strong = document.createElement("strong");
      strong.textContent = a.severity;
      li.appendChild(strong);
      li.appendChild(document.createTextNode(" " + a.metric + ": " + a.message + " "));
      var small = document.createElement("small");
      small.textContent = a.raised;
      li.appendChild(small);
      list.appendChild(li);
    });
    status.textContent = "Live: updated " + new Date().toLocaleTimeString() + ".";
  });
  src.addEventListener("error", function () { status.textContent = "Reconnecting to the live feed…"; });
});
