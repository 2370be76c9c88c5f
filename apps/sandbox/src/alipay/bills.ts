import { randomBytes } from "node:crypto";
import { zipSync } from "fflate";
import iconv from "iconv-lite";
import { billAlterations, dayOf, yuan } from "../bills/alterations";
import type { SandboxContext } from "../context";
import type { SandboxRequest, SandboxResponse } from "../http";
import { beijingToday } from "../time";
import { badParam, business } from "./errors";
import { type AlipayTrade, TRADES } from "./records";

/**
 * alipay.data.dataservice.bill.downloadurl.query: the answer names a URL (valid 30 s, no signature: its token is
 * the secret) of a zip holding two GBK CSVs, the trade detail (业务明细) and its summary (业务明细(汇总)), as Alipay
 * makes them: `#` comment lines around a header row, one row per payment (交易) and refund (退款, negative), fields
 * padded with tabs. Like the WeChat sandbox, it serves today's bill so far too.
 * @see https://opendocs.alipay.com/open/02ivbw
 */

const HEADER =
  "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";

const cell = (v: string) => `${v.replace(/[,\r\n"]/g, " ")}\t`;

export class AlipayBills {
  private readonly files = new Map<string, { bytes: Buffer; expires: number }>();

  constructor(private readonly ctx: SandboxContext) {}

  /** The method: biz_content { bill_type: trade | signcustomer, bill_date: yyyy-MM-dd | yyyy-MM }. */
  downloadUrl(appId: string, biz: Record<string, unknown>) {
    if (biz.bill_type !== "trade" && biz.bill_type !== "signcustomer") throw badParam("bill_type不合法");
    const date = typeof biz.bill_date === "string" ? biz.bill_date : "";
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw badParam("bill_date格式不正确，应为yyyy-MM-dd");
    if (date > beijingToday()) throw business("isp.bill_not_exist", "账单不存在");
    const merchant = this.ctx.byAlipayAppId.get(appId)?.merchant;
    const rows = this.rows(appId, date);
    if (rows.length === 0) throw business("isp.bill_not_exist", "账单不存在");
    const compact = date.replace(/-/g, "");
    const account = merchant?.alipay.sellerId ?? "";
    const detail = [
      "#支付宝业务明细查询",
      `#账号：[${account}]`,
      `#起始日期：[${date} 00:00:00]   终止日期：[${date} 23:59:59]`,
      "#-----------------------------------------业务明细列表----------------------------------------",
      HEADER,
      ...rows,
      "#-----------------------------------------业务明细列表结束------------------------------------",
      `#导出时间：[${date} 23:59:59]`,
      "",
    ].join("\r\n");
    const summary = [
      "#支付宝业务汇总查询",
      `#账号：[${account}]`,
      "门店编号,门店名称,交易订单总笔数",
      `,,${rows.length}`,
      "",
    ].join("\r\n");
    const zip = zipSync({
      [`${account}_${compact}_业务明细.csv`]: iconv.encode(detail, "gbk"),
      [`${account}_${compact}_业务明细(汇总).csv`]: iconv.encode(summary, "gbk"),
    });
    const token = randomBytes(18).toString("base64url");
    for (const [k, f] of this.files) if (f.expires < Date.now()) this.files.delete(k);
    this.files.set(token, { bytes: Buffer.from(zip), expires: Date.now() + 30_000 });
    return {
      bill_download_url: `${this.ctx.baseUrl()}/downloadBillFile.resource?bizType=trade&fileType=csv.zip&bizDates=${compact}&token=${token}`,
    };
  }

  /** GET /downloadBillFile.resource?token= : the zip, within 30 s of the URL being given. */
  download(req: SandboxRequest): SandboxResponse {
    const file = this.files.get(req.url.searchParams.get("token") ?? "");
    if (!file || file.expires < Date.now())
      return { status: 404, headers: { "Content-Type": "text/plain" }, body: "the link has expired" };
    return { status: 200, headers: { "Content-Type": "application/zip" }, bytes: file.bytes };
  }

  private rows(appId: string, date: string): string[] {
    const rows: string[] = [];
    for (const t of this.ctx.store.all<AlipayTrade>(TRADES)) {
      if (t.app_id !== appId || !t.gmt_payment) continue;
      if (dayOf(t.gmt_payment) === date) {
        const amount = billAlterations.amount(this.ctx, "alipay", t.out_trade_no, t.total_fee);
        rows.push(this.row(t, "交易", t.gmt_payment, yuan(amount), ""));
      }
      for (const r of t.refunds) {
        if (dayOf(r.gmt_refund) !== date) continue;
        rows.push(this.row(t, "退款", r.gmt_refund, `-${yuan(r.refund_fee)}`, r.out_request_no));
      }
    }
    return rows;
  }

  private row(t: AlipayTrade, kind: string, finished: string, amount: string, requestNo: string): string {
    return [
      t.trade_no,
      t.out_trade_no,
      kind,
      t.subject,
      t.gmt_create,
      finished,
      "",
      "",
      "",
      "",
      "san***@sandbox.com",
      amount,
      amount,
      "0.00",
      "0.00",
      "0.00",
      "0.00",
      "0.00",
      "",
      "0.00",
      "0.00",
      requestNo,
      "0.00",
      "0.00",
      "",
    ]
      .map(cell)
      .join(",");
  }
}
