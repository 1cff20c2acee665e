/* 企业微信登录控制台 — plain JS over the JSON API under /api.
 *
 * Rule for the whole file: data from the API (names, messages, payloads) reaches the page only through
 * textContent, attributes or form values, never parsed as HTML markup: it comes from the upstream and
 * from whoever sends the account a message.
 */
"use strict";

const POLL_MS = 2000;
// The events list grows by what is newer than the newest row shown (`/api/events?after=`) and keeps
// this many rows; it is read in full only when the filters change.
const EVENTS_KEPT = 200;
// An id missing between two rows may be a transaction that has not committed yet (MySQL hands ids out
// at insert time): it is asked for again for this long, then taken for a rolled-back insert.
const EVENT_GAP_WAIT_MS = 10000;
const MAX_SESSIONS_SHOWN = 100;
// How long an account that came back online stays in the "needs a person" card, saying so.
const RECOVERED_SHOWN_MS = 20000;

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
  102001: "被对方删除", 102002: "被对方拉黑", 102004: "标签变更", 102005: "标签成员变更", 102006: "手机上已读",
  115001: "新群", 115002: "群成员被移除", 115003: "邀请进群", 115004: "退出群聊", 115005: "群名变更",
  115006: "群主或群设置变更", 115007: "群管理员变更", 115008: "群解散", 115009: "群成员变动",
  116001: "好友申请", 116002: "联系人变更", 116003: "内部联系人标签变更", 116005: "置顶免打扰变更",
};

const STAGE_LABELS = {
  callback: "回调", state: "状态", reconnect: "重连", alert: "告警",
  init: "初始化", init_no_uuid: "初始化无 uuid", set_callback: "设置回调", get_qrcode: "获取二维码",
  check_code: "验证码", automatic_login: "自动登录", refresh_status: "刷新状态", send_text: "发消息",
  get_contacts: "通讯录", upstream_check: "上游检查", secondary_validation: "二次验证",
  monitor_check: "监控检查", monitor_set_callback: "监控重设回调", reconnect_init: "重连初始化",
  reconnect_set_callback: "重连设置回调", reconnect_automatic_login: "重连自动登录",
  reconnect_get_qrcode: "重连获取二维码", reconnect_close: "重连关闭旧实例", ban_detail: "封禁详情",
  close_instance: "关闭实例", delete_instance: "删除实例", callback_reach: "回调不可达",
};

/** The words for a stage; a failed call's stage is its call's stage plus "_error". */
function stageLabel(stage) {
  if (!stage) return "—";
  if (STAGE_LABELS[stage]) return STAGE_LABELS[stage];
  const base = stage.endsWith("_error") ? stage.slice(0, -"_error".length) : "";
  return base && STAGE_LABELS[base] ? `${STAGE_LABELS[base]}失败` : stage;
}

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

/* The error body's `code` is stable (the English `message` is for the log): the words a person reads here. */
const ERROR_WORDS = {
  unknown_instance: "找不到这个账号会话，它可能已被删除或清理，请重新开始",
  no_active_instance: "还没有账号实例：请先开始登录",
  no_qrcode_key: "请先获取二维码",
  never_logged_in: "这个实例从未登录过（没有 vid），请改用首次登录",
  no_secondary_verification: "没有待处理的二次验证",
  upstream_no_uuid: "上游初始化没有返回 uuid，请查看事件日志里的 init 记录",
  loopback_only: "没有设置密码或令牌时，控制台只接受本机访问",
  csrf_failed: "页面已过期，请刷新页面后重试",
  authentication_required: "需要先登录控制台",
  invalid_token: "API 令牌不正确",
  database_unavailable: "数据库暂时不可用，请稍后再试",
  database_not_migrated: "数据库还没有建表：请运行 wxwork db upgrade（或 make db）",
  body_too_large: "内容太长了",
  too_many_requests: "操作太频繁，请稍后再试",
  request_timeout: "请求发送得太慢，已被中断",
  internal_error: "控制台内部出错，请查看服务日志",
};

/** Plain words for a failed call: what went wrong first, the server's own message as detail. */
function explain(status, body) {
  const message = (body && body.message) || "";
  const code = (body && body.code) || "";
  const upstream = (body && body.upstream) || {};
  const raw = (body && body.raw) || {};
  const where = upstream.url ? `（${upstream.url}）` : "";
  if (upstream.kind === "refused") {
    return `上游拒绝了请求：${upstream.errmsg || "未说明原因"}（errcode ${upstream.errcode}）`;
  }
  if (upstream.kind === "unreachable") return `连不上上游服务${where}：请检查上游地址（BASE_URL）和网络`;
  if (upstream.kind === "timeout" || status === 504) return `上游服务响应超时${where}，请稍后再试`;
  if (upstream.kind === "http_error") return `上游服务出错（HTTP ${upstream.httpStatus || "?"}）${where}`;
  if (upstream.kind === "not_json") return `上游服务的回答无法识别（不是 JSON）${where}`;
  if (code === "code_refused" || message.startsWith("verification code refused")) {
    return `验证码未通过：${raw.errmsg || "请核对手机上显示的验证码"}`;
  }
  if (ERROR_WORDS[code]) return ERROR_WORDS[code];
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
  return request(path, init, explain);
}

/** One call of the console's API: its JSON answer, or an ApiError worded by `words(status, body)`. */
async function request(path, init, words) {
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
    throw new ApiError(words(response.status, data), (data && data.message) || "", data);
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
  const signature = JSON.stringify([activeUuid, sessions, [...store.accounts], sessions.map((s) => ago(s.updatedAt)),
    [...sessionDeletes]]);
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
  const reason = (session.stateReason || state !== "online") ? reasonText(session) : "";
  const actions = h("div", { class: "session-actions" });
  if (isActive) {
    actions.append(h("span", { class: "tag tag-active", title: "API 请求不带 uuid 时使用这个账号" }, "当前账号"));
  } else {
    actions.append(h("button", {
      type: "button", class: "btn btn-small", "data-activate": session.uuid,
      onclick: (e) => activate(session.uuid, e.currentTarget),
    }, "设为当前"));
  }
  if (state === "needs_person") {
    actions.append(h("button", {
      type: "button", class: "btn btn-small btn-primary", onclick: () => goToAttention(session.uuid),
    }, "去处理"));
  } else if (state !== "online" && session.vid) {
    actions.append(h("button", {
      type: "button", class: "btn btn-small btn-ghost", onclick: () => prepareAutoLogin(session.vid),
    }, "自动登录"));
  }
  actions.append(deleteButton(session));
  const deleting = sessionDeletes.get(session.uuid);
  return h("li", { class: `session${isActive ? " session-active" : ""}`, "data-uuid": session.uuid },
    avatarNode(account, title, "md"),
    h("div", { class: "session-main" },
      h("div", { class: "session-title" }, h("span", { class: "session-name" }, title), stateBadge(state)),
      h("div", { class: "session-meta" },
        account && account.corp ? h("span", {}, account.corp) : null,
        session.vid ? h("span", {}, `vid ${session.vid}`) : null,
        session.vid || account ? h("span", { title: session.uuid }, `uuid ${shortId(session.uuid)}`) : null,
        session.updatedAt ? h("span", { title: clock(session.updatedAt) }, `更新于 ${ago(session.updatedAt)}`) : null),
      reason ? h("div", {
        class: `session-reason${BAD_STATES.has(state) ? " session-reason-bad" : ""}`, title: session.stateReason || null,
      }, reason) : null,
      session.silentSince ? h("div", { class: "session-warning session-silent", title: clock(session.silentSince) },
        `在线但收不到回调：自 ${ago(session.silentSince)}起没有任何回调，请检查回调地址和手机`) : null,
      session.notice ? noticeNode(session.notice) : null,
      session.callbackHint ? h("div", { class: "session-warning session-callback-hint", title: callbackHintWords(session.callbackHint) },
        CALLBACK_HINT_SHORT[session.callbackHint.code] || session.callbackHint.message) : null,
      actions,
      deleting && deleting.error ? h("div", { class: "session-warning session-delete-error", role: "alert" },
        deleting.error) : null));
}

/* Deleting an instance: a first click asks (the button turns into "确认删除？"), a second one closes it
 * upstream (CloseConnent) and removes it. When the upstream cannot be asked, the row stays and the
 * button offers to delete it anyway. */
const sessionDeletes = new Map(); // uuid -> {step: "confirm" | "busy" | "force", error}

function deleteButton(session) {
  const entry = sessionDeletes.get(session.uuid) || {};
  const labels = { confirm: "确认删除？", busy: "正在删除…", force: "仍然删除" };
  return h("button", {
    type: "button", class: `btn btn-small btn-danger${entry.step ? " btn-armed" : ""}`, "data-delete": session.uuid,
    disabled: entry.step === "busy",
    title: entry.step === "force" ? "上游关闭失败：仍然删除这条记录（上游实例可能继续存在）" : "在上游关闭这个实例并删除它",
    onclick: () => deleteSession(session.uuid),
  }, labels[entry.step] || "删除");
}

async function deleteSession(uuid) {
  const entry = sessionDeletes.get(uuid) || {};
  if (!entry.step) {
    sessionDeletes.set(uuid, { step: "confirm" });
    redrawSessions();
    // An unanswered question goes away by itself.
    setTimeout(() => {
      if ((sessionDeletes.get(uuid) || {}).step === "confirm") {
        sessionDeletes.delete(uuid);
        redrawSessions();
      }
    }, 5000);
    return;
  }
  if (entry.step === "busy") return;
  const force = entry.step === "force";
  sessionDeletes.set(uuid, { step: "busy" });
  redrawSessions();
  try {
    await api("/api/sessions/delete", { uuid, force });
    sessionDeletes.delete(uuid);
    await refreshNow();
  } catch (err) {
    const upstreamFailed = err.body && err.body.upstream;
    sessionDeletes.set(uuid, {
      step: upstreamFailed && !force ? "force" : "",
      error: `删除失败：${err.title}${upstreamFailed && !force ? "。可以点「仍然删除」只删除这条记录" : ""}`,
    });
  }
  redrawSessions();
}

function redrawSessions() {
  sessionsSignature = "";
  renderSessions();
}

const NOTICE_LABELS = { ban: "账号被限制", notice: "系统通知", deleted: "被联系人删除", blocked: "被联系人拉黑" };

/** The latest ban or restriction notice of an account, with getBanDetile's explanation when there is one. */
function noticeNode(notice) {
  const lines = [`${NOTICE_LABELS[notice.kind] || notice.kind}：${notice.title || notice.text || ""}`];
  if (notice.reason) lines.push(`原因：${notice.reason}`);
  if (notice.functions) lines.push(`受限功能：${notice.functions}`);
  if (notice.finish) lines.push(`解除时间：${clock(notice.finish)}`);
  return h("div", { class: `session-warning session-notice notice-${notice.kind}`, title: notice.at ? clock(notice.at) : null },
    ...lines.map((line) => h("div", {}, line)));
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

// ---------------------------------------------------------------- callbacks that do not arrive

/* Without callbacks the page cannot know that the phone scanned (services/login/callback_reach.py). The
 * server says why it believes they are lost with a code; the English message stays as the tooltip. */
const CALLBACK_FIX = "请把 CALLBACK_URL 设为上游能访问的地址（本机的公网地址或域名，例如 http://<地址>:3000/callback/wxwork），"
  + "并在防火墙放行该端口，然后重启控制台。";

const CALLBACK_HINT_SHORT = {
  callback_loopback: "收不到回调：回调地址指向本机，上游访问不到",
  callback_silent: "迟迟没有回调：上游可能访问不到回调地址",
  callback_missed: "上游已登录却没有回调：上游访问不到回调地址",
};

function callbackHintWords(hint) {
  if (!hint) return "";
  if (hint.code === "callback_loopback") {
    return `回调地址指向本机（127.0.0.1 / localhost），但上游服务在另一台机器上，访问不到它：扫码、登录和消息的回调都收不到。${CALLBACK_FIX}`;
  }
  if (hint.code === "callback_silent") {
    const waited = /for (\d+) s/.exec(hint.message || "");
    return `二维码已显示${waited ? ` ${waited[1]} 秒` : "一段时间"}，还没有收到上游的任何回调。如果手机已经扫码，说明上游访问不到回调地址：${CALLBACK_FIX}`;
  }
  if (hint.code === "callback_missed") return `上游报告这个实例已经登录，但一个回调也没有收到：上游访问不到回调地址。${CALLBACK_FIX}`;
  return hint.message || "";
}

function renderCallbackProblem() {
  const problem = store.state && store.state.callbackProblem;
  const box = $("callback-problem");
  $("callback-problem-text").textContent = callbackHintWords(problem);
  box.title = problem ? problem.message : "";
  show(box, Boolean(problem));
}

/** The wizard's QR code waits and nothing arrives: say why that may be, and offer to ask the upstream. */
/** With the bundled simulator as the upstream, the QR code is "scanned" on its page: link it. */
function renderSimulatorLink() {
  const page = (store.state && store.state.simulatorUrl) || "";
  if (page && /^https?:\/\//.test(page)) $("qr-sim-link").href = page;
  show($("qr-sim"), Boolean(page));
}

function renderQrCallbackHint(session) {
  const hint = wizard.missedHint || (session && session.callbackHint);
  const visible = Boolean(hint) && ["qr", "expired"].includes(wizard.phase);
  if (visible) {
    $("qr-callback-hint-text").textContent = callbackHintWords(hint);
    $("qr-callback-hint").title = hint.message;
  }
  show($("qr-callback-hint"), visible);
}

async function checkLoginUpstream() {
  const button = $("qr-check-login");
  button.disabled = true;
  try {
    const answer = await api("/api/refresh-run-client", { uuid: wizard.uuid });
    if (answer.warning) wizard.missedHint = { code: "callback_missed", message: answer.warning };
    if (!answer.isLogin) $("qr-status").textContent = "上游报告还没有登录：请先用手机扫码并确认。";
    await refreshNow();
  } catch (err) {
    $("qr-status").textContent = `查询失败：${err.title}`;
  } finally {
    button.disabled = false;
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

// ---------------------------------------------------------------- accounts that need a person

/* A session in needs_person shows here with its QR code (the monitor fetched it after automatic login
 * was refused, or for a 100012 secondary verification). The card keeps following it while the person
 * scans and confirms, and says so when it is back online. */

const attention = {
  followed: new Map(),   // uuid -> {recoveredAt}: seen in needs_person on this page
  entries: new Map(),    // uuid -> {node, signature, timer parts}
  ui: new Map(),         // uuid -> {busy, error, code}: what the person did here
  totals: new Map(),     // qrcode -> its lifetime in s when first seen (for the countdown bar)
  alerts: new Map(),     // uuid -> the newest "alert" event seen for it
  episodes: new Map(),   // uuid -> id of its newest "…->needs_person" state event: older alerts are history
};

function attentionUi(uuid) {
  if (!attention.ui.has(uuid)) {
    attention.ui.set(uuid, { busy: false, error: null, code: "", confirmedAt: 0, refreshedAt: 0, refreshes: 0 });
  }
  return attention.ui.get(uuid);
}

/* The phone confirmed (100002) but the login callback (104001) does not come: after a few seconds the
 * upstream is asked directly (GetRunClientByUuid), which also marks the account online. A few times. */
const CONFIRM_GRACE_MS = [3000, 10000, 20000];

function followConfirmation(session, phase) {
  const ui = attentionUi(session.uuid);
  if (phase !== "scanned") return;
  if (session.lastEvent === "confirmed" && !ui.confirmedAt) ui.confirmedAt = Date.now();
  if (!ui.confirmedAt || ui.refreshing || ui.refreshes >= CONFIRM_GRACE_MS.length) return;
  if (Date.now() - (ui.refreshedAt || ui.confirmedAt) < CONFIRM_GRACE_MS[ui.refreshes]) return;
  ui.refreshing = true;
  ui.refreshes += 1;
  api("/api/refresh-run-client", { uuid: session.uuid })
    .then(() => refreshNow())
    .catch(() => {}) // the next poll shows whatever the state is; nothing for the person to do
    .finally(() => {
      ui.refreshing = false;
      ui.refreshedAt = Date.now();
    });
}

function confirmationGaveUp(ui) {
  return ui.refreshes >= CONFIRM_GRACE_MS.length && !ui.refreshing;
}

/** What the entry of a followed session shows, or "" when it no longer belongs in the card. */
function attentionPhase(session) {
  const state = sessionState(session);
  if (state === "online") return "recovered";
  if (state === "waiting_code") return "code";
  if (state === "waiting_scan") {
    if (["scanned", "confirmed"].includes(session.lastEvent)) return "scanned";
    if (session.lastEvent === "refresh-run-client" && attentionUi(session.uuid).confirmedAt) return "scanned";
    return session.qrcode && !qrExpired(session) ? "scan" : "renew";
  }
  if (state !== "needs_person") return "";
  if (session.qrcode && !qrExpired(session)) return "scan";
  // After 100012 the monitor fetches the SecondaryValidation QR code by itself.
  if (isSecondary(session) && !session.qrcode) return "fetching";
  return "renew";
}

function isSecondary(session) {
  return session.lastEvent === "disconnect:100012";
}

function qrExpired(session) {
  const expires = parseTime(session.qrcodeExpiresAt);
  return expires !== null && expires <= Date.now();
}

const REASON_WORDS = {
  "scan the QR code with WeChat Work on the phone": "请用手机企业微信扫码",
  "scanned: confirm on the phone": "已扫码，请在手机上确认",
  "enter the 6-digit code shown on the phone": "请输入手机上显示的 6 位验证码",
  "the scan was cancelled on the phone": "手机上取消了登录，可以再扫一次",
  "phone ended the login": "手机端结束了登录",
  "login cache invalid": "登录缓存失效",
  "logged in on another device": "账号在其他设备登录",
  "QR code not scanned in time": "二维码超时未扫码",
  "secondary verification required": "企业微信要求二次验证",
  "upstream reports the instance is not logged in": "上游报告这个实例未登录",
};

/** "upstream automaticLogin refused: errcode 500, 自动登录失败" → "自动登录失败（errcode 500）". */
function upstreamWords(text) {
  // Every upstream error names the URL it called at its end: " (POST http://…/wxwork/automaticLogin)".
  const refused = /^upstream \w+ refused: errcode (-?\d+),? ?(.*?)(?: \(POST [^)]*\))?$/.exec(text || "");
  if (refused) return refused[2] ? `${refused[2]}（errcode ${refused[1]}）` : `errcode ${refused[1]}`;
  return REASON_WORDS[text] || text || "";
}

/** A state's reason (English, for the log) in words a person reads. */
function reasonWords(raw) {
  const failed = /^automatic login failed (\d+) times? \((.*)\)(?:: scan the QR code|; QR code unavailable)/.exec(raw || "");
  if (failed) {
    const extra = /; QR code unavailable/.test(raw) ? "；获取二维码也失败了" : "";
    return `自动登录被上游拒绝 ${failed[1]} 次：${upstreamWords(failed[2])}${extra}`;
  }
  const attempt = /^attempt (\d+)$/.exec(raw || "");
  if (attempt) return `第 ${attempt[1]} 次自动重连`;
  return upstreamWords(raw);
}

/** Why the session is where it is; the raw reason stays available as a tooltip. */
function reasonText(session) {
  if (session.lastEvent === "disconnect:100009" && sessionState(session) === "needs_person") {
    return "二维码超时未扫码，上游已销毁这个实例";
  }
  return reasonWords(session.stateReason || session.lastError || "");
}

const ATTENTION_TITLES = {
  scan: "用手机企业微信扫码恢复登录",
  scanSecondary: "二次验证：用手机扫码确认",
  renew: "二维码已失效，请重新获取",
  fetching: "二次验证：正在获取二维码…",
  scanned: "已扫码，请在手机上确认",
  code: "请输入手机上显示的 6 位验证码",
  recovered: "已恢复在线",
};

function attentionSessions() {
  const sessions = (store.state && store.state.sessions) || [];
  const now = Date.now();
  for (const session of sessions) {
    if (sessionState(session) === "needs_person" && !attention.followed.has(session.uuid)) {
      attention.followed.set(session.uuid, { recoveredAt: 0 });
    }
  }
  const shown = [];
  for (const session of sessions) {
    const follow = attention.followed.get(session.uuid);
    if (!follow) continue;
    const phase = attentionPhase(session);
    if (phase === "recovered") {
      if (!follow.recoveredAt) attention.ui.delete(session.uuid); // an old error no longer matters
      follow.recoveredAt = follow.recoveredAt || now;
      if (now - follow.recoveredAt > RECOVERED_SHOWN_MS) {
        attention.followed.delete(session.uuid);
        continue;
      }
    } else if (!phase) {
      attention.followed.delete(session.uuid); // back with the monitor (offline, reconnecting…)
      continue;
    } else {
      follow.recoveredAt = 0;
    }
    shown.push([session, phase]);
  }
  for (const uuid of [...attention.followed.keys()]) {
    if (!sessions.some((s) => s.uuid === uuid)) attention.followed.delete(uuid);
  }
  return shown;
}

function renderAttention() {
  if (!store.state) return;
  const shown = attentionSessions();
  const waiting = ((store.state.sessions) || []).filter((s) => sessionState(s) === "needs_person");
  const monitorOn = Boolean(store.state.monitor && store.state.monitor.enabled);

  const nodes = shown.map(([session, phase]) => {
    followConfirmation(session, phase);
    const ui = attentionUi(session.uuid);
    const sent = attention.alerts.get(session.uuid);
    const alert = sent && sent.id > (attention.episodes.get(session.uuid) || 0) ? sent : null;
    const expired = qrExpired(session);
    const signature = JSON.stringify([phase, session.qrcode, session.qrcodeExpiresAt, expired, session.stateReason,
      session.lastError, session.lastEvent, session.vid, accountOf(session), ui.busy, ui.error && ui.error.title,
      monitorOn, alert && alert.id, confirmationGaveUp(ui)]);
    let entry = attention.entries.get(session.uuid);
    if (!entry || entry.signature !== signature) {
      entry = attentionEntry(session, phase, ui, { monitorOn, alert });
      entry.signature = signature;
      attention.entries.set(session.uuid, entry);
    }
    return entry.node;
  });
  for (const uuid of [...attention.entries.keys()]) {
    if (!shown.some(([s]) => s.uuid === uuid)) attention.entries.delete(uuid);
  }
  const list = $("attention-list");
  if (nodes.length !== list.children.length || nodes.some((node, i) => list.children[i] !== node)) {
    list.replaceChildren(...nodes);
  }
  show($("attention-card"), nodes.length > 0);
  $("attention-count").textContent = waiting.length ? `${waiting.length} 个待处理` : "";
  tickAttention();

  const banner = $("attention-banner");
  const bannerText = waiting.length ? `${waiting.length} 个账号需要人工处理` : "";
  if ($("attention-banner-text").textContent !== bannerText) {
    $("attention-banner-text").textContent = bannerText;
    show(banner, waiting.length > 0);
    document.title = waiting.length ? `（${waiting.length} 个账号需要处理）${BASE_TITLE}` : BASE_TITLE;
    measureTopbar();
  }
}

const BASE_TITLE = document.title;

/** The sticky header grows with the banner: the side column and scroll targets keep clear of it. */
function measureTopbar() {
  const header = document.querySelector(".topbar");
  if (header) document.documentElement.style.setProperty("--topbar-h", `${header.offsetHeight}px`);
}

function attentionEntry(session, phase, ui, { monitorOn, alert }) {
  const account = accountOf(session);
  const title = sessionTitle(session);
  const state = sessionState(session);
  const secondary = isSecondary(session);
  const heading = phase === "scan" && secondary ? ATTENTION_TITLES.scanSecondary : ATTENTION_TITLES[phase];
  const parts = {};

  // The QR code (or what stands in its place).
  let visual = null;
  if (phase === "scan" || phase === "scanned") {
    const img = h("img", { src: session.qrcode, alt: secondary ? "二次验证二维码" : "登录二维码", width: "220", height: "220" });
    img.addEventListener("error", () => {
      attentionUi(session.uuid).error = new ApiError("二维码图片加载失败：上游给出的图片地址打不开", "");
      attention.entries.delete(session.uuid);
      renderAttention();
    });
    visual = h("div", { class: "qr-frame" }, img,
      phase === "scanned" ? h("div", { class: "qr-cover" }, "已扫码") : null);
  } else if (phase === "recovered") {
    visual = h("div", { class: "np-mark np-mark-ok", "aria-hidden": "true" }, "✓");
  } else if (phase !== "code") {
    visual = h("div", { class: "qr-frame qr-empty" },
      phase === "fetching" ? "正在获取二维码…" : (session.qrcode ? "二维码已过期" : "没有可用的二维码"));
  }

  const side = h("div", { class: "qr-side" });
  side.append(h("div", { class: "np-account" },
    avatarNode(account, title, "md"),
    h("div", { class: "np-account-main" },
      h("div", { class: "session-title" }, h("span", { class: "session-name" }, title), stateBadge(state)),
      h("div", { class: "session-meta" },
        account && account.corp ? h("span", {}, account.corp) : null,
        session.vid ? h("span", {}, `vid ${session.vid}`) : null,
        h("span", { title: session.uuid }, `uuid ${shortId(session.uuid)}`)))));
  side.append(h("h3", { class: `np-title np-title-${phase}` }, heading));

  if (phase === "scan") {
    side.append(h("ol", { class: "howto" },
      h("li", {}, "打开手机企业微信，点右上角 ＋ → 扫一扫"),
      h("li", {}, secondary ? "扫描左边的二维码，在手机上确认是本人操作" : "扫描左边的二维码，在手机上确认登录"),
      h("li", {}, "确认后这里会自动显示「已恢复在线」")));
  } else if (phase === "scanned") {
    let words = "手机已确认，正在完成登录…";
    if (session.lastEvent === "scanned") words = "手机已扫码。请在手机上点「确认登录」，账号随后会自动恢复在线。";
    else if (confirmationGaveUp(ui)) words = "手机已确认，但上游一直没有报告登录成功。可以再等等，或者换一张二维码重新扫。";
    side.append(h("p", { class: "status-line" }, words));
  } else if (phase === "renew") {
    side.append(h("p", { class: "status-line" }, session.qrcode
      ? "原来的二维码已经过期了。点下面的按钮换一张新的，再用手机企业微信扫码。"
      : "现在没有可用的二维码。点下面的按钮获取一张，再用手机企业微信扫码。"));
  } else if (phase === "fetching") {
    side.append(h("p", { class: "status-line" }, monitorOn
      ? "自动重连监控正在向上游获取二次验证二维码，几秒后会显示在这里。"
      : "二次验证二维码由自动重连监控获取，但监控现在是关闭的：请打开右侧的「自动重连监控」开关。"));
  } else if (phase === "recovered") {
    side.append(h("p", { class: "status-line np-ok" }, `账号已重新登录，当前在线 · ${clock(new Date().toISOString())}`));
  }

  const reason = state === "needs_person" ? reasonText(session) : "";
  if (reason) {
    side.append(h("p", { class: "np-reason", title: session.stateReason || null }, `原因：${reason}`));
  }

  if (phase === "scan" && parseTime(session.qrcodeExpiresAt) !== null) {
    parts.countdown = h("span", {}, "--:--");
    parts.bar = h("span", {});
    parts.box = h("div", { class: "countdown" },
      h("div", { class: "countdown-text" }, parts.countdown, " ", h("span", {}, "后二维码过期")),
      h("div", { class: "bar" }, parts.bar));
    parts.expiresAt = parseTime(session.qrcodeExpiresAt);
    if (!attention.totals.has(session.qrcode)) {
      attention.totals.set(session.qrcode, Math.max(1, (parts.expiresAt - Date.now()) / 1000));
    }
    parts.total = attention.totals.get(session.qrcode);
    side.append(parts.box);
  } else if (phase === "scan") {
    side.append(h("p", { class: "muted small" }, "二维码有效期未知"));
  }

  if (phase === "code") side.append(attentionCodeForm(session, ui));

  const actions = h("div", { class: "actions" });
  if (phase === "renew" || (phase === "scanned" && confirmationGaveUp(ui))) {
    actions.append(h("button", {
      type: "button", class: "btn btn-primary", "data-renew": session.uuid, disabled: ui.busy,
      onclick: () => attentionRenew(session),
    }, ui.busy ? "正在获取…" : "重新获取二维码"));
  }
  if (phase === "recovered") {
    actions.append(h("button", {
      type: "button", class: "btn btn-small", onclick: () => {
        attention.followed.delete(session.uuid);
        renderAttention();
      },
    }, "知道了"));
  }
  if (actions.children.length) side.append(actions);

  if (ui.error) {
    const fallback = session.vid && phase === "renew"
      ? h("div", { class: "alert-actions" }, h("button", {
        type: "button", class: "btn btn-small", onclick: () => prepareAutoLogin(session.vid),
      }, "改用「自动登录」重新登录"))
      : null;
    side.append(h("div", { class: "alert alert-error np-error", role: "alert" },
      h("strong", {}, ui.error.title),
      ui.error.detail && ui.error.detail !== ui.error.title ? h("span", { class: "alert-detail" }, ui.error.detail) : null,
      fallback ? h("span", { class: "alert-detail" }, "实例可能已被上游销毁：可以用它的 vid 重新登录，必要时改用扫码。") : null,
      fallback));
  }
  if (alert && phase !== "recovered") {
    const delivery = (alert.payload && alert.payload.delivery) || "";
    side.append(h("p", { class: "muted small" },
      `已于 ${clock(alert.createdAt)} 发出告警${delivery ? `（通知地址：${delivery === "not configured" ? "未配置" : delivery}）` : ""}`));
  }

  const node = h("article", { class: `np np-${phase}`, "data-needs-person": session.uuid }, visual, side);
  return { node, ...parts };
}

function attentionCodeForm(session, ui) {
  const input = h("input", {
    inputmode: "numeric", maxlength: "6", pattern: "[0-9]{6}", autocomplete: "one-time-code", placeholder: "······",
    class: "code-input", "aria-label": "手机上显示的 6 位验证码",
  });
  input.value = ui.code;
  input.addEventListener("input", () => {
    input.value = input.value.replace(/\D/g, "").slice(0, 6);
    ui.code = input.value;
  });
  const form = h("form", { class: "code-form", autocomplete: "off" },
    h("label", {}, "手机上显示的 6 位验证码"),
    h("div", { class: "code-row" }, input,
      h("button", { type: "submit", class: "btn btn-primary", disabled: ui.busy }, ui.busy ? "提交中…" : "提交验证码")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attentionCheckCode(session.uuid);
  });
  return form;
}

async function attentionAct(uuid, call) {
  const ui = attentionUi(uuid);
  if (ui.busy) return;
  ui.busy = true;
  ui.error = null;
  renderAttention();
  try {
    await call();
    await refreshNow();
  } catch (err) {
    ui.error = err;
  } finally {
    ui.busy = false;
    renderAttention();
  }
}

/**
 * A fresh QR code for an account that needs a person: a new SecondaryValidation QR for a 100012, else a
 * reconnect now (init with the vid on a new instance, automatic login, a login QR if that is refused),
 * since an expired QR code's instance is gone. A session without a vid can only fetch a new login QR.
 */
function attentionRenew(session) {
  const uuid = session.uuid;
  return attentionAct(uuid, async () => {
    let path = "/api/get-qrcode";
    if (session.vid) path = isSecondary(session) ? "/api/sessions/secondary-validation" : "/api/sessions/reconnect";
    const answer = await api(path, { uuid });
    // The account may now live on a new instance: follow it there.
    const moved = (answer.session && answer.session.uuid) || answer.uuid;
    if (moved && moved !== uuid) attention.followed.set(moved, { recoveredAt: 0 });
  });
}

function attentionCheckCode(uuid) {
  const ui = attentionUi(uuid);
  if (!/^\d{6}$/.test(ui.code)) {
    ui.error = new ApiError("验证码是 6 位数字", "");
    attention.entries.delete(uuid);
    renderAttention();
    return undefined;
  }
  return attentionAct(uuid, () => api("/api/check-code", { uuid, code: ui.code }));
}

/** Once a second: the countdowns; an entry whose QR code just ran out is redrawn with its button. */
function tickAttention() {
  let expired = false;
  for (const entry of attention.entries.values()) {
    if (!entry.expiresAt) continue;
    const left = Math.max(0, (entry.expiresAt - Date.now()) / 1000);
    if (left <= 0) expired = true;
    entry.countdown.textContent = mmss(left);
    entry.bar.style.width = `${Math.min(100, (left / entry.total) * 100)}%`;
    entry.box.classList.toggle("countdown-low", left < 60);
  }
  return expired;
}

function goToAttention(uuid) {
  const target = document.querySelector(`[data-needs-person="${CSS.escape(uuid)}"]`) || $("attention-card");
  // The first entry is shown with its card's title; the others on their own.
  const scrollTo = target === $("attention-list").firstElementChild ? $("attention-card") : target;
  scrollTo.scrollIntoView({ behavior: "smooth", block: "start" });
  target.classList.remove("np-flash");
  void target.offsetWidth; // restart the highlight
  target.classList.add("np-flash");
  const button = target.querySelector("button, input");
  if (button) button.focus({ preventScroll: true });
}

function goToFirstAttention() {
  const waiting = ((store.state && store.state.sessions) || []).find((s) => sessionState(s) === "needs_person");
  goToAttention(waiting ? waiting.uuid : "");
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
  Object.assign(wizard, { mode, phase: "start", uuid: "", vid: "", expiresAt: 0, ttl: 0, missedHint: null });
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

async function startAutoLogin(confirmed) {
  const vid = ($("auto-vid").value || $("auto-known").value).trim();
  if (!/^\d{1,20}$/.test(vid)) {
    wizardReset("auto");
    failWizard(new ApiError("请先选择一个账号或输入它的 vid（一串数字）", ""), []);
    return;
  }
  const online = ((store.state && store.state.sessions) || []).find((s) => s.vid === vid && sessionState(s) === "online");
  if (online && confirmed !== true) {
    // Logging an online account in again moves it to a new instance (the old one drops): ask first.
    wizardReset("auto");
    $("auto-vid").value = vid;
    failWizard(new ApiError(`这个账号现在在线（实例 ${shortId(online.uuid)}），不需要自动登录`,
      "再次登录会把它移到一个新实例上，原来的实例随之下线。"), [["仍然重新登录", () => startAutoLogin(true), true]]);
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
  let session = sessions.find((s) => s.uuid === wizard.uuid);
  if (session && session.vid) wizard.vid = session.vid;
  // A reconnect moves the account to a new instance: the panel follows it by its vid.
  if (!session && wizard.vid) session = sessions.find((s) => s.vid === wizard.vid);
  session = session || { uuid: wizard.uuid, vid: wizard.vid };
  const account = accountOf(session);
  const title = account && account.name ? account.name : "已登录";
  // Redrawn only when it changes: every poll calls this, and a new <img> would re-fetch the avatar.
  // The account may have dropped since: the badge says how it is now (a poll older than the login
  // itself may still report a state from before it, which is not shown).
  const live = sessionState(session);
  const state = ["offline", "reconnecting", "needs_person"].includes(live) ? live : "online";
  const signature = JSON.stringify([session.uuid, session.vid, account, state]);
  const box = $("success-account");
  if (box.dataset.signature === signature) return;
  box.dataset.signature = signature;
  box.replaceChildren(
    avatarNode(account, title, "lg"),
    h("div", { class: "account-main" },
      h("div", { class: "account-name" }, title, stateBadge(state)),
      account && account.corp ? h("div", { class: "muted" }, account.corp) : null,
      h("dl", { class: "facts facts-inline" },
        h("dt", {}, "vid"), h("dd", {}, h("code", { id: "success-vid" }, session.vid || "等待上游回报…")),
        h("dt", {}, "uuid"), h("dd", {}, h("code", {}, session.uuid || "")))));
}

/** Follow the wizard's session in each poll: scan reported, code needed, login done, QR expired. */
function wizardFollow() {
  const session = ((store.state && store.state.sessions) || []).find((s) => s.uuid === wizard.uuid);
  renderQrCallbackHint(session);
  if (!wizard.uuid || !["qr", "expired", "code", "checking"].includes(wizard.phase)) return;
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

// Sending (text, image, file, @mentions, revoke), rooms and friend requests: sending.js.

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
  inner: { page: 1, cursor: "", next: "", list: [], done: false, all: new Map() },
  external: { page: 1, cursor: 0, next: 0, list: [], done: false, all: new Map() },
};

/** Every entry of every page loaded so far (the filter and the counts cover them all), by its id. */
function remember(page, list, idOf) {
  for (const item of list) page.all.set(idOf(item), item);
}

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
  remember(page, page.list, (item) => (Number(item.is_Department) === 1 ? `d${item.partyid}` : `u${item.user_id}`));
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
  remember(page, page.list, (item) => String(item.user_id));
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

  // Filtering searches every page loaded so far, not only the one on screen.
  const innerAll = [...inner.all.values()];
  const innerShown = needle ? innerAll.filter((item) => matches(item, needle)) : inner.list;
  $("inner-rows").replaceChildren(...(innerShown.length ? innerShown.map(innerRow) : [emptyRow(needle)]));
  const depts = innerAll.filter((i) => Number(i.is_Department) === 1).length;
  $("inner-count").textContent = String(innerAll.length);
  $("inner-summary").textContent = `第 ${inner.page} 页 · 已加载 ${innerAll.length} 条（部门 ${depts} · 成员 ${innerAll.length - depts}）`
    + `${needle ? ` · 在已加载的条目中筛选出 ${innerShown.length} 条` : ""}${inner.done ? " · 已是最后一页" : ""}`;
  $("inner-next").disabled = inner.done;
  $("inner-first").disabled = inner.page === 1;

  const externalAll = [...external.all.values()];
  const externalShown = needle ? externalAll.filter((item) => matches(item, needle)) : external.list;
  $("external-rows").replaceChildren(...(externalShown.length ? externalShown.map(externalRow) : [emptyRow(needle)]));
  $("external-count").textContent = String(externalAll.length);
  $("external-summary").textContent = `第 ${external.page} 页 · 已加载 ${externalAll.length} 条`
    + `${needle ? ` · 在已加载的条目中筛选出 ${externalShown.length} 条` : ""}${external.done ? " · 已是最后一页" : ""}`;
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
  nodes: new Map(), // id -> <details>, as shown (newest first); an opened payload stays open
  stages: new Set(),
  types: new Set(),
  lastId: 0,        // the newest id shown: the next poll asks only for what is newer
  loaded: false,    // the list holds a full read for the current filters
  generation: 0,    // bumped when the filters change: answers to older requests are dropped
  loading: 0,       // the generation of the request under way, 0 for none
  gaps: new Map(),  // id -> when it was found missing (unfiltered list only), asked for again a while
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
    return [change, reasonWords(p.reason)].filter(Boolean).join("：");
  }
  if (event.stage === "alert") {
    const who = p.account || (p.vid ? `vid ${p.vid}` : "");
    return [who, reasonWords(p.reason)].filter(Boolean).join("：");
  }
  if (event.stage === "reconnect" && event.eventType === "new-instance" && p.to) return `账号换到新实例 ${shortId(p.to)}`;
  if (p.msg) return String(p.msg);
  if (p.error && p.error.message) return upstreamWords(String(p.error.message));
  if (p.response && typeof p.response === "object" && p.response.errmsg) return String(p.response.errmsg);
  return "";
}

function eventNode(event) {
  const summary = eventSummary(event);
  const failed = /:|fail/.test(event.eventType) && event.stage !== "state";
  return h("details", { class: `event${failed ? " event-failed" : ""}`, "data-id": String(event.id) },
    h("summary", {},
      h("span", { class: "event-time", title: event.createdAt }, clock(event.createdAt)),
      h("span", { class: `stage stage-${event.stage}` }, stageLabel(event.stage)),
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

/** Read what is new (or, with `reload`, the whole list for the current filters) and show it. */
async function loadEvents(reload) {
  if (reload) {
    events.generation += 1;
    events.loaded = false;
  } else if (events.loading) {
    return;
  }
  const generation = events.generation;
  events.loading = generation;
  try {
    const params = eventFilters();
    const filtered = params.toString() !== "";
    if (events.loaded) params.set("after", String(eventsAfter(filtered)));
    const query = params.toString();
    const data = await api(`/api/events${query ? `?${query}` : ""}`);
    if (generation !== events.generation) return; // the filters changed while this was on its way
    if (!events.loaded) {
      events.nodes.clear();
      events.gaps.clear();
      events.lastId = 0;
      $("event-list").replaceChildren();
      events.loaded = true;
    }
    addEvents(data.events || [], filtered);
  } catch {
    // the sync indicator already says the server is unreachable; the next poll tries again
  } finally {
    if (events.loading === generation) events.loading = 0;
  }
}

/** The `after` of the next read: the newest id shown, or just before an id still missing. */
function eventsAfter(filtered) {
  if (filtered) return events.lastId;
  let after = events.lastId;
  for (const [id, since] of events.gaps) {
    if (Date.now() - since > EVENT_GAP_WAIT_MS) events.gaps.delete(id);
    else after = Math.min(after, id - 1);
  }
  return after;
}

/** Put events (newest first, as the API sends them) into the list, in id order, at most EVENTS_KEPT. */
function addEvents(list, filtered) {
  const container = $("event-list");
  const fresh = list.filter((event) => !events.nodes.has(event.id));
  const newest = list.reduce((max, event) => Math.max(max, event.id), 0);
  // Unfiltered, ids come one after another: one missing below the newest may still be committing.
  if (!filtered && events.lastId && newest - events.lastId <= EVENTS_KEPT) {
    const got = new Set(list.map((event) => event.id));
    for (let id = events.lastId + 1; id < newest; id += 1) {
      if (!got.has(id) && !events.nodes.has(id) && !events.gaps.has(id)) events.gaps.set(id, Date.now());
    }
  }
  for (const event of list) events.gaps.delete(event.id);
  events.lastId = Math.max(events.lastId, newest);

  // Oldest first, each before the first row that is older than it (for new events: at the top).
  for (const event of [...fresh].sort((a, b) => a.id - b.id)) {
    learnFromEvent(event);
    const node = eventNode(event);
    events.nodes.set(event.id, node);
    let before = container.firstElementChild;
    while (before && Number(before.dataset.id) > event.id) before = before.nextElementSibling;
    container.insertBefore(node, before);
  }
  while (events.nodes.size > EVENTS_KEPT && container.lastElementChild) {
    events.nodes.delete(Number(container.lastElementChild.dataset.id));
    container.lastElementChild.remove();
  }
  const shown = events.nodes.size;
  show($("events-empty"), shown === 0);
  $("events-shown").textContent = shown ? `显示最新 ${shown} 条` : "";
  fillFilter("filter-stage", events.stages, (v) => `${stageLabel(v)}（${v}）`);
  fillFilter("filter-type", events.types, (v) => (CALLBACK_LABELS[v] ? `${v} ${CALLBACK_LABELS[v]}` : v));
  if (fresh.some((event) => event.stage === "alert" || event.stage === "state")) renderAttention();
}

/** What other cards take from an event: filter choices, an account's name (104001), an alert. */
function learnFromEvent(event) {
  events.stages.add(event.stage);
  events.types.add(event.eventType);
  if (event.stage === "callback" && String(event.eventType) === "104001") {
    const account = accountFromPayload(event.payload);
    if (account && event.sessionUuid && !store.accounts.has(event.sessionUuid)) store.accounts.set(event.sessionUuid, account);
  }
  if (event.stage === "state" && event.sessionUuid && /->needs_person$/.test(event.eventType)) {
    attention.episodes.set(event.sessionUuid, Math.max(event.id, attention.episodes.get(event.sessionUuid) || 0));
  }
  if (event.stage === "alert" && event.sessionUuid) {
    const known = attention.alerts.get(event.sessionUuid);
    if (!known || known.id < event.id) attention.alerts.set(event.sessionUuid, event);
  }
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
      renderCallbackProblem();
      renderSimulatorLink();
      renderSessions();
      renderAttention();
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
  $("qr-check-login").addEventListener("click", checkLoginUpstream);
  $("qr-img").addEventListener("error", () => { $("qr-status").textContent = "二维码图片加载失败：上游给出的图片地址打不开。"; });
  $("wizard-again").addEventListener("click", () => wizardReset("first"));

  $("monitor-toggle").addEventListener("click", toggleMonitor);

  $("send-pick").addEventListener("change", (e) => { if (e.target.value) pickReceiver(e.target.value, false); });

  $("contacts-load").addEventListener("click", () => {
    contacts.limit = Number($("contacts-limit").value) || 50;
    contacts.uuid = "";
    contacts.inner = { page: 1, cursor: "", next: "", list: [], done: false, all: new Map() };
    contacts.external = { page: 1, cursor: 0, next: 0, list: [], done: false, all: new Map() };
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

  $("attention-banner").addEventListener("click", goToFirstAttention);
  window.addEventListener("resize", measureTopbar);

  // The countdowns are the only things that change every second.
  setInterval(() => {
    if (wizard.phase === "qr") renderCountdown();
    if (tickAttention()) renderAttention();
  }, 1000);
}

wire();
measureTopbar();
wizardReset("first");
poll();
checkUpstream();
