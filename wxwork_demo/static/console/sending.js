/* The send card (发送消息): text with @mentions, an image or a file (by link or uploaded), to a person or a room,
 * from the current account; and the messages it sent, each revocable. Over /api/send-*, /api/revoke, /api/sent.
 * Ids stay strings: room ids are beyond 2^53.
 */

import { sessionState, sessionTitle, stateBadge } from "./account-state.js";
import { api, CSRF_TOKEN, explain, request } from "./api.js";
import { $, clock, h } from "./page.js";
import { store } from "./state.js";

const sending = {
  members: [],        // the @ picker's members: [{userId, name}]
  membersRoom: "",    // the room they belong to
};

export function activeUuid() {
  return ((store.state && store.state.active) || {}).uuid || "";
}

function sendWhat() {
  return document.querySelector("input[name=send-what]:checked").value;
}

function sendIsRoom() {
  return document.querySelector("input[name=send-kind]:checked").value === "room";
}

function showResult(text, ok) {
  const result = $("send-result");
  result.className = `result ${ok ? "result-ok" : "result-error"}`;
  result.textContent = text;
}

/** A send: a JSON body, or a FormData (multipart upload: the browser sets its Content-Type). Answered like
 * `api()`, with the refusals of sending (429, a bad link or file) in their own words. */
async function postSend(path, body) {
  const headers = { Accept: "application/json" };
  if (CSRF_TOKEN) headers["X-CSRF-Token"] = CSRF_TOKEN;
  const multipart = body instanceof FormData;
  if (!multipart) headers["Content-Type"] = "application/json";
  return request(path, { method: "POST", headers, body: multipart ? body : JSON.stringify(body) }, sendExplain);
}

/** A refused send in words: pacing (429) and bad links first, the console's usual words otherwise. */
function sendExplain(status, body) {
  const message = (body && body.message) || "";
  if (status === 429) {
    const reason = body && body.reason === "repeat" ? "同样的内容发得太频繁" : "这个账号发送太频繁";
    return `${reason}，没有发送：请 ${(body && body.retryAfter) || 1} 秒后再试`;
  }
  if (status === 400 && body && (body.field === "url" || body.field === "file")) {
    return `${body.field === "url" ? "链接" : "文件"}不能发送：${message}`;
  }
  if (status === 413) return "文件太大了（超过 MEDIA_MAX_BYTES）";
  return explain(status, body);
}

export function syncSendForm() {
  const what = sendWhat();
  $("send-text-box").hidden = what !== "text";
  $("send-media-box").hidden = what === "text";
  $("send-filename-field").hidden = what !== "file";
  $("send-url").placeholder = what === "image" ? "https://example.com/picture.png" : "https://example.com/report.pdf";
  $("send-file").accept = what === "image" ? "image/*" : "";
  $("send-at-box").hidden = !(what === "text" && sendIsRoom());
  if ($("send-to").value.trim() !== sending.membersRoom) clearAtPicker();
}

function clearAtPicker() {
  sending.members = [];
  sending.membersRoom = "";
  $("send-at-list").replaceChildren();
  $("send-at-summary").textContent = "";
}

async function loadAtPicker() {
  const room = $("send-to").value.trim();
  if (!/^\d+$/.test(room)) {
    $("send-at-summary").textContent = "先填写群 ID";
    return;
  }
  $("send-at-summary").textContent = "读取群成员…";
  try {
    const query = activeUuid() ? `?uuid=${encodeURIComponent(activeUuid())}` : "";
    const answer = await api(`/api/rooms/${encodeURIComponent(room)}/members${query}`);
    const own = ((store.state && store.state.active) || {}).vid || "";
    sending.members = answer.members.filter((m) => m.userId !== own);
    sending.membersRoom = room;
    $("send-at-list").replaceChildren(
      ...sending.members.map((member) => h("label", { class: "check at-member" },
        h("input", { type: "checkbox", value: member.userId, "data-at": member.userId }),
        member.name || member.userId)),
    );
    $("send-at-summary").textContent = `${answer.room.name || "未命名群"} · ${sending.members.length} 位成员可 @`;
  } catch (err) {
    $("send-at-summary").textContent = `读取失败：${err.title}`;
  }
}

function chosenAt() {
  return [...document.querySelectorAll("#send-at-list input[data-at]:checked")].map((box) => box.value);
}

async function sendMessage(event) {
  event.preventDefault();
  const to = $("send-to").value.trim();
  const what = sendWhat();
  const isRoom = sendIsRoom();
  if (!/^\d+$/.test(to)) return showResult("接收方 ID 应为一串数字", false);
  const uuid = activeUuid();
  let send;
  if (what === "text") {
    const content = $("send-content").value;
    if (!content.trim()) return showResult("请填写要发送的内容", false);
    const body = { send_userid: to, isRoom, content };
    const at = isRoom ? chosenAt() : [];
    if (at.length) body.at = at;
    if (isRoom && $("send-at-all").checked) body.atAll = true;
    if (uuid) body.uuid = uuid;
    send = () => postSend("/api/send-text", body);
  } else {
    const file = $("send-file").files[0];
    const url = $("send-url").value.trim();
    const path = what === "image" ? "/api/send-image" : "/api/send-file";
    const filename = what === "file" ? $("send-filename").value.trim() : "";
    if (!file && !url) return showResult(what === "image" ? "请填写图片链接或选择图片" : "请填写文件链接或选择文件", false);
    if (file) {
      const form = new FormData();
      form.append("send_userid", to);
      form.append("isRoom", String(isRoom));
      if (uuid) form.append("uuid", uuid);
      if (filename) form.append("filename", filename);
      form.append("file", file);
      send = () => postSend(path, form);
    } else {
      const body = { send_userid: to, isRoom, url };
      if (uuid) body.uuid = uuid;
      if (filename) body.filename = filename;
      send = () => postSend(path, body);
    }
  }
  $("send-submit").disabled = true;
  showResult(what === "text" ? "发送中…" : "上传并发送中…", true);
  try {
    const answer = await send();
    const waited = answer.waitedMs ? `，排队 ${(answer.waitedMs / 1000).toFixed(1)} 秒` : "";
    showResult(`已发送${answer.msgId ? `（消息 ID ${answer.msgId}）` : ""}${waited} · ${clock(new Date().toISOString())}`, true);
    if (what === "text") $("send-content").value = "";
    else {
      $("send-url").value = "";
      $("send-file").value = "";
    }
    loadSent();
  } catch (err) {
    showResult(`发送失败：${err.title}`, false);
  } finally {
    $("send-submit").disabled = false;
  }
}

// ---------------------------------------------------------------- sent messages and revoke

const SENT_STATUS = { sent: "已发送", revoked: "已撤回" };
const SENT_KIND = { text: "文字", image: "图片", file: "文件" };

async function loadSent() {
  const uuid = activeUuid();
  if (!uuid) return;
  try {
    const answer = await api(`/api/sent?uuid=${encodeURIComponent(uuid)}&limit=10`);
    renderSent(answer.messages);
  } catch {
    // Shown again at the next send or refresh; the send result says what matters.
  }
}

function renderSent(messages) {
  $("sent-empty").hidden = messages.length > 0;
  $("sent-list").replaceChildren(...messages.map((m) => h("li", { class: "sent-item", "data-msg": m.msgId },
    h("span", { class: "tag" }, SENT_KIND[m.kind] || m.kind),
    h("span", { class: "sent-summary" }, m.summary || "—"),
    h("span", { class: "muted small" }, `${m.isRoom ? "群" : "给"} ${m.conversation} · ${clock(m.createdAt)}`),
    m.status === "sent"
      ? h("button", { type: "button", class: "btn btn-small", onclick: () => revoke(m) }, "撤回")
      : h("span", { class: "badge" }, SENT_STATUS[m.status] || m.status))));
}

async function revoke(message) {
  const body = { msgId: message.msgId };
  if (activeUuid()) body.uuid = activeUuid();
  try {
    await api("/api/revoke", body);
    showResult(`已撤回消息 ${message.msgId}`, true);
  } catch (err) {
    showResult(`撤回失败：${err.title}`, false);
  }
  loadSent();
}

// ---------------------------------------------------------------- from whom, to whom

export function renderSendAs() {
  const active = (store.state && store.state.active) || {};
  const node = $("send-as");
  if (!active.uuid) {
    node.textContent = "还没有可用的账号";
    return;
  }
  const state = sessionState(active);
  node.replaceChildren(`由当前账号发送：${sessionTitle(active)} `, stateBadge(state));
}

export function pickReceiver(id, isRoom) {
  $("send-to").value = id;
  document.querySelector(`input[name=send-kind][value=${isRoom ? "room" : "person"}]`).checked = true;
  $("send-card").scrollIntoView({ behavior: "smooth", block: "center" });
  $("send-content").focus({ preventScroll: true });
}

export function wireSending() {
  $("send-form").addEventListener("submit", sendMessage);
  for (const input of document.querySelectorAll("input[name=send-what], input[name=send-kind]")) {
    input.addEventListener("change", syncSendForm);
  }
  $("send-to").addEventListener("change", syncSendForm);
  $("send-at-load").addEventListener("click", loadAtPicker);
  $("sent-refresh").addEventListener("click", loadSent);
  syncSendForm();
  setTimeout(loadSent, 1500);
}
