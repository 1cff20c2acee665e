/* The accounts card (账号): every instance with its state, account, warnings and buttons (make current,
 * automatic login, go to the person needed, delete). */

import {
  accountFromPayload, accountOf, avatarNode, BAD_STATES, CALLBACK_HINT_SHORT, callbackHintWords, reasonText,
  sessionState, sessionTitle, stateBadge,
} from "./account-state.js";
import { api } from "./api.js";
import { prepareAutoLogin, wizardRenderSuccess } from "./login-wizard.js";
import { goToAttention } from "./needs-person.js";
import { $, ago, clock, h, shortId, show } from "./page.js";
import { refreshNow, store } from "./state.js";

const MAX_SESSIONS_SHOWN = 100;

/** Logged-in sessions without a name yet: look their 104001 callback up, at most every 10 s each. */
export function lookUpAccounts(sessions) {
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

// ---------------------------------------------------------------- sessions card

let sessionsSignature = "";

export function renderSessions() {
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
