// Line charts drawn as inline SVG: a time axis in plant time, a value axis with a few round ticks, one path a series.

import { s } from './dom.js';

// Steps a clock reads evenly: seconds, minutes, hours, days (a step of 100 s labelled HH:MM read 03:43, 03:45, 03:46).
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

function timeStep(span, count) {
  const raw = span / Math.max(1, count);
  return TIME_STEPS.find((t) => t >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

function timeLabel(t, step) {
  const iso = new Date(t * 1000).toISOString();
  return step < 60 ? iso.slice(11, 19) : step < 86400 ? iso.slice(11, 16) : iso.slice(5, 10);
}

// Room for the value axis's longest label (11 px text: about 7 px a character), so "10.00 MW" is not cut at the left.
function leftPad(labels) {
  return Math.max(58, 12 + 7 * Math.max(0, ...labels.map((l) => l.length)));
}

function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/**
 * series: [{name, points: [[seconds, value]], cls}]; options: {format(value, tickStep), yMin, yMax, width, height, label}.
 * Returns an <svg> that scales to its container's width.
 */
export function lineChart(series, options = {}) {
  const width = options.width ?? 1100;
  const height = options.height ?? 240;
  const pad = { left: 58, right: 12, top: 12, bottom: 24 };
  const format = options.format ?? ((v) => v.toFixed(2));
  const all = series.flatMap((x) => x.points).filter(([, v]) => Number.isFinite(v));
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': options.label ?? 'chart' });
  if (all.length === 0) {
    svg.append(s('text', { x: width / 2, y: height / 2, class: 'chart-empty', 'text-anchor': 'middle', text: 'no data yet' }));
    return svg;
  }
  let t0 = Math.min(...all.map(([t]) => t));
  let t1 = Math.max(...all.map(([t]) => t));
  if (t1 === t0) t1 = t0 + 1;
  let v0 = options.yMin ?? Math.min(...all.map(([, v]) => v));
  let v1 = options.yMax ?? Math.max(...all.map(([, v]) => v));
  // A flat line is drawn mid-height on an axis of its own scale (a flag at 0 on 0 to 1); before, on its value ±0.5 a
  // flat 1.2 kW read "1.2 kW" at every tick.
  if (v1 - v0 < 1e-9 * Math.max(1, Math.abs(v0))) {
    const half = v0 === 0 ? 0.5 : Math.abs(v0) / 2;
    [v0, v1] = v0 === 0 && options.yMin === undefined ? [0, 1] : [v0 - half, v1 + half];
  }
  const step = niceStep(v1 - v0, 4);
  v0 = options.yMin ?? Math.floor(v0 / step) * step;
  v1 = options.yMax ?? Math.ceil(v1 / step) * step;
  // Each tick from its index, not by adding steps (0.1 added up to -2.8e-17, read "-0.0").
  const ticks = [];
  for (let i = 0; v0 + i * step <= v1 + step / 2; i++) ticks.push(Math.abs(v0 + i * step) < step * 1e-6 ? 0 : v0 + i * step);
  const labels = ticks.map((v) => format(v, step));
  pad.left = leftPad(labels);
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - ((v - v0) / (v1 - v0)) * (height - pad.top - pad.bottom);

  const grid = s('g', { class: 'chart-grid' });
  ticks.forEach((v, i) => {
    grid.append(s('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    grid.append(s('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end', text: labels[i] }));
  });
  const tStep = timeStep(t1 - t0, 5);
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    grid.append(s('text', { x: x(t), y: height - 6, 'text-anchor': 'middle', text: timeLabel(t, tStep) }));
  }
  svg.append(grid);

  series.forEach((serie, i) => {
    let d = '';
    let pen = false;
    for (const [t, v] of serie.points) {
      if (!Number.isFinite(v)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    svg.append(s('path', { d, class: `chart-line ${serie.cls ?? `series-${i % 6}`}` }, [s('title', { text: serie.name })]));
  });
  return svg;
}

/** A legend for the same series (colour swatch and name). */
export function legend(series) {
  return s('svg', { class: 'legend', viewBox: `0 0 ${series.length * 170} 16` },
    series.map((serie, i) => s('g', { transform: `translate(${i * 170},0)` }, [
      s('rect', { x: 0, y: 4, width: 14, height: 4, class: `legend-swatch ${serie.cls ?? `series-${i % 6}`}` }),
      s('text', { x: 20, y: 12, text: serie.name }),
    ])));
}
