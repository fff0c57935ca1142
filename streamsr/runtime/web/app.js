// streamsr web view: live players (MSE over a WebSocket, MJPEG fallback), grid, camera page,
// gallery. No framework, no external resource; served from /static/ under a CSP that allows
// this origin only.
"use strict";

const LIVE_BEHIND_S = 1.0; // jump to the live edge when the buffer is further behind than this
const LIVE_EASE_S = 0.15; // further behind than this: play at 1.1x until back
const KEEP_S = 10; // seconds of played media kept in the SourceBuffer
const POLL_MS = 1000;
const MAX_SAMPLES = 2000;

const forceMjpeg = new URLSearchParams(location.search).has("mjpeg");

function mseUsable() {
  return !forceMjpeg && "MediaSource" in window &&
    MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01F"');
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (r.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new Error("unauthorised");
  }
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return r.json();
}

const api = (name, rest) => "/api/cameras/" + encodeURIComponent(name) + rest;

// Everything a test or a benchmark reads: one entry per player.
window.streamsr = { players: [] };

// One live picture in a container: a <video> fed by MSE (or an <img> for MJPEG) and a
// <canvas> above it for the enhanced-region marks.
class LivePlayer {
  constructor(container, camera, picture) {
    this.container = container;
    this.camera = camera;
    this.picture = picture;
    this.marks = true;
    this.metas = []; // {t, decoded_ms, boxes} of the frames appended, oldest first
    this.latencies = []; // glass-to-glass ms: decoder to presentation on this page
    this.frames = 0;
    this.mode = mseUsable() ? "mse" : "mjpeg";
    this.canvas = el("canvas");
    this.closed = false;
    window.streamsr.players.push(this);
    if (this.mode === "mse") this.startMse(); else this.startMjpeg();
    container.append(this.canvas);
  }

  startMjpeg() {
    this.img = el("img", { alt: this.camera + " " + this.picture, src: api(this.camera, "/mjpeg/" + this.picture) });
    this.img.addEventListener("load", () => { this.frames++; });
    this.container.append(this.img);
  }

  startMse() {
    this.video = el("video", { muted: "", autoplay: "", playsinline: "" });
    this.video.muted = true;
    this.container.append(this.video);
    this.queue = [];
    this.connect();
    const onFrame = (now, md) => {
      if (this.closed) return;
      this.frames++;
      this.onPresented(md);
      this.video.requestVideoFrameCallback(onFrame);
    };
    if ("requestVideoFrameCallback" in this.video) this.video.requestVideoFrameCallback(onFrame);
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + api(this.camera, "/live/" + this.picture));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    const text = new TextDecoder();
    ws.onmessage = (ev) => {
      // one message: a 4-byte big-endian JSON length, the JSON, the media
      const n = new DataView(ev.data).getUint32(0);
      const meta = JSON.parse(text.decode(new Uint8Array(ev.data, 4, n)));
      const media = new Uint8Array(ev.data, 4 + n);
      if (meta.type === "init") this.newSource(meta.mime);
      else if (meta.type === "frame") {
        this.metas.push(meta);
        if (this.metas.length > 600) this.metas.splice(0, 300);
      }
      this.queue.push(media);
      this.pump();
    };
    ws.onclose = () => {
      if (!this.closed) setTimeout(() => this.connect(), 1000); // the server restarts the stream
    };
  }

  newSource(mime) {
    this.queue = [];
    this.sb = null;
    const ms = new MediaSource();
    this.ms = ms;
    this.video.src = URL.createObjectURL(ms);
    ms.addEventListener("sourceopen", () => {
      if (this.ms !== ms) return;
      this.sb = ms.addSourceBuffer(mime);
      this.sb.mode = "segments";
      this.sb.addEventListener("updateend", () => { this.catchUp(); this.pump(); });
      this.pump();
    }, { once: true });
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || !this.queue.length) return;
    try {
      sb.appendBuffer(this.queue.shift());
    } catch (e) { // QuotaExceeded: drop what was played and go on
      this.queue = [];
      this.trim(true);
    }
  }

  // Keep the picture under LIVE_BEHIND_S behind the newest frame received, as Frigate's and
  // go2rtc's MSE players do; trim what has been played.
  catchUp() {
    const v = this.video, b = this.sb && this.sb.buffered;
    if (!b || !b.length) return;
    const end = b.end(b.length - 1), behind = end - v.currentTime;
    if (v.currentTime < b.start(0) || behind > LIVE_BEHIND_S) {
      v.currentTime = Math.max(b.start(b.length - 1), end - 0.05);
    } else {
      // a little behind: play a little faster until the buffer is back near the edge
      v.playbackRate = behind > LIVE_EASE_S ? 1.1 : 1.0;
    }
    if (v.paused) v.play().catch(() => {});
    this.trim(false);
  }

  trim(force) {
    const sb = this.sb;
    if (!sb || sb.updating || !sb.buffered.length) return;
    const start = sb.buffered.start(0), now = this.video.currentTime;
    if (force || now - start > KEEP_S * 2) {
      try { sb.remove(start, Math.max(start, now - KEEP_S)); } catch (e) { /* next time */ }
    }
  }

  onPresented(md) {
    // the frame's metadata: the nearest in time to what is on screen
    let best = null, bestD = 1e9;
    for (let i = this.metas.length - 1; i >= 0; i--) {
      const d = Math.abs(this.metas[i].t - md.mediaTime);
      if (d < bestD) { bestD = d; best = this.metas[i]; }
      if (this.metas[i].t < md.mediaTime - 1) break;
    }
    if (best && bestD < 0.02) {
      const shown = performance.timeOrigin + md.presentationTime;
      this.latencies.push(shown - best.decoded_ms);
      if (this.latencies.length > MAX_SAMPLES) this.latencies.splice(0, MAX_SAMPLES / 2);
    }
    this.draw(best && bestD < 0.1 ? best.boxes : []);
  }

  draw(boxes) {
    const c = this.canvas, v = this.video;
    const w = c.clientWidth, h = c.clientHeight;
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, h);
    if (!this.marks || !boxes.length || !v.videoWidth) return;
    // the picture's place inside the element (object-fit: contain)
    const s = Math.min(w / v.videoWidth, h / v.videoHeight);
    const pw = v.videoWidth * s, ph = v.videoHeight * s, ox = (w - pw) / 2, oy = (h - ph) / 2;
    g.strokeStyle = "#33d17a"; g.fillStyle = "#33d17a"; g.lineWidth = 2; g.font = "12px sans-serif";
    for (const [x0, y0, x1, y1, track] of boxes) {
      g.strokeRect(ox + x0 * pw, oy + y0 * ph, (x1 - x0) * pw, (y1 - y0) * ph);
      g.fillText(track >= 0 ? "SR " + track : "SR", ox + x0 * pw + 2, Math.max(12, oy + y0 * ph - 4));
    }
  }

  setMarks(on) { this.marks = on; if (!on) this.draw([]); }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
    if (this.img) this.img.src = "";
  }
}

function stateBadge(node, state) {
  node.textContent = state;
  node.className = "state " + state;
}

function statsText(c) {
  const fps = (c.fps_out ?? 0).toFixed(1);
  return fps + " fps · " + (c.faces ?? 0) + " faces · " + (c.frames_dropped ?? 0) + " dropped";
}

// -- the grid -------------------------------------------------------------------------------

async function gridPage() {
  const grid = document.getElementById("grid");
  const tiles = new Map();
  async function refresh() {
    let cams;
    try { cams = await getJSON("/api/cameras"); } catch (e) { return; }
    document.getElementById("summary").textContent = cams.length + " camera(s)";
    const names = new Set(cams.map((c) => c.name));
    for (const [name, t] of tiles) {
      if (!names.has(name)) { t.player.close(); t.node.remove(); tiles.delete(name); }
    }
    for (const c of cams) {
      let t = tiles.get(c.name);
      if (!t) {
        const view = el("a", { class: "view", href: "/camera/" + encodeURIComponent(c.name) });
        const state = el("span", { class: "state" });
        const stats = el("span", { class: "muted" });
        const node = el("article", { class: "tile", "data-camera": c.name },
          view, el("div", { class: "info" }, el("span", { class: "name", text: c.name }), state, stats));
        grid.append(node);
        t = { node, state, stats, player: new LivePlayer(view, c.name, "enhanced") };
        tiles.set(c.name, t);
      }
      stateBadge(t.state, c.state);
      t.stats.textContent = statsText(c) + (c.error ? " · " + c.error : "");
    }
    grid.style.setProperty("--cols", String(Math.max(1, Math.ceil(Math.sqrt(cams.length)))));
  }
  await refresh();
  setInterval(refresh, POLL_MS);
}

// -- one camera -----------------------------------------------------------------------------

function faceCard(t) {
  const base = api(t.camera, "/tracks/" + t.track);
  const img = el("img", { alt: "track " + t.track + ": bicubic and enhanced", src: base + "/pair.png?v=" + Math.round(t.score) });
  const seen = (s) => new Date(s * 1000).toLocaleTimeString();
  return el("div", { class: "face", "data-track": String(t.track) }, img,
    el("div", { class: "meta", text: t.camera + " · track " + t.track + " · " + t.side_px + " px · first " + seen(t.first_seen) + " · last " + seen(t.last_seen) }),
    el("div", { class: "meta" },
      el("a", { href: base + "/enhanced.png?download=1", text: "enhanced.png" }), " ",
      el("a", { href: base + "/bicubic.png?download=1", text: "bicubic.png" }), " ",
      el("a", { href: base + "/pair.png?download=1", text: "pair.png" })));
}

function showTracks(node, tracks) {
  const withImage = tracks.filter((t) => t.has_image);
  const key = withImage.map((t) => t.camera + "/" + t.track + "/" + Math.round(t.score)).join(",");
  if (node.dataset.key === key) return;
  node.dataset.key = key;
  node.replaceChildren(...withImage.slice(0, 48).map(faceCard));
}

async function cameraPage() {
  const name = decodeURIComponent(location.pathname.split("/").pop());
  document.title = "streamsr: " + name;
  document.getElementById("camera-name").textContent = name;
  const players = [
    new LivePlayer(document.getElementById("player-original"), name, "original"),
    new LivePlayer(document.getElementById("player-enhanced"), name, "enhanced"),
  ];
  const marks = document.getElementById("marks");
  marks.addEventListener("change", () => players.forEach((p) => p.setMarks(marks.checked)));
  async function refresh() {
    try {
      const c = await getJSON(api(name, ""));
      stateBadge(document.getElementById("camera-state"), c.state);
      document.getElementById("camera-stats").textContent = statsText(c) +
        (c.size_wh ? " · " + c.input_size_wh.join("×") + " → " + c.size_wh.join("×") : "") + (c.error ? " · " + c.error : "");
      showTracks(document.getElementById("tracks"), await getJSON(api(name, "/tracks")));
      const recs = await getJSON(api(name, "/recordings"));
      document.getElementById("recordings").replaceChildren(...recs.map((r) =>
        el("li", {}, el("a", { href: api(name, "/recordings/" + encodeURIComponent(r.name)), text: r.name }),
          " (" + (r.bytes / 1e6).toFixed(1) + " MB)")));
    } catch (e) { /* shown on the next poll */ }
  }
  await refresh();
  setInterval(refresh, POLL_MS);
}

// -- the gallery ----------------------------------------------------------------------------

async function galleryPage() {
  const node = document.getElementById("gallery");
  async function refresh() {
    try { showTracks(node, await getJSON("/api/tracks")); } catch (e) { /* next poll */ }
  }
  await refresh();
  setInterval(refresh, POLL_MS);
}

function loginPage() {
  const next = new URLSearchParams(location.search).get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) document.getElementById("next").value = next;
}

const pages = { grid: gridPage, camera: cameraPage, gallery: galleryPage, login: loginPage };
(pages[document.body.dataset.page] || (() => {}))();
