// History charts (Chart.js, served locally). Each <canvas data-chart="kind" data-source="id"> reads the
// JSON of <script id="id" type="application/json"> and gets data-rendered="true" once its chart exists.
"use strict";

(() => {
  if (typeof Chart === "undefined") return;

  const rootStyle = getComputedStyle(document.documentElement);
  const colour = (emotion) => rootStyle.getPropertyValue(`--${emotion}`).trim() || "#3656d8";
  const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);
  const percent = (value) => `${Math.round(value * 100)}%`;
  // Seconds as m:ss, as the server writes offsets (emotions/clock.py).
  const clock = (seconds) => {
    const whole = Math.round(seconds);
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  };

  Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  Chart.defaults.color = rootStyle.getPropertyValue("--muted").trim() || "#5b6478";

  const builders = {
    // The main face's seven probabilities over time: one line each.
    timeline(data) {
      return {
        type: "line",
        data: {
          datasets: Object.entries(data.series).map(([emotion, values]) => ({
            label: capitalise(emotion), data: values.map((y, i) => ({ x: data.seconds[i], y })), borderColor: colour(emotion), backgroundColor: colour(emotion),
            borderWidth: 2, pointRadius: data.seconds.length > 60 ? 0 : 2, tension: 0.25,
          })),
        },
        options: {
          maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
          scales: {
            x: { type: "linear", title: { display: true, text: "time (m:ss)" }, ticks: { callback: clock } },
            y: { min: 0, max: 1, ticks: { callback: percent }, title: { display: true, text: "probability" } },
          },
          plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${percent(item.parsed.y)}` } } },
        },
      };
    },

    // How often each emotion was the top one.
    distribution(data) {
      const emotions = Object.keys(data);
      return {
        type: "doughnut",
        data: {
          labels: emotions.map(capitalise),
          datasets: [{ data: emotions.map((e) => data[e]), backgroundColor: emotions.map(colour), borderWidth: 1 }],
        },
        options: { maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } },
      };
    },

    // Share of each emotion per day: stacked bars adding up to 100%.
    daily(days) {
      const emotions = days.length ? Object.keys(days[0].counts) : [];
      return {
        type: "bar",
        data: {
          labels: days.map((day) => day.day),
          datasets: emotions.map((emotion) => ({
            label: capitalise(emotion), backgroundColor: colour(emotion), maxBarThickness: 56,
            data: days.map((day) => day.shares[emotion]),
          })),
        },
        options: {
          maintainAspectRatio: false, animation: false,
          scales: { x: { stacked: true }, y: { stacked: true, min: 0, max: 1, ticks: { callback: percent } } },
          plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${percent(item.parsed.y)}` } } },
        },
      };
    },
  };

  for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
    const source = document.getElementById(canvas.dataset.source);
    const build = builders[canvas.dataset.chart];
    if (!source || !build) continue;
    new Chart(canvas, build(JSON.parse(source.textContent)));
    canvas.dataset.rendered = "true";
  }
})();
