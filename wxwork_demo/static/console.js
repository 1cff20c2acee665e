/* 企业微信登录控制台 — plain JS over the JSON API under /api.
 *
 * Rule for the whole file: data from the API (names, messages, payloads) reaches the page only through
 * textContent, attributes or form values, never parsed as HTML markup: it comes from the upstream and
 * from whoever sends the account a message.
 */
"use strict";

const POLL_MS = 2000;
// Events are re-read when the count moves; this bounds how stale the list can get when it does not
// (the table is pruned, so the count alone can stand still while rows change).
const EVENTS_MAX_AGE_MS = 10000;
const MAX_SESSIONS_SHOWN = 100;

const STATE_LABELS = {
  initialised: "已初始化",
  waiting_scan: "等待扫码",
  waiting_code: "等待验证码",
  online: "在线",
  reconnecting: "重连中",
  offline: "离线",
  needs_person: "需要人工处理",
};

// States in which the reason is a problem to show in red, not just a note.
const BAD_STATES = new Set(["offline", "needs_person"]);

const CALLBACK_LABELS = {
  100001: "已扫码", 100002: "手机已确认", 100003: "手机取消登录", 100004: "需要验证码",
  100005: "手机端退出", 100006: "切换企业", 100007: "登录缓存失效", 100008: "在其他设备登录",
  100009: "二维码超时", 100012: "需要二次验证", 104001: "登录成功", 102000: "消息",
  102001: "被对方删除", 102002: "被对方拉黑", 102004: "标签变更", 102005: "标签成员变更", 102006: "已读回执",
};

const STAGE_LABELS = {
  callback: "回调", state: "状态", monitor: "监控", reconnect: "重连", alert: "告警",
  init: "初始化", "set-callback": "设置回调", "get-qrcode": "获取二维码", "check-code": "验证码",
  "automatic-login": "自动登录", "refresh-run-client": "刷新状态", "send-text": "发消息",
  contacts: "通讯录", "upstream-check": "上游检查",
};

// ---------------------------------------------------------------- small helpers

const $ = (id) => document.getElementById(id);

/** Build an element. Strings among `children` become text nodes, so they are never parsed as HTML. */
function h(tag, props, ...children) {
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

function show(node, visible) {
  node.hidden = !visible;
}

function shortId(id) {
  const text = String(id || "");
  return text.length > 12 ? `${text.slice(0, 8)}…` : text;
}

function parseTime(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? null : t;
}

function clock(iso) {
  const t = parseTime(iso);
  if (t === null) return "—";
  const d = new Date(t);
  const today = new Date().toDateString() === d.toDateString();
  const pad = (n) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return today ? time : `${d.getMonth() + 1}-${pad(d.getDate())} ${time}`;
}

/** "刚刚", "3 分钟前"…: minute-grained on purpose, so lists that show it need not redraw every second. */
function ago(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  const minutes = Math.floor((Date.now() - t) / 60000);
  if (minutes < 1) return "刚刚";
  if (minutes < 60) return `${minutes} 分钟前`;
  if (minutes < 1440) return `${Math.floor(minutes / 60)} 小时前`;
  return `${Math.floor(minutes / 1440)} 天前`;
}

function whenText(iso) {
  return parseTime(iso) === null ? "—" : `${clock(iso)}（${ago(iso)}）`;
}

function mmss(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(title, detail, body) {
    super(title);
    this.title = title;
    this.detail = detail;
    this.body = body;
  }
}

/** Plain words for a failed call: what went wrong first, the server's own message as detail. */
function explain(status, body) {
  const message = (body && body.message) || "";
  const upstream = (body && body.upstream) || {};
  const raw = (body && body.raw) || {};
  if (upstream.kind === "refused") {
    return `上游拒绝了请求：${upstream.errmsg || "未说明原因"}（errcode ${upstream.errcode}）`;
  }
  if (upstream.kind === "unreachable") return "连不上上游服务：请检查上游地址（BASE_URL）和网络";
  if (upstream.kind === "timeout" || status === 504) return "上游服务响应超时，请稍后再试";
  if (upstream.kind === "http_error") return `上游服务出错（HTTP ${upstream.httpStatus || "?"}）`;
  if (upstream.kind === "not_json") return "上游服务的回答无法识别（不是 JSON）";
  if (message.startsWith("verification code refused")) {
    return `验证码未通过：${raw.errmsg || "请核对手机上显示的验证码"}`;
  }
  if (status === 404) return "找不到这个账号会话，它可能已被清理，请重新开始";
  if (status === 503) return "数据库暂时不可用，请稍后再试";
  if (status === 401) return "需要先登录控制台";
  if (status === 403) return "页面已过期，请刷新页面后重试";
  if (status === 413) return "内容太长了";
  if (status === 400) return `请求有误${body && body.field ? `（${body.field}）` : ""}：${message || "请检查输入"}`;
  if (raw.errmsg) return `上游：${raw.errmsg}`;
  return `请求失败（HTTP ${status}）`;
}

const CSRF_TOKEN = (document.querySelector("meta[name=csrf-token]") || {}).content || "";

async function api(path, body) {
  const init = body === undefined
    ? { headers: { Accept: "application/json" } }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  if (body !== undefined && CSRF_TOKEN) init.headers["X-CSRF-Token"] = CSRF_TOKEN;
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("连不上控制台服务，请确认它仍在运行", "", null);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401) {
    // The console's login expired (or was never made): go log in, then come back here.
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
  }
  if (!response.ok || !data || data.ok === false) {
    throw new ApiError(explain(response.status, data), (data && data.message) || "", data);
  }
  return data;
}

// ---------------------------------------------------------------- sessions: state and accounts

const store = {
  state: null,           // the last /api/state answer
  accounts: new Map(),   // uuid -> {name, corp, avatar} learned from 104001 callbacks
  accountLookups: new Map(), // uuid -> time of the last /api/events lookup, so it is not repeated every poll
};

/** The session's state: the server's `state` when it sends one, otherwise read from isLogin / lastEvent. */
function sessionState(session) {
  if (session.state && STATE_LABELS[session.state]) return session.state;
  if (session.isLogin) return "online";
  const event = session.lastEvent || "";
  if (["scanned", "need-code", "confirmed"].includes(event)) return "waiting_code";
  if (event === "get-qrcode") return "waiting_scan";
  if (event === "disconnect:100012") return "needs_person";
  if (event.startsWith("disconnect:") || event === "automatic-login-failed") return "offline";
  if (event === "refresh-run-client") return "offline";
  return "initialised";
}

function accountFromPayload(payload) {
  const p = payload || {};
  const name = p.realname || p.nickname || p.Nick_name || p.acctid || "";
  const corp = p.corp_name || p.Corp_name || p.Corp_full_name || "";
  const avatar = p.avatar || p.Icon_url || "";
  return name || corp ? { name, corp, avatar } : null;
}

function accountOf(session) {
  const a = session.account;
  if (a && (a.name || a.corp)) return a;
  return store.accounts.get(session.uuid) || null;
}

function sessionTitle(session) {
  const account = accountOf(session);
  if (account && account.name) return account.name;
  return session.vid ? `账号 ${session.vid}` : `实例 ${shortId(session.uuid)}`;
}

/** Logged-in sessions without a name yet: look their 104001 callback up, at most every 10 s each. */
function lookUpAccounts(sessions) {
  for (const session of sessions) {
    if (!session.uuid || accountOf(session) || !(session.isLogin || session.vid)) continue;
    const last = store.accountLookups.get(session.uuid) || 0;
    if (Date.now() - last < 10000) continue;
    store.accountLookups.set(session.uuid, Date.now());
    const query = new URLSearchParams({ type: "104001", session: session.uuid });
    api(`/api/events?${query}`)
      .then((data) => {
        const account = accountFromPayload(((data.events || [])[0] || {}).payload);
        if (account) {
          store.accounts.set(session.uuid, account);
          renderSessions();
          wizardRenderSuccess();
        }
      })
      .catch(() => {}); // the name is a nicety; the next poll tries again
  }
}

function avatarNode(account, fallbackText, size) {
  const letter = (fallbackText || "?").trim().charAt(0) || "?";
  const box = h("span", { class: `avatar avatar-${size}`, "aria-hidden": "true" }, letter);
  if (account && account.avatar && /^https?:\/\//.test(account.avatar)) {
    // WeCom's image host refuses requests that carry a Referer from another site.
    const img = h("img", { src: account.avatar, alt: "", referrerpolicy: "no-referrer", loading: "lazy" });
    img.addEventListener("error", () => img.remove());
    box.append(img);
  }
  return box;
}

function stateBadge(state) {
  return h("span", { class: `badge badge-${state}` }, STATE_LABELS[state] || state);
}

// ---------------------------------------------------------------- sessions card

let sessionsSignature = "";

function renderSessions() {
  const state = store.state;
  if (!state) return;
  const sessions = state.sessions || [];
  const activeUuid = (state.active && state.active.uuid) || "";
  // Redraw only when something visible changed, so a button is never replaced under the pointer.
  const signature = JSON.stringify([activeUuid, sessions, [...store.accounts], sessions.map((s) => ago(s.updatedAt))]);
  if (signature === sessionsSignature) return;
  sessionsSignature = signature;

  const list = $("session-list");
  // Hundreds of instances (a benchmark's) would make the page crawl; the newest ones matter.
  const shown = sessions.slice(0, MAX_SESSIONS_SHOWN);
  list.replaceChildren(...shown.map((session) => sessionItem(session, session.uuid === activeUuid)));
  if (sessions.length > shown.length) {
    list.append(h("li", { class: "muted small" }, `另有 ${sessions.length - shown.length} 个较早的实例未列出`));
  }
  show($("sessions-empty"), sessions.length === 0);
  const online = sessions.filter((s) => sessionState(s) === "online").length;
  $("sessions-count").textContent = sessions.length ? `${online} 在线 / 共 ${sessions.length}` : "";
}

function sessionItem(session, isActive) {
  const state = sessionState(session);
  const account = accountOf(session);
  const title = sessionTitle(session);
  const reason = session.stateReason || (state !== "online" ? session.lastError : "");
  const actions = h("div", { class: "session-actions" });
  if (isActive) {
    actions.append(h("span", { class: "tag tag-active", title: "API 请求不带 uuid 时使用这个账号" }, "当前账号"));
  } else {
    actions.append(h("button", {
      type: "button", class: "btn btn-small", "data-activate": session.uuid,
      onclick: (e) => activate(session.uuid, e.currentTarget),
    }, "设为当前"));
  }
  if (state !== "online" && session.vid) {
    actions.append(h("button", {
      type: "button", class: "btn btn-small btn-ghost", onclick: () => prepareAutoLogin(session.vid),
    }, "自动登录"));
  }
  return h("li", { class: `session${isActive ? " session-active" : ""}`, "data-uuid": session.uuid },
    avatarNode(account, title, "md"),
    h("div", { class: "session-main" },
      h("div", { class: "session-title" }, h("span", { class: "session-name" }, title), stateBadge(state)),
      h("div", { class: "session-meta" },
        account && account.corp ? h("span", {}, account.corp) : null,
        session.vid ? h("span", {}, `vid ${session.vid}`) : null,
        session.vid || account ? h("span", { title: session.uuid }, `uuid ${shortId(session.uuid)}`) : null,
        session.updatedAt ? h("span", { title: clock(session.updatedAt) }, `更新于 ${ago(session.updatedAt)}`) : null),
      reason ? h("div", { class: `session-reason${BAD_STATES.has(state) ? " session-reason-bad" : ""}` }, reason) : null,
      actions));
}

async function activate(uuid, button) {
  button.disabled = true;
  try {
    await api("/api/sessions/activate", { uuid });
    await refreshNow();
  } catch (err) {
    button.disabled = false;
    button.title = err.title;
    button.textContent = "切换失败，重试";
  }
}

// ---------------------------------------------------------------- monitor card

function renderMonitor() {
  const state = store.state;
  const monitor = (state && state.monitor) || {};
  const toggle = $("monitor-toggle");
  toggle.setAttribute("aria-checked", monitor.enabled ? "true" : "false");
  let status = "已停止";
  if (monitor.reconnecting) status = "正在重连掉线账号…";
  else if (monitor.enabled && monitor.running) status = "运行中";
  else if (monitor.enabled) status = "已开启（由其他进程运行）";
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

// ---------------------------------------------------------------- login wizard

const STEP_LABELS = {
  init: "初始化实例", initVid: "初始化实例（带 vid）", callback: "设置回调地址", auto: "自动登录",
  qrcode: "获取二维码", scan: "手机扫码", code: "输入验证码", done: "登录成功",
};

const wizard = {
  mode: "first",     // "first" | "auto"
  phase: "start",    // start | running | qr | expired | code | checking | success | failed
  resumeChecked: false,
  uuid: "",
  vid: "",
  steps: [],
  expiresAt: 0,      // ms; 0 = unknown
  ttl: 0,
};

function makeSteps(keys) {
  // "initVid" is the init step with its auto-login label.
  return keys.map((key) => ({
    key: key === "initVid" ? "init" : key, label: STEP_LABELS[key], status: "pending", note: "",
  }));
}

function wizardReset(mode) {
  Object.assign(wizard, { mode, phase: "start", uuid: "", vid: "", expiresAt: 0, ttl: 0 });
  wizard.steps = mode === "first"
    ? makeSteps(["init", "callback", "qrcode", "scan", "code", "done"])
    : makeSteps(["initVid", "callback", "auto", "done"]);
  $("code-input").value = "";
  hideWizardError();
  renderWizard();
}

function step(key) {
  return wizard.steps.find((s) => s.key === key);
}

function mark(key, status, note) {
  const s = step(key);
  if (!s) return;
  s.status = status;
  s.note = note || "";
  renderSteps();
}

/** Add a step the flow turned out to need (the code step after a fallback to QR), before `before`. */
function ensureStep(key, before) {
  if (step(key)) return;
  const index = wizard.steps.findIndex((s) => s.key === before);
  wizard.steps.splice(index < 0 ? wizard.steps.length : index, 0, makeSteps([key])[0]);
}

const STEP_MARKS = { done: "✓", failed: "✕", skipped: "–" };
const STEP_STATUS_WORDS = { pending: "未开始", running: "进行中…", done: "完成", failed: "失败", skipped: "不需要" };

function renderSteps() {
  $("wizard-steps").replaceChildren(...wizard.steps.map((s, i) => h("li",
    { class: `step step-${s.status}`, "data-step": s.key, "aria-current": s.status === "running" ? "step" : null },
    h("span", { class: "step-mark", "aria-hidden": "true" }, STEP_MARKS[s.status] || String(i + 1)),
    h("span", { class: "step-text" },
      h("span", { class: "step-label" }, s.label),
      h("span", { class: "step-note", title: s.note || null }, s.note || STEP_STATUS_WORDS[s.status])))));
}

function renderWizard() {
  const { mode, phase } = wizard;
  for (const tab of document.querySelectorAll("#wizard .tab")) {
    tab.setAttribute("aria-selected", tab.dataset.mode === mode ? "true" : "false");
    tab.disabled = ["running", "checking"].includes(phase);
  }
  const atStart = phase === "start" || (phase === "failed" && !wizard.uuid);
  show($("first-form"), atStart && mode === "first");
  show($("auto-form"), atStart && mode === "auto");
  show($("proxy-box"), atStart);
  show($("qr-panel"), ["qr", "expired", "code", "checking"].includes(phase));
  show($("code-form"), phase === "code" || phase === "checking");
  show($("qr-howto"), phase === "qr" || phase === "expired");
  show($("success-panel"), phase === "success");
  $("first-start").disabled = phase === "running";
  $("auto-start").disabled = phase === "running";
  $("code-submit").disabled = phase === "checking";
  renderSteps();
  renderCountdown();
  wizardRenderSuccess();
}

function showWizardError(err, actions) {
  $("wizard-error-title").textContent = err.title || String(err);
  $("wizard-error-detail").textContent = err.detail && err.detail !== err.title ? err.detail : "";
  $("wizard-error-actions").replaceChildren(...actions.map(([label, handler, primary]) =>
    h("button", { type: "button", class: `btn btn-small${primary ? " btn-primary" : ""}`, onclick: handler }, label)));
  show($("wizard-error"), true);
}

function hideWizardError() {
  show($("wizard-error"), false);
}

/** Run one API step: it shows as running, then done with `doneNote(result)`, or failed with the reason. */
async function runStep(key, call, doneNote) {
  mark(key, "running");
  try {
    const result = await call();
    mark(key, "done", doneNote ? doneNote(result) : "");
    refreshNow(); // the account list shows the new instance at once, not at the next poll
    return result;
  } catch (err) {
    mark(key, "failed", err.title);
    throw err;
  }
}

function initFields() {
  const fields = {};
  const ip = $("proxy-ip").value.trim();
  if (ip) {
    Object.assign(fields, {
      ip, port: $("proxy-port").value.trim(), proxyType: $("proxy-type").value,
      userName: $("proxy-user").value.trim(), passward: $("proxy-pass").value,
      proxySituation: $("proxy-fixed").checked ? 1 : 0,
    });
  }
  return fields;
}

async function startFirstLogin() {
  wizardReset("first");
  wizard.phase = "running";
  renderWizard();
  try {
    const init = await runStep("init", () => api("/api/init", initFields()), (r) => `实例 ${shortId(r.uuid)}`);
    wizard.uuid = init.uuid;
    await runStep("callback", () => api("/api/set-callback", { uuid: wizard.uuid }), () => "已设置");
    await fetchQrCode();
  } catch (err) {
    failWizard(err, [["重试", startFirstLogin, true]]);
  }
}

async function fetchQrCode() {
  wizard.phase = "running";
  hideWizardError();
  renderWizard();
  const qr = await runStep("qrcode", () => api("/api/get-qrcode", { uuid: wizard.uuid }),
    (r) => (r.ttl > 0 ? `有效期 ${mmss(r.ttl)}` : "已获取"));
  showQrCode(qr.qrcode, qr.ttl);
}

function showQrCode(image, ttl) {
  $("qr-img").src = image;
  wizard.ttl = ttl > 0 ? ttl : 0;
  wizard.expiresAt = ttl > 0 ? Date.now() + ttl * 1000 : 0;
  wizard.phase = "qr";
  show($("qr-cover"), false);
  show($("qr-renew"), false);
  $("qr-title").textContent = "用手机企业微信扫一扫";
  $("qr-status").textContent = "等待扫码…";
  mark("scan", "running", "等待手机扫码…");
  renderWizard();
}

function failWizard(err, actions) {
  wizard.phase = "failed";
  showWizardError(err, [...actions, ["重新开始", () => wizardReset(wizard.mode), false]]);
  renderWizard();
}

async function renewQrCode() {
  try {
    if (!step("qrcode")) {
      ensureStep("qrcode", "done");
      ensureStep("scan", "done");
    }
    await fetchQrCode();
  } catch (err) {
    failWizard(err, [["重试", renewQrCode, true]]);
  }
}

async function submitCode(event) {
  event.preventDefault();
  const code = $("code-input").value.trim();
  if (!/^\d{6}$/.test(code)) {
    mark("code", "running", "验证码是 6 位数字");
    $("code-input").focus();
    return;
  }
  wizard.phase = "checking";
  hideWizardError();
  renderWizard();
  try {
    await runStep("code", () => api("/api/check-code", { uuid: wizard.uuid, code }), () => "验证码正确");
    if (wizard.phase !== "checking") return; // the poll already saw the login finish
    // Login completes when the upstream's 104001 callback arrives; the poll sees it.
    mark("done", "running", "等待上游确认登录…");
    $("qr-status").textContent = "验证码已通过，正在完成登录…";
  } catch (err) {
    wizard.phase = "code";
    showWizardError(err, []);
    renderWizard();
    $("code-input").select();
  }
}

function prepareAutoLogin(vid) {
  if (["running", "checking"].includes(wizard.phase)) return;
  wizardReset("auto");
  $("auto-vid").value = vid;
  $("auto-known").value = vid;
  $("wizard").scrollIntoView({ behavior: "smooth", block: "start" });
  $("auto-start").focus({ preventScroll: true });
}

async function startAutoLogin() {
  const vid = ($("auto-vid").value || $("auto-known").value).trim();
  if (!/^\d{1,20}$/.test(vid)) {
    wizardReset("auto");
    failWizard(new ApiError("请先选择一个账号或输入它的 vid（一串数字）", ""), []);
    return;
  }
  wizardReset("auto");
  wizard.vid = vid;
  wizard.phase = "running";
  renderWizard();
  try {
    const init = await runStep("init", () => api("/api/init", { ...initFields(), vid }), (r) => `实例 ${shortId(r.uuid)}`);
    wizard.uuid = init.uuid;
    await runStep("callback", () => api("/api/set-callback", { uuid: wizard.uuid }), () => "已设置");
  } catch (err) {
    failWizard(err, [["重试", startAutoLogin, true]]);
    return;
  }
  try {
    await runStep("auto", () => api("/api/automatic-login", { uuid: wizard.uuid }), () => "已登录");
    wizardSucceeded();
    refreshNow();
  } catch (err) {
    failWizard(err, [["改用扫码登录", fallBackToQrCode, true], ["再试一次自动登录", retryAutomaticLogin, false]]);
  }
}

async function retryAutomaticLogin() {
  wizard.phase = "running";
  hideWizardError();
  renderWizard();
  try {
    await runStep("auto", () => api("/api/automatic-login", { uuid: wizard.uuid }), () => "已登录");
    wizardSucceeded();
    refreshNow();
  } catch (err) {
    failWizard(err, [["改用扫码登录", fallBackToQrCode, true], ["再试一次自动登录", retryAutomaticLogin, false]]);
  }
}

/** getQrCode on the same uuid: the device identity is reused, so the scan usually needs no code. */
async function fallBackToQrCode() {
  ensureStep("qrcode", "done");
  ensureStep("scan", "done");
  mark("auto", "skipped", "改用扫码");
  await renewQrCode();
}

function wizardSucceeded() {
  wizard.phase = "success";
  for (const s of wizard.steps) {
    if (s.status === "pending" || s.status === "running") {
      if (s.key === "done") mark("done", "done", "已登录");
      else mark(s.key, s.key === "code" ? "skipped" : "done", s.key === "code" ? "无需验证码" : "");
    }
  }
  hideWizardError();
  renderWizard();
}

function wizardRenderSuccess() {
  if (wizard.phase !== "success") return;
  const sessions = (store.state && store.state.sessions) || [];
  const session = sessions.find((s) => s.uuid === wizard.uuid) || { uuid: wizard.uuid, vid: wizard.vid };
  const account = accountOf(session);
  const title = account && account.name ? account.name : "已登录";
  // Redrawn only when it changes: every poll calls this, and a new <img> would re-fetch the avatar.
  const signature = JSON.stringify([session.uuid, session.vid, account]);
  const box = $("success-account");
  if (box.dataset.signature === signature) return;
  box.dataset.signature = signature;
  box.replaceChildren(
    avatarNode(account, title, "lg"),
    h("div", { class: "account-main" },
      h("div", { class: "account-name" }, title, stateBadge("online")),
      account && account.corp ? h("div", { class: "muted" }, account.corp) : null,
      h("dl", { class: "facts facts-inline" },
        h("dt", {}, "vid"), h("dd", {}, h("code", { id: "success-vid" }, session.vid || "等待上游回报…")),
        h("dt", {}, "uuid"), h("dd", {}, h("code", {}, session.uuid || "")))));
}

/** Follow the wizard's session in each poll: scan reported, code needed, login done, QR expired. */
function wizardFollow() {
  if (!wizard.uuid || !["qr", "expired", "code", "checking"].includes(wizard.phase)) return;
  const session = ((store.state && store.state.sessions) || []).find((s) => s.uuid === wizard.uuid);
  if (!session) return;
  const state = sessionState(session);
  const event = session.lastEvent || "";
  const expires = parseTime(session.qrcodeExpiresAt);
  // The ttl counted here is immune to clock skew; the server's deadline serves when there is no ttl.
  if (expires && wizard.phase === "qr" && !wizard.ttl) wizard.expiresAt = expires;

  if (session.isLogin || state === "online") {
    wizardSucceeded();
    return;
  }
  if (event === "disconnect:100009") {
    mark("scan", "failed", "二维码超时");
    show($("qr-renew"), false); // the instance is gone: only a new login helps
    failWizard(new ApiError("二维码超时未扫码，上游已销毁这个实例", session.lastError || ""), [["重新登录", restartWizard, true]]);
    return;
  }
  // A new device always gets a code after the scan; a device the account used before logs straight in.
  const needsCode = state === "waiting_code" || event === "need-code" || (wizard.mode === "first" && event === "scanned");
  if (wizard.phase === "qr" && needsCode) {
    mark("scan", "done", "已扫码");
    ensureStep("code", "done");
    mark("code", "running", "请输入手机上显示的验证码");
    wizard.phase = "code";
    show($("qr-cover"), true);
    $("qr-cover").textContent = "已扫码";
    $("qr-title").textContent = "已扫码，请输入手机上显示的验证码";
    $("qr-status").textContent = "";
    renderWizard();
    $("code-input").focus();
    return;
  }
  if (event === "scanned" && wizard.phase === "qr") {
    mark("scan", "running", "已扫码，等待手机确认…");
  } else if (event === "confirmed" && wizard.phase === "qr") {
    mark("scan", "done", "已确认，正在登录…");
    $("qr-status").textContent = "手机已确认，正在登录…";
  } else if (event === "scan-cancelled" && wizard.phase === "qr") {
    mark("scan", "running", "手机上取消了登录，可以再扫一次");
  }
}

function restartWizard() {
  if (wizard.mode === "first") startFirstLogin();
  else startAutoLogin();
}

/** A page opened (or reloaded) in the middle of a login picks the active session's QR code up again. */
function wizardResume() {
  // Only on the first poll: after that, a waiting session is one the user chose to leave.
  if (wizard.resumeChecked || !store.state) return;
  wizard.resumeChecked = true;
  if (wizard.phase !== "start") return;
  const session = store.state.active || {};
  const state = sessionState(session);
  if (!session.uuid || !session.qrcode || session.isLogin || !["waiting_scan", "waiting_code"].includes(state)) return;
  wizardReset("first");
  wizard.uuid = session.uuid;
  mark("init", "done", `实例 ${shortId(session.uuid)}`);
  mark("callback", "done", "已设置");
  mark("qrcode", "done", "已获取");
  const expires = parseTime(session.qrcodeExpiresAt);
  showQrCode(session.qrcode, expires ? (expires - Date.now()) / 1000 : 0);
  wizardFollow();
}

function renderCountdown() {
  const box = $("qr-countdown-box");
  const visible = wizard.phase === "qr" || wizard.phase === "expired";
  show(box, visible);
  if (!visible) return;
  if (!wizard.expiresAt) {
    $("qr-countdown").textContent = "";
    $("qr-countdown-label").textContent = "二维码有效期未知";
    $("qr-bar").style.width = "0";
    return;
  }
  const left = Math.max(0, (wizard.expiresAt - Date.now()) / 1000);
  const total = wizard.ttl || Math.max(left, 1);
  $("qr-countdown").textContent = left > 0 ? mmss(left) : "二维码已过期";
  $("qr-countdown-label").textContent = left > 0 ? "后二维码过期" : "";
  $("qr-bar").style.width = `${Math.min(100, (left / total) * 100)}%`;
  box.classList.toggle("countdown-low", left < 60);
  if (left <= 0 && wizard.phase === "qr") expireQrCode();
}

function expireQrCode() {
  wizard.phase = "expired";
  show($("qr-cover"), true);
  $("qr-cover").textContent = "已过期";
  show($("qr-renew"), true);
  $("qr-status").textContent = "二维码已过期。点「重新获取二维码」换一张。";
  mark("scan", "failed", "二维码已过期");
  renderWizard();
}

// ---------------------------------------------------------------- auto-login account picker

let knownSignature = "";

function renderKnownAccounts() {
  const sessions = (store.state && store.state.sessions) || [];
  const byVid = new Map();
  for (const session of sessions) {
    if (session.vid && !byVid.has(session.vid)) byVid.set(session.vid, session);
  }
  const options = [...byVid.values()].map((s) => [s.vid, `${sessionTitle(s)} · ${s.vid} · ${STATE_LABELS[sessionState(s)]}`]);
  const signature = JSON.stringify(options);
  if (signature === knownSignature) return;
  knownSignature = signature;
  const select = $("auto-known");
  const chosen = select.value;
  select.replaceChildren(
    h("option", { value: "" }, options.length ? "— 从已登录过的账号中选择 —" : "— 还没有登录过的账号 —"),
    ...options.map(([vid, label]) => h("option", { value: vid }, label)));
  select.value = byVid.has(chosen) ? chosen : "";
}

// ---------------------------------------------------------------- send text

function renderSendAs() {
  const active = (store.state && store.state.active) || {};
  const node = $("send-as");
  if (!active.uuid) {
    node.textContent = "还没有可用的账号";
    return;
  }
  const state = sessionState(active);
  node.replaceChildren(`由当前账号发送：${sessionTitle(active)} `, stateBadge(state));
}

async function sendText(event) {
  event.preventDefault();
  const result = $("send-result");
  const to = $("send-to").value.trim();
  const content = $("send-content").value;
  const isRoom = document.querySelector("input[name=send-kind]:checked").value === "room";
  result.className = "result";
  if (!/^\d+$/.test(to)) {
    result.textContent = "接收方 ID 应为一串数字";
    result.classList.add("result-error");
    return;
  }
  if (!content.trim()) {
    result.textContent = "请填写要发送的内容";
    result.classList.add("result-error");
    return;
  }
  const active = (store.state && store.state.active) || {};
  $("send-submit").disabled = true;
  result.textContent = "发送中…";
  try {
    // The id travels as a string: ids beyond 2^53 would lose digits as JSON numbers in JavaScript.
    const body = { send_userid: to, isRoom, content };
    if (active.uuid) body.uuid = active.uuid;
    const answer = await api("/api/send-text", body);
    const data = (answer.raw && answer.raw.data) || {};
    result.textContent = `已发送${data.msg_id ? `（消息 ID ${data.msg_id}）` : ""} · ${clock(new Date().toISOString())}`;
    result.classList.add("result-ok");
    $("send-content").value = "";
  } catch (err) {
    result.textContent = `发送失败：${err.title}`;
    result.classList.add("result-error");
  } finally {
    $("send-submit").disabled = false;
  }
}

function pickReceiver(id, isRoom) {
  $("send-to").value = id;
  document.querySelector(`input[name=send-kind][value=${isRoom ? "room" : "person"}]`).checked = true;
  $("send-card").scrollIntoView({ behavior: "smooth", block: "center" });
  $("send-content").focus({ preventScroll: true });
}

// ---------------------------------------------------------------- contacts

const EXTERNAL_STATUS = { 0: "双方已删除", 8: "已删除或拉黑", 2049: "对方已删除" };

const contacts = {
  tab: "inner",
  limit: 50,
  uuid: "",
  people: new Map(), // user_id -> label, for the receiver picker (every page loaded so far)
  departments: new Map(), // partyid -> name, so rows can name their department instead of a number
  inner: { page: 1, cursor: "", next: "", list: [], done: false },
  external: { page: 1, cursor: 0, next: 0, list: [], done: false },
};

/** Load a page. `which` says which table the answer is for; the other side re-reads its current page. */
async function loadContacts(which) {
  const errorBox = $("contacts-error");
  const buttons = ["contacts-load", "inner-next", "inner-first", "external-next", "external-first"].map($);
  buttons.forEach((b) => { b.disabled = true; });
  show(errorBox, false);
  const { inner, external, limit } = contacts;
  try {
    const answer = await api("/api/contacts", {
      uuid: contacts.uuid || undefined,
      inner: { limit, strSeq: inner.cursor },
      external: { limit, seq: external.cursor },
    });
    contacts.uuid = answer.uuid;
    if (which !== "external") takeInnerPage(answer.inner);
    if (which !== "inner") takeExternalPage(answer.external);
    show($("contacts-body"), true);
    show($("contacts-empty"), false);
  } catch (err) {
    errorBox.textContent = `读取通讯录失败：${err.title}`;
    show(errorBox, true);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    renderContacts();
  }
}

function takeInnerPage(envelope) {
  const data = (envelope && envelope.data) || {};
  const page = contacts.inner;
  page.list = Array.isArray(data.list) ? data.list : [];
  page.next = data.seq ? String(data.seq) : "";
  // The directory's cursor is a string; an empty one means this was the last page.
  page.done = !page.next || page.list.length === 0;
  for (const item of page.list) {
    if (Number(item.is_Department) === 1) {
      if (item.partyid) contacts.departments.set(String(item.partyid), item.party_name || "");
    } else if (item.user_id) {
      contacts.people.set(String(item.user_id), `内部 · ${personName(item)}`);
    }
  }
}

function takeExternalPage(envelope) {
  const data = (envelope && envelope.data) || {};
  const page = contacts.external;
  page.list = Array.isArray(data.list) ? data.list : [];
  page.next = data.seq || 0;
  // External contacts have a numeric cursor and no "end" marker: a short page is the last one.
  page.done = page.list.length === 0 || page.list.length < contacts.limit;
  for (const item of page.list) {
    if (item.user_id) contacts.people.set(String(item.user_id), `外部 · ${personName(item)}`);
  }
}

function personName(item) {
  return item.realname || item.nickname || item.remarks || item.acctid || String(item.user_id || "");
}

function nextPage(which) {
  const page = contacts[which];
  if (page.done) return;
  page.cursor = page.next;
  page.page += 1;
  loadContacts(which);
}

function firstPage(which) {
  const page = contacts[which];
  page.cursor = which === "inner" ? "" : 0;
  page.page = 1;
  loadContacts(which);
}

function sendButton(id) {
  return h("button", { type: "button", class: "btn btn-small btn-ghost", onclick: () => pickReceiver(String(id), false) }, "发消息");
}

function departmentCell(partyid, none) {
  if (!partyid) return h("td", { class: "muted" }, none);
  const name = contacts.departments.get(String(partyid));
  return name ? h("td", { title: String(partyid) }, name) : h("td", { class: "mono" }, String(partyid));
}

function innerRow(item) {
  if (Number(item.is_Department) === 1) {
    return h("tr", { class: "row-dept" },
      h("td", {}, h("span", { class: "tag tag-dept" }, "部门")),
      h("td", {}, item.party_name || "（未命名部门）"),
      h("td", { class: "mono" }, String(item.partyid ?? "")),
      h("td", {}, ""),
      departmentCell(item.parentid, "顶级"),
      h("td", {}, ""));
  }
  return h("tr", {},
    h("td", {}, h("span", { class: "tag tag-person" }, "成员")),
    h("td", {}, personName(item)),
    h("td", { class: "mono" }, String(item.user_id ?? "")),
    h("td", {}, [item.position, item.acctid].filter(Boolean).join(" · ")),
    departmentCell(item.partyid, ""),
    h("td", { class: "cell-action" }, item.user_id ? sendButton(item.user_id) : ""));
}

function externalRow(item) {
  const added = item.add_customer_time ? new Date(item.add_customer_time * 1000).toLocaleDateString("zh-CN") : "";
  const relation = EXTERNAL_STATUS[item.status] || "好友";
  return h("tr", {},
    h("td", {}, item.nickname || item.realname || "（无昵称）"),
    h("td", {}, [item.remarks || item.real_remarks, item.realname].filter(Boolean).join(" · ")),
    h("td", { class: "mono" }, String(item.user_id ?? "")),
    h("td", {}, added),
    h("td", {}, h("span", { class: `tag ${relation === "好友" ? "tag-ok" : "tag-warn"}` }, relation)),
    h("td", { class: "cell-action" }, item.user_id ? sendButton(item.user_id) : ""));
}

function matches(item, needle) {
  if (!needle) return true;
  return Object.values(item).some((v) => (typeof v === "string" || typeof v === "number") && String(v).toLowerCase().includes(needle));
}

function renderContacts() {
  const needle = $("contacts-filter").value.trim().toLowerCase();
  const { inner, external } = contacts;

  const innerShown = inner.list.filter((item) => matches(item, needle));
  $("inner-rows").replaceChildren(...(innerShown.length ? innerShown.map(innerRow) : [emptyRow(needle)]));
  const depts = inner.list.filter((i) => Number(i.is_Department) === 1).length;
  $("inner-count").textContent = String(inner.list.length);
  $("inner-summary").textContent = `第 ${inner.page} 页 · 本页 ${inner.list.length} 条（部门 ${depts} · 成员 ${inner.list.length - depts}）`
    + `${needle ? ` · 筛选后 ${innerShown.length} 条` : ""}${inner.done ? " · 已是最后一页" : ""}`;
  $("inner-next").disabled = inner.done;
  $("inner-first").disabled = inner.page === 1;

  const externalShown = external.list.filter((item) => matches(item, needle));
  $("external-rows").replaceChildren(...(externalShown.length ? externalShown.map(externalRow) : [emptyRow(needle)]));
  $("external-count").textContent = String(external.list.length);
  $("external-summary").textContent = `第 ${external.page} 页 · 本页 ${external.list.length} 条`
    + `${needle ? ` · 筛选后 ${externalShown.length} 条` : ""}${external.done ? " · 已是最后一页" : ""}`;
  $("external-next").disabled = external.done;
  $("external-first").disabled = external.page === 1;

  for (const tab of document.querySelectorAll("[data-contacts]")) {
    tab.setAttribute("aria-selected", tab.dataset.contacts === contacts.tab ? "true" : "false");
  }
  show($("inner-view"), contacts.tab === "inner");
  show($("external-view"), contacts.tab === "external");
  renderReceiverPicker();
}

function emptyRow(filtered) {
  return h("tr", {}, h("td", { colspan: "6", class: "empty-cell" }, filtered ? "没有符合筛选条件的条目" : "这一页没有条目"));
}

function renderReceiverPicker() {
  const select = $("send-pick");
  if (select.options.length - 1 === contacts.people.size) return;
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, `— 已加载 ${contacts.people.size} 位联系人 —`),
    ...[...contacts.people].map(([id, label]) => h("option", { value: id }, `${label}（${id}）`)));
  select.value = chosen;
}

// ---------------------------------------------------------------- events

const events = {
  nodes: new Map(), // id -> <details>; kept so an opened payload stays open across polls
  order: "",
  stages: new Set(),
  types: new Set(),
  fetchedAt: 0,
  count: -1,
  loading: false,
};

function eventTypeLabel(event) {
  const label = event.stage === "callback" ? CALLBACK_LABELS[event.eventType] : "";
  return label ? `${event.eventType} ${label}` : event.eventType;
}

/** One line that says what happened, taken from the payload. */
function eventSummary(event) {
  const p = event.payload || {};
  if (event.stage === "callback" && String(event.eventType) === "102000") {
    const who = p.sender_name || p.sender || "";
    return `${who ? `${who}：` : ""}${p.content ?? ""}`;
  }
  if (event.stage === "callback" && String(event.eventType) === "104001") {
    const account = accountFromPayload(p);
    return account ? [account.name, account.corp].filter(Boolean).join(" · ") : "";
  }
  if (event.stage === "state") {
    const change = p.from && p.to ? `${STATE_LABELS[p.from] || p.from} → ${STATE_LABELS[p.to] || p.to}` : "";
    return [change, p.reason].filter(Boolean).join("：");
  }
  if (p.msg) return String(p.msg);
  if (p.error && p.error.message) return String(p.error.message);
  if (p.response && typeof p.response === "object" && p.response.errmsg) return String(p.response.errmsg);
  return "";
}

function eventNode(event) {
  const summary = eventSummary(event);
  const failed = /:|fail/.test(event.eventType) && event.stage !== "state";
  return h("details", { class: `event${failed ? " event-failed" : ""}`, "data-id": String(event.id) },
    h("summary", {},
      h("span", { class: "event-time", title: event.createdAt }, clock(event.createdAt)),
      h("span", { class: `stage stage-${event.stage}` }, STAGE_LABELS[event.stage] || event.stage || "—"),
      h("span", { class: "event-type" }, eventTypeLabel(event)),
      h("span", { class: "event-session", title: event.sessionUuid }, shortId(event.sessionUuid)),
      h("span", { class: "event-summary" }, summary)),
    h("pre", { class: "json" }, JSON.stringify(event.payload, null, 2)));
}

function eventFilters() {
  const params = new URLSearchParams();
  for (const [name, id] of [["stage", "filter-stage"], ["type", "filter-type"], ["session", "filter-session"]]) {
    if ($(id).value) params.set(name, $(id).value);
  }
  return params;
}

async function loadEvents(force) {
  const count = store.state ? store.state.eventsCount : -1;
  const stale = Date.now() - events.fetchedAt > EVENTS_MAX_AGE_MS;
  if (events.loading || (!force && !stale && count === events.count)) return;
  events.loading = true;
  try {
    const query = eventFilters().toString();
    const data = await api(`/api/events${query ? `?${query}` : ""}`);
    events.count = count;
    events.fetchedAt = Date.now();
    renderEvents(data.events || []);
  } catch {
    events.fetchedAt = 0; // the sync indicator already says the server is unreachable
  } finally {
    events.loading = false;
  }
}

function renderEvents(list) {
  const seen = new Set();
  const nodes = list.map((event) => {
    seen.add(event.id);
    events.stages.add(event.stage);
    events.types.add(event.eventType);
    if (event.stage === "callback" && String(event.eventType) === "104001") {
      const account = accountFromPayload(event.payload);
      if (account && event.sessionUuid && !store.accounts.has(event.sessionUuid)) store.accounts.set(event.sessionUuid, account);
    }
    let node = events.nodes.get(event.id);
    if (!node) {
      node = eventNode(event);
      events.nodes.set(event.id, node);
    }
    return node;
  });
  for (const id of [...events.nodes.keys()]) {
    if (!seen.has(id)) events.nodes.delete(id);
  }
  const order = list.map((e) => e.id).join(",");
  if (order !== events.order) {
    events.order = order;
    $("event-list").replaceChildren(...nodes);
  }
  show($("events-empty"), list.length === 0);
  $("events-shown").textContent = list.length ? `显示最新 ${list.length} 条` : "";
  fillFilter("filter-stage", events.stages, (v) => `${STAGE_LABELS[v] || v}（${v}）`);
  fillFilter("filter-type", events.types, (v) => (CALLBACK_LABELS[v] ? `${v} ${CALLBACK_LABELS[v]}` : v));
}

function fillFilter(id, values, label) {
  const select = $(id);
  const wanted = [...values].filter(Boolean).sort();
  if (select.options.length - 1 === wanted.length) return;
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, "全部"), ...wanted.map((v) => h("option", { value: v }, label(v))));
  select.value = chosen;
}

function renderSessionFilter() {
  const sessions = (store.state && store.state.sessions) || [];
  const select = $("filter-session");
  const signature = sessions.map((s) => s.uuid + sessionTitle(s)).join("|");
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, "全部"),
    ...sessions.map((s) => h("option", { value: s.uuid }, `${sessionTitle(s)}（${shortId(s.uuid)}）`)));
  if (chosen && !sessions.some((s) => s.uuid === chosen)) select.append(h("option", { value: chosen }, shortId(chosen)));
  select.value = chosen;
}

// ---------------------------------------------------------------- polling

let pollTimer = 0;
let polling = null;

function setSync(ok, text) {
  const status = $("sync-status");
  status.querySelector(".dot").className = `dot ${ok ? "dot-ok" : "dot-bad"}`;
  $("sync-text").textContent = text;
}

/** Read /api/state and redraw what depends on it. Concurrent callers share one request. */
function poll() {
  if (polling) return polling;
  clearTimeout(pollTimer);
  polling = (async () => {
    try {
      store.state = await api("/api/state");
      setSync(true, `实时同步 · ${clock(new Date().toISOString())}`);
      const sessions = store.state.sessions || (store.state.active && store.state.active.uuid ? [store.state.active] : []);
      store.state.sessions = sessions;
      lookUpAccounts(sessions);
      wizardResume();
      wizardFollow();
      renderSessions();
      renderMonitor();
      renderKnownAccounts();
      renderSendAs();
      renderSessionFilter();
      wizardRenderSuccess();
      loadEvents(false);
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
function refreshNow() {
  return (polling || Promise.resolve()).then(() => poll());
}

async function checkUpstream() {
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

// ---------------------------------------------------------------- wiring

function wire() {
  for (const tab of document.querySelectorAll("#wizard .tab")) {
    tab.addEventListener("click", () => {
      if (tab.dataset.mode !== wizard.mode || wizard.phase !== "start") wizardReset(tab.dataset.mode);
    });
  }
  $("first-form").addEventListener("submit", (e) => { e.preventDefault(); startFirstLogin(); });
  $("auto-form").addEventListener("submit", (e) => { e.preventDefault(); startAutoLogin(); });
  // Enter in a proxy field must not submit (and reload) the page; the proxy is read when a login starts.
  $("proxy-form").addEventListener("submit", (e) => e.preventDefault());
  $("auto-known").addEventListener("change", () => { $("auto-vid").value = $("auto-known").value; });
  $("code-form").addEventListener("submit", submitCode);
  $("code-input").addEventListener("input", (e) => { e.target.value = e.target.value.replace(/\D/g, "").slice(0, 6); });
  $("qr-renew").addEventListener("click", renewQrCode);
  $("qr-img").addEventListener("error", () => { $("qr-status").textContent = "二维码图片加载失败：上游给出的图片地址打不开。"; });
  $("wizard-again").addEventListener("click", () => wizardReset("first"));

  $("monitor-toggle").addEventListener("click", toggleMonitor);

  $("send-form").addEventListener("submit", sendText);
  $("send-pick").addEventListener("change", (e) => { if (e.target.value) pickReceiver(e.target.value, false); });

  $("contacts-load").addEventListener("click", () => {
    contacts.limit = Number($("contacts-limit").value) || 50;
    contacts.uuid = "";
    contacts.inner = { page: 1, cursor: "", next: "", list: [], done: false };
    contacts.external = { page: 1, cursor: 0, next: 0, list: [], done: false };
    loadContacts("both");
  });
  $("inner-next").addEventListener("click", () => nextPage("inner"));
  $("external-next").addEventListener("click", () => nextPage("external"));
  $("inner-first").addEventListener("click", () => firstPage("inner"));
  $("external-first").addEventListener("click", () => firstPage("external"));
  $("contacts-filter").addEventListener("input", renderContacts);
  for (const tab of document.querySelectorAll("[data-contacts]")) {
    tab.addEventListener("click", () => { contacts.tab = tab.dataset.contacts; renderContacts(); });
  }

  for (const id of ["filter-stage", "filter-type", "filter-session"]) $(id).addEventListener("change", () => loadEvents(true));
  $("filter-clear").addEventListener("click", () => {
    for (const id of ["filter-stage", "filter-type", "filter-session"]) $(id).value = "";
    loadEvents(true);
  });

  // The countdown is the only thing that changes every second.
  setInterval(() => { if (wizard.phase === "qr") renderCountdown(); }, 1000);
}

wire();
wizardReset("first");
poll();
checkUpstream();
