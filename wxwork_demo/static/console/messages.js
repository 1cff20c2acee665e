/* The messages card (消息): the inbox and forwarding, over /api/conversations, /api/messages, /api/deliveries.
 * It polls on its own; an error shows the server's own message, in the card.
 */

import { api } from "./api.js";
import { $, clock, h, parseTime } from "./page.js";
import { POLL_MS } from "./state.js";

/** A failed call in the server's own words (the card shows them after its own prefix). */
function serverWords(status, body) {
  return (body && body.message) || `HTTP ${status}`;
}

const call = (path, body) => api(path, body, serverWords);

/** A time as the rest of the page writes it, or nothing when there is none. */
function timeText(iso) {
  return parseTime(iso) === null ? "" : clock(iso);
}

const PAGE = 50;

function preview(message) {
  if (!message) return "";
  if (message.content) return message.content;
  if (message.media) return `[文件] ${message.media.fileName || ""}`.trim();
  return `[类型 ${message.type}${message.msgtype !== null ? ` / ${message.msgtype}` : ""}]`;
}

const state = {
  uuid: "",        // the active account's instance
  account: "",     // its vid
  conversations: [],
  open: null,      // the conversation shown: {id, isRoom, title}
  newestId: 0,     // the newest message id shown in the thread
  sending: false,
};

// ---------------------------------------------------------------- conversations

async function loadActive() {
  const data = await call("/api/state");
  const active = data.active || {};
  if (active.uuid !== state.uuid) {
    state.uuid = active.uuid || "";
    state.account = active.vid || "";
    $("messages-account").textContent = state.account ? `账号 ${state.account}` : "没有当前账号";
  }
}

async function loadConversations() {
  if (!state.uuid) {
    state.conversations = [];
  } else {
    const data = await call(`/api/conversations?uuid=${encodeURIComponent(state.uuid)}&limit=100`);
    state.conversations = data.conversations || [];
  }
  renderConversations();
}

function renderConversations() {
  const list = $("conversation-list");
  list.replaceChildren(
    ...state.conversations.map((c) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            type: "button",
            class: `conversation${state.open && state.open.id === c.id ? " is-open" : ""}`,
            "data-conversation": c.id,
            onclick: () => openConversation(c),
          },
          h("span", { class: "conversation-title", text: `${c.isRoom ? "群 " : ""}${c.title}` }),
          h("span", { class: "conversation-count muted", text: String(c.count) }),
          h("span", { class: "conversation-last", text: preview(c.lastMessage) }),
          h("span", { class: "conversation-time muted", text: timeText(c.lastMessage && c.lastMessage.receivedAt) }),
        ),
      ),
    ),
  );
  $("conversations-empty").hidden = state.conversations.length > 0;
}

// ---------------------------------------------------------------- the thread

function messageNode(message) {
  const own = state.account && message.sender === state.account;
  return h(
    "li",
    { class: `bubble${own ? " bubble-own" : ""}`, "data-message-id": message.id },
    h("div", { class: "bubble-meta muted", text: `${message.sender || "—"} · ${timeText(message.receivedAt)}${message.isSync ? " · 补收" : ""}` }),
    h("div", { class: "bubble-text", text: preview(message) }),
    mediaNode(message),
  );
}

// msgtype of received images (14 from colleagues, 101 from WeChat users, 104 a GIF): shown as thumbnails.
const IMAGE_MSGTYPES = new Set([14, 101, 104]);
const MEDIA_KINDS = { 15: "文件", 16: "语音", 20: "大文件", 23: "视频", 102: "文件", 103: "视频" };

/** A received file: a thumbnail for an image, and a download link (fetched once, then from the console). */
function mediaNode(message) {
  if (!message.media && !IMAGE_MSGTYPES.has(message.msgtype)) return null;
  const url = `/api/messages/${encodeURIComponent(message.id)}/media`;
  const name = (message.media && message.media.fileName) || `${MEDIA_KINDS[message.msgtype] || "附件"}-${message.id}`;
  const image = IMAGE_MSGTYPES.has(message.msgtype)
    ? h("img", { class: "bubble-thumb", src: url, alt: name, loading: "lazy", "data-media": message.id })
    : null;
  return h(
    "div",
    { class: "bubble-media" },
    image,
    h("a", { class: "bubble-download", href: `${url}?download=1`, download: name, "data-media-link": message.id }, `下载${MEDIA_KINDS[message.msgtype] || "图片"}`),
  );
}

async function openConversation(conversation) {
  state.open = { id: conversation.id, isRoom: conversation.isRoom, title: conversation.title };
  state.newestId = 0;
  $("thread-title").textContent = `${conversation.isRoom ? "群 " : ""}${conversation.title}`;
  $("thread-list").replaceChildren();
  $("reply-form").hidden = false;
  $("reply-result").textContent = "";
  renderConversations();
  const query = `uuid=${encodeURIComponent(state.uuid)}&conversation=${encodeURIComponent(conversation.id)}&limit=${PAGE}`;
  const data = await call(`/api/messages?${query}`);
  appendMessages(data.messages || []);
}

/** `messages` newest first, as the API lists them; shown oldest at the top. */
function appendMessages(messages) {
  const list = $("thread-list");
  const fresh = messages.filter((m) => m.id > state.newestId).reverse();
  if (!fresh.length) return;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(...fresh.map(messageNode));
  state.newestId = fresh[fresh.length - 1].id;
  if (atBottom || fresh.length === messages.length) list.scrollTop = list.scrollHeight;
}

async function pollThread() {
  if (!state.open || !state.newestId) return;
  const query = `uuid=${encodeURIComponent(state.uuid)}&conversation=${encodeURIComponent(state.open.id)}&after=${state.newestId}&limit=500`;
  const data = await call(`/api/messages?${query}`);
  appendMessages(data.messages || []);
}

async function reply(event) {
  event.preventDefault();
  const input = $("reply-content");
  const content = input.value;
  if (!state.open || !content.trim() || state.sending) return;
  state.sending = true;
  $("reply-submit").disabled = true;
  $("reply-result").textContent = "发送中…";
  try {
    await call("/api/send-text", { uuid: state.uuid, send_userid: state.open.id, isRoom: state.open.isRoom, content });
    input.value = "";
    $("reply-result").textContent = "已发送";
  } catch (error) {
    $("reply-result").textContent = `发送失败：${error.message}`;
  } finally {
    state.sending = false;
    $("reply-submit").disabled = false;
  }
}

// ---------------------------------------------------------------- deliveries

async function loadDeliveries() {
  const data = await call("/api/deliveries?limit=20");
  const counts = data.counts || {};
  $("deliveries-pending").textContent = String(counts.pending || 0);
  $("deliveries-delivered").textContent = String(counts.delivered || 0);
  $("deliveries-dead").textContent = String(counts.dead || 0);
  $("deliveries-replay").disabled = !counts.dead;
  const targets = data.targets || [];
  $("targets-empty").hidden = targets.length > 0;
  $("target-list").replaceChildren(
    ...targets.map((t) =>
      h(
        "li",
        { class: "target" },
        h("code", { text: t.url }),
        h("span", { class: "muted", text: ` 待投递 ${t.counts.pending} · 已投递 ${t.counts.delivered} · 失败 ${t.counts.dead}` }),
        t.lastError ? h("div", { class: "target-error", text: `最近错误：${t.lastError}` }) : null,
      ),
    ),
  );
}

async function replayDead() {
  $("deliveries-result").textContent = "重新投递中…";
  try {
    const data = await call("/api/deliveries/replay", { status: "dead" });
    $("deliveries-result").textContent = `已重新排队 ${data.requeued} 条`;
    await loadDeliveries();
  } catch (error) {
    $("deliveries-result").textContent = `失败：${error.message}`;
  }
}

async function sendTest() {
  $("deliveries-result").textContent = "发送测试投递…";
  try {
    const data = await call("/api/forward/test", {});
    $("deliveries-result").textContent = data.targets.map((t) => `${t.url}: HTTP ${t.status} ${t.ms} ms`).join("；");
  } catch (error) {
    const targets = (error.body && error.body.targets) || [];
    const detail = targets.map((t) => `${t.url}: ${t.error || `HTTP ${t.status}`}`).join("；");
    $("deliveries-result").textContent = `测试投递失败：${detail || error.message}`;
  }
}

// ---------------------------------------------------------------- polling

async function tick() {
  try {
    await loadActive();
    await loadConversations();
    await pollThread();
    await loadDeliveries();
    $("messages-error").hidden = true;
  } catch (error) {
    $("messages-error").textContent = `消息面板暂时无法更新：${error.message}`;
    $("messages-error").hidden = false;
  }
}

export function startMessages() {
  if (!$("messages-card")) return;
  $("reply-form").addEventListener("submit", reply);
  $("deliveries-replay").addEventListener("click", replayDead);
  $("deliveries-test").addEventListener("click", sendTest);
  tick();
  setInterval(tick, POLL_MS);
}
