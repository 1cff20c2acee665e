/* The rooms card (群列表) with a room's members, and the friend requests card (好友申请): over /api/rooms and
 * /api/friend-requests, for the current account. A room's button puts it into the send form. */

import { api } from "./api.js";
import { $, clock, h } from "./page.js";
import { activeUuid, pickReceiver, syncSendForm } from "./sending.js";

async function loadRooms(refresh) {
  const uuid = activeUuid();
  $("rooms-error").hidden = true;
  $("rooms-summary").textContent = "读取中…";
  try {
    const params = new URLSearchParams();
    if (uuid) params.set("uuid", uuid);
    if (refresh) params.set("refresh", "true");
    const answer = await api(`/api/rooms?${params}`);
    renderRooms(answer);
  } catch (err) {
    $("rooms-summary").textContent = "";
    $("rooms-error").textContent = `读取群列表失败：${err.title}`;
    $("rooms-error").hidden = false;
  }
}

function renderRooms(answer) {
  $("rooms-empty").hidden = true;
  $("rooms-view").hidden = false;
  $("rooms-refresh").hidden = false;
  const origin = answer.cached ? "缓存" : "刚从上游读取";
  $("rooms-summary").textContent = `共 ${answer.count} 个群（${origin}，${clock(answer.fetchedAt)}）`;
  $("rooms-rows").replaceChildren(...answer.rooms.map((room) => h("tr", { "data-room": room.roomId },
    h("td", {}, room.name || "（未命名群）"),
    h("td", { class: "mono" }, room.roomId),
    h("td", { class: "room-total" }, String(room.total)),
    h("td", { class: "row-actions" },
      h("button", { type: "button", class: "btn btn-small", onclick: () => showMembers(room) }, "成员"),
      h("button", { type: "button", class: "btn btn-small", onclick: () => pickRoom(room) }, "发群消息")))));
}

function pickRoom(room) {
  pickReceiver(room.roomId, true);
  syncSendForm();
}

async function showMembers(room) {
  $("members-box").hidden = false;
  $("members-title").textContent = `${room.name || "未命名群"} 的成员（读取中…）`;
  $("members-rows").replaceChildren();
  try {
    const query = activeUuid() ? `?uuid=${encodeURIComponent(activeUuid())}` : "";
    const answer = await api(`/api/rooms/${encodeURIComponent(room.roomId)}/members${query}`);
    $("members-title").textContent = `${answer.room.name || "未命名群"} 的成员（${answer.members.length} 人）`;
    $("members-rows").replaceChildren(...answer.members.map((m) => h("tr", {},
      h("td", {}, m.name || "—"),
      h("td", { class: "mono" }, m.userId),
      h("td", {}, m.roomName || "—"),
      h("td", {}, m.joinTime ? clock(m.joinTime) : "—"))));
  } catch (err) {
    $("members-title").textContent = `读取成员失败：${err.title}`;
  }
}

// ---------------------------------------------------------------- friend requests

const FRIEND_STATUS = { waiting: "待通过", accepted: "已通过", deleted: "已删除" };

async function loadFriends() {
  $("friends-error").hidden = true;
  try {
    const query = activeUuid() ? `?uuid=${encodeURIComponent(activeUuid())}` : "";
    const answer = await api(`/api/friend-requests${query}`);
    renderFriends(answer.requests);
  } catch (err) {
    $("friends-error").textContent = `读取好友申请失败：${err.title}`;
    $("friends-error").hidden = false;
  }
}

function renderFriends(requests) {
  $("friends-empty").hidden = requests.length > 0;
  $("friends-list").replaceChildren(...requests.map((r) => h("li", { class: "friend-item", "data-user": r.userId },
    h("span", { class: "friend-name" }, r.name || "（未知）"),
    h("span", { class: "mono small" }, r.userId),
    h("span", { class: `badge badge-${r.status}` }, FRIEND_STATUS[r.status] || r.status),
    r.status === "waiting"
      ? h("button", { type: "button", class: "btn btn-small btn-primary", onclick: (e) => acceptFriend(r, e.target) }, "通过")
      : null)));
}

async function acceptFriend(request, button) {
  button.disabled = true;
  const body = { vid: request.userId };
  if (activeUuid()) body.uuid = activeUuid();
  try {
    await api("/api/friend-requests/accept", body);
  } catch (err) {
    $("friends-error").textContent = `通过失败：${err.title}`;
    $("friends-error").hidden = false;
  }
  loadFriends();
}

export function wireRooms() {
  $("rooms-load").addEventListener("click", () => loadRooms(false));
  $("rooms-refresh").addEventListener("click", () => loadRooms(true));
  $("members-close").addEventListener("click", () => { $("members-box").hidden = true; });
  $("friends-load").addEventListener("click", loadFriends);
}
