/* The login wizard (登录账号): first login with a QR code and the phone's code, or automatic login with a vid,
 * step by step; and what it says when the upstream's callbacks do not arrive. */

import {
  accountOf, avatarNode, callbackHintWords, sessionState, sessionTitle, STATE_LABELS, stateBadge,
} from "./account-state.js";
import { api, ApiError } from "./api.js";
import { $, h, mmss, parseTime, shortId, show } from "./page.js";
import { refreshNow, store } from "./state.js";

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

export function wizardReset(mode) {
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

export function prepareAutoLogin(vid) {
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
  await automaticLoginStep();
}

async function retryAutomaticLogin() {
  wizard.phase = "running";
  hideWizardError();
  renderWizard();
  await automaticLoginStep();
}

/** automaticLogin on the wizard's instance; a failure offers the QR code or another try. */
async function automaticLoginStep() {
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

export function wizardRenderSuccess() {
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
export function wizardFollow() {
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
export function wizardResume() {
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

export function renderKnownAccounts() {
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

// ---------------------------------------------------------------- callbacks that do not arrive

export function renderCallbackProblem() {
  const problem = store.state && store.state.callbackProblem;
  const box = $("callback-problem");
  $("callback-problem-text").textContent = callbackHintWords(problem);
  box.title = problem ? problem.message : "";
  show(box, Boolean(problem));
}

/** With the bundled simulator as the upstream, the QR code is "scanned" on its page: link it. */
export function renderSimulatorLink() {
  const page = (store.state && store.state.simulatorUrl) || "";
  if (page && /^https?:\/\//.test(page)) $("qr-sim-link").href = page;
  show($("qr-sim"), Boolean(page));
}

/** The wizard's QR code waits and nothing arrives: say why that may be, and offer to ask the upstream. */
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

// ---------------------------------------------------------------- wiring

export function wireLogin() {
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
}

/** Once a second: the QR code's countdown, while one is shown. */
export function tickWizard() {
  if (wizard.phase === "qr") renderCountdown();
}
