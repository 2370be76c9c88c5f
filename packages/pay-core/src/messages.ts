import {
  ERROR_CODES,
  INPUT_ISSUE_CODES,
  type InputIssueCode,
  type PayKitErrorCode,
  type PublicPayKitError,
} from "./errors";

/**
 * The languages paykit's messages come in. English is the default; an HTTP caller picks with Accept-Language, the
 * CLI with --lang or LANG, pay-react with its `locale` prop. Codes never change with the language: branch on them.
 */
export const MESSAGE_LOCALES = ["en", "zh-CN"] as const;
export type MessageLocale = (typeof MESSAGE_LOCALES)[number];

/** What each error code means, for the developer who has to act on it, in every locale (a test keeps them whole). */
export const ERROR_MESSAGES: Record<MessageLocale, Record<PayKitErrorCode, string>> = {
  en: Object.fromEntries(Object.entries(ERROR_CODES).map(([code, v]) => [code, v.meaning])) as Record<
    PayKitErrorCode,
    string
  >,
  "zh-CN": {
    INVALID_INPUT: "请求不符合接口约定；`issues` 列出了出错的字段以及如何修正。",
    UNAUTHORIZED: "缺少 API 密钥或结账令牌，或密钥/令牌不正确。",
    MERCHANT_UNKNOWN: "没有此 `pid` 对应的商户。",
    MERCHANT_FORBIDDEN:
      "该 API 密钥或结账令牌属于其他商户：密钥只能代表其所属商户（平台密钥只能代表其名下商户）操作。",
    MERCHANT_DISABLED: "该商户已停用：不再接受新的支付（已发起支付的通知仍会处理）。",
    CONFIG_INVALID: "商户配置缺少此支付方式所需的内容（应用 ID、密钥或证书）。",
    ORDER_NOT_FOUND: "没有此 out_trade_no 对应的订单。",
    ORDER_PAID: "订单已支付，不能重复支付。新的支付请使用新的 out_trade_no。",
    ORDER_CLOSED: "订单已关闭，请使用新的 out_trade_no。",
    ORDER_REFUNDED: "订单已（部分）退款，不能再次支付。",
    AMOUNT_MISMATCH: "此 out_trade_no 已存在且金额（total_fee）不同（或通知中的金额与订单不符）。",
    ORDER_CHANGED:
      "此 out_trade_no 已在该支付渠道下单，但商品描述、time_expire、openid 或支付类型不同；网关会保留订单参数。请按原参数重试，或使用新的 out_trade_no。",
    REFUND_EXCEEDS_PAID: "本次退款会使累计退款金额超过实付金额。",
    IDEMPOTENCY_CONFLICT: "此 Idempotency-Key 已用于另一个不同的请求；新的请求请使用新的键。",
    REQUEST_IN_PROGRESS:
      "使用此 Idempotency-Key 的请求（或此订单的另一个创建请求）仍在处理中，请稍后原样重发。",
    PAYLOAD_TOO_LARGE: "请求体超过 api 允许的大小（BODY_LIMIT_BYTES，默认 64 kB）；超出部分未被读取。",
    RATE_LIMITED: "此客户端的此类调用过多（或打开的状态流过多），请稍后再试。",
    DATABASE_UNAVAILABLE: "订单数据库未响应（停机、重启、无法连接或过慢）；数据没有丢失，请稍后原样重发。",
    GATEWAY_ERROR: "支付网关拒绝了请求；`gatewayCode` 和 `gatewayMessage` 是网关的原始错误码和信息。",
    GATEWAY_OUTCOME_UNKNOWN:
      "支付网关未及时响应，或其响应无法验证。支付可能已创建也可能没有：重试前请先查询订单。",
    NOTIFY_INVALID: "网关通知未通过验证（签名、时间戳、ID 或金额）；未写入任何数据。",
    INTERNAL: "paykit 内部错误；详情记录在服务端日志中（按请求 ID 查找），不会出现在响应里。",
  },
};

/** Each input rule in words, per locale: what the field must be. */
export const ISSUE_MESSAGES: Record<MessageLocale, Record<InputIssueCode, string>> = {
  en: Object.fromEntries(Object.entries(INPUT_ISSUE_CODES).map(([code, v]) => [code, v.rule])) as Record<
    InputIssueCode,
    string
  >,
  "zh-CN": {
    CONTEXT_REQUIRED: "context 需说明买家所在环境（platform 或 user agent）",
    PROVIDER_INVALID: "provider 须为 paykit 支持的支付渠道之一（PROVIDERS）",
    PROVIDER_UNSUPPORTED: "该支付渠道无法使用（VksPay 没有公开 API）",
    PLATFORM_UNSUPPORTED: "该支付渠道不支持买家所在的平台",
    IS_PC_INVALID: "isPC 须为布尔值",
    NEED_QRCODE_INVALID: 'needQRcode 须为 true、false 或 "image"',
    NEED_QRCODE_UNSUPPORTED: "该支付渠道没有扫码支付（微信支付和支付宝有）",
    DATA_REQUIRED: "data 须为对象",
    OUT_TRADE_NO_REQUIRED: "out_trade_no 须为非空字符串",
    OUT_TRADE_NO_FORMAT: "out_trade_no 的长度和字符须符合支付渠道的要求",
    TOTAL_FEE_INVALID: "total_fee 须为正整数（单位：分）",
    TOTAL_FEE_TOO_LARGE: "total_fee 不能超过 MAX_TOTAL_FEE",
    SUBJECT_REQUIRED: "subject 须为非空字符串",
    SUBJECT_TOO_LONG: "subject 超出支付渠道的长度限制（微信支付 127 个字符，其他 256 个）",
    TYPE_REQUIRED: "type 须为非空字符串",
    TYPE_FORMAT: "type 须为 1-64 个字母、数字、_ 或 -（它对应通知处理函数）",
    CUSTOM_INVALID: "custom 须为普通对象",
    CUSTOM_KEY_COLLISION: "custom 的键不能与 data 自身的键重复",
    OTHER_INVALID: "other 须为普通对象",
    OPENID_REQUIRED: "小程序支付和微信内浏览器支付须提供 openid",
    CLIENT_IP_REQUIRED: "微信 H5（mweb）支付须知道买家的 IP",
    TIME_EXPIRE_INVALID: "time_expire 须为 13 位毫秒时间戳",
    TIME_EXPIRE_TOO_SOON: "time_expire 须留足支付渠道要求的最短支付时间",
    TIME_EXPIRE_UNSUPPORTED: "只有支持过期时间的渠道才能传 time_expire（Apple、VksPay、虚拟支付不支持）",
    PRODUCT_ID_REQUIRED: "平台销售的商品（Apple、虚拟商品）须在 other.productId（或 productid）中指明商品",
    RETURN_URL_INVALID: "return_url 须为完整的 http(s) 地址",
    REFUND_FEE_INVALID: "refund_fee 须为正整数（单位：分），且不超过可退金额",
    FIELD_INVALID: "可选文本字段（openid、pid、user_id、nickname）须为字符串",
    TEXT_INVALID: "文本中不能有 NUL 字符或单独的 UTF-16 代理项（请求中任何位置，包括键名）",
    PID_INVALID: "pid 须为 1-64 个字母、数字、_ 或 -",
    OPENID_TOO_LONG: "openid 最多 128 个字符",
    USER_ID_TOO_LONG: "user_id 最多 128 个字符",
    NICKNAME_TOO_LONG: "nickname 最多 64 个字符",
    RETURN_URL_TOO_LONG: "return_url 最多 1024 个字符",
    CUSTOM_TOO_LARGE: "custom 序列化为 JSON 后最多 8 kB",
    OTHER_TOO_LARGE: "other 序列化为 JSON 后最多 4 kB",
    CONTEXT_TOO_LARGE: "context 序列化为 JSON 后最多 8 kB，其中每个文本字段最多 1024 个字符",
  },
};

/**
 * The locale an Accept-Language header asks for: zh-CN when a Chinese tag (zh, zh-CN, zh-Hans...) comes before
 * English by its q-value, else English. Reads at most the header's first 256 characters.
 * @see https://www.rfc-editor.org/rfc/rfc9110#name-accept-language
 */
export function localeOf(acceptLanguage: string | undefined | null): MessageLocale {
  if (!acceptLanguage) return "en";
  let best: { locale: MessageLocale; q: number } = { locale: "en", q: 0 };
  for (const part of acceptLanguage.slice(0, 256).split(",").slice(0, 16)) {
    const [tag = "", ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    const locale: MessageLocale | undefined =
      tag === "zh" || tag.startsWith("zh-")
        ? "zh-CN"
        : tag === "en" || tag.startsWith("en-")
          ? "en"
          : undefined;
    if (locale && q > best.q) best = { locale, q };
  }
  return best.locale;
}

/** A locale name as given (`zh_CN.UTF-8`, `zh-cn`, `en_US`), as one paykit has, English when unknown. */
export function messageLocale(name: string | undefined): MessageLocale {
  return /^zh([_-]|$)/i.test(name ?? "") ? "zh-CN" : "en";
}

/**
 * A public error in another locale: the code, issues' paths and codes stay; the message becomes the code's meaning
 * in that locale (an INVALID_INPUT's, its first issue's rule), and each issue's message its rule. The English
 * message, which may name the exact value at fault, is kept as `detail`. English is returned as it is.
 */
export function localizeError(error: PublicPayKitError, locale: MessageLocale): PublicPayKitError {
  if (locale === "en") return error;
  const issues = error.issues?.map((i) => ({ ...i, message: ISSUE_MESSAGES[locale][i.code] ?? i.message }));
  const first = issues?.[0];
  const more = issues && issues.length > 1 ? `（另有 ${issues.length - 1} 处）` : "";
  return {
    ...error,
    message: first ? `${first.path}：${first.message}${more}` : ERROR_MESSAGES[locale][error.code],
    detail: error.message,
    ...(issues ? { issues } : {}),
  };
}
