// Building elements without innerHTML (nothing from the API is ever parsed as markup) and formatting quantities.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(element, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') element.addEventListener(k.slice(2), v);
    else if (k === 'text') element.textContent = v;
    else element.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of [].concat(children ?? [])) {
    if (c === null || c === undefined || c === false) continue;
    element.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return element;
}

/** An HTML element: h('div', {class: 'x', onclick: f}, [children]). */
export const h = (tag, attrs, children) => build(document.createElement(tag), attrs, children);

/** An SVG element, same shape as h. */
export const s = (tag, attrs, children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

export function watts(w) {
  if (w === null || w === undefined || !Number.isFinite(w)) return '–';
  const a = Math.abs(w);
  if (a >= 1e6) return `${(w / 1e6).toFixed(2)} MW`;
  if (a >= 1e3) return `${(w / 1e3).toFixed(1)} kW`;
  return `${w.toFixed(0)} W`;
}

/** A chart's value-axis label in watts: one unit for the whole axis, chosen by its step, with as many decimals as the
 * step needs, so neighbouring ticks differ (with watts() a 1,195 to 1,200 W axis read "1.2 kW" at every tick). */
export function wattsTick(w, step) {
  const [unit, name] = step >= 1e8 ? [1e9, 'GW'] : step >= 1e5 ? [1e6, 'MW'] : step >= 100 ? [1e3, 'kW'] : [1, 'W'];
  return `${(w / unit).toFixed(Math.max(0, -Math.floor(Math.log10(step / unit) + 1e-9)))} ${name}`;
}

/** A chart's value-axis label with as many decimals as the step needs (at least `least`). */
export const decimalTick = (v, step, least = 1) => v.toFixed(Math.max(least, -Math.floor(Math.log10(step) + 1e-9)));

export const celsius = (c) => (c === null || c === undefined || !Number.isFinite(c) ? '–' : `${c.toFixed(1)} °C`);
export const percent = (f, digits = 1) => (f === null || f === undefined || !Number.isFinite(f) ? '–' : `${(f * 100).toFixed(digits)} %`);
export const fixed = (x, digits = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

/** Plant time as YYYY-MM-DD HH:MM:SS (UTC, as the plant's clock runs). */
export function plantTime(at) {
  if (!at) return '–';
  const d = typeof at === 'number' ? new Date(at * 1000) : new Date(at);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

/** A lockout as GET /api/lockouts gives it, in words: who, since (planned: from) and until when, why. */
export const lockoutHeld = (l) => `by ${l.by} ${l.state === 'planned' ? 'from' : 'since'} ${plantTime(l.since)}${l.until ? `, until ${plantTime(l.until)}` : ', until released'}: ${l.reason}`;

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** A horizontal bar for a fraction in [0, 1]; `tone` picks its colour class. */
export function bar(fraction, tone) {
  const f = Number.isFinite(fraction) ? Math.max(0, Math.min(1, fraction)) : 0;
  const fill = h('span', { class: `bar-fill ${tone || ''}` });
  fill.style.width = `${(f * 100).toFixed(1)}%`;
  return h('span', { class: 'bar' }, [fill]);
}

/** Budget remaining → a tone: fine, low, or exhausted. */
export const budgetTone = (remaining) => (remaining === null || remaining === undefined ? 'none' : remaining <= 0 ? 'bad' : remaining < 0.25 ? 'warn' : 'good');

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}
