/* The event log (事件日志): what happened, newest first, read incrementally and filtered by stage, type or
 * account. Other cards learn from it too: an account's name, an alert sent for it. */

import { accountFromPayload, reasonWords, sessionTitle, STATE_LABELS, upstreamWords } from "./account-state.js";
import { api } from "./api.js";
import { attention, renderAttention } from "./needs-person.js";
import { $, clock, h, shortId, show } from "./page.js";
import { store } from "./state.js";

// The events list grows by what is newer than the newest row shown (`/api/events?after=`) and keeps
// this many rows; it is read in full only when the filters change.
const EVENTS_KEPT = 200;
// An id missing between two rows may be a transaction that has not committed yet (MySQL hands ids out
// at insert time): it is asked for again for this long, then taken for a rolled-back insert.
const EVENT_GAP_WAIT_MS = 10000;

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
export async function loadEvents(reload) {
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

export function renderSessionFilter() {
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

export function wireEvents() {
  for (const id of ["filter-stage", "filter-type", "filter-session"]) $(id).addEventListener("change", () => loadEvents(true));
  $("filter-clear").addEventListener("click", () => {
    for (const id of ["filter-stage", "filter-type", "filter-session"]) $(id).value = "";
    loadEvents(true);
  });
}
