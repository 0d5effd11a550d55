// Each chosen photo is checked at once (one face, big and sharp enough), before enrolling.
"use strict";
(function () {
  const input = document.getElementById("photos");
  const list = document.getElementById("photo-feedback");
  const form = document.getElementById("enroll");
  if (!input || !list || !form) return;
  const csrf = form.querySelector("input[name=csrf]").value;
  input.addEventListener("change", function () {
    list.textContent = "";
    for (const file of input.files) {
      const item = document.createElement("li");
      item.className = "checking";
      item.textContent = file.name + ": checking…";
      list.appendChild(item);
      const body = new FormData();
      body.append("photo", file);
      fetch("/residents/photo-check", {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf },
      })
        .then(function (response) {
          if (response.status === 413) return { accepted: false, reason: "too large" };
          return response.json();
        })
        .then(function (result) {
          item.className = result.accepted ? "accepted" : "refused";
          item.textContent = file.name + ": " + (result.accepted ? "good" : result.reason);
        })
        .catch(function () {
          item.className = "refused";
          item.textContent = file.name + ": could not be checked (is the gateway running?)";
        });
    }
  });
})();
