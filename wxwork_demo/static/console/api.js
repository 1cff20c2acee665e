/* The console's calls to its JSON API under /api: the answer, or an ApiError whose title says in plain words
 * what went wrong (the error body's `code`, the upstream's failure), with the server's own message as detail. */

export class ApiError extends Error {
  constructor(title, detail, body) {
    super(title);
    this.title = title;
    this.detail = detail;
    this.body = body;
  }
}

/* The error body's `code` is stable (the English `message` is for the log): the words a person reads here. */
export const ERROR_WORDS = {
  unknown_instance: "找不到这个账号会话，它可能已被删除或清理，请重新开始",
  no_active_instance: "还没有账号实例：请先开始登录",
  no_qrcode_key: "请先获取二维码",
  never_logged_in: "这个实例从未登录过（没有 vid），请改用首次登录",
  no_secondary_verification: "没有待处理的二次验证",
  upstream_no_uuid: "上游初始化没有返回 uuid，请查看事件日志里的 init 记录",
  loopback_only: "没有设置密码或令牌时，控制台只接受本机访问",
  csrf_failed: "页面已过期，请刷新页面后重试",
  authentication_required: "需要先登录控制台",
  invalid_token: "API 令牌不正确",
  database_unavailable: "数据库暂时不可用，请稍后再试",
  database_not_migrated: "数据库还没有建表：请运行 wxwork db upgrade（或 make db）",
  body_too_large: "内容太长了",
  too_many_requests: "操作太频繁，请稍后再试",
  request_timeout: "请求发送得太慢，已被中断",
  internal_error: "控制台内部出错，请查看服务日志",
};

/** Plain words for a failed call: what went wrong first, the server's own message as detail. */
export function explain(status, body) {
  const message = (body && body.message) || "";
  const code = (body && body.code) || "";
  const upstream = (body && body.upstream) || {};
  const raw = (body && body.raw) || {};
  const where = upstream.url ? `（${upstream.url}）` : "";
  if (upstream.kind === "refused") {
    return `上游拒绝了请求：${upstream.errmsg || "未说明原因"}（errcode ${upstream.errcode}）`;
  }
  if (upstream.kind === "unreachable") return `连不上上游服务${where}：请检查上游地址（BASE_URL）和网络`;
  if (upstream.kind === "timeout" || status === 504) return `上游服务响应超时${where}，请稍后再试`;
  if (upstream.kind === "http_error") return `上游服务出错（HTTP ${upstream.httpStatus || "?"}）${where}`;
  if (upstream.kind === "not_json") return `上游服务的回答无法识别（不是 JSON）${where}`;
  if (code === "code_refused" || message.startsWith("verification code refused")) {
    return `验证码未通过：${raw.errmsg || "请核对手机上显示的验证码"}`;
  }
  if (ERROR_WORDS[code]) return ERROR_WORDS[code];
  if (status === 404) return "找不到这个账号会话，它可能已被清理，请重新开始";
  if (status === 503) return "数据库暂时不可用，请稍后再试";
  if (status === 401) return "需要先登录控制台";
  if (status === 403) return "页面已过期，请刷新页面后重试";
  if (status === 413) return "内容太长了";
  if (status === 400) return `请求有误${body && body.field ? `（${body.field}）` : ""}：${message || "请检查输入"}`;
  if (raw.errmsg) return `上游：${raw.errmsg}`;
  return `请求失败（HTTP ${status}）`;
}

export const CSRF_TOKEN = (document.querySelector("meta[name=csrf-token]") || {}).content || "";

/** A GET (no `body`) or a JSON POST with the CSRF token; a failure worded by `words` (the console's by default). */
export async function api(path, body, words = explain) {
  const init = body === undefined
    ? { headers: { Accept: "application/json" } }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  if (body !== undefined && CSRF_TOKEN) init.headers["X-CSRF-Token"] = CSRF_TOKEN;
  return request(path, init, words);
}

/** One call of the console's API: its JSON answer, or an ApiError worded by `words(status, body)`. */
export async function request(path, init, words) {
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("连不上控制台服务，请确认它仍在运行", "", null);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (response.status === 401) {
    // The console's login expired (or was never made): go log in, then come back here.
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
  }
  if (!response.ok || !data || data.ok === false) {
    throw new ApiError(words(response.status, data), (data && data.message) || "", data);
  }
  return data;
}
