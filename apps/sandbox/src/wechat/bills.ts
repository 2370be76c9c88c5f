import { createHash, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { billAlterations, dayOf, yuan } from "../bills/alterations";
import type { SandboxContext } from "../context";
import { json, type SandboxRequest, type SandboxResponse } from "../http";
import { beijingToday } from "../time";
import { paramError, WxError } from "./errors";
import { REFUNDS, TRADES, type WechatRefund, type WechatTrade } from "./records";

/**
 * The trade bill: GET /v3/bill/tradebill answers a signed JSON with the bill's SHA1 and a download_url; the file is
 * then downloaded with a signed GET (its answer is not signed: the hash checks it), gzipped when tar_type=GZIP. The
 * bill lists each successful payment (SUCCESS) and refund (REFUND) of a Beijing day, WeChat's way: every field
 * starts with a backtick, amounts in yuan, a summary at the end. Unlike WeChat (which has a day's bill from 10:00 the
 * next day), the sandbox serves today's bill so far too, so tests need not wait a day.
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_6.shtml
 * @see https://pay.weixin.qq.com/wiki/doc/apiv3/apis/chapter3_1_8.shtml
 */

const HEADER =
  "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY =
  "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

const cell = (v: string) => `\`${v.replace(/[,\r\n]/g, " ")}`;
const time = (rfc3339: string) => rfc3339.slice(0, 19).replace("T", " ");

interface File {
  mchid: string;
  bytes: Buffer;
  expires: number;
}

export class WechatBills {
  private readonly files = new Map<string, File>();

  constructor(private readonly ctx: SandboxContext) {}

  /** GET /v3/bill/tradebill?bill_date=&bill_type=ALL|SUCCESS|REFUND&tar_type=GZIP */
  tradeBill(req: SandboxRequest, mchid: string): SandboxResponse {
    const q = req.url.searchParams;
    const date = q.get("bill_date") ?? "";
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw paramError("bill_date", "格式错误，应为yyyy-MM-dd", date);
    if (date > beijingToday()) throw new WxError(400, "INVALID_REQUEST", "账单日期不能晚于今天");
    const type = q.get("bill_type") ?? "ALL";
    if (!["ALL", "SUCCESS", "REFUND"].includes(type)) throw paramError("bill_type", "取值无效", type);
    const tar = q.get("tar_type");
    if (tar !== null && tar !== "GZIP") throw paramError("tar_type", "取值无效", tar);
    const rows = this.rows(mchid, date, type);
    if (rows.lines.length === 0) throw new WxError(400, "NO_STATEMENT_EXIST", "No statement exist");
    const text = [
      HEADER,
      ...rows.lines,
      SUMMARY,
      [
        rows.lines.length,
        yuan(rows.paid),
        yuan(rows.refunded),
        "0.00",
        "0.00000",
        yuan(rows.paid),
        yuan(rows.refunded),
      ]
        .map(String)
        .map(cell)
        .join(","),
      "",
    ].join("\r\n");
    const raw = Buffer.from(text, "utf8");
    const token = randomBytes(18).toString("base64url");
    // A download broken on the way (control/bill/corrupt): one byte changed after the hash was taken.
    const served = Buffer.from(raw);
    if (billAlterations.corrupt(this.ctx)) served.writeUInt8((served.at(-3) ?? 0) ^ 1, served.length - 3);
    this.files.set(token, {
      mchid,
      bytes: tar === "GZIP" ? gzipSync(served) : served,
      expires: Date.now() + 30_000,
    });
    for (const [k, f] of this.files) if (f.expires < Date.now()) this.files.delete(k);
    return json(200, {
      hash_type: "SHA1",
      hash_value: createHash("sha1").update(raw).digest("hex"),
      download_url: `${this.ctx.baseUrl()}/v3/billdownload/file?token=${token}`,
    });
  }

  /** GET /v3/billdownload/file?token= : the file, to the merchant who asked for it, within 30 s. */
  download(req: SandboxRequest, mchid: string): SandboxResponse {
    const file = this.files.get(req.url.searchParams.get("token") ?? "");
    if (!file || file.mchid !== mchid || file.expires < Date.now())
      throw new WxError(400, "INVALID_REQUEST", "账单下载链接已失效");
    return { status: 200, headers: { "Content-Type": "application/octet-stream" }, bytes: file.bytes };
  }

  private rows(mchid: string, date: string, type: string) {
    const lines: string[] = [];
    let paid = 0;
    let refunded = 0;
    const trades = this.ctx.store.all<WechatTrade>(TRADES).filter((t) => t.mchid === mchid);
    if (type !== "REFUND") {
      for (const t of trades) {
        if (!t.transaction_id || !t.success_time || dayOf(t.success_time) !== date) continue;
        const amount = billAlterations.amount(this.ctx, "wxpay", t.out_trade_no, t.amount.total);
        paid += amount;
        lines.push(this.line(t, { time: time(t.success_time), state: "SUCCESS", amount }));
      }
    }
    if (type !== "SUCCESS") {
      for (const r of this.ctx.store.all<WechatRefund>(REFUNDS)) {
        if (r.mchid !== mchid || r.status !== "SUCCESS" || !r.success_time || dayOf(r.success_time) !== date)
          continue;
        const t = trades.find((x) => x.out_trade_no === r.out_trade_no);
        if (!t) continue;
        refunded += r.amount.refund;
        lines.push(
          this.line(t, { time: time(r.success_time), state: "REFUND", amount: t.amount.total, refund: r }),
        );
      }
    }
    return { lines, paid, refunded };
  }

  private line(
    t: WechatTrade,
    o: { time: string; state: string; amount: number; refund?: WechatRefund },
  ): string {
    const r = o.refund;
    return [
      o.time,
      t.appid,
      t.mchid,
      "0",
      "",
      t.transaction_id ?? "",
      t.out_trade_no,
      t.payer?.openid ?? "",
      t.trade_type,
      o.state,
      t.bank_type ?? "OTHERS",
      "CNY",
      yuan(r ? 0 : o.amount),
      "0.00",
      r?.refund_id ?? "0",
      r?.out_refund_no ?? "0",
      yuan(r?.amount.refund ?? 0),
      "0.00",
      r ? "ORIGINAL" : "",
      r ? "SUCCESS" : "",
      t.description,
      t.attach ?? "",
      "0.00000",
      "0.60%",
      yuan(o.amount),
      yuan(r?.amount.refund ?? 0),
      "",
    ]
      .map(cell)
      .join(",");
  }
}
