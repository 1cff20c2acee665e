/* The "needs a person" card (需要人工处理) and the banner in the header that leads to it. */

import { accountOf, avatarNode, reasonText, sessionState, sessionTitle, stateBadge } from "./account-state.js";
import { api, ApiError } from "./api.js";
import { prepareAutoLogin } from "./login-wizard.js";
import { $, clock, h, mmss, parseTime, shortId, show } from "./page.js";
import { refreshNow, store } from "./state.js";

// How long an account that came back online stays in the "needs a person" card, saying so.
const RECOVERED_SHOWN_MS = 20000;

/* A session in needs_person shows here with its QR code (the monitor fetched it after automatic login
 * was refused, or for a 100012 secondary verification). The card keeps following it while the person
 * scans and confirms, and says so when it is back online. */

export const attention = {
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

export function renderAttention() {
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
export function measureTopbar() {
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
export function tickAttention() {
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

export function goToAttention(uuid) {
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

export function wireNeedsPerson() {
  $("attention-banner").addEventListener("click", goToFirstAttention);
  window.addEventListener("resize", measureTopbar);
}
