// "Analyse a video": while an analysis is queued or running, poll /api/videos/{session}/ and show its progress.
(function () {
  "use strict";
  const POLL_MS = 1000;

  function render(row, video) {
    row.dataset.state = video.state;
    const state = row.querySelector(".state");
    if (video.state === "done") {
      state.textContent = "done";
      const link = document.createElement("a");
      link.href = "/history/" + video.session + "/";
      link.textContent = "Results";
      row.querySelector(".link").replaceChildren(link);
    } else if (video.state === "failed") {
      const error = document.createElement("span");
      error.className = "error";
      error.textContent = "failed: " + video.error;
      state.replaceChildren(error);
    } else {
      state.querySelector("progress").value = video.progress;
      state.querySelector(".label").textContent = video.state + " " + Math.round(video.progress * 100) + "%";
    }
  }

  function poll() {
    const rows = document.querySelectorAll("tr[data-video][data-state=queued], tr[data-video][data-state=running]");
    if (!rows.length) return;
    Promise.all(Array.from(rows, (row) =>
      fetch("/api/videos/" + row.dataset.video + "/", { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((video) => video && render(row, video))
        .catch(() => null)
    )).then(() => setTimeout(poll, POLL_MS));
  }

  setTimeout(poll, POLL_MS);
})();
