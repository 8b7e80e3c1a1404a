// The explorer page of specanim: plays the frames of a scene as its video does, from the data
// the page carries (#specanim-data), with Vega drawing the frames' vector parts and a canvas
// per box drawing the points. window.specanim is the page's handle (tests and notebooks use it).
"use strict";
(() => {
  const data = JSON.parse(document.getElementById("specanim-data").textContent);

  // Arrays come deflated (zlib) and base64-encoded.
  async function inflate(text) {
    const binary = atob(text), bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // The frame number of every frame's shot: a held shot shows in several frames.
  const shotOf = [];
  data.repeats.forEach((repeat, shot) => { for (let i = 0; i < repeat; i++) shotOf.push(shot); });
  const frames = shotOf.length;

  const stage = document.getElementById("stage");
  stage.style.width = data.width + "px";
  stage.style.height = data.height + "px";
  stage.style.background = data.background;
  const state = { frame: 0, shot: -1, playing: false, speed: 1, highlight: new Set(), paints: 0 };
  const api = { frames, paints: 0, state, data };
  window.specanim = api;

  let vector, view, embedded = null;

  // The full Vega-Lite of a shot: the template with the shot's values, or the shot's own.
  function shotSpec(shot) {
    const own = vector.frames[shot];
    if (own.spec) return own.spec;
    const spec = JSON.parse(JSON.stringify(vector.template));
    const values = own.values;
    (spec.params || []).forEach((p) => { if (p.name in values) p.value = values[p.name]; });
    for (const name of Object.keys(spec.datasets || {})) {
      if (name in values) spec.datasets[name] = values[name];
    }
    return spec;
  }
  api.frameSpec = (frame) => shotSpec(shotOf[frame]);
  api.vegaSignal = (name) => view.signal(name);
  api.view = () => view;

  async function embed(spec) {
    const result = await vegaEmbed("#vega", spec, { renderer: "canvas", actions: false, mode: "vega-lite" });
    view = result.view;
  }

  // The class a mark of Vega's names at a point of the page (a legend's entry, say): Vega-Lite
  // makes marks without selections deaf to events, so the scenegraph is searched here.
  function classAt(clientX, clientY) {
    const rect = document.querySelector("#vega canvas").getBoundingClientRect();
    const [ox, oy] = view.origin();
    const px = clientX - rect.left - ox, py = clientY - rect.top - oy;
    let found = -1;
    const walk = (mark, x, y) => {
      for (const item of mark.items || []) {
        const b = item.bounds, datum = item.datum;
        if (mark.marktype !== "group" && datum && b && px - x >= b.x1 && px - x <= b.x2 && py - y >= b.y1 && py - y <= b.y2) {
          const name = Object.values(datum).find((v) => typeof v === "string" && data.classes.includes(v));
          if (name !== undefined) found = data.classes.indexOf(name);
        }
        if (mark.marktype === "group") {
          for (const child of item.items || []) walk(child, x + (item.x || 0), y + (item.y || 0));
        }
      }
    };
    walk(view.scenegraph().root, 0, 0);
    return found;
  }
  document.getElementById("vega").addEventListener("click", (event) => {
    const cls = classAt(event.clientX, event.clientY);
    if (cls >= 0) toggle(cls);
  });

  // Vega's part of a shot: the template's values set (compiled once), or the shot's own spec.
  let vegaBusy = null, vegaWanted = -1;
  async function showVector(shot) {
    vegaWanted = shot;
    if (vegaBusy) return vegaBusy;
    vegaBusy = (async () => {
      while (embedded !== vegaWanted) {
        const target = vegaWanted, own = vector.frames[target];
        if (own.spec) {
          await embed(own.spec);
        } else {
          if (embedded === null || vector.frames[embedded].spec) await embed(vector.template);
          for (const [name, value] of Object.entries(own.values)) {
            if (name in vectorDatasets) view.data(name, value);
            else view.signal(name, value);
          }
          await view.runAsync();
        }
        embedded = target;
      }
      vegaBusy = null;
    })();
    return vegaBusy;
  }
  let vectorDatasets = {};

  // --- points ---------------------------------------------------------------------------------
  const tracks = {};
  let labels, index, images = null;
  const boxes = data.boxes.map((box) => ({ ...box, zoom: 1, dx: 0, dy: 0, xy: null }));
  api.boxes = boxes;

  function recover(track) {
    // Every snapshot's steps from the stored ones: each is the zigzagged difference (modulo
    // 2**16) from where the two snapshots before put the point, carried on (see pack.py).
    const n = data.points, bytes = track.bytes, ranges = track.ranges, top = data.quanta;
    const steps = new Uint16Array(track.count * 2 * n);
    for (let s = 0; s < track.count; s++) {
      for (let axis = 0; axis < 2; axis++) {
        const base = (s * 2 + axis) * 2 * n, at = (s * 2 + axis) * n;
        const lo = ranges[s][axis * 2], step = ranges[s][axis * 2 + 1];
        const at1 = at - 2 * n, at0 = at - 4 * n;
        const lo1 = s > 0 ? ranges[s - 1][axis * 2] : 0, step1 = s > 0 ? ranges[s - 1][axis * 2 + 1] : 0;
        const lo0 = s > 1 ? ranges[s - 2][axis * 2] : 0, step0 = s > 1 ? ranges[s - 2][axis * 2 + 1] : 0;
        for (let i = 0; i < n; i++) {
          const z = (bytes[base + i] << 8) | bytes[base + n + i];
          const delta = (z >>> 1) ^ -(z & 1);
          let predicted = 0;
          if (s > 0) {
            const x1 = lo1 + steps[at1 + i] * step1;
            const x = s > 1 ? 2 * x1 - (lo0 + steps[at0 + i] * step0) : x1;
            predicted = Math.min(top, Math.max(0, Math.floor((x - lo) / step + 0.5)));
          }
          steps[at + i] = (predicted + delta) & 0xffff;
        }
      }
    }
    return steps;
  }

  function coordinates(track, snapshot, out) {
    const n = data.points, steps = track.steps, range = track.ranges[snapshot];
    for (let axis = 0; axis < 2; axis++) {
      const at = (snapshot * 2 + axis) * n, lo = range[axis * 2], step = range[axis * 2 + 1];
      for (let i = 0; i < n; i++) out[i * 2 + axis] = lo + steps[at + i] * step;
    }
  }

  function positions(box, shot) {
    // The video's own interpolation: linear between two snapshots, then the camera's map.
    const track = tracks[box.trajectory], n = data.points;
    const [lo, t, m00, m01, m10, m11, ox, oy] = box.shots[shot];
    const hi = Math.min(lo + 1, track.count - 1);
    coordinates(track, lo, track.a);
    if (t > 0) coordinates(track, hi, track.b);
    const xy = box.xy || (box.xy = new Float32Array(n * 2));
    for (let i = 0; i < n; i++) {
      let x = track.a[i * 2], y = track.a[i * 2 + 1];
      if (t > 0) { x = x * (1 - t) + track.b[i * 2] * t; y = y * (1 - t) + track.b[i * 2 + 1] * t; }
      xy[i * 2] = (x * m00 + y * m10 + ox) * box.zoom + box.dx;
      xy[i * 2 + 1] = (x * m01 + y * m11 + oy) * box.zoom + box.dy;
    }
    return xy;
  }

  api.coordinates = (name, snapshot) => {
    const out = new Float32Array(data.points * 2);
    coordinates(tracks[name], snapshot, out);
    return Array.from(out);
  };
  api.positions = (box, frame) => Array.from(positions(boxes[box], shotOf[frame]));

  // A disc's coverage of the pixels around it, for a point at each of SUB x SUB places within
  // its pixel: drawing looks weights up instead of measuring distances (a 16th of a pixel off).
  const SUB = 8;
  function footprints(size) {
    const r = size / 2, reach = Math.ceil(r + 0.5), side = 2 * reach + 1;
    const weights = new Float32Array(SUB * SUB * side * side);
    for (let sy = 0; sy < SUB; sy++) {
      for (let sx = 0; sx < SUB; sx++) {
        const fx = (sx + 0.5) / SUB, fy = (sy + 0.5) / SUB, base = (sy * SUB + sx) * side * side;
        for (let dy = -reach; dy <= reach; dy++) {
          for (let dx = -reach; dx <= reach; dx++) {
            const d = Math.hypot(dx + 0.5 - fx, dy + 0.5 - fy);
            weights[base + (dy + reach) * side + dx + reach] = Math.min(1, Math.max(0, r + 0.5 - d));
          }
        }
      }
    }
    return { reach, side, weights };
  }

  function paint(box, shot) {
    // Antialiased discs composited "over", in premultiplied colour.
    const w = box.width, h = box.height, n = data.points;
    const xy = positions(box, shot);
    const acc = box.acc || (box.acc = new Float32Array(w * h * 4));
    acc.fill(0);
    const { reach, side, weights } = box.foot || (box.foot = footprints(box.size));
    const colors = box.rgb, dim = state.highlight.size > 0;
    for (let i = 0; i < n; i++) {
      const px = xy[i * 2], py = xy[i * 2 + 1];
      if (!(px > -reach && px < w + reach && py > -reach && py < h + reach)) continue;
      const opacity = dim && !state.highlight.has(labels[i]) ? box.opacity * 0.12 : box.opacity;
      const cr = colors[i * 3] / 255, cg = colors[i * 3 + 1] / 255, cb = colors[i * 3 + 2] / 255;
      const ix = Math.floor(px), iy = Math.floor(py);
      const sx = Math.min(SUB - 1, Math.floor((px - ix) * SUB));
      const sy = Math.min(SUB - 1, Math.floor((py - iy) * SUB));
      const base = (sy * SUB + sx) * side * side;
      for (let dy = -reach; dy <= reach; dy++) {
        const y = iy + dy;
        if (y < 0 || y >= h) continue;
        const row = base + (dy + reach) * side + reach;
        for (let dx = -reach; dx <= reach; dx++) {
          const cover = weights[row + dx], x = ix + dx;
          if (cover <= 0 || x < 0 || x >= w) continue;
          const a = opacity * cover, k = (y * w + x) * 4, keep = 1 - a;
          acc[k] = cr * a + acc[k] * keep;
          acc[k + 1] = cg * a + acc[k + 1] * keep;
          acc[k + 2] = cb * a + acc[k + 2] * keep;
          acc[k + 3] = a + acc[k + 3] * keep;
        }
      }
    }
    const image = box.image || (box.image = new ImageData(w, h));
    const px = image.data;
    for (let k = 0; k < acc.length; k += 4) {
      const a = acc[k + 3];
      if (a <= 0) { px[k + 3] = 0; continue; }
      px[k] = (acc[k] / a) * 255 + 0.5;
      px[k + 1] = (acc[k + 1] / a) * 255 + 0.5;
      px[k + 2] = (acc[k + 2] / a) * 255 + 0.5;
      px[k + 3] = a * 255 + 0.5;
    }
    box.context.putImageData(image, 0, 0);
  }

  function drawPoints(shot) {
    for (const box of boxes) paint(box, shot);
    api.paints += 1;
  }

  // --- the timeline -------------------------------------------------------------------------
  const scrub = document.getElementById("scrub");
  const where = document.getElementById("where");
  const play = document.getElementById("play");

  function describe(frame) {
    const values = data.values[shotOf[frame]];
    const parts = [`frame ${frame + 1} / ${frames}`];
    if ("epoch" in values) parts.push(`epoch ${values.epoch}` + ("epochs" in values ? ` / ${values.epochs}` : ""));
    return parts.join(" · ");
  }

  function show(frame) {
    state.frame = Math.max(0, Math.min(frames - 1, frame));
    const shot = shotOf[state.frame];
    scrub.value = String(state.frame);
    where.textContent = describe(state.frame);
    if (shot !== state.shot) {
      state.shot = shot;
      drawPoints(shot);
    }
    return showVector(shot);
  }
  api.show = async (frame) => { pause(); await show(frame); };

  let started = 0, startFrame = 0;
  function tick(now) {
    if (!state.playing) return;
    const advanced = Math.floor(((now - started) / 1000) * data.fps * state.speed);
    let frame = startFrame + advanced;
    if (frame >= frames) { started = now; startFrame = 0; frame = 0; }
    if (frame !== state.frame) show(frame);
    requestAnimationFrame(tick);
  }
  function start() {
    if (state.playing) return;
    state.playing = true;
    play.textContent = "pause";
    started = performance.now();
    startFrame = state.frame >= frames - 1 ? 0 : state.frame;
    requestAnimationFrame(tick);
  }
  function pause() { state.playing = false; play.textContent = "play"; }
  api.play = start;
  api.pause = pause;
  api.setSpeed = (speed) => { pause(); state.speed = speed; };
  play.addEventListener("click", () => (state.playing ? pause() : start()));
  scrub.addEventListener("input", () => { pause(); show(Number(scrub.value)); });
  document.getElementById("speed").addEventListener("change", (e) => {
    const playing = state.playing;
    pause(); state.speed = Number(e.target.value);
    if (playing) start();
  });
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space") { e.preventDefault(); state.playing ? pause() : start(); }
    else if (e.code === "ArrowRight") { pause(); show(state.frame + 1); }
    else if (e.code === "ArrowLeft") { pause(); show(state.frame - 1); }
  });

  // --- highlight, hover, zoom and pan -------------------------------------------------------
  const legend = document.getElementById("legend");
  function toggle(cls) {
    if (state.highlight.has(cls)) state.highlight.delete(cls);
    else state.highlight.add(cls);
    legend.querySelectorAll("button").forEach((b, i) => b.classList.toggle("on", state.highlight.has(i)));
    if (state.shot >= 0) drawPoints(state.shot);
  }
  api.toggle = toggle;

  const tip = document.getElementById("tip");
  const tipText = document.getElementById("tip-text");
  const tipImage = document.getElementById("tip-image");

  function nearest(box, x, y) {
    // The point drawn nearest (the last drawn, on top, among equals), within reach.
    const xy = box.xy, reach = Math.max(6, box.size);
    let best = -1, bestD = reach * reach;
    for (let i = 0; i < data.points; i++) {
      const dx = xy[i * 2] - x, dy = xy[i * 2 + 1] - y, d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = i; }
    }
    return [best, Math.sqrt(bestD)];
  }

  function hover(box, event) {
    const rect = box.canvas.getBoundingClientRect();
    const [i, distance] = box.xy ? nearest(box, event.clientX - rect.left, event.clientY - rect.top) : [-1, 0];
    if (i < 0) { tip.hidden = true; api.hovered = null; return; }
    const values = data.values[state.shot];
    const lines = [`${data.classes[labels[i]]}`, `point ${index[i]}`];
    for (const [k, v] of Object.entries(values)) lines.push(`${k}: ${typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(4) : v}`);
    tipText.textContent = "";
    lines.forEach((line, k) => { const div = document.createElement(k ? "div" : "strong"); div.textContent = line; tipText.appendChild(div); });
    tipImage.hidden = images === null;
    if (images !== null) drawImage(i, box.rgb.subarray(i * 3, i * 3 + 3));
    tip.hidden = false;
    tip.style.left = event.clientX + 14 + "px";
    tip.style.top = event.clientY + 14 + "px";
    api.hovered = { index: index[i], label: data.classes[labels[i]], distance };
  }

  function drawImage(i, rgb) {
    // The point's image (0 = background, 255 = ink), inked in its colour.
    const { width, height } = data.image, scale = 3, size = width * height;
    tipImage.width = width * scale; tipImage.height = height * scale;
    const small = new ImageData(width, height);
    for (let k = 0; k < size; k++) {
      small.data[k * 4] = rgb[0]; small.data[k * 4 + 1] = rgb[1]; small.data[k * 4 + 2] = rgb[2];
      small.data[k * 4 + 3] = images[i * size + k];
    }
    const context = tipImage.getContext("2d");
    context.fillStyle = "#000"; context.fillRect(0, 0, tipImage.width, tipImage.height);
    const scratch = document.createElement("canvas");
    scratch.width = width; scratch.height = height;
    scratch.getContext("2d").putImageData(small, 0, 0);
    context.imageSmoothingEnabled = false;
    context.drawImage(scratch, 0, 0, tipImage.width, tipImage.height);
  }

  function redraw() { if (state.shot >= 0) drawPoints(state.shot); }
  function resetView() { for (const box of boxes) { box.zoom = 1; box.dx = 0; box.dy = 0; } redraw(); }
  api.resetView = resetView;
  document.getElementById("reset").addEventListener("click", resetView);

  function interact(box) {
    const canvas = box.canvas;
    canvas.addEventListener("mousemove", (e) => { if (!box.dragging) hover(box, e); });
    canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const rect = canvas.getBoundingClientRect(), x = e.clientX - rect.left, y = e.clientY - rect.top;
      const factor = Math.exp(-e.deltaY * 0.002);
      box.dx = x - (x - box.dx) * factor; box.dy = y - (y - box.dy) * factor; box.zoom *= factor;
      redraw();
    }, { passive: false });
    canvas.addEventListener("pointerdown", (e) => { box.dragging = { x: e.clientX, y: e.clientY }; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener("pointermove", (e) => {
      if (!box.dragging) return;
      box.dx += e.clientX - box.dragging.x; box.dy += e.clientY - box.dragging.y;
      box.dragging = { x: e.clientX, y: e.clientY };
      tip.hidden = true;
      redraw();
    });
    canvas.addEventListener("pointerup", () => { box.dragging = null; });
    canvas.addEventListener("dblclick", () => { box.zoom = 1; box.dx = 0; box.dy = 0; redraw(); });
  }

  // --- start ------------------------------------------------------------------------------------
  api.ready = (async () => {
    vector = JSON.parse(new TextDecoder().decode(await inflate(data.vega)));
    for (const name of Object.keys(vector.template.datasets || {})) vectorDatasets[name] = true;
    labels = new Uint16Array((await inflate(data.labels)).buffer);
    index = new Uint32Array((await inflate(data.index)).buffer);
    if (data.image) images = await inflate(data.image.pixels);
    for (const [name, track] of Object.entries(data.trajectories)) {
      const stored = { bytes: await inflate(track.points), ranges: track.ranges, count: track.count };
      tracks[name] = { ...stored, steps: recover(stored), bytes: null,
        a: new Float32Array(data.points * 2), b: new Float32Array(data.points * 2) };
    }
    for (const box of boxes) {
      box.rgb = await inflate(box.colors);
      const canvas = document.createElement("canvas");
      canvas.className = "points";
      canvas.width = box.width; canvas.height = box.height;
      canvas.style.left = box.corner[0] + "px"; canvas.style.top = box.corner[1] + "px";
      stage.appendChild(canvas);
      box.canvas = canvas; box.context = canvas.getContext("2d");
      interact(box);
    }
    data.classes.forEach((name, i) => {
      const button = document.createElement("button");
      button.type = "button";
      const swatch = document.createElement("span");
      swatch.className = "swatch"; swatch.style.background = data.colors[i];
      button.append(swatch, name);
      button.addEventListener("click", () => toggle(i));
      legend.appendChild(button);
    });
    if (data.points < data.of) {
      document.getElementById("note").textContent =
        `${data.points.toLocaleString()} of ${data.of.toLocaleString()} points are drawn (a fixed sample).`;
    }
    scrub.max = String(frames - 1);
    await show(0);
  })();
})();
