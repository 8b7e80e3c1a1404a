// The preview page: polls /state, shows the frame the scrubber points at and the values its
// titles can show, and the spec's errors as the command prints them.
"use strict";
const $ = (id) => document.getElementById(id);
let scene = null;   // the scene shown: {digest, frames, ...}
let wanted = "";    // the frame URL asked for last; an older answer is dropped
let frameError = "";
let stateErrors = [];

function showErrors() {
  const lines = [...stateErrors, ...(frameError ? [frameError] : [])];
  $("errors").textContent = lines.join("\n");
  $("errors").hidden = lines.length === 0;
  $("frame").classList.toggle("stale", lines.length > 0);
}

async function showFrame() {
  if (scene === null) return;
  const n = Number($("scrubber").value);
  const url = `/frame/${scene.digest}/${n}.png`;
  if (url === wanted) return;
  wanted = url;
  $("number").textContent = n;
  const answer = await fetch(url);
  if (url !== wanted) return;
  if (!answer.ok) {
    frameError = answer.status === 404 ? "" : (await answer.text());
    showErrors();
    return;
  }
  const picture = URL.createObjectURL(await answer.blob());
  if (url !== wanted) return;
  const img = $("frame");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = picture;
  img.dataset.digest = scene.digest;
  img.dataset.frame = String(n);
  frameError = "";
  showErrors();
  const values = await (await fetch(`/values/${scene.digest}/${n}`)).json();
  if (url !== wanted) return;
  $("values").replaceChildren(...Object.entries(values).map(([name, value]) => {
    const row = document.createElement("tr");
    for (const text of [name, JSON.stringify(value)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

async function poll() {
  try {
    const state = await (await fetch("/state")).json();
    $("spec").textContent = state.spec;
    $("stage").textContent = state.stage;
    document.body.dataset.reloads = String(state.reloads);
    stateErrors = state.errors;
    $("warnings").textContent = state.warnings.join("\n");
    $("warnings").hidden = state.warnings.length === 0;
    if (state.scene !== null && (scene === null || state.scene.digest !== scene.digest)) {
      scene = state.scene;
      const scrubber = $("scrubber");
      scrubber.max = String(scene.frames - 1);
      if (Number(scrubber.value) > scene.frames - 1) scrubber.value = String(scene.frames - 1);
      $("count").textContent = scene.frames;
      await showFrame();
    }
    showErrors();
  } catch (error) {
    $("stage").textContent = "the preview stopped";
  }
  setTimeout(poll, 250);
}

$("scrubber").addEventListener("input", showFrame);
poll();
