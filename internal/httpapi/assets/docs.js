// The API reference's "try it" forms: each sends its request with the
// token typed at the top of the page (kept in this tab only) and shows the
// answer. No library; the page works without it, minus the sending.
"use strict";
(function () {
  var token = document.getElementById("token");
  try { token.value = sessionStorage.getItem("greenlang-token") || ""; } catch (e) {}
  token.addEventListener("change", function () {
    try { sessionStorage.setItem("greenlang-token", token.value); } catch (e) {}
  });
  document.querySelectorAll("form.try").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var out = form.querySelector("output");
      var path = form.dataset.path.replace(/\{([^}]+)\}/g, function (_, name) {
        return encodeURIComponent(form.elements["path." + name].value);
      });
      var q = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.name.indexOf("query.") === 0 && el.value !== "") {
          q.append(el.name.slice(6), el.value);
        }
      });
      if (q.toString() !== "") { path += "?" + q.toString(); }
      var init = { method: form.dataset.method, headers: {} };
      if (token.value) { init.headers["Authorization"] = "Bearer " + token.value; }
      var body = form.elements["body"];
      if (body && body.value.trim() !== "") {
        init.headers["Content-Type"] = "application/json";
        init.body = body.value;
      }
      out.textContent = form.dataset.method + " " + path + " …";
      fetch(path, init).then(function (res) {
        return res.text().then(function (text) {
          try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) {}
          out.textContent = res.status + " " + res.statusText + "\n" + text;
        });
      }).catch(function (err) { out.textContent = "request failed: " + err; });
    });
  });
})();
