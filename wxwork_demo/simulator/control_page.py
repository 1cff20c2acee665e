"""The HTML control page served at `GET /_sim/`: plain HTML, inline CSS and JS, no external assets.

All values coming from the state (callback URLs, message text) are inserted with textContent, never
as HTML, because anyone who can call the simulator can put text into them.
"""

CONTROL_PAGE_HTML = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>企业微信上游模拟器 · 控制台</title>
<style>
  body { font-family: -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif;
         margin: 16px; color: #222; }
  h1 { font-size: 20px; margin: 0 0 12px; }
  h2 { font-size: 16px; margin: 20px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { border: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }
  tr.selected { background: #eef6ff; }
  tr.row { cursor: pointer; }
  .panel { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 6px 0; }
  .code { font-size: 28px; letter-spacing: 6px; font-weight: bold; color: #0a7; }
  .muted { color: #888; font-size: 12px; }
  .ok { color: #0a7; } .bad { color: #c33; }
  button { padding: 3px 10px; cursor: pointer; }
  input[type=text], input[type=number] { padding: 3px; }
  pre { background: #f6f6f6; padding: 6px; max-height: 240px; overflow: auto; font-size: 12px; }
  #qr img { border: 1px solid #ccc; }
</style>
</head>
<body>
<h1>企业微信上游模拟器 · 控制台</h1>
<div class="panel">
  <button id="btn-refresh">刷新</button>
  <button id="btn-reset">重置模拟器</button>
  <label>批量登录数量 <input id="bulk-count" type="number" value="10" min="1" style="width:80px"></label>
  <label>回调地址 <input id="bulk-callback" type="text" size="36" placeholder="可选"></label>
  <button id="btn-bulk">批量登录</button>
  <span id="status" class="muted"></span>
</div>

<h2>实例列表 <span class="muted">（点击一行选中实例）</span><span id="inst-total" class="muted"></span></h2>
<table>
  <thead><tr><th>uuid</th><th>init vid</th><th>账号</th><th>状态</th><th>回调地址</th>
  <th>待扫二维码</th><th>验证码</th><th>二次验证</th></tr></thead>
  <tbody id="instances"></tbody>
</table>

<h2>选中实例：<span id="sel-uuid" class="muted">未选择</span></h2>
<div class="panel">
  <div id="qr"></div>
  <div>
    <div class="panel">
      <label>扫码账号 user_id <input id="scan-user" type="text" size="20" placeholder="默认演示账号"></label>
      <button id="btn-scan">扫码</button>
    </div>
    <div>手机上显示的验证码：<span id="scan-code" class="code">——</span></div>
  </div>
</div>
<div class="panel">
  掉线注入：
  <button data-drop="100005">100005 手机端退出</button>
  <button data-drop="100007">100007 登录缓存失效</button>
  <button data-drop="100008">100008 其他设备登录</button>
  <button data-drop="100009">100009 扫码超时（销毁）</button>
  <button data-drop="100012">100012 需要二次验证</button>
  <label><input id="drop-require-scan" type="checkbox"> 之后禁止自动登录</label>
</div>
<div class="panel">
  推送消息：
  <input id="msg-content" type="text" size="30" placeholder="消息内容">
  <input id="msg-sender" type="text" size="18" placeholder="发送者 user_id（可选）">
  <label><input id="msg-room" type="checkbox"> 群消息</label>
  <input id="msg-roomid" type="text" size="22" placeholder="room_conversation_id（可选）">
  <input id="msg-type" type="number" value="2" style="width:60px" title="msgtype">
  <button id="btn-message">推送</button>
</div>

<h2>故障注入 <span class="muted">（只影响 /wxwork/*）</span></h2>
<div class="panel">
  <label>模式 <select id="fault-mode">
    <option value="latency">latency 延迟</option>
    <option value="http500">http500 服务器错误</option>
    <option value="hang">hang 挂起</option>
    <option value="nonjson">nonjson 非 JSON 响应</option>
    <option value="refuse">refuse 断开连接</option>
  </select></label>
  <label>次数 <input id="fault-count" type="number" value="1" style="width:70px"
    title="-1 表示直到清除"></label>
  <label>延迟 ms <input id="fault-latency" type="number" value="1000" style="width:80px"></label>
  <label>挂起秒数 <input id="fault-hang" type="number" value="30" style="width:70px"></label>
  <label>仅限接口 <input id="fault-actions" type="text" size="30" placeholder="逗号分隔，留空=全部"></label>
  <button id="btn-fault">设置故障</button>
  <button id="btn-fault-clear">清除故障</button>
</div>
<div>当前故障：<span id="fault-current" class="muted">无</span></div>

<h2>调用统计</h2>
<pre id="calls"></pre>
<h2>已发送消息（SendTextMsg）</h2>
<pre id="sent"></pre>
<h2>回调投递记录</h2>
<pre id="callbacks"></pre>
<h2>账号</h2>
<pre id="accounts"></pre>

<script>
(function () {
  "use strict";
  // `/_sim/?uuid=…` opens the page with that instance selected (handy to link from the product's UI).
  var selected = new URLSearchParams(window.location.search).get("uuid");
  var LOGIN_TYPES = {0: "未初始化", 1: "已初始化，未登录", 2: "已登录"};
  function $(id) { return document.getElementById(id); }
  function say(text, bad) { var s = $("status"); s.textContent = text; s.className = bad ? "bad" : "ok"; }

  function call(method, path, body) {
    var options = {method: method, headers: {"Content-Type": "application/json"}};
    if (body !== undefined) { options.body = JSON.stringify(body); }
    return fetch(path, options).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok || data.ok === false) { throw new Error(data.message || ("HTTP " + r.status)); }
        return data;
      });
    });
  }
  function act(promise, okText) {
    return promise.then(function (data) { say(okText); refresh(); return data; })
      .catch(function (e) { say("失败：" + e.message, true); });
  }
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function renderInstances(instances) {
    var body = $("instances");
    body.textContent = "";
    var current = null;
    instances.forEach(function (inst) {
      var tr = document.createElement("tr");
      tr.className = "row" + (inst.uuid === selected ? " selected" : "");
      cell(tr, inst.uuid);
      cell(tr, inst.vid === null ? "" : String(inst.vid));
      cell(tr, inst.user_id === null ? "" : String(inst.user_id));
      cell(tr, LOGIN_TYPES[inst.loginType] + (inst.isLogin ? " ✔" : ""));
      cell(tr, inst.callback_url || "");
      cell(tr, inst.qr_key ? inst.qr_key + "（" + inst.qr_expires_in + " 秒后过期）" : "");
      cell(tr, inst.pending_code || "");
      cell(tr, inst.secondary_pending ? "待验证" : "");
      tr.addEventListener("click", function () {
        selected = inst.uuid;
        $("scan-code").textContent = "——";
        refresh();
      });
      body.appendChild(tr);
      if (inst.uuid === selected) { current = inst; }
    });
    if (selected && !current) { selected = null; }
    $("sel-uuid").textContent = selected || "未选择";
    var qr = $("qr");
    var key = current ? (current.secondary_pending ? current.secondary_qr_key : current.qr_key) : null;
    // Only touch the image when the key changes, so the 2 s refresh does not make it flicker.
    if (qr.getAttribute("data-key") !== (key || "")) {
      qr.setAttribute("data-key", key || "");
      qr.textContent = "";
      if (key) {
        var img = document.createElement("img");
        img.src = "/qrcode/" + encodeURIComponent(key) + ".png";
        img.alt = "登录二维码";
        qr.appendChild(img);
      }
    }
    if (!key && current && current.pending_code) { $("scan-code").textContent = current.pending_code; }
  }

  function refresh() {
    call("GET", "/_sim/state?limit=200").then(function (state) {
      renderInstances(state.instances);
      $("inst-total").textContent = state.instances.length < state.instances_total ?
        "（共 " + state.instances_total + " 个，只显示前 " + state.instances.length + " 个）" : "";
      $("fault-current").textContent = state.faults ? JSON.stringify(state.faults) : "无";
      $("accounts").textContent = JSON.stringify(state.accounts, null, 1);
    }).catch(function (e) { say("读取状态失败：" + e.message, true); });
    call("GET", "/_sim/calls").then(function (c) {
      $("calls").textContent = "总数 " + c.total + "\\n" + JSON.stringify(c.by_action, null, 1);
    });
    call("GET", "/_sim/sent?limit=20").then(function (s) {
      $("sent").textContent = s.messages.map(function (m) {
        return new Date(m.time * 1000).toLocaleTimeString() + "  " + m.uuid.slice(0, 8) +
          " → " + m.send_userid + (m.isRoom ? "（群）" : "") + "：" + m.content;
      }).join("\\n") || "（无）";
    });
    call("GET", "/_sim/callbacks?limit=30").then(function (c) {
      $("callbacks").textContent = c.attempts.map(function (a) {
        return new Date(a.time * 1000).toLocaleTimeString() + "  #" + a.id + " 第" + a.attempt + "次 " +
          a.type + " " + a.uuid.slice(0, 8) + " → " + (a.ok ? ("HTTP " + a.status) : ("失败 " + a.error));
      }).join("\\n") || "（无）";
    });
  }

  function needSelected() {
    if (!selected) { say("请先在实例列表中选中一个实例", true); return false; }
    return true;
  }

  $("btn-refresh").addEventListener("click", refresh);
  $("btn-reset").addEventListener("click", function () { act(call("POST", "/_sim/reset", {}), "已重置"); });
  $("btn-bulk").addEventListener("click", function () {
    var body = {count: Number($("bulk-count").value)};
    if ($("bulk-callback").value) { body.callback_url = $("bulk-callback").value; }
    act(call("POST", "/_sim/bulk-login", body), "批量登录完成");
  });
  $("btn-scan").addEventListener("click", function () {
    if (!needSelected()) { return; }
    var body = {uuid: selected};
    if ($("scan-user").value) { body.user_id = $("scan-user").value; }
    act(call("POST", "/_sim/scan", body), "已扫码").then(function (r) {
      if (r) { $("scan-code").textContent = r.needCode ? r.code : "无需验证码"; }
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-drop]"), function (button) {
    button.addEventListener("click", function () {
      if (!needSelected()) { return; }
      var body = {uuid: selected, type: Number(button.getAttribute("data-drop")),
                  require_scan: $("drop-require-scan").checked};
      act(call("POST", "/_sim/drop", body), "已注入 " + body.type);
    });
  });
  $("btn-message").addEventListener("click", function () {
    if (!needSelected()) { return; }
    var body = {uuid: selected, content: $("msg-content").value, is_room: $("msg-room").checked,
                msgtype: Number($("msg-type").value || 2)};
    if ($("msg-sender").value) { body.sender = $("msg-sender").value; }
    if ($("msg-roomid").value) { body.room_conversation_id = $("msg-roomid").value; }
    act(call("POST", "/_sim/message", body), "消息已推送");
  });
  $("btn-fault").addEventListener("click", function () {
    var body = {mode: $("fault-mode").value, count: Number($("fault-count").value),
                latency_ms: Number($("fault-latency").value), hang_s: Number($("fault-hang").value)};
    var actions = $("fault-actions").value.split(",").map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
    if (actions.length) { body.actions = actions; }
    act(call("POST", "/_sim/faults", body), "故障已设置");
  });
  $("btn-fault-clear").addEventListener("click", function () {
    act(call("DELETE", "/_sim/faults"), "故障已清除");
  });

  refresh();
  setInterval(refresh, 2000);
})();
</script>
</body>
</html>
"""
