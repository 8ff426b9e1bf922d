// Line charts drawn as inline SVG: a time axis in plant time, a value axis with a few round ticks, one path a series.

import { s } from './dom.js';

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
  if (v1 - v0 < 1e-9) { v0 -= 0.5; v1 += 0.5; }
  const step = niceStep(v1 - v0, 4);
  v0 = options.yMin ?? Math.floor(v0 / step) * step;
  v1 = options.yMax ?? Math.ceil(v1 / step) * step;
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - ((v - v0) / (v1 - v0)) * (height - pad.top - pad.bottom);

  const grid = s('g', { class: 'chart-grid' });
  for (let v = v0; v <= v1 + step / 2; v += step) {
    grid.append(s('line', { x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
    grid.append(s('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end', text: format(v, step) }));
  }
  const tStep = niceStep(t1 - t0, 5);
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    const label = new Date(t * 1000).toISOString().slice(11, 16);
    grid.append(s('text', { x: x(t), y: height - 6, 'text-anchor': 'middle', text: label }));
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
