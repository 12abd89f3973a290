// Live page: camera frames → JPEG → WebSocket → faces drawn over the video.
// At most MAX_IN_FLIGHT frames wait for an answer; the next frame is sent when one arrives,
// so a slow server lowers the frame rate instead of building a queue.
"use strict";

(() => {
  const root = document.getElementById("live");
  if (!root) return;

  const MAX_IN_FLIGHT = 2;
  const MAX_WIDTH = 640;
  const MAX_HEIGHT = 480;
  const JPEG_QUALITY = 0.8;
  const MAX_FPS = Number(root.dataset.maxFps) || 15;
  const FRAME_TIMEOUT_MS = 5000; // a frame unanswered this long no longer counts as in flight
  const STOP_TIMEOUT_MS = 10000;
  const NO_FACE_HINT_MS = 2000; // answers without a face this long while streaming show the hint
  const CHART_UPDATE_MS = 250; // the rolling chart redraws at most this often
  const MIRROR_KEY = "moodlens.live.mirror"; // localStorage: "false" when the person turned mirroring off
  const MODEL_UNAVAILABLE = 4503; // close code sent by the server
  // Close codes after which reconnecting would only be refused again (emotions/consumers.py).
  const FINAL_CLOSES = {
    [MODEL_UNAVAILABLE]: "The server has no recognition model loaded, so it cannot recognise faces. Ask an administrator.",
    4429: "You have too many live sessions open (other tabs or devices). Close one, then press Start again.",
    4400: "The server closed the connection after too many messages it could not use. Reload the page.",
    4409: "This session continues in another tab or window.",
    // 4502 (the server could not open the session, e.g. its database is down) is not final: reconnect.
  };

  const $ = (id) => document.getElementById(id);
  const el = {
    start: $("start"), stop: $("stop"), status: $("status"), stage: $("stage"), video: $("video"),
    overlay: $("overlay"), capture: $("capture"), fps: $("fps"), latency: $("latency"),
    serverMs: $("server-ms"), model: $("model"), session: $("session"), faces: $("faces"), bars: $("bars"),
    panelTitle: $("panel-face"), mirror: $("mirror"), camera: $("camera"), cameraChoice: $("camera-choice"),
    noFace: $("no-face-hint"), chart: $("recent-chart"), chartFace: $("recent-face"),
  };
  const emotions = [...el.bars.querySelectorAll("li")].map((li) => li.dataset.emotion);
  const rootStyle = getComputedStyle(document.documentElement);
  const colours = Object.fromEntries(emotions.map((e) => [e, rootStyle.getPropertyValue(`--${e}`).trim() || "#3656d8"]));
  const overlayContext = el.overlay.getContext("2d");
  const captureContext = el.capture.getContext("2d");

  const state = {
    running: false, stopping: false, camera: null, socket: null, sessionId: null, sessionActive: false,
    nextFrame: 0, inFlight: new Map(), encoding: false, lastSent: 0, timer: null, watchdog: null,
    reconnects: 0, reconnectTimer: null, stopTimer: null, resultTimes: [], latencies: [], width: 0, height: 0,
    panelTrack: null, lastFaces: [], deviceId: null, lastFaceAt: 0, chartTrack: null, chartDrawnAt: 0, chartTimer: null,
  };

  const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);

  function setStatus(kind, text, link) {
    el.status.dataset.state = kind;
    el.status.textContent = text;
    if (link) {
      el.status.append(" ");
      const anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      el.status.append(anchor);
    }
  }

  // --- camera ---------------------------------------------------------------------------------

  async function start() {
    if (state.running) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      setStatus("error", "This browser cannot use a camera on this page (it needs HTTPS or localhost).");
      return;
    }
    el.start.disabled = true;
    setStatus("starting", "Asking for the camera…");
    try {
      state.camera = await openCamera();
    } catch (error) {
      el.start.disabled = false;
      const name = (error && error.name) || String(error);
      if (name === "NotAllowedError" || name === "SecurityError") {
        setStatus("refused", "Camera access was refused. Allow the camera for this site (icon in the address bar), then press Start again.");
      } else if (name === "NotFoundError" || name === "OverconstrainedError") {
        setStatus("refused", "No camera was found. Connect one, then press Start again.");
      } else {
        setStatus("refused", `The camera could not be started (${name}). Is another program using it?`);
      }
      return;
    }
    await showCamera();
    listCameras();
    el.stage.classList.add("active");
    state.running = true;
    state.stopping = false;
    state.reconnects = 0;
    state.sessionId = null; // a new session; a reconnect while running resumes it
    state.lastFaceAt = performance.now();
    clearChart();
    el.stop.disabled = false;
    state.watchdog = setInterval(pump, 1000);
    connect();
  }

  function openCamera() {
    const video = { width: { ideal: MAX_WIDTH }, height: { ideal: MAX_HEIGHT } };
    if (state.deviceId) video.deviceId = { exact: state.deviceId };
    return navigator.mediaDevices.getUserMedia({ video, audio: false });
  }

  async function showCamera() {
    el.video.srcObject = state.camera;
    await el.video.play().catch(() => {});
    await new Promise((resolve) => {
      if (el.video.videoWidth) resolve();
      else el.video.addEventListener("loadedmetadata", resolve, { once: true });
    });
    sizeCanvases();
    const track = state.camera.getVideoTracks()[0];
    const settings = track && track.getSettings ? track.getSettings() : {};
    if (settings.deviceId) state.deviceId = settings.deviceId;
  }

  // The camera choice: filled once the camera is allowed (devices have no labels before), shown
  // only when there are several.
  async function listCameras() {
    if (!navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    const cameras = devices.filter((device) => device.kind === "videoinput" && device.deviceId);
    el.camera.replaceChildren(...cameras.map((camera, index) => {
      const option = document.createElement("option");
      option.value = camera.deviceId;
      option.textContent = camera.label || `Camera ${index + 1}`;
      option.selected = camera.deviceId === state.deviceId;
      return option;
    }));
    el.cameraChoice.hidden = cameras.length < 2;
    el.cameraChoice.dataset.cameras = String(cameras.length);
  }

  // Another camera while streaming: its stream replaces the old one; the session goes on.
  async function switchCamera() {
    state.deviceId = el.camera.value;
    if (!state.running) return;
    const previous = state.camera;
    try {
      state.camera = await openCamera();
    } catch (error) {
      setStatus("warning", `That camera could not be started (${(error && error.name) || error}); keeping the one in use.`);
      return;
    }
    if (previous) previous.getTracks().forEach((track) => track.stop());
    if (!state.running) { // stopped while the new camera was opening
      state.camera.getTracks().forEach((track) => track.stop());
      state.camera = null;
      return;
    }
    await showCamera();
  }

  // --- mirror ---------------------------------------------------------------------------------

  // A selfie view: the video is flipped by CSS, the overlay's boxes by drawOverlay (not its text).
  const mirrored = () => el.mirror.checked;

  function applyMirror() {
    el.stage.classList.toggle("mirrored", mirrored());
    el.stage.dataset.mirrored = String(mirrored());
  }

  function sizeCanvases() {
    const scale = Math.min(1, MAX_WIDTH / el.video.videoWidth, MAX_HEIGHT / el.video.videoHeight);
    state.width = Math.round(el.video.videoWidth * scale);
    state.height = Math.round(el.video.videoHeight * scale);
    for (const canvas of [el.capture, el.overlay]) {
      canvas.width = state.width;
      canvas.height = state.height;
    }
    el.stage.style.aspectRatio = `${state.width} / ${state.height}`;
  }

  function stopCamera() {
    if (state.camera) state.camera.getTracks().forEach((track) => track.stop());
    state.camera = null;
    el.video.srcObject = null;
    el.stage.classList.remove("active");
    clearInterval(state.watchdog);
    showResult({ ms: null, faces: [] }); // no stale box or numbers over "Camera off"
    el.noFace.hidden = true;
  }

  // --- connection -----------------------------------------------------------------------------

  function connect() {
    clearTimeout(state.reconnectTimer);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // After a dropped connection, ask the server to continue the same session (maybe on another process).
    const resume = state.sessionId === null ? "" : `?resume=${encodeURIComponent(state.sessionId)}`;
    const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.wsPath}${resume}`);
    socket.binaryType = "arraybuffer";
    state.socket = socket;
    state.nextFrame = 0; // the server numbers frames per connection, a resumed session's too
    state.inFlight.clear();
    state.sessionActive = false;
    if (!state.reconnects) setStatus("connecting", "Connecting to the server…");
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "start", width: state.width, height: state.height }));
    });
    socket.addEventListener("message", (event) => {
      if (socket !== state.socket || typeof event.data !== "string") return;
      try {
        handleMessage(JSON.parse(event.data));
      } catch (error) {
        console.error("bad message from the server", error);
      }
    });
    socket.addEventListener("close", (event) => {
      if (socket === state.socket) handleClose(event);
    });
  }

  function handleClose(event) {
    state.socket = null;
    state.sessionActive = false;
    state.inFlight.clear();
    state.encoding = false;
    if (state.stopping) {
      finishStop(null);
      return;
    }
    if (!state.running) return;
    if (event.code in FINAL_CLOSES) {
      setStatus("error", FINAL_CLOSES[event.code]);
      state.running = false;
      stopCamera();
      el.start.disabled = false;
      el.stop.disabled = true;
      return;
    }
    state.reconnects += 1;
    const delay = Math.min(10000, 1000 * 2 ** Math.min(state.reconnects - 1, 4));
    setStatus("reconnecting", `The connection to the server dropped. Reconnecting in ${Math.round(delay / 1000)} s…`);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  function handleMessage(message) {
    switch (message.type) {
      case "session":
        if (message.id !== state.sessionId) {
          state.sessionId = message.id;
          state.nextFrame = 0;
          state.inFlight.clear();
        }
        state.sessionActive = true;
        state.reconnects = 0;
        el.session.textContent = `#${message.id}`;
        el.model.textContent = message.model || "–";
        setStatus("running", "Live: recognising faces.");
        pump();
        break;
      case "result":
        recordLatency(answered(message.frame));
        if (!state.running) break; // answers to frames sent before Stop: the camera is off, draw nothing
        showResult(message);
        showNoFaceHint(message.faces || []);
        addToChart(message);
        if (el.status.dataset.state !== "running") setStatus("running", "Live: recognising faces.");
        pump();
        break;
      case "dropped":
        answered(message.frame);
        pump();
        break;
      case "error":
        if (message.frame !== undefined) answered(message.frame);
        setStatus("error", `The server could not use a frame: ${message.error}`);
        pump();
        break;
      case "model":
        el.model.textContent = message.label;
        break;
      case "notice":
        setStatus(message.level === "ok" ? "running" : "warning", message.notice);
        break;
      case "stopped":
        finishStop(message);
        break;
      default:
        break;
    }
  }

  // --- frames ---------------------------------------------------------------------------------

  function answered(frame) {
    const sentAt = state.inFlight.get(frame);
    state.inFlight.delete(frame);
    return sentAt === undefined ? null : performance.now() - sentAt;
  }

  function pump() {
    clearTimeout(state.timer);
    state.timer = null;
    const socket = state.socket;
    if (!state.running || !state.sessionActive || !socket || socket.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    for (const [frame, sentAt] of state.inFlight) {
      if (now - sentAt > FRAME_TIMEOUT_MS) state.inFlight.delete(frame);
    }
    if (state.encoding || state.inFlight.size >= MAX_IN_FLIGHT) return;
    const wait = state.lastSent + 1000 / MAX_FPS - now;
    if (wait > 0 || el.video.readyState < 2) {
      state.timer = setTimeout(pump, Math.max(wait, 20));
      return;
    }
    state.encoding = true;
    state.lastSent = now;
    captureContext.drawImage(el.video, 0, 0, state.width, state.height);
    el.capture.toBlob((blob) => {
      if (!blob) {
        state.encoding = false;
        return;
      }
      blob.arrayBuffer().then((buffer) => {
        state.encoding = false;
        if (socket !== state.socket || socket.readyState !== WebSocket.OPEN || !state.sessionActive) return;
        state.inFlight.set(state.nextFrame, performance.now());
        state.nextFrame += 1;
        socket.send(buffer);
        pump();
      });
    }, "image/jpeg", JPEG_QUALITY);
  }

  function recordLatency(ms) {
    const now = performance.now();
    state.resultTimes.push(now);
    while (state.resultTimes.length && now - state.resultTimes[0] > 2000) state.resultTimes.shift();
    el.fps.textContent = `${(state.resultTimes.length / 2).toFixed(1)} fps`;
    if (ms === null) return;
    state.latencies.push(ms);
    if (state.latencies.length > 20) state.latencies.shift();
    const mean = state.latencies.reduce((sum, value) => sum + value, 0) / state.latencies.length;
    el.latency.textContent = `${Math.round(mean)} ms`;
  }

  // Each face keeps its number ("Face 2") for as long as it stays in view: the server tracks faces
  // across frames and sends their boxes and probabilities smoothed over the last few frames.
  const faceName = (face) => `Face ${face.track}`;

  // The face the bars show: the one they showed, while it stays in view; else the largest.
  function panelFace(faces) {
    const kept = faces.find((face) => face.track === state.panelTrack);
    const chosen = kept || faces.reduce((best, face) => (
      !best || face.box[2] * face.box[3] > best.box[2] * best.box[3] ? face : best), null);
    state.panelTrack = chosen ? chosen.track : null;
    return chosen;
  }

  function showResult(message) {
    el.serverMs.textContent = message.ms === null ? "–" : `${message.ms} ms`;
    const faces = message.faces || [];
    state.lastFaces = faces;
    drawOverlay(faces);
    const byTrack = [...faces].sort((a, b) => a.track - b.track);
    el.faces.replaceChildren(...byTrack.map((face) => {
      const item = document.createElement("li");
      const confidence = face.scores[face.emotion];
      item.dataset.track = String(face.track);
      item.dataset.emotion = face.emotion;
      item.dataset.confidence = confidence.toFixed(3);
      item.dataset.box = face.box.join(",");
      item.dataset.overlayBox = overlayBox(face.box).join(",");
      item.textContent = `${faceName(face)}: ${capitalise(face.emotion)} ${Math.round(confidence * 100)}% — ${face.box[2]}×${face.box[3]} px at (${face.box[0]}, ${face.box[1]})`;
      return item;
    }));
    const shown = panelFace(faces);
    el.panelTitle.textContent = shown ? faceName(shown) : "No face";
    el.bars.dataset.track = shown ? String(shown.track) : "";
    for (const item of el.bars.querySelectorAll("li")) {
      const value = shown ? shown.scores[item.dataset.emotion] : 0;
      item.querySelector(".fill").style.width = `${Math.round(value * 100)}%`;
      item.querySelector(".value").textContent = shown ? `${Math.round(value * 100)}%` : "–";
    }
  }

  // Where a face's box lies on the overlay: as found, or flipped left-right over a mirrored video.
  function overlayBox([x, y, w, h]) {
    return mirrored() ? [el.overlay.width - x - w, y, w, h] : [x, y, w, h];
  }

  function drawOverlay(faces) {
    const context = overlayContext;
    context.clearRect(0, 0, el.overlay.width, el.overlay.height);
    const fontSize = Math.max(14, Math.round(el.overlay.width / 36));
    context.font = `600 ${fontSize}px system-ui, sans-serif`;
    context.textBaseline = "top";
    for (const face of faces) {
      const [x, y, w, h] = overlayBox(face.box);
      const colour = colours[face.emotion] || "#3656d8";
      context.lineWidth = 3;
      context.strokeStyle = colour;
      context.strokeRect(x, y, w, h);
      const label = `${faceName(face)}: ${capitalise(face.emotion)} ${Math.round(face.scores[face.emotion] * 100)}%`;
      const labelWidth = context.measureText(label).width + 10;
      const labelHeight = fontSize + 8;
      const labelY = y >= labelHeight ? y - labelHeight : y + h;
      context.fillStyle = colour;
      context.fillRect(x - 1.5, labelY, labelWidth, labelHeight);
      context.fillStyle = face.emotion === "happy" ? "#222" : "#fff";
      context.fillText(label, x + 4, labelY + 4);
    }
  }

  // --- no face hint ---------------------------------------------------------------------------

  function showNoFaceHint(faces) {
    const now = performance.now();
    if (faces.length) state.lastFaceAt = now;
    el.noFace.hidden = !state.running || now - state.lastFaceAt < NO_FACE_HINT_MS;
  }

  // --- rolling chart --------------------------------------------------------------------------

  // The shown face's probabilities over the last CHART_SECONDS: points are added with each answer,
  // the chart redrawn at most every CHART_UPDATE_MS, without animation.
  const CHART_SECONDS = Number(el.chart.dataset.seconds) || 30;
  const chart = typeof Chart === "undefined" ? null : new Chart(el.chart, {
    type: "line",
    data: {
      datasets: emotions.map((emotion) => ({
        label: capitalise(emotion), data: [], borderColor: colours[emotion], backgroundColor: colours[emotion],
        borderWidth: 2, pointRadius: 0, tension: 0.2,
      })),
    },
    options: {
      maintainAspectRatio: false, animation: false, parsing: false, normalized: true,
      interaction: { mode: "index", intersect: false },
      scales: {
        // A tick every 5 s before now, labelled by how long ago (the points keep their own time).
        x: { type: "linear", min: -CHART_SECONDS, max: 0,
          afterBuildTicks: (axis) => {
            axis.ticks = Array.from({ length: CHART_SECONDS / 5 + 1 }, (_, i) => ({ value: axis.max - CHART_SECONDS + 5 * i }));
          },
          ticks: { callback: (value, index, ticks) => `${Math.round(value - ticks[ticks.length - 1].value)} s` } },
        y: { min: 0, max: 1, ticks: { callback: (value) => `${Math.round(value * 100)}%` } },
      },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${Math.round(item.parsed.y * 100)}%` } } },
    },
  });

  function clearChart() {
    state.chartTrack = null;
    el.chartFace.textContent = "no face yet";
    if (!chart) return;
    chart.data.datasets.forEach((dataset) => { dataset.data = []; });
    drawChart();
  }

  function addToChart(message) {
    if (!chart) return;
    const now = performance.now() / 1000;
    const shown = (message.faces || []).find((face) => face.track === state.panelTrack);
    if (shown && shown.track !== state.chartTrack) { // another face: its own history, not the last one's
      clearChart();
      state.chartTrack = shown.track;
      el.chartFace.textContent = faceName(shown);
    }
    chart.data.datasets.forEach((dataset, index) => {
      if (shown) dataset.data.push({ x: now, y: shown.scores[emotions[index]] });
      while (dataset.data.length && dataset.data[0].x < now - CHART_SECONDS) dataset.data.shift();
    });
    if (!state.chartTimer) {
      state.chartTimer = setTimeout(drawChart, Math.max(0, state.chartDrawnAt + CHART_UPDATE_MS - performance.now()));
    }
  }

  function drawChart() {
    clearTimeout(state.chartTimer);
    state.chartTimer = null;
    state.chartDrawnAt = performance.now();
    const now = state.chartDrawnAt / 1000;
    chart.options.scales.x.min = now - CHART_SECONDS;
    chart.options.scales.x.max = now;
    chart.update("none");
    el.chart.dataset.points = String(chart.data.datasets[0].data.length);
  }

  // --- stop -----------------------------------------------------------------------------------

  function stop() {
    if (!state.running) return;
    state.running = false;
    el.stop.disabled = true;
    clearTimeout(state.timer);
    clearTimeout(state.reconnectTimer);
    stopCamera();
    const socket = state.socket;
    if (socket && socket.readyState === WebSocket.OPEN && state.sessionActive) {
      state.stopping = true;
      state.sessionActive = false;
      setStatus("stopping", "Saving the session…");
      socket.send(JSON.stringify({ type: "stop" }));
      state.stopTimer = setTimeout(() => finishStop(null), STOP_TIMEOUT_MS);
    } else {
      finishStop(null);
    }
  }

  function finishStop(message) {
    clearTimeout(state.stopTimer);
    const socket = state.socket;
    state.socket = null;
    state.stopping = false;
    state.sessionActive = false;
    state.inFlight.clear();
    if (socket) socket.close(1000);
    el.start.disabled = false;
    el.stop.disabled = true;
    if (message) {
      const link = { href: `${root.dataset.historyUrl}${message.id}/`, text: "See its charts." };
      setStatus("stopped", `Session saved: ${message.frames} frames, ${message.faces} faces.`, link);
      root.dataset.lastSession = String(message.id);
    } else {
      setStatus("stopped", "Stopped.");
    }
  }

  // Storage may be refused (privacy settings): the toggle then lasts for the page only.
  const remembered = (use) => { try { return use(); } catch (error) { return null; } };
  el.mirror.checked = remembered(() => localStorage.getItem(MIRROR_KEY)) !== "false";
  applyMirror();
  el.mirror.addEventListener("change", () => {
    remembered(() => localStorage.setItem(MIRROR_KEY, String(mirrored())));
    applyMirror();
    drawOverlay(state.lastFaces);
  });
  el.camera.addEventListener("change", switchCamera);
  el.start.addEventListener("click", start);
  el.stop.addEventListener("click", stop);
  window.addEventListener("pagehide", () => {
    if (state.socket) state.socket.close(1000); // the server writes the session at disconnect
  });
})();
