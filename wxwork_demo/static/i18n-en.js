/* The console in English: loaded by i18n.js only when English is chosen.
 *
 * The other scripts keep their Chinese words. This one replaces every text it knows, in text nodes and in the
 * placeholder, title, aria-label and (input buttons') value attributes, first in the page as it stands, then in
 * whatever the scripts render later (one MutationObserver: only added or changed nodes are looked at). It only
 * ever sets a text node's data or an attribute, never markup, so the console's rule (console/page.js: data reaches
 * the page as text only) holds. A text it does not know stays as it is: names and messages are data.
 *
 * EN is keyed by the exact Chinese text (whitespace collapsed); RULES translate texts built around numbers
 * and names, each captured part translated again. tests/console_texts.py lists every Chinese text of the
 * templates and scripts and the browser test checks each has its English here.
 */
"use strict";

(function () {
  const EN = {
    // The page frame (base.html, login.html)
    "企业微信登录控制台": "WeChat Work login console",
    "企": "W",
    "退出": "Log out",
    "登录 · 企业微信控制台": "Log in · WeChat Work console",
    "企业微信控制台": "WeChat Work console",
    "控制台密码": "Console password",
    "登录": "Log in",
    "页面已过期，请重试": "The page expired, please try again",
    "未设置控制台密码 (CONSOLE_PASSWORD)，请用 API_TOKEN": "No console password is set (CONSOLE_PASSWORD): use the API_TOKEN",
    "密码错误": "Wrong password",

    // The header
    "上游服务（BASE_URL）": "Upstream service (BASE_URL)",
    "上游": "Upstream",
    "未检查": "Not checked",
    "连接中…": "Connecting…",
    "上游可达": "Upstream reachable",
    "无法检查上游": "Cannot check the upstream",
    "查看并处理 ↓": "See and handle ↓",

    // Accounts that need a person
    "需要人工处理": "Needs a person",
    "自动重连没能让这些账号恢复在线。照下面的提示用手机操作即可，不需要使用「登录账号」向导；完成后账号会自动恢复在线。":
      "Automatic reconnection could not bring these accounts back online. Follow the steps below on the phone; the "
      + "“Log in an account” wizard is not needed. The account comes back online by itself once done.",
    "用手机企业微信扫码恢复登录": "Scan with WeChat Work on the phone to log back in",
    "二次验证：用手机扫码确认": "Second verification: scan with the phone to confirm",
    "二维码已失效，请重新获取": "The QR code is no longer valid, get a new one",
    "二次验证：正在获取二维码…": "Second verification: getting the QR code…",
    "已扫码，请在手机上确认": "Scanned, confirm on the phone",
    "请输入手机上显示的 6 位验证码": "Enter the 6-digit code shown on the phone",
    "已恢复在线": "Back online",
    "二次验证二维码": "Second verification QR code",
    "二维码图片加载失败：上游给出的图片地址打不开": "The QR code image failed to load: the upstream's image address cannot be opened",
    "二维码图片加载失败：上游给出的图片地址打不开。": "The QR code image failed to load: the upstream's image address cannot be opened.",
    "正在获取二维码…": "Getting the QR code…",
    "二维码已过期": "The QR code has expired",
    "没有可用的二维码": "No QR code available",
    "打开手机企业微信，点右上角 ＋ → 扫一扫": "Open WeChat Work on the phone, tap ＋ at the top right → Scan",
    "扫描左边的二维码，在手机上确认是本人操作": "Scan the QR code on the left and confirm on the phone that it is you",
    "扫描左边的二维码，在手机上确认登录": "Scan the QR code on the left and confirm the login on the phone",
    "确认后这里会自动显示「已恢复在线」": "Once confirmed, “Back online” shows here by itself",
    "手机已确认，正在完成登录…": "Confirmed on the phone, finishing the login…",
    "手机已扫码。请在手机上点「确认登录」，账号随后会自动恢复在线。":
      "The phone scanned. Tap “Confirm login” on the phone; the account then comes back online by itself.",
    "手机已确认，但上游一直没有报告登录成功。可以再等等，或者换一张二维码重新扫。":
      "The phone confirmed, but the upstream has not reported a successful login. Wait a little longer, or scan a new QR code.",
    "原来的二维码已经过期了。点下面的按钮换一张新的，再用手机企业微信扫码。":
      "The QR code has expired. Click the button below for a new one, then scan it with WeChat Work on the phone.",
    "现在没有可用的二维码。点下面的按钮获取一张，再用手机企业微信扫码。":
      "There is no QR code right now. Click the button below to get one, then scan it with WeChat Work on the phone.",
    "自动重连监控正在向上游获取二次验证二维码，几秒后会显示在这里。":
      "The reconnect monitor is getting the second verification QR code from the upstream; it shows here in a few seconds.",
    "二次验证二维码由自动重连监控获取，但监控现在是关闭的：请打开右侧的「自动重连监控」开关。":
      "The second verification QR code is fetched by the reconnect monitor, which is off: turn on the "
      + "“Automatic reconnect monitor” switch on the right.",
    "账号已重新登录，当前在线": "The account logged in again and is online",
    "二维码有效期未知": "The QR code's lifetime is unknown",
    "正在获取…": "Getting…",
    "重新获取二维码": "Get a new QR code",
    "知道了": "Got it",
    "改用「自动登录」重新登录": "Log in again with “Automatic login”",
    "实例可能已被上游销毁：可以用它的 vid 重新登录，必要时改用扫码。":
      "The upstream may have destroyed the instance: log in again with its vid, or scan a QR code if needed.",
    "未配置": "not configured",
    "提交中…": "Submitting…",
    "验证码是 6 位数字": "The code is 6 digits",
    "二维码超时未扫码，上游已销毁这个实例": "The QR code was not scanned in time; the upstream destroyed this instance",

    // The login wizard
    "登录账号": "Log in an account",
    "登录方式": "Login method",
    "首次登录（扫码）": "First login (QR code)",
    "自动登录": "Automatic login",
    "登录进度": "Login progress",
    "上游访问不到回调地址": "The upstream cannot reach the callback URL",
    "在新设备上登录一个企业微信账号：依次": "Log a WeChat Work account in on a new device: in turn",
    "初始化实例": "Initialise the instance",
    "、": ", ",
    "设置回调地址": "Set the callback URL",
    "显示二维码": "Show the QR code",
    "。 用手机企业微信扫码后，手机上会显示 6 位验证码，填到这里即可完成登录。":
      ". After scanning with WeChat Work on the phone, the phone shows a 6-digit code: enter it here to finish the login.",
    "开始登录": "Start login",
    "已经在本服务上登录过的账号，可以用它的": "An account already logged in through this service can use its",
    "免扫码重新登录。自动登录失败时，可以一键改用扫码。":
      "to log in again without scanning. If automatic login fails, switch to a QR code with one click.",
    "已知账号": "Known account",
    "— 从已登录过的账号中选择 —": "— pick an account logged in before —",
    "— 还没有登录过的账号 —": "— no account logged in yet —",
    "或输入 vid": "or enter a vid",
    "例如 1688857362464764": "e.g. 1688857362464764",
    "代理设置（可选，首次登录和自动登录都会使用）": "Proxy (optional, used by first and automatic login)",
    "代理 IP": "Proxy IP",
    "不填则不使用代理": "Leave empty for no proxy",
    "端口": "Port",
    "类型": "Type",
    "用户名": "User name",
    "密码": "Password",
    "固定代理（之后不能移除）": "Fixed proxy (cannot be removed later)",
    "登录二维码": "Login QR code",
    "用手机企业微信扫一扫": "Scan with WeChat Work on the phone",
    "打开手机企业微信，点右上角": "Open WeChat Work on the phone, tap",
    "扫一扫": "Scan",
    "新设备会在手机上显示": "The phone shows the new device's",
    "6 位验证码": "6-digit code",
    "，填到下面": ": enter it below",
    "后二维码过期": "until the QR code expires",
    "等待扫码…": "Waiting for the scan…",
    "等待手机扫码…": "Waiting for the phone to scan…",
    "用的是自带的上游模拟器：到": "The bundled upstream simulator is in use: go to the",
    "模拟器页面": "simulator page",
    "上\"扫码\"（页面会显示验证码）。": "and “scan” there (the page shows the code).",
    "我已扫码，向上游查询登录状态": "I scanned: ask the upstream for the login state",
    "手机上显示的 6 位验证码": "The 6-digit code shown on the phone",
    "提交验证码": "Submit code",
    "登录成功。这个账号的": "Logged in. This account's",
    "已记录下来：以后（比如上游重启或账号掉线后）可以在「自动登录」里选它，免扫码重新登录。":
      "is saved: later (after an upstream restart or a drop, say) pick it in “Automatic login” to log in again without scanning.",
    "再登录一个账号": "Log in another account",
    "初始化实例（带 vid）": "Initialise the instance (with vid)",
    "获取二维码": "Get the QR code",
    "手机扫码": "Scan on the phone",
    "输入验证码": "Enter the code",
    "登录成功": "Logged in",
    "未开始": "Not started",
    "进行中…": "In progress…",
    "完成": "Done",
    "失败": "Failed",
    "不需要": "Not needed",
    "已设置": "Set",
    "重试": "Retry",
    "已获取": "Obtained",
    "重新开始": "Start over",
    "验证码正确": "Code accepted",
    "等待上游确认登录…": "Waiting for the upstream to confirm the login…",
    "验证码已通过，正在完成登录…": "Code accepted, finishing the login…",
    "请先选择一个账号或输入它的 vid（一串数字）": "Pick an account or enter its vid (a number) first",
    "再次登录会把它移到一个新实例上，原来的实例随之下线。":
      "Logging in again moves it to a new instance; the old instance goes offline.",
    "仍然重新登录": "Log in again anyway",
    "已登录": "Logged in",
    "改用扫码登录": "Log in with a QR code instead",
    "再试一次自动登录": "Try automatic login again",
    "改用扫码": "Use a QR code instead",
    "无需验证码": "No code needed",
    "等待上游回报…": "Waiting for the upstream's report…",
    "二维码超时": "QR code timed out",
    "重新登录": "Log in again",
    "已扫码": "Scanned",
    "请输入手机上显示的验证码": "Enter the code shown on the phone",
    "已扫码，请输入手机上显示的验证码": "Scanned: enter the code shown on the phone",
    "已扫码，等待手机确认…": "Scanned, waiting for the phone to confirm…",
    "已确认，正在登录…": "Confirmed, logging in…",
    "手机已确认，正在登录…": "Confirmed on the phone, logging in…",
    "手机上取消了登录，可以再扫一次": "The login was cancelled on the phone; you can scan again",
    "二维码已过期。点「重新获取二维码」换一张。": "The QR code has expired. Click “Get a new QR code” for another.",
    "已过期": "Expired",
    "上游报告还没有登录：请先用手机扫码并确认。": "The upstream reports no login yet: scan with the phone and confirm first.",

    // Callbacks that do not arrive
    "收不到回调：回调地址指向本机，上游访问不到": "No callbacks: the callback URL points to this machine, the upstream cannot reach it",
    "迟迟没有回调：上游可能访问不到回调地址": "No callbacks yet: the upstream may not reach the callback URL",
    "上游已登录却没有回调：上游访问不到回调地址": "Logged in upstream but no callback: the upstream cannot reach the callback URL",
    "一段时间": " a while",
    "请把 CALLBACK_URL 设为上游能访问的地址（本机的公网地址或域名，例如 http://<地址>:3000/callback/wxwork），":
      "Set CALLBACK_URL to an address the upstream can reach (this machine's public address or domain name, e.g. "
      + "http://<address>:3000/callback/wxwork), ",
    "并在防火墙放行该端口，然后重启控制台。": "open that port in the firewall, then restart the console.",

    // Sending
    "发送消息": "Send a message",
    "从通讯录选择": "Pick from contacts",
    "— 先在下方加载通讯录 —": "— load the contacts below first —",
    "接收方 ID": "Receiver ID",
    "成员 user_id 或群 room_id": "A member's user_id or a room's room_id",
    "单聊": "Person",
    "群聊": "Room",
    "发送": "Send",
    "文字": "Text",
    "图片": "Image",
    "文件": "File",
    "内容": "Content",
    "要发送的文字": "The text to send",
    "选择要 @ 的群成员": "Pick room members to @",
    "@所有人": "@everyone",
    "链接（http/https）": "Link (http/https)",
    "或选择本地文件": "or pick a local file",
    "对方看到的文件名（可不填）": "File name the receiver sees (optional)",
    "默认用文件本来的名字": "The file's own name by default",
    "最近发送": "Recently sent",
    "刷新": "Refresh",
    "还没有经控制台发送的消息。两分钟内发送的消息可以撤回。":
      "No message sent from the console yet. A message can be revoked within two minutes.",
    "还没有可用的账号": "No account available yet",
    "同样的内容发得太频繁": "The same content was sent too often",
    "这个账号发送太频繁": "This account sends too often",
    "链接": "The link",
    "群": "room",
    "给": "to",
    "实时同步": "Live",
    "文件太大了（超过 MEDIA_MAX_BYTES）": "The file is too large (over MEDIA_MAX_BYTES)",
    "先填写群 ID": "Enter the room ID first",
    "读取群成员…": "Reading the room's members…",
    "未命名群": "Unnamed room",
    "接收方 ID 应为一串数字": "The receiver ID should be a number",
    "请填写要发送的内容": "Enter the content to send",
    "请填写图片链接或选择图片": "Enter an image link or pick an image",
    "请填写文件链接或选择文件": "Enter a file link or pick a file",
    "发送中…": "Sending…",
    "上传并发送中…": "Uploading and sending…",
    "已发送": "Sent",
    "已撤回": "Revoked",
    "撤回": "Revoke",
    "读取中…": "Reading…",
    "缓存": "cached",
    "刚从上游读取": "just read from the upstream",

    // Rooms and friend requests
    "群列表": "Rooms",
    "加载群列表": "Load rooms",
    "从上游重新读取": "Read again from the upstream",
    "群名": "Room name",
    "群 ID": "Room ID",
    "成员数": "Members",
    "群成员": "Room members",
    "收起": "Close",
    "名字": "Name",
    "群昵称": "Nickname in room",
    "入群时间": "Joined",
    "读取当前账号所在的全部群（分页读到底，缓存到群有变化为止）。":
      "Reads every room of the current account (all pages, cached until a room changes).",
    "（未命名群）": "(unnamed room)",
    "成员": "Members",
    "发群消息": "Message the room",
    "好友申请": "Friend requests",
    "查看好友申请": "Show friend requests",
    "新的好友申请（回调 116001）和上游列出的申请都在这里，可以直接通过。":
      "New friend requests (callback 116001) and those the upstream lists are here, ready to accept.",
    "待通过": "Waiting",
    "已通过": "Accepted",
    "已删除": "Deleted",
    "（未知）": "(unknown)",
    "通过": "Accept",

    // Messages and forwarding (console/messages.js)
    "会话": "Conversations",
    "当前账号还没有收到消息。": "The current account has received no message yet.",
    "选择左边的会话": "Pick a conversation on the left",
    "回复（通过「发送文本消息」发出）": "Reply (sent as a text message)",
    "回复内容": "Reply text",
    "回复": "Reply",
    "转发（FORWARD_URL）": "Forwarding (FORWARD_URL)",
    "待投递": "Pending",
    "已投递": "Delivered",
    "未设置转发地址（FORWARD_URL）。": "No forwarding address is set (FORWARD_URL).",
    "重新投递失败的": "Redeliver the failed ones",
    "发送测试投递": "Send a test delivery",
    "没有当前账号": "No current account",
    "重新投递中…": "Redelivering…",
    "发送测试投递…": "Sending a test delivery…",
    "补收": "caught up",
    "[文件]": "[file]",
    "语音": "Voice",
    "大文件": "Large file",
    "视频": "Video",
    "附件": "Attachment",

    // Contacts
    "通讯录": "Contacts",
    "每页": "Per page",
    "加载通讯录": "Load contacts",
    "通讯录类型": "Contact kind",
    "内部通讯录": "Internal contacts",
    "外部联系人": "External contacts",
    "筛选：名称、ID、职位…": "Filter: name, ID, position…",
    "筛选通讯录": "Filter contacts",
    "名称": "Name",
    "职位 / 账号": "Position / account",
    "所属部门": "Department",
    "昵称": "Nickname",
    "备注 / 姓名": "Remark / name",
    "添加时间": "Added",
    "关系": "Relation",
    "第一页": "First page",
    "下一页": "Next page",
    "用当前账号读取通讯录：内部（部门和成员）与外部联系人。":
      "Reads the current account's contacts: internal (departments and members) and external.",
    "双方已删除": "Deleted by both",
    "已删除或拉黑": "Deleted or blocked",
    "对方已删除": "Deleted by them",
    "发消息": "Message",
    "部门": "Department",
    "（未命名部门）": "(unnamed department)",
    "顶级": "Top level",
    "好友": "Friend",
    "（无昵称）": "(no nickname)",
    "已是最后一页": "last page",
    "没有符合筛选条件的条目": "Nothing matches the filter",
    "这一页没有条目": "This page is empty",
    "内部": "Internal",
    "外部": "External",

    // Accounts
    "账号": "Accounts",
    "还没有账号。用左边的「登录账号」登录第一个。": "No account yet. Log in the first one with “Log in an account” on the left.",
    "API 请求不带 uuid 时使用这个账号": "API requests without a uuid use this account",
    "当前账号": "Current account",
    "设为当前": "Make current",
    "去处理": "Handle",
    "确认删除？": "Delete for sure?",
    "正在删除…": "Deleting…",
    "仍然删除": "Delete anyway",
    "上游关闭失败：仍然删除这条记录（上游实例可能继续存在）":
      "Closing upstream failed: delete this record anyway (the upstream instance may live on)",
    "在上游关闭这个实例并删除它": "Close this instance upstream and delete it",
    "删除": "Delete",
    "账号被限制": "Account restricted",
    "系统通知": "System notice",
    "被联系人删除": "Deleted by a contact",
    "被联系人拉黑": "Blocked by a contact",
    "切换失败，重试": "Switch failed, retry",
    "；获取二维码也失败了": "; getting a QR code failed too",
    "请用手机企业微信扫码": "Scan the QR code with WeChat Work on the phone",
    "手机端结束了登录": "The phone ended the login",
    "登录缓存失效": "Login cache expired",
    "账号在其他设备登录": "The account logged in on another device",
    "二维码超时未扫码": "The QR code was not scanned in time",
    "企业微信要求二次验证": "WeChat Work asks for a second verification",
    "上游报告这个实例未登录": "The upstream reports this instance is not logged in",

    // States
    "已初始化": "Initialised",
    "等待扫码": "Waiting for scan",
    "等待验证码": "Waiting for code",
    "在线": "Online",
    "重连中": "Reconnecting",
    "离线": "Offline",

    // Callback types
    "手机已确认": "Confirmed on phone",
    "手机取消登录": "Cancelled on phone",
    "需要验证码": "Code needed",
    "手机端退出": "Logged out on phone",
    "切换企业": "Switched company",
    "在其他设备登录": "Logged in elsewhere",
    "需要二次验证": "Second verification needed",
    "消息": "Message",
    "被对方删除": "Deleted by contact",
    "被对方拉黑": "Blocked by contact",
    "标签变更": "Tag changed",
    "标签成员变更": "Tag members changed",
    "手机上已读": "Read on phone",
    "新群": "New room",
    "群成员被移除": "Room member removed",
    "邀请进群": "Invited to room",
    "退出群聊": "Left room",
    "群名变更": "Room renamed",
    "群主或群设置变更": "Room owner or settings changed",
    "群管理员变更": "Room admins changed",
    "群解散": "Room dissolved",
    "群成员变动": "Room members changed",
    "联系人变更": "Contact changed",
    "内部联系人标签变更": "Internal contact tag changed",
    "置顶免打扰变更": "Pin / mute changed",

    // Event stages
    "回调": "Callback",
    "状态": "State",
    "重连": "Reconnect",
    "告警": "Alert",
    "初始化": "Init",
    "初始化无 uuid": "Init without uuid",
    "设置回调": "Set callback",
    "验证码": "Code",
    "刷新状态": "Refresh state",
    "上游检查": "Upstream check",
    "二次验证": "Second verification",
    "监控检查": "Monitor check",
    "监控重设回调": "Monitor resets callback",
    "重连初始化": "Reconnect init",
    "重连设置回调": "Reconnect set callback",
    "重连自动登录": "Reconnect automatic login",
    "重连获取二维码": "Reconnect get QR code",
    "重连关闭旧实例": "Reconnect closes old instance",
    "封禁详情": "Ban details",
    "关闭实例": "Close instance",
    "删除实例": "Delete instance",
    "回调不可达": "Callback unreachable",
    "刚刚": "just now",

    // API errors (the `code` of an error body, in console/api.js's ERROR_WORDS) and other failures
    "找不到这个账号会话，它可能已被删除或清理，请重新开始": "This account's session was not found (deleted or cleaned up?): start again",
    "还没有账号实例：请先开始登录": "No account instance yet: start a login first",
    "请先获取二维码": "Get a QR code first",
    "这个实例从未登录过（没有 vid），请改用首次登录": "This instance never logged in (no vid): use first login",
    "没有待处理的二次验证": "No second verification is pending",
    "上游初始化没有返回 uuid，请查看事件日志里的 init 记录": "The upstream's init returned no uuid: see the init entry in the event log",
    "没有设置密码或令牌时，控制台只接受本机访问": "Without a password or token the console only accepts this machine",
    "页面已过期，请刷新页面后重试": "The page expired: reload it and try again",
    "需要先登录控制台": "Log in to the console first",
    "API 令牌不正确": "Wrong API token",
    "数据库暂时不可用，请稍后再试": "The database is unavailable for now, try again later",
    "数据库还没有建表：请运行 wxwork db upgrade（或 make db）": "The database has no tables yet: run wxwork db upgrade (or make db)",
    "内容太长了": "The content is too long",
    "操作太频繁，请稍后再试": "Too many requests, try again later",
    "请求发送得太慢，已被中断": "The request was sent too slowly and was cut off",
    "控制台内部出错，请查看服务日志": "The console failed internally: see the service log",
    "未说明原因": "no reason given",
    "请核对手机上显示的验证码": "check the code shown on the phone",
    "找不到这个账号会话，它可能已被清理，请重新开始": "This account's session was not found (cleaned up?): start again",
    "请检查输入": "check the input",
    "连不上控制台服务，请确认它仍在运行": "Cannot reach the console service: check that it is still running",

    // Monitor and events
    "自动重连监控": "Automatic reconnect monitor",
    "自动重连监控开关": "Automatic reconnect monitor switch",
    "开启后定期检查每个账号是否在线，掉线时自动重新登录。":
      "When on, checks regularly that every account is online and logs a dropped one back in.",
    "检查间隔": "Check interval",
    "上次检查": "Last check",
    "上次重连": "Last reconnect",
    "事件总数": "Events in total",
    "已停止": "Stopped",
    "正在重连掉线账号…": "Reconnecting dropped accounts…",
    "正在检查账号…": "Checking accounts…",
    "运行中": "Running",
    "已开启，等待监控进程接手": "On, waiting for the monitor process to take over",
    "事件日志": "Event log",
    "阶段": "Stage",
    "全部": "All",
    "清除筛选": "Clear filters",
    "暂无事件。": "No events yet.",
  };

  // Texts built around numbers and names, tried in order. `$1`… is the captured part, itself translated when it
  // has Chinese in it, its full-width punctuation made plain otherwise (an errcode, a URL in brackets).
  const RULES = [
    [/^(.*?)\s*·\s*已是最后一页$/, "$1 · last page"],
    [/^(.*?)\s*·\s*补收$/, "$1 · caught up"],
    [/^(.*?)\s*·\s*在已加载的条目中筛选出 (\d+) 条(.*)$/, "$1 · $2 of those loaded match the filter$3"],
    [/^第 (\d+) 页 · 已加载 (\d+) 条（部门 (\d+) · 成员 (\d+)）$/, "page $1 · $2 loaded ($3 departments · $4 members)"],
    [/^第 (\d+) 页$/, "page $1"],
    [/^已加载 (\d+) 条$/, "$1 loaded"],
    [/^(\d+) 分钟前$/, "$1 min ago"],
    [/^(\d+) 小时前$/, "$1 h ago"],
    [/^(\d+) 天前$/, "$1 days ago"],
    [/^(\S+) 秒$/, "$1 s"],
    [/^(\d+) 在线 \/ 共 (\d+)$/, "$1 online / $2 in all"],
    [/^(\d+) 个待处理$/, "$1 waiting"],
    [/^(\d+) 个账号需要人工处理$/, "$1 account(s) need a person"],
    [/^（(\d+) 个账号需要处理）(.*)$/, "($1 need attention) $2"],
    [/^另有 (\d+) 个较早的实例未列出$/, "$1 older instance(s) not listed"],
    [/^账号 (\S+)$/, "Account $1"],
    [/^实例 (\S+)$/, "Instance $1"],
    [/^更新于 (.+)$/, "updated $1"],
    [/^有效期 (.+)$/, "valid for $1"],
    [/^第 (\d+) 次自动重连$/, "automatic reconnect #$1"],
    [/^显示最新 (\d+) 条$/, "newest $1 shown"],
    [/^账号换到新实例 (.+)$/, "account moved to new instance $1"],
    [/^— 已加载 (\d+) 位联系人 —$/, "— $1 contacts loaded —"],
    [/^(.+) 位成员可 @$/, "$1 members can be @-ed"],
    [/^(.+) 的成员（读取中…）$/, "Members of $1 (reading…)"],
    [/^(.+) 的成员（(\d+) 人）$/, "Members of $1 ($2)"],
    [/^共 (\d+) 个群（(.+)，(.+)）$/, "$1 rooms ($2, $3)"],
    [/^已撤回消息 (.+)$/, "Revoked message $1"],
    [/^\[文件\] (.*)$/, "[file] $1"],
    [/^下载(.+)$/, "Download $1"],
    [/^\[类型 (.+)\]$/, "[type $1]"],
    [/^待投递 (\d+)$/, "$1 pending"],
    [/^已投递 (\d+)$/, "$1 delivered"],
    [/^失败 (\d+)$/, "$1 failed"],
    [/^已重新排队 (\d+) 条$/, "$1 requeued"],
    [/^已发送(.+)$/, "Sent$1"],
    [/^（消息 ID ([^）]*)）(.*)$/, " (message ID $1)$2"],
    [/^，排队 (\S+) 秒(.*)$/, ", queued $1 s$2"],
    [/^(群|给) (.+)$/, "$1 $2"],
    [/^由当前账号发送：(.*)$/, "Sent as the current account: $1"],
    [/^已于 (.+?) 发出告警(.*)$/, "Alert sent at $1$2"],
    [/^（通知地址：(.*)）$/, " (notified: $1)"],
    [/^这个账号现在在线（实例 (.+)），不需要自动登录$/, "This account is online now (instance $1): no automatic login needed"],
    [/^自动登录被上游拒绝 (\d+) 次：(.*)$/, "The upstream refused automatic login $1 time(s): $2"],
    [/^(.*)(；获取二维码也失败了)$/, "$1$2"],
    [/^(.+)（errcode (-?\d+)）$/, "$1 (errcode $2)"],
    [/^(.+)，没有发送：请 (\S+) 秒后再试$/, "$1, not sent: try again in $2 s"],
    [/^(.+?)不能发送：(.*)$/, "$1 cannot be sent: $2"],
    [/^上游拒绝了请求：(.*)$/, "The upstream refused the request: $1"],
    [/^连不上上游服务(.*)：请检查上游地址（BASE_URL）和网络$/,
      "Cannot reach the upstream service$1: check the upstream address (BASE_URL) and the network"],
    [/^上游服务响应超时(.*)，请稍后再试$/, "The upstream service timed out$1, try again later"],
    [/^上游服务出错（HTTP (.*?)）(.*)$/, "The upstream service failed (HTTP $1)$2"],
    [/^上游服务的回答无法识别（不是 JSON）(.*)$/, "The upstream service's answer is not understood (not JSON)$1"],
    [/^验证码未通过：(.*)$/, "Code refused: $1"],
    [/^请求有误(.*?)：(.*)$/, "Bad request$1: $2"],
    [/^上游：(.*)$/, "Upstream: $1"],
    [/^请求失败（HTTP (.*)）$/, "Request failed (HTTP $1)"],
    [/^(.+)，正在重试…$/, "$1, retrying…"],
    [/^(.*)。可以点「仍然删除」只删除这条记录$/, "$1. Click “Delete anyway” to delete only this record"],
    [/^(.+)失败$/, "$1 failed"],
    [/^(\d+) (\D.*)$/, "$1 $2"],
    [/^在线但收不到回调：自 (.+)起没有任何回调，请检查回调地址和手机$/,
      "Online but no callbacks: none since $1, check the callback URL and the phone"],
    [/^回调地址指向本机（127\.0\.0\.1 \/ localhost），但上游服务在另一台机器上，访问不到它：扫码、登录和消息的回调都收不到。(.*)$/,
      "The callback URL points to this machine (127.0.0.1 / localhost) but the upstream runs on another one and cannot "
      + "reach it: no callback for scans, logins or messages arrives. $1"],
    [/^二维码已显示(.*?)，还没有收到上游的任何回调。如果手机已经扫码，说明上游访问不到回调地址：(.*)$/,
      "The QR code has been shown for$1 and no callback came from the upstream. If the phone scanned, the upstream "
      + "cannot reach the callback URL: $2"],
    [/^上游报告这个实例已经登录，但一个回调也没有收到：上游访问不到回调地址。(.*)$/,
      "The upstream reports this instance logged in, but not one callback arrived: the upstream cannot reach the "
      + "callback URL. $1"],
    [/^(请把 CALLBACK_URL .*，)(并在防火墙.*)$/, "$1$2"],
  ];
  // Prefixes followed by "：" and a text of their own (an error, a reason): both parts translated.
  const PREFIXES = {
    "删除失败": "Delete failed",
    "查询失败": "Query failed",
    "原因": "Reason",
    "受限功能": "Restricted features",
    "解除时间": "Lifted at",
    "上游不可达": "Upstream unreachable",
    "读取通讯录失败": "Reading contacts failed",
    "读取失败": "Reading failed",
    "发送失败": "Sending failed",
    "撤回失败": "Revoking failed",
    "读取群列表失败": "Reading rooms failed",
    "读取成员失败": "Reading members failed",
    "读取好友申请失败": "Reading friend requests failed",
    "通过失败": "Accepting failed",
    "最近错误": "Last error",
    "测试投递失败": "Test delivery failed",
    "消息面板暂时无法更新": "The messages panel cannot update for now",
  };
  const CHINESE = /[\u3400-\u9fff]/;

  /** The English of one text, or the text itself when there is none. */
  function english(text) {
    if (!text || !CHINESE.test(text)) return text;
    const lead = /^\s*/.exec(text)[0];
    const tail = /\s*$/.exec(text)[0];
    const core = text.trim().replace(/\s+/g, " ");
    const done = translateCore(core);
    return done === core ? text : lead + done + tail;
  }

  function plain(text) {
    return text.replace(/（/g, " (").replace(/）/g, ")").replace(/，/g, ", ").replace(/：/g, ": ");
  }

  function translateCore(text) {
    if (Object.prototype.hasOwnProperty.call(EN, text)) return EN[text];
    const colon = text.indexOf("：");
    if (colon > 0 && Object.prototype.hasOwnProperty.call(PREFIXES, text.slice(0, colon))) {
      return `${PREFIXES[text.slice(0, colon)]}: ${english(text.slice(colon + 1))}`;
    }
    for (const [pattern, template] of RULES) {
      const match = pattern.exec(text);
      if (!match) continue;
      return template.replace(/\$(\d)/g, (_, n) => {
        const part = match[Number(n)] || "";
        return CHINESE.test(part) ? english(part) : plain(part);
      });
    }
    // "state → state：reason", "内部 · name": the known parts translated, the rest (names) kept.
    if (colon > 0) {
      const head = english(text.slice(0, colon));
      if (head !== text.slice(0, colon)) return `${head}: ${english(text.slice(colon + 1))}`;
    }
    for (const separator of [" · ", " → "]) {
      if (!text.includes(separator)) continue;
      const parts = text.split(separator);
      const translated = parts.map(english);
      if (translated.some((part, i) => part !== parts[i])) return translated.join(separator);
    }
    return text;
  }

  // ------------------------------------------------------------ the page

  const ATTRIBUTES = ["placeholder", "title", "aria-label", "value"];
  const SKIPPED = new Set(["SCRIPT", "STYLE", "TEXTAREA"]);

  function translateAttributes(element) {
    for (const name of ATTRIBUTES) {
      if (name === "value" && !(element.tagName === "INPUT" && /^(button|submit|reset)$/i.test(element.type))) continue;
      const value = element.getAttribute(name);
      if (!value) continue;
      const translated = english(value);
      if (translated !== value) element.setAttribute(name, translated);
    }
  }

  // A payload (the event log's JSON) is data even where a value reads like a label.
  const DATA = "[translate=no], pre";

  function translateText(node) {
    const parent = node.parentElement;
    if (parent && (SKIPPED.has(parent.nodeName) || parent.closest(DATA))) return;
    const translated = english(node.data);
    if (translated !== node.data) node.data = translated;
  }

  function translateTree(root) {
    if (root.nodeType === Node.TEXT_NODE) {
      translateText(root);
      return;
    }
    if (root.nodeType !== Node.ELEMENT_NODE || SKIPPED.has(root.nodeName)) return;
    translateAttributes(root);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) translateText(node);
      else translateAttributes(node);
    }
  }

  function translateChanges(records) {
    for (const record of records) {
      if (record.type === "childList") record.addedNodes.forEach(translateTree);
      else if (record.type === "characterData") translateText(record.target);
      else if (record.type === "attributes") translateAttributes(record.target);
    }
  }

  function start() {
    translateTree(document.documentElement);
    const observer = new MutationObserver(translateChanges);
    const watch = { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES };
    observer.observe(document.body, watch);
    const title = document.querySelector("title");
    if (title) observer.observe(title, watch);
  }

  window.wxworkI18n.english = english;

  // Loaded on the side: before or after the other scripts have run, and perhaps before the page is complete.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
