// The Kernel tab's player, drawn and animated in the page from slide_data (explorer/core/slide_data.py):
// play, pause, step, scrub, speed and keys are all local; nothing is asked of the server while it plays.
const SVGNS = "http://www.w3.org/2000/svg";
const root = element.querySelector(".kl");
let d = null, k = 1, held = 1, playing = false, speed = 2, acc = 0, last = 0, raf = 0;
let loads = 0, cells = {}, taps = [], outCells = [], prodCells = [], sumText = null, cur = null;

// The words the player shows, in the page's language (the html lang the language switch sets; else the
// language the server spoke): both languages come with the data, so the switch needs no request.
function lang() {
  const page = (document.documentElement.lang || "").toLowerCase();
  return page.startsWith("zh") ? "zh" : page.startsWith("en") ? "en" : (d && d.lang) || "en";
}
function w(key, values) {
  const all = (d && d.words) || {};
  let text = (all[lang()] || all.en || {})[key] || "";
  for (const [name, v] of Object.entries(values || {})) text = text.replaceAll(`{${name}}`, v);
  return text;
}
function words() {
  root.querySelectorAll("[data-w]").forEach(e => { e.textContent = w(e.dataset.w); });
  root.querySelectorAll("[data-w-aria]").forEach(e => { e.setAttribute("aria-label", w(e.dataset.wAria)); });
  root.querySelectorAll("[data-w-title]").forEach(e => { e.setAttribute("title", w(e.dataset.wTitle)); });
  setButton();
}

function el(tag, attrs, parent, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [a, v] of Object.entries(attrs)) e.setAttribute(a, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function shadeFill(t) { return `rgb(${Math.round(255 - 120 * t)},${Math.round(255 - 70 * t)},255)`; }

function grid(svg, x, y, c, rows, title, role, fill, lines) {
  el("text", {x: x, y: y - c * 0.3, "font-size": c * 0.42, "font-weight": "bold", fill: "#1f2937"}, svg, title);
  const out = [];
  rows.forEach((row, i) => row.forEach((v, j) => {
    const g = el("g", {"data-role": role, "data-r": i, "data-c": j}, svg);
    const rect = el("rect", {x: x + j * c, y: y + i * c, width: c, height: c, fill: fill(i, j), stroke: lines, "stroke-width": 1}, g);
    const size = Math.min(c * 0.36, (c * 1.6) / Math.max(String(v).length, 1));
    const text = el("text", {x: x + (j + 0.5) * c, y: y + (i + 0.5) * c, "font-size": size, "text-anchor": "middle",
                             "dominant-baseline": "central", fill: "#111827"}, g, v);
    out.push({g: g, rect: rect, text: text, i: i, j: j});
  }));
  return out;
}

function layout(W) {
  const [ph, pw] = [d.padded.length, d.padded[0].length], [kh, kw] = d.kernel_size;
  const [oh, ow] = [d.output.length, d.output[0].length];
  const side = [kw, d.steps[0].products ? kw : 0, ow].filter(n => n > 0);
  const tall = Math.max(kh, oh);
  const wideW = pw + side.reduce((a, b) => a + b + 1, 0), wideH = Math.max(ph, tall) + 1;
  const narrowW = Math.max(pw, side.reduce((a, b) => a + b + 1, -1)), narrowH = ph + tall + 2.6;
  const H = Math.max(window.innerHeight * 0.5, 220);
  const wideC = Math.min(W / wideW, H / wideH), narrowC = Math.min(W / narrowW, H / narrowH);
  return {wide: wideC >= narrowC, c: Math.max(Math.min(Math.max(wideC, narrowC), 46), 6)};
}

function draw() {
  const box = root.querySelector(".kl-pic");
  box.innerHTML = "";
  const L = layout(Math.max(box.clientWidth || root.clientWidth || 800, 280)), c = L.c;
  const [ph, pw] = [d.padded.length, d.padded[0].length], [kh, kw] = d.kernel_size;
  const [py, px] = d.padding, [n0, n1] = d.shape;
  const svg = el("svg", {"data-role": "picture", role: "img", "aria-label": w("picture")}, box);
  const top = c;
  const isPad = (i, j) => i < py || j < px || i >= py + n0 || j >= px + n1;
  const unused = (i, j) => d.unused_rows.includes(i - py) || d.unused_cols.includes(j - px);
  cells.input = grid(svg, 0, top, c, d.padded, w(py || px ? "input_padded" : "input"), "input",
                     (i, j) => isPad(i, j) ? "#f3f4f6" : unused(i, j) ? "#d1d5db" : shadeFill(d.shade[i][j]), "#9ca3af");
  let x = L.wide ? (pw + 1) * c : 0, y = L.wide ? top : top + (ph + 1.6) * c;   // room for the titles below
  taps = [];
  for (let t = 0; t < kh * kw; t++) taps.push(el("rect", {width: c, height: c, fill: "rgba(249,115,22,0.18)", stroke: "#ea580c", "stroke-width": Math.max(c / 12, 1.5), "data-role": "tap"}, svg));
  if (d.kernel) { grid(svg, x, y, c, d.kernel, w("kernel"), "kernel", () => "#fef3c7", "#d97706"); x += (kw + 1) * c; }
  prodCells = [];
  if (d.steps[0].products) {
    prodCells = grid(svg, x, y, c, d.steps[0].products, w(d.op === "conv" ? "products" : "window"), "product", () => "#fff7ed", "#fdba74");
    x += (kw + 1) * c;
  }
  outCells = grid(svg, x, y, c, d.output, w("output"), "output", (i, j) => shadeFill(d.output_shade[i][j]), "#6b7280");
  cur = el("rect", {width: c, height: c, fill: "none", stroke: "#ea580c", "stroke-width": Math.max(c / 8, 2), "pointer-events": "none"}, svg);
  outCells.forEach(o => {
    const step = o.i * d.output[0].length + o.j + 1;
    o.g.style.cursor = "pointer";
    o.g.addEventListener("pointerenter", () => { pause(); show(step); });
    o.g.addEventListener("pointerleave", () => show(held));
    o.g.addEventListener("click", () => { held = step; show(step); });
  });
  const bottom = L.wide ? top + Math.max(ph, Math.max(kh, d.output.length) + 0) * c : y + Math.max(kh, d.output.length) * c;
  sumText = root.querySelector("[data-role=sum]");
  const right = L.wide ? x + d.output[0].length * c : Math.max(pw * c, x + d.output[0].length * c);
  svg.setAttribute("viewBox", `0 0 ${right} ${bottom + c * 0.2}`);
  svg.setAttribute("width", right); svg.setAttribute("height", bottom + c * 0.2);
  svg.style.maxWidth = "100%"; svg.style.height = "auto";
}

function show(step) {
  k = Math.min(Math.max(step, 1), d.steps.length);
  const s = d.steps[k - 1], c = +cur.getAttribute("width");
  const x0 = +outCells[0].rect.getAttribute("x"), y0 = +outCells[0].rect.getAttribute("y");
  const ix = +cells.input[0].rect.getAttribute("x"), iy = +cells.input[0].rect.getAttribute("y");
  let t = 0;
  s.rows.forEach(r => s.cols.forEach(col => { taps[t].setAttribute("x", ix + col * c); taps[t].setAttribute("y", iy + r * c); t++; }));
  outCells.forEach((o, idx) => {
    const on = idx < k, want = on ? d.output[o.i][o.j] : "";
    if (o.text.textContent !== want) o.text.textContent = want;
    o.rect.setAttribute("fill-opacity", on ? 1 : 0.15);
  });
  cur.setAttribute("x", x0 + s.pos[1] * c); cur.setAttribute("y", y0 + s.pos[0] * c);
  if (s.products) prodCells.forEach(p => { p.text.textContent = s.products[p.i][p.j]; });
  sumText.querySelector("b").textContent = w("at", {k: k, r: s.pos[0], c: s.pos[1]});   // rows, columns from 0
  sumText.querySelector("code").textContent = s.sum;
  root.dataset.step = k;
  root.querySelector("[data-role=scrub]").value = k;
  root.querySelector("[data-role=label]").textContent = w("of", {k: k, n: d.steps.length});
}

function frame(now) {
  if (!playing) return;
  acc += (now - last) * speed / 1000; last = now;
  if (acc >= 1) {
    const n = Math.floor(acc); acc -= n;
    if (k + n >= d.steps.length) { held = d.steps.length; show(d.steps.length); pause(); return; }
    held = k + n; show(k + n);
  }
  raf = requestAnimationFrame(frame);
}
function setButton() {
  const b = root.querySelector("[data-act=play]");
  b.textContent = w(playing ? "pause" : "play");
  b.setAttribute("aria-pressed", playing ? "true" : "false");
}
function play() {
  if (k >= d.steps.length) show(1);
  playing = true; acc = 0; last = performance.now(); setButton(); raf = requestAnimationFrame(frame);
}
function pause() { playing = false; cancelAnimationFrame(raf); setButton(); root.dataset.playing = "false"; }

function controls() {
  root.innerHTML = `<div class="kl-pic"></div><div class="kl-sum" data-role="sum"><b></b> <code></code></div>
    <div class="kl-bar">
      <button data-act="play" class="kl-primary" aria-pressed="false"></button>
      <button data-act="back" data-w="back"></button><button data-act="fwd" data-w="fwd"></button>
      <label class="kl-scrub"><span data-role="label"></span><input type="range" min="1" step="1" data-role="scrub" data-w-aria="step"></label>
      <label class="kl-speed"><span data-w="speed"></span> <input type="range" min="0.5" max="60" step="0.5" data-role="speed" data-w-aria="speed_aria"> <output data-role="speed-text"></output><span data-w="per_s"></span></label>
    </div>
    <div class="kl-legend"><span><i class="kl-win"></i><span data-w="legend_window"></span></span><span><i class="kl-pad"></i><span data-w="legend_padding"></span></span>
      <span><i class="kl-unused"></i><span data-w="legend_unused"></span></span><span><i class="kl-out"></i><span data-w="legend_output"></span></span>
      <span class="kl-keys" data-w="keys"></span></div>`;
  const sp = root.querySelector("[data-role=speed]");
  sp.value = speed; root.querySelector("[data-role=speed-text]").textContent = speed;
  sp.addEventListener("input", () => { speed = +sp.value; root.querySelector("[data-role=speed-text]").textContent = speed; });
  const scrub = root.querySelector("[data-role=scrub]");
  scrub.addEventListener("input", () => { pause(); held = +scrub.value; show(held); });
  root.querySelector("[data-act=play]").addEventListener("click", () => { playing ? pause() : play(); root.dataset.playing = String(playing); });
  root.querySelector("[data-act=back]").addEventListener("click", () => { pause(); held = k - 1; show(held); });
  root.querySelector("[data-act=fwd]").addEventListener("click", () => { pause(); held = k + 1; show(held); });
}

root.addEventListener("keydown", e => {
  if (!d || (e.target.tagName === "INPUT" && e.key !== " ")) return;
  const go = {ArrowLeft: k - 1, ArrowRight: k + 1, Home: 1, End: d.steps.length}[e.key];
  if (e.key === " ") { e.preventDefault(); playing ? pause() : play(); }
  else if (go !== undefined) { e.preventDefault(); pause(); held = go; show(go); }
});

function load() {
  if (!props.value) return;
  if (!root.querySelector(".kl-bar")) controls();
  pause();
  d = JSON.parse(props.value);
  words();
  root.querySelector("[data-role=scrub]").max = d.steps.length;
  draw();
  held = d.start; show(d.start);
  root.dataset.steps = d.steps.length;
  root.dataset.loads = loads = loads + 1;     // tests wait for a new value by this count
}
load();
watch("value", load);
let width = root.clientWidth;
// the language switch changes the page's lang: the player's words follow at once, with no request
new MutationObserver(() => { if (d) { words(); draw(); show(k); } })
  .observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});
new ResizeObserver(() => { if (d && Math.abs(root.clientWidth - width) > 40) { width = root.clientWidth; draw(); show(k); } }).observe(root);
