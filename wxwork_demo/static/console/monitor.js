/* The automatic reconnect monitor's card: its switch, what it is doing, its last check and reconnect. */

import { api } from "./api.js";
import { $, show, whenText } from "./page.js";
import { refreshNow, store } from "./state.js";

export function renderMonitor() {
  const state = store.state;
  const monitor = (state && state.monitor) || {};
  const toggle = $("monitor-toggle");
  toggle.setAttribute("aria-checked", monitor.enabled ? "true" : "false");
  let status = "已停止";
  if (monitor.reconnecting) status = "正在重连掉线账号…";
  else if (monitor.enabled && monitor.running) status = "正在检查账号…";
  // `owner`: the live process holding the monitor's lease, the only one that works (servers without the
  // field: taken as running). On with no owner: no process runs the monitor's scheduler (yet).
  else if (monitor.enabled && (monitor.owner || monitor.owner === undefined)) status = "运行中";
  else if (monitor.enabled) status = "已开启，等待监控进程接手";
  $("monitor-status").textContent = status;
  $("monitor-status").className = monitor.enabled ? "ok" : "muted";
  $("monitor-interval").textContent = monitor.intervalMs ? `${Math.round(monitor.intervalMs / 1000)} 秒` : "—";
  $("monitor-last-check").textContent = whenText(monitor.lastCheckAt);
  $("monitor-last-reconnect").textContent = whenText(monitor.lastReconnectAt);
  $("events-total").textContent = state ? String(state.eventsCount) : "—";
}

async function toggleMonitor() {
  const toggle = $("monitor-toggle");
  const enabled = toggle.getAttribute("aria-checked") === "true";
  toggle.disabled = true;
  show($("monitor-error"), false);
  try {
    await api(enabled ? "/api/monitor/stop" : "/api/monitor/start", {});
    await refreshNow();
  } catch (err) {
    $("monitor-error").textContent = err.title;
    show($("monitor-error"), true);
  } finally {
    toggle.disabled = false;
  }
}

export function wireMonitor() {
  $("monitor-toggle").addEventListener("click", toggleMonitor);
}
