/* How the page speaks of an account (an upstream instance and the person logged in on it): its state, its name
 * and avatar, why it is where it is, and why its callbacks may not arrive. Shared by the accounts card, the login
 * wizard, the "needs a person" card and the event log. */

import { h, shortId } from "./page.js";
import { store } from "./state.js";

export const STATE_LABELS = {
  initialised: "已初始化",
  waiting_scan: "等待扫码",
  waiting_code: "等待验证码",
  online: "在线",
  reconnecting: "重连中",
  offline: "离线",
  needs_person: "需要人工处理",
};

// States in which the reason is a problem to show in red, not just a note.
export const BAD_STATES = new Set(["offline", "needs_person"]);

/** The session's state: the server's `state` when it sends one, otherwise read from isLogin / lastEvent. */
export function sessionState(session) {
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

export function accountFromPayload(payload) {
  const p = payload || {};
  const name = p.realname || p.nickname || p.Nick_name || p.acctid || "";
  const corp = p.corp_name || p.Corp_name || p.Corp_full_name || "";
  const avatar = p.avatar || p.Icon_url || "";
  return name || corp ? { name, corp, avatar } : null;
}

export function accountOf(session) {
  const a = session.account;
  if (a && (a.name || a.corp)) return a;
  return store.accounts.get(session.uuid) || null;
}

export function sessionTitle(session) {
  const account = accountOf(session);
  if (account && account.name) return account.name;
  return session.vid ? `账号 ${session.vid}` : `实例 ${shortId(session.uuid)}`;
}

export function avatarNode(account, fallbackText, size) {
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

export function stateBadge(state) {
  return h("span", { class: `badge badge-${state}` }, STATE_LABELS[state] || state);
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
export function upstreamWords(text) {
  // Every upstream error names the URL it called at its end: " (POST http://…/wxwork/automaticLogin)".
  const refused = /^upstream \w+ refused: errcode (-?\d+),? ?(.*?)(?: \(POST [^)]*\))?$/.exec(text || "");
  if (refused) return refused[2] ? `${refused[2]}（errcode ${refused[1]}）` : `errcode ${refused[1]}`;
  return REASON_WORDS[text] || text || "";
}

/** A state's reason (English, for the log) in words a person reads. */
export function reasonWords(raw) {
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
export function reasonText(session) {
  if (session.lastEvent === "disconnect:100009" && sessionState(session) === "needs_person") {
    return "二维码超时未扫码，上游已销毁这个实例";
  }
  return reasonWords(session.stateReason || session.lastError || "");
}

/* Without callbacks the page cannot know that the phone scanned (services/login/callback_reach.py). The
 * server says why it believes they are lost with a code; the English message stays as the tooltip. */
const CALLBACK_FIX = "请把 CALLBACK_URL 设为上游能访问的地址（本机的公网地址或域名，例如 http://<地址>:3000/callback/wxwork），"
  + "并在防火墙放行该端口，然后重启控制台。";

export const CALLBACK_HINT_SHORT = {
  callback_loopback: "收不到回调：回调地址指向本机，上游访问不到",
  callback_silent: "迟迟没有回调：上游可能访问不到回调地址",
  callback_missed: "上游已登录却没有回调：上游访问不到回调地址",
};

export function callbackHintWords(hint) {
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
