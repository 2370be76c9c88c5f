import { header, type SandboxRequest } from "../http";

/**
 * WeChat Pay API v3's error answers, and the request-body checks every resource shares.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay2_0.shtml (error codes and answers)
 */

/** An error answer in WeChat Pay's shape. */
export class WxError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: { field?: string; value?: unknown; issue?: string; location?: string },
  ) {
    super(message);
  }
}

/** PARAM_ERROR with WeChat's detail: the field as a JSON pointer, the value, the issue, where it was. */
export const paramError = (field: string, issue: string, value?: unknown) =>
  new WxError(400, "PARAM_ERROR", `参数错误: ${field} ${issue}`, {
    field: `/${field.replace(/\./g, "/")}`,
    ...(value === undefined ? {} : { value }),
    issue,
    location: "body",
  });

export const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
export const isStr = (v: unknown): v is string => typeof v === "string";
export const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** The request's JSON object body; refused unless it is sent as application/json and is an object. */
export function parseBody(req: SandboxRequest): Record<string, unknown> {
  const contentType = header(req, "content-type") ?? "";
  if (!contentType.includes("application/json")) {
    throw new WxError(415, "PARAM_ERROR", "Content-Type应为application/json");
  }
  try {
    const body = JSON.parse(req.rawBody.toString("utf8"));
    const o = obj(body);
    if (!o) throw new Error("not an object");
    return o;
  } catch {
    throw new WxError(400, "PARAM_ERROR", "请求体不是合法的JSON");
  }
}
