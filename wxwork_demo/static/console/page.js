/* What every panel of the console uses to put things on the page: find an element, build one, show or hide
 * it, and write times and ids the way the whole page writes them.
 *
 * Rule for every module of the console: data from the API (names, messages, payloads) reaches the page only
 * through textContent, attributes or form values, never parsed as HTML markup: it comes from the upstream and
 * from whoever sends the account a message. h() is how: its string children become text nodes.
 */

export const $ = (id) => document.getElementById(id);

/** Build an element. Strings among `children` become text nodes, so they are never parsed as HTML. */
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function shortId(id) {
  const text = String(id || "");
  return text.length > 12 ? `${text.slice(0, 8)}…` : text;
}

export function parseTime(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? null : t;
}

export function clock(iso) {
  const t = parseTime(iso);
  if (t === null) return "—";
  const d = new Date(t);
  const today = new Date().toDateString() === d.toDateString();
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return today ? time : `${d.getMonth() + 1}-${pad(d.getDate())} ${time}`;
}

/** "刚刚", "3 分钟前"…: minute-grained on purpose, so lists that show it need not redraw every second. */
export function ago(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  const minutes = Math.floor((Date.now() - t) / 60000);
  if (minutes < 1) return "刚刚";
  if (minutes < 60) return `${minutes} 分钟前`;
  if (minutes < 1440) return `${Math.floor(minutes / 60)} 小时前`;
  return `${Math.floor(minutes / 1440)} 天前`;
}

export function whenText(iso) {
  return parseTime(iso) === null ? "—" : `${clock(iso)}（${ago(iso)}）`;
}

export function mmss(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}
