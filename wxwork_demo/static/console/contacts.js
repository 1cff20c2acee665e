/* The contacts card (通讯录): the internal directory and the external contacts, page by page, filtered over
 * every page loaded; a row's button puts the person into the send form. */

import { api } from "./api.js";
import { $, h, show } from "./page.js";
import { pickReceiver } from "./sending.js";

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

// ---------------------------------------------------------------- wiring

export function wireContacts() {
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
}
