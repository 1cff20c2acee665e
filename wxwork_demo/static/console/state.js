/* The page's copy of /api/state, read every POLL_MS and after each action, and the header's two dots that say
 * whether the console and its upstream answer. What is redrawn after each read is main.js's list. */

import { api } from "./api.js";
import { $, clock } from "./page.js";

export const POLL_MS = 2000;

export const store = {
  state: null,           // the last /api/state answer
  accounts: new Map(),   // uuid -> {name, corp, avatar} learned from 104001 callbacks
  accountLookups: new Map(), // uuid -> time of the last /api/events lookup, so it is not repeated every poll
};

let pollTimer = 0;
let polling = null;
let redraw = () => {};

/** What each read redraws: set once by main.js, which lists the cards in the order they are drawn (the cards
 * call refreshNow() after an action, so they cannot be imported here). */
export function redrawAfterEachRead(draw) {
  redraw = draw;
}

function setSync(ok, text) {
  const status = $("sync-status");
  status.querySelector(".dot").className = `dot ${ok ? "dot-ok" : "dot-bad"}`;
  $("sync-text").textContent = text;
}

/** Read /api/state and redraw what depends on it. Concurrent callers share one request. */
export function poll() {
  if (polling) return polling;
  clearTimeout(pollTimer);
  polling = (async () => {
    try {
      store.state = await api("/api/state");
      setSync(true, `实时同步 · ${clock(new Date().toISOString())}`);
      const sessions = store.state.sessions || (store.state.active && store.state.active.uuid ? [store.state.active] : []);
      store.state.sessions = sessions;
      redraw();
    } catch (err) {
      setSync(false, `${err.title}，正在重试…`);
    } finally {
      polling = null;
      pollTimer = setTimeout(poll, POLL_MS);
    }
  })();
  return polling;
}

/** A fresh read after an action: waits for a poll already under way, which may predate the action. */
export function refreshNow() {
  return (polling || Promise.resolve()).then(() => poll());
}

export async function checkUpstream() {
  const dot = $("upstream-status");
  try {
    const answer = await api("/api/upstream-check").catch((err) => err.body || {});
    dot.className = `dot ${answer.ok ? "dot-ok" : "dot-bad"}`;
    dot.title = answer.ok ? "上游可达" : `上游不可达：${answer.message || ""}`;
  } catch {
    dot.className = "dot dot-bad";
    dot.title = "无法检查上游";
  }
}
